/// Ids back to bytes and text, as llama.cpp's `token_to_piece` and `detokenize`.
extension Tokenizer {
    /// The bytes of U+FFFD, written for an id outside the vocabulary.
    static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// The raw bytes of one token, as llama.cpp's `token_to_piece` gives them with special tokens
    /// rendered: control, unknown and user-defined tokens as their text; byte-level BPE tokens
    /// mapped back to bytes; SentencePiece tokens with `▁` turned into spaces; `<0xXX>` byte
    /// tokens as that byte; unused tokens as nothing.
    ///
    /// A piece can be an incomplete UTF-8 sequence (part of a character split across tokens).
    /// An id outside `0 ..< vocabularySize` gives the bytes of U+FFFD.
    public func piece(_ id: Int32) -> [UInt8] {
        Array(piece(id, showSpecial: true))
    }

    /// `piece(_:)` without a copy: a view of the tokenizer's own table.
    public func pieceBytes(_ id: Int32) -> ArraySlice<UInt8> { piece(id, showSpecial: true) }

    /// The bytes of a token when special tokens are hidden: control and unknown tokens give
    /// nothing (user-defined ones still render), as `token_to_piece(special: false)`.
    func piece(_ id: Int32, showSpecial: Bool) -> ArraySlice<UInt8> {
        guard id >= 0, Int(id) < pieces.count else { return Self.replacementCharacter[...] }
        if !showSpecial && !attributes[Int(id)].isDisjoint(with: [.control, .unknown]) { return [] }
        return pieces[Int(id)]
    }

    /// Decodes ids to text, as llama.cpp's `llama_detokenize`.
    ///
    /// - Parameter skipSpecial: false (the default) renders control tokens as their text
    ///   (`<|im_end|>`); true drops them, and also drops a leading BOS and trailing EOS that the
    ///   vocabulary adds by itself (`remove_special`).
    ///
    /// With a SentencePiece `add_space_prefix` vocabulary the leading space of the first token is
    /// removed; vocabularies with `clean_spaces` (GPT-2, Llama 3, ...) get llama.cpp's clean-up of
    /// spaces before punctuation and in contractions. Ids outside the vocabulary are written as
    /// U+FFFD (never a crash); byte sequences that are not valid UTF-8 become U+FFFD too.
    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
    }

    /// `decode` before the UTF-8 is interpreted.
    func decodeBytes(_ ids: [Int32], skipSpecial: Bool) -> [UInt8] {
        var ids = ids[...]
        var removeLeadingSpace = addSpacePrefix
        if skipSpecial && addBOS, let bos = specials.bos, ids.first == bos {
            removeLeadingSpace = false
            ids = ids.dropFirst()
        }
        if skipSpecial && addEOS, let eos = specials.eos, ids.last == eos {
            ids = ids.dropLast()
        }
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids {
            var bytes = piece(id, showSpecial: !skipSpecial)
            if removeLeadingSpace, bytes.first == 0x20 { bytes = bytes.dropFirst() }
            removeLeadingSpace = false
            out.append(contentsOf: bytes)
        }
        if cleanSpaces { Self.cleanUpSpaces(&out) }
        return out
    }

    /// llama.cpp's three clean-up passes over detokenized bytes (`clean_spaces`):
    /// drop the space in `" ?"`, `" !"`, `" ."`, `" ,"`; turn `" ' "` into `"'"`; and drop the
    /// space before `'s`, `'m`, `'re`, `'ve`.
    static func cleanUpSpaces(_ text: inout [UInt8]) {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "'")
        // Pass 1: space before ? ! . ,
        var total = text.isEmpty ? 0 : 1
        var n = text.count
        if n > 1 {
            for i in 1 ..< n {
                let x = text[i]
                if text[i - 1] == space, x == UInt8(ascii: "?") || x == UInt8(ascii: "!")
                    || x == UInt8(ascii: ".") || x == UInt8(ascii: ",") {
                    total -= 1
                }
                text[total] = x
                total += 1
            }
        }
        // Pass 2: a lone apostrophe between spaces loses both spaces.
        n = total
        total = n == 0 ? 0 : 1
        var i = 1
        while i < n {
            let x = text[i]
            if x == quote, i + 1 < n, text[i - 1] == space, text[i + 1] == space {
                total -= 1
                i += 1
                text[i] = 0  // the next space is skipped and no longer counts as a space
            }
            text[total] = x
            total += 1
            i += 1
        }
        // Pass 3: no space before 's 'm 're 've (but kept before 't 'd 'll).
        n = total
        total = n == 0 ? 0 : 1
        if n > 1 {
            for i in 1 ..< n {
                let x = text[i]
                if text[i - 1] == space, x == quote, i + 1 < n {
                    let x1 = text[i + 1]
                    if x1 == UInt8(ascii: "s") || x1 == UInt8(ascii: "m") {
                        total -= 1
                    } else if x1 != UInt8(ascii: "t") && x1 != UInt8(ascii: "d"), i + 2 < n {
                        let x2 = text[i + 2]
                        if (x1 == UInt8(ascii: "r") || x1 == UInt8(ascii: "v")) && x2 == UInt8(ascii: "e") {
                            total -= 1
                        }
                    }
                }
                text[total] = x
                total += 1
            }
        }
        text.removeLast(text.count - total)
    }

    /// Renders every token once (llama.cpp's `cache_token_to_piece`, special tokens shown).
    static func renderPieces(_ tokens: ByteStrings, _ attributes: [TokenAttributes],
                             sentencePiece: Bool) -> ByteStrings {
        var result = ByteStrings()
        for (i, attr) in attributes.enumerated() {
            let text = Array(tokens[i])
            if !attr.isDisjoint(with: [.control, .unknown, .userDefined]) {
                result.append(text)
            } else if attr.contains(.normal) {
                result.append(sentencePiece ? unescapeSpaces(text) : byteLevelDecode(text))
            } else if attr.contains(.byte) {
                result.append(byteTokenValue(text).map { [$0] } ?? [])
            } else {
                result.append([])  // unused or undefined tokens render as nothing
            }
        }
        result.shrink()
        return result
    }

    /// `▁` back to spaces.
    static func unescapeSpaces(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if i + 2 < text.count, text[i] == 0xE2, text[i + 1] == 0x96, text[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// Byte-level characters back to bytes. A character outside the 256 is written as
    /// llama.cpp does: `[UNK_BYTE_0x<its UTF-8 in hex><the whole token text>]`.
    static func byteLevelDecode(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        text.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                let (value, length) = decodeUTF8(buffer, at: i)
                if let b = ByteLevel.byte(for: value) {
                    out.append(b)
                } else {
                    out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                    var encoded: [UInt8] = []
                    appendUTF8(value, to: &encoded)
                    for e in encoded {
                        let hex = String(e, radix: 16)
                        out.append(contentsOf: Array((hex.count == 1 ? "0" + hex : hex).utf8))
                    }
                    out.append(contentsOf: text)
                    out.append(UInt8(ascii: "]"))
                }
                i += length
            }
        }
        return out
    }

    /// The byte of a `<0xXX>` token (llama.cpp reads the two characters after `<0x`).
    static func byteTokenValue(_ text: [UInt8]) -> UInt8? {
        guard text.count >= 5 else { return nil }
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A") ... UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        guard let high = digit(text[3]) else { return nil }
        guard let low = digit(text[4]) else { return high }  // strtol stops at the first non-digit
        return high << 4 | low
    }
}
