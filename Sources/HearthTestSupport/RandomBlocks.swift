import HearthKernels

/// Seeded random data in any tensor format, for kernel tests: random bytes, except that the
/// float scale fields hold sane values (|d| in [1e-3, 1e-1]), so no NaN or Inf hides a bug.
///
/// This is a test-only mirror of where ggml's block structs keep their scales; the kernel
/// tests check the blocks against gguf-py, so a wrong offset here would show up there.
public enum RandomBlocks {
    /// Byte offsets of the f16 scale fields in one block, by format.
    public static let halfScaleOffsets: [TensorType: [Int]] = [
        .q4_0: [0], .q4_1: [0, 2], .q5_0: [0], .q5_1: [0, 2], .q8_0: [0], .q8_1: [0, 2],
        .q2_K: [80, 82], .q3_K: [108], .q4_K: [0, 2], .q5_K: [0, 2], .q6_K: [208],
    ]

    /// `blocks` blocks of `type` (for float formats: `blocks` elements, normally distributed).
    public static func make(_ type: TensorType, blocks: Int, using rng: inout TestRandom) -> [UInt8] {
        let t = type.traits
        if !t.isQuantized {
            return TestQuantizers.quantize(rng.normals(blocks), as: type)!
        }
        var out = rng.bytes(blocks * t.blockBytes)
        for b in 0..<blocks {
            let base = b * t.blockBytes
            if type == .q8_K {
                // q8_K keeps its d as f32; its bsums are left random (dequantize ignores them).
                let d = sane(&rng)
                withUnsafeBytes(of: d.bitPattern.littleEndian) { for i in 0..<4 { out[base + i] = $0[i] } }
                continue
            }
            for off in halfScaleOffsets[type] ?? [] {
                let h = floatToHalf(sane(&rng))
                out[base + off] = UInt8(h & 0xff); out[base + off + 1] = UInt8(h >> 8)
            }
        }
        return out
    }

    private static func sane(_ rng: inout TestRandom) -> Float {
        let m = rng.float(in: 1e-3...1e-1)
        return rng.bool() ? -m : m
    }
}
