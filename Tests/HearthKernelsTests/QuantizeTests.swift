import HearthKernels
import HearthTestSupport
import Testing

/// Activation quantizers (q8_0, q8_1, q8_K), the float-format encoders, and the test-support
/// q4_0/q4_1 quantizers, against gguf-py where it has the format and against the written
/// definition of the format where it does not.
@Suite("Quantization")
struct QuantizeTests {
    // MARK: q8_0 against gguf-py

    /// Hearth scales by id = 127 / amax and rounds half to even, as ggml's x86 (AVX) path does;
    /// gguf-py follows ggml's scalar reference: id = 1 / (amax / 127), round half away from zero.
    /// So d is identical, and a quant may differ by one only where x * id is within float
    /// rounding of a tie (k + 0.5). Everywhere else the bytes must be identical.
    @Test("q8_0 matches gguf-py except at exact ties")
    func q8_0MatchesGGUFPy() throws {
        let golden = try Golden.quantize.get()
        let c = try #require(golden.cases.first { $0.type == "q8_0" })
        let x = try Golden.floats(c.input)
        let expected = try Golden.bytes(c.expected)
        let got = try #require(TestQuantizers.quantize(x, as: .q8_0))
        #expect(got.count == expected.count)
        var tieDifferences = 0
        for b in 0..<(x.count / 32) {
            let p = 34 * b
            #expect(got[p] == expected[p] && got[p + 1] == expected[p + 1], "block \(b): d differs")
            let amax = x[(32 * b)..<(32 * b + 32)].reduce(Float(0)) { max($0, abs($1)) }
            let id: Float = amax != 0 ? 127 / amax : 0
            for j in 0..<32 {
                let q = Int(Int8(bitPattern: got[p + 2 + j])), e = Int(Int8(bitPattern: expected[p + 2 + j]))
                if q == e { continue }
                let v = x[32 * b + j] * id
                let distanceFromTie = abs(abs(v) - abs(v).rounded(.down) - 0.5)
                #expect(abs(q - e) == 1 && distanceFromTie < 1e-4 * max(1, abs(v)),
                        "block \(b) element \(j): Hearth \(q), gguf-py \(e), x * id = \(v) is no tie")
                tieDifferences += 1
            }
        }
        // Random activations almost never land on a tie; a flood of "ties" would mean a bug.
        #expect(tieDifferences <= 2, "\(tieDifferences) quants differ from gguf-py at near-ties")
    }

    @Test("q8_0 rounds exact ties half to even; gguf-py rounds them away from zero")
    func q8_0Ties() throws {
        let t = try Golden.quantize.get().ties
        let got = try #require(TestQuantizers.quantize(t.input, as: .q8_0))
        let quants = got[2...].map { Int(Int8(bitPattern: $0)) }
        #expect(quants == t.expectedHalfToEven)
        // The documented difference: 2.5 -> 2 here, 3 in gguf-py (and ggml's scalar reference).
        #expect(quants != t.expectedGgufPy)
        #expect(zip(quants, t.expectedGgufPy).allSatisfy { abs($0 - $1) <= 1 })
    }

    // MARK: q8_1 and q8_K against their definitions

    /// block_q8_1: d = amax / 127 as f16, q = round(x * 127 / amax), s = d * sum(q) as f16.
    @Test("q8_1 follows its definition and shares q8_0's quants")
    func q8_1Definition() throws {
        var rng = TestRandom(seed: 81)
        for trial in 0..<16 {
            let x = activations(&rng, count: 256, kind: trial)
            let q1 = try #require(TestQuantizers.quantize(x, as: .q8_1))
            let q0 = try #require(TestQuantizers.quantize(x, as: .q8_0))
            for b in 0..<8 {
                let p = 36 * b, block = Array(x[(32 * b)..<(32 * b + 32)])
                let amax = block.reduce(Float(0)) { max($0, abs($1)) }
                let d = amax / 127
                #expect(u16(q1, p) == floatToHalf(d), "trial \(trial) block \(b): d")
                let qs = (0..<32).map { Int(Int8(bitPattern: q1[p + 4 + $0])) }
                #expect(qs == (0..<32).map { Int(Int8(bitPattern: q0[34 * b + 2 + $0])) }, "q8_1 and q8_0 quants differ")
                #expect(u16(q1, p + 2) == floatToHalf(d * Float(qs.reduce(0, +))), "trial \(trial) block \(b): s")
                #expect(qs.allSatisfy { abs($0) <= 127 })
                if amax > 0 {
                    #expect(qs.map(abs).max() == 127, "the largest element maps to ±127")
                    for j in 0..<32 {
                        #expect(abs(Float(qs[j]) * d - block[j]) <= d / 2 * 1.0001, "element off by more than half a step")
                    }
                } else {
                    #expect(qs.allSatisfy { $0 == 0 })
                }
            }
        }
    }

    /// block_q8_K (ggml's quantize_row_q8_K_ref): the element of largest magnitude, max, maps to
    /// -127; d = 1 / (-127 / max) as f32; bsums[g] = sum of quants g*16 ..< g*16+16.
    @Test("q8_K follows its definition")
    func q8_KDefinition() throws {
        var rng = TestRandom(seed: 82)
        for trial in 0..<16 {
            var x = activations(&rng, count: 512, kind: trial)
            if trial == 0 { for i in 256..<512 { x[i] = 0 } }  // an all-zero block
            let q = try #require(TestQuantizers.quantize(x, as: .q8_K))
            for b in 0..<2 {
                let p = 292 * b, block = Array(x[(256 * b)..<(256 * b + 256)])
                var amax: Float = 0, maxv: Float = 0, at = 0
                for (i, v) in block.enumerated() where abs(v) > amax { amax = abs(v); maxv = v; at = i }
                let d = Float(bitPattern: u32(q, p))
                let qs = (0..<256).map { Int(Int8(bitPattern: q[p + 4 + $0])) }
                let bsums = (0..<16).map { Int(Int16(bitPattern: u16(q, p + 260 + 2 * $0))) }
                if amax == 0 {
                    #expect(d == 0 && qs.allSatisfy { $0 == 0 } && bsums.allSatisfy { $0 == 0 })
                    continue
                }
                #expect(d == 1 / (-127 / maxv), "trial \(trial) block \(b): d")
                #expect(qs[at] == -127, "the largest-magnitude element maps to -127")
                #expect(qs.allSatisfy { abs($0) <= 127 })
                for g in 0..<16 {
                    #expect(bsums[g] == qs[(16 * g)..<(16 * g + 16)].reduce(0, +), "bsum \(g)")
                }
                for j in 0..<256 {
                    #expect(abs(Float(qs[j]) * d - block[j]) <= abs(d) / 2 * 1.0001, "element \(j) off by more than half a step")
                }
            }
        }
    }

    // MARK: float formats and the test-support quantizers against gguf-py / numpy

    @Test("f16 and bf16 encoding match numpy and gguf-py bit for bit")
    func floatEncoders() throws {
        let golden = try Golden.dequant.get()
        let x = try Golden.floats(try #require(golden.cases.first { $0.type == "f32" }).data)
        for type in [TensorType.f16, .bf16] {
            let expected = try Golden.bytes(try #require(golden.cases.first { $0.type == type.description }).data)
            let got = try #require(TestQuantizers.quantize(x, as: type))
            for i in x.indices {
                let (g, e) = (u16(got, 2 * i), u16(expected, 2 * i))
                if x[i].isNaN {
                    // NaN stays NaN; its payload bits are not part of the contract.
                    #expect(dequantize(Array(got[(2 * i)..<(2 * i + 2)]), as: type, count: 1)[0].isNaN)
                } else {
                    #expect(g == e, "\(type) of \(x[i]): 0x\(String(g, radix: 16)), expected 0x\(String(e, radix: 16))")
                }
            }
        }
    }

    @Test("weight quantizers match gguf-py's byte for byte (zero, constant, tiny and large blocks, rounding ties)",
          arguments: ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0"])
    func weightQuantizers(name: String) throws {
        let golden = try Golden.weightQuantize.get()
        let c = try #require(golden.cases.first { $0.type == name })
        let x = try Golden.floats(golden.input)
        let type = try #require(TensorType(name: name))
        let quantize = try #require(type.traits.quantizeWeights)
        var got = [UInt8](repeating: 0, count: try #require(type.traits.bytes(forElements: x.count)))
        x.withUnsafeBufferPointer { src in got.withUnsafeMutableBytes { quantize(src.baseAddress!, $0.baseAddress!, x.count) } }
        let expected = try Golden.bytes(c.expected)
        let first = got.indices.first { $0 < expected.count && got[$0] != expected[$0] }
        #expect(got == expected, "\(name): first difference at byte \(first ?? -1) (block \((first ?? 0) / type.traits.blockBytes))")
    }

    @Test("test-support q4_0 and q4_1 quantizers match gguf-py byte for byte", arguments: ["q4_0", "q4_1"])
    func testQuantizers(name: String) throws {
        let golden = try Golden.quantize.get()
        let c = try #require(golden.cases.first { $0.type == name })
        let x = try Golden.floats(c.input)
        let type = try #require(TensorType(name: name))
        let got = try #require(TestQuantizers.quantize(x, as: type))
        let expected = try Golden.bytes(c.expected)
        #expect(got == expected, "\(name): first difference at byte \(got.indices.first { $0 < expected.count && got[$0] != expected[$0] } ?? -1)")
    }

    // MARK: no crash on non-finite activations

    /// Activations come from file contents; an Inf or NaN among them (an overflowing layer, a
    /// corrupt weight) must give garbage, not kill the process.
    /// (An exit test: a trap fails this test instead of ending the whole test run.)
    /// Weights come from files too: a source with Inf or NaN weights gives garbage blocks
    /// from `hearth quantize`, not a trap.
    @Test("quantizing Inf and NaN weights does not crash, in any format")
    func nonFiniteWeights() async {
        await #expect(processExitsWith: .success) {
            for type in TensorType.allCases {
                guard let quantize = type.traits.quantizeWeights else { continue }
                for special in [Float.infinity, -.infinity, .nan] {
                    for x in [[Float](repeating: special, count: 256), (0..<256).map { $0 == 7 ? special : Float($0) / 100 }] {
                        var out = [UInt8](repeating: 0, count: type.traits.bytes(forElements: 256)!)
                        x.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { quantize(src.baseAddress!, $0.baseAddress!, 256) } }
                    }
                }
            }
        }
    }

    @Test("quantizing Inf and NaN activations does not crash")
    func nonFinite() async {
        await #expect(processExitsWith: .success) {
            for type in [TensorType.q8_0, .q8_1, .q8_K] {
                for special in [Float.infinity, -.infinity, .nan] {
                    var x = [Float](repeating: 0.5, count: 256)
                    x[3] = special
                    _ = TestQuantizers.quantize(x, as: type)
                    x = [Float](repeating: special, count: 256)
                    _ = TestQuantizers.quantize(x, as: type)
                }
            }
        }
    }
}

// MARK: helpers

/// Seeded activation-like vectors of a few shapes: normal, uniform, heavy-tailed, and tiny
/// values with lone outliers (the case that stresses per-block scaling).
func activations(_ rng: inout TestRandom, count: Int, kind: Int) -> [Float] {
    switch kind % 4 {
    case 0: return rng.normals(count)
    case 1: return (0..<count).map { _ in rng.float(in: -3...3) }
    case 2: return (0..<count).map { _ in Float(rng.normal() * _exp(rng.normal())) }
    default:
        var x = rng.normals(count, scale: 0.01)
        for _ in 0..<(count / 32) { x[rng.int(below: count)] = Float(rng.normal() * 50) }
        return x
    }
}

func u16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
func u32(_ b: [UInt8], _ at: Int) -> UInt32 { UInt32(u16(b, at)) | UInt32(u16(b, at + 2)) << 16 }

#if canImport(Glibc)
import Glibc
private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#else
import Darwin
private func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
