import Foundation
import HearthAPI
import HearthEngine
import Hummingbird

/// `/v1/chat/completions`, `/v1/completions`, `/v1/models`: the OpenAI API.
struct OpenAIController {
    let state: ServerState

    func addRoutes(to router: Router<ServeContext>) {
        router.post("/v1/chat/completions", use: routed(.openAI, "chat_completions", state, chat))
        router.post("/v1/completions", use: routed(.openAI, "completions", state, complete))
        router.get("/v1/models", use: routed(.openAI, "models", state, models))
        router.post("/v1/embeddings", use: routed(.openAI, "embeddings", state, embeddings))
    }

    func models(_ request: Request, _ body: ByteBuffer) async throws -> Response {
        let registry = try state.registry()
        return JSON.response(OpenAI.ModelList(data: registry.files.map {
            OpenAI.ModelInfo(id: $0.name, created: Int($0.modified.timeIntervalSince1970), owned_by: "hearth")
        }))
    }

    // MARK: chat

    func chat(_ request: Request, _ body: ByteBuffer) async throws -> Response {
        let req = try JSON.decode(OpenAI.ChatRequest.self, from: body)
        let served = try await state.registry().model(named: req.model)
        let choices = req.n ?? 1
        guard (1...8).contains(choices) else { throw APIError.badRequest("n must be between 1 and 8 (got \(choices))") }
        let tooling = try ToolCalling(tools: req.tools, toolChoice: req.tool_choice)
        if choices > 1 && tooling != nil {
            throw APIError.badRequest("n > 1 is not supported with tools")
        }
        let forcedCall = try tooling?.constraint()
        let format = try Self.jsonShape(req.response_format)
        if forcedCall != nil && format != nil {
            throw APIError.badRequest("response_format and a required tool call cannot be combined")
        }
        let json = forcedCall ?? format
        guard !req.messages.isEmpty else { throw APIError.badRequest("'messages' is empty") }
        var messages: [ChatMessage] = []
        for (i, m) in req.messages.enumerated() {
            var content = TemplateValue.none
            if let c = m.content {
                guard let text = c.text else {
                    throw APIError.badRequest("messages[\(i)].content has a part that is not text; this model reads text only")
                }
                content = .string(text)
            }
            let calls = m.tool_calls?.map { call in
                let arguments = call.function.arguments ?? "{}"
                return ChatToolCall(id: call.id, name: call.function.name ?? "",
                                    arguments: (try? TemplateValue.parseJSON(arguments)) ?? .string(arguments))
            }
            messages.append(ChatMessage(role: m.role, content: content, name: m.name, toolCalls: calls, toolCallID: m.tool_call_id))
        }
        messages = served.withStoredOpening(messages)
        ToolCalling.adapt(&messages, for: served.model, tooling: tooling)
        let prompt: ChatPrompt
        do { prompt = try served.model.chatPrompt(messages, tools: tooling?.templateTools) } catch { throw APIError.badRequest(error.message) }
        let tokens = served.model.tokenize(prompt)
        if let k = req.top_logprobs, !(0...20).contains(k) { throw APIError.badRequest("top_logprobs must be between 0 and 20 (got \(k))") }
        let d = served.defaults
        let options = try GenerationRequest.options(
            promptTokens: tokens.count, maxTokens: req.max_completion_tokens ?? req.max_tokens ?? d.num_predict.flatMap { $0 >= 0 ? $0 : nil },
            maxTokensName: req.max_completion_tokens != nil ? "max_completion_tokens" : req.max_tokens != nil ? "max_tokens" : "the model's num_predict",
            contextSize: state.configuration.contextSize,
            sampling: GenerationRequest.sampling(stored: d, temperature: req.temperature, defaultTemperature: 1, topP: req.top_p,
                                                 seed: req.seed, presencePenalty: req.presence_penalty,
                                                 frequencyPenalty: req.frequency_penalty),
            stop: req.stop?.values ?? d.stop ?? [], topLogprobs: req.logprobs == true ? (req.top_logprobs ?? 0) : nil, json: json)
        // n choices are n jobs, seeded one apart, which the engine decodes together.
        var handles: [GenerationScheduler.Handle] = []
        for i in 0..<choices {
            var o = options
            o.sampling.seed &+= UInt64(i)
            do { handles.append(try submit(served, tokens, o)) } catch {
                for h in handles { h.cancel() }
                throw error
            }
        }
        let handle = handles[0]
        let id = "chatcmpl-\(handle.id)-\(UInt32.random(in: .min ... .max))"
        let created = Int(Date().timeIntervalSince1970)
        let model = served.model

        @Sendable func logprobs(_ list: [TokenLogprob]) -> OpenAI.ChoiceLogprobs {
            OpenAI.ChoiceLogprobs(content: list.map { lp in
                let (text, bytes) = GenerationRequest.tokenText(lp.id, model)
                return OpenAI.TokenLogprob(token: text, logprob: Double(lp.logprob), bytes: bytes, top_logprobs: lp.top.map {
                    let (t, b) = GenerationRequest.tokenText($0.id, model)
                    return OpenAI.TopLogprob(token: t, logprob: Double($0.logprob), bytes: b)
                })
            })
        }

        if let tooling {
            // The answer is parsed for calls once it is whole; a stream gets it as a few chunks.
            let result = try await GenerationRequest.collect(handle)
            let summary = result.summary!
            let (content, calls) = tooling.parse(result.text, constrained: forcedCall != nil)
            let finish = calls.isEmpty ? GenerationRequest.finishReason(summary.stopReason) : "tool_calls"
            let usage = OpenAI.Usage(prompt: summary.promptTokens, completion: summary.generatedTokens)
            guard req.stream == true else {
                return JSON.response(OpenAI.ChatResponse(
                    id: id, created: created, model: served.name,
                    choices: [OpenAI.ChatChoice(index: 0, message: .init(content: content, tool_calls: calls.isEmpty ? nil : calls),
                                                logprobs: options.topLogprobs == nil ? nil : logprobs(result.logprobs),
                                                finish_reason: finish)],
                    usage: usage))
            }
            let includeUsage = req.stream_options?.include_usage == true
            return ServerSentEvents.response { send in
                func chunk(_ delta: OpenAI.Delta, finish: String? = nil) -> OpenAI.ChatChunk {
                    OpenAI.ChatChunk(id: id, created: created, model: served.name, choices: [.init(index: 0, delta: delta, finish_reason: finish)])
                }
                try await send(chunk(.init(role: "assistant", content: content ?? "")))
                if !calls.isEmpty {
                    try await send(chunk(.init(tool_calls: calls.enumerated().map { i, c in
                        var indexed = c
                        indexed.index = i
                        return indexed
                    })))
                }
                try await send(chunk(.init(), finish: finish))
                if includeUsage { try await send(OpenAI.ChatChunk(id: id, created: created, model: served.name, choices: [], usage: usage)) }
            }
        }
        guard req.stream == true else {
            defer { for h in handles { h.cancel() } }
            var answers: [OpenAI.ChatChoice] = [], completion = 0
            for (index, h) in handles.enumerated() {
                let result = try await GenerationRequest.collect(h)
                let summary = result.summary!
                completion += summary.generatedTokens
                answers.append(OpenAI.ChatChoice(index: index, message: .init(content: result.text),
                                                 logprobs: options.topLogprobs == nil ? nil : logprobs(result.logprobs),
                                                 finish_reason: GenerationRequest.finishReason(summary.stopReason)))
            }
            return JSON.response(OpenAI.ChatResponse(id: id, created: created, model: served.name, choices: answers,
                                                     usage: .init(prompt: tokens.count, completion: completion)))
        }
        let includeUsage = req.stream_options?.include_usage == true
        let wantLogprobs = options.topLogprobs != nil
        let events = GenerationRequest.merged(handles)
        let submitted = handles
        return ServerSentEvents.response { send in
            defer { for h in submitted { h.cancel() } }
            func chunk(_ index: Int, _ delta: OpenAI.Delta, _ lps: [TokenLogprob] = [], finish: String? = nil) -> OpenAI.ChatChunk {
                OpenAI.ChatChunk(id: id, created: created, model: served.name,
                                 choices: [.init(index: index, delta: delta, logprobs: wantLogprobs && !lps.isEmpty ? logprobs(lps) : nil,
                                                 finish_reason: finish)])
            }
            for i in 0..<choices { try await send(chunk(i, .init(role: "assistant", content: ""))) }
            // With n > 1 the choices' chunks interleave, each with its index, as OpenAI sends them.
            var finished = 0, completion = 0
            for await (index, event) in events {
                switch event {
                case .text(let text, let lps): try await send(chunk(index, .init(content: text), lps))
                case .finished(let summary):
                    try await send(chunk(index, .init(), finish: GenerationRequest.finishReason(summary.stopReason)))
                    finished += 1
                    completion += summary.generatedTokens
                    if finished == choices && includeUsage {
                        try await send(OpenAI.ChatChunk(id: id, created: created, model: served.name, choices: [],
                                                        usage: .init(prompt: summary.promptTokens, completion: completion)))
                    }
                case .failed(let message):
                    try await send(OpenAI.ErrorResponse(message: message, type: "server_error"))
                case .promptLogprobs, .embedding: break
                }
            }
        }
    }

    // MARK: completions

    func complete(_ request: Request, _ body: ByteBuffer) async throws -> Response {
        let req = try JSON.decode(OpenAI.CompletionRequest.self, from: body)
        let served = try await state.registry().model(named: req.model)
        let n = req.n ?? 1
        guard (1...8).contains(n) else { throw APIError.badRequest("n must be between 1 and 8 (got \(n))") }
        let model = served.model
        let prompts = try Self.tokenLists(req.prompt, model, field: "prompt")
        guard !prompts.isEmpty else { throw APIError.badRequest("'prompt' is empty") }
        if let k = req.logprobs, !(0...20).contains(k) { throw APIError.badRequest("logprobs must be between 0 and 20 (got \(k))") }
        let echo = req.echo == true
        if req.stream == true && (prompts.count > 1 || echo) {
            throw APIError.badRequest("streaming takes one prompt and no echo")
        }
        let sampling = GenerationRequest.sampling(stored: served.defaults, temperature: req.temperature, defaultTemperature: 1,
                                                  topP: req.top_p, seed: req.seed,
                                                  presencePenalty: req.presence_penalty, frequencyPenalty: req.frequency_penalty)
        // One job per prompt and choice (choice i of prompt p is index p * n + i, as OpenAI
        // numbers them), seeded one apart.
        var jobs: [(tokens: [Int32], options: GenerationOptions)] = []
        for tokens in prompts {
            let options = try GenerationRequest.options(
                promptTokens: tokens.count, maxTokens: req.max_tokens ?? 16, maxTokensName: "max_tokens",
                contextSize: state.configuration.contextSize, sampling: sampling, stop: req.stop?.values ?? served.defaults.stop ?? [],
                topLogprobs: req.logprobs)
            for i in 0..<n {
                var o = options
                o.sampling.seed &+= UInt64(i)
                jobs.append((tokens, o))
            }
        }
        let id = "cmpl-\(UInt32.random(in: .min ... .max))"
        let created = Int(Date().timeIntervalSince1970)

        if req.stream == true {
            var handles: [GenerationScheduler.Handle] = []
            for job in jobs {
                do { handles.append(try submit(served, job.tokens, job.options)) } catch {
                    for h in handles { h.cancel() }
                    throw error
                }
            }
            let events = GenerationRequest.merged(handles)
            let includeUsage = req.stream_options?.include_usage == true
            let submitted = handles
            return ServerSentEvents.response { send in
                defer { for h in submitted { h.cancel() } }
                var finished = 0, completion = 0
                for await (index, event) in events {
                    switch event {
                    case .text(let text, let lps):
                        try await send(OpenAI.CompletionResponse(id: id, created: created, model: served.name, choices: [
                            .init(text: text, index: index, logprobs: req.logprobs == nil ? nil : Self.completionLogprobs(lps.map { $0 }, model, startOffset: 0),
                                  finish_reason: nil)], usage: nil))
                    case .finished(let summary):
                        finished += 1
                        completion += summary.generatedTokens
                        try await send(OpenAI.CompletionResponse(id: id, created: created, model: served.name, choices: [
                            .init(text: "", index: index, logprobs: nil, finish_reason: GenerationRequest.finishReason(summary.stopReason))],
                            usage: includeUsage && finished == submitted.count ? .init(prompt: summary.promptTokens, completion: completion) : nil))
                    case .failed(let message): try await send(OpenAI.ErrorResponse(message: message, type: "server_error"))
                    case .promptLogprobs, .embedding: break
                    }
                }
            }
        }

        // Jobs go to the scheduler a slot's worth at a time, so that a batch of prompts is
        // decoded together without filling the queue.
        var results: [GenerationRequest.Collected] = []
        let window = max(1, state.configuration.parallel)
        for start in stride(from: 0, to: jobs.count, by: window) {
            var handles: [GenerationScheduler.Handle] = []
            defer { for h in handles { h.cancel() } }
            for job in jobs[start..<min(jobs.count, start + window)] {
                handles.append(try submit(served, job.tokens, job.options, kind: echo && req.logprobs != nil ? .scoreAndGenerate : .generate))
            }
            for h in handles { results.append(try await GenerationRequest.collect(h)) }
        }
        var choices: [OpenAI.CompletionChoice] = []
        var promptTotal = 0, completionTotal = 0
        for (index, (job, result)) in zip(jobs, results).enumerated() {
            let summary = result.summary!
            if index % n == 0 { promptTotal += summary.promptTokens }
            completionTotal += summary.generatedTokens
            var text = result.text
            var logprobs: OpenAI.CompletionLogprobs?
            if echo {
                let promptText = model.tokenizer.decode(job.tokens)
                text = promptText + text
                if req.logprobs != nil {
                    var all = Self.completionLogprobs(result.promptLogprobs, model, startOffset: 0, ids: job.tokens)
                    let generated = Self.completionLogprobs(result.logprobs.map { $0 }, model, startOffset: promptText.utf8.count)
                    all.tokens += generated.tokens
                    all.token_logprobs += generated.token_logprobs
                    all.top_logprobs += generated.top_logprobs
                    all.text_offset += generated.text_offset
                    logprobs = all
                }
            } else if req.logprobs != nil {
                logprobs = Self.completionLogprobs(result.logprobs.map { $0 }, model, startOffset: 0)
            }
            // An end-of-generation token ends the logprobs (not the text), as OpenAI's
            // completions report it: clients that read the last entry as the generated token
            // (lm-evaluation-harness with echo) rely on it.
            if let end = summary.endToken, var l = logprobs {
                l.tokens.append(model.tokenizer.tokenText(end.id) ?? "")
                l.token_logprobs.append(Double(end.logprob))
                l.top_logprobs.append(Dictionary(end.top.map { (GenerationRequest.tokenText($0.id, model).text, Double($0.logprob)) },
                                                 uniquingKeysWith: { a, _ in a }))
                l.text_offset.append(text.utf8.count)
                logprobs = l
            }
            choices.append(.init(text: text, index: index, logprobs: logprobs, finish_reason: GenerationRequest.finishReason(summary.stopReason)))
        }
        return JSON.response(OpenAI.CompletionResponse(id: id, created: created, model: served.name, choices: choices,
                                                       usage: .init(prompt: promptTotal, completion: completionTotal)))
    }

    /// The legacy logprobs arrays for tokens (`ids` when some entries are nil: the first prompt
    /// token), with byte offsets of each token's text starting at `startOffset`.
    static func completionLogprobs(_ entries: [TokenLogprob?], _ model: Model, startOffset: Int, ids: [Int32]? = nil) -> OpenAI.CompletionLogprobs {
        var out = OpenAI.CompletionLogprobs()
        var offset = startOffset
        for (i, entry) in entries.enumerated() {
            guard let id = entry?.id ?? ids?[i] else { continue }
            let (text, bytes) = GenerationRequest.tokenText(id, model)
            out.tokens.append(text)
            out.text_offset.append(offset)
            offset += bytes.count
            out.token_logprobs.append(entry.map { Double($0.logprob) })
            out.top_logprobs.append(entry.map { e in
                var top: [String: Double] = [:]
                for t in e.top {
                    let key = GenerationRequest.tokenText(t.id, model).text
                    if top[key] == nil { top[key] = Double(t.logprob) }
                }
                return top
            })
        }
        return out
    }

    // MARK: embeddings

    func embeddings(_ request: Request, _ body: ByteBuffer) async throws -> Response {
        let req = try JSON.decode(OpenAI.EmbeddingRequest.self, from: body)
        let served = try await state.registry().model(named: req.model)
        if let d = req.dimensions { throw APIError.badRequest("dimensions = \(d) is not supported: embeddings have the model's \(served.model.shape.dim)") }
        let format = req.encoding_format ?? "float"
        guard format == "float" || format == "base64" else {
            throw APIError.badRequest("encoding_format must be 'float' or 'base64' (got '\(format)')")
        }
        let inputs = try Self.tokenLists(req.input, served.model, field: "input")
        let vectors = try await GenerationRequest.embed(inputs, with: served, state: state)
        let data = vectors.enumerated().map { i, v in
            OpenAI.Embedding(index: i, embedding: format == "float" ? .floats(v) : .base64(Self.base64(v)))
        }
        return JSON.response(OpenAI.EmbeddingResponse(data: data, model: served.name,
                                                      usage: .init(prompt_tokens: inputs.reduce(0) { $0 + $1.count })))
    }

    /// Little-endian float32s in base64, as OpenAI sends `encoding_format: base64`.
    static func base64(_ v: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(v.count * 4)
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return Data(bytes).base64EncodedString()
    }

    // MARK: shared

    /// The token lists of a prompt or input field: texts tokenized, ids checked against the vocabulary.
    static func tokenLists(_ prompt: OpenAI.Prompt, _ model: Model, field: String) throws(APIError) -> [[Int32]] {
        let vocab = model.tokenizer.vocabularySize
        func ids(_ list: [Int], _ index: Int) throws(APIError) -> [Int32] {
            if let bad = list.first(where: { $0 < 0 || $0 >= vocab }) {
                throw APIError.badRequest("\(field)[\(index)] has token id \(bad), outside the vocabulary (0..<\(vocab))")
            }
            return list.map { Int32($0) }
        }
        switch prompt {
        case .text(let s): return [model.tokenize(s)]
        case .texts(let list): return list.map { model.tokenize($0) }
        case .tokens(let list): return [try ids(list, 0)]
        case .tokenLists(let lists): return try lists.enumerated().map { i, l throws(APIError) in try ids(l, i) }
        }
    }

    private func submit(_ served: ServedModel, _ tokens: [Int32], _ options: GenerationOptions,
                        kind: GenerationJob.Kind = .generate) throws(APIError) -> GenerationScheduler.Handle {
        do { return try state.scheduler.submit(model: served, promptTokens: tokens, options: options, kind: kind) } catch {
            throw APIError.queueFull
        }
    }

    /// The JSON a `response_format` asks for: nil for text, any object for `json_object`, the
    /// schema's shape for `json_schema`.
    static func jsonShape(_ format: OpenAI.ResponseFormat?) throws(APIError) -> JSONShape? {
        guard let format else { return nil }
        switch format.type {
        case "text": return nil
        case "json_object": return .object(properties: [], additionalProperties: true)
        case "json_schema":
            guard case .object(let spec)? = format.json_schema, let schema = spec["schema"] else {
                throw APIError.badRequest("response_format json_schema needs json_schema.schema")
            }
            return try JSONSchemaReader.shape(schema, at: "response_format.json_schema.schema")
        default:
            throw APIError.badRequest("response_format type '\(format.type)' is not one of text, json_object, json_schema")
        }
    }
}
