import Foundation

/// GPT-2's reversible map from bytes to printable characters, so every byte string is a string
/// of visible characters: the 188 bytes that are already printable Latin-1 (`!`..`~`, `¡`..`¬`,
/// `®`..`ÿ`) map to themselves, the other 68 to U+0100, U+0101, ... in byte order (space 0x20
/// becomes `Ġ` U+0120, newline `Ċ` U+010A).
enum ByteLevel {
    /// `scalar[b]` is the character standing for byte `b`.
    static let scalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0 ..< 256 {
            if (0x21 ... 0x7E).contains(b) || (0xA1 ... 0xAC).contains(b) || (0xAE ... 0xFF).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The UTF-8 bytes of `scalar[b]`, for building byte-level strings quickly.
    static let utf8: [[UInt8]] = scalar.map { value in
        var out: [UInt8] = []
        appendUTF8(value, to: &out)
        return out
    }

    /// The byte a character stands for, or nil if it is not one of the 256.
    static func byte(for value: UInt32) -> UInt8? {
        value < UInt32(inverse.count) ? (inverse[Int(value)] >= 0 ? UInt8(inverse[Int(value)]) : nil) : nil
    }

    private static let inverse: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, v) in scalar.enumerated() { table[Int(v)] = Int16(b) }
        return table
    }()
}

/// Byte-level BPE as llama.cpp runs it (`llm_tokenizer_bpe_session`): each pre-tokenized word is
/// turned into its byte-level characters, then the adjacent pair with the best (lowest) merge
/// rank is merged, the leftmost first among equal ranks, until no pair has a rank.
///
/// Symbols are token ids rather than strings: every merge's parts and result are checked to be
/// tokens when the table is built, so merging ids is the same as merging texts and looking the
/// result up. Results are cached per word, since text repeats its words.
final class BytePairEncoder: @unchecked Sendable {
    private let texts: ByteStringTable
    /// `(left << 32 | right)` to `(rank << 32 | merged id)`.
    private let merges: [UInt64: UInt64]
    /// The id of the byte-level character of each byte, or -1 when the vocabulary lacks it.
    private let byteSymbol: [Int32]
    /// Llama 3's `ignore_merges`: a word that is itself a token is taken whole.
    private let wholeWordsFirst: Bool

    private let cacheLock = NSLock()
    private var cache: [[UInt8]: [Int32]] = [:]
    private static let cacheLimit = 100_000
    private static let longestCachedWord = 256

    /// Builds the merge table; throws if a merge is malformed or names a text that is not a token.
    init(texts: ByteStringTable, merges mergeRules: [String], wholeWordsFirst: Bool) throws(TokenizerError) {
        self.texts = texts
        self.wholeWordsFirst = wholeWordsFirst
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(mergeRules.count)
        for (rank, rule) in mergeRules.enumerated() {
            let bytes = Array(rule.utf8)
            // llama.cpp splits at the first space after the first byte.
            guard bytes.count > 1, let space = bytes[1...].firstIndex(of: 0x20) else {
                throw .invalid("merge #\(rank) \(quoted(rule)) is not two tokens separated by a space")
            }
            let left = Array(bytes[..<space]), right = Array(bytes[(space + 1)...])
            guard let l = texts.value(for: left) else {
                throw .invalid("merge #\(rank) \(quoted(rule)) names \(quoted(String(decoding: left, as: UTF8.self))), which is not a token")
            }
            guard let r = texts.value(for: right) else {
                throw .invalid("merge #\(rank) \(quoted(rule)) names \(quoted(String(decoding: right, as: UTF8.self))), which is not a token")
            }
            guard let merged = texts.value(for: left + right) else {
                throw .invalid("merge #\(rank) \(quoted(rule)) makes \(quoted(String(decoding: left + right, as: UTF8.self))), which is not a token")
            }
            let key = UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))
            // A repeated rule keeps its first (best) rank, as std::unordered_map::emplace does.
            if table[key] == nil {
                table[key] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
            }
        }
        merges = table
        byteSymbol = ByteLevel.utf8.map { texts.value(for: $0) ?? -1 }
    }

    /// Appends the ids of one word, given as its raw UTF-8 bytes.
    func encode(word: ArraySlice<UInt8>, into output: inout [Int32]) {
        if word.isEmpty { return }
        let key = Array(word)
        // Long words (a run of spaces, a base64 blob) are rare repeats and would bloat the cache.
        if key.count > Self.longestCachedWord {
            output.append(contentsOf: encodeUncached(key))
            return
        }
        cacheLock.lock()
        let cached = cache[key]
        cacheLock.unlock()
        if let cached {
            output.append(contentsOf: cached)
            return
        }
        let ids = encodeUncached(key)
        cacheLock.lock()
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[key] = ids
        cacheLock.unlock()
        output.append(contentsOf: ids)
    }

    private func encodeUncached(_ word: [UInt8]) -> [Int32] {
        if wholeWordsFirst {
            var encoded: [UInt8] = []
            encoded.reserveCapacity(word.count * 2)
            for b in word { encoded.append(contentsOf: ByteLevel.utf8[Int(b)]) }
            if let id = texts.value(for: encoded) { return [id] }
        }
        var symbols = word.map { byteSymbol[Int($0)] }
        if symbols.count > 1 { mergePairs(&symbols) }
        var result: [Int32] = []
        result.reserveCapacity(symbols.count)
        for (i, id) in symbols.enumerated() {
            if id >= 0 {
                result.append(id)
            } else {
                // The byte-level character is not a token: llama.cpp then looks up each byte
                // of its UTF-8 form as a one-byte token, which normally finds nothing.
                for b in ByteLevel.utf8[Int(word[i])] {
                    if let single = texts.value(for: [b]) { result.append(single) }
                }
            }
        }
        return result
    }

    /// Merges in place until no adjacent pair has a rank; merged-away entries are removed.
    /// A binary heap ordered by (rank, left position) with lazy deletion keeps long words linear
    /// in practice; an entry is stale when either side has changed since it was pushed.
    private func mergePairs(_ symbols: inout [Int32]) {
        let n = symbols.count
        var next = Array(1 ... n)  // n means "none"
        next[n - 1] = -1
        var prev = Array(-1 ..< n - 1)
        var heap = BinaryHeap<PairCandidate>()

        func push(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let a = symbols[left], b = symbols[right]
            guard a >= 0, b >= 0 else { return }
            let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
            guard let found = merges[key] else { return }
            heap.push(.init(rank: Int32(truncatingIfNeeded: found >> 32), left: Int32(left),
                            right: Int32(right), leftID: a, rightID: b,
                            merged: Int32(truncatingIfNeeded: found & 0xFFFF_FFFF)))
        }

        for i in 0 ..< n - 1 { push(i, i + 1) }
        var removed = [Bool](repeating: false, count: n)
        while let pair = heap.pop() {
            let l = Int(pair.left), r = Int(pair.right)
            guard !removed[l], !removed[r], next[l] == r,
                  symbols[l] == pair.leftID, symbols[r] == pair.rightID else { continue }
            symbols[l] = pair.merged
            removed[r] = true
            next[l] = next[r]
            if next[r] >= 0 { prev[next[r]] = l }
            push(prev[l], l)
            push(l, next[l])
        }
        var compact: [Int32] = []
        compact.reserveCapacity(n)
        for i in 0 ..< n where !removed[i] { compact.append(symbols[i]) }
        symbols = compact
    }
}

/// A candidate merge; the lowest rank comes out of the heap first, then the leftmost.
private struct PairCandidate: HeapOrdered {
    var rank: Int32
    var left: Int32
    var right: Int32
    var leftID: Int32
    var rightID: Int32
    var merged: Int32

    @inline(__always) static func before(_ a: PairCandidate, _ b: PairCandidate) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.left < b.left
    }
}

