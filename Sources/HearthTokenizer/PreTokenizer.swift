/// Splits text into the words that byte-level BPE then encodes one by one.
///
/// Each BPE vocabulary names its split rules in `tokenizer.ggml.pre`. llama.cpp runs a list of
/// regexes per name, each one splitting every piece the previous one left (matches and the gaps
/// between them both become pieces). The regexes are implemented here as hand-written scanners
/// over Unicode scalars, mirroring llama.cpp's own scanners (`unicode_regex_split_custom_*`) and,
/// for the few regexes it runs through `std::regex`, the ECMAScript semantics of those.
enum PreTokenizer: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `\p{N}` isolated first, then `gpt2`: StarCoder, SmolLM, Refact, Command-R.
    case digitsThenGPT2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|`
    /// ` ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` with `maxDigits` 3 (Llama 3) or 1 (Qwen2).
    case llama3Family(maxDigits: Int)
    /// llama.cpp's fallback list: `[\p{P}\$\+<=>\^~\|]+`, then `gpt2`, then `\p{N}+`, then
    /// `[0-9][0-9][0-9]`.
    case fallback

    /// Splits `text` into word ranges (scalar indices), in order, covering all of it.
    func split(_ text: ScalarText) -> [Range<Int>] {
        let all = [0 ..< text.count]
        if text.count == 0 { return [] }
        switch self {
        case .gpt2:
            return Self.apply(all) { Self.scanGPT2(text, $0, into: &$1) }
        case .digitsThenGPT2:
            let pieces = Self.apply(all) { range, out in
                Self.isolateMatches(range, into: &out) { pos in
                    text.classes[pos].contains(.number) ? pos + 1 : nil
                }
            }
            return Self.apply(pieces) { Self.scanGPT2(text, $0, into: &$1) }
        case .llama3Family(let maxDigits):
            return Self.apply(all) { Self.scanLlama3(text, $0, maxDigits: maxDigits, into: &$1) }
        case .fallback:
            var pieces = Self.apply(all) { range, out in
                Self.isolateMatches(range, into: &out) { pos in
                    var end = pos
                    while end < range.upperBound && Self.isFallbackPunctuation(text, end) { end += 1 }
                    return end > pos ? end : nil
                }
            }
            pieces = Self.apply(pieces) { Self.scanGPT2(text, $0, into: &$1) }
            pieces = Self.apply(pieces) { range, out in
                Self.isolateMatches(range, into: &out) { pos in
                    var end = pos
                    while end < range.upperBound && text.classes[end].contains(.number) { end += 1 }
                    return end > pos ? end : nil
                }
            }
            return Self.apply(pieces) { range, out in
                Self.isolateMatches(range, into: &out) { pos in
                    guard pos + 3 <= range.upperBound else { return nil }
                    for k in pos ..< pos + 3 where !(0x30 ... 0x39).contains(text.scalars[k]) {
                        return nil
                    }
                    return pos + 3
                }
            }
        }
    }

    // MARK: - Plumbing

    /// Runs one split stage over every piece.
    private static func apply(_ pieces: [Range<Int>],
                              _ stage: (Range<Int>, inout [Range<Int>]) -> Void) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(pieces.count * 2)
        for piece in pieces where !piece.isEmpty { stage(piece, &out) }
        return out
    }

    /// The `std::regex_iterator` split llama.cpp uses for regexes it has no scanner for: find the
    /// leftmost match, emit the gap before it and the match, continue after the match.
    /// `match(pos)` returns the end of a match starting at `pos`, or nil.
    private static func isolateMatches(_ range: Range<Int>, into out: inout [Range<Int>],
                                       match: (Int) -> Int?) {
        var gapStart = range.lowerBound
        var pos = range.lowerBound
        while pos < range.upperBound {
            if let end = match(pos) {
                if pos > gapStart { out.append(gapStart ..< pos) }
                out.append(pos ..< end)
                pos = end
                gapStart = end
            } else {
                pos += 1
            }
        }
        if gapStart < range.upperBound { out.append(gapStart ..< range.upperBound) }
    }

    /// `[\p{P}\$\+<=>\^~\|]`: Unicode punctuation plus seven ASCII symbols. (A backtick is
    /// neither.)
    @inline(__always)
    private static func isFallbackPunctuation(_ text: ScalarText, _ pos: Int) -> Bool {
        let c = text.classes[pos]
        if c.contains(.whitespace) { return false }
        if c.contains(.punctuation) { return true }
        switch text.scalars[pos] {
        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true  // $ + < = > ^ ~ |
        default: return false
        }
    }

    // MARK: - GPT-2

    /// The GPT-2 regex as a scanner. At each position the first alternative that matches wins:
    /// a contraction, an optionally space-led run of letters, of numbers, or of other
    /// characters, then whitespace: a run followed by more text gives back its last character
    /// (`\s+(?!\S)`), so that character can lead the next word.
    private static func scanGPT2(_ text: ScalarText, _ range: Range<Int>,
                                 into out: inout [Range<Int>]) {
        let end = range.upperBound
        let scalars = text.scalars
        let classes = text.classes
        @inline(__always) func cls(_ i: Int) -> ScalarClass { i < end ? classes[i] : .none }

        var start = range.lowerBound
        var pos = start
        @inline(__always) func emit(_ newEnd: Int) {
            if newEnd > start { out.append(start ..< newEnd) }
            start = newEnd
            pos = newEnd
        }

        while pos < end {
            let c = scalars[pos]
            if c == 0x27, pos + 1 < end {  // '
                let n1 = scalars[pos + 1]
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {  // s t m d
                    emit(pos + 2); continue
                }
                if pos + 2 < end {
                    let n2 = scalars[pos + 2]
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65)
                        || (n1 == 0x6C && n2 == 0x6C) {  // re ve ll
                        emit(pos + 3); continue
                    }
                }
            }
            let lead = c == 0x20 ? 1 : 0
            let next = c == 0x20 ? cls(pos + 1) : classes[pos]
            if next.contains(.letter) {
                var p = pos + lead
                while cls(p).contains(.letter) { p += 1 }
                emit(p); continue
            }
            if next.contains(.number) {
                var p = pos + lead
                while cls(p).contains(.number) { p += 1 }
                emit(p); continue
            }
            if next.isOther {
                var p = pos + lead
                while cls(p).isOther { p += 1 }
                emit(p); continue
            }
            var spaces = 0
            while cls(pos + spaces).contains(.whitespace) { spaces += 1 }
            if spaces > 1 && pos + spaces < end {
                emit(pos + spaces - 1); continue
            }
            if spaces > 0 {
                emit(pos + spaces); continue
            }
            emit(pos + 1)  // unreachable for real scalars; keeps the loop finite
        }
    }

    // MARK: - Llama 3 / Qwen2

    /// The Llama 3 regex (and Qwen2's, which takes digits one at a time) as a scanner.
    /// Contractions match in any case; a letter run may be led by one character that is not a
    /// line break, letter or number; a punctuation run takes trailing line breaks; whitespace up
    /// to and including the last line break of a run is one word.
    private static func scanLlama3(_ text: ScalarText, _ range: Range<Int>, maxDigits: Int,
                                   into out: inout [Range<Int>]) {
        let end = range.upperBound
        let scalars = text.scalars
        let classes = text.classes
        @inline(__always) func cls(_ i: Int) -> ScalarClass { i < end ? classes[i] : .none }
        @inline(__always) func lower(_ v: UInt32) -> UInt32 {
            // Only ASCII capitals lower-case to the letters of the contractions.
            (0x41 ... 0x5A).contains(v) ? v + 0x20 : v
        }
        @inline(__always) func isLineBreak(_ v: UInt32) -> Bool { v == 0x0D || v == 0x0A }

        var start = range.lowerBound
        var pos = start
        @inline(__always) func emit(_ newEnd: Int) {
            if newEnd > start { out.append(start ..< newEnd) }
            start = newEnd
            pos = newEnd
        }

        while pos < end {
            let c = scalars[pos]
            let here = classes[pos]
            if c == 0x27, pos + 1 < end {  // '
                let n1 = lower(scalars[pos + 1])
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {  // s t m d
                    emit(pos + 2); continue
                }
                if pos + 2 < end {
                    let n2 = lower(scalars[pos + 2])
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65)
                        || (n1 == 0x6C && n2 == 0x6C) {  // re ve ll
                        emit(pos + 3); continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !isLineBreak(c) && !here.contains(.number) {
                if here.contains(.letter) || cls(pos + 1).contains(.letter) {
                    var p = pos + 1
                    while cls(p).contains(.letter) { p += 1 }
                    emit(p); continue
                }
            }
            // \p{N}{1,maxDigits}
            if here.contains(.number) {
                var p = pos
                while cls(p).contains(.number) && p - pos < maxDigits { p += 1 }
                emit(p); continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            let lead = c == 0x20 ? 1 : 0
            let next = c == 0x20 ? cls(pos + 1) : here
            if next.isDisjoint(with: .wordOrSpace) {
                var p = pos + lead
                while cls(p).isOther { p += 1 }
                while p < end && isLineBreak(scalars[p]) { p += 1 }
                emit(p); continue
            }
            // \s*[\r\n]+ | \s+(?!\S) | \s+
            var spaces = 0
            var afterLastBreak = -1
            while cls(pos + spaces).contains(.whitespace) {
                if isLineBreak(scalars[pos + spaces]) { afterLastBreak = pos + spaces + 1 }
                spaces += 1
            }
            if afterLastBreak >= 0 {
                emit(afterLastBreak); continue
            }
            if spaces > 1 && pos + spaces < end {
                emit(pos + spaces - 1); continue
            }
            if spaces > 0 {
                emit(pos + spaces); continue
            }
            emit(pos + 1)
        }
    }
}
