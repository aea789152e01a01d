import HearthTokenizer
import Testing

/// The streaming detokenizer never emits part of a character.
@Suite("Streaming detokenizer")
struct StreamingDetokenizerTests {
    typealias V = TinyVocabularies

    /// Feeds ids one at a time; checks no chunk carries U+FFFD and the chunks join to `expected`.
    static func stream(_ tokenizer: Tokenizer, _ ids: [Int32], expected: String) -> [String] {
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var chunks: [String] = []
        for id in ids { chunks.append(detokenizer.append(id)) }
        chunks.append(detokenizer.flush())
        #expect(!chunks.joined().unicodeScalars.contains("\u{FFFD}"))
        #expect(Array(chunks.joined().utf8) == Array(expected.utf8))
        #expect(!detokenizer.hasPendingBytes)
        return chunks
    }

    @Test("byte tokens of one character are held back until it is complete")
    func byteTokens() throws {
        let t = try Tokenizer(V.sentencePiece([("▁", -1)]))
        // "€" is E2 82 AC, "😀" is F0 9F 98 80, each as byte tokens 3 + b.
        let ids: [Int32] = [0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80].map { 3 + $0 }
        let chunks = Self.stream(t, ids, expected: "€😀")
        #expect(chunks == ["", "", "€", "", "", "", "😀", ""])
    }

    @Test("an unfinished character is flushed as U+FFFD")
    func danglingBytes() throws {
        let t = try Tokenizer(V.sentencePiece([("▁", -1)]))
        var detokenizer = StreamingDetokenizer(tokenizer: t)
        #expect(detokenizer.append(3 + 0xE4) == "")
        #expect(detokenizer.append(3 + 0xB8) == "")
        #expect(detokenizer.hasPendingBytes)
        #expect(detokenizer.flush() == "\u{FFFD}")
        // An invalid byte is not held back.
        #expect(detokenizer.append(3 + 0xFF) == "\u{FFFD}")
        #expect(detokenizer.append(3 + 0x41) == "A")
    }

    @Test("control tokens render as text unless skipped")
    func controlTokens() throws {
        let t = try Tokenizer(V.sentencePiece([("▁hi", -1)]))
        var shown = StreamingDetokenizer(tokenizer: t)
        #expect(shown.append(1) == "<s>")
        var hidden = StreamingDetokenizer(tokenizer: t, skipSpecial: true)
        #expect(hidden.append(1) == "")
        #expect(hidden.append(259) == " hi")
    }

    @Test("SmolLM2: Chinese and emoji split across byte-level tokens",
          .enabled(if: Fixtures.ready(TestPaths.smolLM2), "SmolLM2 model file (or its vocabulary) not found"))
    func smolLM2() throws {
        let t = try Fixtures.smolLM2.get()
        let text = "你好，世界！日本語のテキスト。emoji 🦙🔥 and 👩‍💻! 中国的首都是北京。"
        let ids = t.encode(text, addSpecial: false, parseSpecial: false)
        let chunks = Self.stream(t, ids, expected: text)
        // Some tokens end mid-character, so some chunks must be empty.
        #expect(chunks.contains(""))
        #expect(chunks.count == ids.count + 1)
    }

    @Test("Gemma 3: byte-fallback emoji and CJK",
          .enabled(if: Fixtures.ready(TestPaths.gemma3), "Gemma 3 model file (or its vocabulary) not found"))
    func gemma3() throws {
        let t = try Fixtures.gemma3.get()
        let text = "𓀀 hieroglyph, 🦙🔥👩‍💻, 鿰鿱 and 你好世界"
        let ids = t.encode(text, addSpecial: false, parseSpecial: false)
        _ = Self.stream(t, ids, expected: text)
    }
}
