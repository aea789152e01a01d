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
    public let metadata: GGUFMetadata
    /// Metadata keys in file order.
    public var metadataKeys: [String] { metadata.keys }
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Byte offset of the tensor data section in the file.
    public let dataOffset: Int
    public let fileSize: Int

    private let tensorIndex: [String: Int]
    private let mapping: FileMapping

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
        guard let mapping = FileMapping(fd: fd, count: size) else {
            throw GGUFError("cannot map '\(path)': \(String(cString: strerror(errno)))")
        }
        self.mapping = mapping
        var r = ByteReader(base: mapping.base, count: size)
        let header = try GGUFFile.parse(&r, path: path)
        version = header.version
        metadata = GGUFMetadata(keys: header.keys, entries: header.metadata, mapping: mapping)
        tensors = header.tensors
        alignment = header.alignment
        dataOffset = header.dataOffset
        tensorIndex = header.index
        // What the header holds is copied out by now, or read again on demand: its pages need
        // not stay resident (megabytes for a large vocabulary).
        mapping.releasePages(offset: 0, count: dataOffset)
    }

    /// The info of the tensor called `name`, or nil.
    public func tensor(_ name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor, in the mapping (valid while this file object lives).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mapping.base + dataOffset + tensor.offset, count: tensor.byteCount)
    }

    /// Hands every resident page of the mapping back to the OS: what was read so far has been
    /// copied out (norm weights; reading them also maps their neighbours). Pages read later
    /// come back from the page cache.
    public func releaseAllPages() {
        mapping.releasePages(offset: 0, count: mapping.count)
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
        var metadata: [String: GGUFMetadata.Entry]
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
        var metadata: [String: GGUFMetadata.Entry] = [:]
        var alignmentValue: GGUFValue?
        for i in 0..<Int(kvCount) {
            let key = try r.readString(what: "metadata key #\(i)")
            let rawType: UInt32 = try r.read()
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError("metadata key '\(key)' has unknown value type \(rawType) at byte \(r.offset - 4)")
            }
            let start = r.offset
            let entry: GGUFMetadata.Entry
            if type == .array, try r.peekArrayCount(key: key) > GGUFMetadata.deferredArrayLength {
                try r.skipValue(type, key: key, depth: 0)
                entry = .array(offset: start, byteCount: r.offset - start)
            } else {
                entry = .value(try r.readValue(type, key: key, depth: 0))
            }
            guard metadata[key] == nil else { throw GGUFError("metadata key '\(key)' appears twice") }
            keys.append(key)
            metadata[key] = entry
            if key == "general.alignment", case .value(let v) = entry { alignmentValue = v }
        }
        var alignment = 32
        if metadata["general.alignment"] != nil {
            guard case .uint32(let v)? = alignmentValue, v > 0, v & (v - 1) == 0 else {
                throw GGUFError("general.alignment is \(alignmentValue?.description ?? "a long array"); it must be a u32 power of two")
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

    mutating func readString(what: @autoclosure () -> String) throws(GGUFError) -> String {
        String(decoding: try readStringBytes(what: what()), as: UTF8.self)
    }

    /// A string's bytes, in the mapping.
    mutating func readStringBytes(what: @autoclosure () -> String) throws(GGUFError) -> UnsafeRawBufferPointer {
        let length: UInt64 = try read()
        guard length <= UInt64(remaining) else {
            throw GGUFError("file is truncated or corrupt: \(what()) claims \(length) bytes at offset \(offset - 8), but only \(remaining) remain")
        }
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: Int(length))
        offset += Int(length)
        return bytes
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
            let (elementType, n) = try readArrayHeader(key: key, depth: depth)
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try readValue(elementType, key: key, depth: depth + 1)) }
            return .array(elementType, items)
        }
    }

    /// Reads past a value, with the checks `readValue` makes, without building it.
    mutating func skipValue(_ type: GGUFValueType, key: String, depth: Int) throws(GGUFError) {
        switch type {
        case .string:
            _ = try readStringBytes(what: "value of '\(key)'")
        case .array:
            let (elementType, n) = try readArrayHeader(key: key, depth: depth)
            if let size = elementType.fixedSize, elementType != .bool {
                offset += n * size  // readArrayHeader checked that n of them fit
            } else {
                for _ in 0..<n { try skipValue(elementType, key: key, depth: depth + 1) }
            }
        default:
            _ = try readValue(type, key: key, depth: depth)
        }
    }

    /// The item count of the array value at the current offset, without moving.
    func peekArrayCount(key: String) throws(GGUFError) -> Int {
        var copy = self
        return try copy.readArrayHeader(key: key, depth: 0).count
    }

    /// An array value's element type and count, checked against what the rest of the file can hold.
    private mutating func readArrayHeader(key: String, depth: Int) throws(GGUFError) -> (type: GGUFValueType, count: Int) {
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
        return (elementType, Int(n))
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

    /// The size on disk of every value of this type, or nil for strings and arrays.
    fileprivate var fixedSize: Int? {
        switch self {
        case .string, .array: nil
        default: minimumEncodedSize
        }
    }
}
