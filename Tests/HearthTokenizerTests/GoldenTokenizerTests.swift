import Foundation
import HearthTokenizer
import Testing

/// Golden ids made with llama.cpp's `llama-tokenize` (see `Golden/README.md`) for SmolLM2,
/// Qwen2.5-Coder and Gemma 3 over a varied set of texts: code, whitespace runs, digits,
/// contractions, many scripts, emoji, special-token text, the 35 KB GPL text.
@Suite("Golden ids from llama-tokenize")
struct GoldenTokenizerTests {
    struct GoldenFile: Decodable {
        var model: String
        var eog_ids: [Int32]
        var cases: [Case]
    }

    struct Case: Decodable {
        var name: String
        var text: String?
        var text_file: String?
        var ids: [Int32]
        var ids_no_parse_special: [Int32]
    }

    /// Texts that do not survive encode then decode, by design of the tokenizer:
    /// SentencePiece turns a literal `▁` in the input into a space.
    static let lossyRoundTrip: Set<String> = ["gemma-3-270m-q4_k_m.gguf/sentencepiece-marker"]

    /// Loads a golden file (with `JSONDecoder`, which keeps every scalar of the texts).
    static func load(_ name: String) throws -> GoldenFile {
        let url = try #require(Golden.url(name), "Golden/\(name) missing")
        return try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: url))
    }

    static func tokenizer(for model: String) throws -> Tokenizer {
        switch model {
        case "SmolLM2-135M-Instruct.Q4_1.gguf": return try Fixtures.smolLM2.get()
        case "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf": return try Fixtures.qwen25Coder.get()
        case "gemma-3-270m-q4_k_m.gguf": return try Fixtures.gemma3.get()
        default: return try Tokenizer(loadVocabulary(model: TestPaths.model(model)))
        }
    }

    /// The texts of a golden file; a case whose text file is not available is left out.
    static func texts(_ golden: GoldenFile) throws -> [(Case, String)] {
        try golden.cases.compactMap { c in
            if let text = c.text { return (c, text) }
            guard let file = c.text_file, let path = TestPaths.vector(file),
                  FileManager.default.fileExists(atPath: path) else { return nil }
            return (c, try String(contentsOfFile: path, encoding: .utf8))
        }
    }

    @Test("SmolLM2-135M (smollm)",
          .enabled(if: Fixtures.ready(TestPaths.smolLM2), "SmolLM2 model file (or its vocabulary) not found"),
          .enabled(if: Golden.url("tokenizer-smollm2-135m.json") != nil, "golden file not made yet"))
    func smolLM2() throws { try check("tokenizer-smollm2-135m.json") }

    @Test("Qwen2.5-Coder-0.5B (qwen2)",
          .enabled(if: Fixtures.ready(TestPaths.qwen25Coder), "Qwen2.5-Coder model file (or its vocabulary) not found"),
          .enabled(if: Golden.url("tokenizer-qwen2.5-coder-0.5b.json") != nil, "golden file not made yet"))
    func qwen25Coder() throws { try check("tokenizer-qwen2.5-coder-0.5b.json") }

    @Test("Gemma 3 270M (SentencePiece)",
          .enabled(if: Fixtures.ready(TestPaths.gemma3), "Gemma 3 model file (or its vocabulary) not found"),
          .enabled(if: Golden.url("tokenizer-gemma-3-270m.json") != nil, "golden file not made yet"))
    func gemma3() throws { try check("tokenizer-gemma-3-270m.json") }

    /// Encode with and without special-token parsing, decode back, and the end-of-generation set.
    func check(_ name: String) throws {
        let golden = try Self.load(name)
        let tokenizer = try Self.tokenizer(for: golden.model)
        let cases = try Self.texts(golden)
        #expect(cases.count >= golden.cases.count - 1)
        for (c, text) in cases {
            let parsed = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
            #expect(parsed == c.ids, "\(c.name): \(firstDifference(parsed, c.ids))")
            let plain = tokenizer.encode(text, addSpecial: true, parseSpecial: false)
            #expect(plain == c.ids_no_parse_special,
                    "\(c.name) (no special parsing): \(firstDifference(plain, c.ids_no_parse_special))")
            if Self.lossyRoundTrip.contains("\(golden.model)/\(c.name)") { continue }
            // Round trip: the ids without the BOS the model adds by itself decode to the text.
            var ids = c.ids_no_parse_special
            let addsBOS = tokenizer.encode("", addSpecial: true, parseSpecial: false) == [tokenizer.bosID]
            if addsBOS, ids.first == tokenizer.bosID { ids.removeFirst() }
            let decoded = tokenizer.decode(ids)
            #expect(Array(decoded.utf8) == Array(text.utf8), "\(c.name) round trip: \(show(decoded))")
        }
        #expect(tokenizer.endOfGenerationIDs == Set(golden.eog_ids))
    }
}
