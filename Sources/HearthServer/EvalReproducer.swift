import Foundation
import HearthEngine
import HearthEval
import HearthHub
import HearthKernels

/// Runs pushed evaluations again on the hub and records whether the scores hold.
///
/// A result can be reproduced when the hub has the model file the report names (by sha256)
/// and every task file it names (by sha256, looked for in `taskDirectories`: task YAML files
/// with their datasets, BIG-bench task.json files, perplexity texts). The hub then runs the
/// tasks with the report's settings (example limit, few-shot count and seed, chat template,
/// perplexity chunk) and compares each metric: accuracies must agree within
/// `accuracyTolerance` (absolute), other metrics within `relativeTolerance`, and the example
/// counts exactly. The state (`reproduced`, `differs` or `cannot`), a line saying why, and
/// the hub's own report are kept with the result; the samples and cache of the hub's run stay
/// in `<hub>/reproductions/<id>/`. One reproduction runs at a time per hub, across processes
/// (`hearth hub serve --reproduce` and `hearth hub reproduce`): `reproductions/.lock`.
public final class EvalReproducer: Sendable {
    public let registry: Registry
    public let taskDirectories: [String]
    public let threads: Int
    let version: String
    let log: @Sendable (String) -> Void
    private let signal = DispatchSemaphore(value: 0)

    public static let accuracyTolerance = 0.005
    public static let relativeTolerance = 0.001

    public init(registry: Registry, taskDirectories: [String], threads: Int, version: String, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.registry = registry
        self.taskDirectories = taskDirectories
        self.threads = threads
        self.version = version
        self.log = log
    }

    /// Starts a thread that reproduces unchecked results, now and whenever `wake` is called.
    public func start() {
        Thread { [self] in
            while true {
                do throws(HubError) { try reproduceUnchecked() } catch { log("cannot reproduce evaluations: \(error.message)") }
                signal.wait()
            }
        }.start()
    }

    /// Tells the thread a new result is waiting.
    func wake() { signal.signal() }

    /// Reproduces every result not tried yet; returns what became of each.
    @discardableResult
    public func reproduceUnchecked() throws(HubError) -> [(id: Int, state: HubDatabase.Reproduction, detail: String)] {
        let pending = try registry.database.evalResults(reproduction: .unchecked)
        guard !pending.isEmpty else { return [] }
        let tasks = taskFiles()
        var outcomes: [(id: Int, state: HubDatabase.Reproduction, detail: String)] = []
        for candidate in pending {
            let lock = try lock()
            // Another process may have taken it while this one waited for the lock.
            guard let result = try registry.database.evalResult(id: candidate.id), result.reproduction == .unchecked else { continue }
            let outcome = reproduce(result, tasks: tasks)
            withExtendedLifetime(lock) {}
            outcomes.append((result.id, outcome.state, outcome.detail))
        }
        return outcomes
    }

    /// Reproduces one result (again, whatever its state) and records the outcome.
    public func reproduce(id: Int) throws(HubError) -> (state: HubDatabase.Reproduction, detail: String) {
        let lock = try lock()
        defer { withExtendedLifetime(lock) {} }
        guard let result = try registry.database.evalResult(id: id) else { throw HubError("no evaluation result \(id) on this hub") }
        return reproduce(result, tasks: taskFiles())
    }

    /// The hub's reproduction lock, held while one result runs.
    private func lock() throws(HubError) -> StoreLock {
        try StoreLock(root: registry.root + "/reproductions", .exclusive) { log("waiting for another reproduction on this hub to finish") }
    }

    private func reproduce(_ result: HubDatabase.EvalResult, tasks: [String: String]) -> (state: HubDatabase.Reproduction, detail: String) {
        log("reproducing evaluation result \(result.id) (\(result.modelDigest.prefix(19))…)")
        let outcome: (HubDatabase.Reproduction, String, String?)
        do { outcome = try run(result, tasks: tasks) } catch {
            outcome = (.cannot, error.message, nil)
        }
        do { try registry.database.setReproduction(id: result.id, outcome.0, detail: outcome.1, report: outcome.2) } catch {
            log("cannot record the reproduction of result \(result.id): \(error.message)")
        }
        log("evaluation result \(result.id): \(outcome.0.rawValue): \(outcome.1)")
        return (outcome.0, outcome.1)
    }

    /// The task files under the task folders, by their digest (as `hearth eval` records it).
    func taskFiles() -> [String: String] {
        var byDigest: [String: String] = [:]
        for directory in taskDirectories {
            guard let walker = FileManager.default.enumerator(atPath: directory) else { continue }
            while let relative = walker.nextObject() as? String {
                let path = directory + "/" + relative
                guard [".yaml", ".yml", ".json", ".txt"].contains(where: relative.hasSuffix),
                      let task = try? TaskLoader.load(path) else { continue }
                byDigest[task.fileDigest] = byDigest[task.fileDigest] ?? path
            }
        }
        return byDigest
    }

    private func run(_ result: HubDatabase.EvalResult, tasks taskPaths: [String: String]) throws(HubError) -> (HubDatabase.Reproduction, String, String?) {
        let claimed: EvalReport
        do { claimed = try EvalReport.decode(Data(result.signed.report.utf8)) } catch { throw HubError("the report cannot be read: \(error)") }
        if let problem = claimed.settings.problem { throw HubError("the report's settings: \(problem)") }
        guard !claimed.tasks.isEmpty else { throw HubError("the report has no tasks") }
        var tasks: [EvalTask] = []
        for t in claimed.tasks {
            guard let path = taskPaths[t.fileDigest] else {
                throw HubError("the hub has no task file for \(t.task) (\(t.fileDigest.prefix(12))…); add it under \(taskDirectories.joined(separator: " or "))")
            }
            do { tasks.append(try TaskLoader.load(path, name: t.task)) } catch { throw HubError("\(t.task): \(error.message)") }
        }
        let digest = try Digest(parsing: result.modelDigest)
        let modelPath = registry.store.blobPath(digest)
        guard FileManager.default.fileExists(atPath: modelPath) else { throw HubError("the model file \(digest) is not in the hub's store") }
        // The chat template is that of a repository the submitter may read (a TEMPLATE layer
        // may replace the file's).
        let submitter = HubAccess.user(result.submitter, .read)
        let revision = try registry.database.revisions(modelDigest: result.modelDigest)
            .first { (try? registry.readable($0.namespace, $0.name, submitter)) != nil }
        let stored = revision.flatMap { r in try? registry.store.resolve(ModelName(namespace: r.namespace, model: r.name, tag: r.tag)) }
        let started = Date()
        let model: Model
        do { model = try Model(path: modelPath, chatTemplate: stored?.chatTemplate) } catch { throw HubError("cannot load the model: \(error.message)") }
        let settings = claimed.settings
        // A fresh run each time: nothing from an earlier reproduction's cache.
        let directory = registry.root + "/reproductions/\(result.id)"
        try? FileManager.default.removeItem(atPath: directory)
        var measured: [TaskResult] = []
        do {
            let contextSize = max(min(model.shape.trainedContext, 4096), settings.perplexityContext)
            let scorer = try Scorer(model: model, contextSize: contextSize, threads: threads)
            let runner = try EvalRunner(scorer: scorer, modelDigest: result.modelDigest, settings: settings, outputDirectory: directory)
            for task in tasks { measured.append(try runner.run(task)) }
        } catch { throw HubError("the hub's run failed: \(error.message)") }
        let report = EvalReport(model: .init(name: claimed.model.name, path: "",
                                             digest: result.modelDigest, type: claimed.model.type, parameters: model.file.parameterCount),
                                hearthVersion: version, kernels: KernelPath.best.description, threads: threads, settings: settings,
                                tasks: measured, started: started, seconds: Date().timeIntervalSince(started))
        try? report.write(to: directory)
        let json = (try? report.json()).map { String(decoding: $0, as: UTF8.self) }
        let differences = Self.differences(claimed: claimed.tasks, measured: measured)
        let checked = claimed.tasks.reduce(0) { $0 + $1.metrics.count }
        if differences.isEmpty {
            return (.reproduced, "\(checked) metrics of \(claimed.tasks.count) task\(claimed.tasks.count == 1 ? "" : "s") agree (hub run: Hearth \(version), \(KernelPath.best), \(String(format: "%.1f", report.seconds)) s)", json)
        }
        return (.differs, differences.joined(separator: "; "), json)
    }

    /// What does not agree between the claimed and the measured results, in words.
    static func differences(claimed: [TaskResult], measured: [TaskResult]) -> [String] {
        var out: [String] = []
        for (c, m) in zip(claimed, measured) {
            if c.samples != m.samples { out.append("\(c.task): \(c.samples) examples claimed, \(m.samples) run") }
            for (name, value) in c.metrics.sorted(by: { $0.key < $1.key }) {
                guard let other = m.metrics[name] else {
                    out.append("\(c.task) \(name): claimed, but the hub's run has no such metric")
                    continue
                }
                let accuracy = ["acc", "acc_norm", "exact_match"].contains(name)
                let agrees = accuracy ? abs(value.value - other.value) <= accuracyTolerance
                    : abs(value.value - other.value) <= relativeTolerance * max(abs(value.value), abs(other.value))
                if !agrees { out.append(String(format: "%@ %@: claimed %.4f, measured %.4f", c.task, name, value.value, other.value)) }
            }
        }
        return out
    }
}
