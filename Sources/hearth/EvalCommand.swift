import ArgumentParser
import Foundation
import HearthEngine
import HearthEval
import HearthHub
import HearthKernels

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure a model on benchmark tasks, on the engine that serves it.",
        discussion: """
        Tasks are lm-evaluation-harness-style: multiple choice (acc, acc_norm),
        rolling log-likelihood (word and byte perplexity), generation until a stop
        sequence (exact match), and llama.cpp's perplexity of a text file. A task is:
          - `core`, the suite that comes with Hearth (definitions, synonyms,
            hypernyms, antonyms, arithmetic, elements, devils_dictionary), or one of
            its tasks by name;
          - a task YAML file (a documented subset of lm-eval's; see the README);
          - a BIG-bench task.json, or a .txt file (perplexity);
          - a BIG-bench task fetched by scripts/fetch-bigbench.sh (navigate, winowhy,
            ...), or `bigbench` for the eight that script fetches.
        Results go to --output: results.json and results.md (the model's sha256, each
        task file's sha256 and prompt template, the few-shot seed, Hearth's version,
        timings), a samples_<task>.jsonl log of every example, and cache.jsonl, so
        that a run stopped part way resumes without computing again what it finished.
        With --push HUB the report is signed with this instance's Ed25519 key
        (HEARTH_HOME/instance-key, made on first use) and sent to the hub's
        leaderboard, which needs the model there (hearth push) and a write token
        (hearth login). A report written earlier is pushed with hearth leaderboard
        HUB --submit DIR.

          hearth eval model.gguf --tasks core
          hearth eval model.gguf --tasks antonyms,arithmetic --limit 100
          hearth eval model.gguf --tasks core,wiki.txt --output results/smollm2
          hearth eval model.gguf --tasks my-task.yaml --num-fewshot 3 \\
              --apply-chat-template
          hearth eval smollm2 --tasks core --push localhost:8080
        """)

    @Argument(help: ArgumentHelp(ModelReference.help))
    var model: String
    @Option(help: ArgumentHelp("Tasks, comma-separated: `core`, task names, or files (.yaml, task.json, .txt).", valueName: "a,b,..."))
    var tasks: String
    @Option(help: "At most this many examples per task (the first ones).")
    var limit: Int?
    @Option(help: "Where the results, the sample logs and the cache go (default: hearth-eval/<model>).")
    var output: String?
    @Option(name: .customLong("num-fewshot"), help: "Few-shot examples per prompt, for every task (default: each task's own).")
    var numFewshot: Int?
    @Option(help: "Seeds the choice of few-shot examples.")
    var seed: UInt64 = 1234
    @Flag(name: .customLong("apply-chat-template"), help: "Wrap prompts in the model's chat template (few-shot examples as turns).")
    var applyChatTemplate = false
    @Option(help: "A system message, with --apply-chat-template.")
    var system: String?
    @Option(name: [.customShort("c"), .customLong("ctx")], help: "Context size in tokens (default: the model's, at most 4096); also the chunk size of perplexity tasks (default 512).")
    var ctx: Int?
    @Option(name: [.customShort("t"), .long], help: "Threads to compute with (default: the number of cores).")
    var threads: Int = defaultThreadCount
    @Option(name: .customLong("bigbench"), help: "Where fetched BIG-bench tasks are (default: ~/.cache/hearth/bigbench).")
    var bigbenchDirectory: String?

    @Option(help: ArgumentHelp("Push the signed report to this hub's leaderboard.", valueName: "HOST[:PORT]"))
    var push: String?
    @Flag(help: "With --push: use http even for a hub that is not on this machine.")
    var insecure = false

    /// The BIG-bench tasks `bigbench` names (scripts/fetch-bigbench.sh fetches them).
    static let bigbenchSuite = ["general_knowledge", "physical_intuition", "logical_deduction", "social_iqa", "winowhy",
                        "date_understanding", "navigate", "sports_understanding"]

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1 (got \(limit))") }
        if let numFewshot, numFewshot < 0 { throw ValidationError("--num-fewshot must be 0 or more") }
        if system != nil && !applyChatTemplate { throw ValidationError("--system goes with --apply-chat-template") }
        if let ctx, ctx < 16 { throw ValidationError("--ctx must be at least 16 (got \(ctx))") }
        try OptionChecks.threads(threads)
        if insecure && push == nil { throw ValidationError("--insecure goes with --push") }
    }

    var bigbenchRoot: String {
        (bigbenchDirectory ?? ProcessInfo.processInfo.environment["HEARTH_BIGBENCH"] ?? "~/.cache/hearth/bigbench" as String)
            .replacingOccurrences(of: "~", with: NSHomeDirectory(), options: .anchored)
    }

    /// The task files a --tasks entry names, with the names to report them by: a file, a
    /// built-in suite or one of its tasks, or a fetched BIG-bench task (a task with subtasks
    /// is its subtasks, named `task:subtask`).
    func resolve(_ entry: String) throws -> [(path: String, name: String?)] {
        if entry == "bigbench" { return try Self.bigbenchSuite.flatMap { try resolve($0) } }
        let expanded = (entry as NSString).expandingTildeInPath
        if entry.contains("/") || [".yaml", ".yml", ".json", ".txt"].contains(where: entry.hasSuffix) {
            guard FileManager.default.fileExists(atPath: expanded) else { throw CLIError("task file '\(entry)' does not exist") }
            return [(expanded, nil)]
        }
        // Without the built-in suites a name can still be a fetched BIG-bench task; `core` cannot.
        let builtin: BuiltinSuite?
        do { builtin = try BuiltinSuite.installed() } catch {
            if entry == "core" { throw CLIError(error.message) }
            builtin = nil
        }
        if let builtin {
            if builtin.suites.contains(entry) { return builtin.tasks(in: entry).map { ($0.path, nil) } }
            if let path = builtin.task(named: entry) { return [(path, nil)] }
        }
        let folder = bigbenchRoot + "/" + entry
        let subtasks = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            .filter { FileManager.default.fileExists(atPath: folder + "/" + $0 + "/task.json") }
        if !subtasks.isEmpty { return subtasks.map { (folder + "/" + $0 + "/task.json", entry + ":" + $0) } }
        guard FileManager.default.fileExists(atPath: folder + "/task.json") else {
            let builtinTasks = builtin.map { suite in suite.suites.flatMap { suite.tasks(in: $0).map(\.name) } } ?? []
            let fetched = (try? FileManager.default.contentsOfDirectory(atPath: bigbenchRoot).sorted()) ?? []
            throw CLIError("unknown task '\(entry)': not a file, not `core` or one of its tasks (\(builtinTasks.joined(separator: ", ")))"
                + (fetched.isEmpty ? ", and no BIG-bench tasks are fetched in \(bigbenchRoot)" : ", nor a fetched BIG-bench task (\(fetched.joined(separator: ", ")))"))
        }
        return [(folder + "/task.json", entry)]
    }

    func run() async throws {
        let started = Date()
        let reference = try ModelReference(model)
        // Where to push, checked before any work: the hub's address, a token, the key.
        let destination = try push.map { try ReportDestination($0, insecure: insecure) }
        // Every task is read and checked before the model is loaded: a bad file fails at once.
        var loaded: [EvalTask] = []
        for entry in tasks.split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            for (path, name) in try resolve(entry) {
                do { loaded.append(try TaskLoader.load(path, name: name)) } catch { throw CLIError(error.message) }
            }
        }
        guard !loaded.isEmpty else { throw CLIError("--tasks names no task") }
        let hashing = ModelDigest(reference)
        let loadedModel = try reference.load()
        let contextSize = ctx ?? min(loadedModel.shape.trainedContext, 4096)
        var settings = EvalSettings()
        settings.limit = limit
        settings.numFewshot = numFewshot
        settings.fewshotSeed = seed
        settings.applyChatTemplate = applyChatTemplate
        settings.system = system
        settings.perplexityContext = ctx ?? 512
        guard let digest = hashing.wait() else { throw CLIError("cannot read '\(reference.path)' to take its sha256") }
        let outputDirectory = output ?? "hearth-eval/" + EvalRunner.fileName(reference.displayName)
        let runner: EvalRunner
        do {
            let scorer = try Scorer(model: loadedModel, contextSize: max(contextSize, settings.perplexityContext), threads: threads)
            runner = try EvalRunner(scorer: scorer, modelDigest: digest.description, settings: settings, outputDirectory: outputDirectory)
        } catch { throw CLIError(error.message) }
        printError("evaluating \(reference.displayName) (\(digest.description.prefix(19))…) on \(loaded.count) tasks; results in \(outputDirectory)")
        var results: [TaskResult] = []
        for task in loaded {
            // The runner gives the total with the progress (a text's chunks are known once it
            // is tokenized): the bar starts with the first report.
            var bar: ProgressBar?
            do {
                let result = try runner.run(task) { done, total, _ in
                    if bar == nil { bar = ProgressBar(task.name, total: total, unit: .items(task.outputType == .perplexity ? "chunks" : "examples")) }
                    bar?.update(done)
                }
                bar?.finish()
                results.append(result)
                let headline = result.metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value.value))" }.joined(separator: ", ")
                printError("\(task.name): \(headline) (\(result.samples) examples\(result.cachedSamples > 0 ? ", \(result.cachedSamples) from the cache" : ""), \(format2(result.seconds)) s)")
            } catch {
                bar?.finish()
                throw CLIError("\(task.name): \(error.message) (finished examples are kept in \(outputDirectory)/cache.jsonl; run again to resume)")
            }
        }
        let report = EvalReport(
            model: .init(name: reference.displayName, path: reference.path, digest: digest.description,
                         type: loadedModel.file.fileTypeName ?? loadedModel.file.predominantTypeName, parameters: loadedModel.file.parameterCount),
            hearthVersion: hearthVersion, kernels: KernelPath.best.description, threads: threads, settings: settings, tasks: results,
            started: started, seconds: Date().timeIntervalSince(started))
        do { try report.write(to: outputDirectory) } catch { throw CLIError(error.message) }
        print(report.markdown())
        try await destination?.push(from: outputDirectory)
    }
}
