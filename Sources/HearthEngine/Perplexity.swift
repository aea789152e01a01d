import Foundation

/// Perplexity the way llama.cpp's `llama-perplexity` computes it: the text's tokens are cut into
/// chunks of `context` tokens (a trailing partial chunk is dropped, and reported), each chunk is
/// evaluated from an empty cache (its first token replaced by BOS when the model adds one), and
/// only the second half of each chunk is scored, so every scored token sees at least
/// context/2 tokens before it.
public struct PerplexityResult: Sendable {
    /// exp(mean negative log-likelihood).
    public let perplexity: Double
    /// llama.cpp's uncertainty: standard error of the mean NLL times the perplexity.
    public let uncertainty: Double
    public let chunks: Int
    public let scoredTokens: Int
    /// Tokens of the text beyond the last whole chunk, not scored.
    public let droppedTokens: Int
    /// Perplexity after each chunk (as llama-perplexity prints it).
    public let runningPerplexity: [Double]
}

public enum Perplexity {
    /// - tokens: the whole text, tokenized as llama-perplexity does (BOS first when the model adds one).
    /// - bos: the BOS id to put at the start of every chunk, or nil when the model adds none.
    /// - progress: called after each chunk with (done, total).
    public static func compute(session: Session, tokens: [Int32], context: Int, bos: Int32?,
                               progress: (Int, Int) -> Void = { _, _ in }) throws(EngineError) -> PerplexityResult {
        guard context >= 4 else { throw EngineError("the perplexity context must be at least 4 tokens (got \(context))") }
        guard context <= session.contextSize else {
            throw EngineError("the perplexity context (\(context)) is larger than the session's context (\(session.contextSize))")
        }
        let chunks = tokens.count / context
        guard chunks > 0 else {
            throw EngineError("the text has \(tokens.count) tokens, fewer than one chunk of \(context); use a smaller context or a longer text")
        }
        let first = context / 2
        var nll: Double = 0, nll2: Double = 0, count = 0
        var running: [Double] = []
        let vocab = session.vocabularySize
        for c in 0..<chunks {
            var chunk = Array(tokens[(c * context)..<((c + 1) * context)])
            if let bos { chunk[0] = bos }
            session.rewind(to: 0)
            let logits = try session.evaluate(chunk, rows: .all)
            for j in first..<(context - 1) {
                let row = UnsafeBufferPointer(rebasing: logits[(j * vocab)..<((j + 1) * vocab)])
                let target = Int(tokens[c * context + j + 1])
                let v = -logProbability(row, target)
                nll += v; nll2 += v * v; count += 1
            }
            running.append(exp(nll / Double(count)))
            progress(c + 1, chunks)
        }
        let mean = nll / Double(count)
        var variance = nll2 / Double(count) - mean * mean
        variance = count > 1 ? max(0, variance) / Double(count - 1) : 0
        let ppl = exp(mean)
        return PerplexityResult(perplexity: ppl, uncertainty: variance.squareRoot() * ppl, chunks: chunks,
                                scoredTokens: count, droppedTokens: tokens.count - chunks * context,
                                runningPerplexity: running)
    }

    /// log softmax(row)[target].
    static func logProbability(_ row: UnsafeBufferPointer<Float>, _ target: Int) -> Double {
        Double(row[target]) - logSumExp(row)
    }
}
