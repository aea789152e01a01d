#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HearthKernels

/// One tensor's entry in the GGUF tensor table.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions in ggml order: `shape[0]` is the row length (the contiguous one).
    public let shape: [Int]
    public let type: TensorType
    /// Offset of the data from the start of the tensor data section.
    public let offset: Int
    /// Size of the data in bytes.
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    /// Number of rows: the product of every dimension but the first.
    public var rowCount: Int { shape.dropFirst().reduce(1, *) }
}

/// A GGUF file (version 2 or 3), memory-mapped. Metadata and the tensor table are parsed at
/// open; tensor data is never copied: `data(of:)` points into the mapping, which lives as long
/// as this object.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Byte offset of the tensor data section in the file.
    public let dataOffset: Int
    public let fileSize: Int

    private let tensorIndex: [String: Int]
    private let base: UnsafeMutableRawPointer?
    private let mappedLength: Int

    /// Opens and validates a GGUF file. Every problem with its contents is a thrown `GGUFError`
    /// naming what is wrong; nothing in the file can crash the reader.
    public init(path: String) throws(GGUFError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError("cannot open '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError("cannot stat '\(path)': \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw GGUFError("'\(path)' is not a regular file") }
        let size = Int(st.st_size)
        fileSize = size
        guard size >= 24 else {
            throw GGUFError("'\(path)' is not a GGUF file: it is \(size) bytes, shorter than a GGUF header (24 bytes)")
        }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw GGUFError("cannot map '\(path)': \(String(cString: strerror(errno)))")
        }
        base = m
        mappedLength = size
        do {
            var r = ByteReader(base: UnsafeRawPointer(m), count: size)
            let header = try GGUFFile.parse(&r, path: path)
            version = header.version
            metadataKeys = header.keys
            metadata = header.metadata
            tensors = header.tensors
            alignment = header.alignment
            dataOffset = header.dataOffset
            tensorIndex = header.index
        } catch {
            munmap(m, size)
            throw error
        }
    }

    deinit { if let base { munmap(base, mappedLength) } }

    /// The info of the tensor called `name`, or nil.
    public func tensor(_ name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor, in the mapping (valid while this file object lives).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: UnsafeRawPointer(base!) + dataOffset + tensor.offset, count: tensor.byteCount)
    }

    // MARK: typed metadata access

    public func string(_ key: String) -> String? { metadata[key]?.string }
    public func int(_ key: String) -> Int? { metadata[key]?.int }
    public func double(_ key: String) -> Double? { metadata[key]?.double }
    public func bool(_ key: String) -> Bool? { metadata[key]?.bool }
    public func array(_ key: String) -> [GGUFValue]? { metadata[key]?.array }

    /// `general.architecture`, the key every other hyperparameter is named by.
    public var architecture: String? { string("general.architecture") }

    // MARK: parsing

    private struct Header {
        var version: UInt32
        var keys: [String]
        var metadata: [String: GGUFValue]
        var tensors: [GGUFTensorInfo]
        var index: [String: Int]
        var alignment: Int
        var dataOffset: Int
    }

    private static func parse(_ r: inout ByteReader, path: String) throws(GGUFError) -> Header {
        let magic: UInt32 = try r.read()
        guard magic == 0x4655_4747 else {
            throw GGUFError("'\(path)' is not a GGUF file: its first four bytes are \(hexBytes(magic)), not \"GGUF\"")
        }
        let version: UInt32 = try r.read()
        guard version == 2 || version == 3 else {
            throw GGUFError("'\(path)' is GGUF version \(version); Hearth reads versions 2 and 3")
        }
        let tensorCount: UInt64 = try r.read()
        let kvCount: UInt64 = try r.read()
        // Every tensor info takes at least 24 bytes and every pair at least 13: reject counts
        // the file cannot hold before allocating for them.
        guard tensorCount <= UInt64(r.remaining / 24), kvCount <= UInt64(r.remaining / 13) else {
            throw GGUFError("'\(path)' is truncated or corrupt: it claims \(tensorCount) tensors and \(kvCount) metadata entries, more than its \(r.count) bytes can hold")
        }
        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for i in 0..<Int(kvCount) {
            let key = try r.readString(what: "metadata key #\(i)")
            let rawType: UInt32 = try r.read()
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError("metadata key '\(key)' has unknown value type \(rawType) at byte \(r.offset - 4)")
            }
            let value = try r.readValue(type, key: key, depth: 0)
            guard metadata[key] == nil else { throw GGUFError("metadata key '\(key)' appears twice") }
            keys.append(key)
            metadata[key] = value
        }
        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard case .uint32(let v) = a, v > 0, v & (v - 1) == 0 else {
                throw GGUFError("general.alignment is \(a); it must be a u32 power of two")
            }
            alignment = Int(v)
        }
        var infos: [(name: String, shape: [Int], type: TensorType, offset: Int)] = []
        var index: [String: Int] = [:]
        for i in 0..<Int(tensorCount) {
            let name = try r.readString(what: "name of tensor #\(i)")
            let nDims: UInt32 = try r.read()
            guard (1...4).contains(nDims) else {
                throw GGUFError("tensor '\(name)' has \(nDims) dimensions; GGUF allows 1 to 4")
            }
            var shape: [Int] = []
            var elements = 1
            for _ in 0..<nDims {
                let d: UInt64 = try r.read()
                guard d > 0, d < (1 << 40), case let (p, o) = elements.multipliedReportingOverflow(by: Int(d)), !o, p < (1 << 48) else {
                    throw GGUFError("tensor '\(name)' has an impossible dimension \(d)")
                }
                elements = p
                shape.append(Int(d))
            }
            let rawType: UInt32 = try r.read()
            guard let type = TensorType(rawValue: rawType) else {
                throw GGUFError("tensor '\(name)' has type \(ggmlTypeName(rawType)) (ggml type \(rawType)), which Hearth does not support")
            }
            let offset: UInt64 = try r.read()
            guard shape[0] % type.traits.blockSize == 0 else {
                throw GGUFError("tensor '\(name)' has rows of \(shape[0]) elements, not a multiple of the \(type.traits.blockSize)-element blocks of \(type)")
            }
            guard offset < UInt64(Int.max / 2), Int(offset) % alignment == 0 else {
                throw GGUFError("tensor '\(name)' has data offset \(offset), not a multiple of the alignment \(alignment)")
            }
            guard index[name] == nil else { throw GGUFError("tensor '\(name)' appears twice") }
            index[name] = i
            infos.append((name, shape, type, Int(offset)))
        }
        let dataOffset = (r.offset + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensorInfo] = []
        for t in infos {
            guard let bytes = t.type.traits.bytes(forElements: t.shape.reduce(1, *)) else {
                throw GGUFError("tensor '\(t.name)' is too large")
            }
            let end = dataOffset + t.offset + bytes
            guard end <= r.count else {
                throw GGUFError("'\(path)' is truncated: tensor '\(t.name)' needs bytes \(dataOffset + t.offset)..<\(end) but the file has \(r.count)")
            }
            tensors.append(GGUFTensorInfo(name: t.name, shape: t.shape, type: t.type, offset: t.offset, byteCount: bytes))
        }
        return Header(version: version, keys: keys, metadata: metadata, tensors: tensors, index: index,
                      alignment: alignment, dataOffset: dataOffset)
    }
}

private func hexBytes(_ v: UInt32) -> String {
    (0..<4).map { i in
        let b = UInt8((v >> (8 * UInt32(i))) & 0xff)
        let hex = String(b, radix: 16)
        return hex.count == 1 ? "0" + hex : hex
    }.joined(separator: " ")
}

/// A bounds-checked little-endian reader over the mapped header.
struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int
    var offset = 0

    init(base: UnsafeRawPointer, count: Int) { self.base = base; self.count = count }

    var remaining: Int { count - offset }

    mutating func read<T: FixedWidthInteger>() throws(GGUFError) -> T {
        guard remaining >= MemoryLayout<T>.size else {
            throw GGUFError("file is truncated: needed \(MemoryLayout<T>.size) more bytes at offset \(offset) of \(count)")
        }
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readString(what: String) throws(GGUFError) -> String {
        let length: UInt64 = try read()
        guard length <= UInt64(remaining) else {
            throw GGUFError("file is truncated or corrupt: \(what) claims \(length) bytes at offset \(offset - 8), but only \(remaining) remain")
        }
        let s = String(decoding: UnsafeRawBufferPointer(start: base + offset, count: Int(length)), as: UTF8.self)
        offset += Int(length)
        return s
    }

    mutating func readValue(_ type: GGUFValueType, key: String, depth: Int) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read())
        case .int8: return .int8(try read())
        case .uint16: return .uint16(try read())
        case .int16: return .int16(try read())
        case .uint32: return .uint32(try read())
        case .int32: return .int32(try read())
        case .uint64: return .uint64(try read())
        case .int64: return .int64(try read())
        case .float32: return .float32(Float(bitPattern: try read()))
        case .float64: return .float64(Double(bitPattern: try read()))
        case .bool:
            let b: UInt8 = try read()
            guard b <= 1 else { throw GGUFError("metadata key '\(key)' has bool value \(b); expected 0 or 1") }
            return .bool(b == 1)
        case .string: return .string(try readString(what: "value of '\(key)'"))
        case .array:
            guard depth < 8 else { throw GGUFError("metadata key '\(key)' nests arrays deeper than 8 levels") }
            let rawType: UInt32 = try read()
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError("metadata key '\(key)' is an array of unknown type \(rawType)")
            }
            let n: UInt64 = try read()
            // Each element takes at least its smallest encoding: reject counts the rest of the
            // file cannot hold before reserving memory for them (a GGUFValue is ~24 bytes, so an
            // unchecked count could ask for many times the file's size).
            guard n <= UInt64(remaining / elementType.minimumEncodedSize) else {
                throw GGUFError("file is truncated or corrupt: array '\(key)' claims \(n) items of \(elementType.name) but only \(remaining) bytes remain")
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(n))
            for _ in 0..<Int(n) { items.append(try readValue(elementType, key: key, depth: depth + 1)) }
            return .array(elementType, items)
        }
    }
}

extension GGUFValueType {
    /// The fewest bytes one value of this type takes on disk: a string is at least its u64
    /// length, an array its u32 element type and u64 count.
    fileprivate var minimumEncodedSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}
