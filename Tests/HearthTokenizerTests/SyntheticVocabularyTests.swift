import HearthTokenizer
import Testing

/// Behaviour on small hand-made vocabularies: merge order, pre-tokenizer rules, special tokens,
/// SentencePiece byte fallback, and bad input. No model file needed.
@Suite("Tiny vocabularies")
struct SyntheticVocabularyTests {
    typealias V = TinyVocabularies

    @Test("BPE merges by rank, leftmost first among equal ranks")
    func mergeOrder() throws {
        let vocabulary = V.byteLevel(pre: "gpt-2", words: ["bc", "ab", "aa", "abc"],
                                     merges: ["b c", "a b", "a a", "a bc"])
        let t = try Tokenizer(vocabulary)
        // "abc": (b c) outranks (a b), then (a bc) joins them.
        #expect(t.encode("abc", addSpecial: false, parseSpecial: false) == [V.id("abc", in: vocabulary)])
        // "aaa": the leftmost (a a) merges first.
        #expect(t.encode("aaa", addSpecial: false, parseSpecial: false)
                == [V.id("aa", in: vocabulary), V.id("a", in: vocabulary)])
        // No merge applies: one id per byte, space included.
        #expect(t.encode("x y", addSpecial: false, parseSpecial: false)
                == [V.id("x", in: vocabulary), V.id("Ġ", in: vocabulary), V.id("y", in: vocabulary)])
    }

    @Test("Llama 3 rules: case-insensitive contractions, digits in threes, whitespace runs")
    func llama3Words() throws {
        // With `llama-bpe`, a word that is itself a token is emitted whole (ignore_merges),
        // which makes the word boundaries visible.
        let words = ["'S", "Ġworld", "123", "45", "ĊĊ", "ĠĠ", "!!", "Ġ("]
        let vocabulary = V.byteLevel(pre: "llama-bpe", words: words)
        let t = try Tokenizer(vocabulary)
        func ids(_ texts: [String]) -> [Int32] { texts.map { V.id($0, in: vocabulary) } }
        #expect(t.encode("I'S  world 12345", addSpecial: false, parseSpecial: false)
                == ids(["I", "'S", "Ġ", "Ġworld", "Ġ", "123", "45"]))
        // "\n\n" is one word; "!!" takes no space before it when there is none.
        #expect(t.encode("x\n\n!!", addSpecial: false, parseSpecial: false) == ids(["x", "ĊĊ", "!!"]))
        // A space run before text gives its last space to the word: "  (" = " " + " (".
        #expect(t.encode("   (", addSpecial: false, parseSpecial: false) == ids(["ĠĠ", "Ġ("]))
    }

    @Test("Qwen2 rules: digits one at a time")
    func qwen2Digits() throws {
        let vocabulary = V.byteLevel(pre: "qwen2", words: ["12", "123"])
        let t = try Tokenizer(vocabulary)
        #expect(t.encode("123", addSpecial: false, parseSpecial: false)
                == ["1", "2", "3"].map { V.id($0, in: vocabulary) })
    }

    @Test("Special tokens: longest first across the whole text; control only with parseSpecial")
    func specialTokens() throws {
        let vocabulary = V.byteLevel(pre: "gpt-2", specials: ["<|bcd|>"], userDefined: ["<|ab", "cd|>"])
        let t = try Tokenizer(vocabulary)
        let bcd = V.id("<|bcd|>", in: vocabulary), ab = V.id("<|ab", in: vocabulary)
        // "<|bcd|>" (longest) is cut first, then "<|ab".
        let got = t.encode("<|ab<|bcd|>", addSpecial: false, parseSpecial: true)
        #expect(got == [ab, bcd])
        // Without parseSpecial the control token is ordinary text, the user-defined ones are
        // still cut out: "<|ab" and then "cd|>" inside what was "<|bcd|>".
        let plain = t.encode("<|ab<|bcd|>", addSpecial: false, parseSpecial: false)
        #expect(plain.first == ab)
        #expect(!plain.contains(bcd))
        #expect(plain.last == V.id("cd|>", in: vocabulary))
        // Overlap: "<|bcd|>" (7 bytes) beats "cd|>" (4) even though "cd|>" would match too.
        #expect(t.encode("<|bcd|>", addSpecial: false, parseSpecial: true) == [bcd])
        #expect(t.decode([ab, bcd]) == "<|ab<|bcd|>")
        #expect(t.decode([ab, bcd], skipSpecial: true) == "<|ab")
        #expect(t.isControl(bcd) && !t.isControl(ab))
    }

    @Test("GPT-2 decoding cleans spaces before punctuation and contractions")
    func cleanSpaces() throws {
        let vocabulary = V.byteLevel(pre: "gpt-2", words: ["Ġ,", "Ġ's", "Ġ.", "Ġ'", "Ġ'll"])
        let t = try Tokenizer(vocabulary)
        let ids = ["H", "i", "Ġ,", "Ġ", "i", "t", "Ġ's", "Ġ", "o", "k", "Ġ'll", "Ġ."].map { V.id($0, in: vocabulary) }
        #expect(t.decode(ids) == "Hi, it's ok 'll.")
        let smol = V.byteLevel(pre: "smollm", words: ["Ġ,"])
        let s = try Tokenizer(smol)
        #expect(s.decode(["H", "i", "Ġ,"].map { V.id($0, in: smol) }) == "Hi ,")  // clean_spaces off
    }

    @Test("SentencePiece: best score first, space prefix, byte fallback, decode")
    func sentencePiece() throws {
        let vocabulary = V.sentencePiece([("▁", -1), ("a", -2), ("b", -2), ("▁a", -1.5), ("ab", -3),
                                          ("▁ab", -1), ("é", -9)])
        let t = try Tokenizer(vocabulary)
        func id(_ text: String) -> Int32 { V.id(text, in: vocabulary) }
        let c3: Int32 = 3 + 0xC3, a7: Int32 = 3 + 0xA7
        #expect(t.encode("ab", addSpecial: true, parseSpecial: false) == [1, id("▁ab")])
        #expect(t.encode("ab", addSpecial: false, parseSpecial: false) == [id("▁ab")])
        // "ç" (C3 A7) is not a token: its bytes are written as <0xC3> <0xA7>.
        #expect(t.encode("aç", addSpecial: false, parseSpecial: false) == [id("▁a"), c3, a7])
        // add_space_prefix: the first token's leading space is dropped, unless a BOS was
        // dropped before it (llama.cpp's detokenize).
        #expect(t.decode([id("▁ab"), id("▁a"), c3, a7]) == "ab aç")
        #expect(t.decode([1, id("▁ab"), id("▁a"), c3, a7], skipSpecial: true) == " ab aç")
        #expect(t.decode([1, id("▁ab")]) == "<s> ab")
        #expect(t.piece(id("▁ab")) == Array(" ab".utf8))
        #expect(t.piece(3 + 0x41) == [0x41])
        #expect(t.encode("", addSpecial: true, parseSpecial: false) == [1])
        #expect(t.encode("", addSpecial: false, parseSpecial: false) == [])
        #expect(t.endOfGenerationIDs == [2])
    }

    @Test("Out-of-range ids never crash: U+FFFD, empty and false")
    func outOfRange() throws {
        let t = try Tokenizer(V.byteLevel(pre: "gpt-2"))
        #expect(t.decode([100_000, -1]) == "\u{FFFD}\u{FFFD}")
        #expect(t.decode([]) == "")
        #expect(t.piece(Int32.max) == [0xEF, 0xBF, 0xBD])
        #expect(t.piece(-7) == [0xEF, 0xBF, 0xBD])
        #expect(!t.isControl(-1) && !t.isControl(1 << 30))
        var stream = StreamingDetokenizer(tokenizer: t)
        #expect(stream.append(-3) == "\u{FFFD}")
        #expect(stream.flush() == "")
        #expect(t.encode("", addSpecial: true, parseSpecial: true) == [])
    }

    @Test("Invalid vocabularies throw, naming the problem")
    func invalidVocabularies() {
        func message(_ vocabulary: TokenizerVocabulary) -> String? {
            do {
                _ = try Tokenizer(vocabulary)
                return nil
            } catch {
                return error.description
            }
        }
        var v = V.byteLevel(pre: "gpt-2")
        v.model = "bert"
        #expect(message(v)?.contains("'bert'") == true)
        v = V.byteLevel(pre: "no-such-pre")
        #expect(message(v)?.contains("'no-such-pre'") == true)
        v = V.byteLevel(pre: "gpt-2", merges: ["a zz"])
        #expect(message(v)?.contains("'zz'") == true)
        v = V.byteLevel(pre: "gpt-2", merges: ["a b"])
        #expect(message(v)?.contains("makes 'ab'") == true)
        v = V.byteLevel(pre: "gpt-2", merges: ["ab"])
        #expect(message(v)?.contains("merge #0") == true)
        v = V.byteLevel(pre: "gpt-2", words: ["a"])
        #expect(message(v)?.contains("appears twice") == true)
        v = V.byteLevel(pre: "gpt-2")
        v.tokenTypes = [1, 1]
        #expect(message(v)?.contains("token_type has 2 entries") == true)
        v = V.byteLevel(pre: "gpt-2")
        v.merges = nil
        #expect(message(v)?.contains("merges") == true)
        // add_bos without a BOS id: llama.cpp's default BPE BOS (11) is out of range here.
        v = TokenizerVocabulary(model: "gpt2", pre: "gpt-2", tokens: ["a", "b"], merges: [], addBOS: true)
        #expect(message(v)?.contains("bos_token_id") == true)
        var s = V.sentencePiece([("a", -1)])
        s.scores = [0]
        #expect(message(s)?.contains("scores has 1 entries") == true)
        s.tokens = []
        s.scores = nil
        s.tokenTypes = nil
        #expect(message(s)?.contains("no tokens") == true)
    }
}
