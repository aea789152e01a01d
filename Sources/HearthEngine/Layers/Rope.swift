import Foundation

/// Rotary position embedding. Two pair layouts exist:
/// - `.adjacent` (llama.cpp's "normal" rope, used by `llama`): rotates (x[2i], x[2i+1]);
/// - `.halves` (GPT-NeoX rope, used by `qwen2`, `gemma3`): rotates (x[i], x[i + headDim/2]).
/// Pair i at position p turns by the angle p * base^(-2i / headDim).
struct Rope {
    enum Layout { case adjacent, halves }
    let layout: Layout
    let headDim: Int
    /// base^(-2i/headDim) for each pair i.
    let inverseFrequencies: [Float]

    init(layout: Layout, headDim: Int, base: Float) {
        self.layout = layout
        self.headDim = headDim
        // As ggml: theta_scale = base^(-2/headDim), theta_i = p * theta_scale^i, all in Float.
        let thetaScale = powf(base, -2 / Float(headDim))
        var f: [Float] = []
        var t: Float = 1
        for _ in 0..<(headDim / 2) { f.append(t); t *= thetaScale }
        inverseFrequencies = f
    }

    /// Rotates the query heads `q` (qHeads, headDim) and key heads `k` (kHeads, headDim) of one
    /// token at `position`, in place; each angle's sine and cosine are computed once for both.
    func apply(_ q: UnsafeMutablePointer<Float>, heads qHeads: Int, _ k: UnsafeMutablePointer<Float>, heads kHeads: Int,
               position: Int) {
        let half = headDim / 2
        for i in 0..<half {
            let theta = Float(position) * inverseFrequencies[i]
            let c = cosf(theta), s = sinf(theta)
            let (a, b) = layout == .adjacent ? (2 * i, 2 * i + 1) : (i, i + half)
            for h in 0..<(qHeads + kHeads) {
                let v = h < qHeads ? q + h * headDim : k + (h - qHeads) * headDim
                let x0 = v[a], x1 = v[b]
                v[a] = x0 * c - x1 * s
                v[b] = x0 * s + x1 * c
            }
        }
    }
}
