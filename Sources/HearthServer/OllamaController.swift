import Foundation
import HearthAPI
import HearthEngine
import HearthGGUF
import HearthHub
import Hummingbird
import Synchronization

/// `/api/...`: Ollama's API.
struct OllamaController {
    let state: ServerState

    func addRoutes(to router: Router<ServeContext>) {
        router.post("/api/generate", use: routed(.ollama, "api_generate", state, generate))
        router.post("/api/chat", use: routed(.ollama, "api_chat", state, chat))
        router.get("/api/tags", use: routed(.ollama, "api_tags", state, tags))
        router.get("/api/ps", use: routed(.ollama, "api_ps", state, running))
        router.post("/api/show", use: routed(.ollama, "api_show", state, show))
        router.get("/api/version", use: routed(.ollama, "api_version", state) { _, _ in
            JSON.response(Ollama.Version(version: state.configuration.version))
        })
        router.post("/api/embed", use: routed(.ollama, "api_embed", state, embed))
        router.post("/api/copy", use: routed(.ollama, "api_copy", state, copy))
        router.delete("/api/delete", use: routed(.ollama, "api_delete", state, delete))
        router.post("/api/create", use: routed(.ollama, "api_create", state, create))
        router.post("/api/pull", use: routed(.ollama, "api_pull", state) { try await transfer($0, $1, push: false) })
        router.post("/api/push", use: routed(.ollama, "api_push", state) { try await transfer($0, $1, push: true) })
        router.post("/api/embeddings", use: routed(.ollama, "api_embeddings", state) { _, _ in
            throw APIError(.notImplemented, "/api/embeddings is not supported; use /api/embed", type: "not_implemented")
        })
    }

    // MARK: generation

    func generate(_ request: Request, _ body: ByteBuffer) async throws -> Response {
        let req = try JSON.decode(Ollama.GenerateRequest.self, from: body)
        let keepAlive = try Self.keepAlive(req.keep_alive)
        let served = try await model(req.model, keepAlive: keepAlive)
        let json = try Self.jsonShape(req.format)
        if req.suffix != nil { throw APIError.badRequest("'suffix' (fill-in-the-middle) is not supported yet") }
        let promptText = req.prompt ?? ""
        guard !promptText.isEmpty else {
            // As Ollama: an empty prompt loads the model, or with keep_alive 0 unloads it.
            var done = Ollama.GenerateResponse(model: req.model, created_at: Self.now(), response: "", done: true)
            done.done_reason = keepAlive == 0 ? "unload" : "load"
            return JSON.response(done)
        }
        let prompt: ChatPrompt
        if req.raw == true || served.model.chatTemplate == nil {
            prompt = ChatPrompt(raw: (req.system.map { $0 + "\n\n" } ?? "") + promptText)
        } else {
            let messages = served.withStoredOpening((req.system.map { [ChatMessage.system($0)] } ?? []) + [ChatMessage.user(promptText)])
            do { prompt = try served.model.chatPrompt(messages) } catch { throw APIError.badRequest(error.message) }
        }
        return try await run(served, prompt: prompt, options: req.options, json: json, stream: req.stream ?? true, name: req.model) { text, done in
            Ollama.GenerateResponse(model: req.model, created_at: Self.now(), response: text, done: done)
        }
    }

    func chat(_ request: Request, _ body: ByteBuffer) async throws -> Response {
        let req = try JSON.decode(Ollama.ChatRequest.self, from: body)
        let keepAlive = try Self.keepAlive(req.keep_alive)
        let served = try await model(req.model, keepAlive: keepAlive)
        let json = try Self.jsonShape(req.format)
        let tooling = try ToolCalling(tools: req.tools, toolChoice: nil)
        guard let messages = req.messages, !messages.isEmpty else {
            var done = Ollama.ChatResponse(model: req.model, created_at: Self.now(), message: .init(role: "assistant", content: ""), done: true)
            done.done_reason = keepAlive == 0 ? "unload" : "load"
            return JSON.response(done)
        }
        var conversation = messages.map { m in
            ChatMessage(role: m.role, content: .string(m.content), name: m.tool_name,
                        toolCalls: m.tool_calls?.map { ChatToolCall(name: $0.function.name, arguments: ToolCalling.templateValue($0.function.arguments)) })
        }
        conversation = served.withStoredOpening(conversation)
        ToolCalling.adapt(&conversation, for: served.model, tooling: tooling)
        let prompt: ChatPrompt
        do { prompt = try served.model.chatPrompt(conversation, tools: tooling?.templateTools) } catch {
            throw APIError.badRequest(error.message)
        }
        guard let tooling else {
            return try await run(served, prompt: prompt, options: req.options, json: json, stream: req.stream ?? true, name: req.model) { text, done in
                Ollama.ChatResponse(model: req.model, created_at: Self.now(), message: .init(role: "assistant", content: text), done: done)
            }
        }
        // With tools the answer is parsed for calls once whole, and sent as one message.
        let parsed = Mutex<(content: String?, calls: [Ollama.ToolCall])>((nil, []))
        return try await run(served, prompt: prompt, options: req.options, json: json, stream: false, name: req.model,
                             whole: { text in
                                 let (content, calls) = tooling.parse(text, constrained: false)
                                 let ollamaCalls = calls.map { c in
                                     Ollama.ToolCall(name: c.function.name ?? "", arguments: (try? JSONDecoder().decode(JSONValue.self, from: Data((c.function.arguments ?? "{}").utf8))) ?? .object([:]))
                                 }
                                 parsed.withLock { $0 = (content, ollamaCalls) }
                             }) { text, done in
            let (content, calls) = parsed.withLock { $0 }
            return Ollama.ChatResponse(model: req.model, created_at: Self.now(),
                                       message: .init(role: "assistant", content: calls.isEmpty ? text : (content ?? ""),
                                                      tool_calls: calls.isEmpty ? nil : calls), done: done)
        }
    }

    /// What `/api/generate` and `/api/chat` share: the options, the job, and the answer
    /// (NDJSON lines when streaming, one object when not), whose last object carries the counts
    /// and durations in nanoseconds.
    ///
    /// `whole`, when given, sees the whole answer before the reply is built (tool calls).
    private func run<R: OllamaReply>(_ served: ServedModel, prompt: ChatPrompt, options o: Ollama.Options?, json: JSONShape?,
                                     stream: Bool, name: String, whole: (String) -> Void = { _ in },
                                     reply: @escaping @Sendable (String, Bool) -> R) async throws -> Response {
        let o = served.options(overlaying: o)
        let tokens = served.model.tokenize(prompt)
        if let ctx = o.num_ctx, ctx > state.configuration.contextSize {
            throw APIError.badRequest("num_ctx \(ctx) is larger than this server's context of \(state.configuration.contextSize) tokens (start it with --ctx-size \(ctx))")
        }
        let sampling = GenerationRequest.sampling(
            temperature: o.temperature, defaultTemperature: 0.8, topP: o.top_p ?? 0.9, topK: o.top_k, minP: o.min_p ?? 0,
            seed: o.seed, repeatPenalty: o.repeat_penalty ?? 1.1, repeatWindow: o.repeat_last_n,
            presencePenalty: o.presence_penalty, frequencyPenalty: o.frequency_penalty)
        let maxTokens = o.num_predict.flatMap { $0 < 0 ? nil : $0 }
        let options = try GenerationRequest.options(promptTokens: tokens.count, maxTokens: maxTokens, maxTokensName: "num_predict",
                                                    contextSize: state.configuration.contextSize, sampling: sampling,
                                                    stop: o.stop ?? [], topLogprobs: nil, json: json)
        let handle: GenerationScheduler.Handle
        do { handle = try state.scheduler.submit(model: served, promptTokens: tokens, options: options) } catch { throw APIError.queueFull }
        let started = ContinuousClock.now
        @Sendable func final(_ summary: GenerationJob.Summary, text: String) -> R {
            var last = reply(text, true)
            let ns = { (s: Double) in Int(s * 1e9) }
            last.done_reason = GenerationRequest.finishReason(summary.stopReason)
            last.total_duration = ns((ContinuousClock.now - started).seconds)
            last.load_duration = 0
            last.prompt_eval_count = summary.promptTokens - summary.cachedTokens
            last.prompt_eval_duration = ns(summary.promptSeconds)
            last.eval_count = summary.generatedTokens
            last.eval_duration = ns(summary.generationSeconds)
            return last
        }
        guard stream else {
            let result = try await GenerationRequest.collect(handle)
            whole(result.text)
            return JSON.response(final(result.summary!, text: result.text))
        }
        return NDJSON.response { send in
            defer { handle.cancel() }
            for await event in handle.events {
                switch event {
                case .text(let text, _): if !text.isEmpty { try await send(reply(text, false)) }
                case .finished(let summary): try await send(final(summary, text: ""))
                case .failed(let message): try await send(Ollama.ErrorResponse(error: message))
                case .promptLogprobs, .embedding: break
                }
            }
        }
    }

    func embed(_ request: Request, _ body: ByteBuffer) async throws -> Response {
        let req = try JSON.decode(Ollama.EmbedRequest.self, from: body)
        let served = try await model(req.model, keepAlive: try Self.keepAlive(req.keep_alive))
        let started = ContinuousClock.now
        let inputs = req.input.values.map { served.model.tokenize($0) }
        let vectors = try await GenerationRequest.embed(inputs, with: served, state: state)
        return JSON.response(Ollama.EmbedResponse(model: req.model, embeddings: vectors,
                                                  total_duration: Int((ContinuousClock.now - started).seconds * 1e9),
                                                  prompt_eval_count: inputs.reduce(0) { $0 + $1.count }))
    }

    // MARK: models

    func tags(_ request: Request, _ body: ByteBuffer) throws -> Response {
        JSON.response(Ollama.ModelList(models: try state.registry().files.map(entry)))
    }

    func running(_ request: Request, _ body: ByteBuffer) throws -> Response {
        let registry = try state.registry()
        return JSON.response(Ollama.ModelList(models: registry.loadedModels.map { served in
            var e = entry(served.file)
            e.size = served.memoryBytes  // as Ollama's ps: the memory the model takes, not the file
            e.expires_at = registry.expiry(of: served).map(Self.timestamp) ?? "9999-12-31T23:59:59Z"
            e.size_vram = 0
            return e
        }))
    }

    func show(_ request: Request, _ body: ByteBuffer) throws -> Response {
        let req = try JSON.decode(Ollama.ShowRequest.self, from: body)
        guard let name = req.model ?? req.name else { throw APIError.badRequest("the body has no 'model'") }
        let served = try state.registry().file(named: name)
        // The header alone, without loading the model.
        let file: GGUFFile
        do { file = try GGUFFile(path: served.path) } catch { throw APIError(.internalServerError, error.message) }
        var info: [String: JSONValue] = [:]
        for key in file.metadataKeys where !key.hasPrefix("tokenizer.ggml.") {
            switch file.metadata[key] {
            case .string(let s)?: info[key] = .string(s)
            case let v? where v.double != nil: info[key] = .number(v.double!)
            case .bool(let b)?: info[key] = .bool(b)
            default: break
            }
        }
        let stored = served.stored
        var response = Ollama.ShowResponse(
            license: stored.flatMap { $0.licenses.isEmpty ? nil : $0.licenses.joined(separator: "\n\n") } ?? file.string("general.license"),
            modelfile: Self.modelfile(stored, name: served.name),
            parameters: (stored?.parameters.lines ?? []).map { "\($0.name) \($0.value)" }.joined(separator: "\n"),
            template: stored?.chatTemplate ?? file.string("tokenizer.chat_template") ?? "", details: details(served), model_info: info,
            capabilities: ["completion"], modified_at: Self.timestamp(served.modified))
        response.system = stored?.system
        return JSON.response(response)
    }

    /// The Modelfile `/api/show` gives: FROM names the model as it is served, not the file's
    /// path on the server (which would tell a client where HEARTH_HOME or the models are).
    static func modelfile(_ stored: StoredModel?, name: String) -> String {
        var modelfile = stored?.modelfile ?? Modelfile(from: name)
        modelfile.from = name
        modelfile.adapters = modelfile.adapters.map { ($0 as NSString).lastPathComponent }
        return modelfile.text
    }

    // MARK: the store

    /// The store, or a 501 when the server was started without one (`--no-store`).
    private func store() throws(APIError) -> ModelStore {
        guard let store = try state.registry().store else {
            throw APIError(.notImplemented, "this server has no model store (it was started with --no-store)", type: "not_implemented")
        }
        return store
    }

    private func storeName(_ text: String?, field: String) throws(APIError) -> ModelName {
        guard let text, !text.isEmpty else { throw APIError.badRequest("the body has no '\(field)'") }
        do { return try ModelName(parsing: text) } catch { throw APIError.badRequest(error.message) }
    }

    func copy(_ request: Request, _ body: ByteBuffer) throws -> Response {
        let req = try JSON.decode(Ollama.CopyRequest.self, from: body)
        let store = try store()
        let source = try storeName(req.source, field: "source"), destination = try storeName(req.destination, field: "destination")
        guard try store.manifest(source) != nil else { throw APIError.modelNotFound(req.source, known: try state.registry().files.map(\.name)) }
        try store.copy(source, to: destination)
        return Response(status: .ok)
    }

    func delete(_ request: Request, _ body: ByteBuffer) throws -> Response {
        let req = try JSON.decode(Ollama.DeleteRequest.self, from: body)
        let store = try store()
        let name = try storeName(req.model ?? req.name, field: "model")
        guard try store.manifest(name) != nil else { throw APIError.modelNotFound(name.description, known: try state.registry().files.map(\.name)) }
        try store.remove(name)
        return Response(status: .ok)
    }

    /// `/api/pull` and `/api/push` between the store and a Hearth hub (`hearth hub`), with the
    /// tokens `hearth login` keeps. A pull's model is `HOST[:PORT]/NAMESPACE/MODEL[:TAG]` and is
    /// stored under that name; a push sends the stored model of that name to its host.
    /// Streamed progress is Ollama's: status lines with `total` and `completed` bytes.
    func transfer(_ request: Request, _ body: ByteBuffer, push: Bool) async throws -> Response {
        let req = try JSON.decode(Ollama.TransferRequest.self, from: body)
        let store = try store()
        guard let text = req.model ?? req.name, !text.isEmpty else { throw APIError.badRequest("the body has no 'model'") }
        let remote: HubReference
        do { remote = try HubReference(parsing: text, insecure: req.insecure ?? false) } catch { throw APIError.badRequest(error.message) }
        if push, try store.manifest(remote.name) == nil {
            throw APIError.modelNotFound(remote.name.description, known: try state.registry().files.map(\.name))
        }
        let client = HubClient(store: store)
        // The operator's hub tokens only when the operator allowed it (--allow-hub-credentials):
        // otherwise a client of this server would act as the operator on the hub.
        let token = state.configuration.allowHubCredentials ? HubCredentials(store: store).token(for: remote.name.host) : nil
        let verb = push ? "pushing" : "pulling"
        @Sendable func run(_ progress: @escaping @Sendable (Int, Int) -> Void) async throws(HubError) {
            if push { try await client.push(remote.name, to: remote, token: token) { progress($0, $1) } } else {
                _ = try await client.pull(remote, token: token, progress: progress)
            }
        }
        guard req.stream ?? true else {
            do { try await run { _, _ in } } catch { throw APIError(.badGateway, error.message) }
            return JSON.response(Ollama.StatusResponse(status: "success"))
        }
        let (events, continuation) = AsyncStream<any Encodable & Sendable>.makeStream()
        let lastSent = Mutex<ContinuousClock.Instant>(.now - .seconds(1))
        continuation.yield(Ollama.StatusResponse(status: push ? "retrieving manifest" : "pulling manifest"))
        let task = Task {
            do {
                try await run { done, total in
                    // At most ten progress lines a second, and the last one.
                    let now = ContinuousClock.now
                    guard lastSent.withLock({ last in
                        guard done == total || now - last >= .milliseconds(100) else { return false }
                        last = now
                        return true
                    }) else { return }
                    continuation.yield(Ollama.StatusResponse(status: verb, total: total, completed: done))
                }
                continuation.yield(Ollama.StatusResponse(status: "success"))
            } catch let e as HubError {
                continuation.yield(Ollama.ErrorResponse(error: e.message))
            } catch {
                continuation.yield(Ollama.ErrorResponse(error: "\(error)"))
            }
            continuation.finish()
        }
        return NDJSON.response { send in
            defer { task.cancel() }
            for await event in events { try await send(event) }
        }
    }

    func create(_ request: Request, _ body: ByteBuffer) throws -> Response {
        let req = try JSON.decode(Ollama.CreateRequest.self, from: body)
        let store = try store()
        let name = try storeName(req.model ?? req.name, field: "model")
        if req.files != nil { throw APIError(.notImplemented, "'files' (models from uploaded blobs) is not supported yet; import the file with hearth import", type: "not_implemented") }
        if req.adapters != nil { throw APIError(.notImplemented, "'adapters' is not supported yet", type: "not_implemented") }
        if req.quantize != nil { throw APIError(.notImplemented, "'quantize' is not supported yet", type: "not_implemented") }
        var modelfile: Modelfile
        if let text = req.modelfile {
            do { modelfile = try Modelfile(parsing: text, source: "the modelfile") } catch { throw APIError.badRequest(error.message) }
            if req.from != nil { throw APIError.badRequest("give 'from' or a 'modelfile' with FROM, not both") }
        } else {
            guard let from = req.from else { throw APIError.badRequest("the body has no 'from' (the stored model to start from)") }
            modelfile = Modelfile(from: from)
        }
        // Over the API a model starts from a stored one: a path would read the server's files.
        let base = try storeName(modelfile.from, field: "from")
        guard try store.manifest(base) != nil else { throw APIError.modelNotFound(modelfile.from, known: try state.registry().files.map(\.name)) }
        guard modelfile.adapters.isEmpty else { throw APIError(.notImplemented, "ADAPTER is not supported over the API; use hearth create", type: "not_implemented") }
        if let system = req.system { modelfile.system = system }
        if let template = req.template { modelfile.template = template }
        if let license = req.license { modelfile.licenses += license.values }
        if let messages = req.messages { modelfile.messages = messages.map { .init(role: $0.role, content: $0.content) } }
        for (key, value) in (req.parameters ?? [:]).sorted(by: { $0.key < $1.key }) {
            let texts: [String]
            switch value {
            case .string(let s): texts = [s]
            case .number(let n): texts = [n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)]
            case .bool(let b): texts = [String(b)]
            case .array(let items):
                texts = try items.map { item throws(APIError) in
                    guard case .string(let s) = item else { throw APIError.badRequest("parameters.\(key) must hold strings") }
                    return s
                }
            default: throw APIError.badRequest("parameters.\(key) must be a number, a string or a list of strings")
            }
            for t in texts {
                do { try modelfile.parameters.set(key, t) } catch { throw APIError.badRequest(error.message) }
            }
        }
        // A Modelfile from the network never reads the server's files (README /etc/passwd).
        do { try store.create(name, from: modelfile, readingFiles: false) } catch { throw APIError.badRequest(error.message) }
        let statuses = [Ollama.StatusResponse(status: "using existing layers"), Ollama.StatusResponse(status: "writing manifest"),
                        Ollama.StatusResponse(status: "success")]
        guard req.stream ?? true else { return JSON.response(statuses.last!) }
        return NDJSON.response { send in for s in statuses { try await send(s) } }
    }

    private func entry(_ file: ModelFile) -> Ollama.ModelEntry {
        Ollama.ModelEntry(name: file.name, modified_at: Self.timestamp(file.modified), size: file.size,
                          digest: file.digest, details: details(file))
    }

    private func details(_ file: ModelFile) -> Ollama.Details {
        Ollama.Details(family: file.architecture, parameter_size: file.parameterSize, quantization_level: file.quantization)
    }

    private func model(_ name: String, keepAlive: Int64?) async throws(APIError) -> ServedModel {
        try await state.registry().model(named: name, keepAlive: keepAlive)
    }

    /// Ollama's `keep_alive`: seconds as a number, or a duration (`"5m"`, `"1h30m"`, `"10s"`,
    /// `"-1"`); negative keeps the model loaded for ever, 0 unloads it once idle.
    static func keepAlive(_ value: JSONValue?) throws(APIError) -> Int64? {
        let seconds: Double, written: String
        switch value {
        case nil, .null?: return nil
        case .number(let n)?: (seconds, written) = (n, "\(n)")
        case .string(let text)?:
            guard let parsed = parseDuration(text) else {
                throw APIError.badRequest("keep_alive '\(text)' is not a duration (like \"5m\", \"1h\", \"30s\" or a number of seconds)")
            }
            (seconds, written) = (parsed, text)
        default:
            throw APIError.badRequest("keep_alive must be a number of seconds or a duration like \"5m\"")
        }
        guard let whole = keepAliveSeconds(seconds) else {
            throw APIError.badRequest("keep_alive \(written) is longer than ten years (\(longestKeepAlive) seconds); a negative keep_alive keeps the model loaded for ever")
        }
        return whole
    }

    /// Ollama's `format`: `"json"` (any JSON object) or a JSON Schema.
    private static func jsonShape(_ format: JSONValue?) throws(APIError) -> JSONShape? {
        switch format {
        case nil, .null?, .string("")?: return nil
        case .string("json")?: return .object(properties: [], additionalProperties: true)
        case .object?: return try JSONSchemaReader.shape(format!, at: "format")
        default: throw APIError.badRequest("'format' must be \"json\" or a JSON Schema object")
        }
    }

    static func now() -> String { timestamp(Date()) }
    static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }
}

/// The final-object fields `/api/generate` and `/api/chat` replies share.
protocol OllamaReply: Encodable, Sendable {
    var done_reason: String? { get set }
    var total_duration: Int? { get set }
    var load_duration: Int? { get set }
    var prompt_eval_count: Int? { get set }
    var prompt_eval_duration: Int? { get set }
    var eval_count: Int? { get set }
    var eval_duration: Int? { get set }
}

extension Ollama.GenerateResponse: OllamaReply {}
extension Ollama.ChatResponse: OllamaReply {}
