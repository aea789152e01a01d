import HearthKernels

/// Float-to-block quantizers that Hearth's kernels do not have yet, for generating test weights.
/// Each is a line-by-line port of ggml's scalar reference (`quantize_row_xxx_ref` in
/// ggml-quants.c), so the bytes equal what llama.cpp's and gguf-py's quantizers make; the
/// kernel tests check that against gguf-py. They are for tests only: `HearthQuantize` owns the
/// real quantizers.
public enum TestQuantizers {
    /// Quantizes `x` (a whole number of blocks) to `type`: the kernel table's quantizer where it
    /// has one, else a test quantizer. Nil when neither exists or `x` is not whole blocks.
    public static func quantize(_ x: [Float], as type: TensorType) -> [UInt8]? {
        guard let bytes = type.traits.bytes(forElements: x.count) else { return nil }
        if let q = type.traits.quantize {
            var out = [UInt8](repeating: 0, count: bytes)
            x.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBytes { dst in q(src.baseAddress!, dst.baseAddress!, x.count) }
            }
            return out
        }
        switch type {
        case .q4_0: return quantizeQ4_0(x)
        case .q4_1: return quantizeQ4_1(x)
        default: return nil
        }
    }

    /// q4_0 as `quantize_row_q4_0_ref`: d = max / -8 where max is the (first) element of largest
    /// magnitude, q = min(15, trunc(x / d + 8.5)); low nibbles hold elements 0..15.
    public static func quantizeQ4_0(_ x: [Float]) -> [UInt8] {
        precondition(x.count % 32 == 0, "q4_0 takes whole blocks of 32")
        var out: [UInt8] = []
        out.reserveCapacity(x.count / 32 * 18)
        for b in stride(from: 0, to: x.count, by: 32) {
            var amax: Float = 0, maxv: Float = 0
            for j in 0..<32 where amax < abs(x[b + j]) { amax = abs(x[b + j]); maxv = x[b + j] }
            let d = maxv / -8
            let id: Float = d != 0 ? 1 / d : 0
            appendHalf(d, to: &out)
            for j in 0..<16 {
                let x0 = x[b + j] * id, x1 = x[b + 16 + j] * id
                let q0 = UInt8(min(15, Int(x0 + 8.5))), q1 = UInt8(min(15, Int(x1 + 8.5)))
                out.append(q0 | (q1 << 4))
            }
        }
        return out
    }

    /// q4_1 as `quantize_row_q4_1_ref`: d = (max - min) / 15, m = min,
    /// q = min(15, trunc((x - min) / d + 0.5)).
    public static func quantizeQ4_1(_ x: [Float]) -> [UInt8] {
        precondition(x.count % 32 == 0, "q4_1 takes whole blocks of 32")
        var out: [UInt8] = []
        out.reserveCapacity(x.count / 32 * 20)
        for b in stride(from: 0, to: x.count, by: 32) {
            var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
            for j in 0..<32 { lo = min(lo, x[b + j]); hi = max(hi, x[b + j]) }
            let d = (hi - lo) / 15
            let id: Float = d != 0 ? 1 / d : 0
            appendHalf(d, to: &out)
            appendHalf(lo, to: &out)
            for j in 0..<16 {
                let x0 = (x[b + j] - lo) * id, x1 = (x[b + 16 + j] - lo) * id
                let q0 = UInt8(min(15, Int(x0 + 0.5))), q1 = UInt8(min(15, Int(x1 + 0.5)))
                out.append(q0 | (q1 << 4))
            }
        }
        return out
    }

    private static func appendHalf(_ v: Float, to out: inout [UInt8]) {
        let h = floatToHalf(v)
        out.append(UInt8(h & 0xff)); out.append(UInt8(h >> 8))
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
