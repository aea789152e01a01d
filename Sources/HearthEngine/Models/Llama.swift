import HearthGGUF
import HearthKernels

/// Llama, as SmolLM2 uses it: a pre-norm decoder block of RMSNorm, grouped-query attention with
/// adjacent-pair rope (the GGUF converter permutes q and k for it), and a SwiGLU feed-forward.
/// The output head is `output.weight`, or the token embedding when the model ties them (SmolLM2).
///
///     x = embed(tokens)
///     for each block:  x += attention(rmsnorm(x));  x += swiglu_ffn(rmsnorm(x))
///     logits = output(rmsnorm(x))
final class Llama: LanguageModel, @unchecked Sendable {
    struct Block {
        let attentionNorm: [Float]   // (dim)
        let attention: SelfAttention
        let ffnNorm: [Float]         // (dim)
        let feedForward: FeedForward
    }

    let shape: ModelShape
    let eps: Float
    let tokenEmbedding: Embedding    // (dim, vocab)
    let blocks: [Block]
    let outputNorm: [Float]          // (dim)
    let output: Linear               // (dim, vocab)
    let file: GGUFFile               // keeps the mapping alive

    /// `qkvBias` and `ropeLayout` let Qwen2 (see Qwen2.swift) reuse this block unchanged.
    init(_ file: GGUFFile, arch: String = "llama", qkvBias: Bool = false, ropeLayout: Rope.Layout = .adjacent) throws(EngineError) {
        let h = Hyperparameters(file, arch: arch)
        let s = try h.shape()
        shape = s
        eps = try h.float("attention.layer_norm_rms_epsilon")
        let rope = Rope(layout: ropeLayout, headDim: s.headDim, base: try h.float("rope.freq_base", default: 10000))
        self.file = file
        tokenEmbedding = try Embedding(file, "token_embd.weight", dim: s.dim, vocab: s.vocab)
        var blocks: [Block] = []
        for i in 0..<s.nLayers {
            blocks.append(Block(
                attentionNorm: try loadFloats(file, "blk.\(i).attn_norm.weight", shape: [s.dim]),
                attention: try SelfAttention(file, layer: i, shape: s, rope: rope,
                                             scale: 1 / Float(s.headDim).squareRoot(), biases: qkvBias),
                ffnNorm: try loadFloats(file, "blk.\(i).ffn_norm.weight", shape: [s.dim]),
                feedForward: try FeedForward(file, layer: i, shape: s, activation: .silu)))
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
        tokenEmbedding.lookup(tokens, into: x, workspace: w)
        for (l, b) in blocks.enumerated() {
            rmsNorm(x, to: xn, weight: b.attentionNorm, dim: dim, n: n, eps: eps)
            b.attention(xn, into: y, n: n, layer: l, placement: placement, workspace: w)
            addResidual(x, y, count: n * dim)
            rmsNorm(x, to: xn, weight: b.ffnNorm, dim: dim, n: n, eps: eps)
            b.feedForward(xn, into: y, n: n, workspace: w)
            addResidual(x, y, count: n * dim)
        }
        placement.advance(by: n)
        logits(of: x, n: n, rows: rows, norm: outputNorm, eps: eps, head: output, into: out, workspace: w)
    }
}
