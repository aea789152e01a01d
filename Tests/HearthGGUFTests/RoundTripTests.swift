import HearthGGUF
import HearthKernels
import HearthTestSupport
import Testing

/// GGUFWriter to GGUFFile: every metadata value type, nested and empty arrays, alignments,
/// and tensor bytes.
@Suite("Writer to reader round trip")
struct RoundTripTests {
    /// One of every value type, with the extremes of each, in an order the reader must keep.
    static let everyValue: [(String, GGUFValue)] = [
        ("general.architecture", .string("roundtrip")),
        ("t.u8", .uint8(.max)), ("t.i8", .int8(.min)), ("t.u16", .uint16(.max)), ("t.i16", .int16(.min)),
        ("t.u32", .uint32(.max)), ("t.i32", .int32(.min)), ("t.u64", .uint64(.max)), ("t.i64", .int64(.min)),
        ("t.f32", .float32(-0.0)), ("t.f32_inf", .float32(.infinity)), ("t.f32_small", .float32(.leastNonzeroMagnitude)),
        ("t.f64", .float64(.pi)), ("t.f64_neg", .float64(-.greatestFiniteMagnitude)),
        ("t.true", .bool(true)), ("t.false", .bool(false)),
        ("t.str", .string("ünïcödé ✓ 🔥 \n\t\"q\" \\")), ("t.str_empty", .string("")),
        ("t.str_nul", .string("a\u{0}b")),
        ("t.arr_u8", .array(.uint8, [.uint8(0), .uint8(255)])),
        ("t.arr_i8", .array(.int8, [.int8(-128), .int8(127)])),
        ("t.arr_u16", .array(.uint16, [.uint16(1)])), ("t.arr_i16", .array(.int16, [.int16(-2)])),
        ("t.arr_u32", .array(.uint32, [.uint32(3)])), ("t.arr_i32", .array(.int32, [.int32(-4), .int32(5)])),
        ("t.arr_u64", .array(.uint64, [.uint64(.max)])), ("t.arr_i64", .array(.int64, [.int64(.min)])),
        ("t.arr_f32", .array(.float32, [.float32(1.5), .float32(-0.0)])),
        ("t.arr_f64", .array(.float64, [.float64(1e-300)])),
        ("t.arr_bool", .array(.bool, [.bool(true), .bool(false)])),
        ("t.arr_str", .array(.string, [.string("a"), .string(""), .string("ü")])),
        ("t.empty_u8", .array(.uint8, [])), ("t.empty_str", .array(.string, [])),
        ("t.empty_f64", .array(.float64, [])), ("t.empty_arr", .array(.array, [])),
        ("t.arr_arr_i32", .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.int32, []), .array(.int32, [.int32(3)])])),
        ("t.arr_arr_str", .array(.array, [.array(.string, [.string("x")]), .array(.string, [])])),
        ("t.arr_arr_arr", .array(.array, [.array(.array, [.array(.uint8, [.uint8(7)])])])),
    ]

    @Test("every metadata value type survives, in order")
    func everyValueType() throws {
        var w = GGUFWriter()
        for (k, v) in Self.everyValue { w.set(k, v) }
        try withGGUF(w.serialized()) { f in
            #expect(f.version == 3)
            #expect(f.metadataKeys == Self.everyValue.map(\.0))
            for (k, v) in Self.everyValue {
                let got = try #require(f.metadata[k], "\(k) missing")
                #expect(sameValue(got, v), "\(k): \(got) != \(v)")
                #expect(got.type == v.type)
            }
            #expect(f.tensors.isEmpty)
            // The typed accessors.
            #expect(f.architecture == "roundtrip")
            #expect(f.int("t.u32") == Int(UInt32.max))
            #expect(f.int("t.u64") == nil, "u64 max does not fit in Int")
            #expect(f.int("t.i64") == Int(Int64.min))
            #expect(f.double("t.f64") == .pi)
            #expect(f.double("t.u8") == 255)
            #expect(f.bool("t.true") == true)
            #expect(f.string("t.str_nul") == "a\u{0}b")
            #expect(f.array("t.empty_str")?.isEmpty == true)
            #expect(f.array("t.arr_arr_i32")?.count == 3)
            #expect(f.string("t.u8") == nil && f.int("t.str") == nil)
        }
    }

    /// Arrays longer than the reader keeps parsed (a vocabulary's) are checked at open and read
    /// again from the file on each access; they must come back equal, and damage inside them
    /// must be an error at open, not a failure at first use.
    @Test("long arrays read on demand: equal values, damage caught at open")
    func longArrays() throws {
        var rng = TestRandom(seed: 7)
        let n = 1_000
        let long: [(String, GGUFValue)] = [
            ("long.str", .array(.string, (0 ..< n).map { i in .string(i % 7 == 0 ? "" : "tok\(i)·\(rng.next() % 1000)") })),
            ("long.u8", .array(.uint8, (0 ..< n).map { _ in .uint8(UInt8(truncatingIfNeeded: rng.next())) })),
            ("long.i32", .array(.int32, (0 ..< n).map { _ in .int32(Int32(truncatingIfNeeded: rng.next())) })),
            ("long.f32", .array(.float32, (0 ..< n).map { _ in .float32(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7f7f_ffff)) })),
            ("long.bool", .array(.bool, (0 ..< n).map { _ in .bool(rng.bool()) })),
            ("long.nested", .array(.array, (0 ..< n).map { i in .array(.string, [.string("n\(i)")]) })),
            ("after", .string("still read in order")),
        ]
        var w = GGUFWriter()
        for (k, v) in long { w.set(k, v) }
        let bytes = w.serialized()
        try withGGUF(bytes) { f in
            #expect(f.metadataKeys == long.map(\.0))
            for (k, v) in long {
                let got = try #require(f.metadata[k], "\(k) missing")
                #expect(sameValue(got, v), "\(k) differs")
                #expect(sameValue(try #require(f.metadata[k]), v), "\(k) differs when read a second time")
            }
        }

        // A bool that is neither 0 nor 1, deep inside the long bool array.
        var badBool = bytes
        let boolStart = try #require(bytes.find(Array("long.bool".utf8))) + 9 + 4 + 4 + 8
        badBool[boolStart + 700] = 2
        #expect(try openError(badBool)?.contains("bool value 2") == true)

        // A string length inside the long string array that runs past the end of the file.
        var badLength = bytes
        let stringsStart = try #require(bytes.find(Array("long.str".utf8))) + 8 + 4 + 4 + 8
        var o = stringsStart
        for _ in 0 ..< 500 { o += 8 + Int(badLength.get(UInt64.self, at: o)) }
        badLength.put(UInt64(1) << 40, at: o)
        #expect(try openError(badLength)?.contains("truncated or corrupt") == true)

        // The file cut off in the middle of the long string array.
        #expect(try openError(Array(bytes[..<(stringsStart + 3_000)])) != nil)
    }

    @Test("set replaces a value in place")
    func setReplaces() throws {
        var w = GGUFWriter()
        w.set("a", .uint32(1)); w.set("b", .string("x")); w.set("a", .string("now a string"))
        try withGGUF(w.serialized()) { f in
            #expect(f.metadataKeys == ["a", "b"])
            #expect(f.string("a") == "now a string")
        }
    }

    static func sampleTensors() -> [(String, [Int], TensorType, [UInt8])] {
        var rng = TestRandom(seed: 64)
        return [
            ("odd.f32", [3], .f32, RandomBlocks.make(.f32, blocks: 3, using: &rng)),            // 12 bytes
            ("m.q8_0", [32, 3], .q8_0, RandomBlocks.make(.q8_0, blocks: 3, using: &rng)),
            ("m.q4_K", [256, 2], .q4_K, RandomBlocks.make(.q4_K, blocks: 2, using: &rng)),
            ("v.f16", [5], .f16, RandomBlocks.make(.f16, blocks: 5, using: &rng)),
            ("t.q6_K", [256, 1, 2, 1], .q6_K, RandomBlocks.make(.q6_K, blocks: 2, using: &rng)),
            ("last.bf16", [7], .bf16, RandomBlocks.make(.bf16, blocks: 7, using: &rng)),
        ]
    }

    @Test("tensors are aligned and byte-identical", arguments: [32, 64, 128, 4096])
    func alignedTensors(alignment: Int) throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("t"))
        if alignment != 32 { w.set("general.alignment", .uint32(UInt32(alignment))) }
        let sample = Self.sampleTensors()
        for (name, shape, type, data) in sample { try w.addTensor(name, shape: shape, type: type, data: data) }
        let bytes = w.serialized()
        // ggml and gguf-py pad after every tensor, the last one too.
        #expect(bytes.count % alignment == 0, "file of \(bytes.count) bytes is not padded to \(alignment)")
        try withGGUF(bytes) { f in
            #expect(f.alignment == alignment)
            #expect(f.dataOffset % alignment == 0)
            #expect(f.tensors.map(\.name) == sample.map(\.0))
            var previousEnd = 0
            for (info, (name, shape, type, data)) in zip(f.tensors, sample) {
                #expect(info.name == name && info.shape == shape && info.type == type)
                #expect(info.offset % alignment == 0, "\(name) at \(info.offset)")
                #expect(info.offset >= previousEnd, "\(name) overlaps the tensor before it")
                previousEnd = info.offset + info.byteCount
                #expect(info.byteCount == data.count)
                #expect(Array(f.data(of: info)) == data, "\(name) data differs")
                #expect(f.tensor(name) == info)
                #expect(info.elementCount == shape.reduce(1, *))
                #expect(info.rowCount == shape.dropFirst().reduce(1, *))
            }
            #expect(f.tensor("absent") == nil)
        }
    }

    /// The writer lays tensors out at `addTensor`; setting general.alignment afterwards must
    /// still give offsets on the new alignment.
    @Test("alignment set after the tensors still aligns them")
    func alignmentSetLate() throws {
        var w = GGUFWriter()
        let sample = Self.sampleTensors()
        for (name, shape, type, data) in sample { try w.addTensor(name, shape: shape, type: type, data: data) }
        w.set("general.alignment", .uint32(256))
        try withGGUF(w.serialized()) { f in
            #expect(f.alignment == 256)
            for (info, s) in zip(f.tensors, sample) {
                #expect(info.offset % 256 == 0)
                #expect(Array(f.data(of: info)) == s.3)
            }
        }
    }

    @Test("float tensors go through the format's quantizer")
    func floatTensors() throws {
        var rng = TestRandom(seed: 7)
        let x = rng.normals(64)
        var w = GGUFWriter()
        try w.addTensor("a", shape: [32, 2], floats: x)
        try w.addTensor("b", shape: [64], type: .q8_0, floats: x)
        try w.addTensor("c", shape: [64], type: .f16, floats: x)
        try withGGUF(w.serialized()) { f in
            let a = try #require(f.tensor("a")), b = try #require(f.tensor("b")), c = try #require(f.tensor("c"))
            #expect(a.type == .f32 && b.type == .q8_0 && c.type == .f16)
            #expect(dequantize(Array(f.data(of: a)), as: .f32, count: 64) == x)
            #expect(Array(f.data(of: b)) == TestQuantizers.quantize(x, as: .q8_0))
            assertClose(dequantize(Array(f.data(of: c)), as: .f16, count: 64), x, budget: ErrorBudget("f16 storage", relative: 1e-3))
        }
    }

    @Test("a version 2 file reads like version 3")
    func version2() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("v2"))
        try w.addTensor("x", shape: [4], floats: [1, 2, 3, 4])
        var bytes = w.serialized()
        bytes.put(UInt32(2), at: 4)
        try withGGUF(bytes) { f in
            #expect(f.version == 2)
            #expect(f.architecture == "v2")
            #expect(dequantize(Array(f.data(of: f.tensors[0])), as: .f32, count: 4) == [1, 2, 3, 4])
        }
    }

    @Test("the writer rejects malformed tensors, naming them")
    func writerRejects() throws {
        var w = GGUFWriter()
        try w.addTensor("x", shape: [32], type: .f32, data: [UInt8](repeating: 0, count: 128))
        let cases: [(String, (inout GGUFWriter) throws(GGUFError) -> Void)] = [
            ("added twice", { w throws(GGUFError) in try w.addTensor("x", shape: [32], type: .f32, data: [UInt8](repeating: 0, count: 128)) }),
            ("takes", { w throws(GGUFError) in try w.addTensor("short", shape: [32], type: .f32, data: [0, 0]) }),
            ("1 to 4 positive", { w throws(GGUFError) in try w.addTensor("zero", shape: [0], type: .f32, data: []) }),
            ("1 to 4 positive", { w throws(GGUFError) in try w.addTensor("five", shape: [1, 1, 1, 1, 1], type: .f32, data: [0, 0, 0, 0]) }),
            ("not a multiple", { w throws(GGUFError) in try w.addTensor("rows", shape: [16, 2], type: .q8_0, data: [UInt8](repeating: 0, count: 34)) }),
            ("no quantizer", { w throws(GGUFError) in try w.addTensor("q4", shape: [32], type: .q4_0, floats: [Float](repeating: 0, count: 32)) }),
            ("do not fill", { w throws(GGUFError) in try w.addTensor("fill", shape: [32], type: .f32, floats: [1]) }),
        ]
        for (expected, add) in cases {
            var copy = w
            do {
                try add(&copy)
                Issue.record("expected an error containing '\(expected)'")
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
    }

    @Test("write(to:) writes the file whole and leaves no partial file")
    func writeToPath() throws {
        let dir = try TemporaryDirectory()
        var w = GGUFWriter()
        w.set("general.architecture", .string("w"))
        try w.addTensor("x", shape: [8], floats: [Float](repeating: 1, count: 8))
        let path = dir.file("out.gguf")
        try w.write(to: path)
        let f = try GGUFFile(path: path)
        #expect(f.fileSize == w.serialized().count)
        #expect(throws: GGUFError.self) { try GGUFFile(path: path + ".partial") }
        #expect(throws: GGUFError.self) { try w.write(to: dir.file("no/such/dir/out.gguf")) }
    }
}
