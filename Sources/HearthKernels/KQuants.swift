// The 256-element "K" block formats of ggml. Layouts (packed, little-endian), as ggml's structs:
//   q2_K: scales[16] (lo 4 bits scale, hi 4 bits min) | qs[64] (2-bit) | d f16 | dmin f16      = 84
//   q3_K: hmask[32] (high bit) | qs[64] (low 2 bits) | scales[12] (16 x 6-bit) | d f16          = 110
//   q4_K: d f16 | dmin f16 | scales[12] (8 x 6-bit scale, 8 x 6-bit min) | qs[128] (4-bit)     = 144
//   q5_K: d f16 | dmin f16 | scales[12] | qh[32] (fifth bit) | qs[128]                          = 176
//   q6_K: ql[128] (low 4 bits) | qh[64] (high 2 bits) | scales[16] i8 | d f16                   = 210
//   q8_K: d f32 | qs[256] i8 | bsums[16] i16 (sums of each 16 quants)                           = 292
//
// Every K format is decoded here into one common shape, `KBlock`: 256 integer quants, a signed
// integer scale and an unsigned integer min for each group of 16 elements, and the float
// super-scales d and dmin, so that   x[i] = d * scale[i/16] * q[i] - dmin * min[i/16].
// Dequantization and the dot product against q8_K activations are then written once:
//   dot = d_y * (d * sum_g scale[g] * sum_{i in g} q[i] * a[i]  -  dmin * sum_g min[g] * bsum[g])

let qkK = 256

struct KBlock {
    let q: UnsafeMutablePointer<Int8>         // (256)
    let scale: UnsafeMutablePointer<Int32>    // (16)
    let min: UnsafeMutablePointer<Int32>      // (16)
    var d: Float = 0
    var dmin: Float = 0

    /// Runs `body` with a block whose storage is on the stack: the dot product runs once per
    /// weight row and token, so it must not allocate.
    static func withScratch<R>(_ body: (inout KBlock) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { q in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { s in
                var k = KBlock(q: q.baseAddress!, scale: s.baseAddress!, min: s.baseAddress! + 16)
                return body(&k)
            }
        }
    }
}

enum KQuants {
    /// The 6-bit scale and min of sub-block j (0..<8) of q4_K and q5_K, packed in 12 bytes.
    @inline(__always)
    static func scaleMin6(_ j: Int, _ s: UnsafeRawPointer) -> (Int32, Int32) {
        if j < 4 {
            return (Int32(s.u8(at: j) & 63), Int32(s.u8(at: j + 4) & 63))
        }
        let sc = (s.u8(at: j + 4) & 0x0f) | ((s.u8(at: j - 4) >> 6) << 4)
        let m = (s.u8(at: j + 4) >> 4) | ((s.u8(at: j) >> 6) << 4)
        return (Int32(sc), Int32(m))
    }

    static func decodeQ2_K(_ p: UnsafeRawPointer, _ k: inout KBlock) {
        k.d = p.f16(at: 80); k.dmin = p.f16(at: 82)
        for g in 0..<16 {
            let s = p.u8(at: g)
            k.scale[g] = Int32(s & 0x0f); k.min[g] = Int32(s >> 4)
        }
        // Element i = 128 * half + 32 * j + l (l < 32) sits in byte qs[32 * half + l], bits 2j.
        for half in 0..<2 {
            for j in 0..<4 {
                for l in 0..<32 {
                    let b = p.u8(at: 16 + 32 * half + l)
                    k.q[128 * half + 32 * j + l] = Int8((b >> UInt8(2 * j)) & 3)
                }
            }
        }
    }

    /// The signed scale of sub-block g (0..<16) of q3_K, from its 12 scale bytes: 6 bits, the
    /// low 4 in bytes 0..7 (two per byte), the high 2 in bytes 8..11, offset by 32.
    @inline(__always)
    static func scaleQ3_K(_ g: Int, _ s: UnsafeRawPointer) -> Int32 {
        let low = g < 8 ? s.u8(at: g) & 0x0f : s.u8(at: g - 8) >> 4
        let high = (s.u8(at: 8 + g % 4) >> UInt8(2 * (g / 4))) & 3
        return Int32(low | (high << 4)) - 32
    }

    static func decodeQ3_K(_ p: UnsafeRawPointer, _ k: inout KBlock) {
        k.d = p.f16(at: 108); k.dmin = 0
        for g in 0..<16 {
            k.scale[g] = scaleQ3_K(g, p + 96)
            k.min[g] = 0
        }
        // Element i = 128 * half + 32 * j + l: low bits in qs[32 * half + l] >> 2j, high bit in
        // hmask[l] bit (4 * half + j); a clear high bit means "subtract 4".
        for half in 0..<2 {
            for j in 0..<4 {
                for l in 0..<32 {
                    let low = Int8((p.u8(at: 32 + 32 * half + l) >> UInt8(2 * j)) & 3)
                    let hbit = (p.u8(at: l) >> UInt8(4 * half + j)) & 1
                    k.q[128 * half + 32 * j + l] = low - (hbit == 0 ? 4 : 0)
                }
            }
        }
    }

    /// d, dmin and the eight 6-bit scale/min pairs (one per 32 elements) that start q4_K and
    /// q5_K blocks, spread over the 16 groups of 16.
    static func decodeHeader6(_ p: UnsafeRawPointer, _ k: inout KBlock) {
        k.d = p.f16(at: 0); k.dmin = p.f16(at: 2)
        for j in 0..<8 {
            let (sc, m) = scaleMin6(j, p + 4)
            k.scale[2 * j] = sc; k.scale[2 * j + 1] = sc
            k.min[2 * j] = m; k.min[2 * j + 1] = m
        }
    }

    static func decodeQ4_K(_ p: UnsafeRawPointer, _ k: inout KBlock) {
        decodeHeader6(p, &k)
        // 64 elements per 32 bytes: low nibbles first, then high nibbles.
        for c in 0..<4 {
            for l in 0..<32 {
                let b = p.u8(at: 16 + 32 * c + l)
                k.q[64 * c + l] = Int8(b & 0x0f)
                k.q[64 * c + 32 + l] = Int8(b >> 4)
            }
        }
    }

    static func decodeQ5_K(_ p: UnsafeRawPointer, _ k: inout KBlock) {
        decodeHeader6(p, &k)
        for c in 0..<4 {
            for l in 0..<32 {
                let b = p.u8(at: 48 + 32 * c + l), h = p.u8(at: 16 + l)
                k.q[64 * c + l] = Int8(b & 0x0f) + (((h >> UInt8(2 * c)) & 1) == 1 ? 16 : 0)
                k.q[64 * c + 32 + l] = Int8(b >> 4) + (((h >> UInt8(2 * c + 1)) & 1) == 1 ? 16 : 0)
            }
        }
    }

    static func decodeQ6_K(_ p: UnsafeRawPointer, _ k: inout KBlock) {
        k.d = p.f16(at: 208); k.dmin = 0
        for g in 0..<16 { k.scale[g] = Int32(p.i8(at: 192 + g)); k.min[g] = 0 }
        // Per half of 128: ql 64 bytes, qh 32 bytes. Element 32m + l (m < 4, l < 32) takes its
        // low nibble from ql[l + 32 (m & 1)] (high nibble when m >= 2) and bits 2m of qh[l].
        for half in 0..<2 {
            let ql = p + 64 * half, qh = p + 128 + 32 * half
            for l in 0..<32 {
                let h = qh.u8(at: l)
                let a = ql.u8(at: l), b = ql.u8(at: l + 32)
                k.q[128 * half + l] = Int8(Int((a & 0x0f) | ((h & 3) << 4)) - 32)
                k.q[128 * half + 32 + l] = Int8(Int((b & 0x0f) | (((h >> 2) & 3) << 4)) - 32)
                k.q[128 * half + 64 + l] = Int8(Int((a >> 4) | (((h >> 4) & 3) << 4)) - 32)
                k.q[128 * half + 96 + l] = Int8(Int((b >> 4) | (((h >> 6) & 3) << 4)) - 32)
            }
        }
    }

    static func decodeQ8_K(_ p: UnsafeRawPointer, _ k: inout KBlock) {
        k.d = p.loadUnaligned(as: Float.self); k.dmin = 0
        for g in 0..<16 { k.scale[g] = 1; k.min[g] = 0 }
        for i in 0..<256 { k.q[i] = p.i8(at: 4 + i) }
    }

    static func dequantizer(_ decode: @escaping @Sendable (UnsafeRawPointer, inout KBlock) -> Void, bytes: Int) -> FormatTraits.Dequantize {
        return { src, dst, n in
            KBlock.withScratch { k in
                for b in 0..<(n / qkK) {
                    decode(src + b * bytes, &k)
                    let y = dst + b * qkK
                    for i in 0..<qkK {
                        let g = i / 16
                        y[i] = k.d * Float(k.scale[g]) * Float(k.q[i]) - k.dmin * Float(k.min[g])
                    }
                }
            }
        }
    }

    static func dotter(_ decode: @escaping @Sendable (UnsafeRawPointer, inout KBlock) -> Void, bytes: Int) -> FormatTraits.Dot {
        return { x, y, n in
            KBlock.withScratch { k in
                var s: Float = 0
                for b in 0..<(n / qkK) {
                    decode(x + b * bytes, &k)
                    let py = y + b * 292
                    let dy = py.loadUnaligned(as: Float.self)
                    let a = (py + 4).assumingMemoryBound(to: Int8.self)
                    var sumi: Int32 = 0, summ: Int32 = 0
                    for g in 0..<16 {
                        var dot: Int32 = 0
                        for l in 0..<16 { dot &+= Int32(k.q[16 * g + l]) &* Int32(a[16 * g + l]) }
                        sumi &+= k.scale[g] &* dot
                        summ &+= k.min[g] &* Int32(py.loadUnaligned(fromByteOffset: 260 + 2 * g, as: Int16.self))
                    }
                    s += dy * (k.d * Float(sumi) - k.dmin * Float(summ))
                }
                return s
            }
        }
    }

    static let dequantizeQ2_K = dequantizer(decodeQ2_K, bytes: 84)
    static let dequantizeQ3_K = dequantizer(decodeQ3_K, bytes: 110)
    static let dequantizeQ4_K = dequantizer(decodeQ4_K, bytes: 144)
    static let dequantizeQ5_K = dequantizer(decodeQ5_K, bytes: 176)
    static let dequantizeQ6_K = dequantizer(decodeQ6_K, bytes: 210)
    static let dequantizeQ8_K = dequantizer(decodeQ8_K, bytes: 292)
    static let dotQ2_K = dotter(decodeQ2_K, bytes: 84)
    static let dotQ3_K = dotter(decodeQ3_K, bytes: 110)
    static let dotQ4_K = dotter(decodeQ4_K, bytes: 144)
    static let dotQ5_K = dotter(decodeQ5_K, bytes: 176)
    static let dotQ6_K = dotter(decodeQ6_K, bytes: 210)
    static let dotQ8_K = dotter(decodeQ8_K, bytes: 292)

    /// q8_K as ggml's reference: the element of largest magnitude maps to -127 (its sign kept
    /// in d), quants rounded to nearest, and the sums of each 16 quants stored beside them.
    static let quantizeQ8_K: FormatTraits.Quantize = { src, dst, n in
        for b in 0..<(n / qkK) {
            let x = src + b * qkK, p = dst + b * 292
            var amax: Float = 0, maxv: Float = 0
            for i in 0..<qkK where abs(x[i]) > amax { amax = abs(x[i]); maxv = x[i] }
            if amax == 0 {
                p.initializeMemory(as: UInt8.self, repeating: 0, count: 292)
                continue
            }
            let iscale = -127 / maxv
            // A non-finite scale (an infinite or NaN input, or a max so small that 127/max
            // overflows) gives an all-zero block rather than a trap in the Int8 conversion.
            if !iscale.isFinite || iscale == 0 {
                p.initializeMemory(as: UInt8.self, repeating: 0, count: 292)
                continue
            }
            for g in 0..<16 {
                var sum: Int16 = 0
                for l in 0..<16 {
                    let r = (iscale * x[16 * g + l]).rounded(.toNearestOrEven)
                    let v = r.isNaN ? 0 : Int8(Swift.max(-127, Swift.min(127, r)))
                    p.storeBytes(of: v, toByteOffset: 4 + 16 * g + l, as: Int8.self)
                    sum += Int16(v)
                }
                p.storeBytes(of: sum, toByteOffset: 260 + 2 * g, as: Int16.self)
            }
            p.storeBytes(of: 1 / iscale, toByteOffset: 0, as: Float.self)
        }
    }
}
