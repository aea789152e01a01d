import HearthKernels

/// Float-to-block quantization for generating test weights: the kernel table's activation
/// quantizer where a format has one (so q8_0 test weights match what the activation path
/// makes), else its weight quantizer (ggml's scalar references, checked against gguf-py).
public enum TestQuantizers {
    /// Quantizes `x` (a whole number of blocks) to `type`; nil when Hearth has no quantizer
    /// for it or `x` is not whole blocks.
    public static func quantize(_ x: [Float], as type: TensorType) -> [UInt8]? {
        guard let bytes = type.traits.bytes(forElements: x.count),
              let q = type.traits.quantize ?? type.traits.quantizeWeights else { return nil }
        var out = [UInt8](repeating: 0, count: bytes)
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { dst in q(src.baseAddress!, dst.baseAddress!, x.count) }
        }
        return out
    }
}

/// Dequantizes `bytes` of `type` holding `count` elements with the kernel table.
public func dequantize(_ bytes: [UInt8], as type: TensorType, count: Int) -> [Float] {
    precondition(type.traits.bytes(forElements: count) == bytes.count, "\(bytes.count) bytes are not \(count) \(type) elements")
    var out = [Float](repeating: 0, count: count)
    bytes.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { dst in type.traits.dequantize(src.baseAddress!, dst.baseAddress!, count) }
    }
    return out
}
