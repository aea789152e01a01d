import HearthTokenizer

/// Small hand-made vocabularies, so behaviour can be tested without a model file.
enum TinyVocabularies {
    /// GPT-2's byte-to-character map, written out independently of the library's.
    static let byteCharacters: [String] = {
        var printable = Array(0x21 ... 0x7E) + Array(0xA1 ... 0xAC) + Array(0xAE ... 0xFF)
        var mapping = [Int](repeating: 0, count: 256)
        for b in printable { mapping[b] = b }
        var extra = 256
        for b in 0 ..< 256 where !printable.contains(b) {
            mapping[b] = extra
            extra += 1
        }
        printable.removeAll()
        return mapping.map { String(Character(Unicode.Scalar(UInt32($0))!)) }
    }()

    /// A byte-level BPE vocabulary: the 256 byte characters (ids 0-255, in byte order), then
    /// `words` (ids 256...), then `specials` (control tokens) and `userDefined` tokens.
    static func byteLevel(pre: String, words: [String] = [], merges: [String] = [],
                          specials: [String] = [], userDefined: [String] = [],
                          addBOS: Bool = false) -> TokenizerVocabulary {
        let tokens = byteCharacters + words + specials + userDefined
        let types = [Int32](repeating: 1, count: 256 + words.count)
            + [Int32](repeating: 3, count: specials.count)
            + [Int32](repeating: 4, count: userDefined.count)
        let bos = specials.isEmpty ? nil : Int32(256 + words.count)
        return TokenizerVocabulary(model: "gpt2", pre: pre, tokens: tokens, tokenTypes: types,
                                   merges: merges, bosID: bos, eosID: bos, addBOS: addBOS)
    }

    /// The id of a token text in a vocabulary.
    static func id(_ text: String, in vocabulary: TokenizerVocabulary) -> Int32 {
        Int32(vocabulary.tokens.firstIndex { Array($0.utf8) == Array(text.utf8) }!)
    }

    /// A SentencePiece vocabulary: `<unk>` 0, `<s>` 1, `</s>` 2, byte tokens `<0x00>`..`<0xFF>`
    /// (3-258), then `pieces` with their scores.
    static func sentencePiece(_ pieces: [(String, Float)], addSpacePrefix: Bool = true) -> TokenizerVocabulary {
        let hex = Array("0123456789ABCDEF")
        let bytes = (0 ..< 256).map { "<0x\(hex[$0 >> 4])\(hex[$0 & 15])>" }
        let tokens = ["<unk>", "<s>", "</s>"] + bytes + pieces.map(\.0)
        let scores = [Float](repeating: 0, count: 3 + 256) + pieces.map(\.1)
        let types: [Int32] = [2, 3, 3] + [Int32](repeating: 6, count: 256)
            + [Int32](repeating: 1, count: pieces.count)
        return TokenizerVocabulary(model: "llama", pre: "default", tokens: tokens, scores: scores,
                                   tokenTypes: types, bosID: 1, eosID: 2, unknownID: 0,
                                   addBOS: true, addEOS: false, addSpacePrefix: addSpacePrefix)
    }
}
