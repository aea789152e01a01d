import Foundation
import HearthEngine
import HearthGGUF
import HearthKernels
import HearthTestSupport
import Testing

/// The llama forward pass on seeded tiny models, against a reference written here from the
/// math (Double precision, plain loops, no code shared with the engine).
struct TinyModelForwardTests {
    /// Reference logits for every position of `tokens`: (tokens.count, vocab).
    static func referenceLogits(_ m: TinyModel, _ tokens: [Int32]) -> [[Double]] {
        let c = m.config, w = m.weights
        let dim = c.dim, hd = c.headDim, nh = c.nHeads, nkv = c.nKVHeads, ff = c.ff
        let vocab = m.vocabSize
        func rms(_ x: [Double], _ g: [Float]) -> [Double] {
            let ms = x.map { $0 * $0 }.reduce(0, +) / Double(x.count)
            let s = 1 / (ms + Double(c.rmsEps)).squareRoot()
            return x.indices.map { x[$0] * s * Double(g[$0]) }
        }
        func matvec(_ a: [Float], rows: Int, cols: Int, _ x: [Double]) -> [Double] {
            (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + Double(a[r * cols + $1]) * x[$1] } }
        }
        func rope(_ v: inout [Double], heads: Int, pos: Int) {
            for h in 0..<heads {
                for i in 0..<(hd / 2) {
                    let theta = Double(pos) * pow(Double(c.ropeFreqBase), -2 * Double(i) / Double(hd))
                    let a = v[h * hd + 2 * i], b = v[h * hd + 2 * i + 1]
                    v[h * hd + 2 * i] = a * cos(theta) - b * sin(theta)
                    v[h * hd + 2 * i + 1] = a * sin(theta) + b * cos(theta)
                }
            }
        }
        var keys = Array(repeating: [[Double]](), count: c.nLayers)
        var values = Array(repeating: [[Double]](), count: c.nLayers)
        var out: [[Double]] = []
        for (pos, t) in tokens.enumerated() {
            var x = (0..<dim).map { Double(w.tokenEmbedding[Int(t) * dim + $0]) }
            for (l, L) in w.layers.enumerated() {
                let xn = rms(x, L.attnNorm)
                var q = matvec(L.wq, rows: nh * hd, cols: dim, xn)
                var k = matvec(L.wk, rows: nkv * hd, cols: dim, xn)
                let v = matvec(L.wv, rows: nkv * hd, cols: dim, xn)
                rope(&q, heads: nh, pos: pos)
                rope(&k, heads: nkv, pos: pos)
                // The cache stores f16 (as llama.cpp's default): keys and values are read back rounded.
                func cached(_ x: [Double]) -> [Double] { x.map { Double(halfToFloat(floatToHalf(Float($0)))) } }
                keys[l].append(cached(k)); values[l].append(cached(v))
                var att = [Double](repeating: 0, count: nh * hd)
                for h in 0..<nh {
                    let g = h / (nh / nkv)
                    let scores = (0...pos).map { p in (0..<hd).reduce(0.0) { $0 + q[h * hd + $1] * keys[l][p][g * hd + $1] } / Double(hd).squareRoot() }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for p in 0...pos { for d in 0..<hd { att[h * hd + d] += e[p] / z * values[l][p][g * hd + d] } }
                }
                let o = matvec(L.wo, rows: dim, cols: nh * hd, att)
                x = x.indices.map { x[$0] + o[$0] }
                let xn2 = rms(x, L.ffnNorm)
                let gate = matvec(L.wGate, rows: ff, cols: dim, xn2), up = matvec(L.wUp, rows: ff, cols: dim, xn2)
                let act = (0..<ff).map { gate[$0] / (1 + exp(-gate[$0])) * up[$0] }
                let d = matvec(L.wDown, rows: dim, cols: ff, act)
                x = x.indices.map { x[$0] + d[$0] }
            }
            let xn = rms(x, w.outputNorm)
            out.append(matvec(w.output, rows: vocab, cols: dim, xn))
        }
        return out
    }

    static func hearthLogits(_ m: TinyModel, _ tokens: [Int32], batch: Bool) throws -> [[Float]] {
        let dir = try TemporaryDirectory()
        let path = try m.write(in: dir)
        let network = try loadNetwork(try GGUFFile(path: path))
        let session = try Session(network: network, contextSize: 64, threads: 2, batchSize: batch ? 64 : 1)
        let vocab = session.vocabularySize
        if batch {
            let l = try session.evaluate(tokens, rows: .all)
            return (0..<tokens.count).map { Array(l[($0 * vocab)..<(($0 + 1) * vocab)]) }
        }
        return try tokens.map { Array(try session.evaluate([$0])) }
    }

    static let tokens: [Int32] = [5, 17, 99, 3, 42, 42, 7, 120, 64, 1, 200, 33]

    @Test(arguments: [TensorType.f32, .f16])
    func floatWeightsMatchTheReference(type: TensorType) throws {
        var config = TinyModel.Config()
        config.weightType = type
        let m = try TinyModel(config)
        let ref = Self.referenceLogits(m, Self.tokens)
        for batch in [true, false] {
            let ours = try Self.hearthLogits(m, Self.tokens, batch: batch)
            for (p, row) in ours.enumerated() {
                let scale = ref[p].map(abs).max()!
                let err = zip(row, ref[p]).map { abs(Double($0) - $1) }.max()!
                #expect(err <= 1e-4 * scale, "position \(p) (batch \(batch)): max error \(err) of logits up to \(scale)")
            }
        }
    }

    /// With 8-bit weights and activations the logits move by the quantization noise only:
    /// within 3% of the logit range, and the argmax agrees wherever the reference is decisive.
    @Test(arguments: [TensorType.q8_0, .q4_0, .q4_1])
    func quantizedWeightsStayCloseToTheReference(type: TensorType) throws {
        var config = TinyModel.Config()
        config.weightType = type
        let m = try TinyModel(config)
        let ref = Self.referenceLogits(m, Self.tokens)   // the reference uses the stored (dequantized) weights
        let ours = try Self.hearthLogits(m, Self.tokens, batch: true)
        for (p, row) in ours.enumerated() {
            let scale = ref[p].map(abs).max()!
            let err = zip(row, ref[p]).map { abs(Double($0) - $1) }.max()!
            #expect(err <= 0.03 * scale, "\(type) position \(p): max error \(err) of logits up to \(scale)")
        }
    }

    @Test func batchedAndSequentialEvaluationAgree() throws {
        var config = TinyModel.Config()
        config.weightType = .q8_0
        let m = try TinyModel(config)
        let a = try Self.hearthLogits(m, Self.tokens, batch: true)
        let b = try Self.hearthLogits(m, Self.tokens, batch: false)
        for p in a.indices {
            let err = zip(a[p], b[p]).map { abs($0 - $1) }.max()!
            #expect(err < 1e-4, "position \(p): batched and one-by-one logits differ by \(err)")
        }
    }
}
