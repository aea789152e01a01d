import Foundation
import HearthQuantize
import HearthTestSupport
import Testing

/// `hearth convert`'s parts against their written specs: the safetensors layout (8-byte
/// little-endian header length, JSON header, data), llama.cpp's query/key row order, and the
/// folder checks. scripts/test-convert.py checks whole conversions against transformers.
@Suite struct ConvertTests {
    /// A safetensors file as the format describes it, written here byte by byte.
    static func safetensors(_ tensors: [(name: String, dtype: String, shape: [Int], data: [UInt8])],
                            claimedHeaderLength: Int? = nil, dropTail: Int = 0) -> [UInt8] {
        var header: [String: Any] = ["__metadata__": ["format": "pt"]]
        var offset = 0
        for t in tensors {
            header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.data.count]]
            offset += t.data.count
        }
        var json = [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        let length = UInt64(claimedHeaderLength ?? json.count)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + json
        for t in tensors { bytes += t.data }
        return Array(bytes.dropLast(dropTail))
    }

    static func f32Bytes(_ x: [Float]) -> [UInt8] { x.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt32($0))) } } }

    @Test func readsTensorsAsTheHeaderPlacesThem() throws {
        let dir = try TemporaryDirectory()
        let a: [Float] = [1, -2, 3.5, 0, 1e-3, 65504]
        // bfloat16 is the upper half of the f32 bits: 1.0 = 0x3f80, -2.0 = 0xc000.
        let b: [UInt8] = [0x80, 0x3f, 0x00, 0xc0]
        let path = try dir.write(Self.safetensors([("b", "BF16", [2], b), ("a", "F32", [2, 3], Self.f32Bytes(a))]), to: "m.safetensors")
        let file = try SafetensorsFile(path: path)
        #expect(Set(file.tensors.keys) == ["a", "b"], "__metadata__ is not a tensor")
        let ta = try #require(file.tensors["a"]), tb = try #require(file.tensors["b"])
        #expect(ta.shape == [2, 3] && ta.dtype == "F32")
        #expect(try file.floats(ta) == a)
        #expect(try file.floats(tb) == [1, -2])
        #expect(file.bytes(tb) == b)
    }

    @Test func refusesBrokenFilesByName() throws {
        let dir = try TemporaryDirectory()
        let good: [(String, String, [Int], [UInt8])] = [("w", "F32", [4], Self.f32Bytes([1, 2, 3, 4]))]
        func message(_ bytes: [UInt8]) throws -> String {
            let path = try dir.write(bytes, to: "x.safetensors")
            do { _ = try SafetensorsFile(path: path); return "accepted" } catch { return error.message }
        }
        #expect(try message(Self.safetensors(good, dropTail: 4)).contains("truncated"))
        #expect(try message(Self.safetensors(good, claimedHeaderLength: 1 << 40)).contains("not a safetensors file"))
        #expect(try message([1, 2, 3]).contains("not a safetensors file"))
        #expect(try message(Self.safetensors([("w", "F32", [5], Self.f32Bytes([1, 2, 3, 4]))])).contains("should take"))
        #expect(try message(Self.safetensors([("w", "Q9", [4], Self.f32Bytes([1, 2, 3, 4]))])).contains("unknown dtype"))
        var notJSON = Self.safetensors(good)
        notJSON[8] = UInt8(ascii: "[")
        #expect(try message(notJSON).contains("not a JSON object") || message(notJSON).contains("not JSON"))
    }

    /// llama.cpp's `permute`: `w.reshape(heads, 2, d/2, cols).swapaxes(1, 2).reshape(rows, cols)`,
    /// computed here on nested arrays.
    @Test func ropeRowsAreInterleavedAsLlamaCppPermutes() {
        let heads = 3, headRows = 4, cols = 5
        let w = (0..<(heads * headRows * cols)).map { Float($0) }
        let nested = (0..<heads).map { h in (0..<2).map { p in (0..<(headRows / 2)).map { i in
            Array(w[((h * headRows + p * headRows / 2 + i) * cols)..<((h * headRows + p * headRows / 2 + i + 1) * cols)]) } } }
        let swapped = nested.map { head in (0..<(headRows / 2)).map { i in (0..<2).map { p in head[p][i] } } }
        let expected = swapped.flatMap { $0.flatMap { $0.flatMap { $0 } } }
        #expect(HuggingFaceConversion.interleaveRopePairs(w, heads: heads, rowLength: cols) == expected)
    }

    @Test func aFolderMissingLayersIsRefusedBeforeWriting() throws {
        let dir = try TemporaryDirectory()
        let config: [String: Any] = ["architectures": ["LlamaForCausalLM"], "hidden_size": 4, "num_hidden_layers": 2,
                                     "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 8,
                                     "max_position_embeddings": 64, "tie_word_embeddings": true]
        _ = try dir.write([UInt8](try JSONSerialization.data(withJSONObject: config)), to: "config.json")
        _ = try dir.write(Self.safetensors([("model.embed_tokens.weight", "F32", [2, 4], Self.f32Bytes(Array(repeating: 0, count: 8))),
                                            ("model.norm.weight", "F32", [4], Self.f32Bytes([1, 1, 1, 1]))]), to: "model.safetensors")
        do {
            _ = try HuggingFaceConversion(directory: dir.path)
            Issue.record("a folder without layers was accepted")
        } catch {
            #expect(error.message.contains("lacks 18 tensors") && error.message.contains("blk.0.attn_norm.weight"), "\(error.message)")
        }
    }
}
