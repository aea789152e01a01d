/// Everything Hearth knows about one tensor format, as data: block geometry, the scalar
/// reference dequantizer, and the integer dot product against quantized activations.
/// No other module switches over formats; they ask this table.
public struct FormatTraits: Sendable {
    /// A function that turns `count` elements (a multiple of `blockSize`) at `src` into floats.
    public typealias Dequantize = @Sendable (_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) -> Void
    /// A function that stores `count` floats in this format (a multiple of `blockSize`).
    public typealias Quantize = @Sendable (_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) -> Void
    /// Dot product of a row in this format with a row in `dotPartner` format, `count` elements.
    public typealias Dot = @Sendable (_ row: UnsafeRawPointer, _ partner: UnsafeRawPointer, _ count: Int) -> Float

    public let type: TensorType
    /// ggml's name for the format.
    public let name: String
    /// Elements per block (1 for plain float formats).
    public let blockSize: Int
    /// Bytes per block, identical to sizeof(block_xxx) in ggml.
    public let blockBytes: Int
    /// The format activations are converted to before `dot` (ggml's `vec_dot_type`).
    public let dotPartner: TensorType
    public let dequantize: Dequantize
    /// The reference quantizer, where Hearth has one (activation formats and float formats).
    public let quantize: Quantize?
    /// The quantizer for weights, as llama-quantize and gguf-py store them (ggml's scalar
    /// references), where Hearth has one; for q8_0 it rounds half away from zero where the
    /// activation quantizer rounds half to even.
    public let quantizeWeights: Quantize?
    public let dot: Dot

    public var isQuantized: Bool { blockSize > 1 }

    /// Bytes taken by `elements` elements; nil when `elements` is not a whole number of blocks.
    public func bytes(forElements elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (r, o) = (elements / blockSize).multipliedReportingOverflow(by: blockBytes)
        return o ? nil : r
    }

    /// Bits per weight of the format.
    public var bitsPerWeight: Double { Double(blockBytes * 8) / Double(blockSize) }

    static let table: [TensorType: FormatTraits] = {
        var t: [TensorType: FormatTraits] = [:]
        func add(_ type: TensorType, _ name: String, _ blockSize: Int, _ blockBytes: Int, _ partner: TensorType,
                 _ deq: @escaping Dequantize, _ q: Quantize?, _ dot: @escaping Dot, weights: Quantize? = nil) {
            // A float format stores weights as it stores anything.
            let weights = weights ?? (blockSize == 1 ? q : nil)
            t[type] = FormatTraits(type: type, name: name, blockSize: blockSize, blockBytes: blockBytes,
                                   dotPartner: partner, dequantize: deq, quantize: q, quantizeWeights: weights, dot: dot)
        }
        add(.f32, "f32", 1, 4, .f32, FloatFormats.dequantizeF32, FloatFormats.quantizeF32, FloatFormats.dotF32)
        add(.f16, "f16", 1, 2, .f32, FloatFormats.dequantizeF16, FloatFormats.quantizeF16, FloatFormats.dotF16)
        add(.bf16, "bf16", 1, 2, .f32, FloatFormats.dequantizeBF16, FloatFormats.quantizeBF16, FloatFormats.dotBF16)
        add(.q4_0, "q4_0", 32, 18, .q8_0, LegacyQuants.dequantizeQ4_0, nil, LegacyQuants.dotQ4_0, weights: LegacyQuants.quantizeWeightsQ4_0)
        add(.q4_1, "q4_1", 32, 20, .q8_1, LegacyQuants.dequantizeQ4_1, nil, LegacyQuants.dotQ4_1, weights: LegacyQuants.quantizeWeightsQ4_1)
        add(.q5_0, "q5_0", 32, 22, .q8_0, LegacyQuants.dequantizeQ5_0, nil, LegacyQuants.dotQ5_0, weights: LegacyQuants.quantizeWeightsQ5_0)
        add(.q5_1, "q5_1", 32, 24, .q8_1, LegacyQuants.dequantizeQ5_1, nil, LegacyQuants.dotQ5_1, weights: LegacyQuants.quantizeWeightsQ5_1)
        add(.q8_0, "q8_0", 32, 34, .q8_0, LegacyQuants.dequantizeQ8_0, LegacyQuants.quantizeQ8_0, LegacyQuants.dotQ8_0,
            weights: LegacyQuants.quantizeWeightsQ8_0)
        add(.q8_1, "q8_1", 32, 36, .q8_1, LegacyQuants.dequantizeQ8_1, LegacyQuants.quantizeQ8_1, LegacyQuants.dotQ8_1)
        add(.q2_K, "q2_K", 256, 84, .q8_K, KQuants.dequantizeQ2_K, nil, KQuants.dotQ2_K, weights: KQuants.quantizeWeightsQ2_K)
        add(.q3_K, "q3_K", 256, 110, .q8_K, KQuants.dequantizeQ3_K, nil, KQuants.dotQ3_K, weights: KQuants.quantizeWeightsQ3_K)
        add(.q4_K, "q4_K", 256, 144, .q8_K, KQuants.dequantizeQ4_K, nil, KQuants.dotQ4_K, weights: KQuants.quantizeWeightsQ4_K)
        add(.q5_K, "q5_K", 256, 176, .q8_K, KQuants.dequantizeQ5_K, nil, KQuants.dotQ5_K, weights: KQuants.quantizeWeightsQ5_K)
        add(.q6_K, "q6_K", 256, 210, .q8_K, KQuants.dequantizeQ6_K, nil, KQuants.dotQ6_K, weights: KQuants.quantizeWeightsQ6_K)
        add(.q8_K, "q8_K", 256, 292, .q8_K, KQuants.dequantizeQ8_K, KQuants.quantizeQ8_K, KQuants.dotQ8_K)
        return t
    }()
}
