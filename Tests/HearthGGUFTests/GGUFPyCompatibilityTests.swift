import Foundation
import HearthGGUF
import HearthKernels
import Testing

/// A file written by gguf-py's GGUFWriter (Golden/gguf-py-written.gguf, made by
/// scripts/make-kernel-goldens.py with every value type, nested arrays, alignment 64 and
/// tensors of several types) must read back value for value and byte for byte as the script
/// recorded in Golden/gguf-py-written.json; and Hearth's writer, given the same contents, must
/// write the very same bytes.
@Suite("Compatibility with gguf-py")
struct GGUFPyCompatibilityTests {
    struct Expected: Decodable {
        struct Meta: Decodable {
            let key: String
            let type: String
            let value: JSONValue
            let elementType: String?
        }
        struct Tensor: Decodable {
            let name: String
            let type: String
            let shape: [Int]
            let offset: Int
            let data: String
        }
        let ggufVersion: String
        let alignment: Int
        let version: Int
        let dataOffset: Int
        let fileSize: Int
        let metadata: [Meta]
        let tensors: [Tensor]
    }

    /// A metadata value as the script writes it: a string for scalars, a list of
    /// {type, value, element_type} objects for arrays.
    indirect enum JSONValue: Decodable {
        case scalar(String)
        case array([Expected.Meta.Inner])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .scalar(s) } else { self = .array(try c.decode([Expected.Meta.Inner].self)) }
        }
    }

    static func load() throws -> (Expected, GGUFFile, [UInt8]) {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let expected = try decoder.decode(Expected.self, from: Data(contentsOf: try Golden.url("gguf-py-written.json")))
        let path = try Golden.url("gguf-py-written.gguf").path
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        return (expected, try GGUFFile(path: path), bytes)
    }

    @Test("header, alignment and data offset are what gguf-py wrote")
    func header() throws {
        let (e, f, bytes) = try Self.load()
        #expect(Int(f.version) == e.version)
        #expect(f.alignment == e.alignment)
        #expect(f.dataOffset == e.dataOffset)
        #expect(f.fileSize == e.fileSize && bytes.count == e.fileSize)
    }

    @Test("every metadata value reads as gguf-py wrote it, in order")
    func metadata() throws {
        let (e, f, _) = try Self.load()
        #expect(f.metadataKeys == e.metadata.map(\.key))
        for m in e.metadata {
            let want = try value(type: m.type, elementType: m.elementType, m.value, key: m.key)
            let got = try #require(f.metadata[m.key], "\(m.key) missing")
            #expect(sameValue(got, want), "\(m.key): read \(got), gguf-py wrote \(want)")
        }
    }

    @Test("every tensor's name, shape, type, offset and bytes are what gguf-py wrote")
    func tensors() throws {
        let (e, f, _) = try Self.load()
        #expect(f.tensors.map(\.name) == e.tensors.map(\.name))
        for t in e.tensors {
            let info = try #require(f.tensor(t.name))
            #expect(info.shape == t.shape, "\(t.name)")
            #expect(info.type.description == t.type, "\(t.name)")
            #expect(info.offset == t.offset, "\(t.name)")
            let data = try #require(Data(base64Encoded: t.data))
            #expect(Array(f.data(of: info)) == [UInt8](data), "\(t.name) bytes")
        }
    }

    @Test("Hearth's writer reproduces gguf-py's file byte for byte")
    func writerMatches() throws {
        let (_, f, bytes) = try Self.load()
        var w = GGUFWriter()
        for k in f.metadataKeys { w.set(k, f.metadata[k]!) }
        for t in f.tensors { try w.addTensor(t.name, shape: t.shape, type: t.type, data: Array(f.data(of: t))) }
        let mine = w.serialized()
        #expect(mine.count == bytes.count, "Hearth wrote \(mine.count) bytes, gguf-py \(bytes.count)")
        let firstDifference = mine.indices.first { $0 >= bytes.count || mine[$0] != bytes[$0] }
        #expect(firstDifference == nil, "first difference at byte \(firstDifference ?? -1)")
    }

    private func value(type: String, elementType: String?, _ v: JSONValue, key: String) throws -> GGUFValue {
        switch (type, v) {
        case ("arr", .array(let items)):
            let et = try #require(valueType(elementType ?? ""), "\(key): element type \(elementType ?? "nil")")
            return .array(et, try items.map { try value(type: $0.type, elementType: $0.elementType, $0.value, key: key) })
        case (_, .scalar(let s)):
            switch type {
            case "u8": return .uint8(try #require(UInt8(s)))
            case "i8": return .int8(try #require(Int8(s)))
            case "u16": return .uint16(try #require(UInt16(s)))
            case "i16": return .int16(try #require(Int16(s)))
            case "u32": return .uint32(try #require(UInt32(s)))
            case "i32": return .int32(try #require(Int32(s)))
            case "u64": return .uint64(try #require(UInt64(s)))
            case "i64": return .int64(try #require(Int64(s)))
            case "f32": return .float32(Float(bitPattern: try #require(UInt32(s.dropFirst(2), radix: 16))))
            case "f64": return .float64(Double(bitPattern: try #require(UInt64(s.dropFirst(2), radix: 16))))
            case "bool": return .bool(s == "true")
            case "str": return .string(s)
            default: throw GGUFError("\(key): unknown type \(type) in the golden")
            }
        default: throw GGUFError("\(key): malformed golden value")
        }
    }

    private func valueType(_ name: String) -> GGUFValueType? {
        GGUFValueType.allCases.first { $0.name == name }
    }
}

extension GGUFPyCompatibilityTests.Expected.Meta {
    /// An array item: like a metadata entry without a key.
    struct Inner: Decodable {
        let type: String
        let value: GGUFPyCompatibilityTests.JSONValue
        let elementType: String?
    }
}
