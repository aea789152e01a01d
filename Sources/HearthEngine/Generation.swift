import Foundation
import HearthTokenizer

/// What to generate and when to stop.
public struct GenerationOptions: Sendable {
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Generation stops before any of these strings; they are not part of the output.
    public var stop: [String]
    /// Keep going past end-of-generation tokens (benchmarks).
    public var ignoreEndOfGeneration: Bool
    /// Report each generated token's log-probability and this many most likely alternatives
    /// (`onToken`); nil: none (no cost).
    public var topLogprobs: Int?
    /// Constrain the output to JSON of this shape: at each step only tokens that keep the text
    /// a prefix of such a value may be drawn, and generation ends when the value is complete.
    public var json: JSONShape?

    public init(maxTokens: Int = 256, sampling: SamplingParameters = .greedy, stop: [String] = [],
                ignoreEndOfGeneration: Bool = false, topLogprobs: Int? = nil, json: JSONShape? = nil) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.ignoreEndOfGeneration = ignoreEndOfGeneration
        self.topLogprobs = topLogprobs
        self.json = json
    }
}

public enum StopReason: String, Sendable {
    /// The model produced an end-of-generation token.
    case endOfGeneration = "eog"
    /// `maxTokens` were generated.
    case maxTokens = "length"
    /// A stop string appeared.
    case stopString = "stop"
    /// The context is full.
    case contextFull = "context"
    /// The caller's callback asked to stop.
    case cancelled
}

/// A token with its log-probability under the model (log-softmax of the raw logits, before
/// temperature, penalties or truncation) and the most likely tokens at its position.
public struct TokenLogprob: Sendable, Equatable {
    public let id: Int32
    public let logprob: Float
    /// The `k` most likely tokens at this position, most likely first (ties: lower id first).
    public let top: [(id: Int32, logprob: Float)]

    public static func == (a: TokenLogprob, b: TokenLogprob) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.top.elementsEqual(b.top) { $0.id == $1.id && $0.logprob == $1.logprob }
    }

    /// The log-probability of `id` and the `k` most likely tokens in one row of logits.
    public init(of id: Int32, in logits: UnsafeBufferPointer<Float>, top k: Int) {
        let logZ = logSumExp(logits)
        self.id = id
        logprob = Float(Double(logits[Int(id)]) - logZ)
        var best: [(id: Int32, logit: Float)] = []
        if k > 0 {
            best.reserveCapacity(k + 1)
            for (i, l) in logits.enumerated() where best.count < k || l > best[best.count - 1].logit {
                var at = best.count
                while at > 0 && best[at - 1].logit < l { at -= 1 }
                best.insert((Int32(i), l), at: at)
                if best.count > k { best.removeLast() }
            }
        }
        top = best.map { ($0.id, Float(Double($0.logit) - logZ)) }
    }
}

public struct GenerationResult: Sendable {
    public let promptTokens: Int
    /// Generated token ids (the end-of-generation token, if any, is not included).
    public let tokens: [Int32]
    public let text: String
    public let stopReason: StopReason
    public let promptSeconds: Double
    public let generationSeconds: Double

    public var promptTokensPerSecond: Double { Double(promptTokens) / max(promptSeconds, 1e-9) }
    public var generationTokensPerSecond: Double { Double(tokens.count) / max(generationSeconds, 1e-9) }
}

extension Model {
    /// Generates a continuation of `prompt` (text, tokenized with special tokens parsed).
    public func generate(in session: Session, prompt: String, options: GenerationOptions,
                         onText: (String) -> Bool = { _ in true }) throws(EngineError) -> GenerationResult {
        try generate(in: session, promptTokens: tokenize(prompt), options: options, onText: onText)
    }

    /// Generates after `promptTokens`, appended to what the session holds. `onText` receives the
    /// text as it becomes final (whole UTF-8 characters, never part of a stop string); returning
    /// false stops generation.
    ///
    /// `onToken` receives each generated token before its text, with its log-probabilities when
    /// `options.topLogprobs` is set (else nil).
    public func generate(in session: Session, promptTokens: [Int32], options: GenerationOptions,
                         onText: (String) -> Bool = { _ in true },
                         onToken: (Int32, TokenLogprob?) -> Void = { _, _ in }) throws(EngineError) -> GenerationResult {
        var sequence = try SequenceGeneration(model: self, options: options)
        guard !promptTokens.isEmpty else { throw EngineError("the prompt is empty") }
        let room = session.contextSize - session.tokens.count
        guard promptTokens.count < room else {
            throw EngineError("the prompt has \(promptTokens.count) tokens but the context holds \(session.contextSize)\(session.tokens.isEmpty ? "" : " (\(session.tokens.count) already used)"); use a larger context or a shorter prompt")
        }
        let t0 = Date()
        var logits = try session.evaluate(promptTokens)
        let promptSeconds = Date().timeIntervalSince(t0)
        let t1 = Date()
        while let next = try sequence.step(logits, in: session, onText: onText, onToken: onToken) {
            logits = try session.evaluate([next])
        }
        return GenerationResult(promptTokens: promptTokens.count, tokens: sequence.generated, text: sequence.text,
                                stopReason: sequence.stopReason ?? .maxTokens,
                                promptSeconds: promptSeconds, generationSeconds: Date().timeIntervalSince(t1))
    }
}

/// One sequence being generated, a token at a time: sampling, the JSON constraint, end of
/// generation, detokenizing and stop strings. `Model.generate` runs one to the end; a server
/// advances several together, evaluating their tokens in one batched pass (`Session.decode`).
public struct SequenceGeneration: Sendable {
    public let model: Model
    public let options: GenerationOptions
    private var sampler: Sampler
    private var detokenizer: StreamingDetokenizer
    private var stops: StopStringFilter
    private var json: JSONRecognizer?
    /// The end-of-generation token drawn last and its log-probabilities, when they were asked
    /// for (`topLogprobs`): not a generated token, but OpenAI's completions report it.
    public private(set) var endOfGenerationLogprob: TokenLogprob?
    /// Generated token ids (an end-of-generation token is not one of them).
    public private(set) var generated: [Int32] = []
    /// The text so far, as `onText` has received it.
    public private(set) var text = ""
    /// Why generation ended; nil while it goes on.
    public private(set) var stopReason: StopReason?

    public init(model: Model, options: GenerationOptions) throws(EngineError) {
        if let problem = options.sampling.validate() { throw EngineError(problem) }
        guard options.maxTokens >= 0 else { throw EngineError("max tokens must be 0 or more (got \(options.maxTokens))") }
        self.model = model
        self.options = options
        sampler = Sampler(options.sampling)
        detokenizer = StreamingDetokenizer(tokenizer: model.tokenizer)
        stops = StopStringFilter(options.stop)
        json = options.json.map(JSONRecognizer.init)
    }

    /// Draws the next token from `logits` (the session's last token's). Returns the token to
    /// evaluate next, or nil when generation has ended (`stopReason` says why; the last text
    /// has been handed to `onText`). `onText` gets text as it becomes final (whole UTF-8
    /// characters, never part of a stop string); returning false stops generation.
    public mutating func step(_ logits: UnsafeMutableBufferPointer<Float>, in session: Session,
                              onText: (String) -> Bool,
                              onToken: (Int32, TokenLogprob?) -> Void = { _, _ in }) throws(EngineError) -> Int32? {
        guard stopReason == nil else { return nil }
        guard generated.count < options.maxTokens else { return end(.maxTokens, onText) }
        // The sampler rewrites the logits: keep the model's own row for the log-probabilities.
        let modelRow = options.topLogprobs == nil ? nil : Array(logits)
        if let json { model.maskTokens(logits, allowedBy: json) }
        let id = sampler.sample(logits, history: session.tokens)
        if model.tokenizer.endOfGenerationIDs.contains(id) && !options.ignoreEndOfGeneration {
            if let modelRow, let k = options.topLogprobs {
                endOfGenerationLogprob = modelRow.withUnsafeBufferPointer { TokenLogprob(of: id, in: $0, top: k) }
            }
            return end(.endOfGeneration, onText)
        }
        if json != nil {
            guard json!.feed(model.tokenizer.pieceBytes(id)) else {
                throw EngineError("constrained decoding reached a state no token can continue (the JSON shape may be unsatisfiable)")
            }
        }
        generated.append(id)
        if let modelRow, let k = options.topLogprobs {
            onToken(id, modelRow.withUnsafeBufferPointer { TokenLogprob(of: id, in: $0, top: k) })
        } else {
            onToken(id, nil)
        }
        let (piece, hit) = stops.push(detokenizer.append(id))
        text += piece
        if !piece.isEmpty && !onText(piece) { return end(.cancelled, onText) }
        if hit { return end(.stopString, onText) }
        if json?.isComplete == true { return end(.endOfGeneration, onText) }
        if session.tokens.count >= session.contextSize { return end(.contextFull, onText) }
        if generated.count == options.maxTokens { return end(.maxTokens, onText) }
        return id
    }

    /// Ends generation: what the detokenizer and the stop filter still hold is final, unless a
    /// stop string or the caller ended it.
    private mutating func end(_ reason: StopReason, _ onText: (String) -> Bool) -> Int32? {
        stopReason = reason
        if reason != .stopString && reason != .cancelled {
            let (rest, _) = stops.push(detokenizer.flush())
            let tail = rest + stops.flush()
            text += tail
            if !tail.isEmpty { _ = onText(tail) }
        }
        return nil
    }
}

/// Holds back streamed text that might be the start of a stop string, and cuts the text at the
/// first stop string that appears.
public struct StopStringFilter: Sendable {
    let stops: [String]
    private var pending = ""

    public init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Adds text; returns what can be emitted now and whether a stop string was found.
    public mutating func push(_ s: String) -> (String, Bool) {
        guard !stops.isEmpty else { return (s, false) }
        pending += s
        var cut: String.Index?
        for stop in stops {
            if let r = pending.range(of: stop), cut == nil || r.lowerBound < cut! { cut = r.lowerBound }
        }
        if let cut {
            let out = String(pending[..<cut])
            pending = ""
            return (out, true)
        }
        // Keep the longest suffix that is a prefix of some stop string.
        var keep = 0
        for stop in stops {
            var n = min(stop.count, pending.count)
            while n > keep {
                if pending.hasSuffix(stop.prefix(n)) { keep = n; break }
                n -= 1
            }
        }
        let out = String(pending.dropLast(keep))
        pending = String(pending.suffix(keep))
        return (out, false)
    }

    public mutating func flush() -> String { defer { pending = "" }; return pending }
}
