import Foundation
import HearthGGUF
import HearthHub
import HearthKernels
import HearthQuantize
import HearthTestSupport
import Testing

@Suite struct QuantizeTests {
    /// A tiny F32 model file (untied output, so both token_embd and output exist).
    func tiny(_ dir: TemporaryDirectory, tied: Bool = false) throws -> GGUFFile {
        var config = TinyModel.Config()
        config.tiedOutput = tied
        return try GGUFFile(path: try TinyModel(config).write(in: dir, as: tied ? "tied.gguf" : "tiny.gguf"))
    }

    func plan(_ file: GGUFFile, _ type: String, _ configure: (inout QuantizePlan.Options) -> Void = { _ in }) throws -> QuantizePlan {
        var options = QuantizePlan.Options(type: try QuantizeType.named(type))
        configure(&options)
        return try QuantizePlan(file: file, options: options)
    }

    func target(_ plan: QuantizePlan, _ name: String) -> TensorType? { plan.entries.first { $0.tensor.name == name }?.target }

    @Test func theRecipeFollowsLlamaQuantizesRules() throws {
        let dir = try TemporaryDirectory()
        let file = try tiny(dir)
        let p = try plan(file, "q4_0")
        #expect(target(p, "blk.0.attn_q.weight") == .q4_0)
        #expect(target(p, "token_embd.weight") == .q4_0, "with a separate output, the embedding takes the main type")
        #expect(target(p, "output.weight") == .q8_0, "the output tensor is q8_0 (llama-quantize's q6_K only for rows of 256)")
        #expect(target(p, "blk.0.attn_norm.weight") == .f32, "one-dimensional tensors stay")
        let tied = try plan(try tiny(dir, tied: true), "q5_1")
        #expect(target(tied, "token_embd.weight") == .q8_0, "a tied embedding is the output tensor")
        let f16 = try plan(file, "f16")
        #expect(target(f16, "output.weight") == .f16 && target(f16, "blk.0.ffn_up.weight") == .f16)
        let overridden = try plan(file, "q4_0") {
            $0.outputTensorType = .f16
            $0.tokenEmbeddingType = .q8_0
            $0.tensorTypes = [("ffn_(up|gate)", .q5_0), ("attn_.*", .q8_0)]
        }
        #expect(target(overridden, "output.weight") == .f16)
        #expect(target(overridden, "token_embd.weight") == .q8_0)
        #expect(target(overridden, "blk.1.ffn_up.weight") == .q5_0 && target(overridden, "blk.1.ffn_gate.weight") == .q5_0)
        #expect(target(overridden, "blk.1.attn_k.weight") == .q8_0)
        #expect(target(overridden, "blk.1.ffn_down.weight") == .q4_0)
    }

    /// llama-quant.cpp's rules for Q2_K and the Q3_K mixes (the written spec, restated):
    /// attn_v, attn_output and ffn_down get more bits; Q2_K's attn_v is q4_K when 4 or more
    /// query heads share a key head.
    @Test func theLowBitMixesGiveSensitiveTensorsMoreBits() throws {
        let dir = try TemporaryDirectory()
        func model(kvHeads: Int) throws -> GGUFFile {
            var config = TinyModel.Config()
            (config.dim, config.ff, config.nHeads, config.nKVHeads, config.tiedOutput) = (256, 256, 8, kvHeads, false)
            return try GGUFFile(path: try TinyModel(config).write(in: dir, as: "kv\(kvHeads).gguf"))
        }
        let grouped = try model(kvHeads: 2), wide = try model(kvHeads: 4)
        let q2 = try plan(grouped, "Q2_K")
        #expect(target(q2, "blk.1.attn_q.weight") == .q2_K && target(q2, "blk.1.ffn_up.weight") == .q2_K)
        #expect(target(q2, "blk.0.attn_v.weight") == .q4_K, "8 query heads over 2 key heads")
        #expect(target(try plan(wide, "Q2_K"), "blk.0.attn_v.weight") == .q3_K, "8 query heads over 4 key heads")
        #expect(target(q2, "blk.1.ffn_down.weight") == .q3_K && target(q2, "blk.1.attn_output.weight") == .q3_K)
        #expect(target(q2, "output.weight") == .q6_K)
        let s = try plan(grouped, "Q3_K_S")
        #expect(["blk.0.attn_v.weight", "blk.1.ffn_down.weight", "blk.1.attn_output.weight", "token_embd.weight"].allSatisfy { target(s, $0) == .q3_K })
        let m = try plan(grouped, "Q3_K_M")
        #expect(target(m, "blk.1.attn_v.weight") == .q5_K, "the first two attn_v")
        #expect(target(m, "blk.1.ffn_down.weight") == .q4_K && target(m, "blk.0.attn_output.weight") == .q4_K)
        #expect(target(m, "blk.0.ffn_gate.weight") == .q3_K)
        let l = try plan(grouped, "Q3_K_L")
        #expect(["blk.1.attn_v.weight", "blk.0.ffn_down.weight", "blk.1.attn_output.weight"].allSatisfy { target(l, $0) == .q5_K })
        #expect(target(l, "blk.1.attn_k.weight") == .q3_K)
        let narrow = try plan(try tiny(dir), "Q3_K_S")
        #expect(target(narrow, "blk.0.attn_q.weight") == .q4_0, "rows of 64 cannot hold q3_K's blocks of 256: q4_0, as llama-quantize")
    }

    @Test func rowsThatDoNotFillBlocksFallBackToF16() throws {
        let dir = try TemporaryDirectory()
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        try w.addTensor("blk.0.odd.weight", shape: [48, 4], floats: (0..<192).map { Float($0) / 100 })
        try w.addTensor("blk.0.even.weight", shape: [64, 2], floats: (0..<128).map { Float($0) / 100 })
        let path = dir.file("odd.gguf")
        try w.write(to: path)
        let p = try plan(try GGUFFile(path: path), "q4_1")
        #expect(target(p, "blk.0.odd.weight") == .f16)
        #expect(p.entries.first { $0.tensor.name == "blk.0.odd.weight" }?.note?.contains("f16") == true)
        #expect(target(p, "blk.0.even.weight") == .q4_1)
    }

    @Test func requantizingNeedsToBeAskedFor() throws {
        let dir = try TemporaryDirectory()
        var config = TinyModel.Config()
        config.weightType = .q8_0
        let file = try GGUFFile(path: try TinyModel(config).write(in: dir))
        #expect(throws: QuantizeError.self) { try plan(file, "q4_0") }
        let p = try plan(file, "q4_0") { $0.allowRequantize = true }
        #expect(!p.requantized.isEmpty)
    }

    @Test(arguments: ["q2_k_s", "iq2_xs", "q3", "Q7_K", ""])
    func unknownOrUnbuiltTypesAreRefusedByName(name: String) {
        do {
            _ = try QuantizeType.named(name)
            Issue.record("accepted '\(name)'")
        } catch {
            #expect(error.message.contains(name.uppercased().isEmpty ? "unknown" : name.uppercased()) || error.message.contains("'\(name)'"))
        }
    }

    /// Every tensor of the output is the weight quantizer applied to the source tensor's
    /// dequantized floats (the independent path: the format table, called here), or the
    /// source bytes when the type does not change.
    @Test(arguments: ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "f16", "bf16"])
    func outputTensorsAreTheReferenceQuantizersBytes(type: String) throws {
        let dir = try TemporaryDirectory()
        let source = try tiny(dir)
        let p = try plan(source, type)
        let out = dir.file("out.gguf")
        try Quantizer.run(source: source, plan: p, fileType: try QuantizeType.named(type).fileType,
                          provenance: [("hearth.quantize.recipe", .string("test"))], to: out, threads: 2)
        let result = try GGUFFile(path: out)
        #expect(result.int("general.file_type") == Int(try QuantizeType.named(type).fileType))
        #expect(result.string("hearth.quantize.recipe") == "test")
        #expect(result.string("general.architecture") == source.string("general.architecture"))
        for e in p.entries {
            let t = try #require(result.tensor(e.tensor.name))
            #expect(t.type == e.target && t.shape == e.tensor.shape)
            let floats = dequantize(Array(source.data(of: e.tensor)), as: e.tensor.type, count: e.tensor.elementCount)
            let expected: [UInt8]
            if e.copies {
                expected = Array(source.data(of: e.tensor))
            } else {
                let q = try #require(e.target.traits.quantizeWeights)
                var bytes = [UInt8](repeating: 0, count: try #require(e.target.traits.bytes(forElements: floats.count)))
                floats.withUnsafeBufferPointer { src in bytes.withUnsafeMutableBytes { q(src.baseAddress!, $0.baseAddress!, floats.count) } }
                expected = bytes
            }
            #expect(Array(result.data(of: t)) == expected, "\(e.tensor.name) as \(e.target)")
        }
    }

    @Test func aFailedWriteLeavesNothingBehind() throws {
        let dir = try TemporaryDirectory()
        var w = GGUFWriter()
        try w.declareTensor("a.weight", shape: [32, 2], type: .f32)
        struct Stop: Error {}
        let path = dir.file("broken.gguf")
        #expect(throws: Stop.self) { try w.write(to: path) { _, _ in throw Stop() } }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// The issue's oracle: an F16 file made from the published SmolLM2 Q4_1 file, quantized back
    /// to Q4_1, reproduces every tensor of the published file byte for byte.
    @Test func smolLM2RoundTripsThroughF16ByteForByte() throws {
        guard let path = try TestPaths.model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let dir = try TemporaryDirectory()
        let original = try GGUFFile(path: path)
        let f16Plan = try plan(original, "f16") { $0.allowRequantize = true }
        try Quantizer.run(source: original, plan: f16Plan, fileType: 1, provenance: [], to: dir.file("f16.gguf"), threads: 2)
        let f16 = try GGUFFile(path: dir.file("f16.gguf"))
        #expect(f16.tensors.filter { $0.type.traits.isQuantized }.isEmpty)
        try Quantizer.run(source: f16, plan: try plan(f16, "q4_1"), fileType: 3, provenance: [], to: dir.file("q4_1.gguf"), threads: 2)
        let back = try GGUFFile(path: dir.file("q4_1.gguf"))
        var differing: [String] = []
        for t in original.tensors {
            guard let b = back.tensor(t.name), b.type == t.type, Array(back.data(of: b)) == Array(original.data(of: t)) else {
                differing.append(t.name)
                continue
            }
        }
        #expect(differing.isEmpty, "\(differing.count) of \(original.tensors.count) tensors differ, such as \(differing.prefix(3))")
    }
}

/// llama-quantize's own output as the oracle: for every type Hearth makes, each tensor of
/// `hearth quantize` has the type and the bytes (sha256) llama-quantize gave it from the same
/// F16 file (Golden/llama-quantize-smollm2.json, made by scripts/make-quantize-llama-goldens.py).
@Suite struct AgainstLlamaQuantize {
    struct Golden: Decodable {
        let source_sha256: String
        let cases: [String: [String: String]]
    }

    @Test func everyTensorMatchesLlamaQuantizeForEveryType() throws {
        guard let path = try TestPaths.model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let url = try #require(Bundle.module.url(forResource: "Golden/llama-quantize-smollm2", withExtension: "json"))
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        let dir = try TemporaryDirectory()
        let original = try GGUFFile(path: path)
        var f16Options = QuantizePlan.Options(type: try QuantizeType.named("F16"))
        f16Options.allowRequantize = true
        try Quantizer.run(source: original, plan: try QuantizePlan(file: original, options: f16Options), fileType: 1,
                          provenance: [], to: dir.file("f16.gguf"), threads: 2)
        let f16 = try GGUFFile(path: dir.file("f16.gguf"))
        #expect(golden.cases.count == 14)
        for (type, expected) in golden.cases.sorted(by: { $0.key < $1.key }) {
            let t = try QuantizeType.named(type)
            let out = dir.file("\(type).gguf")
            try Quantizer.run(source: f16, plan: try QuantizePlan(file: f16, options: .init(type: t)), fileType: t.fileType,
                              provenance: [], to: out, threads: 2)
            let result = try GGUFFile(path: out)
            var differing: [String] = []
            for tensor in result.tensors {
                let got = "\(tensor.type.description.lowercased()):\(Digest.of(Data(result.data(of: tensor))).hex.prefix(32))"
                if expected[tensor.name] != got { differing.append("\(tensor.name) \(got) vs \(expected[tensor.name] ?? "missing")") }
            }
            #expect(differing.isEmpty && result.tensors.count == expected.count,
                    "\(type): \(differing.count) of \(expected.count) tensors differ from llama-quantize's, such as \(differing.prefix(2))")
            try FileManager.default.removeItem(atPath: out)
        }
    }
}
