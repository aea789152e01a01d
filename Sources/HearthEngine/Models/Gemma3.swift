import HearthGGUF
import HearthKernels

/// Gemma 3 (text): a decoder whose blocks norm both before and after each sub-block, with
///  - embeddings scaled by sqrt(dim);
///  - per-head RMSNorm of q and k, q scaled by 1/sqrt(headDim) (query_pre_attn_scalar);
///  - five sliding-window layers (window `gemma3.attention.sliding_window`, rope base 10 000)
///    for every global layer (rope base `gemma3.rope.freq_base`): layer i is global when
///    (i + 1) % 6 == 0;
///  - a GELU-gated feed-forward (tanh approximation);
///  - GGUF norm weights already include Gemma's "+1".
///
///     x = embed(tokens) * sqrt(dim)
///     for each block:  x += postnorm(attention(rmsnorm(x)));  x += postnorm(geglu_ffn(rmsnorm(x)))
///     logits = output(rmsnorm(x))
final class Gemma3: LanguageModel, @unchecked Sendable {
    struct Block {
        let attentionNorm: [Float]       // (dim)
        let attention: SelfAttention
        let postAttentionNorm: [Float]   // (dim)
        let ffnNorm: [Float]             // (dim)
        let feedForward: FeedForward
        let postFfnNorm: [Float]         // (dim)
    }

    static let slidingWindowPattern = 6
    static let slidingRopeBase: Float = 10_000

    let shape: ModelShape
    let eps: Float
    let embeddingScale: Float
    let tokenEmbedding: Embedding        // (dim, vocab)
    let blocks: [Block]
    let outputNorm: [Float]              // (dim)
    let output: Linear                   // (dim, vocab)
    let file: GGUFFile

    init(_ file: GGUFFile) throws(EngineError) {
        let h = Hyperparameters(file, arch: "gemma3")
        let s = try h.shape()
        shape = s
        eps = try h.float("attention.layer_norm_rms_epsilon")
        let window = try h.int("attention.sliding_window", default: 512)
        let globalRope = Rope(layout: .halves, headDim: s.headDim, base: try h.float("rope.freq_base", default: 1_000_000))
        let localRope = Rope(layout: .halves, headDim: s.headDim, base: Gemma3.slidingRopeBase)
        embeddingScale = Float(s.dim).squareRoot()
        self.file = file
        tokenEmbedding = try Embedding(file, "token_embd.weight", dim: s.dim, vocab: s.vocab)
        var blocks: [Block] = []
        for i in 0..<s.nLayers {
            let global = (i + 1) % Gemma3.slidingWindowPattern == 0
            let p = "blk.\(i)."
            blocks.append(Block(
                attentionNorm: try loadFloats(file, p + "attn_norm.weight", shape: [s.dim]),
                attention: try SelfAttention(file, layer: i, shape: s, rope: global ? globalRope : localRope,
                                             scale: 1 / Float(s.headDim).squareRoot(),
                                             window: global ? nil : window, headNorms: true, normEps: eps),
                postAttentionNorm: try loadFloats(file, p + "post_attention_norm.weight", shape: [s.dim]),
                ffnNorm: try loadFloats(file, p + "ffn_norm.weight", shape: [s.dim]),
                feedForward: try FeedForward(file, layer: i, shape: s, activation: .gelu),
                postFfnNorm: try loadFloats(file, p + "post_ffw_norm.weight", shape: [s.dim])))
        }
        self.blocks = blocks
        outputNorm = try loadFloats(file, "output_norm.weight", shape: [s.dim])
        output = try outputHead(file, embedding: tokenEmbedding, shape: s)
    }

    func matrixProducts(on kernels: KernelPath) -> [MatrixProduct] {
        (blocks.flatMap { $0.attention.linears + $0.feedForward.linears } + [output]).map { $0.products[kernels.index] }
    }

    func forward(_ tokens: ArraySlice<Int32>, placement: TokenPlacement, rows: LogitRows,
                 into out: UnsafeMutablePointer<Float>, workspace w: Workspace) {
        let n = tokens.count, dim = shape.dim
        let x = w.x, xn = w.xNorm, y = w.proj
        tokenEmbedding.lookup(tokens, into: x, scale: embeddingScale, workspace: w)
        for (l, b) in blocks.enumerated() {
            rmsNorm(x, to: xn, weight: b.attentionNorm, dim: dim, n: n, eps: eps)
            b.attention(xn, into: y, n: n, layer: l, placement: placement, workspace: w)
            rmsNorm(y, weight: b.postAttentionNorm, dim: dim, n: n, eps: eps)
            addResidual(x, y, count: n * dim)
            rmsNorm(x, to: xn, weight: b.ffnNorm, dim: dim, n: n, eps: eps)
            b.feedForward(xn, into: y, n: n, workspace: w)
            rmsNorm(y, weight: b.postFfnNorm, dim: dim, n: n, eps: eps)
            addResidual(x, y, count: n * dim)
        }
        placement.advance(by: n)
        logits(of: x, n: n, rows: rows, norm: outputNorm, eps: eps, head: output, into: out, workspace: w)
    }
}
