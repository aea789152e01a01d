import HearthGGUF
import HearthKernels

/// A seeded tiny llama-architecture model, generated in code as a GGUF file, so tests need
/// neither the network nor real weights. The same configuration and seed always give the same
/// bytes. The float weights are exposed as the file holds them (after quantization, when a
/// quantized type is chosen), so a test can run an independent reference forward pass.
///
/// Tensors use llama.cpp's names and ggml shapes (row length first):
///
///     token_embd.weight          (dim, vocab)
///     output.weight              (dim, vocab)            only when the output is not tied
///     output_norm.weight         (dim)
///     blk.N.attn_norm.weight     (dim)
///     blk.N.attn_q.weight        (dim, nHeads * headDim)
///     blk.N.attn_k.weight        (dim, nKVHeads * headDim)
///     blk.N.attn_v.weight        (dim, nKVHeads * headDim)
///     blk.N.attn_output.weight   (nHeads * headDim, dim)
///     blk.N.ffn_norm.weight      (dim)
///     blk.N.ffn_gate.weight      (dim, ff)
///     blk.N.ffn_up.weight        (dim, ff)
///     blk.N.ffn_down.weight      (ff, dim)
public struct TinyModel: Sendable {
    public struct Config: Sendable, Equatable {
        public var dim = 64
        public var nLayers = 2
        public var nHeads = 4
        public var nKVHeads = 2
        public var ff = 128
        public var contextLength = 256
        public var ropeFreqBase: Float = 10000
        public var rmsEps: Float = 1e-5
        /// The type of every matrix. f32, f16, bf16, q8_0 and q4_0/q4_1 work for any dims that
        /// are multiples of 32 (q8_K: 256). Norm weights are always f32, as llama.cpp keeps them.
        public var weightType: TensorType = .f32
        /// The type of token_embd (and output), when it should differ from `weightType`.
        public var embeddingType: TensorType? = nil
        /// When true (the default, as SmolLM2) there is no output.weight: the output projection
        /// reuses token_embd.
        public var tiedOutput = true
        /// general.alignment; 32 (GGUF's default) is not written.
        public var alignment = 32
        public var seed: UInt64 = 1
        public var vocab = TinyVocab()

        public var headDim: Int { dim / nHeads }

        public init() {}

        /// A configuration with the given dims and defaults for the rest.
        public init(dim: Int = 64, nLayers: Int = 2, nHeads: Int = 4, nKVHeads: Int = 2, ff: Int = 128,
                    weightType: TensorType = .f32, tiedOutput: Bool = true, seed: UInt64 = 1) {
            self.dim = dim; self.nLayers = nLayers; self.nHeads = nHeads; self.nKVHeads = nKVHeads
            self.ff = ff; self.weightType = weightType; self.tiedOutput = tiedOutput; self.seed = seed
        }
    }

    /// One tensor as generated: its name, ggml shape, storage type, and the float values the
    /// file holds (dequantized from the stored bytes), in ggml order (`shape[0]` contiguous).
    public struct Tensor: Sendable {
        public let name: String
        public let shape: [Int]
        public let type: TensorType
        public let values: [Float]
        public let data: [UInt8]
    }

    /// The weights of one transformer block. Matrices are row-major (out, in): element [o][i]
    /// at `o * in + i`, which is ggml shape [in, out].
    public struct Layer: Sendable {
        public let attnNorm: [Float]  // (dim)
        public let wq: [Float]        // (nHeads * headDim, dim)
        public let wk: [Float]        // (nKVHeads * headDim, dim)
        public let wv: [Float]        // (nKVHeads * headDim, dim)
        public let wo: [Float]        // (dim, nHeads * headDim)
        public let ffnNorm: [Float]   // (dim)
        public let wGate: [Float]     // (ff, dim)
        public let wUp: [Float]       // (ff, dim)
        public let wDown: [Float]     // (dim, ff)
    }

    public struct Weights: Sendable {
        public let tokenEmbedding: [Float]  // (vocab, dim): row t is token t's embedding
        public let output: [Float]          // (vocab, dim): tokenEmbedding when tied
        public let outputNorm: [Float]      // (dim)
        public let layers: [Layer]
    }

    public let config: Config
    public var vocab: TinyVocab { config.vocab }
    public var vocabSize: Int { config.vocab.tokens.count }
    /// The tensors in file order.
    public let tensors: [Tensor]
    public let weights: Weights
    /// The GGUF file.
    public let bytes: [UInt8]

    /// Generates the model. Throws when a dimension does not fit the chosen types' blocks, or
    /// when no quantizer exists for a chosen type.
    public init(_ config: Config = Config()) throws(GGUFError) {
        self.config = config
        let c = config, hd = config.headDim
        guard c.dim > 0, c.nHeads > 0, c.nKVHeads > 0, c.dim % c.nHeads == 0, c.nHeads % c.nKVHeads == 0 else {
            throw GGUFError("TinyModel: dim \(c.dim), nHeads \(c.nHeads), nKVHeads \(c.nKVHeads) do not divide")
        }
        var rng = TestRandom(seed: c.seed)
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        if c.alignment != 32 { w.set("general.alignment", .uint32(UInt32(c.alignment))) }
        w.set("general.name", .string("hearth-tiny"))
        w.set("llama.context_length", .uint32(UInt32(c.contextLength)))
        w.set("llama.embedding_length", .uint32(UInt32(c.dim)))
        w.set("llama.block_count", .uint32(UInt32(c.nLayers)))
        w.set("llama.feed_forward_length", .uint32(UInt32(c.ff)))
        w.set("llama.attention.head_count", .uint32(UInt32(c.nHeads)))
        w.set("llama.attention.head_count_kv", .uint32(UInt32(c.nKVHeads)))
        w.set("llama.rope.freq_base", .float32(c.ropeFreqBase))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsEps))
        w.set("llama.vocab_size", .uint32(UInt32(c.vocab.tokens.count)))
        w.set("llama.rope.dimension_count", .uint32(UInt32(hd)))
        let v = c.vocab
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("smollm"))
        w.set("tokenizer.ggml.tokens", .array(.string, v.tokens.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(.int32, v.tokenTypes.map { .int32($0) }))
        w.set("tokenizer.ggml.merges", .array(.string, v.merges.map { .string($0) }))
        w.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(v.bosID)))
        w.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(v.eosID)))
        w.set("tokenizer.ggml.unknown_token_id", .uint32(UInt32(v.unknownID)))
        w.set("tokenizer.ggml.padding_token_id", .uint32(UInt32(v.paddingID)))
        w.set("tokenizer.ggml.add_bos_token", .bool(false))
        w.set("tokenizer.ggml.add_space_prefix", .bool(false))
        w.set("tokenizer.chat_template", .string(v.chatTemplate))

        var tensors: [Tensor] = []
        // Adds a tensor of ggml shape (inner, outer) drawn as N(0, scale^2) (or 1 + N(0, 0.1^2)
        // for norms), stored as `type`; returns the values the file holds.
        func add(_ name: String, _ shape: [Int], _ type: TensorType, scale: Float, norm: Bool = false) throws(GGUFError) -> [Float] {
            let n = shape.reduce(1, *)
            let raw = norm ? rng.normals(n, scale: 0.1).map { 1 + $0 } : rng.normals(n, scale: scale)
            guard let data = TestQuantizers.quantize(raw, as: type) else {
                throw GGUFError("TinyModel: cannot store '\(name)' of shape \(shape) as \(type): no quantizer, or rows not whole \(type.traits.blockSize)-element blocks")
            }
            try w.addTensor(name, shape: shape, type: type, data: data)
            let values = HearthTestSupport.dequantize(data, as: type, count: n)
            tensors.append(Tensor(name: name, shape: shape, type: type, values: values, data: data))
            return values
        }
        let wt = c.weightType, et = c.embeddingType ?? c.weightType
        let nV = c.vocab.tokens.count
        let embd = try add("token_embd.weight", [c.dim, nV], et, scale: 0.5)
        let output = c.tiedOutput ? embd : try add("output.weight", [c.dim, nV], et, scale: 0.5)
        let outNorm = try add("output_norm.weight", [c.dim], .f32, scale: 0, norm: true)
        var layers: [Layer] = []
        let inScale = 1 / Float(c.dim).squareRoot(), ffScale = 1 / Float(c.ff).squareRoot()
        for l in 0..<c.nLayers {
            let p = "blk.\(l)."
            let attnNorm = try add(p + "attn_norm.weight", [c.dim], .f32, scale: 0, norm: true)
            let wq = try add(p + "attn_q.weight", [c.dim, c.nHeads * hd], wt, scale: inScale)
            let wk = try add(p + "attn_k.weight", [c.dim, c.nKVHeads * hd], wt, scale: inScale)
            let wv = try add(p + "attn_v.weight", [c.dim, c.nKVHeads * hd], wt, scale: inScale)
            let wo = try add(p + "attn_output.weight", [c.nHeads * hd, c.dim], wt, scale: inScale)
            let ffnNorm = try add(p + "ffn_norm.weight", [c.dim], .f32, scale: 0, norm: true)
            let gate = try add(p + "ffn_gate.weight", [c.dim, c.ff], wt, scale: inScale)
            let up = try add(p + "ffn_up.weight", [c.dim, c.ff], wt, scale: inScale)
            let down = try add(p + "ffn_down.weight", [c.ff, c.dim], wt, scale: ffScale)
            layers.append(Layer(attnNorm: attnNorm, wq: wq, wk: wk, wv: wv, wo: wo, ffnNorm: ffnNorm,
                                wGate: gate, wUp: up, wDown: down))
        }
        self.tensors = tensors
        weights = Weights(tokenEmbedding: embd, output: output, outputNorm: outNorm, layers: layers)
        bytes = w.serialized()
    }

    /// The generated tensor called `name`, or nil.
    public func tensor(_ name: String) -> Tensor? { tensors.first { $0.name == name } }

    /// Writes the file to `path`.
    public func write(to path: String) throws {
        try TemporaryDirectory.writeFile(bytes, to: path)
    }

    /// Writes the file into `directory` as `name` and returns its path.
    @discardableResult
    public func write(in directory: TemporaryDirectory, as name: String = "tiny.gguf") throws -> String {
        try directory.write(bytes, to: name)
    }
}
