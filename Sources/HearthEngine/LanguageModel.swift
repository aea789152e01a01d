import HearthKernels
import HearthGGUF

/// The sizes every decoder-only model shares, read from `<arch>.*` metadata.
public struct ModelShape: Sendable, Equatable {
    /// Width of the residual stream.
    public var dim: Int
    public var nLayers: Int
    public var nHeads: Int
    public var nKVHeads: Int
    public var headDim: Int
    /// Width of the feed-forward hidden layer.
    public var ffDim: Int
    public var vocab: Int
    /// The context length the model was trained for (`<arch>.context_length`).
    public var trainedContext: Int

    var qDim: Int { nHeads * headDim }
    var kvDim: Int { nKVHeads * headDim }
}

/// Which rows of logits a forward pass must produce.
public enum LogitRows: Sendable {
    /// Only the last token's (generation).
    case last
    /// Every token's (scoring, perplexity).
    case all
    /// No logits: every token's final normed hidden state, (n, dim) (embeddings).
    case hidden
}

/// Where the tokens of one forward pass belong: consecutive positions of one sequence (a prompt,
/// or one token of a decode), or one token each of several sequences decoded together (batched
/// decoding), token t at the next position of `caches[t]`.
public enum TokenPlacement {
    case sequence(KVCache)
    case oneEach([KVCache])

    /// Records that the pass wrote `n` tokens.
    func advance(by n: Int) {
        switch self {
        case .sequence(let cache): cache.count += n
        case .oneEach(let caches): for c in caches { c.count += 1 }
        }
    }
}

/// A decoder-only transformer that can be run a batch of tokens at a time. One conforming type
/// per architecture, in `Models/`, registered in `Architectures.swift`.
public protocol LanguageModel: AnyObject, Sendable {
    var shape: ModelShape { get }
    /// Runs `tokens` where `placement` puts them, appends their keys and values to the caches,
    /// and writes logits into `out`: (1 or tokens.count, vocab) as `rows` asks.
    func forward(_ tokens: ArraySlice<Int32>, placement: TokenPlacement, rows: LogitRows,
                 into out: UnsafeMutablePointer<Float>, workspace: Workspace)
    /// The products of every weight matrix on `kernels`, so that a session can prepare them
    /// (repack the weights) before its first token rather than during it.
    func matrixProducts(on kernels: KernelPath) -> [MatrixProduct]
}

extension LanguageModel {
    /// A KV cache for `capacity` positions.
    public func makeCache(capacity: Int) -> KVCache {
        KVCache(layers: shape.nLayers, kvDim: shape.kvDim, capacity: capacity)
    }
}

/// Scratch buffers for one forward pass of up to `maxBatch` tokens, reused across passes so
/// decoding does not allocate. One per session: models are shared, workspaces are not.
public final class Workspace: @unchecked Sendable {
    public let maxBatch: Int
    public let threads: Int
    /// The instruction-set path the matrix products run on.
    public let kernels: KernelPath
    let x: UnsafeMutablePointer<Float>        // (maxBatch, dim) residual stream
    let xNorm: UnsafeMutablePointer<Float>    // (maxBatch, dim)
    let q: UnsafeMutablePointer<Float>        // (maxBatch, qDim)
    let k: UnsafeMutablePointer<Float>        // (maxBatch, kvDim)
    let v: UnsafeMutablePointer<Float>        // (maxBatch, kvDim)
    let attn: UnsafeMutablePointer<Float>     // (maxBatch, qDim)
    let proj: UnsafeMutablePointer<Float>     // (maxBatch, dim)
    let gate: UnsafeMutablePointer<Float>     // (maxBatch, ffDim)
    let up: UnsafeMutablePointer<Float>       // (maxBatch, ffDim)
    let quantized: UnsafeMutableRawPointer    // (maxBatch, partner row bytes of the widest input)

    public init(shape s: ModelShape, maxBatch: Int, threads: Int, kernels: KernelPath = .best) {
        self.maxBatch = maxBatch
        self.kernels = kernels
        self.threads = max(1, threads)
        let widest = max(s.dim, s.qDim, s.ffDim)
        let sizes = [s.dim, s.dim, s.qDim, s.kvDim, s.kvDim, s.qDim, s.dim, s.ffDim, s.ffDim].map { $0 * maxBatch }
        x = .allocate(capacity: sizes[0]); xNorm = .allocate(capacity: sizes[1])
        q = .allocate(capacity: sizes[2]); k = .allocate(capacity: sizes[3]); v = .allocate(capacity: sizes[4])
        attn = .allocate(capacity: sizes[5]); proj = .allocate(capacity: sizes[6])
        gate = .allocate(capacity: sizes[7]); up = .allocate(capacity: sizes[8])
        // The widest partner format takes at most 292 bytes per 256 elements (q8_K) or 4 bytes
        // per element (f32 partner of float weights).
        quantized = .allocate(byteCount: maxBatch * widest * 4 + 1024, alignment: 64)
    }

    deinit {
        for p in [x, xNorm, q, k, v, attn, proj, gate, up] { p.deallocate() }
        quantized.deallocate()
    }
}
