import Foundation
import HearthKernels
import HearthSIMD
import HearthTestSupport
import Testing

/// Every fast kernel against its scalar twin, on every path this machine can run (each forced
/// in turn). The twin is the format's reference `dot` (FormatTraits), row by row, on the same
/// weight and activation bytes. Both compute each block's integer dot product exactly, so they
/// may differ only by the order of the Float sums over blocks: the budget is relative to
/// sum_b |scale_b * block dot_b|, bounded by sum_i |w_i| |a_i| of the dequantized values.
@Suite("Matrix products: fast kernels against the scalar twin")
struct MatrixProductTests {
    /// Float reassociation over at most k / 32 = 16 block sums (plus q4_K's min terms): a few
    /// ulps of the magnitude. The worst seen over the cases below was 6e-8 (q6_K); a kernel that drops or doubles one block lands far outside.
    static let reorderBudget = ErrorBudget("matrix product, summation order only", relative: 1e-5)

    static let formats: [TensorType] = TensorType.allCases.filter {
        ($0.traits.isQuantized && $0.dotPartnerHasQuantizer && $0 != .q8_1 && $0 != .q8_K) || [.f32, .f16, .bf16].contains($0)
    }
    static let k = 512
    /// The formats the x86 paths have kernels for; the others run the portable code on every path.
    static let fastFormats: Set<TensorType> = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q6_K, .f32, .f16, .bf16]

    struct Case: CustomTestStringConvertible, Sendable {
        let type: TensorType, path: KernelPath, rows: Int, cols: Int
        var testDescription: String { "\(type) \(path) \(rows)x\(cols)" }
    }

    /// Rows: a multiple of 8 (the interleaved kernels) and not (the row kernels, with edge
    /// tiles); columns: one (generation), a few, and more than one column chunk (32).
    static let cases: [Case] = formats.flatMap { type in
        KernelPath.supported.flatMap { path in
            [(16, 1), (16, 5), (24, 37), (13, 1), (13, 6), (7, 33)].map { Case(type: type, path: path, rows: $0.0, cols: $0.1) }
        }
    }

    @Test("fast kernel equals the scalar dot within the reordering budget", arguments: cases)
    func matchesTwin(_ c: Case) throws {
        var rng = TestRandom(seed: 0x5eed ^ UInt64(c.type.rawValue) &* 977 ^ UInt64(c.rows * 131 + c.cols))
        let t = c.type.traits, partner = t.dotPartner.traits
        let rowBytes = t.bytes(forElements: Self.k)!, xBytes = partner.bytes(forElements: Self.k)!
        let weights = RandomBlocks.make(c.type, blocks: c.rows * Self.k / t.blockSize, using: &rng)
        let floats = rng.normals(c.cols * Self.k)
        var x = [UInt8](repeating: 0, count: c.cols * xBytes)
        x.withUnsafeMutableBytes { xb in
            floats.withUnsafeBufferPointer { f in
                for col in 0..<c.cols { partner.quantize!(f.baseAddress! + col * Self.k, xb.baseAddress! + col * xBytes, Self.k) }
            }
        }
        var fast = [Float](repeating: .nan, count: c.cols * c.rows)
        var expected = fast, magnitude = fast
        weights.withUnsafeBytes { w in
            x.withUnsafeBytes { xb in
                let product = MatrixProduct(weights: w.baseAddress!, type: c.type, rows: c.rows, k: Self.k, rowBytes: rowBytes, path: c.path)
                #expect(product.hasFastKernel == (c.path != .portable && Self.fastFormats.contains(c.type)),
                        "\(c.path) \(product.hasFastKernel ? "has" : "has no") kernel for \(c.type)")
                fast.withUnsafeMutableBufferPointer { y in
                    // Two calls over halves of the rows, at a granule boundary, as threads split them.
                    let split = c.rows >= 2 * product.rowGranule ? product.rowGranule : c.rows
                    product(rows: 0, split, x: xb.baseAddress!, xStride: xBytes, cols: c.cols, y: y.baseAddress!, yStride: c.rows)
                    if split < c.rows {
                        product(rows: split, c.rows, x: xb.baseAddress!, xStride: xBytes, cols: c.cols, y: y.baseAddress!, yStride: c.rows)
                    }
                }
                var wf = [Float](repeating: 0, count: Self.k), af = wf
                for r in 0..<c.rows {
                    let row = w.baseAddress! + r * rowBytes
                    t.dequantize(row, &wf, Self.k)
                    for col in 0..<c.cols {
                        let xc = xb.baseAddress! + col * xBytes
                        expected[col * c.rows + r] = t.dot(row, xc, Self.k)
                        partner.dequantize(xc, &af, Self.k)
                        magnitude[col * c.rows + r] = zip(wf, af).reduce(0) { $0 + abs($1.0 * $1.1) }
                    }
                }
            }
        }
        var worst: Float = 0
        for i in fast.indices {
            let err = abs(fast[i] - expected[i]) / max(magnitude[i], 1e-30)
            worst = max(worst, err.isNaN ? .infinity : err)
        }
        #expect(Double(worst) <= Self.reorderBudget.relative, "\(c.testDescription): worst relative difference \(worst) is over the \(Self.reorderBudget.name) budget \(Self.reorderBudget.relative)")
        // The comparison can fail: the results of neighbouring rows are far apart at this budget.
        if c.rows > 1 {
            let swapped = abs(fast[1] - expected[0]) / max(magnitude[0], 1e-30)
            #expect(Double(swapped) > Self.reorderBudget.relative, "row 1's result passes for row 0's: the budget cannot tell rows apart")
        }
    }

    @Test("a path the CPU lacks, or an unknown name, is refused by HEARTH_KERNELS")
    func environmentChoice() throws {
        #expect(try KernelPath.fromEnvironment(nil) == KernelPath.best)
        #expect(try KernelPath.fromEnvironment("PORTABLE") == .portable)
        #expect(throws: KernelPathError.self) { try KernelPath.fromEnvironment("sse9") }
        for path in KernelPath.allCases where !path.isSupported {
            #expect(throws: KernelPathError.self) { try KernelPath.fromEnvironment(path.rawValue) }
        }
    }
}

/// The vector attention kernel against a scalar softmax-attention written here, in Double.
@Suite("Attention kernel against a scalar reference")
struct AttentionKernelTests {
    static let budget = ErrorBudget("attention output over an f16 cache, f32 sums, polynomial exp", relative: 2e-5)

    @Test("one query over cached f16 keys and values", arguments: [1, 3, 8, 61, 300])
    func matchesReference(count: Int) throws {
        guard KernelPath.avx2.isSupported else { return }
        var rng = TestRandom(seed: UInt64(count) * 7919)
        let headDim = 64, stride = 3 * headDim, offset = headDim
        let q = rng.normals(headDim)
        // The cache holds f16: the reference reads the same rounded values.
        let keys = rng.normals(count * stride, scale: 2).map { floatToHalf($0) }
        let values = rng.normals(count * stride).map { floatToHalf($0) }
        let scale: Float = 0.125
        var scores = [Float](repeating: 0, count: count)
        var out = [Float](repeating: .nan, count: headDim)
        keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                hearth_attend_one(q, k.baseAddress! + offset, v.baseAddress! + offset, stride, count, headDim, scale, &scores, &out)
            }
        }
        // Reference: softmax in Double.
        func key(_ p: Int, _ d: Int) -> Double { Double(halfToFloat(keys[p * stride + offset + d])) }
        func value(_ p: Int, _ d: Int) -> Double { Double(halfToFloat(values[p * stride + offset + d])) }
        var s = [Double](repeating: 0, count: count)
        for p in 0..<count { s[p] = (0..<headDim).reduce(0.0) { $0 + Double(q[$1]) * key(p, $1) } * Double(scale) }
        let m = s.max()!
        let e = s.map { exp($0 - m) }
        let sum = e.reduce(0, +)
        var worst = 0.0
        for d in 0..<headDim {
            var ref = 0.0, mag = 0.0
            for p in 0..<count {
                ref += e[p] / sum * value(p, d)
                mag += e[p] / sum * abs(value(p, d))
            }
            worst = max(worst, abs(Double(out[d]) - ref) / mag)
        }
        #expect(worst <= Self.budget.relative, "worst relative error \(worst) over the \(Self.budget.name) budget")
    }
}


/// The vector activation quantizers write the reference quantizers' bytes exactly, including
/// for blocks of zeros, huge and tiny values, Inf and NaN.
@Suite("Activation quantizers: vector against reference, byte for byte")
struct ActivationQuantizerTests {
    static let cases: [(TensorType, KernelPath)] = [TensorType.q8_0, .q8_1, .q8_K, .f16].flatMap { t in
        KernelPath.supported.map { (t, $0) }
    }

    @Test("same bytes as the reference", arguments: cases)
    func sameBytes(type: TensorType, path: KernelPath) throws {
        var rng = TestRandom(seed: 0xacc + UInt64(type.rawValue))
        let n = 256 * 8
        var x = rng.normals(n, scale: 3)
        // Block 1: zeros; block 2: one huge value; block 3: subnormal-sized values; block 4:
        // an Inf; block 5: a NaN; ties at .5 after scaling in block 6 (amax 127 -> id 1).
        let block = type == .q8_K ? 256 : type == .f16 ? 8 : 32
        for i in 0..<block { x[block + i] = 0 }
        x[2 * block + 5] = 3e38
        for i in 0..<block { x[3 * block + i] = Float(bitPattern: UInt32(i * 1000 + 1)) }
        x[4 * block + 7] = .infinity
        x[5 * block + 9] = .nan
        if type != .q8_K { for i in 0..<block { x[6 * block + i] = Float(i) - 0.5 }; x[6 * block] = 127 }
        let bytes = type.traits.bytes(forElements: n)!
        var want = [UInt8](repeating: 0, count: bytes), got = [UInt8](repeating: 0xee, count: bytes)
        x.withUnsafeBufferPointer { xb in
            want.withUnsafeMutableBytes { type.traits.quantize!(xb.baseAddress!, $0.baseAddress!, n) }
            got.withUnsafeMutableBytes { path.quantizer(for: type)!(xb.baseAddress!, $0.baseAddress!, n) }
        }
        let firstDifference = zip(want, got).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "\(type) on \(path): first differing byte at \(firstDifference ?? -1) (block \((firstDifference ?? 0) / type.traits.blockBytes))")
    }
}

/// The interleaved layouts lose nothing: every row read back from a repacked matrix is the
/// file's bytes, for every format that has such a layout.
@Suite("Interleaved layouts round-trip")
struct RepackRoundTripTests {
    @Test("copyRow returns the original bytes after repacking", arguments: [TensorType.q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q6_K])
    func roundTrip(type: TensorType) throws {
        guard KernelPath.avx512vnni.isSupported else { return }
        var rng = TestRandom(seed: 0x7e7 + UInt64(type.rawValue))
        let rows = 24, k = 512, rowBytes = type.traits.bytes(forElements: k)!
        let weights = RandomBlocks.make(type, blocks: rows * k / type.traits.blockSize, using: &rng)
        try weights.withUnsafeBytes { w in
            let product = MatrixProduct(weights: w.baseAddress!, type: type, rows: rows, k: k, rowBytes: rowBytes, path: .avx512vnni)
            #expect(product.rowGranule == 8, "\(type) is not repacked on the VNNI path")
            product.prepare()
            var row = [UInt8](repeating: 0, count: rowBytes)
            for r in 0..<rows {
                row.withUnsafeMutableBytes { product.copyRow(r, to: $0.baseAddress!) }
                let original = Array(UnsafeRawBufferPointer(rebasing: w[(r * rowBytes)..<((r + 1) * rowBytes)]))
                try #require(row == original, "\(type) row \(r) differs after the round trip")
            }
        }
    }
}
