import HearthKernels
import HearthTestSupport
import Testing

/// Every format's reference dequantizer against an independent oracle: gguf-py's numpy
/// dequantizers (for q8_1 and q8_K, which gguf-py lacks, the golden script's own numpy x = d * q).
@Suite("Dequantization matches gguf-py")
struct DequantizeTests {
    @Test("the golden file covers every format in the table")
    func coverage() throws {
        let golden = try Golden.dequant.get()
        let covered = Set(golden.cases.map(\.type))
        for t in TensorType.allCases {
            #expect(covered.contains(t.description), "no golden blocks for \(t)")
        }
    }

    @Test("dequantize is bit-identical to the oracle", arguments: TensorType.allCases)
    func matchesOracle(type: TensorType) throws {
        let golden = try Golden.dequant.get()
        let c = try #require(golden.cases.first { $0.type == type.description }, "no golden case for \(type)")
        let data = try Golden.bytes(c.data)
        let expected = try Golden.floats(c.expected)
        #expect(expected.count == c.elements)
        try #require(type.traits.bytes(forElements: c.elements) == data.count, "golden block bytes disagree with the traits table")

        let got = dequantize(data, as: type, count: c.elements)
        // Bit-identical: both sides do the same float operations in the same order (ggml's).
        // NaN compares equal to NaN; nothing else is allowed to differ.
        assertWithinULPs(got, expected, ulps: 0, "\(type) vs \(c.oracle), gguf \(golden.ggufVersion)")
    }

    @Test("dequantizing a row in two pieces gives the same floats as in one", arguments: TensorType.allCases)
    func piecewise(type: TensorType) throws {
        let golden = try Golden.dequant.get()
        let c = try #require(golden.cases.first { $0.type == type.description })
        let data = try Golden.bytes(c.data)
        let block = type.traits.blockSize
        let firstCount = (c.elements / block / 2) * block
        let firstBytes = try #require(type.traits.bytes(forElements: firstCount))
        let whole = dequantize(data, as: type, count: c.elements)
        let a = dequantize(Array(data[..<firstBytes]), as: type, count: firstCount)
        let b = dequantize(Array(data[firstBytes...]), as: type, count: c.elements - firstCount)
        assertWithinULPs(a + b, whole, ulps: 0, "\(type) in two pieces")
    }
}
