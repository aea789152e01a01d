import HearthKernels
import Testing

/// The traits table against ggml's own numbers (ggml.c `type_traits`, ggml-common.h block
/// structs): names, type ids, block geometry and dot partners. A file Hearth writes must load
/// in llama.cpp and the other way round, so these may never drift.
@Suite("Format traits table")
struct FormatTraitsTests {
    struct Fact: Sendable, CustomStringConvertible {
        let type: TensorType, name: String, ggmlID: UInt32, blockSize: Int, blockBytes: Int, partner: TensorType
        var description: String { name }
    }

    static let ggml: [Fact] = [
        Fact(type: .f32, name: "f32", ggmlID: 0, blockSize: 1, blockBytes: 4, partner: .f32),
        Fact(type: .f16, name: "f16", ggmlID: 1, blockSize: 1, blockBytes: 2, partner: .f32),
        Fact(type: .q4_0, name: "q4_0", ggmlID: 2, blockSize: 32, blockBytes: 18, partner: .q8_0),
        Fact(type: .q4_1, name: "q4_1", ggmlID: 3, blockSize: 32, blockBytes: 20, partner: .q8_1),
        Fact(type: .q5_0, name: "q5_0", ggmlID: 6, blockSize: 32, blockBytes: 22, partner: .q8_0),
        Fact(type: .q5_1, name: "q5_1", ggmlID: 7, blockSize: 32, blockBytes: 24, partner: .q8_1),
        Fact(type: .q8_0, name: "q8_0", ggmlID: 8, blockSize: 32, blockBytes: 34, partner: .q8_0),
        Fact(type: .q8_1, name: "q8_1", ggmlID: 9, blockSize: 32, blockBytes: 36, partner: .q8_1),
        Fact(type: .q2_K, name: "q2_K", ggmlID: 10, blockSize: 256, blockBytes: 84, partner: .q8_K),
        Fact(type: .q3_K, name: "q3_K", ggmlID: 11, blockSize: 256, blockBytes: 110, partner: .q8_K),
        Fact(type: .q4_K, name: "q4_K", ggmlID: 12, blockSize: 256, blockBytes: 144, partner: .q8_K),
        Fact(type: .q5_K, name: "q5_K", ggmlID: 13, blockSize: 256, blockBytes: 176, partner: .q8_K),
        Fact(type: .q6_K, name: "q6_K", ggmlID: 14, blockSize: 256, blockBytes: 210, partner: .q8_K),
        Fact(type: .q8_K, name: "q8_K", ggmlID: 15, blockSize: 256, blockBytes: 292, partner: .q8_K),
        Fact(type: .bf16, name: "bf16", ggmlID: 30, blockSize: 1, blockBytes: 2, partner: .f32),
    ]

    @Test("the table has exactly ggml's formats")
    func everyFormat() {
        #expect(Set(TensorType.allCases) == Set(Self.ggml.map(\.type)))
    }

    @Test("geometry, id, name and partner match ggml", arguments: ggml)
    func matchesGGML(_ f: Fact) {
        let t = f.type.traits
        #expect(t.type == f.type)
        #expect(f.type.rawValue == f.ggmlID)
        #expect(t.name == f.name)
        #expect(f.type.description == f.name)
        #expect(t.blockSize == f.blockSize)
        #expect(t.blockBytes == f.blockBytes)
        #expect(t.dotPartner == f.partner)
        #expect(t.isQuantized == (f.blockSize > 1))
        #expect(t.bitsPerWeight == Double(f.blockBytes * 8) / Double(f.blockSize))
        #expect(TensorType(rawValue: f.ggmlID) == f.type)
        #expect(TensorType(name: f.name.uppercased()) == f.type, "lookup by name is case-insensitive")
        #expect(ggmlTypeName(f.ggmlID) == f.name)
    }

    @Test("bytes(forElements:) counts whole blocks and rejects the rest", arguments: ggml)
    func bytesForElements(_ f: Fact) {
        let t = f.type.traits
        #expect(t.bytes(forElements: 0) == 0)
        #expect(t.bytes(forElements: f.blockSize) == f.blockBytes)
        #expect(t.bytes(forElements: 7 * f.blockSize) == 7 * f.blockBytes)
        #expect(t.bytes(forElements: -f.blockSize) == nil)
        #expect(t.bytes(forElements: Int.max / f.blockSize * f.blockSize) == nil || f.blockBytes <= f.blockSize,
                "overflow must give nil, not wrap")
        if f.blockSize > 1 {
            #expect(t.bytes(forElements: 1) == nil)
            #expect(t.bytes(forElements: f.blockSize + 1) == nil)
            #expect(t.bytes(forElements: f.blockSize - 1) == nil)
            #expect(t.bytes(forElements: 3 * f.blockSize + f.blockSize / 2) == nil)
        }
    }

    @Test("quantizers exist for the activation and float formats")
    func quantizers() {
        for t in TensorType.allCases {
            let expected: Set<TensorType> = [.f32, .f16, .bf16, .q8_0, .q8_1, .q8_K]
            #expect((t.traits.quantize != nil) == expected.contains(t), "\(t)")
        }
    }

    @Test("ggml type ids Hearth does not compute with still have names")
    func otherNames() {
        #expect(ggmlTypeName(16) == "iq2_xxs")
        #expect(ggmlTypeName(23) == "iq4_xs")
        #expect(ggmlTypeName(39) == "mxfp4")
        #expect(ggmlTypeName(4) == "q4_2 (removed)")
        #expect(ggmlTypeName(1000) == "unknown type 1000")
        #expect(TensorType(name: "iq2_xxs") == nil)
    }
}
