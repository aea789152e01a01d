import HearthAPI
import HearthEngine
import HearthHub

/// What the OpenAI and Ollama routes share between receiving a request and running it.
enum GenerationRequest {
    /// The engine options for a prompt of `promptTokens` tokens in a slot of `contextSize`,
    /// or a 400 naming both numbers when the request cannot fit (never a silent truncation).
    /// Without `maxTokens`, generation may run until the context is full.
    static func options(promptTokens: Int, maxTokens: Int?, maxTokensName: String, contextSize: Int,
                        sampling: SamplingParameters, stop: [String], topLogprobs: Int?,
                        json: JSONShape? = nil) throws(APIError) -> GenerationOptions {
        guard promptTokens > 0 else { throw .badRequest("the prompt is empty") }
        guard promptTokens < contextSize else {
            throw .badRequest("the prompt has \(promptTokens) tokens but the context holds \(contextSize); shorten the prompt or start the server with a larger --ctx-size")
        }
        if let maxTokens {
            guard maxTokens >= 0 else { throw .badRequest("\(maxTokensName) must be 0 or more (got \(maxTokens))") }
            // Compared without adding: a max_tokens near Int.max would overflow the sum.
            guard maxTokens <= contextSize - promptTokens else {
                throw .badRequest("the prompt has \(promptTokens) tokens and \(maxTokensName) is \(maxTokens): more than the \(contextSize - promptTokens) tokens the context of \(contextSize) leaves")
            }
        }
        if let problem = sampling.validate() { throw .badRequest(problem) }
        return GenerationOptions(maxTokens: maxTokens ?? (contextSize - promptTokens), sampling: sampling,
                                 stop: stop, topLogprobs: topLogprobs, json: json)
    }

    /// Sampling parameters from a request's fields; what it leaves out is the stored model's
    /// PARAMETER (`stored`), else Hearth's default (top-k 40, min-p 0.05), except the
    /// temperature, whose default is the API's.
    static func sampling(stored: ModelParameters = ModelParameters(), temperature: Double?, defaultTemperature: Float,
                         topP: Double?, topK: Int? = nil, minP: Double? = nil, seed: Int?, repeatPenalty: Double? = nil,
                         repeatWindow: Int? = nil, presencePenalty: Double?, frequencyPenalty: Double?) -> SamplingParameters {
        let temperature = temperature ?? stored.temperature, topP = topP ?? stored.top_p, topK = topK ?? stored.top_k
        let minP = minP ?? stored.min_p, seed = seed ?? stored.seed, repeatPenalty = repeatPenalty ?? stored.repeat_penalty
        let repeatWindow = repeatWindow ?? stored.repeat_last_n, presencePenalty = presencePenalty ?? stored.presence_penalty
        let frequencyPenalty = frequencyPenalty ?? stored.frequency_penalty
        var p = SamplingParameters()
        p.temperature = temperature.map(Float.init) ?? defaultTemperature
        if let topP { p.topP = Float(topP) }
        if let topK { p.topK = topK }
        if let minP { p.minP = Float(minP) }
        p.seed = seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: .min ... .max)
        if let repeatPenalty { p.repetitionPenalty = Float(repeatPenalty) }
        if let repeatWindow { p.penaltyWindow = repeatWindow }
        if let presencePenalty { p.presencePenalty = Float(presencePenalty) }
        if let frequencyPenalty { p.frequencyPenalty = Float(frequencyPenalty) }
        return p
    }

    /// A token's text (its bytes, decoded leniently) and bytes, as logprobs report them.
    static func tokenText(_ id: Int32, _ model: Model) -> (text: String, bytes: [UInt8]) {
        let bytes = model.tokenizer.piece(id)
        return (String(decoding: bytes, as: UTF8.self), bytes)
    }

    /// Runs a submitted job to the end and gathers what it produced; a failure is a 500.
    static func collect(_ handle: GenerationScheduler.Handle) async throws(APIError) -> Collected {
        defer { handle.cancel() }
        var result = Collected()
        for await event in handle.events {
            switch event {
            case .promptLogprobs(let scores): result.promptLogprobs = scores
            case .embedding(let vector): result.embedding = vector
            case .text(let text, let logprobs):
                result.text += text
                result.logprobs += logprobs
            case .finished(let summary): result.summary = summary
            case .failed(let message): throw APIError(.internalServerError, message, type: "server_error")
            }
        }
        guard result.summary != nil else { throw APIError(.serviceUnavailable, "the request was cancelled before it finished") }
        return result
    }

    /// The events of several jobs as one stream, each with its job's index, in the order they
    /// come (the jobs are decoded together, so their tokens interleave).
    static func merged(_ handles: [GenerationScheduler.Handle]) -> AsyncStream<(index: Int, event: GenerationJob.Event)> {
        let (stream, continuation) = AsyncStream<(index: Int, event: GenerationJob.Event)>.makeStream()
        let forwarders = Task {
            await withTaskGroup(of: Void.self) { group in
                for (i, h) in handles.enumerated() {
                    group.addTask { for await event in h.events { continuation.yield((i, event)) } }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            forwarders.cancel()
            for h in handles { h.cancel() }
        }
        return stream
    }

    struct Collected {
        var text = ""
        var logprobs: [TokenLogprob] = []
        var promptLogprobs: [TokenLogprob?] = []
        var embedding: [Float] = []
        var summary: GenerationJob.Summary?
    }

    /// Embeddings of `inputs` (token lists), one engine job each; an input longer than the
    /// context is a 400 naming both numbers (never cut).
    static func embed(_ inputs: [[Int32]], with served: ServedModel, state: ServerState) async throws(APIError) -> [[Float]] {
        let context = state.configuration.contextSize
        for (i, tokens) in inputs.enumerated() {
            guard !tokens.isEmpty else { throw .badRequest("input[\(i)] is empty") }
            guard tokens.count <= context else {
                throw .badRequest("input[\(i)] has \(tokens.count) tokens but the context holds \(context); shorten it or start the server with a larger --ctx-size")
            }
        }
        var vectors: [[Float]] = []
        for tokens in inputs {
            let handle: GenerationScheduler.Handle
            do { handle = try state.scheduler.submit(model: served, promptTokens: tokens, options: GenerationOptions(), kind: .embed) } catch {
                throw APIError.queueFull
            }
            vectors.append(try await collect(handle).embedding)
        }
        return vectors
    }

    /// OpenAI's `finish_reason` (and Ollama's `done_reason`) for an engine stop reason.
    static func finishReason(_ reason: StopReason) -> String {
        switch reason {
        case .maxTokens, .contextFull: "length"
        case .endOfGeneration, .stopString, .cancelled: "stop"
        }
    }
}
