import HearthGGUF
import HearthKernels
import HearthSIMD

/// The attention sub-block shared by the architectures: project to q, k, v (with optional
/// biases and per-head RMSNorms), rotate q and k, append k and v to the cache, attend, project
/// back. Input and output are (n, dim); the residual add is the caller's, so the model file
/// shows it.
struct SelfAttention {
    let wq: Linear            // (dim, nHeads * headDim)
    let wk: Linear            // (dim, nKVHeads * headDim)
    let wv: Linear            // (dim, nKVHeads * headDim)
    let wo: Linear            // (nHeads * headDim, dim)
    let qNorm: [Float]?       // (headDim), Gemma 3
    let kNorm: [Float]?       // (headDim)
    let rope: Rope
    let shape: ModelShape
    /// Scale applied to q·k.
    let scale: Float
    /// Positions a token can see, itself included (nil: all).
    let window: Int?
    let normEps: Float

    /// Loads `blk.N.attn_{q,k,v,output}.weight`; `biases` adds `blk.N.attn_{q,k,v}.bias`,
    /// `headNorms` adds `blk.N.attn_{q,k}_norm.weight`.
    init(_ file: GGUFFile, layer: Int, shape s: ModelShape, rope: Rope, scale: Float, window: Int? = nil,
         biases: Bool = false, headNorms: Bool = false, normEps: Float = 0) throws(EngineError) {
        let p = "blk.\(layer)."
        func bias(_ n: String) -> String? { biases ? p + n + ".bias" : nil }
        wq = try Linear(file, p + "attn_q.weight", inputs: s.dim, outputs: s.qDim, bias: bias("attn_q"))
        wk = try Linear(file, p + "attn_k.weight", inputs: s.dim, outputs: s.kvDim, bias: bias("attn_k"))
        wv = try Linear(file, p + "attn_v.weight", inputs: s.dim, outputs: s.kvDim, bias: bias("attn_v"))
        wo = try Linear(file, p + "attn_output.weight", inputs: s.qDim, outputs: s.dim)
        qNorm = headNorms ? try loadFloats(file, p + "attn_q_norm.weight", shape: [s.headDim]) : nil
        kNorm = headNorms ? try loadFloats(file, p + "attn_k_norm.weight", shape: [s.headDim]) : nil
        self.rope = rope
        shape = s
        self.scale = scale
        self.window = window
        self.normEps = normEps
    }

    var linears: [Linear] { [wq, wk, wv, wo] }

    /// out = wo(attend(rope(q), rope(k), v)) for the n tokens of `xn` (n, dim), at the positions
    /// `placement` gives; their keys and values go into the caches at layer `layer`.
    func callAsFunction(_ xn: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, n: Int,
                        layer: Int, placement: TokenPlacement, workspace w: Workspace) {
        let s = shape, threads = w.threads
        Linear.forward(xn, n: n, workspace: w, (wq, w.q), (wk, w.k), (wv, w.v))
        if let qNorm { rmsNorm(w.q, weight: qNorm, dim: s.headDim, n: n * s.nHeads, eps: normEps) }
        if let kNorm { rmsNorm(w.k, weight: kNorm, dim: s.headDim, n: n * s.nKVHeads, eps: normEps) }
        let toHalf = w.kernels.quantizer(for: .f16)!
        switch placement {
        case .sequence(let cache):
            let start = cache.count
            parallelRanges(n, threads: threads, minimumPerThread: 16, RotateTokens(rope: rope, shape: s, q: w.q, k: w.k, start: start))
            let keys = cache.keys(layer: layer), values = cache.values(layer: layer)
            toHalf(w.k, keys + start * s.kvDim, n * s.kvDim)
            toHalf(w.v, values + start * s.kvDim, n * s.kvDim)
            attend(q: w.q, keys: keys, values: values, out: w.attn, n: n, start: start,
                   nHeads: s.nHeads, nKVHeads: s.nKVHeads, headDim: s.headDim,
                   scale: scale, window: window, threads: threads, kernels: w.kernels)
        case .oneEach(let caches):
            // Each token is the next of its own sequence: its own position, cache and attention.
            for (t, cache) in caches.enumerated() {
                let position = cache.count
                let q = w.q + t * s.qDim, k = w.k + t * s.kvDim, v = w.v + t * s.kvDim
                rope.apply(q, heads: s.nHeads, k, heads: s.nKVHeads, position: position)
                let keys = cache.keys(layer: layer), values = cache.values(layer: layer)
                toHalf(k, keys + position * s.kvDim, s.kvDim)
                toHalf(v, values + position * s.kvDim, s.kvDim)
                attend(q: q, keys: keys, values: values, out: w.attn + t * s.qDim, n: 1, start: position,
                       nHeads: s.nHeads, nKVHeads: s.nKVHeads, headDim: s.headDim,
                       scale: scale, window: window, threads: threads, kernels: w.kernels)
            }
        }
        wo.forward(w.attn, out, n: n, workspace: w)
    }
}

/// The gated feed-forward sub-block: out = down(act(gate xn) * up xn), act SiLU or GELU.
struct FeedForward {
    enum Activation { case silu, gelu }
    let gate: Linear          // (dim, ffDim)
    let up: Linear            // (dim, ffDim)
    let down: Linear          // (ffDim, dim)
    let activation: Activation

    init(_ file: GGUFFile, layer: Int, shape s: ModelShape, activation: Activation) throws(EngineError) {
        let p = "blk.\(layer)."
        gate = try Linear(file, p + "ffn_gate.weight", inputs: s.dim, outputs: s.ffDim)
        up = try Linear(file, p + "ffn_up.weight", inputs: s.dim, outputs: s.ffDim)
        down = try Linear(file, p + "ffn_down.weight", inputs: s.ffDim, outputs: s.dim)
        self.activation = activation
    }

    var linears: [Linear] { [gate, up, down] }

    func callAsFunction(_ xn: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, n: Int, workspace w: Workspace) {
        Linear.forward(xn, n: n, workspace: w, (gate, w.gate), (up, w.up))
        let gating = Gating(activation: activation, vectorized: w.kernels != .portable, gate: w.gate, up: w.up)
        parallelRanges(n * gate.outputs, threads: w.threads, minimumPerThread: 8192, gating)
        down.forward(w.gate, out, n: n, workspace: w)
    }
}

/// Rope on the q and k rows of tokens start..<end (at positions `start + t`).
private struct RotateTokens: RangeWork {
    let rope: Rope, shape: ModelShape
    let q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>
    let start: Int

    func callAsFunction(_ t0: Int, _ t1: Int) {
        for t in t0..<t1 {
            rope.apply(q + t * shape.qDim, heads: shape.nHeads, k + t * shape.kvDim, heads: shape.nKVHeads, position: start + t)
        }
    }
}

/// gate = act(gate) * up over a range of elements.
private struct Gating: RangeWork {
    let activation: FeedForward.Activation, vectorized: Bool
    let gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>

    func callAsFunction(_ i0: Int, _ i1: Int) {
        let g = gate + i0, u = up + i0, count = i1 - i0
        switch (activation, vectorized) {
        case (.silu, true): hearth_swiglu(g, u, count)
        case (.silu, false): swiglu(g, u, count: count)
        case (.gelu, true): hearth_geglu(g, u, count)
        case (.gelu, false): geglu(g, u, count: count)
        }
    }
}

/// x += y over `count` floats: the residual connection.
@inline(__always) func addResidual(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { x[i] += y[i] }
}
