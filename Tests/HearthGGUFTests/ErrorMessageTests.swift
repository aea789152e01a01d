import HearthGGUF
import HearthKernels
import HearthTestSupport
import Testing

/// Each way a file can be wrong gives a GGUFError whose message says what and names the
/// offender (DESIGN.md, house style 5).
@Suite("Reader error messages")
struct ErrorMessageTests {
    /// A small valid file: two tensors, the second one last in the data section.
    static func valid() throws -> [UInt8] {
        var w = GGUFWriter()
        w.set("general.architecture", .string("err"))
        w.set("flag", .bool(true))
        try w.addTensor("first.weight", shape: [32, 2], type: .q8_0, floats: [Float](repeating: 0.5, count: 64))
        try w.addTensor("blk.3.attn_q.weight", shape: [8, 4], floats: [Float](repeating: 1, count: 32))
        return w.serialized()
    }

    /// The offset of the u32 type field in the tensor info of `name`.
    static func typeField(of name: String, in bytes: [UInt8]) throws -> Int {
        let at = try #require(bytes.find(Array(name.utf8)))
        let nDims = Int(bytes.get(UInt32.self, at: at + name.utf8.count))
        return at + name.utf8.count + 4 + 8 * nDims
    }

    @Test("wrong magic")
    func wrongMagic() throws {
        var b = try Self.valid()
        b.replaceSubrange(0..<4, with: Array("GGML".utf8))
        let m = try #require(try openError(b))
        #expect(m.contains("not a GGUF file") && m.contains("47 47 4d 4c"), "\(m)")
    }

    @Test("version 1 and other versions")
    func version() throws {
        for v in [UInt32(1), 4, 0x0300_0000] {
            var b = try Self.valid()
            b.put(v, at: 4)
            let m = try #require(try openError(b))
            #expect(m.contains("version \(v)"), "\(m)")
        }
    }

    @Test("a file shorter than the header, and a header cut short")
    func truncatedHeader() throws {
        let b = try Self.valid()
        let short = try #require(try openError(Array(b[..<20])))
        #expect(short.contains("shorter than a GGUF header"), "\(short)")
        for cut in [24, 30, 40, 60] {
            let m = try #require(try openError(Array(b[..<cut])), "cut at \(cut) opened")
            #expect(m.contains("truncated"), "cut at \(cut): \(m)")
        }
    }

    @Test("a tensor of a type Hearth cannot compute names the tensor and the type")
    func unknownTensorType() throws {
        var b = try Self.valid()
        b.put(UInt32(16), at: try Self.typeField(of: "blk.3.attn_q.weight", in: b))
        let m = try #require(try openError(b))
        #expect(m.contains("blk.3.attn_q.weight") && m.contains("iq2_xxs") && m.contains("16"), "\(m)")
        b.put(UInt32(77), at: try Self.typeField(of: "blk.3.attn_q.weight", in: b))
        let m2 = try #require(try openError(b))
        #expect(m2.contains("blk.3.attn_q.weight") && m2.contains("77"), "\(m2)")
    }

    @Test("a tensor past the end of the file")
    func tensorPastEnd() throws {
        let b = try Self.valid()
        let f = try withGGUF(b) { $0.tensors.last! }
        // Cut inside the last tensor's data.
        let m = try #require(try openError(Array(b[..<(b.count - 40)])))
        #expect(m.contains("truncated") && m.contains(f.name), "\(m)")
    }

    @Test("other malformed headers name what is wrong")
    func others() throws {
        let base = try Self.valid()
        // general.alignment of 48 (not a power of two).
        var w = GGUFWriter()
        w.set("general.alignment", .uint32(48))
        var m = try #require(try openError(w.serialized()))
        #expect(m.contains("general.alignment"), "\(m)")
        // A key twice: two keys of the same length, the second renamed to the first.
        var twice = GGUFWriter()
        twice.set("key.aaaa", .uint8(1)); twice.set("key.bbbb", .uint8(2))
        var b = twice.serialized()
        let bbbb = try #require(b.find(Array("key.bbbb".utf8)))
        b.replaceSubrange(bbbb..<(bbbb + 8), with: Array("key.aaaa".utf8))
        m = try #require(try openError(b))
        #expect(m.contains("key.aaaa") && m.contains("twice"), "\(m)")
        let flagKey = try #require(base.find(Array("flag".utf8)))
        // A bool that is neither 0 nor 1.
        b = base
        b[flagKey + 4 + 4] = 2
        m = try #require(try openError(b))
        #expect(m.contains("flag") && m.contains("bool"), "\(m)")
        // An unknown metadata value type.
        b = base
        b.put(UInt32(99), at: flagKey + 4)
        m = try #require(try openError(b))
        #expect(m.contains("flag") && m.contains("99"), "\(m)")
        // Five dimensions.
        b = base
        let name = try #require(b.find(Array("first.weight".utf8)))
        b.put(UInt32(5), at: name + "first.weight".utf8.count)
        m = try #require(try openError(b))
        #expect(m.contains("first.weight") && m.contains("5 dimensions"), "\(m)")
        // Rows that are not whole blocks: q8_0 rows of 32 relabelled as q4_K (256 per block).
        b = base
        b.put(TensorType.q4_K.rawValue, at: try Self.typeField(of: "first.weight", in: b))
        m = try #require(try openError(b))
        #expect(m.contains("first.weight") && m.contains("multiple"), "\(m)")
        // A misaligned tensor offset.
        b = base
        let typeAt = try Self.typeField(of: "blk.3.attn_q.weight", in: b)
        b.put(UInt64(b.get(UInt64.self, at: typeAt + 4) + 4), at: typeAt + 4)
        m = try #require(try openError(b))
        #expect(m.contains("blk.3.attn_q.weight") && m.contains("alignment"), "\(m)")
        // A tensor name twice.
        var dup = GGUFWriter()
        try dup.addTensor("t1.weight", shape: [4], floats: [1, 2, 3, 4])
        try dup.addTensor("t2.weight", shape: [4], floats: [1, 2, 3, 4])
        b = dup.serialized()
        let t2 = try #require(b.find(Array("t2.weight".utf8)))
        b.replaceSubrange(t2..<(t2 + 9), with: Array("t1.weight".utf8))
        m = try #require(try openError(b))
        #expect(m.contains("t1.weight") && m.contains("twice"), "\(m)")
    }

    /// An array count the rest of the file cannot hold is rejected before any memory is
    /// reserved for it, naming the key.
    @Test("an array count larger than the file can hold")
    func hugeArrayCount() throws {
        var w = GGUFWriter()
        w.set("big", .array(.uint64, [.uint64(1), .uint64(2), .uint64(3)]))
        try w.addTensor("x", shape: [64], floats: [Float](repeating: 0, count: 64))
        var b = w.serialized()
        let countAt = try #require(b.find(Array("big".utf8))) + 3 + 4 + 4
        #expect(b.get(UInt64.self, at: countAt) == 3)
        // Fewer items than bytes remain, but more u64 items than they can hold.
        b.put(UInt64((b.count - countAt - 8) / 8 + 1), at: countAt)
        let m = try #require(try openError(b))
        #expect(m.contains("big") && m.contains("claims"), "\(m)")
    }

    @Test("a missing file, a directory")
    func notAFile() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: GGUFError.self) { try GGUFFile(path: dir.file("absent.gguf")) }
        do {
            _ = try GGUFFile(path: dir.path)
            Issue.record("a directory opened")
        } catch {
            #expect(error.message.contains("not a regular file"), "\(error.message)")
        }
    }
}
