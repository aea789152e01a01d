import Foundation
import HearthTestSupport
import HearthTokenizer
import Testing

/// Where the test inputs live. Each can be moved with an environment variable.
enum TestPaths {
    static let environment = ProcessInfo.processInfo.environment

    /// The cached real models (scripts/fetch-models.sh; `HEARTH_MODEL_CACHE` moves them).
    static var modelsDirectory: String { HearthTestSupport.TestPaths.modelCache }

    static func model(_ fileName: String) -> String {
        (modelsDirectory as NSString).appendingPathComponent(fileName)
    }

    static let smolLM2 = model("SmolLM2-135M-Instruct.Q4_1.gguf")
    static let qwen25Coder = model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    static let gemma3 = model("gemma-3-270m-q4_k_m.gguf")

    /// The shared reference vectors (`../shared/vectors` beside the checkout, or `HEARTH_SHARED`).
    static var vectorsDirectory: String? {
        let dir = HearthTestSupport.TestPaths.sharedVectors
        return FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("smollm2-q4_1.json")) ? dir : nil
    }

    static func vector(_ name: String) -> String? {
        vectorsDirectory.map { ($0 as NSString).appendingPathComponent(name) }
    }

    /// llama.cpp's `models/` directory with the `ggml-vocab-*.gguf` test vocabularies and their
    /// `.inp`/`.out` cases (`LLAMA_CPP_VOCAB_DIR`); those tests are skipped without it.
    static var llamaCppVocabDirectory: String? {
        guard let dir = environment["LLAMA_CPP_VOCAB_DIR"],
              FileManager.default.fileExists(atPath: dir) else { return nil }
        return dir
    }

    static func exists(_ path: String?) -> Bool {
        guard let path else { return false }
        return FileManager.default.fileExists(atPath: path)
    }
}

/// Tokenizers built once per test process (loading Gemma's 262k tokens takes a moment).
enum Fixtures {
    static let smolLM2 = load(TestPaths.smolLM2)
    static let qwen25Coder = load(TestPaths.qwen25Coder)
    static let gemma3 = load(TestPaths.gemma3)

    static func load(_ path: String) -> Result<Tokenizer, any Error> {
        Result { try Tokenizer(loadVocabulary(model: path)) }
    }

    /// The fixture of a model path, if it is one of the three.
    static func fixture(_ path: String) -> Result<Tokenizer, any Error>? {
        switch path {
        case TestPaths.smolLM2: return smolLM2
        case TestPaths.qwen25Coder: return qwen25Coder
        case TestPaths.gemma3: return gemma3
        default: return nil
        }
    }

    /// True when the model file exists. A missing file skips the test, unless the test script
    /// asked for every real-model test (HEARTH_REQUIRE_MODELS=1): then it is a failure.
    static func ready(_ path: String) -> Bool {
        guard TestPaths.exists(path) else {
            if HearthTestSupport.TestPaths.modelsRequired {
                Issue.record("model \(path) is missing; run scripts/fetch-models.sh all")
            }
            return false
        }
        return true
    }
}

/// Golden files in the test bundle.
enum Golden {
    static func url(_ name: String) -> URL? {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden")
    }

    static func json(_ name: String) throws -> [String: Any] {
        guard let url = url(name) else { throw MissingGolden(name: name) }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let dictionary = object as? [String: Any] else { throw MissingGolden(name: name) }
        return dictionary
    }

    struct MissingGolden: Error, CustomStringConvertible {
        var name: String
        var description: String { "golden file Golden/\(name) is missing or not a JSON object" }
    }
}

/// A JSON value that is an array of integers, as ids.
func ids(_ value: Any?) -> [Int32]? {
    guard let numbers = value as? [Any] else { return nil }
    var out: [Int32] = []
    for n in numbers {
        guard let number = n as? NSNumber else { return nil }
        out.append(number.int32Value)
    }
    return out
}

/// A readable rendering of a text for test names and messages.
func show(_ text: String) -> String {
    text.debugDescription.count > 60 ? String(text.debugDescription.prefix(60)) + "…\"" : text.debugDescription
}

/// The first position where two id lists differ, for failure messages.
func firstDifference(_ a: [Int32], _ b: [Int32]) -> String {
    let n = min(a.count, b.count)
    for i in 0 ..< n where a[i] != b[i] {
        return "first difference at index \(i): got \(a[max(0, i - 2) ..< min(a.count, i + 4)]) expected \(b[max(0, i - 2) ..< min(b.count, i + 4)])"
    }
    return a.count == b.count ? "equal" : "lengths \(a.count) vs \(b.count)"
}
