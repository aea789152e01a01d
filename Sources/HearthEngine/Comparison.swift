import Foundation

/// How far a model (a quantized file, say) is from a base on a text, the way
/// `llama-perplexity --kl-divergence` measures it: both evaluate the same chunks as
/// `Perplexity.compute` does, and on every scored token the result keeps each model's
/// log-likelihood of the next token, the KL divergence of the other's distribution from the
/// base's, and whether their most likely tokens agree.
public struct DivergenceReport: Sendable {
    public let base: PerplexityResult
    public let other: PerplexityResult
    /// Mean KL(base ‖ other) over the scored tokens, in nats, and its standard error.
    public let meanKL: Double
    public let klUncertainty: Double
    /// Share of scored tokens whose argmax is the same in both.
    public let top1Agreement: Double
    public let scoredTokens: Int
}

public enum ModelComparison {
    public static func compute(base: Session, other: Session, tokens: [Int32], context: Int, bos: Int32?,
                               progress: (Int, Int) -> Void = { _, _ in }) throws(EngineError) -> DivergenceReport {
        guard base.vocabularySize == other.vocabularySize else {
            throw EngineError("the models have vocabularies of \(base.vocabularySize) and \(other.vocabularySize) tokens; they must share one to be compared")
        }
        guard context >= 4 else { throw EngineError("the context must be at least 4 tokens (got \(context))") }
        guard context <= min(base.contextSize, other.contextSize) else {
            throw EngineError("the context (\(context)) is larger than the sessions' (\(min(base.contextSize, other.contextSize)))")
        }
        let chunks = tokens.count / context
        guard chunks > 0 else {
            throw EngineError("the text has \(tokens.count) tokens, fewer than one chunk of \(context); use a smaller context or a longer text")
        }
        let vocab = base.vocabularySize, first = context / 2
        var nll = [0.0, 0.0], nll2 = [0.0, 0.0], running: [[Double]] = [[], []]
        var kl = 0.0, kl2 = 0.0, agree = 0, count = 0
        for c in 0..<chunks {
            var chunk = Array(tokens[(c * context)..<((c + 1) * context)])
            if let bos { chunk[0] = bos }
            base.rewind(to: 0)
            other.rewind(to: 0)
            let lb = try base.evaluate(chunk, rows: .all)
            let lo = try other.evaluate(chunk, rows: .all)
            for j in first..<(context - 1) {
                let rb = UnsafeBufferPointer(rebasing: lb[(j * vocab)..<((j + 1) * vocab)])
                let ro = UnsafeBufferPointer(rebasing: lo[(j * vocab)..<((j + 1) * vocab)])
                let zb = logSumExp(rb), zo = logSumExp(ro)
                let target = Int(tokens[c * context + j + 1])
                for (m, v) in [Double(rb[target]) - zb, Double(ro[target]) - zo].enumerated() {
                    nll[m] -= v
                    nll2[m] += v * v
                }
                var d = 0.0, argB = 0, argO = 0
                for i in 0..<vocab {
                    let pb = Double(rb[i]) - zb
                    d += exp(pb) * (pb - (Double(ro[i]) - zo))
                    if rb[i] > rb[argB] { argB = i }
                    if ro[i] > ro[argO] { argO = i }
                }
                kl += d
                kl2 += d * d
                if argB == argO { agree += 1 }
                count += 1
            }
            for m in 0..<2 { running[m].append(exp(nll[m] / Double(count))) }
            progress(c + 1, chunks)
        }
        func result(_ m: Int) -> PerplexityResult {
            let mean = nll[m] / Double(count)
            let variance = count > 1 ? max(0, nll2[m] / Double(count) - mean * mean) / Double(count - 1) : 0
            let ppl = exp(mean)
            return PerplexityResult(perplexity: ppl, uncertainty: variance.squareRoot() * ppl, chunks: chunks, scoredTokens: count,
                                    droppedTokens: tokens.count - chunks * context, runningPerplexity: running[m])
        }
        let meanKL = kl / Double(count)
        let klVariance = count > 1 ? max(0, kl2 / Double(count) - meanKL * meanKL) / Double(count - 1) : 0
        return DivergenceReport(base: result(0), other: result(1), meanKL: meanKL, klUncertainty: klVariance.squareRoot(),
                                top1Agreement: Double(agree) / Double(count), scoredTokens: count)
    }
}
