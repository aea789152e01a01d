import Foundation
import HearthKernels
import HearthSIMD

/// Causal scaled dot-product attention of `n` new tokens over the cache, with grouped KV heads.
/// q: (n, nHeads * headDim), keys/values (f16): (capacity, nKVHeads * headDim) holding positions
/// 0..<start+n, out: (n, nHeads * headDim). Token t sits at position start + t and sees
/// positions max(0, start + t - window + 1)...start + t (window nil: all of them).
func attend(q: UnsafePointer<Float>, keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>,
            out: UnsafeMutablePointer<Float>, n: Int, start: Int, nHeads: Int, nKVHeads: Int,
            headDim: Int, scale: Float, window: Int?, threads: Int, kernels: KernelPath = .portable) {
    let heads = AttentionHeads(q: q, keys: keys, values: values, out: out, n: n, start: start, nHeads: nHeads,
                               nKVHeads: nKVHeads, headDim: headDim, scale: scale, window: window,
                               vectorized: kernels != .portable && headDim % 8 == 0)
    parallelRanges(n * nHeads, threads: threads, heads)
}

/// `attend` for the (token, head) pairs j0..<j1, numbered token-major.
private struct AttentionHeads: RangeWork {
    let q: UnsafePointer<Float>, keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>
    let out: UnsafeMutablePointer<Float>
    let n: Int, start: Int, nHeads: Int, nKVHeads: Int, headDim: Int
    let scale: Float, window: Int?
    let vectorized: Bool

    func callAsFunction(_ j0: Int, _ j1: Int) {
        let qDim = nHeads * headDim, kvDim = nKVHeads * headDim
        let group = nHeads / nKVHeads
        let dotHalf = TensorType.f16.traits.dot
        withUnsafeTemporaryAllocation(of: Float.self, capacity: start + n) { scores in
            for j in j0..<j1 {
                let t = j / nHeads, h = j % nHeads
                let pos = start + t
                let first = window.map { max(0, pos - $0 + 1) } ?? 0
                let qh = q + t * qDim + h * headDim
                let kvOffset = (h / group) * headDim
                if vectorized {
                    hearth_attend_one(qh, keys + first * kvDim + kvOffset, values + first * kvDim + kvOffset, kvDim,
                                      pos - first + 1, headDim, scale, scores.baseAddress!, out + t * qDim + h * headDim)
                    continue
                }
                var maxScore = -Float.infinity
                for p in first...pos {
                    let s = dotHalf(keys + p * kvDim + kvOffset, qh, headDim) * scale
                    scores[p] = s
                    maxScore = max(maxScore, s)
                }
                var sum: Float = 0
                for p in first...pos {
                    let e = expf(scores[p] - maxScore)
                    scores[p] = e
                    sum += e
                }
                let o = out + t * qDim + h * headDim
                o.update(repeating: 0, count: headDim)
                let inv = 1 / sum
                for p in first...pos {
                    let w = scores[p] * inv
                    let v = values + p * kvDim + kvOffset
                    for d in 0..<headDim { o[d] += w * halfToFloat(v[d]) }
                }
            }
        }
    }
}
