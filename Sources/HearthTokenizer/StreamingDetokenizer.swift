/// Turns generated ids into text one id at a time, never splitting a character.
///
/// A token can end in the middle of a UTF-8 sequence (byte-level BPE splits CJK characters and
/// emoji across tokens; SentencePiece emits `<0xXX>` byte tokens). `append` returns only complete
/// characters and holds the incomplete tail back until the next token completes it; `flush`
/// returns what is left, with an unfinished sequence as U+FFFD.
///
/// Pieces are rendered as `Tokenizer.piece` renders them (control tokens as their text unless
/// `skipSpecial`), without `decode`'s leading-space removal and space clean-up: joined, the
/// output of `append` and `flush` is the text of the concatenated pieces.
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecial: Bool
    private var pending: [UInt8] = []

    /// Starts an empty stream. With `skipSpecial`, control and unknown tokens produce no text.
    public init(tokenizer: Tokenizer, skipSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// Adds one token and returns the characters it completed (possibly none). An id outside
    /// the vocabulary is written as U+FFFD.
    public mutating func append(_ id: Int32) -> String {
        pending.append(contentsOf: tokenizer.piece(id, showSpecial: !skipSpecial))
        let cut = Self.completePrefixLength(pending)
        if cut == 0 { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is still held back (an incomplete sequence becomes U+FFFD) and empties
    /// the stream.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// True when bytes are held back waiting for the rest of a character.
    public var hasPendingBytes: Bool { !pending.isEmpty }

    /// How many leading bytes can be emitted: all of them, except a final sequence that is a
    /// valid start of a character still missing its last bytes. Invalid bytes are not held back
    /// (they decode to U+FFFD at once).
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Find the start of the last sequence: at most 3 continuation bytes back.
        var start = n - 1
        while start >= 0 && start >= n - 4 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 && start >= n - 4 else { return n }
        let lead = bytes[start]
        let needed: Int
        switch lead {
        case 0xC2 ... 0xDF: needed = 2
        case 0xE0 ... 0xEF: needed = 3
        case 0xF0 ... 0xF4: needed = 4
        default: return n  // ASCII, or a byte that can never start a sequence
        }
        let have = n - start
        if have >= needed { return n }
        // Hold back only a prefix that could still become a valid character.
        if have >= 2 {
            let second = bytes[start + 1]
            if lead == 0xE0 && second < 0xA0 { return n }  // overlong
            if lead == 0xED && second > 0x9F { return n }  // surrogate
            if lead == 0xF0 && second < 0x90 { return n }  // overlong
            if lead == 0xF4 && second > 0x8F { return n }  // past U+10FFFF
        }
        return start
    }
}
