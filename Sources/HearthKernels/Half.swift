// Conversions between Float and the 16-bit float formats that GGUF stores (IEEE half and bfloat16).
// Rounding is round-to-nearest-even, as the F16C instructions ggml uses do.

/// IEEE half to Float, exactly, without a library call (Swift lowers `Float(Float16)` to
/// `__extendhfsf2` on x86 without F16C, which cost 60% of decode time). The half's exponent and
/// mantissa are moved into a Float's bit positions and rescaled by 2^-112 (the difference of the
/// exponent biases), which also turns half infinities and NaNs into Float ones; subnormal halves
/// are built by adding the mantissa to 0.5 in the bits and subtracting 0.5.
@inline(__always) public func halfToFloat(_ bits: UInt16) -> Float {
    let w = UInt32(bits) << 16
    let sign = w & 0x8000_0000
    let twice = w &+ w                                     // exponent and mantissa, sign dropped
    let normal = Float(bitPattern: (twice >> 4) &+ (0xE0 << 23)) * Float(bitPattern: 0x0780_0000)  // * 2^-112
    let subnormal = Float(bitPattern: (twice >> 17) | (126 << 23)) - 0.5
    let magnitude = twice < (1 << 27) ? subnormal.bitPattern : normal.bitPattern
    return Float(bitPattern: sign | magnitude)
}

@inline(__always) public func floatToHalf(_ x: Float) -> UInt16 {
    Float16(x).bitPattern
}

@inline(__always) public func bf16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// Float to bfloat16 with round-to-nearest-even; NaN stays a (quiet) NaN, as ggml does.
@inline(__always) public func floatToBF16(_ x: Float) -> UInt16 {
    let u = x.bitPattern
    if (u & 0x7fff_ffff) > 0x7f80_0000 { return UInt16(truncatingIfNeeded: (u >> 16) | 64) }
    return UInt16(truncatingIfNeeded: (u &+ (0x7fff &+ ((u >> 16) & 1))) >> 16)
}

extension UnsafeRawPointer {
    @inline(__always) func f16(at offset: Int) -> Float {
        halfToFloat(loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always) func u8(at offset: Int) -> UInt8 {
        load(fromByteOffset: offset, as: UInt8.self)
    }
    @inline(__always) func i8(at offset: Int) -> Int8 {
        load(fromByteOffset: offset, as: Int8.self)
    }
}
