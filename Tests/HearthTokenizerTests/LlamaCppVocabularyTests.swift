import Foundation
import HearthTokenizer
import Testing

/// llama.cpp's own tokenizer test cases (`models/ggml-vocab-*.gguf` with `.inp`/`.out`, the
/// inputs and expected ids of its `test-tokenizer-0`), for the pre-tokenizers not covered by the
/// cached models: Llama 3, GPT-2, StarCoder, Refact, MPT, Command-R, Llama 2 SentencePiece, and
/// the Qwen2 vocabulary itself. Run when `LLAMA_CPP_VOCAB_DIR` points at that directory.
@Suite("llama.cpp test-tokenizer-0 vocabularies",
       .enabled(if: TestPaths.llamaCppVocabDirectory != nil, "LLAMA_CPP_VOCAB_DIR not set"))
struct LlamaCppVocabularyTests {
    static let vocabularies = ["llama-bpe", "gpt-2", "qwen2", "starcoder", "refact", "mpt",
                               "command-r", "llama-spm"]

    @Test("ids match test-tokenizer-0's expected output", arguments: vocabularies)
    func expectedIDs(name: String) throws {
        let dir = try #require(TestPaths.llamaCppVocabDirectory)
        let model = (dir as NSString).appendingPathComponent("ggml-vocab-\(name).gguf")
        try #require(FileManager.default.fileExists(atPath: model + ".inp"), "no \(model).inp")
        let tokenizer = try Tokenizer(loadVocabulary(model: model))
        let cases = try Self.readCases(model)
        #expect(cases.count > 20)
        for (text, expected) in cases {
            let got = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            #expect(got == expected, "\(name) \(show(text)): \(firstDifference(got, expected))")
        }
    }

    /// Reads `<model>.inp` (texts separated by `\n__ggml_vocab_test__\n`) and `<model>.out` (one
    /// line of space-separated ids per text), as llama.cpp's `read_tests` does.
    static func readCases(_ model: String) throws -> [(String, [Int32])] {
        let input = try Data(contentsOf: URL(fileURLWithPath: model + ".inp"))
        let output = try String(contentsOfFile: model + ".out", encoding: .utf8)
        let separator = Array("\n__ggml_vocab_test__\n".utf8)
        let raw = [UInt8](input)
        var texts: [String] = []
        var pos = 0
        while pos < raw.count {
            var next: Int? = nil
            var i = pos
            while i + separator.count <= raw.count {
                if raw[i ..< i + separator.count].elementsEqual(separator) { next = i; break }
                i += 1
            }
            guard let found = next else {
                texts.append(String(decoding: raw[pos...], as: UTF8.self))
                break
            }
            texts.append(String(decoding: raw[pos ..< found], as: UTF8.self))
            pos = found + separator.count
        }
        var lines = output.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        guard lines.count == texts.count else {
            throw CaseMismatch(message: "\(model): \(texts.count) inputs but \(lines.count) outputs")
        }
        return zip(texts, lines).map { text, line in
            (text, line.split(separator: " ").compactMap { Int32($0) })
        }
    }

    struct CaseMismatch: Error { var message: String }
}
