import Foundation
import HearthTokenizer
import Testing

/// The 35 KB GPL-3 text of the shared vectors: token count, round trip, and encoding speed.
@Suite("Long text (ppl-text.txt)",
       .enabled(if: TestPaths.exists(TestPaths.vector("ppl-text.txt")), "shared ppl-text.txt not found"))
struct LongTextTests {
    /// A cold encode (fresh tokenizer, empty word cache) must stay well under a second in an
    /// optimized build; a debug build gets more room.
    #if DEBUG
    static let limit = Duration.seconds(20)
    #else
    static let limit = Duration.seconds(1)
    #endif

    static func text() throws -> String {
        try String(contentsOfFile: try #require(TestPaths.vector("ppl-text.txt")), encoding: .utf8)
    }

    /// Encodes with a freshly built tokenizer and reports the time.
    static func timedEncode(_ model: String, _ text: String) throws -> (Tokenizer, [Int32], Duration) {
        let vocabulary = try loadVocabulary(model: model)
        var made: Tokenizer?
        let built = try ContinuousClock().measure { made = try Tokenizer(vocabulary) }
        let name = URL(fileURLWithPath: model).lastPathComponent
        print("init \(name): \(vocabulary.tokens.count) tokens in \(built)")
        let tokenizer = try #require(made)
        var ids: [Int32] = []
        let elapsed = ContinuousClock().measure {
            ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        }
        print("encode \(name): \(text.utf8.count) bytes -> \(ids.count) tokens in \(elapsed)")
        return (tokenizer, ids, elapsed)
    }

    @Test("SmolLM2: 7,639 tokens, cold encode under the limit, exact round trip",
          .enabled(if: Fixtures.ready(TestPaths.smolLM2), "SmolLM2 model file (or its vocabulary) not found"))
    func smolLM2() throws {
        let text = try Self.text()
        let (tokenizer, ids, elapsed) = try Self.timedEncode(TestPaths.smolLM2, text)
        #expect(ids.count == 7639)
        #expect(elapsed < Self.limit)
        #expect(Array(tokenizer.decode(ids).utf8) == Array(text.utf8))
        // The warm path (every word cached) is what a server sees for repeated prompts.
        let warm = ContinuousClock().measure { _ = tokenizer.encode(text, addSpecial: false, parseSpecial: false) }
        print("encode SmolLM2 again (word cache warm): \(warm)")
    }

    @Test("Qwen2.5 and Gemma 3: cold encode under the limit, exact round trip",
          arguments: [TestPaths.qwen25Coder, TestPaths.gemma3])
    func otherModels(model: String) throws {
        guard Fixtures.ready(model) else {
            try Test.cancel("model file (or its vocabulary) not found: \(model)")
        }
        let text = try Self.text()
        let (tokenizer, ids, elapsed) = try Self.timedEncode(model, text)
        #expect(elapsed < Self.limit)
        #expect(Array(tokenizer.decode(ids).utf8) == Array(text.utf8))
    }
}
