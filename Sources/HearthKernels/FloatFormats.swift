// Plain float formats: f32, f16 and bf16. Their dot partner is f32 (activations stay float).

enum FloatFormats {
    static let dequantizeF32: FormatTraits.Dequantize = { src, dst, n in
        dst.update(from: src.assumingMemoryBound(to: Float.self), count: n)
    }
    static let quantizeF32: FormatTraits.Quantize = { src, dst, n in
        dst.assumingMemoryBound(to: Float.self).update(from: src, count: n)
    }
    static let dotF32: FormatTraits.Dot = { x, y, n in
        let a = x.assumingMemoryBound(to: Float.self), b = y.assumingMemoryBound(to: Float.self)
        return dotFloat(a, b, n)
    }

    static let dequantizeF16: FormatTraits.Dequantize = { src, dst, n in
        for i in 0..<n { dst[i] = src.f16(at: 2 * i) }
    }
    static let quantizeF16: FormatTraits.Quantize = { src, dst, n in
        for i in 0..<n { dst.storeBytes(of: floatToHalf(src[i]), toByteOffset: 2 * i, as: UInt16.self) }
    }
    static let dotF16: FormatTraits.Dot = { x, y, n in
        let b = y.assumingMemoryBound(to: Float.self)
        var s: Float = 0
        for i in 0..<n { s += x.f16(at: 2 * i) * b[i] }
        return s
    }

    static let dequantizeBF16: FormatTraits.Dequantize = { src, dst, n in
        for i in 0..<n { dst[i] = bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
    }
    static let quantizeBF16: FormatTraits.Quantize = { src, dst, n in
        for i in 0..<n { dst.storeBytes(of: floatToBF16(src[i]), toByteOffset: 2 * i, as: UInt16.self) }
    }
    static let dotBF16: FormatTraits.Dot = { x, y, n in
        let b = y.assumingMemoryBound(to: Float.self)
        var s: Float = 0
        for i in 0..<n { s += bf16ToFloat(x.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) * b[i] }
        return s
    }
}

/// Dot product of two float vectors, in eight partial sums so the compiler can vectorize it.
@inline(__always) public func dotFloat(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n {
        let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
        let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        acc += va * vb
        i += 8
    }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}
