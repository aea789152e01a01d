import Foundation

/// How the next token is chosen from the logits. Temperature 0 means greedy (argmax), and
/// then the other fields do not matter. The filters run in llama.cpp's order: penalties,
/// top-k, top-p, min-p, temperature, then a draw from the seeded generator.
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float = 0.8
    /// Keep the k most likely tokens (0: no limit).
    public var topK: Int = 40
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: off).
    public var topP: Float = 0.95
    /// Drop tokens less likely than minP times the most likely one (0: off).
    public var minP: Float = 0.05
    /// Divide positive logits (multiply negative ones) of tokens seen in the last
    /// `penaltyWindow` tokens by this (1: off), as llama.cpp's repeat penalty.
    public var repetitionPenalty: Float = 1
    /// Subtracted once from the logit of every token already seen (OpenAI's presence penalty).
    public var presencePenalty: Float = 0
    /// Subtracted per occurrence from the logit of every token seen (OpenAI's frequency penalty).
    public var frequencyPenalty: Float = 0
    public var penaltyWindow: Int = 64
    public var seed: UInt64 = 0

    public init() {}

    /// Greedy decoding: the argmax at every step.
    public static var greedy: SamplingParameters { var p = SamplingParameters(); p.temperature = 0; return p }

    /// A description of what is wrong with these parameters, or nil.
    public func validate() -> String? {
        if !temperature.isFinite || temperature < 0 { return "temperature must be 0 or more (got \(temperature))" }
        if topK < 0 { return "top-k must be 0 (off) or more (got \(topK))" }
        if !(topP > 0 && topP <= 1) { return "top-p must be in (0, 1] (got \(topP))" }
        if !(minP >= 0 && minP <= 1) { return "min-p must be in [0, 1] (got \(minP))" }
        if !(repetitionPenalty > 0) { return "the repetition penalty must be positive (got \(repetitionPenalty))" }
        if penaltyWindow < 0 { return "the penalty window must be 0 or more (got \(penaltyWindow))" }
        if !presencePenalty.isFinite { return "the presence penalty must be a finite number (got \(presencePenalty))" }
        if !frequencyPenalty.isFinite { return "the frequency penalty must be a finite number (got \(frequencyPenalty))" }
        if !repetitionPenalty.isFinite { return "the repetition penalty must be a finite number (got \(repetitionPenalty))" }
        return nil
    }
}

/// A small, fast, seedable generator (SplitMix64), so a seed gives the same text on every machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// A uniform Float in [0, 1).
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

/// Picks tokens from logits according to `SamplingParameters`, keeping its own generator state
/// so that a sequence of draws is reproducible from the seed.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SeededGenerator
    private var candidates: [(id: Int32, logit: Float)] = []

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SeededGenerator(seed: parameters.seed)
    }

    /// The index of the largest logit (the lowest index among equals, as llama.cpp).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return Int32(best)
    }

    /// Chooses the next token. `history` is the tokens so far (prompt and generated), for penalties.
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) -> Int32 {
        let p = parameters
        applyPenalties(logits, history: history)
        if p.temperature == 0 { return Sampler.argmax(UnsafeBufferPointer(logits)) }

        // The candidates, most likely first: with top-k, only the k best are kept while
        // scanning (a vocabulary of 262k would otherwise be sorted for every token).
        candidates.removeAll(keepingCapacity: true)
        if p.topK > 0 && p.topK < logits.count {
            for i in 0..<logits.count {
                let l = logits[i]
                if candidates.count == p.topK {
                    guard l > candidates[p.topK - 1].logit else { continue }
                    candidates.removeLast()
                }
                // insert after every candidate with a logit >= l (earlier ids win ties)
                var lo = 0, hi = candidates.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if candidates[mid].logit >= l { lo = mid + 1 } else { hi = mid }
                }
                candidates.insert((Int32(i), l), at: lo)
            }
        } else {
            for i in 0..<logits.count { candidates.append((Int32(i), logits[i])) }
            candidates.sort { $0.logit > $1.logit }
        }
        // probabilities at temperature 1 for the top-p and min-p filters (llama.cpp's order)
        var probs = softmax(candidates.map(\.logit))
        if p.topP < 1 {
            var cumulative: Float = 0, keep = candidates.count
            for (i, q) in probs.enumerated() {
                cumulative += q
                if cumulative >= p.topP { keep = i + 1; break }
            }
            candidates.removeSubrange(keep...)
            probs.removeSubrange(keep...)
        }
        if p.minP > 0, let top = probs.first {
            let keep = max(1, probs.firstIndex { $0 < p.minP * top } ?? probs.count)
            candidates.removeSubrange(keep...)
        }
        probs = softmax(candidates.map { $0.logit / p.temperature })
        let r = rng.unit()
        var cumulative: Float = 0
        for (i, q) in probs.enumerated() {
            cumulative += q
            if r < cumulative { return candidates[i].id }
        }
        return candidates[candidates.count - 1].id
    }

    private func applyPenalties(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) {
        let p = parameters
        guard p.repetitionPenalty != 1 || p.presencePenalty != 0 || p.frequencyPenalty != 0, p.penaltyWindow > 0 else { return }
        var counts: [Int32: Int] = [:]
        for id in history.suffix(p.penaltyWindow) where id >= 0 && Int(id) < logits.count { counts[id, default: 0] += 1 }
        for (id, n) in counts {
            var l = logits[Int(id)]
            if p.repetitionPenalty != 1 { l = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty }
            l -= Float(n) * p.frequencyPenalty + p.presencePenalty
            logits[Int(id)] = l
        }
    }
}

/// exp(x - max) normalized; the input need not be sorted.
func softmax(_ x: [Float]) -> [Float] {
    guard let m = x.max() else { return [] }
    let e = x.map { expf($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

/// log sum_i e^(l_i), shifted by the max and summed in Double.
public func logSumExp(_ logits: UnsafeBufferPointer<Float>) -> Double {
    var m = -Float.infinity
    for l in logits { m = max(m, l) }
    var s: Double = 0
    for l in logits { s += exp(Double(l - m)) }
    return Double(m) + log(s)
}

/// log-softmax of one row of logits: log p_i = l_i - log sum e^l.
public func logSoftmax(_ logits: UnsafeBufferPointer<Float>) -> [Float] {
    let logZ = logSumExp(logits)
    return logits.map { Float(Double($0) - logZ) }
}
