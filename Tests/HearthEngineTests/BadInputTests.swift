import Foundation
import HearthEngine
import HearthGGUF
import HearthKernels
import HearthTestSupport
import Testing

/// Damaged or unsupported model files and requests give an `EngineError` that names the problem.
struct BadInputTests {
    /// The error of loading the tiny model rewritten through `edit` (which may change metadata
    /// and tensors), or nil when it loads.
    static func loadError(_ edit: (inout [(String, GGUFValue)], inout [(name: String, shape: [Int], type: TensorType, data: [UInt8])]) -> Void) throws -> String? {
        let dir = try TemporaryDirectory()
        let original = try TinyModel().write(in: dir, as: "original.gguf")
        let file = try GGUFFile(path: original)
        var metadata = file.metadataKeys.map { ($0, file.metadata[$0]!) }
        var tensors = file.tensors.map { t in (name: t.name, shape: t.shape, type: t.type, data: [UInt8](file.data(of: t))) }
        edit(&metadata, &tensors)
        var w = GGUFWriter()
        for (k, v) in metadata { w.set(k, v) }
        for t in tensors { try w.addTensor(t.name, shape: t.shape, type: t.type, data: t.data) }
        let path = dir.path + "/variant.gguf"
        try w.write(to: path)
        return withExtendedLifetime(dir) {
            do { _ = try loadNetwork(try GGUFFile(path: path)); return nil } catch { return "\(error)" }
        }
    }

    @Test func missingTensorIsNamed() throws {
        let message = try #require(try Self.loadError { _, t in t.removeAll { $0.name == "blk.1.ffn_up.weight" } })
        #expect(message.contains("blk.1.ffn_up.weight"), "\(message)")
    }

    @Test func misshapenTensorIsNamedWithBothShapes() throws {
        let message = try #require(try Self.loadError { _, t in
            let i = t.firstIndex { $0.name == "blk.0.attn_q.weight" }!
            t[i].shape = [t[i].shape[0], t[i].shape[1] / 2]
            t[i].data = Array(t[i].data.prefix(t[i].data.count / 2))
        })
        #expect(message.contains("blk.0.attn_q.weight") && message.contains("[64, 32]") && message.contains("[64, 64]"), "\(message)")
    }

    @Test func unknownArchitectureIsNamed() throws {
        let message = try #require(try Self.loadError { m, _ in
            let i = m.firstIndex { $0.0 == "general.architecture" }!
            m[i].1 = .string("mamba9")
        })
        #expect(message.contains("mamba9") && message.contains("llama"), "\(message)")
    }

    @Test func missingHyperparameterIsNamed() throws {
        let message = try #require(try Self.loadError { m, _ in m.removeAll { $0.0 == "llama.block_count" } })
        #expect(message.contains("llama.block_count"), "\(message)")
    }

    @Test func promptLongerThanTheContextNamesBothNumbers() throws {
        let dir = try TemporaryDirectory()
        let network = try loadNetwork(try GGUFFile(path: try TinyModel().write(in: dir)))
        let session = try Session(network: network, contextSize: 16, threads: 1)
        do {
            try session.evaluate([Int32](repeating: 5, count: 20))
            Issue.record("a 20-token prompt fit a 16-token context")
        } catch {
            #expect(error.message.contains("20") && error.message.contains("16"), "\(error)")
        }
        #expect(session.tokens.isEmpty, "a rejected prompt left tokens in the session")
    }

    @Test func tokenOutsideTheVocabularyIsRejected() throws {
        let dir = try TemporaryDirectory()
        let network = try loadNetwork(try GGUFFile(path: try TinyModel().write(in: dir)))
        let session = try Session(network: network, contextSize: 16, threads: 1)
        #expect(throws: EngineError.self) { try session.evaluate([1, 99_999]) }
        #expect(throws: EngineError.self) { try session.evaluate([-1]) }
    }
}
