import Foundation
import HearthGGUF
import HearthKernels
import HearthTestSupport
import Testing

/// The real SmolLM2-135M-Instruct Q4_1 file from the model cache of scripts/fetch-models.sh
/// ($HEARTH_MODEL_CACHE or ~/.cache/hearth/models). Skipped, with a message, when absent, unless
/// HEARTH_REQUIRE_MODELS=1 (scripts/test.sh) makes a missing file a failure.
@Suite("The real SmolLM2 file")
struct RealModelTests {
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let available = TestPaths.modelsRequired || FileManager.default.fileExists(atPath: TestPaths.modelCache + "/" + fileName)

    @Test("reads every tensor and the llama hyperparameters",
          .enabled(if: available, "SmolLM2-135M-Instruct.Q4_1.gguf is not in the model cache; run scripts/fetch-models.sh"))
    func smolLM2() throws {
        let f = try GGUFFile(path: try #require(try TestPaths.model(Self.fileName)))
        #expect(f.version == 3)
        #expect(f.architecture == "llama")
        // 30 blocks of 9 tensors, token_embd and output_norm; the output projection is tied
        // to token_embd, so there is no output.weight: 272 tensors.
        #expect(f.tensors.count == 272)
        #expect(f.tensor("output.weight") == nil)
        #expect(f.int("llama.block_count") == 30)
        #expect(f.int("llama.embedding_length") == 576)
        #expect(f.int("llama.feed_forward_length") == 1536)
        #expect(f.int("llama.attention.head_count") == 9)
        #expect(f.int("llama.attention.head_count_kv") == 3)
        #expect(f.int("llama.context_length") == 8192)
        #expect(f.double("llama.rope.freq_base") == 100000)
        #expect(f.string("tokenizer.ggml.model") == "gpt2")
        #expect(f.string("tokenizer.ggml.pre") == "smollm")
        #expect(f.array("tokenizer.ggml.tokens")?.count == 49152)
        #expect(f.array("tokenizer.ggml.tokens")?.first?.string == "<|endoftext|>")
        #expect(f.int("tokenizer.ggml.bos_token_id") == 1 && f.int("tokenizer.ggml.eos_token_id") == 2)
        #expect(f.bool("tokenizer.ggml.add_bos_token") == false)

        let embd = try #require(f.tensor("token_embd.weight"))
        #expect(embd.type == .q8_0)
        #expect(embd.shape == [576, 49152])
        let down = try #require(f.tensor("blk.0.ffn_down.weight"))
        #expect(down.type == .q4_1 && down.shape == [1536, 576])
        #expect(f.tensor("blk.29.attn_k.weight")?.shape == [576, 192])
        #expect(f.tensor("blk.0.attn_norm.weight")?.type == .f32)

        for t in f.tensors {
            #expect(f.dataOffset + t.offset + t.byteCount <= f.fileSize, "\(t.name)")
        }
        // A row of each quantized type dequantizes to finite, plausibly sized weights.
        for t in [embd, down] {
            let rowBytes = try #require(t.type.traits.bytes(forElements: t.shape[0]))
            let row = dequantize(Array(f.data(of: t).prefix(rowBytes)), as: t.type, count: t.shape[0])
            #expect(row.allSatisfy { $0.isFinite && abs($0) < 100 }, "\(t.name)")
            #expect(row.contains { $0 != 0 }, "\(t.name)")
        }
    }
}

/// The writer against files llama.cpp's tools wrote: reading every real model and writing it
/// back through `GGUFWriter` must give the same bytes, so what Hearth writes is laid out as
/// llama.cpp (and gguf-py) lay it out, and loads where they load.
struct RealModelRewriteTests {
    @Test(arguments: ["SmolLM2-135M-Instruct.Q4_1.gguf", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "gemma-3-270m-q4_k_m.gguf"])
    func rewritingARealModelGivesTheSameBytes(fileName: String) throws {
        guard let path = try TestPaths.model(fileName) else { return }
        let original = try GGUFFile(path: path)
        var writer = GGUFWriter()
        for key in original.metadataKeys { writer.set(key, original.metadata[key]!) }
        for t in original.tensors {
            try writer.addTensor(t.name, shape: t.shape, type: t.type, data: [UInt8](original.data(of: t)))
        }
        let rewritten = writer.serialized()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        #expect(rewritten.count == bytes.count, "\(fileName): rewritten \(rewritten.count) bytes, original \(bytes.count)")
        let firstDifference = zip(rewritten, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "\(fileName): first differing byte at offset \(firstDifference ?? -1)")
    }
}
