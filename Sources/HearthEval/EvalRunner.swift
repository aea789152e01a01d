import Crypto
import Foundation
import HearthEngine
import HearthTemplate

/// How a run is set up; recorded in the report.
public struct EvalSettings: Sendable, Codable {
    /// At most this many docs per task (the first ones), nil: all.
    public var limit: Int?
    /// Overrides every task's num_fewshot.
    public var numFewshot: Int?
    /// Seeds the choice of few-shot examples.
    public var fewshotSeed: UInt64 = 1234
    /// Wrap each prompt in the model's chat template (few-shot examples as turns).
    public var applyChatTemplate = false
    public var system: String?
    /// Chunk size of perplexity tasks.
    public var perplexityContext = 512

    public init() {}

    /// Why these settings cannot run (a report from elsewhere may carry anything), or nil.
    public var problem: String? {
        if let limit, limit < 1 { return "limit must be at least 1 (it is \(limit))" }
        if let numFewshot, !(0...64).contains(numFewshot) { return "num_fewshot must be between 0 and 64 (it is \(numFewshot))" }
        if !(16...32768).contains(perplexityContext) { return "the perplexity chunk must be between 16 and 32768 tokens (it is \(perplexityContext))" }
        return nil
    }
}

/// One metric's value and standard error (nil where there is none).
public struct MetricValue: Codable, Sendable {
    public let value: Double
    public let stderr: Double?
}

/// A task's outcome.
public struct TaskResult: Codable, Sendable {
    public let task: String
    public let file: String
    public let fileDigest: String
    public let outputType: String
    /// The prompt template (doc_to_text) as the task gives it.
    public let promptTemplate: String
    public let numFewshot: Int
    public let samples: Int
    /// Docs answered from the cache of an earlier run.
    public let cachedSamples: Int
    public let metrics: [String: MetricValue]
    public let seconds: Double
    public var examplesPerSecond: Double { Double(samples - cachedSamples) / max(seconds, 1e-9) }
}

/// Runs tasks on a scorer: builds each doc's prompt (few-shot examples, chat template), asks
/// the model, scores, logs every sample, and remembers finished docs in the cache so an
/// interrupted run resumes where it stopped.
public final class EvalRunner {
    public let scorer: Scorer
    public let settings: EvalSettings
    let modelDigest: String
    let cache: RequestCache
    let outputDirectory: String

    public init(scorer: Scorer, modelDigest: String, settings: EvalSettings, outputDirectory: String) throws(EvalError) {
        if let problem = settings.problem { throw EvalError("cannot run these settings: \(problem)") }
        self.scorer = scorer
        self.settings = settings
        self.modelDigest = modelDigest
        self.outputDirectory = outputDirectory
        do { try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true) } catch {
            throw EvalError("cannot create '\(outputDirectory)': \(error.localizedDescription)")
        }
        cache = try RequestCache(path: outputDirectory + "/cache.jsonl")
    }

    /// Progress: docs done and in all for the task, and how many came from the cache.
    public typealias Progress = (_ done: Int, _ total: Int, _ cached: Int) -> Void

    public func run(_ task: EvalTask, progress: Progress = { _, _, _ in }) throws(EvalError) -> TaskResult {
        let start = Date()
        if task.outputType == .perplexity { return try runPerplexity(task, start: start, progress: progress) }
        let count = min(task.docs.count, settings.limit ?? .max)
        let fewshot = settings.numFewshot ?? task.numFewshot
        guard fewshot < task.docs.count else {
            throw EvalError("task \(task.name): \(fewshot) few-shot examples need more than the \(task.docs.count) docs it has")
        }
        let samplesPath = outputDirectory + "/samples_\(Self.fileName(task.name)).jsonl"
        guard FileManager.default.createFile(atPath: samplesPath, contents: nil), let samplesFile = FileHandle(forWritingAtPath: samplesPath) else {
            throw EvalError("cannot write '\(samplesPath)'")
        }
        defer { try? samplesFile.close() }
        var scores: [String: [Double]] = [:]
        var rolling = (logprob: 0.0, words: 0, bytes: 0)
        var cached = 0
        for index in 0..<count {
            let doc = task.docs[index]
            let context = try prompt(task, index: index, fewshot: fewshot)
            let key = requestKey(task, index: index, context: context)
            var sample: [String: TemplateValue] = ["doc": .int(index), "location": .string(doc.location), "prompt": .string(context)]
            /// This doc's answer from the cache, or from the scorer (then kept in the cache).
            func answer(_ compute: () throws(EvalError) -> TemplateValue) throws(EvalError) -> TemplateValue {
                if let value = cache[key] {
                    cached += 1
                    return value
                }
                let value: TemplateValue
                do { value = try compute() } catch { throw EvalError("\(doc.location): \(error.message)") }
                try cache.store(key, value)
                return value
            }
            switch task.outputType {
            case .multipleChoice:
                let choices = try task.choices(doc)
                let gold = try task.gold(doc, choices: choices)
                let continuations = choices.map { task.targetDelimiter + $0 }
                let stored = try answer { () throws(EvalError) in
                    .array(try scorer.loglikelihoods(context: context, continuations: continuations).map { .double($0.logprob) })
                }
                let logprobs = Self.numbers(stored)
                guard logprobs.count == choices.count else { throw EvalError("\(doc.location): the cache holds \(logprobs.count) log-likelihoods for \(choices.count) choices") }
                // acc_norm divides by the choice's length in characters, without the target
                // delimiter (lm-eval's len(choice), in code points).
                let lengths = choices.map { Double(max(1, $0.unicodeScalars.count)) }
                let pred = Self.argmax(logprobs), predNorm = Self.argmax(zip(logprobs, lengths).map { $0 / $1 })
                scores["acc", default: []].append(pred == gold ? 1 : 0)
                scores["acc_norm", default: []].append(predNorm == gold ? 1 : 0)
                sample["choices"] = .array(choices.map { .string($0) })
                sample["logprobs"] = .array(logprobs.map { .double($0) })
                sample["gold"] = .int(gold)
                sample["pred"] = .int(pred)
                sample["acc"] = .int(pred == gold ? 1 : 0)
                sample["acc_norm"] = .int(predNorm == gold ? 1 : 0)
            case .generateUntil:
                let target = try task.target(doc)
                let stored = try answer { () throws(EvalError) in
                    .string(try scorer.generate(context: context, until: task.until, maxTokens: task.maxGenerationTokens))
                }
                guard case .string(let text) = stored else { throw EvalError("\(doc.location): the cache holds no text for it") }
                let filtered = Self.apply(task.filters, to: text)
                let match = Self.normalize(filtered, task) == Self.normalize(target, task)
                scores["exact_match", default: []].append(match ? 1 : 0)
                sample["generated"] = .string(text)
                sample["filtered"] = .string(filtered)
                sample["target"] = .string(target)
                sample["exact_match"] = .int(match ? 1 : 0)
            case .loglikelihoodRolling:
                let text = try task.target(doc)
                let stored = try answer { () throws(EvalError) in .double(try scorer.rollingLoglikelihood(text).logprob) }
                guard let logprob = Self.numbers(stored).first else { throw EvalError("\(doc.location): the cache holds no log-likelihood for it") }
                rolling.logprob += logprob
                rolling.words += Self.wordCount(text)
                rolling.bytes += text.utf8.count
                sample["logprob"] = .double(logprob)
            case .perplexity: break
            }
            if let line = try? TemplateValue.object(sample.sorted { $0.key < $1.key }).jsonString() {
                samplesFile.write(Data((line + "\n").utf8))
            }
            progress(index + 1, count, cached)
        }
        var metrics: [String: MetricValue] = [:]
        for (name, values) in scores { metrics[name] = Self.meanWithStderr(values) }
        if task.outputType == .loglikelihoodRolling {
            metrics["word_perplexity"] = MetricValue(value: exp(-rolling.logprob / Double(max(rolling.words, 1))), stderr: nil)
            metrics["byte_perplexity"] = MetricValue(value: exp(-rolling.logprob / Double(max(rolling.bytes, 1))), stderr: nil)
            metrics["bits_per_byte"] = MetricValue(value: -rolling.logprob / Double(max(rolling.bytes, 1)) / log(2), stderr: nil)
        }
        return TaskResult(task: task.name, file: task.file, fileDigest: task.fileDigest, outputType: task.outputType.rawValue,
                          promptTemplate: Self.describe(task.docToText), numFewshot: fewshot, samples: count, cachedSamples: cached,
                          metrics: metrics, seconds: Date().timeIntervalSince(start))
    }

    func runPerplexity(_ task: EvalTask, start: Date, progress: Progress) throws(EvalError) -> TaskResult {
        let key = Self.sha256("\(modelDigest)|\(task.fileDigest)|perplexity|\(settings.perplexityContext)")
        var result: (Double, Double, Int)
        var cached = 0
        if case .array(let v)? = cache[key], v.count == 3, case .double(let p) = v[0], case .double(let u) = v[1], case .int(let n) = v[2] {
            result = (p, u, n)
            cached = 1
        } else {
            let r = try scorer.perplexity(task.text ?? "", context: settings.perplexityContext) { done, total in progress(done, total, 0) }
            result = (r.perplexity, r.uncertainty, r.scoredTokens)
            try cache.store(key, .array([.double(r.perplexity), .double(r.uncertainty), .int(r.scoredTokens)]))
        }
        return TaskResult(task: task.name, file: task.file, fileDigest: task.fileDigest, outputType: task.outputType.rawValue,
                          promptTemplate: "", numFewshot: 0, samples: 1, cachedSamples: cached,
                          metrics: ["perplexity": MetricValue(value: result.0, stderr: result.1)], seconds: Date().timeIntervalSince(start))
    }

    /// The context of doc `index`: the description, `fewshot` other docs with their answers,
    /// then the doc; or, with the chat template, the same as chat turns.
    func prompt(_ task: EvalTask, index: Int, fewshot: Int) throws(EvalError) -> String {
        let doc = task.docs[index]
        let shots = Self.fewshotIndices(count: task.docs.count, excluding: index, n: fewshot, seed: settings.fewshotSeed)
        let question = try task.docToText.text(for: doc, "doc_to_text")
        if settings.applyChatTemplate {
            var messages: [ChatMessage] = []
            if let system = settings.system { messages.append(ChatMessage(role: "system", content: .string(system))) }
            var first = true
            func user(_ text: String) {
                messages.append(ChatMessage(role: "user", content: .string((first ? task.description : "") + text)))
                first = false
            }
            for s in shots {
                user(try task.docToText.text(for: task.docs[s], "doc_to_text"))
                messages.append(ChatMessage(role: "assistant", content: .string(try task.target(task.docs[s]))))
            }
            user(question)
            do { return try scorer.model.renderChat(messages, addGenerationPrompt: true) } catch { throw EvalError(error.message) }
        }
        var text = task.description
        for s in shots {
            let shot = task.docs[s]
            text += try task.docToText.text(for: shot, "doc_to_text") + task.targetDelimiter + (try task.target(shot)) + task.fewshotDelimiter
        }
        return text + question
    }

    /// `n` distinct doc indices other than `excluding`, chosen by a generator seeded with the
    /// seed and the doc, so that every doc's examples are fixed across runs.
    static func fewshotIndices(count: Int, excluding: Int, n: Int, seed: UInt64) -> [Int] {
        guard n > 0 else { return [] }
        var state = seed &+ UInt64(excluding) &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var chosen: [Int] = []
        while chosen.count < n {
            let i = Int(next() % UInt64(count))
            if i != excluding && !chosen.contains(i) { chosen.append(i) }
        }
        return chosen
    }

    func requestKey(_ task: EvalTask, index: Int, context: String) -> String {
        Self.sha256("\(modelDigest)|\(task.fileDigest)|\(task.outputType.rawValue)|\(index)|\(task.targetDelimiter)|\(task.until)|\(task.maxGenerationTokens)|\(context)")
    }

    static func sha256(_ text: String) -> String { SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined() }

    /// The numbers in a cached value (a number, or a list of them; JSON may give integral
    /// values back as integers).
    static func numbers(_ value: TemplateValue) -> [Double] {
        switch value {
        case .double(let d): return [d]
        case .int(let i): return [Double(i)]
        case .array(let items): return items.flatMap(numbers)
        default: return []
        }
    }

    static func argmax(_ values: [Double]) -> Int { values.indices.max { values[$0] < values[$1] || (values[$0] == values[$1] && $0 > $1) } ?? 0 }

    /// The mean and its standard error (sample standard deviation over sqrt(n)), as lm-eval.
    static func meanWithStderr(_ values: [Double]) -> MetricValue {
        let n = Double(values.count), mean = values.reduce(0, +) / max(n, 1)
        guard values.count > 1 else { return MetricValue(value: mean, stderr: nil) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return MetricValue(value: mean, stderr: (variance / n).squareRoot())
    }

    static func apply(_ filters: [TextFilter], to text: String) -> String {
        var s = text
        for f in filters {
            switch f {
            case .regex(let regex, let select):
                let matches = regex.matches(in: s, range: NSRange(s.startIndex..., in: s))
                let index = select < 0 ? matches.count + select : select
                guard matches.indices.contains(index) else {
                    s = "[invalid]"
                    continue
                }
                let m = matches[index]
                let groups = (1..<max(1, m.numberOfRanges)).compactMap { Range(m.range(at: $0), in: s).map { String(s[$0]) } }
                let whole = Range(m.range, in: s).map { String(s[$0]) } ?? ""
                s = (m.numberOfRanges > 1 ? groups.first { !$0.isEmpty } ?? "" : whole).trimmingCharacters(in: .whitespacesAndNewlines)
            case .lowercase: s = s.lowercased()
            case .uppercase: s = s.uppercased()
            case .strip: s = s.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return s
    }

    /// lm-eval's word count, `len(re.split(r"\s+", text))`: whitespace runs plus one (so
    /// leading or trailing whitespace counts an empty word, as there).
    static func wordCount(_ text: String) -> Int {
        var runs = 0, inRun = false
        for c in text.unicodeScalars {
            let space = CharacterSet.whitespacesAndNewlines.contains(c)
            if space && !inRun { runs += 1 }
            inRun = space
        }
        return runs + 1
    }

    static func normalize(_ text: String, _ task: EvalTask) -> String {
        var s = text
        if task.ignoreCase { s = s.lowercased() }
        if task.ignorePunctuation { s = String(s.unicodeScalars.filter { !CharacterSet.punctuationCharacters.contains($0) }.map(Character.init)) }
        return s
    }

    static func describe(_ field: DocField) -> String {
        switch field {
        case .template(let t): return t.source
        case .field(let name): return "{{\(name)}}"
        case .fixed(let v): return (try? v.jsonString()) ?? ""
        }
    }

    /// `name` with anything but ASCII letters, digits, `-`, `_` and `.` replaced by `_`, for a
    /// file or folder name.
    public static func fileName(_ name: String) -> String {
        String(name.unicodeScalars.map { s -> Character in
            s.isASCII && (("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || "-_.".unicodeScalars.contains(s)) ? Character(s) : "_"
        })
    }
}

/// Finished requests, one JSON line each (`{"key": ..., "value": ...}`), appended and flushed
/// as they finish; a line cut short by a kill is ignored when the file is read back.
final class RequestCache {
    private var values: [String: TemplateValue] = [:]
    private let handle: FileHandle

    init(path: String) throws(EvalError) {
        if let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                guard let entry = try? TemplateValue.parseJSON(String(line)), case .string(let key)? = entry["key"], let value = entry["value"] else { continue }
                values[key] = value
            }
        } else if !FileManager.default.createFile(atPath: path, contents: nil) {
            throw EvalError("cannot create the cache '\(path)'")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw EvalError("cannot write the cache '\(path)'") }
        self.handle = handle
        // A line cut short by a kill is ended, so that the next entry starts a line of its own.
        if handle.seekToEndOfFile() > 0, let last = FileManager.default.contents(atPath: path)?.last, last != UInt8(ascii: "\n") {
            handle.write(Data("\n".utf8))
        }
    }

    deinit { try? handle.close() }

    subscript(key: String) -> TemplateValue? { values[key] }

    func store(_ key: String, _ value: TemplateValue) throws(EvalError) {
        values[key] = value
        guard let line = try? TemplateValue.object([("key", .string(key)), ("value", value)]).jsonString() else { return }
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch { throw EvalError("cannot write the cache: \(error.localizedDescription)") }
    }
}
