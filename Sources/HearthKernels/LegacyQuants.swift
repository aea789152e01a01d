// The 32-element block formats of ggml: q4_0, q4_1, q5_0, q5_1, q8_0, and q8_1 (activations).
// Layouts (little-endian, packed), as ggml's block_xxx structs:
//   q4_0: d f16 | qs[16]             x = (nibble - 8) * d          low nibbles are elements 0..15
//   q4_1: d f16 | m f16 | qs[16]     x = nibble * d + m
//   q5_0: d f16 | qh u32 | qs[16]    x = (nibble | bit << 4) - 16) * d
//   q5_1: d f16 | m f16 | qh u32 | qs[16]
//   q8_0: d f16 | qs[32] i8          x = q * d
//   q8_1: d f16 | s f16 | qs[32] i8  s = d * sum(q), used by the q4_1/q5_1 dot products

enum LegacyQuants {
    static let qk = 32

    // MARK: dequantize

    static let dequantizeQ4_0: FormatTraits.Dequantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let p = src + b * 18, y = dst + b * qk
            let d = p.f16(at: 0)
            for j in 0..<16 {
                let q = p.u8(at: 2 + j)
                y[j] = Float(Int(q & 0x0f) - 8) * d
                y[j + 16] = Float(Int(q >> 4) - 8) * d
            }
        }
    }

    static let dequantizeQ4_1: FormatTraits.Dequantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let p = src + b * 20, y = dst + b * qk
            let d = p.f16(at: 0), m = p.f16(at: 2)
            for j in 0..<16 {
                let q = p.u8(at: 4 + j)
                y[j] = Float(q & 0x0f) * d + m
                y[j + 16] = Float(q >> 4) * d + m
            }
        }
    }

    static let dequantizeQ5_0: FormatTraits.Dequantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let p = src + b * 22, y = dst + b * qk
            let d = p.f16(at: 0)
            let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
            for j in 0..<16 {
                let q = p.u8(at: 6 + j)
                let h0 = Int((qh >> UInt32(j)) & 1) << 4, h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = Float((Int(q & 0x0f) | h0) - 16) * d
                y[j + 16] = Float((Int(q >> 4) | h1) - 16) * d
            }
        }
    }

    static let dequantizeQ5_1: FormatTraits.Dequantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let p = src + b * 24, y = dst + b * qk
            let d = p.f16(at: 0), m = p.f16(at: 2)
            let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            for j in 0..<16 {
                let q = p.u8(at: 8 + j)
                let h0 = Int((qh >> UInt32(j)) & 1) << 4, h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = Float(Int(q & 0x0f) | h0) * d + m
                y[j + 16] = Float(Int(q >> 4) | h1) * d + m
            }
        }
    }

    static let dequantizeQ8_0: FormatTraits.Dequantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let p = src + b * 34, y = dst + b * qk
            let d = p.f16(at: 0)
            for j in 0..<qk { y[j] = Float(p.i8(at: 2 + j)) * d }
        }
    }

    static let dequantizeQ8_1: FormatTraits.Dequantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let p = src + b * 36, y = dst + b * qk
            let d = p.f16(at: 0)
            for j in 0..<qk { y[j] = Float(p.i8(at: 4 + j)) * d }
        }
    }

    // MARK: quantize activations

    /// Scales one block of 32 floats to int8 the way ggml's x86 path does: id = 127 / amax,
    /// round half to even. Returns d (before its f16 rounding) and the sum of the quants.
    @inline(__always)
    static func quantizeBlock8(_ x: UnsafePointer<Float>, _ qs: UnsafeMutableRawPointer) -> (d: Float, sum: Int) {
        var amax: Float = 0
        for j in 0..<qk { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = amax != 0 ? 127 / amax : 0
        var sum = 0
        for j in 0..<qk {
            // Activations derive from file contents: an Inf or NaN among them (x * id is NaN
            // when x is Inf) must not trap in the Int8 conversion. Finite values already lie in
            // -127...127; NaN becomes 0.
            let v = (x[j] * id).rounded(.toNearestOrEven)
            let q = v.isNaN ? 0 : Int8(Swift.max(-127, Swift.min(127, v)))
            qs.storeBytes(of: q, toByteOffset: j, as: Int8.self)
            sum += Int(q)
        }
        return (d, sum)
    }

    static let quantizeQ8_0: FormatTraits.Quantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let p = dst + b * 34
            let (d, _) = quantizeBlock8(src + b * qk, p + 2)
            p.storeBytes(of: floatToHalf(d), toByteOffset: 0, as: UInt16.self)
        }
    }

    static let quantizeQ8_1: FormatTraits.Quantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let p = dst + b * 36
            let (d, sum) = quantizeBlock8(src + b * qk, p + 4)
            p.storeBytes(of: floatToHalf(d), toByteOffset: 0, as: UInt16.self)
            p.storeBytes(of: floatToHalf(d * Float(sum)), toByteOffset: 2, as: UInt16.self)
        }
    }

    // MARK: quantize weights (ggml's scalar references, quantize_row_xxx_ref)

    // Weights are quantized as llama-quantize and gguf-py do: the scalar reference of each
    // format, which rounds half away from zero (C's roundf), unlike the activation path above.
    // d and m are rounded to f16 when stored; the quants use the unrounded scale, as ggml does.

    /// q4_0: d = max / -8, where max is the (first) element of largest magnitude;
    /// q = min(15, trunc(x / d + 8.5)).
    static let quantizeWeightsQ4_0: FormatTraits.Quantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let x = src + b * qk, p = dst + b * 18
            let d = signedExtreme(x) / -8
            let id: Float = d != 0 ? 1 / d : 0
            p.storeBytes(of: floatToHalf(d), toByteOffset: 0, as: UInt16.self)
            storeQuants(p, qsAt: 2, qhAt: nil) { nibble(x[$0] * id + 8.5, max: 15) }
        }
    }

    /// q4_1: d = (max - min) / 15, m = min; q = min(15, trunc((x - min) / d + 0.5)).
    static let quantizeWeightsQ4_1: FormatTraits.Quantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let x = src + b * qk, p = dst + b * 20
            let (lo, hi) = range(x)
            let d = (hi - lo) / 15
            let id: Float = d != 0 ? 1 / d : 0
            p.storeBytes(of: floatToHalf(d), toByteOffset: 0, as: UInt16.self)
            p.storeBytes(of: floatToHalf(lo), toByteOffset: 2, as: UInt16.self)
            storeQuants(p, qsAt: 4, qhAt: nil) { nibble((x[$0] - lo) * id + 0.5, max: 15) }
        }
    }

    /// q5_0: d = max / -16; q = min(31, trunc(x / d + 16.5)); bit 4 of element j in qh bit j.
    static let quantizeWeightsQ5_0: FormatTraits.Quantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let x = src + b * qk, p = dst + b * 22
            let d = signedExtreme(x) / -16
            let id: Float = d != 0 ? 1 / d : 0
            p.storeBytes(of: floatToHalf(d), toByteOffset: 0, as: UInt16.self)
            storeQuants(p, qsAt: 6, qhAt: 2) { nibble(x[$0] * id + 16.5, max: 31) }
        }
    }

    /// q5_1: d = (max - min) / 31, m = min; q = min(31, trunc((x - min) / d + 0.5)).
    static let quantizeWeightsQ5_1: FormatTraits.Quantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let x = src + b * qk, p = dst + b * 24
            let (lo, hi) = range(x)
            let d = (hi - lo) / 31
            let id: Float = d != 0 ? 1 / d : 0
            p.storeBytes(of: floatToHalf(d), toByteOffset: 0, as: UInt16.self)
            p.storeBytes(of: floatToHalf(lo), toByteOffset: 2, as: UInt16.self)
            storeQuants(p, qsAt: 8, qhAt: 4) { nibble((x[$0] - lo) * id + 0.5, max: 31) }
        }
    }

    /// q8_0: d = amax / 127; q = roundf(x / d) (half away from zero).
    static let quantizeWeightsQ8_0: FormatTraits.Quantize = { src, dst, n in
        for b in 0..<(n / qk) {
            let x = src + b * qk, p = dst + b * 34
            var amax: Float = 0
            for j in 0..<qk { amax = max(amax, abs(x[j])) }
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            p.storeBytes(of: floatToHalf(d), toByteOffset: 0, as: UInt16.self)
            for j in 0..<qk {
                let q = Swift.max(-127, Swift.min(127, roundHalfAwayFromZero(x[j] * id)))
                p.storeBytes(of: Int8(truncatingIfNeeded: q), toByteOffset: 2 + j, as: Int8.self)
            }
        }
    }

    /// C's roundf (half away from zero) as an integer, without a libm call or a trap: rint by
    /// the 1.5 * 2^23 trick (exact below 2^22), ties then moved away from zero. NaN gives 0;
    /// larger values give garbage that the caller clamps.
    @inline(__always)
    static func roundHalfAwayFromZero(_ v: Float) -> Int32 {
        let even = (v + 12_582_912) - 12_582_912
        let away = abs(v - even) == 0.5 ? v + (v < 0 ? -0.5 : 0.5) : even
        return Int32(bitPattern: (away + 12_582_912).bitPattern & 0x007f_ffff) - 0x0040_0000
    }

    /// Stores a block's 32 quants (`q(j)` for element j) as the 4- and 5-bit formats lay them
    /// out: the low nibble of element j in byte `qsAt + j % 16` (the low half for j < 16, the
    /// high half after); with `qhAt`, the fifth bit of element j in bit j of the u32 there.
    @inline(__always)
    static func storeQuants(_ p: UnsafeMutableRawPointer, qsAt: Int, qhAt: Int?, _ q: (Int) -> UInt8) {
        var qh: UInt32 = 0
        for j in 0..<16 {
            let q0 = q(j), q1 = q(j + 16)
            p.storeBytes(of: (q0 & 0x0f) | ((q1 & 0x0f) << 4), toByteOffset: qsAt + j, as: UInt8.self)
            qh |= UInt32(q0 >> 4) << UInt32(j) | UInt32(q1 >> 4) << UInt32(j + 16)
        }
        if let qhAt { p.storeBytes(of: qh, toByteOffset: qhAt, as: UInt32.self) }
    }

    /// The first element of largest magnitude of a block, with its sign.
    @inline(__always)
    static func signedExtreme(_ x: UnsafePointer<Float>) -> Float {
        var amax: Float = 0, maxv: Float = 0
        for j in 0..<qk where amax < abs(x[j]) { amax = abs(x[j]); maxv = x[j] }
        return maxv
    }

    /// The smallest and largest of a block.
    @inline(__always)
    static func range(_ x: UnsafePointer<Float>) -> (Float, Float) {
        var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
        for j in 0..<qk { lo = min(lo, x[j]); hi = max(hi, x[j]) }
        return (lo, hi)
    }

    /// C's `MIN(max, (int8_t)(v))`: truncation toward zero, clamped (NaN and negatives, which
    /// only non-finite input makes, give 0). Selects rather than branches, so that the loops
    /// calling it vectorize.
    @inline(__always)
    static func nibble(_ v: Float, max: UInt8) -> UInt8 {
        let clamped = v > 0 ? Swift.min(v, Float(max)) : 0
        return UInt8(clamped)
    }

    // MARK: dot products against 8-bit activations

    /// sum over j < 16 of lo(q[j]) * a[j] + hi(q[j]) * a[j + 16], with 4-bit q and int8 a.
    /// Written as a plain fixed-length loop, which LLVM vectorizes; Swift's generic SIMD
    /// conversions were left as calls.
    @inline(__always)
    static func nibbleDot(_ q: UnsafeRawPointer, _ a: UnsafeRawPointer, offset: Int) -> Int32 {
        let qb = q.assumingMemoryBound(to: UInt8.self), ab = a.assumingMemoryBound(to: Int8.self)
        let off = Int32(offset)
        var sum: Int32 = 0
        for j in 0..<16 {
            let v = qb[j]
            sum &+= (Int32(v & 0x0f) &- off) &* Int32(ab[j]) &+ (Int32(v >> 4) &- off) &* Int32(ab[j + 16])
        }
        return sum
    }

    /// Like `nibbleDot` with a fifth bit per element taken from `qh` (bit j is element j).
    @inline(__always)
    static func fiveBitDot(_ q: UnsafeRawPointer, _ qh: UInt32, _ a: UnsafeRawPointer, offset: Int) -> Int32 {
        var sum: Int32 = 0
        for j in 0..<16 {
            let v = q.u8(at: j)
            let x0 = Int32(Int(v & 0x0f) | Int((qh >> UInt32(j)) & 1) << 4) - Int32(offset)
            let x1 = Int32(Int(v >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4) - Int32(offset)
            sum &+= x0 * Int32(a.i8(at: j)) + x1 * Int32(a.i8(at: j + 16))
        }
        return sum
    }

    static let dotQ4_0: FormatTraits.Dot = { x, y, n in
        var s: Float = 0
        for b in 0..<(n / qk) {
            let px = x + b * 18, py = y + b * 34
            s += px.f16(at: 0) * py.f16(at: 0) * Float(nibbleDot(px + 2, py + 2, offset: 8))
        }
        return s
    }

    static let dotQ4_1: FormatTraits.Dot = { x, y, n in
        var s: Float = 0, mins: Float = 0
        for b in 0..<(n / qk) {
            let px = x + b * 20, py = y + b * 36
            s += px.f16(at: 0) * py.f16(at: 0) * Float(nibbleDot(px + 4, py + 4, offset: 0))
            mins += px.f16(at: 2) * py.f16(at: 2)
        }
        return s + mins
    }

    static let dotQ5_0: FormatTraits.Dot = { x, y, n in
        var s: Float = 0
        for b in 0..<(n / qk) {
            let px = x + b * 22, py = y + b * 34
            let qh = px.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
            s += px.f16(at: 0) * py.f16(at: 0) * Float(fiveBitDot(px + 6, qh, py + 2, offset: 16))
        }
        return s
    }

    static let dotQ5_1: FormatTraits.Dot = { x, y, n in
        var s: Float = 0, mins: Float = 0
        for b in 0..<(n / qk) {
            let px = x + b * 24, py = y + b * 36
            let qh = px.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            s += px.f16(at: 0) * py.f16(at: 0) * Float(fiveBitDot(px + 8, qh, py + 4, offset: 0))
            mins += px.f16(at: 2) * py.f16(at: 2)
        }
        return s + mins
    }

    @inline(__always)
    static func int8Dot32(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Int32 {
        let x = a.assumingMemoryBound(to: Int8.self), y = b.assumingMemoryBound(to: Int8.self)
        var sum: Int32 = 0
        for j in 0..<32 { sum &+= Int32(x[j]) &* Int32(y[j]) }
        return sum
    }

    static let dotQ8_0: FormatTraits.Dot = { x, y, n in
        var s: Float = 0
        for b in 0..<(n / qk) {
            let px = x + b * 34, py = y + b * 34
            s += px.f16(at: 0) * py.f16(at: 0) * Float(int8Dot32(px + 2, py + 2))
        }
        return s
    }

    static let dotQ8_1: FormatTraits.Dot = { x, y, n in
        var s: Float = 0
        for b in 0..<(n / qk) {
            let px = x + b * 36, py = y + b * 36
            s += px.f16(at: 0) * py.f16(at: 0) * Float(int8Dot32(px + 4, py + 4))
        }
        return s
    }
}
