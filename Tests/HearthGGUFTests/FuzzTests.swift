import Foundation
import HearthGGUF
import HearthKernels
import HearthTestSupport
import Testing

/// Thousands of damaged copies of a valid tiny model: truncated, bit-flipped, header bytes
/// overwritten, counts and lengths set huge, tensor fields set wild. Each must either throw a
/// GGUFError or open as a file whose tensors all lie inside it; the reader must never crash,
/// hang or allocate without bound (DESIGN.md, house style 5). Seeded: a failure names its case.
@Suite("Reader robustness")
struct FuzzTests {
    static let cases = 3000

    @Test("damaged files throw GGUFError or open consistently; never crash")
    func fuzz() throws {
        let model = try TinyModel(.init(dim: 32, nLayers: 1, nHeads: 2, nKVHeads: 1, ff: 64, weightType: .q8_0))
        let base = model.bytes
        let fields = HeaderFields(base)
        try #require(fields.dataOffset > 0, "the walker could not parse the valid file")
        let dir = try TemporaryDirectory(prefix: "hearth-fuzz")
        var opened = 0, rejected = 0, touched: UInt64 = 0
        // Problems are collected in plain code and reported once: #expect per tensor per case
        // would cost more than the reading itself.
        var problems: [String] = []
        for i in 0..<Self.cases {
            var rng = TestRandom(seed: 0xF022_0000 &+ UInt64(i))
            let bytes = mutate(base, kind: i % 6, fields: fields, rng: &rng)
            // A new file per case, removed after: rewriting one file in place makes ext4 flush
            // it on every close (its replace-via-truncate safeguard), ten times slower.
            let path = try dir.write(bytes, to: "case-\(i).gguf")
            defer { unlink(path) }
            do {
                let f = try GGUFFile(path: path)
                opened += 1
                if f.fileSize != bytes.count { problems.append("case \(i): fileSize \(f.fileSize) of \(bytes.count) bytes") }
                for t in f.tensors {
                    let end = f.dataOffset + t.offset + t.byteCount
                    guard t.offset >= 0, end <= f.fileSize else {
                        problems.append("case \(i): tensor '\(t.name)' ends at \(end) of \(f.fileSize)")
                        continue
                    }
                    let d = f.data(of: t)
                    if let first = d.first, let last = d.last { touched &+= UInt64(first) &+ UInt64(last) }  // read both ends
                    if d.count != t.byteCount || t.type.traits.bytes(forElements: t.elementCount) != t.byteCount {
                        problems.append("case \(i): tensor '\(t.name)' has \(d.count) bytes for \(t.elementCount) \(t.type)")
                    }
                }
                for k in f.metadataKeys { _ = f.metadata[k]!.description }
            } catch {
                rejected += 1
                if error.message.isEmpty { problems.append("case \(i): an empty error message") }
            }
        }
        #expect(problems.isEmpty, "\(problems.count) problems, first: \(problems.prefix(5))")
        // The mutations must actually exercise both outcomes.
        #expect(rejected > Self.cases / 2, "only \(rejected) of \(Self.cases) damaged files were rejected")
        #expect(opened > 0, "no damaged file opened: the mutations never hit harmless bytes (checksum \(touched))")
    }

    /// One damaged copy. Kinds: 0 truncate, 1 flip bits anywhere, 2 overwrite header bytes,
    /// 3 huge tensor/metadata counts, 4 huge string lengths and array counts, 5 wild values in
    /// tensor infos and value types.
    func mutate(_ base: [UInt8], kind: Int, fields: HeaderFields, rng: inout TestRandom) -> [UInt8] {
        var b = base
        let huge: [UInt64] = [.max, .max - 7, 1 << 63, 1 << 62, 1 << 40, 1 << 32, UInt64(UInt32.max), UInt64(base.count), UInt64(base.count + 1)]
        func wild() -> UInt64 { rng.bool() ? huge[rng.int(below: huge.count)] : rng.next() >> UInt64(rng.int(below: 64)) }
        switch kind {
        case 0:
            b.removeSubrange(rng.int(below: b.count)...)
        case 1:
            for _ in 0..<(1 + rng.int(below: 8)) { b[rng.int(below: b.count)] ^= 1 << UInt8(rng.int(below: 8)) }
        case 2:
            for _ in 0..<(1 + rng.int(below: 4)) { b[rng.int(below: fields.dataOffset)] = UInt8(rng.int(below: 256)) }
        case 3:
            b.put(wild(), at: rng.bool() ? 8 : 16)
        case 4:
            b.put(wild(), at: fields.lengths[rng.int(below: fields.lengths.count)])
        default:
            let (at, size) = fields.other[rng.int(below: fields.other.count)]
            if size == 4 { b.put(UInt32(truncatingIfNeeded: wild()), at: at) } else { b.put(wild(), at: at) }
        }
        if rng.int(below: 8) == 0 { b.removeSubrange(rng.int(below: b.count)...) }  // and sometimes cut too
        return b
    }
}

/// Where the fields of a valid GGUF header are, found by walking it independently of the
/// reader: every u64 string length and array count, and the other typed fields (value types,
/// tensor dimension counts, dimensions, types, offsets) with their sizes.
struct HeaderFields {
    var lengths: [Int] = []
    var other: [(offset: Int, size: Int)] = []
    var dataOffset = 0

    init(_ b: [UInt8]) {
        var o = 24
        func string() { lengths.append(o); o += 8 + Int(b.get(UInt64.self, at: o)) }
        func value(_ type: UInt32) {
            switch type {
            case 0, 1, 7: o += 1
            case 2, 3: o += 2
            case 4, 5, 6: o += 4
            case 10, 11, 12: o += 8
            case 8: string()
            case 9:
                let et = b.get(UInt32.self, at: o)
                other.append((o, 4)); o += 4
                let n = Int(b.get(UInt64.self, at: o))
                lengths.append(o); o += 8
                for _ in 0..<n { value(et) }
            default: return
            }
        }
        let nTensors = Int(b.get(UInt64.self, at: 8)), nKV = Int(b.get(UInt64.self, at: 16))
        var alignment = 32
        for _ in 0..<nKV {
            let keyAt = o
            string()
            let key = String(decoding: b[(keyAt + 8)..<o], as: UTF8.self)
            let t = b.get(UInt32.self, at: o)
            other.append((o, 4)); o += 4
            if key == "general.alignment" { alignment = Int(b.get(UInt32.self, at: o)) }
            value(t)
        }
        for _ in 0..<nTensors {
            string()
            let nDims = Int(b.get(UInt32.self, at: o))
            other.append((o, 4)); o += 4
            for _ in 0..<nDims { other.append((o, 8)); o += 8 }
            other.append((o, 4)); o += 4       // type
            other.append((o, 8)); o += 8       // offset
        }
        dataOffset = (o + alignment - 1) / alignment * alignment
    }
}
