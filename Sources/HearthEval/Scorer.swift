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

    /// lm-eval's split of a context and its continuations into tokens: trailing whitespace of
    /// the context (Python's rstrip) moves to each continuation, each whole is tokenized, and a
    /// continuation is what follows the context's own tokens. The context is tokenized once;
    /// with nothing in it, `prefixToken` stands in.
    func encode(_ context: String, _ continuations: [String]) -> (context: [Int32], continuations: [[Int32]]) {
        let trailing = context.reversed().prefix { $0.isWhitespace }.count
        let head = String(context.dropLast(trailing)), tail = String(context.suffix(trailing))
        let headTokens = head.isEmpty ? [] : model.tokenize(head)
        let encoded = continuations.map { continuation -> [Int32] in
            let whole = model.tokenize(head + tail + continuation)
            if headTokens.isEmpty { return whole.first == prefixToken ? Array(whole.dropFirst()) : whole }
            return Array(whole.dropFirst(headTokens.count))
        }
        return (headTokens.isEmpty ? [prefixToken] : headTokens, encoded)
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
        let (ctx, encoded) = encode(context, continuations)
        for (continuation, cont) in zip(continuations, encoded) {
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
                sum += Double(row[Int(token)]) - logSumExp(row)
                greedy = greedy && !row.contains { $0 > row[Int(token)] }
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
                let row = UnsafeBufferPointer(rebasing: logits[(i * vocab)..<((i + 1) * vocab)])
                sum += Double(row[Int(token)]) - logSumExp(row)
            }
            start = end
        }
        return (sum, tokens.count)
    }

    /// Greedy text after `context`, stopped before any of `until` or after `maxTokens`.
    public func generate(context: String, until: [String], maxTokens: Int) throws(EvalError) -> String {
        let encoded = model.tokenize(context)
        let tokens = encoded.isEmpty ? [prefixToken] : encoded
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
}
