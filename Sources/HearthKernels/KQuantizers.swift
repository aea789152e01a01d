// Weight quantizers of the K formats q4_K, q5_K and q6_K, as ggml's scalar references
// (quantize_row_q4_K_ref, ..._q5_K_ref, ..._q6_K_ref in ggml-quants.c, which llama-quantize
// runs when it has no importance matrix): each sub-block's scale (and min) is searched for
// the least weighted squared error, then the scales themselves are quantized to 6 or 8 bits
// under an f16 super-scale. The layouts are in KQuants.swift.

extension KQuants {
    /// ggml's `nearest_int`: round half to even (through the 1.5 * 2^23 trick), for |x| < 2^22.
    /// A NaN or infinite value (a file with non-finite weights) gives 0, not a trap; the
    /// callers clamp what they store.
    @inline(__always)
    static func nearestInt(_ x: Float) -> Int32 {
        guard x.isFinite else { return 0 }
        return Int32(Swift.max(-2_147_483_648, Swift.min(2_147_483_647, x.rounded(.toNearestOrEven))))
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
    /// steps of the scale (ggml's `make_qkx2_quants`, squared error): returns (scale, -min).
    static func makeQKX2Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                               _ L: UnsafeMutablePointer<UInt8>, _ Laux: UnsafeMutablePointer<UInt8>,
                               rmin: Float, rdelta: Float, nstep: Int) -> (scale: Float, min: Float) {
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
            let diff = scale * Float(l) + minv - x[i]
            bestError += weights[i] * diff * diff
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
                let diff = thisScale * Float(Laux[i]) + thisMin - x[i]
                error += weights[i] * diff * diff
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
                    var maxScale: Float = 0, maxAbsScale: Float = 0
                    for ib in 0..<16 {
                        let scale = makeQXQuants(16, 32, x + 16 * ib, L + 16 * ib)
                        scales[ib] = scale
                        if abs(scale) > maxAbsScale { maxAbsScale = abs(scale); maxScale = scale }
                    }
                    if maxAbsScale < 1e-15 {
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
