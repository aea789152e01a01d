import Foundation
import HearthEngine

/// The model side of an evaluation: log-likelihoods, rolling log-likelihoods, greedy
/// generation and perplexity, on one session whose cached prefix is reused from request to
/// request (the choices of a question share their context, which is read once; docs that share
/// a few-shot prefix share it too).
public final class Scorer {
    public let model: Model
    let session: Session

    public init(model: Model, contextSize: Int, threads: Int) throws(EvalError) {
        self.model = model
        do { session = try model.makeSession(contextSize: contextSize, threads: threads) } catch { throw EvalError(error.message) }
    }

    public var contextSize: Int { session.contextSize }

    /// lm-eval's split of a context and continuation into tokens: trailing spaces of the
    /// context move to the continuation, the whole is tokenized, and the continuation is what
    /// follows the context's own tokens.
    func encodePair(_ context: String, _ continuation: String) -> (context: [Int32], continuation: [Int32]) {
        var context = context, continuation = continuation
        // Python's rstrip(): all trailing whitespace, newlines included.
        let trailing = context.reversed().prefix { $0.isWhitespace }.count
        if trailing > 0 {
            continuation = String(context.suffix(trailing)) + continuation
            context = String(context.dropLast(trailing))
        }
        let whole = model.tokenize(context + continuation)
        let contextTokens = model.tokenize(context)
        if contextTokens.isEmpty || context.isEmpty {
            return ([prefixToken], whole.first == prefixToken ? Array(whole.dropFirst()) : whole)
        }
        return (contextTokens, Array(whole.dropFirst(contextTokens.count)))
    }

    /// What text with nothing before it is conditioned on: lm-eval's prefix token, the BOS
    /// token when the vocabulary has one (whether or not the model adds it), else the
    /// end-of-text token.
    var prefixToken: Int32 { model.tokenizer.bosID ?? model.tokenizer.eosID ?? 0 }

    /// Puts `tokens` in the session, keeping what it already holds of them.
    private func load(_ tokens: [Int32]) throws(EvalError) {
        var shared = 0
        let held = session.tokens
        while shared < min(held.count, tokens.count) && held[shared] == tokens[shared] { shared += 1 }
        session.rewind(to: shared)
        if shared < tokens.count {
            do { _ = try session.evaluate(Array(tokens[shared...])) } catch { throw EvalError(error.message) }
        }
    }

    /// The log-likelihood of each continuation after `context`, and whether it is the greedy
    /// one (every token the most likely), with the continuation's token count.
    public func loglikelihoods(context: String, continuations: [String]) throws(EvalError) -> [(logprob: Double, greedy: Bool, tokens: Int)] {
        var results: [(Double, Bool, Int)] = []
        for continuation in continuations {
            let (ctx, cont) = encodePair(context, continuation)
            guard !cont.isEmpty else { throw EvalError("the continuation '\(continuation)' adds no tokens to its context") }
            let total = ctx.count + cont.count
            guard total <= session.contextSize else {
                throw EvalError("a request takes \(total) tokens but the context holds \(session.contextSize); raise --ctx (nothing is cut off)")
            }
            // The context but its last token stays cached; the last one predicts the first
            // token of the continuation.
            try load(Array(ctx.dropLast()))
            let logits: UnsafeMutableBufferPointer<Float>
            do { logits = try session.evaluate([ctx.last!] + cont.dropLast(), rows: .all) } catch { throw EvalError(error.message) }
            let vocab = session.vocabularySize
            var sum = 0.0, greedy = true
            for (i, token) in cont.enumerated() {
                let row = UnsafeBufferPointer(rebasing: logits[(i * vocab)..<((i + 1) * vocab)])
                let (logprob, isMax) = Self.logSoftmax(row, at: Int(token))
                sum += logprob
                greedy = greedy && isMax
            }
            results.append((sum, greedy, cont.count))
        }
        return results
    }

    /// The log-likelihood of a whole text (lm-eval's loglikelihood_rolling): every token
    /// predicted once, in disjoint windows of the context, the first after `prefixToken`, each
    /// later one after the last token of the window before.
    public func rollingLoglikelihood(_ text: String) throws(EvalError) -> (logprob: Double, tokens: Int) {
        let tokens = model.tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        let prefix = prefixToken
        let window = session.contextSize
        var sum = 0.0, start = 0
        while start < tokens.count {
            let end = min(start + window, tokens.count)
            let input = [start == 0 ? prefix : tokens[start - 1]] + tokens[start..<(end - 1)]
            session.rewind(to: 0)
            let logits: UnsafeMutableBufferPointer<Float>
            do { logits = try session.evaluate(Array(input), rows: .all) } catch { throw EvalError(error.message) }
            let vocab = session.vocabularySize
            for (i, token) in tokens[start..<end].enumerated() {
                sum += Self.logSoftmax(UnsafeBufferPointer(rebasing: logits[(i * vocab)..<((i + 1) * vocab)]), at: Int(token)).0
            }
            start = end
        }
        return (sum, tokens.count)
    }

    /// Greedy text after `context`, stopped before any of `until` or after `maxTokens`.
    public func generate(context: String, until: [String], maxTokens: Int) throws(EvalError) -> String {
        let tokens = model.tokenize(context)
        guard tokens.count + maxTokens <= session.contextSize else {
            throw EvalError("a prompt of \(tokens.count) tokens and \(maxTokens) to generate do not fit the context of \(session.contextSize); raise --ctx")
        }
        try load(Array(tokens.dropLast()))
        do {
            return try model.generate(in: session, promptTokens: [tokens.last!],
                                      options: GenerationOptions(maxTokens: maxTokens, sampling: .greedy, stop: until)).text
        } catch { throw EvalError(error.message) }
    }

    /// llama.cpp's perplexity of `text` in chunks of `context` tokens.
    public func perplexity(_ text: String, context: Int, progress: (Int, Int) -> Void) throws(EvalError) -> PerplexityResult {
        let tokens = model.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        do {
            return try Perplexity.compute(session: session, tokens: tokens, context: context,
                                          bos: model.tokenizer.addBOS ? model.tokenizer.bosID : nil, progress: progress)
        } catch { throw EvalError(error.message) }
    }

    /// log softmax(row)[index], in double precision, and whether index is the row's maximum.
    static func logSoftmax(_ row: UnsafeBufferPointer<Float>, at index: Int) -> (Double, Bool) {
        var maxValue = -Float.infinity
        for v in row where v > maxValue { maxValue = v }
        var sum = 0.0
        for v in row { sum += exp(Double(v - maxValue)) }
        return (Double(row[index] - maxValue) - log(sum), row[index] >= maxValue)
    }
}
