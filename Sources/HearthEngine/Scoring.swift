/// Whole-text results of a model: prompt log-probabilities (scoring) and embeddings.
extension Model {
    /// The log-probability of each prompt token given the ones before it, and the `top` most
    /// likely tokens at each position, as OpenAI's `/v1/completions` with `echo` and `logprobs`
    /// reports them. The first token has none (nothing predicts it). The session is emptied first.
    public func scorePrompt(_ tokens: [Int32], in session: Session, top: Int) throws(EngineError) -> [TokenLogprob?] {
        let logits = try Self.evaluateFromStart(tokens, in: session, rows: .all, what: "the prompt")
        let vocab = session.vocabularySize
        var result: [TokenLogprob?] = [nil]
        for i in 1..<tokens.count {
            let row = UnsafeBufferPointer(rebasing: logits[(i - 1) * vocab ..< i * vocab])
            result.append(TokenLogprob(of: tokens[i], in: row, top: top))
        }
        return result
    }

    /// An embedding of `tokens`: the mean of their final normed hidden states, scaled to unit
    /// length (llama.cpp's mean pooling with L2 normalization). The session is emptied first.
    public func embed(_ tokens: [Int32], in session: Session) throws(EngineError) -> [Float] {
        let hidden = try Self.evaluateFromStart(tokens, in: session, rows: .hidden, what: "the input")
        let dim = shape.dim
        var mean = [Double](repeating: 0, count: dim)
        for t in 0..<tokens.count {
            for d in 0..<dim { mean[d] += Double(hidden[t * dim + d]) }
        }
        let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return mean.map { Float(norm > 0 ? $0 / norm : 0) }
    }

    /// Empties the session and evaluates `tokens` from position 0, for a whole-text result
    /// (every row of logits, or of hidden states); `what` names the tokens in errors.
    private static func evaluateFromStart(_ tokens: [Int32], in session: Session, rows: LogitRows,
                                          what: String) throws(EngineError) -> UnsafeMutableBufferPointer<Float> {
        guard !tokens.isEmpty else { throw EngineError("\(what) is empty") }
        guard tokens.count <= session.contextSize else {
            throw EngineError("\(what) has \(tokens.count) tokens but the context holds \(session.contextSize)")
        }
        session.rewind(to: 0)
        return try session.evaluate(tokens, rows: rows)
    }
}
