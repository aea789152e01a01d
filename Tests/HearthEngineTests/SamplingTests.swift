import Foundation
import HearthEngine
import Testing

/// The sampler against its written definition: filters computed independently here, and draw
/// frequencies against the probabilities they should follow.
struct SamplingTests {
    static let logits: [Float] = [2.0, 1.5, 0.3, -1.0, 3.1, 0.0, 2.9, -4.0]

    /// Probabilities the sampler should draw from, computed from the definition in Double.
    static func expected(_ p: SamplingParameters) -> [Double] {
        let l = logits.map(Double.init)
        var order = Array(l.indices).sorted { l[$0] > l[$1] }
        if p.topK > 0 { order = Array(order.prefix(p.topK)) }
        func softmax(_ ids: [Int], _ t: Double) -> [Double] {
            let m = ids.map { l[$0] }.max()!
            let e = ids.map { exp((l[$0] - m) / t) }
            let z = e.reduce(0, +)
            return e.map { $0 / z }
        }
        var probs = softmax(order, 1)
        if p.topP < 1 {
            var c = 0.0, keep = order.count
            for (i, q) in probs.enumerated() { c += q; if c >= Double(p.topP) { keep = i + 1; break } }
            order = Array(order.prefix(keep)); probs = Array(probs.prefix(keep))
        }
        if p.minP > 0 { order = order.enumerated().filter { probs[$0.offset] >= Double(p.minP) * probs[0] }.map(\.element) }
        let final = softmax(order, Double(p.temperature))
        var out = [Double](repeating: 0, count: logits.count)
        for (i, id) in order.enumerated() { out[id] = final[i] }
        return out
    }

    static func frequencies(_ p: SamplingParameters, draws: Int) -> [Double] {
        var sampler = Sampler(p)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws {
            var l = logits
            let id = l.withUnsafeMutableBufferPointer { sampler.sample($0, history: []) }
            counts[Int(id)] += 1
        }
        return counts.map { Double($0) / Double(draws) }
    }

    @Test(arguments: [
        (0.8, 0, 1.0, 0.0), (1.0, 3, 1.0, 0.0), (1.2, 0, 0.8, 0.0), (0.7, 0, 1.0, 0.2), (1.5, 5, 0.9, 0.05),
    ] as [(Float, Int, Float, Float)])
    func drawsFollowTheFilteredDistribution(t: Float, k: Int, topP: Float, minP: Float) {
        var p = SamplingParameters()
        p.temperature = t; p.topK = k; p.topP = topP; p.minP = minP; p.seed = 42
        let want = Self.expected(p)
        let got = Self.frequencies(p, draws: 40_000)
        for i in want.indices {
            // 40,000 draws: a standard error of at most 0.0025; allow 5 of them.
            #expect(abs(got[i] - want[i]) < 0.0125, "token \(i): drawn \(got[i]), expected \(want[i])")
            if want[i] == 0 { #expect(got[i] == 0, "token \(i) was filtered out but drawn") }
        }
    }

    @Test func aSeedReproducesTheDraws() {
        var p = SamplingParameters(); p.temperature = 1; p.topK = 0; p.topP = 1; p.minP = 0; p.seed = 7
        #expect(Self.frequencies(p, draws: 500) == Self.frequencies(p, draws: 500))
        var a = Sampler(p), b = Sampler(p)
        var q = p; q.seed = 8
        var c = Sampler(q)
        var sa: [Int32] = [], sb: [Int32] = [], sc: [Int32] = []
        for _ in 0..<50 {
            var l = Self.logits
            sa.append(l.withUnsafeMutableBufferPointer { a.sample($0, history: []) })
            l = Self.logits
            sb.append(l.withUnsafeMutableBufferPointer { b.sample($0, history: []) })
            l = Self.logits
            sc.append(l.withUnsafeMutableBufferPointer { c.sample($0, history: []) })
        }
        #expect(sa == sb)
        #expect(sa != sc, "different seeds gave the same 50 draws")
    }

    @Test func greedyIsTheArgmaxAndTopKOneAgrees() {
        var l = Self.logits
        #expect(l.withUnsafeMutableBufferPointer { var s = Sampler(.greedy); return s.sample($0, history: []) } == 4)
        var p = SamplingParameters(); p.temperature = 5; p.topK = 1
        l = Self.logits
        #expect(l.withUnsafeMutableBufferPointer { var s = Sampler(p); return s.sample($0, history: []) } == 4)
    }

    @Test func penaltiesFollowTheirDefinitions() {
        var p = SamplingParameters.greedy
        p.repetitionPenalty = 2; p.presencePenalty = 0.5; p.frequencyPenalty = 0.25
        var l = Self.logits
        var s = Sampler(p)
        // token 4 (3.1, seen twice): 3.1 / 2 - 0.5 - 2 * 0.25 = 0.55; token 3 (-1, seen once): -1 * 2 - 0.75 = -2.75
        // so the argmax becomes token 6 (2.9, unseen).
        let id = l.withUnsafeMutableBufferPointer { s.sample($0, history: [4, 3, 4]) }
        #expect(id == 6)
        #expect(abs(l[4] - 0.55) < 1e-6 && abs(l[3] + 2.75) < 1e-6, "penalized logits \(l[4]), \(l[3])")
    }

    @Test func invalidParametersAreExplained() {
        var p = SamplingParameters(); p.topP = 0
        #expect(p.validate()?.contains("top-p") == true)
        p = SamplingParameters(); p.temperature = -1
        #expect(p.validate()?.contains("temperature") == true)
    }

    @Test(arguments: [
        (["Hello wor", "ld! STOP here"], ["STOP"], "Hello world! ", true),
        (["a<", "|e", "nd|>b"], ["<|end|>"], "a", true),
        (["a<", "b"], ["<|end|>"], "a<b", false),
        (["no stop"], [], "no stop", false),
    ] as [([String], [String], String, Bool)])
    func stopStringsCutTheTextAndNeverLeakAPrefix(pieces: [String], stops: [String], want: String, hit: Bool) {
        var f = StopStringFilter(stops)
        var out = "", stopped = false
        for piece in pieces where !stopped {
            let (emitted, h) = f.push(piece)
            out += emitted
            stopped = h
            // Text that may begin a stop string is held back until it is known not to.
            if piece == "a<" && !stops.isEmpty { #expect(emitted == "a", "emitted \(emitted) before knowing whether '<' starts a stop string") }
        }
        if !stopped { out += f.flush() }
        #expect(out == want)
        #expect(stopped == hit)
    }
}
