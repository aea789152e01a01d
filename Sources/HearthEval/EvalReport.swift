import Foundation

/// What `hearth eval` writes at the end: `results.json` (everything needed to tell what was
/// measured: the model's digest, each task file's digest and prompt template, the few-shot
/// settings and seed, Hearth's version, timings) and `results.md` (the table).
public struct EvalReport: Codable, Sendable {
    public struct ModelInfo: Codable, Sendable {
        public let name: String
        public let path: String
        public let digest: String
        public let type: String
        public let parameters: Int

        public init(name: String, path: String, digest: String, type: String, parameters: Int) {
            self.name = name
            self.path = path
            self.digest = digest
            self.type = type
            self.parameters = parameters
        }
    }

    public let model: ModelInfo
    public let hearthVersion: String
    public let kernels: String
    public let threads: Int
    public let settings: EvalSettings
    public let tasks: [TaskResult]
    public let started: Date
    public let seconds: Double

    public init(model: ModelInfo, hearthVersion: String, kernels: String, threads: Int, settings: EvalSettings,
                tasks: [TaskResult], started: Date, seconds: Double) {
        self.model = model
        self.hearthVersion = hearthVersion
        self.kernels = kernels
        self.threads = threads
        self.settings = settings
        self.tasks = tasks
        self.started = started
        self.seconds = seconds
    }

    /// Why no run of `hearth eval` could have written this report, or nil: settings it refuses,
    /// no task with examples, or a number out of its metric's range (a report from elsewhere may
    /// carry anything, and one infinite score would break every leaderboard page it is on).
    public var problem: String? {
        if let problem = settings.problem { return "the settings: \(problem)" }
        guard !tasks.isEmpty, tasks.allSatisfy({ !$0.metrics.isEmpty && $0.samples >= 1 }) else { return "it has no task with examples and metrics" }
        guard threads >= 1, seconds.isFinite, seconds >= 0 else { return "its threads (\(threads)) or seconds (\(seconds)) are not a run's" }
        for t in tasks {
            guard t.cachedSamples >= 0, t.cachedSamples <= t.samples, t.seconds.isFinite, t.seconds >= 0 else {
                return "task \(t.task): its counts or time are not a run's"
            }
            for (name, m) in t.metrics.sorted(by: { $0.key < $1.key }) {
                let range: ClosedRange<Double> = switch name {
                case "acc", "acc_norm", "exact_match": 0...1
                case "perplexity", "word_perplexity", "byte_perplexity": 1...1e12
                default: 0...1e12
                }
                guard m.value.isFinite, range.contains(m.value) else { return "task \(t.task): \(name) \(m.value) is outside \(range)" }
                if let e = m.stderr, !(e.isFinite && e >= 0 && e <= 1e12) { return "task \(t.task): the standard error of \(name), \(e), is not one" }
            }
        }
        return nil
    }

    /// The headline metric of each task: acc, exact_match, word perplexity or perplexity.
    public static func headline(_ t: TaskResult) -> String? {
        ["acc", "exact_match", "word_perplexity", "perplexity"].first { t.metrics[$0] != nil }
    }

    /// The mean accuracy over the accuracy-like tasks (perplexities are not averaged in).
    public var average: Double? {
        let values = tasks.compactMap { t -> Double? in
            guard let h = Self.headline(t), h == "acc" || h == "exact_match" else { return nil }
            return t.metrics[h]?.value
        }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// The run's setup in words: few-shot count and seed, chat template, example limit.
    public var setup: String {
        var text = "zero-shot"
        if let n = settings.numFewshot { text = "\(n)-shot (seed \(settings.fewshotSeed))" }
        if settings.applyChatTemplate { text += ", chat template" }
        if let limit = settings.limit { text += ", first \(limit) examples per task" }
        return text
    }

    /// The sha256 of what the run found, without when or how fast: the model's digest, the
    /// settings, and each task's file, type, few-shot count, example count and metrics. Two
    /// reports with the same outcome differ at most in timings, paths and engine details.
    public var outcomeDigest: String {
        struct Task: Encodable {
            let task: String, fileDigest: String, outputType: String, numFewshot: Int, samples: Int
            let metrics: [String: MetricValue]
        }
        struct Outcome: Encodable { let model: String; let settings: EvalSettings; let tasks: [Task] }
        let outcome = Outcome(model: model.digest, settings: settings, tasks: tasks.map {
            Task(task: $0.task, fileDigest: $0.fileDigest, outputType: $0.outputType, numFewshot: $0.numFewshot, samples: $0.samples, metrics: $0.metrics)
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return EvalRunner.sha256(String(decoding: (try? encoder.encode(outcome)) ?? Data(), as: UTF8.self))
    }

    /// Reads a results.json.
    public static func decode(_ data: Data) throws -> EvalReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(EvalReport.self, from: data)
    }

    /// results.json's bytes: pretty-printed, keys sorted.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    public func markdown() -> String {
        func number(_ m: MetricValue, percent: Bool) -> String {
            let scale = percent ? 100.0 : 1.0
            let value = String(format: percent ? "%.1f" : "%.4f", m.value * scale)
            return m.stderr.map { value + String(format: percent ? " ± %.1f" : " ± %.4f", $0 * scale) } ?? value
        }
        var lines = ["# \(model.name)", "",
                     "`\(model.digest)` · \(model.type) · \(model.parameters) parameters · Hearth \(hearthVersion) (\(kernels), \(threads) threads)", "",
                     "| task | type | n | metric | value | acc_norm | time | examples/s |",
                     "|---|---|---:|---|---:|---:|---:|---:|"]
        for t in tasks {
            let h = Self.headline(t) ?? "-"
            let percent = h == "acc" || h == "exact_match"
            let value = t.metrics[h].map { number($0, percent: percent) } ?? "-"
            let norm = t.metrics["acc_norm"].map { number($0, percent: true) } ?? ""
            let speed = t.samples > t.cachedSamples ? String(format: "%.2f", t.examplesPerSecond) : "cached"
            lines.append("| \(t.task) | \(t.outputType) | \(t.samples) | \(h)\(percent ? " %" : "") | \(value) | \(norm) | \(String(format: "%.1f s", t.seconds)) | \(speed) |")
        }
        if let average { lines.append(""); lines.append(String(format: "Average accuracy over %d tasks: %.1f%%", tasks.filter { ["acc", "exact_match"].contains(Self.headline($0) ?? "") }.count, average * 100)) }
        lines.append("")
        lines.append("\(setup.prefix(1).uppercased() + setup.dropFirst()); \(String(format: "%.1f", seconds)) s in all. Task files and prompt templates are in results.json.")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes results.json and results.md into `directory`.
    public func write(to directory: String) throws(EvalError) {
        do {
            try json().write(to: URL(fileURLWithPath: directory + "/results.json"), options: .atomic)
            try Data(markdown().utf8).write(to: URL(fileURLWithPath: directory + "/results.md"), options: .atomic)
        } catch { throw EvalError("cannot write the report in '\(directory)': \(error.localizedDescription)") }
    }
}
