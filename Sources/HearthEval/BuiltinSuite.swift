import Foundation

/// The evaluation suites that come with Hearth: task folders (`task.yaml`, `data.jsonl`, a
/// README) under `Suites/<suite>/<task>/`, made by `scripts/make-suite.py` from Debian
/// packages and the project's own generator, and copied beside the `hearth` binary as the
/// HearthEval resource bundle by the build. Their bytes are the same on every machine, so a
/// hub that reproduces a pushed result finds them by sha256 like any other task file.
///
/// `core` is the suite: definitions, synonyms, hypernyms, antonyms, arithmetic, elements
/// (multiple choice, cloze and generation) and devils_dictionary (rolling log-likelihood).
public struct BuiltinSuite: Sendable {
    /// The folder holding the suites (`<root>/core/<task>/task.yaml`).
    public let root: String

    /// The environment variable that points at another suites folder.
    public static let environmentVariable = "HEARTH_SUITES"
    /// The resource bundle SwiftPM builds for this target, beside the executable.
    static let bundleName = "Hearth_HearthEval.resources"

    /// The suites beside the running executable, or in `HEARTH_SUITES`.
    public static func installed(environment: [String: String] = ProcessInfo.processInfo.environment) throws(EvalError) -> BuiltinSuite {
        if let path = environment[environmentVariable], !path.isEmpty {
            let root = (path as NSString).expandingTildeInPath
            guard isDirectory(root) else { throw EvalError("\(environmentVariable) is '\(path)', which is not a folder of suites") }
            return BuiltinSuite(root: root)
        }
        let executable = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath()
        let root = executable.deletingLastPathComponent().appendingPathComponent(bundleName).appendingPathComponent("Suites").path
        guard isDirectory(root) else {
            throw EvalError("the built-in task suites are not installed: \(root) is missing (the build puts \(bundleName) beside the hearth binary; copy it along, or set \(environmentVariable) to its Suites folder)")
        }
        return BuiltinSuite(root: root)
    }

    public init(root: String) { self.root = root }

    /// The suites' names (`core`).
    public var suites: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { Self.isDirectory(root + "/" + $0) }.sorted()
    }

    /// The task files of `suite`, by task name (their folders' names, sorted).
    public func tasks(in suite: String) -> [(name: String, path: String)] {
        let folder = root + "/" + suite
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            .map { (name: $0, path: folder + "/" + $0 + "/task.yaml") }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// The task file of a task named `name` in any suite, or nil.
    public func task(named name: String) -> String? {
        suites.lazy.compactMap { suite in self.tasks(in: suite).first { $0.name == name }?.path }.first
    }

    static func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}
