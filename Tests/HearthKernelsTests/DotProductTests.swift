import HearthKernels
import HearthTestSupport
import Testing

/// `dot(row, quantize_partner(a))` against the float reference sum(dequant(row)[i] * a[i])
/// computed in Double. The error is measured relative to sum |w_i a_i| (the result itself can
/// be near zero while its terms are not), against a named budget per format.
///
/// The weights are exact on both sides (the dot product and the reference read the same
/// blocks), so the error is the activations' 8-bit rounding, their f16 scale (q8_0/q8_1 keep d
/// as f16, a relative error up to 2^-11 per block; q8_K keeps it as f32), and Float
/// accumulation. The budgets are about three times the worst error seen over the seeded cases
/// below (worst seen: 32-element formats 0.0037, K formats 0.0069, float formats 2.4e-7); the
/// K formats get more because q8_K scales 256 activations by one amax, so a lone outlier
/// coarsens the steps of many more small values than in a 32-element q8_0 block.
@Suite("Dot products against a float reference")
struct DotProductTests {
    static let budgets: [TensorType: ErrorBudget] = [
        .f32: ErrorBudget("f32 · f32 dot", relative: 1e-6),
        .f16: ErrorBudget("f16 · f32 dot", relative: 1e-6),
        .bf16: ErrorBudget("bf16 · f32 dot", relative: 1e-6),
        .q4_0: ErrorBudget("q4_0 · q8_0 dot", relative: 1e-2),
        .q4_1: ErrorBudget("q4_1 · q8_1 dot", relative: 1e-2),
        .q5_0: ErrorBudget("q5_0 · q8_0 dot", relative: 1e-2),
        .q5_1: ErrorBudget("q5_1 · q8_1 dot", relative: 1e-2),
        .q8_0: ErrorBudget("q8_0 · q8_0 dot", relative: 1e-2),
        .q8_1: ErrorBudget("q8_1 · q8_1 dot", relative: 1e-2),
        .q2_K: ErrorBudget("q2_K · q8_K dot", relative: 2e-2),
        .q3_K: ErrorBudget("q3_K · q8_K dot", relative: 2e-2),
        .q4_K: ErrorBudget("q4_K · q8_K dot", relative: 2e-2),
        .q5_K: ErrorBudget("q5_K · q8_K dot", relative: 2e-2),
        .q6_K: ErrorBudget("q6_K · q8_K dot", relative: 2e-2),
        .q8_K: ErrorBudget("q8_K · q8_K dot", relative: 2e-2),
    ]

    @Test("every format has a budget and a dot partner with a quantizer")
    func coverage() {
        for t in TensorType.allCases {
            #expect(Self.budgets[t] != nil, "no dot budget for \(t)")
            #expect(t.dotPartnerHasQuantizer, "\(t)'s dot partner \(t.traits.dotPartner) has no quantizer")
        }
    }

    @Test("dot(row, partner(a)) is within budget of the float reference", arguments: TensorType.allCases)
    func withinBudget(type: TensorType) throws {
        let budget = try #require(Self.budgets[type])
        var rng = TestRandom(seed: 0xD07 &+ UInt64(type.rawValue))
        var worst = 0.0
        for trial in 0..<24 {
            let c = try DotCase(type: type, trial: trial, rng: &rng)
            let got = Double(c.dot(c.partner))
            worst = max(worst, assertClose(got, c.reference, scale: c.scale, budget: budget, "trial \(trial)"))
        }
        // A budget far above the error hides regressions: keep it within 100x of what is seen.
        #expect(worst * 100 > budget.relative || type.traits.isQuantized == false,
                "\(budget.name): worst error \(worst) is far below the budget; tighten it")
    }

    /// The same check must fail when the partner is wrong, or it proves nothing. The wrong
    /// partner is made from the activations nudged by 10% of their RMS in the direction of each
    /// weight's sign, which moves the result by 0.1 * rms(a) * sum |w_i|: always well above a
    /// budget that is meant to hold, never cancelled by chance as a random perturbation can be.
    @Test("a wrong partner fails the budget", arguments: TensorType.allCases)
    func wrongPartnerFails(type: TensorType) throws {
        let budget = try #require(Self.budgets[type])
        var rng = TestRandom(seed: 0xBAD &+ UInt64(type.rawValue))
        for trial in 0..<8 {
            let c = try DotCase(type: type, trial: trial, rng: &rng)
            let w = dequantize(c.row, as: type, count: c.count)
            let rms = Float((c.activations.reduce(0.0) { $0 + Double($1 * $1) } / Double(c.count)).squareRoot())
            let nudged = zip(c.activations, w).map { a, w in a + (w < 0 ? -0.1 : 0.1) * rms }
            let wrong = try #require(TestQuantizers.quantize(nudged, as: type.traits.dotPartner))
            let err = abs(Double(c.dot(wrong)) - c.reference) / c.scale
            #expect(err > budget.relative, "\(budget.name) trial \(trial): a wrong partner passed (error \(err))")
        }
    }

    /// With the activations' rounding taken out (the reference uses the dequantized partner),
    /// what is left is the kernel's own arithmetic: integer sums, f16 scale products and Float
    /// accumulation. That must be tight for every format. q4_1 and q5_1 get 1e-4: their min term
    /// uses the partner's s = d * sum(q) stored as f16 (ggml's block_q8_1), which is 2^-11 off
    /// the exact sum the dequantized reference uses.
    @Test("dot(row, partner) equals sum(dequant(row) * dequant(partner)) to float rounding", arguments: TensorType.allCases)
    func exactArithmetic(type: TensorType) throws {
        let usesS = type.traits.dotPartner == .q8_1 && type != .q8_1
        let budget = ErrorBudget("\(type) · \(type.traits.dotPartner) dot vs its own dequantized operands",
                                 relative: usesS ? 1e-4 : 1e-5)
        var rng = TestRandom(seed: 0xE4AC7 &+ UInt64(type.rawValue))
        for trial in 0..<24 {
            let c = try DotCase(type: type, trial: trial, rng: &rng)
            let w = dequantize(c.row, as: type, count: c.count)
            let a = dequantize(c.partner, as: type.traits.dotPartner, count: c.count)
            var s = 0.0, scale = 0.0
            for i in 0..<c.count { s += Double(w[i]) * Double(a[i]); scale += abs(Double(w[i]) * Double(a[i])) }
            assertClose(Double(c.dot(c.partner)), s, scale: scale, budget: budget, "trial \(trial)")
        }
    }

    @Test("the dot product is linear in whole blocks: a row split in two sums to the whole", arguments: TensorType.allCases)
    func splitRow(type: TensorType) throws {
        var rng = TestRandom(seed: 0x5117 &+ UInt64(type.rawValue))
        let c = try DotCase(type: type, trial: 0, rng: &rng)
        let t = type.traits, pt = t.dotPartner.traits
        let half = c.count / t.blockSize / 2 * t.blockSize
        let rb = try #require(t.bytes(forElements: half)), pb = try #require(pt.bytes(forElements: half))
        let whole = c.dot(c.partner)
        let parts = c.row.withUnsafeBytes { r in
            c.partner.withUnsafeBytes { p in
                t.dot(r.baseAddress!, p.baseAddress!, half) + t.dot(r.baseAddress! + rb, p.baseAddress! + pb, c.count - half)
            }
        }
        #expect(abs(whole - parts) <= 1e-4 * Float(c.scale), "\(type): \(whole) vs \(parts)")
    }
}

/// One seeded dot-product case: a random row of `type`, activations, their partner, and the
/// Double reference.
struct DotCase {
    let type: TensorType
    let count: Int
    let row: [UInt8]
    let activations: [Float]
    let partner: [UInt8]
    /// sum(dequant(row)[i] * a[i]) in Double.
    let reference: Double
    /// sum |dequant(row)[i] * a[i]| in Double.
    let scale: Double

    init(type: TensorType, trial: Int, rng: inout TestRandom) throws {
        self.type = type
        let t = type.traits
        // Four K blocks or sixteen 32-element blocks (1024 / 512 elements); float formats 512.
        let blocks = t.blockSize == 256 ? 4 : t.blockSize == 32 ? 16 : 512
        count = blocks * t.blockSize
        row = RandomBlocks.make(type, blocks: blocks, using: &rng)
        activations = HearthKernelsTests.activations(&rng, count: count, kind: trial)
        partner = try #require(TestQuantizers.quantize(activations, as: t.dotPartner))
        let w = dequantize(row, as: type, count: count)
        var s = 0.0, a = 0.0
        for i in 0..<count {
            let p = Double(w[i]) * Double(activations[i])
            s += p; a += abs(p)
        }
        reference = s
        scale = a
    }

    func dot(_ partner: [UInt8]) -> Float {
        row.withUnsafeBytes { r in
            partner.withUnsafeBytes { p in type.traits.dot(r.baseAddress!, p.baseAddress!, count) }
        }
    }
}

extension TensorType {
    var dotPartnerHasQuantizer: Bool { traits.dotPartner.traits.quantize != nil }
}
