import HearthGGUF
import HearthKernels
import HearthTestSupport
import Testing

/// The seeded tiny model generator of HearthTestSupport: the file it makes holds what it says,
/// with llama.cpp's names, ggml shapes and keys, and the same seed gives the same bytes.
@Suite("TinyModel")
struct TinyModelTests {
    static func layerTensorShapes(_ c: TinyModel.Config) -> [(String, [Int])] {
        let hd = c.headDim
        return [
            ("attn_norm.weight", [c.dim]),
            ("attn_q.weight", [c.dim, c.nHeads * hd]),
            ("attn_k.weight", [c.dim, c.nKVHeads * hd]),
            ("attn_v.weight", [c.dim, c.nKVHeads * hd]),
            ("attn_output.weight", [c.nHeads * hd, c.dim]),
            ("ffn_norm.weight", [c.dim]),
            ("ffn_gate.weight", [c.dim, c.ff]),
            ("ffn_up.weight", [c.dim, c.ff]),
            ("ffn_down.weight", [c.ff, c.dim]),
        ]
    }

    @Test("hyperparameters and tokenizer keys")
    func metadata() throws {
        let m = try TinyModel()
        let c = m.config
        try withGGUF(m.bytes) { f in
            #expect(f.architecture == "llama")
            #expect(f.int("llama.context_length") == c.contextLength)
            #expect(f.int("llama.embedding_length") == c.dim)
            #expect(f.int("llama.block_count") == c.nLayers)
            #expect(f.int("llama.feed_forward_length") == c.ff)
            #expect(f.int("llama.attention.head_count") == c.nHeads)
            #expect(f.int("llama.attention.head_count_kv") == c.nKVHeads)
            #expect(f.metadata["llama.rope.freq_base"] == .float32(c.ropeFreqBase))
            #expect(f.metadata["llama.attention.layer_norm_rms_epsilon"] == .float32(c.rmsEps))
            #expect(f.string("tokenizer.ggml.model") == "gpt2")
            #expect(f.string("tokenizer.ggml.pre") == "smollm")
            #expect(f.bool("tokenizer.ggml.add_bos_token") == false)
            #expect(f.int("tokenizer.ggml.bos_token_id") == 1)
            #expect(f.int("tokenizer.ggml.eos_token_id") == 2)
            #expect(f.string("tokenizer.chat_template")?.contains("<|im_start|>") == true)
            let tokens = try #require(f.array("tokenizer.ggml.tokens")).map { $0.string ?? "" }
            #expect(tokens == m.vocab.tokens)
            #expect(f.array("tokenizer.ggml.token_type")?.map { $0.int ?? -1 } == m.vocab.tokenTypes.map(Int.init))
            #expect(f.array("tokenizer.ggml.merges")?.map { $0.string ?? "" } == m.vocab.merges)
            #expect(f.int("llama.vocab_size") == tokens.count)
        }
    }

    @Test("the vocabulary covers every byte, the specials and each merge")
    func vocabulary() {
        let v = TinyVocab()
        #expect(Array(v.tokens.prefix(3)) == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
        #expect(v.tokenTypes.prefix(3).allSatisfy { $0 == 3 } && v.tokenTypes.dropFirst(3).allSatisfy { $0 == 1 })
        #expect(v.tokens.count == 3 + 256 + v.merges.count)
        #expect(Set(v.tokens).count == v.tokens.count, "token strings are unique")
        #expect(Set(TinyVocab.byteToUnicode).count == 256)
        #expect(v.tokens[v.id(ofByte: 0x20)] == "Ġ")
        #expect(v.tokens[v.id(ofByte: 0x0A)] == "Ċ")
        #expect(v.tokens[v.id(ofByte: UInt8(ascii: "!"))] == "!" && v.id(ofByte: UInt8(ascii: "!")) == 3)
        for m in v.merges {
            let parts = m.split(separator: " ").map(String.init)
            #expect(parts.count == 2 && v.tokens.contains(parts[0]) && v.tokens.contains(parts[1]), "\(m)")
            #expect(v.tokens.contains(parts.joined()), "\(m)")
        }
    }

    @Test("tensors have llama.cpp names and ggml shapes; the file holds the exposed values",
          arguments: [TensorType.f32, .f16, .q8_0, .q4_0, .q4_1])
    func tensors(type: TensorType) throws {
        var c = TinyModel.Config(dim: 64, nLayers: 2, nHeads: 4, nKVHeads: 2, ff: 96, weightType: type)
        c.tiedOutput = false
        let m = try TinyModel(c)
        let nV = m.vocabSize
        var expected: [(String, [Int])] = [("token_embd.weight", [c.dim, nV]), ("output.weight", [c.dim, nV]), ("output_norm.weight", [c.dim])]
        for l in 0..<c.nLayers { expected += Self.layerTensorShapes(c).map { ("blk.\(l).\($0.0)", $0.1) } }
        try withGGUF(m.bytes) { f in
            #expect(f.tensors.map(\.name) == expected.map(\.0))
            for (name, shape) in expected {
                let info = try #require(f.tensor(name))
                let t = try #require(m.tensor(name))
                #expect(info.shape == shape && t.shape == shape, "\(name)")
                #expect(info.type == (shape.count == 1 ? .f32 : type), "\(name) is \(info.type)")
                #expect(Array(f.data(of: info)) == t.data, "\(name)")
                #expect(dequantize(Array(f.data(of: info)), as: info.type, count: info.elementCount) == t.values, "\(name)")
            }
        }
        // The typed view is the same numbers.
        let w = m.weights
        #expect(w.tokenEmbedding == m.tensor("token_embd.weight")?.values)
        #expect(w.output == m.tensor("output.weight")?.values)
        #expect(w.outputNorm == m.tensor("output_norm.weight")?.values)
        #expect(w.layers.count == 2)
        #expect(w.layers[1].wq == m.tensor("blk.1.attn_q.weight")?.values)
        #expect(w.layers[1].wDown == m.tensor("blk.1.ffn_down.weight")?.values)
        #expect(w.layers[0].wk.count == c.nKVHeads * c.headDim * c.dim)
        // Quantized weights stay close to what was drawn: about N(0, 1/dim), no blow-ups.
        #expect(w.layers[0].wGate.allSatisfy { $0.isFinite && abs($0) < 2 })
    }

    @Test("tied output has no output.weight and reuses the embedding")
    func tied() throws {
        let m = try TinyModel()
        #expect(m.tensor("output.weight") == nil)
        #expect(m.weights.output == m.weights.tokenEmbedding)
        try withGGUF(m.bytes) { f in
            #expect(f.tensor("output.weight") == nil)
            #expect(f.tensors.count == 2 + 9 * m.config.nLayers)
        }
    }

    @Test("the same seed gives the same bytes; another seed other weights")
    func deterministic() throws {
        let a = try TinyModel(.init(seed: 42)), b = try TinyModel(.init(seed: 42)), c = try TinyModel(.init(seed: 43))
        #expect(a.bytes == b.bytes)
        #expect(a.bytes != c.bytes)
        #expect(a.bytes.count == c.bytes.count)
    }

    @Test("another alignment and a separate embedding type")
    func alignmentAndEmbeddingType() throws {
        var c = TinyModel.Config(weightType: .q4_1)
        c.alignment = 64
        c.embeddingType = .q8_0
        let m = try TinyModel(c)
        try withGGUF(m.bytes) { f in
            #expect(f.alignment == 64)
            #expect(f.tensors.allSatisfy { $0.offset % 64 == 0 })
            #expect(f.tensor("token_embd.weight")?.type == .q8_0)
            #expect(f.tensor("blk.0.ffn_up.weight")?.type == .q4_1)
        }
    }

    @Test("impossible configurations throw")
    func rejects() {
        #expect(throws: GGUFError.self) { try TinyModel(.init(weightType: .q4_K)) }          // no quantizer
        #expect(throws: GGUFError.self) { try TinyModel(.init(dim: 48, nHeads: 4, nKVHeads: 2, weightType: .q8_0)) }  // 48 % 32
        #expect(throws: GGUFError.self) { try TinyModel(.init(dim: 64, nHeads: 3)) }
        #expect(throws: GGUFError.self) { try TinyModel(.init(nHeads: 4, nKVHeads: 3)) }
    }

    @Test("write(in:) writes a file the reader opens")
    func writes() throws {
        let dir = try TemporaryDirectory()
        let m = try TinyModel()
        let path = try m.write(in: dir)
        #expect(try GGUFFile(path: path).tensors.count == m.tensors.count)
    }
}
