// Weight quantizers of the K formats q2_K, q3_K, q4_K, q5_K and q6_K, as ggml's scalar references
// (quantize_row_q2_K_ref, ..., quantize_row_q6_K_ref in ggml-quants.c, which llama-quantize
// runs when it has no importance matrix): each sub-block's scale (and min) is searched for
// the least weighted squared error, then the scales themselves are quantized to 6 or 8 bits
// under an f16 super-scale. The layouts are in KQuants.swift.

extension KQuants {
    /// ggml's `nearest_int`: adding 1.5 * 2^23 leaves x rounded half to even (the FPU's
    /// rounding) in the low mantissa bits, with no call to libm's rint. For |x| < 2^22, as in
    /// ggml; a NaN, infinite or larger value (a file with non-finite weights) gives 0, not a
    /// trap, and the callers clamp what they store.
    @inline(__always)
    static func nearestInt(_ x: Float) -> Int32 {
        guard abs(x) < 4_194_303 else { return 0 }
        return Int32(bitPattern: (x + 12_582_912).bitPattern & 0x007f_ffff) - 0x0040_0000
    }

    /// The ±nmax quantization of `n` values with the scale searched around -nmax / max
    /// (ggml's `make_qx_quants`, weights x² for rmse type 1): L gets q + nmax in [0, 2 nmax).
    static func makeQXQuants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
        var maxv: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax { amax = abs(x[i]); maxv = x[i] }
        if amax < 1e-15 {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        func quants(_ iscale: Float, store: Bool) -> (Float, Float) {
            var sumlx: Float = 0, suml2: Float = 0
            for i in 0..<n {
                let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
                if store { L[i] = Int8(l + nmax) }
                // (w * l) * l, in ggml's order: the roundings must be the same.
                let w = x[i] * x[i]
                sumlx += w * x[i] * Float(l)
                suml2 += w * Float(l) * Float(l)
            }
            return (sumlx, suml2)
        }
        var iscale = -Float(nmax) / maxv
        var (sumlx, suml2) = quants(iscale, store: true)
        var scale = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + 0.1 * Float(step)) / maxv
            (sumlx, suml2) = quants(iscale, store: false)
            if suml2 > 0 && sumlx * sumlx > best * suml2 {
                _ = quants(iscale, store: true)
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

    /// The [0, nmax] quantization of `n` values with a scale and a min, searched over `nstep`
    /// steps of the scale (ggml's `make_qkx2_quants`; the error is squared, or absolute with
    /// `absoluteError`): returns (scale, -min).
    static func makeQKX2Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                               _ L: UnsafeMutablePointer<UInt8>, _ Laux: UnsafeMutablePointer<UInt8>,
                               rmin: Float, rdelta: Float, nstep: Int, absoluteError: Bool = false) -> (scale: Float, min: Float) {
        @inline(__always) func cost(_ diff: Float) -> Float { absoluteError ? abs(diff) : diff * diff }
        var minv = x[0], maxv = x[0]
        var sumW = weights[0], sumX = sumW * x[0]
        for i in 1..<n {
            minv = Swift.min(minv, x[i]); maxv = Swift.max(maxv, x[i])
            sumW += weights[i]; sumX += weights[i] * x[i]
        }
        if minv > 0 { minv = 0 }
        if maxv == minv {
            for i in 0..<n { L[i] = 0 }
            return (0, -minv)
        }
        var iscale = Float(nmax) / (maxv - minv)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - minv))))
            L[i] = UInt8(l)
            bestError += weights[i] * cost(scale * Float(l) + minv - x[i])
        }
        for step in 0...nstep {
            iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (maxv - minv)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - minv))))
                Laux[i] = UInt8(l)
                let w = weights[i]
                sumL += w * Float(l); sumL2 += w * Float(l) * Float(l); sumXL += w * Float(l) * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            guard D > 0 else { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / D
            var thisMin = (sumL2 * sumX - sumL * sumXL) / D
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var error: Float = 0
            for i in 0..<n {
                error += weights[i] * cost(thisScale * Float(Laux[i]) + thisMin - x[i])
            }
            if error < bestError {
                for i in 0..<n { L[i] = Laux[i] }
                bestError = error
                scale = thisScale
                minv = thisMin
            }
        }
        return (scale, -minv)
    }

    /// The ±nmax quantization of `n` values for q3_K (ggml's `make_q3_quants` with rmse): a
    /// first rounding at -nmax / max, then up to 5 passes that move single quants while the
    /// x²-weighted fit improves. L gets q + nmax in [0, 2 nmax).
    static func makeQ3Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
        var maxv: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax { amax = abs(x[i]); maxv = x[i] }
        if amax < 1e-15 {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let iscale = -Float(nmax) / maxv
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
            L[i] = Int8(l)
            let w = x[i] * x[i]
            sumlx += w * x[i] * Float(l)
            suml2 += w * Float(l) * Float(l)
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = x[i] * x[i], li = Float(L[i])
                var slx = sumlx - w * x[i] * li
                guard slx > 0 else { continue }
                var sl2 = suml2 - w * li * li
                let newL = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(x[i] * sl2 / slx)))
                guard newL != Int32(L[i]) else { continue }
                slx += w * x[i] * Float(newL)
                sl2 += w * Float(newL) * Float(newL)
                if sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                    L[i] = Int8(newL)
                    sumlx = slx
                    suml2 = sl2
                    changed += 1
                }
            }
            if changed == 0 { break }
        }
        for i in 0..<n { L[i] += Int8(nmax) }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    /// Fills the 16 sub-block scales with `scale(j)` and returns the one of largest magnitude
    /// (the first, with its sign), which q3_K and q6_K put under their super-scale.
    @inline(__always)
    static func signedLargest(_ scales: UnsafeMutablePointer<Float>, _ scale: (Int) -> Float) -> Float {
        var largest: Float = 0
        for j in 0..<16 {
            scales[j] = scale(j)
            if abs(scales[j]) > abs(largest) { largest = scales[j] }
        }
        return largest
    }

    /// The 2-bit field layout q2_K and q3_K share: element 128 h + 32 j + l sits in byte
    /// 32 h + l at bits 2j.
    @inline(__always)
    static func packTwoBitQuants(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutableRawPointer) {
        for h in stride(from: 0, to: 256, by: 128) {
            for l in 0..<32 {
                let b = L[h + l] | (L[h + l + 32] << 2) | (L[h + l + 64] << 4) | (L[h + l + 96] << 6)
                qs.storeBytes(of: b, toByteOffset: h / 4 + l, as: UInt8.self)
            }
        }
    }

    /// q2_K: 16 sub-blocks of 16, each with a 4-bit scale and min under f16 d and dmin, found
    /// by the absolute-error search weighted by |x|.
    static let quantizeWeightsQ2_K: FormatTraits.Quantize = { src, dst, n in
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 16) { l in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 48) { buf in
                let L = l.baseAddress!, laux = L + 256
                let weights = buf.baseAddress!, scales = weights + 16, mins = weights + 32
                for b in 0..<(n / qkK) {
                    let x = src + b * qkK, p = dst + b * 84
                    var maxScale: Float = 0, maxMin: Float = 0
                    for j in 0..<16 {
                        for i in 0..<16 { weights[i] = abs(x[16 * j + i]) }
                        let (s, m) = makeQKX2Quants(16, 3, x + 16 * j, weights, L + 16 * j, laux,
                                                    rmin: -0.5, rdelta: 0.1, nstep: 15, absoluteError: true)
                        scales[j] = s
                        mins[j] = m
                        maxScale = Swift.max(maxScale, s)
                        maxMin = Swift.max(maxMin, m)
                    }
                    // The scales are at most maxScale, so their 4-bit codes need no clamp.
                    var dBits: UInt16 = 0, dminBits: UInt16 = 0
                    let scaleInv: Float = maxScale > 0 ? 15 / maxScale : 0, minInv: Float = maxMin > 0 ? 15 / maxMin : 0
                    for j in 0..<16 {
                        let code = UInt8(truncatingIfNeeded: nearestInt(scaleInv * scales[j]))
                            | UInt8(truncatingIfNeeded: nearestInt(minInv * mins[j]) << 4)
                        p.storeBytes(of: code, toByteOffset: j, as: UInt8.self)
                    }
                    if maxScale > 0 { dBits = floatToHalf(maxScale / 15) }
                    if maxMin > 0 { dminBits = floatToHalf(maxMin / 15) }
                    p.storeBytes(of: dBits, toByteOffset: 80, as: UInt16.self)
                    p.storeBytes(of: dminBits, toByteOffset: 82, as: UInt16.self)
                    let d = halfToFloat(dBits), dmin = halfToFloat(dminBits)
                    for j in 0..<16 {
                        let code = p.load(fromByteOffset: j, as: UInt8.self)
                        let dj = d * Float(code & 0x0f)
                        if dj == 0 { continue }
                        let dm = dmin * Float(code >> 4)
                        for i in 0..<16 {
                            L[16 * j + i] = UInt8(Swift.max(0, Swift.min(3, nearestInt((x[16 * j + i] + dm) / dj))))
                        }
                    }
                    packTwoBitQuants(L, p + 16)
                }
            }
        }
    }

    /// q3_K: 16 sub-blocks of 16, each with a signed 6-bit scale under an f16 d; quants in
    /// [-4, 4) stored as 2 low bits and a high bit.
    static let quantizeWeightsQ3_K: FormatTraits.Quantize = { src, dst, n in
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { l in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { s in
                let L = l.baseAddress!, scales = s.baseAddress!
                for b in 0..<(n / qkK) {
                    let x = src + b * qkK, p = dst + b * 110
                    let maxScale = signedLargest(scales) { makeQ3Quants(16, 4, x + 16 * $0, L + 16 * $0) }
                    let sc = p + 96
                    for j in 0..<12 { sc.storeBytes(of: 0, toByteOffset: j, as: UInt8.self) }
                    var dBits: UInt16 = 0
                    if maxScale != 0 {
                        let iscale = -32 / maxScale
                        for j in 0..<16 {
                            let code = UInt8(Swift.max(-32, Swift.min(31, nearestInt(iscale * scales[j]))) + 32)
                            if j < 8 {
                                sc.storeBytes(of: code & 0x0f, toByteOffset: j, as: UInt8.self)
                            } else {
                                sc.storeBytes(of: sc.load(fromByteOffset: j - 8, as: UInt8.self) | ((code & 0x0f) << 4), toByteOffset: j - 8, as: UInt8.self)
                            }
                            let high = sc.load(fromByteOffset: 8 + j % 4, as: UInt8.self) | ((code >> 4) << UInt8(2 * (j / 4)))
                            sc.storeBytes(of: high, toByteOffset: 8 + j % 4, as: UInt8.self)
                        }
                        dBits = floatToHalf(1 / iscale)
                    }
                    p.storeBytes(of: dBits, toByteOffset: 108, as: UInt16.self)
                    let d = halfToFloat(dBits)
                    for j in 0..<16 {
                        let dj = d * Float(scaleQ3_K(j, UnsafeRawPointer(sc)))
                        if dj == 0 { continue }
                        for i in 0..<16 {
                            L[16 * j + i] = Int8(Swift.max(-4, Swift.min(3, nearestInt(x[16 * j + i] / dj))) + 4)
                        }
                    }
                    // The high bit of element i goes to hmask[i % 32], bit i / 32; the low two
                    // bits are packed as q2_K's.
                    for i in 0..<32 { p.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
                    L.withMemoryRebound(to: UInt8.self, capacity: 256) { U in
                        for i in 0..<256 where U[i] > 3 {
                            p.storeBytes(of: p.load(fromByteOffset: i % 32, as: UInt8.self) | UInt8(1 << (i / 32)), toByteOffset: i % 32, as: UInt8.self)
                            U[i] -= 4
                        }
                        packTwoBitQuants(U, p + 32)
                    }
                }
            }
        }
    }

    /// q4_K and q5_K share everything but the quant range and the search: 8 sub-blocks of 32,
    /// each with a scale and a min (6-bit, under f16 d and dmin), weights sqrt(mean x²) + |x|.
    @inline(__always)
    static func quantizeScaleMinBlock(_ x: UnsafePointer<Float>, _ p: UnsafeMutableRawPointer, nmax: Int32, rmin: Float, nstep: Int,
                                      _ L: UnsafeMutablePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 48) { buf in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { laux in
                let weights = buf.baseAddress!, scales = weights + 32, mins = weights + 40
                var maxScale: Float = 0, maxMin: Float = 0
                for j in 0..<8 {
                    let xs = x + 32 * j
                    var sumX2: Float = 0
                    for l in 0..<32 { sumX2 += xs[l] * xs[l] }
                    let avX = (sumX2 / 32).squareRoot()
                    for l in 0..<32 { weights[l] = avX + abs(xs[l]) }
                    let (s, m) = makeQKX2Quants(32, nmax, xs, weights, L + 32 * j, laux.baseAddress!, rmin: rmin, rdelta: 0.1, nstep: nstep)
                    scales[j] = s
                    mins[j] = m
                    maxScale = Swift.max(maxScale, s)
                    maxMin = Swift.max(maxMin, m)
                }
                let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
                let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
                let sc = p + 4
                for j in 0..<12 { sc.storeBytes(of: 0, toByteOffset: j, as: UInt8.self) }
                for j in 0..<8 {
                    let ls = UInt8(clamping: Swift.min(63, nearestInt(invScale * scales[j])))
                    let lm = UInt8(clamping: Swift.min(63, nearestInt(invMin * mins[j])))
                    if j < 4 {
                        sc.storeBytes(of: ls, toByteOffset: j, as: UInt8.self)
                        sc.storeBytes(of: lm, toByteOffset: j + 4, as: UInt8.self)
                    } else {
                        sc.storeBytes(of: (ls & 0x0f) | ((lm & 0x0f) << 4), toByteOffset: j + 4, as: UInt8.self)
                        sc.storeBytes(of: sc.load(fromByteOffset: j - 4, as: UInt8.self) | ((ls >> 4) << 6), toByteOffset: j - 4, as: UInt8.self)
                        sc.storeBytes(of: sc.load(fromByteOffset: j, as: UInt8.self) | ((lm >> 4) << 6), toByteOffset: j, as: UInt8.self)
                    }
                }
                let dBits = floatToHalf(maxScale / 63), dminBits = floatToHalf(maxMin / 63)
                p.storeBytes(of: dBits, toByteOffset: 0, as: UInt16.self)
                p.storeBytes(of: dminBits, toByteOffset: 2, as: UInt16.self)
                let d = halfToFloat(dBits), dmin = halfToFloat(dminBits)
                for j in 0..<8 {
                    let (s, m) = scaleMin6(j, UnsafeRawPointer(sc))
                    let dj = d * Float(s)
                    if dj == 0 { continue }
                    let dm = dmin * Float(m)
                    for ii in 0..<32 {
                        L[32 * j + ii] = UInt8(Swift.max(0, Swift.min(nmax, nearestInt((x[32 * j + ii] + dm) / dj))))
                    }
                }
            }
        }
    }

    static let quantizeWeightsQ4_K: FormatTraits.Quantize = { src, dst, n in
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { l in
            let L = l.baseAddress!
            for b in 0..<(n / qkK) {
                let p = dst + b * 144
                quantizeScaleMinBlock(src + b * qkK, p, nmax: 15, rmin: -1, nstep: 20, L)
                for j in stride(from: 0, to: 256, by: 64) {
                    for i in 0..<32 {
                        p.storeBytes(of: L[j + i] | (L[j + i + 32] << 4), toByteOffset: 16 + j / 2 + i, as: UInt8.self)
                    }
                }
            }
        }
    }

    static let quantizeWeightsQ5_K: FormatTraits.Quantize = { src, dst, n in
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { l in
            let L = l.baseAddress!
            for b in 0..<(n / qkK) {
                let p = dst + b * 176
                quantizeScaleMinBlock(src + b * qkK, p, nmax: 31, rmin: -0.5, nstep: 15, L)
                let qh = p + 16, ql = p + 48
                for j in 0..<32 { qh.storeBytes(of: 0, toByteOffset: j, as: UInt8.self) }
                var m1: UInt8 = 1, m2: UInt8 = 2
                for n in stride(from: 0, to: 256, by: 64) {
                    for j in 0..<32 {
                        var l1 = L[n + j], l2 = L[n + j + 32]
                        var h = qh.load(fromByteOffset: j, as: UInt8.self)
                        if l1 > 15 { l1 -= 16; h |= m1 }
                        if l2 > 15 { l2 -= 16; h |= m2 }
                        qh.storeBytes(of: h, toByteOffset: j, as: UInt8.self)
                        ql.storeBytes(of: l1 | (l2 << 4), toByteOffset: n / 2 + j, as: UInt8.self)
                    }
                    m1 <<= 2
                    m2 <<= 2
                }
            }
        }
    }

    static let quantizeWeightsQ6_K: FormatTraits.Quantize = { src, dst, n in
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { l in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { s in
                let L = l.baseAddress!, scales = s.baseAddress!
                for b in 0..<(n / qkK) {
                    let x = src + b * qkK, p = dst + b * 210
                    let maxScale = signedLargest(scales) { makeQXQuants(16, 32, x + 16 * $0, L + 16 * $0) }
                    if abs(maxScale) < 1e-15 {
                        for i in 0..<210 { p.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
                        continue
                    }
                    let iscale = -128 / maxScale
                    let dBits = floatToHalf(1 / iscale)
                    p.storeBytes(of: dBits, toByteOffset: 208, as: UInt16.self)
                    for ib in 0..<16 {
                        p.storeBytes(of: Int8(clamping: Swift.min(127, nearestInt(iscale * scales[ib]))), toByteOffset: 192 + ib, as: Int8.self)
                    }
                    let d = halfToFloat(dBits)
                    for j in 0..<16 {
                        let dj = d * Float(p.load(fromByteOffset: 192 + j, as: Int8.self))
                        if dj == 0 { continue }
                        for ii in 0..<16 {
                            L[16 * j + ii] = Int8(Swift.max(-32, Swift.min(31, nearestInt(x[16 * j + ii] / dj))) + 32)
                        }
                    }
                    for half in 0..<2 {
                        let j = half * 128, ql = p + half * 64, qh = p + 128 + half * 32
                        for i in 0..<32 {
                            let q1 = UInt8(L[j + i]), q2 = UInt8(L[j + i + 32]), q3 = UInt8(L[j + i + 64]), q4 = UInt8(L[j + i + 96])
                            ql.storeBytes(of: (q1 & 0x0f) | ((q3 & 0x0f) << 4), toByteOffset: i, as: UInt8.self)
                            ql.storeBytes(of: (q2 & 0x0f) | ((q4 & 0x0f) << 4), toByteOffset: i + 32, as: UInt8.self)
                            qh.storeBytes(of: (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6), toByteOffset: i, as: UInt8.self)
                        }
                    }
                }
            }
        }
    }
}
