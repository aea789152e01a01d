import Foundation

/// Where tests find the real models and the shared reference vectors.
public enum TestPaths {
    /// The model cache of scripts/fetch-models.sh.
    public static var modelCache: String {
        ProcessInfo.processInfo.environment["HEARTH_MODEL_CACHE"]
            ?? (NSHomeDirectory() + "/.cache/hearth/models")
    }

    /// True when the test script asked for every real-model test to run (a missing model is then a failure).
    public static var modelsRequired: Bool {
        ProcessInfo.processInfo.environment["HEARTH_REQUIRE_MODELS"] == "1"
    }

    /// The path of a cached model file, or nil when it is absent and not required.
    /// Throws when it is absent but required, naming the script that fetches it.
    public static func model(_ fileName: String) throws -> String? {
        let path = modelCache + "/" + fileName
        if FileManager.default.fileExists(atPath: path) { return path }
        if modelsRequired {
            throw MissingFixture("model \(fileName) is not in \(modelCache); run scripts/fetch-models.sh all")
        }
        return nil
    }

    /// The shared reference vectors folder (`../shared/vectors` beside the checkout, or HEARTH_SHARED/vectors).
    public static var sharedVectors: String {
        if let s = ProcessInfo.processInfo.environment["HEARTH_SHARED"] { return s + "/vectors" }
        // this file is <repo>/Sources/HearthTestSupport/TestPaths.swift
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared/vectors").path
    }

    /// The repository's root folder.
    public static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}

public struct MissingFixture: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
