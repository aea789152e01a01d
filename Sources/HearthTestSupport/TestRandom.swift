/// A small, fast, seeded random number generator for tests: xoshiro256** seeded through
/// SplitMix64, as its authors recommend. The same seed gives the same stream on every machine
/// and Swift version, which `SystemRandomNumberGenerator` cannot promise, so generated models,
/// blocks and fuzz cases are reproducible from the seed printed in a failure.
public struct TestRandom: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var sm = SplitMix64(state: seed)
        s = (sm.next(), sm.next(), sm.next(), sm.next())
    }

    /// xoshiro256**: result = rotl(s1 * 5, 7) * 9, then the xorshift state update.
    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    /// A uniform Double in [0, 1) from the top 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform Float in `range` (computed in Double, then rounded).
    public mutating func float(in range: ClosedRange<Float>) -> Float {
        Float(Double(range.lowerBound) + unit() * Double(range.upperBound - range.lowerBound))
    }

    /// A standard normal sample (Box-Muller; one of the pair is discarded to keep no state).
    public mutating func normal() -> Double {
        let u1 = max(unit(), 0x1p-60), u2 = unit()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// `count` normal samples scaled by `scale`, as Float.
    public mutating func normals(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float(normal()) * scale }
    }

    /// An integer in `0..<bound` (bound > 0): the high word of bound * next(), written out here
    /// rather than taken from `Int.random(in:using:)` so no library change can alter the stream.
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "int(below:) needs a positive bound")
        return Int(UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    public mutating func bool() -> Bool { next() & 1 == 1 }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var v = next()
            for _ in 0..<8 where i < count { out[i] = UInt8(truncatingIfNeeded: v); v >>= 8; i += 1 }
        }
        return out
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014), used only to spread a seed over xoshiro's state.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

// The C library's log and cos. Integer and byte streams are exact everywhere; normal samples go
// through libm and could differ in the last bit between C libraries (not between runs).
#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) private func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
