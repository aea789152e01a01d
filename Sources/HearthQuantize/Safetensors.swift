import Foundation
import HearthKernels

/// A `.safetensors` file, mapped read-only: an 8-byte little-endian header length, a JSON
/// header naming each tensor's `dtype`, `shape` and `data_offsets` (begin and end, relative to
/// the data that follows the header), an optional `__metadata__` object, then the data.
/// Every offset is checked against the file before any tensor is read.
public struct SafetensorsFile: Sendable {
    public struct Tensor: Sendable {
        public let name: String
        public let dtype: String
        /// As the file gives it: outermost dimension first (`[rows, columns]`).
        public let shape: [Int]
        /// Absolute byte range in the file.
        public let range: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [String: Tensor]
    private let data: Data

    /// The element formats Hearth reads, by safetensors' dtype names.
    static let formats: [String: TensorType] = ["F32": .f32, "F16": .f16, "BF16": .bf16]
    static let sizes: [String: Int] = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
                                       "F8_E4M3": 1, "F8_E5M2": 1]

    public init(path: String) throws(QuantizeError) {
        self.path = path
        let name = (path as NSString).lastPathComponent
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw QuantizeError("cannot read '\(path)': \(error.localizedDescription)")
        }
        guard data.count >= 8 else { throw QuantizeError("\(name) is not a safetensors file: \(data.count) bytes, shorter than its header length") }
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard headerLength > 1, headerLength <= data.count - 8, headerLength < 100 << 20 else {
            throw QuantizeError("\(name) is not a safetensors file (or is truncated): its header claims \(headerLength) bytes of \(data.count - 8)")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data.subdata(in: 8 ..< 8 + headerLength)) } catch {
            throw QuantizeError("\(name): the safetensors header is not JSON: \(error.localizedDescription)")
        }
        guard let header = json as? [String: Any] else { throw QuantizeError("\(name): the safetensors header is not a JSON object") }
        let dataStart = 8 + headerLength
        var tensors: [String: Tensor] = [:]
        for (key, value) in header where key != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [Any])?.compactMap({ $0 as? Int }), shape.count == (entry["shape"] as? [Any])?.count,
                  let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ $0 as? Int }), offsets.count == 2
            else { throw QuantizeError("\(name): tensor '\(key)' lacks a dtype, shape or data_offsets of two integers") }
            guard let size = Self.sizes[dtype] else { throw QuantizeError("\(name): tensor '\(key)' has an unknown dtype '\(dtype)'") }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw QuantizeError("\(name): tensor '\(key)' has a negative shape or reversed offsets")
            }
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            guard count < Int.max / 8, offsets[1] - offsets[0] == count * size else {
                throw QuantizeError("\(name): tensor '\(key)' (\(dtype) \(shape)) should take \(count) × \(size) bytes; its offsets span \(offsets[1] - offsets[0])")
            }
            guard dataStart + offsets[1] <= data.count else {
                throw QuantizeError("\(name) is truncated: tensor '\(key)' ends at byte \(dataStart + offsets[1]) of a \(data.count)-byte file")
            }
            tensors[key] = Tensor(name: key, dtype: dtype, shape: shape, range: dataStart + offsets[0] ..< dataStart + offsets[1])
        }
        self.tensors = tensors
    }

    /// The tensor's elements as f32, in the file's order.
    public func floats(_ t: Tensor) throws(QuantizeError) -> [Float] {
        guard let format = Self.formats[t.dtype] else {
            throw QuantizeError("tensor '\(t.name)' is \(t.dtype); hearth convert reads F32, F16 and BF16 tensors")
        }
        var out = [Float](repeating: 0, count: t.elementCount)
        data.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { format.traits.dequantize(raw.baseAddress! + t.range.lowerBound, $0.baseAddress!, t.elementCount) }
        }
        return out
    }

    /// The tensor's bytes as they are.
    public func bytes(_ t: Tensor) -> [UInt8] { [UInt8](data[t.range]) }
}
