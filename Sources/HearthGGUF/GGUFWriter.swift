#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HearthKernels

/// Builds a GGUF v3 file: metadata in the order added, then the tensor table, then the data,
/// each tensor aligned to `general.alignment` (32 unless set). The output is written to a
/// temporary file beside the destination, flushed, and renamed into place, so a reader never
/// sees half a file.
public struct GGUFWriter {
    public private(set) var metadata: [(String, GGUFValue)] = []
    public private(set) var tensors: [(info: GGUFTensorInfo, data: [UInt8])] = []
    public private(set) var alignment = 32

    public init() {}

    /// Sets a metadata value (replacing an earlier value of the same key in place).
    /// A `general.alignment` that is a u32 power of two re-lays the tensors out on it, whether
    /// they were added before or after; any other value is written as given (the reader
    /// rejects such a file) and leaves the layout alone.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if key == "general.alignment", case .uint32(let a) = value, a > 0, a & (a - 1) == 0, Int(a) != alignment {
            alignment = Int(a)
            relayout()
        }
        if let i = metadata.firstIndex(where: { $0.0 == key }) { metadata[i].1 = value } else { metadata.append((key, value)) }
    }

    /// Recomputes every tensor's offset for the current alignment, in the order added.
    private mutating func relayout() {
        var offset = 0
        for i in tensors.indices {
            let t = tensors[i].info
            tensors[i].info = GGUFTensorInfo(name: t.name, shape: t.shape, type: t.type, offset: offset, byteCount: t.byteCount)
            offset = align(offset + t.byteCount)
        }
    }

    /// Adds a tensor. `shape` is in ggml order (row length first); `data` must have exactly the
    /// bytes that shape and type take.
    public mutating func addTensor(_ name: String, shape: [Int], type: TensorType, data: [UInt8]) throws(GGUFError) {
        try append(name, shape: shape, type: type, data: data)
    }

    /// A tensor with its data, or with none yet (`declareTensor`).
    private mutating func append(_ name: String, shape: [Int], type: TensorType, data: [UInt8]?) throws(GGUFError) {
        guard !tensors.contains(where: { $0.info.name == name }) else { throw GGUFError("tensor '\(name)' added twice") }
        guard (1...4).contains(shape.count), shape.allSatisfy({ $0 > 0 }) else {
            throw GGUFError("tensor '\(name)' has shape \(shape); GGUF takes 1 to 4 positive dimensions")
        }
        guard let bytes = type.traits.bytes(forElements: shape.reduce(1, *)), shape[0] % type.traits.blockSize == 0 else {
            throw GGUFError("tensor '\(name)' has rows of \(shape[0]) elements, not a multiple of \(type)'s block of \(type.traits.blockSize)")
        }
        if let data, bytes != data.count {
            throw GGUFError("tensor '\(name)' of shape \(shape) and type \(type) takes \(bytes) bytes; \(data.count) given")
        }
        let offset = tensors.last.map { align($0.info.offset + $0.info.byteCount) } ?? 0
        tensors.append((GGUFTensorInfo(name: name, shape: shape, type: type, offset: offset, byteCount: bytes), data ?? []))
    }

    /// Adds a float tensor, stored as `type` through the format's reference quantizer.
    public mutating func addTensor(_ name: String, shape: [Int], type: TensorType = .f32, floats: [Float]) throws(GGUFError) {
        guard let quantize = type.traits.quantize else {
            throw GGUFError("Hearth has no quantizer for \(type) yet (tensor '\(name)')")
        }
        guard floats.count == shape.reduce(1, *), let bytes = type.traits.bytes(forElements: floats.count) else {
            throw GGUFError("tensor '\(name)': \(floats.count) values do not fill shape \(shape) in \(type)")
        }
        var data = [UInt8](repeating: 0, count: bytes)
        floats.withUnsafeBufferPointer { src in
            data.withUnsafeMutableBytes { dst in quantize(src.baseAddress!, dst.baseAddress!, floats.count) }
        }
        try addTensor(name, shape: shape, type: type, data: data)
    }

    private func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Adds a tensor whose data `write(to:data:)` asks for when it writes the file, so that a
    /// big output never has to be held in memory.
    public mutating func declareTensor(_ name: String, shape: [Int], type: TensorType) throws(GGUFError) {
        try append(name, shape: shape, type: type, data: nil)
    }

    /// The whole file as bytes.
    public func serialized() -> [UInt8] {
        var out = header()
        let start = out.count
        for t in tensors {
            out.append(contentsOf: [UInt8](repeating: 0, count: start + t.info.offset - out.count))
            out.append(contentsOf: t.data)
        }
        // ggml and gguf-py pad after every tensor, the last one too: ggml's gguf_init_from_file
        // reads the data section as the sum of padded sizes and fails on a shorter file.
        out.append(contentsOf: [UInt8](repeating: 0, count: align(out.count) - out.count))
        return out
    }

    /// The metadata and the tensor table, padded to the alignment: everything before the data.
    func header() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func putString(_ s: String) { put(UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }
        func putValue(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): put(x)
            case .int8(let x): put(x)
            case .uint16(let x): put(x)
            case .int16(let x): put(x)
            case .uint32(let x): put(x)
            case .int32(let x): put(x)
            case .uint64(let x): put(x)
            case .int64(let x): put(x)
            case .float32(let x): put(x.bitPattern)
            case .float64(let x): put(x.bitPattern)
            case .bool(let x): put(UInt8(x ? 1 : 0))
            case .string(let s): putString(s)
            case .array(let t, let items):
                put(t.rawValue); put(UInt64(items.count))
                for item in items { putValue(item) }
            }
        }
        put(UInt32(0x4655_4747)); put(UInt32(3))
        put(UInt64(tensors.count)); put(UInt64(metadata.count))
        for (k, v) in metadata { putString(k); put(v.type.rawValue); putValue(v) }
        for t in tensors {
            putString(t.info.name); put(UInt32(t.info.shape.count))
            for d in t.info.shape { put(UInt64(d)) }
            put(t.info.type.rawValue); put(UInt64(t.info.offset))
        }
        out.append(contentsOf: [UInt8](repeating: 0, count: align(out.count) - out.count))
        return out
    }

    /// Writes the file atomically, asking `data` for each tensor's bytes in order (for tensors
    /// added with their data, those are written): temporary file beside `path`, fsync, rename.
    /// On any failure (a full disk, an error from `data`) the partial file is removed.
    ///
    /// `finalMetadata`, called once the data is written, gives values that replace metadata set
    /// before (a digest computed meanwhile); each must take the bytes its placeholder took, so
    /// that the layout stays, and the header is written again with them.
    public func write(to path: String, data: (_ index: Int, _ info: GGUFTensorInfo) throws -> [UInt8],
                      finalMetadata: () throws -> [(String, GGUFValue)] = { [] }) throws {
        let tmp = path + ".partial"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw GGUFError("cannot create '\(tmp)': \(String(cString: strerror(errno)))") }
        var finished = false
        defer {
            close(fd)
            if !finished { unlink(tmp) }
        }
        var written = 0
        func put(_ bytes: [UInt8]) throws(GGUFError) {
            var done = 0
            let ok = bytes.withUnsafeBytes { buf -> Bool in
                while done < buf.count {
                    let n = Glibc.write(fd, buf.baseAddress! + done, buf.count - done)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return false }
                    done += n
                }
                return true
            }
            guard ok else { throw GGUFError("cannot write '\(path)': \(String(cString: strerror(errno))); the partial output is removed") }
            written += bytes.count
        }
        try put(header())
        let start = written
        for (i, t) in tensors.enumerated() {
            try put([UInt8](repeating: 0, count: start + t.info.offset - written))
            let bytes = t.data.isEmpty && t.info.byteCount > 0 ? try data(i, t.info) : t.data
            guard bytes.count == t.info.byteCount else {
                throw GGUFError("tensor '\(t.info.name)' got \(bytes.count) bytes; it takes \(t.info.byteCount)")
            }
            try put(bytes)
        }
        try put([UInt8](repeating: 0, count: align(written) - written))
        let replacements = try finalMetadata()
        if !replacements.isEmpty {
            var final = self
            for (key, value) in replacements { final.set(key, value) }
            let header = final.header()
            guard header.count == start else {
                throw GGUFError("the final metadata changes the header's size (\(start) to \(header.count) bytes)")
            }
            let ok = header.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) == $0.count }
            guard ok else { throw GGUFError("cannot write '\(path)': \(String(cString: strerror(errno))); the partial output is removed") }
        }
        guard fsync(fd) == 0 else { throw GGUFError("cannot write '\(path)': \(String(cString: strerror(errno))); the partial output is removed") }
        guard rename(tmp, path) == 0 else { throw GGUFError("cannot rename '\(tmp)' to '\(path)': \(String(cString: strerror(errno)))") }
        finished = true
    }

    /// Writes the file atomically, every tensor with the data it was added with.
    public func write(to path: String) throws(GGUFError) {
        do {
            try write(to: path) { _, info in
                throw GGUFError("tensor '\(info.name)' was declared without data; write the file with write(to:data:)")
            }
        } catch let e as GGUFError { throw e } catch { throw GGUFError("cannot write '\(path)': \(error)") }
    }
}
