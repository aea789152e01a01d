import ArgumentParser
import Foundation
import HearthEngine

/// `hearth bench`: prompt and generation speed measured the way llama-bench measures them, with
/// its table and its JSON field names, so that the two can be compared and read by the same tools
/// (`scripts/bench-compare.py` runs both alternately).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt and generation speed, the way llama-bench does.",
        discussion: """
        Tests, as in llama-bench:
          ppN       read a prompt of N tokens in one call (last token's logits only)
          tgN       generate N tokens, one call each (random tokens, no sampling)
          ... @ dD  the same after D tokens already in the context (untimed)
        Tokens are random but seeded and in the vocabulary, BOS first when the model
        adds one. Each test gets a fresh context of D + N tokens, one untimed warmup
        (the whole prompt for pp, one token for tg, as llama-bench) and -r timed runs;
        the table gives the mean tokens per second over the runs and their sample
        standard deviation. Every combination of threads, depth and test runs, in that
        order.

        Lists are comma-separated or repeated (-t 1,2 or -t 1 -t 2), or ranges as in
        llama-bench: first-last, first-last+step, first-last*mult (-p 64-512*2 is
        64,128,256,512).

        -o json and jsonl use llama-bench's field names (n_prompt, n_gen, n_depth,
        n_threads, avg_ts, stddev_ts, samples_ts, ...), so tools that read llama-bench
        read hearth. scripts/bench-compare.py runs hearth and llama-bench alternately
        on the same file and prints the ratios.

        Examples:
          hearth bench MODEL                  # pp512 and tg128, all cores, 5 runs
          hearth bench MODEL -t 1,2 -o json   # at 1 and at 2 threads, as JSON
          hearth bench MODEL -p 0 -d 0,512,2048   # tg128 as the context fills
        """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case md, json, jsonl
    }

    @Argument(help: ArgumentHelp(stringLiteral: ModelReference.help))
    var model: String

    @Option(name: [.customShort("p"), .customLong("n-prompt")],
            help: ArgumentHelp("Prompt lengths in tokens, one pp test each; 0: no pp test. (default: 512)", valueName: "n,..."))
    var nPrompt: [String] = []

    @Option(name: [.customShort("n"), .customLong("n-gen")],
            help: ArgumentHelp("Tokens to generate, one tg test each; 0: no tg test. (default: 128)", valueName: "n,..."))
    var nGen: [String] = []

    @Option(name: [.customShort("d"), .customLong("n-depth")],
            help: ArgumentHelp("Tokens already in the context before each test. (default: 0)", valueName: "n,..."))
    var nDepth: [String] = []

    @Option(name: [.customShort("t"), .long],
            help: ArgumentHelp("Thread counts to test. (default: \(defaultThreadCount), the number of cores)", valueName: "n,..."))
    var threads: [String] = []

    @Option(name: [.customShort("r"), .long], help: ArgumentHelp("Timed runs of each test.", valueName: "n"))
    var repetitions: Int = 5

    @Option(name: [.customShort("o"), .long],
            help: ArgumentHelp("md: a table like llama-bench's; json: an array; jsonl: one object a line.", valueName: "format"))
    var output: OutputFormat = .md

    @Option(name: [.customLong("ub", withSingleDash: true), .customLong("ubatch-size")],
            help: ArgumentHelp("Most prompt tokens per forward pass (llama-bench's -ub).", valueName: "n"))
    var ubatchSize: Int = 512

    @Flag(inversion: .prefixedNo, help: "Run one untimed warmup before each test's timed runs.")
    var warmup = true

    @Flag(name: [.customShort("v"), .long], help: "Print the model, each run's speed and the memory used to standard error.")
    var verbose = false

    /// Largest prompt, generation or depth length accepted (the context is their sum).
    static let maximumTokens = 1 << 20

    func validate() throws {
        _ = try plan()
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1 (got \(repetitions))") }
        if repetitions > 10_000 { throw ValidationError("--repetitions must be at most 10000 (got \(repetitions))") }
        if ubatchSize < 1 || ubatchSize > 8192 { throw ValidationError("-ub/--ubatch-size must be between 1 and 8192 (got \(ubatchSize))") }
    }

    /// The tests to run, in llama-bench's order: threads, then depth, then pp tests, then tg tests.
    func plan() throws(ValidationError) -> [BenchTest] {
        let prompts = try Self.parseList(nPrompt, option: "-p/--n-prompt", default: [512], minimum: 0)
        let gens = try Self.parseList(nGen, option: "-n/--n-gen", default: [128], minimum: 0)
        let depths = try Self.parseList(nDepth, option: "-d/--n-depth", default: [0], minimum: 0)
        let threadCounts = try Self.parseList(threads, option: "-t/--threads", default: [defaultThreadCount], minimum: 1)
        if let t = threadCounts.first(where: { $0 > 1024 }) { throw ValidationError("-t/--threads: \(t) threads is more than 1024") }
        if prompts.allSatisfy({ $0 == 0 }) && gens.allSatisfy({ $0 == 0 }) {
            throw ValidationError("nothing to measure: -p/--n-prompt and -n/--n-gen are both 0")
        }
        var tests: [BenchTest] = []
        for t in threadCounts {
            for d in depths {
                for p in prompts where p > 0 { tests.append(BenchTest(threads: t, depth: d, prompt: p, gen: 0)) }
                for g in gens where g > 0 { tests.append(BenchTest(threads: t, depth: d, prompt: 0, gen: g)) }
            }
        }
        return tests
    }

    /// Parses repeated, comma-separated values and llama-bench's ranges (first-last,
    /// first-last+step, first-last*mult); no value given means `default`.
    static func parseList(_ values: [String], option: String, default: [Int], minimum: Int) throws(ValidationError) -> [Int] {
        let items = values.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if items.isEmpty { return `default` }
        var result: [Int] = []
        for item in items {
            let expanded: [Int]
            do { expanded = try expandRange(item) } catch { throw ValidationError("\(option): \(error.message)") }
            for v in expanded {
                if v < minimum { throw ValidationError("\(option): \(v) is less than \(minimum)") }
                if v > maximumTokens { throw ValidationError("\(option): \(v) is more than \(maximumTokens)") }
            }
            result += expanded
        }
        return result
    }

    /// One list item: a number, or first-last, first-last+step, first-last*mult.
    private static func expandRange(_ item: String) throws(ValidationError) -> [Int] {
        if let v = Int(item) { return [v] }
        let bad = ValidationError("'\(item)' is not a number or a range; give a list like 128,512 or a range like 64-512*2")
        let ends = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard ends.count == 2, let first = Int(ends[0]), first >= 0 else { throw bad }
        var tail = Substring(ends[1])
        var step = 1, multiply = false
        if let i = tail.firstIndex(where: { $0 == "+" || $0 == "*" }) {
            guard let s = Int(tail[tail.index(after: i)...]) else { throw bad }
            multiply = tail[i] == "*"
            step = s
            tail = tail[..<i]
        }
        guard let last = Int(tail) else { throw bad }
        if last < first { throw ValidationError("the range '\(item)' ends before it starts") }
        if last > maximumTokens { throw ValidationError("the range '\(item)' goes past \(maximumTokens)") }
        if multiply && step < 2 { throw ValidationError("the range '\(item)' needs a multiplier of at least 2") }
        if multiply && first < 1 { throw ValidationError("the range '\(item)' multiplies from 0; start it at 1 or more") }
        if !multiply && step < 1 { throw ValidationError("the range '\(item)' needs a step of at least 1") }
        var values: [Int] = [], v = first
        while v <= last {
            values.append(v)
            let (next, overflow) = multiply ? v.multipliedReportingOverflow(by: step) : v.addingReportingOverflow(step)
            if overflow { break }
            v = next
        }
        return values
    }

    func run() throws {
        let tests = try plan()
        #if DEBUG
        printError("warning: this hearth is a debug build; its speeds say nothing about a release build (swift build -c release)")
        #endif
        let reference = try ModelReference(model)
        let loaded = try reference.load()
        let info = BenchModelInfo(model: loaded, path: reference.path)
        let progress = BenchProgress(verbose: verbose, total: tests.count)
        if verbose {
            printError("loaded \(loaded.architecture) model \(model) in \(format2(loaded.loadSeconds)) s: \(info.type), \(formatParams(info.parameters)) parameters, \(formatBytes(info.bytes))")
        }
        let table = BenchTable(modelName: reference.displayName, tests: tests)
        switch output {
        case .md: emit(table.header)
        case .json: emit("[\n")
        case .jsonl: break
        }
        var random = SeededGenerator(seed: 1)
        for (i, test) in tests.enumerated() {
            let result = try measure(test, loaded, &random, progress: progress, index: i)
            progress.clear()
            switch output {
            case .md: emit(table.row(test, result, info))
            case .json: emit((i > 0 ? ",\n" : "") + result.json(info, indent: true))
            case .jsonl: emit(result.json(info, indent: false) + "\n")
            }
        }
        switch output {
        case .md: emit("\nhearth \(hearthVersion)\n")
        case .json: emit("\n]\n")
        case .jsonl: break
        }
    }

    /// Runs one test: a fresh session, the warmup, then `repetitions` timed runs from an empty
    /// context (refilled to the test's depth, untimed, before each).
    private func measure(_ test: BenchTest, _ model: Model, _ random: inout SeededGenerator,
                         progress: BenchProgress, index: Int) throws -> BenchResult {
        let started = Date()
        let session: Session
        do {
            session = try Session(network: model.network, contextSize: test.depth + test.prompt + test.gen,
                                  threads: test.threads, batchSize: ubatchSize)
        } catch { throw CLIError("\(test.name) at \(test.threads) threads: \(error.message)") }
        if verbose {
            printError("\(test.name), \(threadsText(test.threads)): context \(session.contextSize) tokens (KV cache \(formatBytes(session.cache.byteCount))), up to \(session.workspace.maxBatch) tokens per pass, \(session.workspace.kernels) kernels")
        }
        let vocab = model.tokenizer.vocabularySize
        let bos = model.tokenizer.addBOS ? model.tokenizer.bosID : nil
        // Random in-vocabulary tokens, BOS at position 0 when the model adds one.
        func tokens(_ n: Int, at position: Int) -> [Int32] {
            (0..<n).map { i in
                if i == 0 && position == 0, let bos { return bos }
                return Int32(truncatingIfNeeded: random.next() % UInt64(vocab))
            }
        }
        // One run: empty the context, fill it to the depth (untimed), then time the test.
        func runOnce(prompt: Int, gen: Int) throws(EngineError) -> UInt64 {
            session.rewind(to: 0)
            if test.depth > 0 { try session.evaluate(tokens(test.depth, at: 0)) }
            let promptTokens = tokens(prompt, at: test.depth)
            var next: [Int32] = [tokens(1, at: test.depth + prompt)[0]]
            let start = DispatchTime.now().uptimeNanoseconds
            if prompt > 0 { try session.evaluate(promptTokens) }
            for _ in 0..<gen {
                try session.evaluate(next)
                next[0] = Int32(truncatingIfNeeded: random.next() % UInt64(vocab))
            }
            return DispatchTime.now().uptimeNanoseconds - start
        }
        var samples: [UInt64] = []
        do {
            if warmup {
                progress.status(index, test, "warmup")
                _ = try runOnce(prompt: test.prompt, gen: min(test.gen, 1))
            }
            for r in 0..<repetitions {
                progress.status(index, test, "run \(r + 1)/\(repetitions)")
                let ns = try runOnce(prompt: test.prompt, gen: test.gen)
                samples.append(ns)
                progress.sample(test, r, repetitions, ns)
            }
        } catch { throw CLIError("\(test.name) at \(test.threads) threads: \(error.message)") }
        return BenchResult(test: test, samplesNs: samples, startedAt: started, ubatch: ubatchSize,
                           kernels: session.workspace.kernels.rawValue)
    }
}

/// One llama-bench test instance.
struct BenchTest {
    let threads: Int
    let depth: Int
    let prompt: Int
    let gen: Int

    /// llama-bench's test name: pp512, tg128, pp512 @ d2048.
    var name: String {
        let base = prompt > 0 ? "pp\(prompt)" : "tg\(gen)"
        return depth > 0 ? "\(base) @ d\(depth)" : base
    }
}

/// The timed runs of one test and llama-bench's statistics over them.
struct BenchResult {
    let test: BenchTest
    let samplesNs: [UInt64]
    let startedAt: Date
    let ubatch: Int
    /// The kernel path the session ran on (Hearth's own field).
    let kernels: String

    /// Tokens per second of each run: (n_prompt + n_gen) / seconds; the depth is not counted.
    var samplesTs: [Double] { samplesNs.map { Double(test.prompt + test.gen) * 1e9 / Double($0) } }
    var avgNs: Double { mean(samplesNs.map { Double($0) }) }
    var stddevNs: Double { sampleStddev(samplesNs.map { Double($0) }) }
    var avgTs: Double { mean(samplesTs) }
    var stddevTs: Double { sampleStddev(samplesTs) }

    /// One llama-bench result object (its field names and order; the fields that describe
    /// llama.cpp's own machinery, like GPU layers, are left out).
    func json(_ model: BenchModelInfo, indent: Bool) -> String {
        let fields: [(String, String)] = [
            ("engine", jsonString("hearth")),
            ("build_commit", jsonString("hearth-\(hearthVersion)")),
            ("cpu_info", jsonString(model.cpuInfo)),
            ("backends", jsonString("CPU")),
            ("kernels", jsonString(kernels)),
            ("model_filename", jsonString(model.path)),
            ("model_type", jsonString(model.type)),
            ("model_size", String(model.bytes)),
            ("model_n_params", String(model.parameters)),
            ("n_ubatch", String(ubatch)),
            ("n_threads", String(test.threads)),
            ("type_k", jsonString("f16")),
            ("type_v", jsonString("f16")),
            ("n_prompt", String(test.prompt)),
            ("n_gen", String(test.gen)),
            ("n_depth", String(test.depth)),
            ("test_time", jsonString(iso8601UTC(startedAt))),
            ("avg_ns", String(UInt64(avgNs.rounded()))),
            ("stddev_ns", String(UInt64(stddevNs.rounded()))),
            ("avg_ts", String(format: "%.6f", avgTs)),
            ("stddev_ts", String(format: "%.6f", stddevTs)),
            ("samples_ns", "[ " + samplesNs.map(String.init).joined(separator: ", ") + " ]"),
            ("samples_ts", "[ " + samplesTs.map { String(format: "%.3f", $0) }.joined(separator: ", ") + " ]"),
        ]
        if indent {
            return "  {\n" + fields.map { "    \(jsonString($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n  }"
        }
        return "{" + fields.map { "\(jsonString($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }
}

/// What the table and the JSON say about the model, computed once.
struct BenchModelInfo {
    let path: String
    /// All tensor bytes and elements, as llama-bench's model_size and model_n_params.
    let bytes: Int
    let parameters: Int
    /// llama-bench's model_type: architecture, size, and the format holding most of the bytes.
    let type: String
    let cpuInfo: String

    init(model: Model, path: String) {
        self.path = path
        bytes = model.file.tensorBytes
        parameters = model.file.parameterCount
        type = "\(model.architecture) \(model.file.parameterSizeLabel) \(model.file.predominantTypeName)"
        cpuInfo = Self.cpuName()
    }

    private static func cpuName() -> String {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        #elseif os(macOS)
        var size = 0
        if sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 0 {
            var bytes = [CChar](repeating: 0, count: size)
            if sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0) == 0 { return String(cString: bytes) }
        }
        #endif
        return "unknown"
    }
}

/// llama-bench's markdown table: the header first, then one row per test as it finishes.
struct BenchTable {
    let modelWidth: Int
    let testWidth: Int
    let modelName: String

    init(modelName: String, tests: [BenchTest]) {
        self.modelName = modelName
        modelWidth = max(30, modelName.count)
        testWidth = max(15, tests.map { $0.name.count }.max() ?? 0)
    }

    private var columns: [(title: String, width: Int, right: Bool)] {
        [("model", modelWidth, false), ("size", 10, true), ("params", 10, true), ("threads", 7, true),
         ("test", testWidth, true), ("t/s", 20, true)]
    }

    var header: String {
        let titles = columns.map { pad($0.title, $0.width, right: $0.right) }
        let rules = columns.map { String(repeating: "-", count: $0.width - ($0.right ? 1 : 0)) + ($0.right ? ":" : "") }
        return "| " + titles.joined(separator: " | ") + " |\n| " + rules.joined(separator: " | ") + " |\n"
    }

    func row(_ test: BenchTest, _ result: BenchResult, _ model: BenchModelInfo) -> String {
        let size = model.bytes < 1 << 30 ? String(format: "%.2f MiB", Double(model.bytes) / Double(1 << 20))
                                         : String(format: "%.2f GiB", Double(model.bytes) / Double(1 << 30))
        let cells = [modelName, size, formatParams(model.parameters), String(test.threads), test.name,
                     "\(format2(result.avgTs)) ± \(format2(result.stddevTs))"]
        return "| " + zip(cells, columns).map { pad($0, $1.width, right: $1.right) }.joined(separator: " | ") + " |\n"
    }
}

/// Progress on standard error: each run's speed with --verbose; otherwise, when standard error
/// is a terminal, one status line that is rewritten in place and erased before each table row.
final class BenchProgress {
    let verbose: Bool
    let live: Bool
    let total: Int
    private var shown = false

    init(verbose: Bool, total: Int) {
        self.verbose = verbose
        live = !verbose && isatty(2) != 0
        self.total = total
    }

    func status(_ index: Int, _ test: BenchTest, _ what: String) {
        guard live else { return }
        printError("\r\u{1B}[K[\(index + 1)/\(total)] \(test.name), \(threadsText(test.threads)): \(what)", terminator: "")
        shown = true
    }

    func sample(_ test: BenchTest, _ run: Int, _ runs: Int, _ ns: UInt64) {
        guard verbose else { return }
        let ts = Double(test.prompt + test.gen) * 1e9 / Double(ns)
        printError("\(test.name), \(threadsText(test.threads)), run \(run + 1)/\(runs): \(format2(ts)) t/s (\(format2(Double(ns) / 1e6)) ms)")
    }

    func clear() {
        if shown { printError("\r\u{1B}[K", terminator: ""); shown = false }
    }
}

/// llama-bench's parameter count: 134.52 M, 1.54 B.
func formatParams(_ n: Int) -> String {
    n < 1_000_000_000 ? String(format: "%.2f M", Double(n) / 1e6) : String(format: "%.2f B", Double(n) / 1e9)
}

private func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }

/// The sample standard deviation (n - 1 in the denominator); 0 for fewer than two values, as llama-bench.
private func sampleStddev(_ xs: [Double]) -> Double {
    guard xs.count > 1 else { return 0 }
    let m = mean(xs)
    return (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot()
}

/// A JSON string literal.
private func jsonString(_ s: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    // Encoding a String cannot fail.
    return String(decoding: try! encoder.encode(s), as: UTF8.self)
}

/// "1 thread", "2 threads".
private func threadsText(_ n: Int) -> String { n == 1 ? "1 thread" : "\(n) threads" }
