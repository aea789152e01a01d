/// Maps byte strings (token texts as UTF-8) to token ids.
///
/// Why not `[String: Int32]`: Swift compares and hashes `String` by canonical equivalence, so
/// `"é"` (U+00E9) and `"e\u{301}"` would be one key, while a vocabulary holds them as two tokens
/// (llama.cpp keys by raw bytes). Keys here are raw bytes, and a lookup takes any byte range
/// without copying it, which the SentencePiece merge loop does for every adjacent pair.
///
/// Open addressing with linear probing over a power-of-two table of ids; FNV-1a hash.
/// The keys themselves live in a `ByteStrings`, which the tokenizer also uses as its token texts.
final class ByteStringTable: @unchecked Sendable {
    /// The keys; a key's value is its index.
    let keys: ByteStrings
    // Immutable after init; owned and freed in deinit.
    private let slots: UnsafeMutableBufferPointer<Int32>    // key index + 1; 0 is empty
    private let mask: Int
    /// Length in bytes of the longest key.
    let maxKeyLength: Int

    /// The keys that appeared twice, as (first index, second index), when building.
    private(set) var duplicate: (Int, Int)?

    /// Builds a table mapping each key to its index. A key that appears twice is recorded in
    /// `duplicate` (the first occurrence wins).
    init(keys: ByteStrings) {
        self.keys = keys
        var capacity = 16
        while capacity < keys.count * 2 { capacity <<= 1 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0)
        mask = capacity - 1
        maxKeyLength = (0 ..< keys.count).reduce(0) { max($0, keys.length($1)) }
        keys.bytes.withUnsafeBufferPointer { all in
            for i in 0 ..< keys.count {
                let key = UnsafeBufferPointer(rebasing: all[Int(keys.starts[i]) ..< Int(keys.starts[i + 1])])
                var slot = Self.hash(key) & mask
                while true {
                    let occupant = Int(slots[slot])
                    if occupant == 0 {
                        slots[slot] = Int32(i + 1)
                        break
                    }
                    if equal(keyAt: occupant - 1, key) {
                        if duplicate == nil { duplicate = (occupant - 1, i) }
                        break
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    deinit { slots.deallocate() }

    /// The value stored for `key`, or nil.
    @inline(__always)
    func value(for key: UnsafeBufferPointer<UInt8>) -> Int32? {
        if key.count > maxKeyLength { return nil }
        var slot = Self.hash(key) & mask
        while true {
            let occupant = Int(slots[slot])
            if occupant == 0 { return nil }
            if equal(keyAt: occupant - 1, key) { return Int32(occupant - 1) }
            slot = (slot + 1) & mask
        }
    }

    /// The value stored for `key`, or nil.
    func value(for key: [UInt8]) -> Int32? {
        key.withUnsafeBufferPointer { value(for: $0) }
    }

    /// The value stored for `key`, or nil.
    func value(for key: ArraySlice<UInt8>) -> Int32? {
        key.withUnsafeBufferPointer { value(for: $0) }
    }

    @inline(__always)
    private func equal(keyAt index: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(keys.starts[index])
        let count = Int(keys.starts[index + 1]) - start
        if count != key.count { return false }
        guard count > 0, let base = key.baseAddress else { return true }
        return keys.bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + start, base, count) == 0 }
    }

    @inline(__always)
    private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        // Fold the high bits in: the table index uses only the low ones.
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#elseif canImport(Musl)
import Musl
#endif
