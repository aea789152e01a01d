import HearthEngine
import Synchronization

/// One request's work for the engine: a prompt to extend (and optionally score) or to embed,
/// and where the results go. Made by a controller, run by `GenerationScheduler` on one of its
/// engine threads.
public final class GenerationJob: Sendable {
    public enum Kind: Sendable {
        case generate
        /// Report every prompt token's log-probability, then generate (echo + logprobs).
        case scoreAndGenerate
        /// Only the prompt's embedding.
        case embed
    }

    /// What the runner reports, in order: pieces of text (with the log-probabilities of the
    /// tokens they came from, when asked), then exactly one `finished` or `failed`.
    public enum Event: Sendable {
        /// Log-probabilities of the prompt tokens (`scorePrompt` jobs), sent first.
        case promptLogprobs([TokenLogprob?])
        case text(String, [TokenLogprob])
        case embedding([Float])
        case finished(Summary)
        case failed(String)
    }

    public struct Summary: Sendable {
        public let promptTokens: Int
        /// Prompt tokens that were already in the session's cache (prefix reuse).
        public let cachedTokens: Int
        public let generatedTokens: Int
        public let stopReason: StopReason
        public let promptSeconds: Double
        public let generationSeconds: Double
        /// The end-of-generation token that ended it, with its log-probabilities when asked.
        public var endToken: TokenLogprob? = nil
    }

    public let id: Int
    public let model: ServedModel
    public let promptTokens: [Int32]
    public let options: GenerationOptions
    public let kind: Kind
    let events: AsyncStream<Event>.Continuation
    private let stopRequested = Atomic<Bool>(false)
    let created = ContinuousClock.now

    init(id: Int, model: ServedModel, promptTokens: [Int32], options: GenerationOptions, kind: Kind,
         events: AsyncStream<Event>.Continuation) {
        self.id = id
        self.model = model
        self.promptTokens = promptTokens
        self.options = options
        self.kind = kind
        self.events = events
    }

    /// Asks the runner to stop after the current token.
    func requestStop() { stopRequested.store(true, ordering: .relaxed) }
    var shouldStop: Bool { stopRequested.load(ordering: .relaxed) }
}
