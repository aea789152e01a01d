import Foundation
import HearthAPI
import HearthEngine
import HearthServer
import HearthTestSupport
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Synchronization
import Testing

/// The routes, in process, on the real SmolLM2 file: what a client gets back is checked against
/// the engine called directly (greedy output, log-probabilities computed here from the logits),
/// and every error against the status and body shape its API documents.
@Suite("Server routes", .serialized)
struct RouterTests {
    static let modelName = "SmolLM2-135M-Instruct.Q4_1"

    /// A server state with the model loaded (nil when the model is not cached and not required).
    static func state(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> ServerState? {
        guard let path = try TestPaths.model(modelName + ".gguf") else { return nil }
        var configuration = ServerConfiguration()
        configuration.modelPaths = [path]
        configuration.contextSize = 512
        configure(&configuration)
        let state = ServerState(configuration: configuration)
        state.finishLoading(Result { () throws(ServerError) in
            let registry = try ModelRegistry(paths: [path])
            try registry.preload()
            return registry
        })
        return state
    }

    static func body(_ json: String) -> ByteBuffer { ByteBuffer(string: json) }

    static func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    }

    /// The engine's own greedy continuation of a chat, from an empty session.
    static func engineGreedy(_ model: Model, _ messages: [ChatMessage], maxTokens: Int) throws -> String {
        let session = try model.makeSession(contextSize: 512)
        let tokens = model.tokenize(try model.renderChat(messages))
        return try model.generate(in: session, promptTokens: tokens, options: GenerationOptions(maxTokens: maxTokens)).text
    }

    @Test("chat completions: greedy output equals the engine's, also when the slot reuses a prefix")
    func greedyChatMatchesEngine() async throws {
        guard let state = try Self.state() else { return }
        let model = try state.registryForTests().loadedModels[0].model
        let app = Application(router: buildRouter(state: state))
        let first: [ChatMessage] = [.user("What is the capital of Germany?")]
        let expected1 = try Self.engineGreedy(model, first, maxTokens: 24)
        let second: [ChatMessage] = first + [.assistant(expected1), .user("And of France?")]
        let expected2 = try Self.engineGreedy(model, second, maxTokens: 24)
        #expect(expected1.contains("Berlin"))
        try await app.test(.router) { client in
            let request1 = #"{"model": "\#(Self.modelName)", "temperature": 0, "max_tokens": 24, "messages": [{"role": "user", "content": "What is the capital of Germany?"}]}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.body(request1)) { response in
                #expect(response.status == .ok)
                let answer = try Self.decode(OpenAI.ChatResponse.self, response.body)
                #expect(answer.choices[0].message.content == expected1)
                #expect(answer.usage.completion_tokens > 0)
            }
            // The second turn starts with the first one's tokens: the slot evaluates only the rest.
            let request2 = try String(decoding: JSONEncoder().encode([
                "model": JSONValue.string(Self.modelName), "temperature": .number(0), "max_tokens": .number(24),
                "messages": .array([
                    .object(["role": .string("user"), "content": .string("What is the capital of Germany?")]),
                    .object(["role": .string("assistant"), "content": .string(expected1)]),
                    .object(["role": .string("user"), "content": .string("And of France?")]),
                ]),
            ]), as: UTF8.self)
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.body(request2)) { response in
                let answer = try Self.decode(OpenAI.ChatResponse.self, response.body)
                #expect(answer.choices[0].message.content == expected2)
            }
            // Ollama's chat, with its repeat penalty switched off, is the same greedy decode.
            let ollama = #"{"model": "\#(Self.modelName):latest", "stream": false, "messages": [{"role": "user", "content": "What is the capital of Germany?"}], "options": {"temperature": 0, "num_predict": 24, "repeat_penalty": 1}}"#
            try await client.execute(uri: "/api/chat", method: .post, body: Self.body(ollama)) { response in
                let answer = try Self.decode(Ollama.ChatResponse.self, response.body)
                #expect(answer.message.content == expected1)
                #expect(answer.done && answer.eval_count ?? 0 > 0 && answer.total_duration ?? 0 > 0)
            }
        }
    }

    @Test("streamed chat chunks add up to the non-streamed answer; usage comes last")
    func streamingChat() async throws {
        guard let state = try Self.state() else { return }
        let model = try state.registryForTests().loadedModels[0].model
        let expected = try Self.engineGreedy(model, [.user("Name three colours.")], maxTokens: 16)
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            let request = #"{"model": "\#(Self.modelName)", "temperature": 0, "max_tokens": 16, "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "Name three colours."}]}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.body(request)) { response in
                #expect(response.headers[.contentType] == "text/event-stream")
                let events = String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
                #expect(events.last == "data: [DONE]")
                let chunks = try events.dropLast().map { event in
                    #expect(event.hasPrefix("data: "))
                    return try JSONDecoder().decode(OpenAI.ChatChunk.self, from: Data(event.dropFirst(6).utf8))
                }
                #expect(chunks.first?.choices.first?.delta.role == "assistant")
                let text = chunks.compactMap { $0.choices.first?.delta.content }.joined()
                #expect(text == expected)
                #expect(chunks.last?.usage?.completion_tokens == 16 && chunks.last?.choices.isEmpty == true)
                #expect(chunks.dropLast().last?.choices.first?.finish_reason == "length")
            }
        }
    }

    /// log p(token i | tokens < i) from the logits, in Double: the reference for echo + logprobs.
    static func referenceLogprobs(_ model: Model, _ tokens: [Int32]) throws -> [Double] {
        let session = try model.makeSession(contextSize: 512)
        let logits = try session.evaluate(tokens, rows: .all)
        let vocab = session.vocabularySize
        return (1..<tokens.count).map { i in
            let row = logits[(i - 1) * vocab ..< i * vocab].map(Double.init)
            let m = row.max()!
            let logZ = m + log(row.reduce(0) { $0 + exp($1 - m) })
            return row[Int(tokens[i])] - logZ
        }
    }

    @Test("completions with echo and logprobs score every prompt token as the logits say")
    func echoLogprobs() async throws {
        guard let state = try Self.state() else { return }
        let model = try state.registryForTests().loadedModels[0].model
        let prompt = "The capital of France is Paris, and the capital of Italy is"
        let tokens = model.tokenize(prompt)
        let reference = try Self.referenceLogprobs(model, tokens)
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            // As lm-evaluation-harness asks: token ids in, nothing generated.
            let ids = tokens.map(String.init).joined(separator: ", ")
            let request = #"{"model": "\#(Self.modelName)", "prompt": [\#(ids)], "max_tokens": 0, "echo": true, "logprobs": 3, "temperature": 0}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: Self.body(request)) { response in
                #expect(response.status == .ok)
                let answer = try Self.decode(OpenAI.CompletionResponse.self, response.body)
                let lp = try #require(answer.choices[0].logprobs)
                #expect(answer.choices[0].text == prompt)
                #expect(lp.tokens.count == tokens.count && lp.token_logprobs.count == tokens.count)
                #expect(lp.token_logprobs[0] == nil && lp.top_logprobs[0] == nil)
                for i in 1..<tokens.count {
                    let got = try #require(lp.token_logprobs[i])
                    #expect(abs(got - reference[i - 1]) < 1e-3, "token \(i): \(got) vs \(reference[i - 1])")
                    let top = try #require(lp.top_logprobs[i])
                    #expect(top.count == 3)
                    #expect(top.values.max()! >= got - 1e-6, "the best alternative is at least as likely as the token")
                }
            }
        }
    }

    struct EmbeddingGolden: Decodable { let texts: [String]; let embeddings: [[Double]]; let prompt_tokens: Int }

    static func cosine(_ a: [Float], _ b: [Double]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * y; na += Double(x) * Double(x); nb += y * y }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    @Test("embeddings equal llama.cpp's (mean pooling, L2-normalized), through both APIs and in base64")
    func embeddingsMatchLlamaCpp() async throws {
        guard let state = try Self.state() else { return }
        let url = try #require(Bundle.module.url(forResource: "Golden/smollm2-embeddings", withExtension: "json"))
        let golden = try JSONDecoder().decode(EmbeddingGolden.self, from: Data(contentsOf: url))
        let app = Application(router: buildRouter(state: state))
        let texts = try String(decoding: JSONEncoder().encode(golden.texts), as: UTF8.self)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/embeddings", method: .post,
                                     body: Self.body(#"{"model": "\#(Self.modelName)", "input": \#(texts)}"#)) { response in
                #expect(response.status == .ok)
                let answer = try Self.decode(OpenAI.EmbeddingResponse.self, response.body)
                #expect(answer.data.count == golden.embeddings.count)
                #expect(answer.usage.prompt_tokens == golden.prompt_tokens, "the same tokens as llama.cpp")
                for (got, want) in zip(answer.data, golden.embeddings) {
                    guard case .floats(let v) = got.embedding else { Issue.record("not floats"); continue }
                    #expect(v.count == want.count)
                    let c = Self.cosine(v, want)
                    #expect(c > 0.999, "cosine similarity with llama.cpp \(c)")
                    #expect(abs(v.reduce(0) { $0 + Double($1) * Double($1) } - 1) < 1e-4, "unit length")
                }
                // Different texts are told apart: each is closest to its own reference.
                for (i, got) in answer.data.enumerated() {
                    guard case .floats(let v) = got.embedding else { continue }
                    let best = golden.embeddings.indices.max { Self.cosine(v, golden.embeddings[$0]) < Self.cosine(v, golden.embeddings[$1]) }
                    #expect(best == i)
                }
            }
            try await client.execute(uri: "/v1/embeddings", method: .post,
                                     body: Self.body(#"{"model": "\#(Self.modelName)", "input": "hello", "encoding_format": "base64"}"#)) { response in
                let answer = try Self.decode(OpenAI.EmbeddingResponse.self, response.body)
                guard case .base64(let text) = answer.data[0].embedding, let data = Data(base64Encoded: text) else {
                    Issue.record("not base64"); return
                }
                let bytes = [UInt8](data)
                var floats: [Float] = []
                for i in stride(from: 0, to: bytes.count, by: 4) {
                    var bits = UInt32(bytes[i])
                    bits |= UInt32(bytes[i + 1]) << 8
                    bits |= UInt32(bytes[i + 2]) << 16
                    bits |= UInt32(bytes[i + 3]) << 24
                    floats.append(Float(bitPattern: bits))
                }
                #expect(Self.cosine(floats, golden.embeddings[2]) > 0.999)
            }
            try await client.execute(uri: "/api/embed", method: .post,
                                     body: Self.body(#"{"model": "\#(Self.modelName)", "input": \#(texts)}"#)) { response in
                let answer = try Self.decode(Ollama.EmbedResponse.self, response.body)
                #expect(answer.embeddings.count == 3)
                for (v, want) in zip(answer.embeddings, golden.embeddings) { #expect(Self.cosine(v, want) > 0.999) }
            }
        }
    }

    @Test("json_object through the API gives a JSON object, as the engine constrained alone does")
    func jsonObjectMatchesEngine() async throws {
        guard let state = try Self.state() else { return }
        let model = try state.registryForTests().loadedModels[0].model
        let session = try model.makeSession(contextSize: 512)
        let tokens = model.tokenize(try model.renderChat([.user("A person as JSON.")]))
        let expected = try model.generate(in: session, promptTokens: tokens, options: GenerationOptions(
            maxTokens: 100, json: .object(properties: [], additionalProperties: true))).text
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            let request = #"{"model": "\#(Self.modelName)", "temperature": 0, "max_tokens": 100, "response_format": {"type": "json_object"}, "messages": [{"role": "user", "content": "A person as JSON."}]}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.body(request)) { response in
                let answer = try Self.decode(OpenAI.ChatResponse.self, response.body)
                let content = try #require(answer.choices[0].message.content)
                #expect(content == expected)
                #expect(answer.choices[0].finish_reason == "stop")
                let parsed = try JSONSerialization.jsonObject(with: Data(content.utf8))
                #expect(parsed is [String: Any], "a JSON object: \(content)")
            }
        }
    }

    @Test("a required tool call comes back as tool_calls whose arguments follow the parameters; the result goes back in")
    func toolCall() async throws {
        guard let state = try Self.state() else { return }
        let app = Application(router: buildRouter(state: state))
        let tools = #"[{"type": "function", "function": {"name": "get_weather", "description": "Current weather of a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}, {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}]"#
        try await app.test(.router) { client in
            let request = #"{"model": "\#(Self.modelName)", "temperature": 0, "max_tokens": 60, "tools": \#(tools), "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "messages": [{"role": "user", "content": "What is the weather in Paris?"}]}"#
            var callID = "", arguments = ""
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.body(request)) { response in
                #expect(response.status == .ok)
                let answer = try Self.decode(OpenAI.ChatResponse.self, response.body)
                #expect(answer.choices[0].finish_reason == "tool_calls")
                let call = try #require(answer.choices[0].message.tool_calls?.first)
                #expect(call.function.name == "get_weather" && call.type == "function")
                arguments = try #require(call.function.arguments)
                let parsed = try #require(try JSONSerialization.jsonObject(with: Data(arguments.utf8)) as? [String: Any])
                #expect(parsed["city"] is String, "city is a string: \(arguments)")
                if let unit = parsed["unit"] { #expect(["celsius", "fahrenheit"].contains(unit as? String ?? ""), "unit from the enum") }
                #expect(Set(parsed.keys).isSubset(of: ["city", "unit"]))
                callID = call.id ?? ""
            }
            // The call and its result go back into the conversation, through the template.
            let escaped = String(decoding: try JSONEncoder().encode(arguments), as: UTF8.self)
            let followUp = #"{"model": "\#(Self.modelName)", "temperature": 0, "max_tokens": 20, "tools": \#(tools), "messages": [{"role": "user", "content": "What is the weather in Paris?"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "\#(callID)", "type": "function", "function": {"name": "get_weather", "arguments": \#(escaped)}}]}, {"role": "tool", "tool_call_id": "\#(callID)", "content": "18 degrees and sunny"}]}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.body(followUp)) { response in
                #expect(response.status == .ok)
                let answer = try Self.decode(OpenAI.ChatResponse.self, response.body)
                #expect(answer.usage.completion_tokens > 0)
            }
            let bad = #"{"model": "\#(Self.modelName)", "tools": \#(tools), "tool_choice": {"type": "function", "function": {"name": "nope"}}, "messages": [{"role": "user", "content": "Hi"}]}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.body(bad)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("nope"))
            }
        }
    }

    @Test("Ollama chat with tools: Qwen's template lists them and its call comes back in message.tool_calls")
    func ollamaToolCall() async throws {
        guard let path = try TestPaths.model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") else { return }
        var configuration = ServerConfiguration()
        configuration.contextSize = 512
        let state = ServerState(configuration: configuration)
        state.finishLoading(Result { () throws(ServerError) in try ModelRegistry(paths: [path]) })
        let app = Application(router: buildRouter(state: state))
        let request = #"{"model": "qwen2.5-coder-0.5b-instruct-q4_k_m", "stream": false, "options": {"temperature": 0, "num_predict": 60}, "messages": [{"role": "user", "content": "What is the weather in Paris?"}], "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather of a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]}"#
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/chat", method: .post, body: Self.body(request)) { response in
                #expect(response.status == .ok)
                let answer = try Self.decode(Ollama.ChatResponse.self, response.body)
                let call = try #require(answer.message.tool_calls?.first, "no call in \(answer.message)")
                #expect(call.function.name == "get_weather")
                guard case .object(let arguments) = call.function.arguments else { Issue.record("arguments are not an object"); return }
                #expect(arguments["city"]?.string?.contains("Paris") == true)
            }
        }
    }

    @Test("errors have the API's shape and status, and name what is wrong")
    func errors() async throws {
        guard let state = try Self.state() else { return }
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            func check(_ uri: String, _ body: String, _ status: HTTPResponse.Status, contains words: [String]) async throws {
                try await client.execute(uri: uri, method: .post, body: Self.body(body)) { response in
                    #expect(response.status == status, "\(uri) \(body.prefix(60))")
                    let message: String
                    if uri.hasPrefix("/api/") {
                        message = try Self.decode(Ollama.ErrorResponse.self, response.body).error
                    } else {
                        message = try Self.decode(OpenAI.ErrorResponse.self, response.body).error.message
                    }
                    for w in words { #expect(message.contains(w), "'\(message)' lacks '\(w)'") }
                }
            }
            try await check("/v1/chat/completions", #"{"model": "x", "messages": ["#, .badRequest, contains: ["not valid JSON"])
            try await check("/v1/chat/completions", #"{"model": "nope", "messages": [{"role": "user", "content": "Hi"}]}"#, .notFound, contains: ["nope", Self.modelName])
            try await check("/api/chat", #"{"model": "nope", "messages": [{"role": "user", "content": "Hi"}]}"#, .notFound, contains: ["nope"])
            try await check("/v1/chat/completions", #"{"model": "\#(Self.modelName)", "max_tokens": 600, "messages": [{"role": "user", "content": "Hi"}]}"#,
                            .badRequest, contains: ["600", "512"])
            let long = String(repeating: "word ", count: 600)
            let longTokens = try state.registryForTests().loadedModels[0].model.tokenize(long).count
            try await check("/v1/completions", #"{"model": "\#(Self.modelName)", "prompt": "\#(long)"}"#,
                            .badRequest, contains: ["\(longTokens) tokens", "512"])
            try await check("/v1/chat/completions", #"{"model": "\#(Self.modelName)"}"#, .badRequest, contains: ["messages"])
            try await check("/v1/completions", #"{"model": "\#(Self.modelName)", "prompt": [1, 2, 9999999]}"#, .badRequest, contains: ["9999999"])
            try await check("/v1/chat/completions", #"{"model": "\#(Self.modelName)", "messages": [{"role": "user", "content": "Hi"}], "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array", "minItems": 2}}}}"#,
                            .badRequest, contains: ["minItems", "not support"])
            try await check("/v1/chat/completions", #"{"model": "\#(Self.modelName)", "messages": [{"role": "user", "content": "Hi"}], "response_format": {"type": "xml"}}"#,
                            .badRequest, contains: ["xml"])
            try await check("/api/generate", #"{"model": "\#(Self.modelName)", "prompt": "Hi", "format": "yaml"}"#, .badRequest, contains: ["format"])
            try await check("/v1/chat/completions", #"{"model": "\#(Self.modelName)", "messages": [{"role": "user", "content": "Hi"}], "tools": [{"type": "function"}]}"#,
                            .badRequest, contains: ["tools[0]"])
        }
    }

    @Test("an oversized body is 413; a missing or wrong key is 401; a busy server is 503 with Retry-After")
    func limitsKeysAndQueue() async throws {
        guard let state = try Self.state({ $0.maxBodyBytes = 1000; $0.apiKeys = ["secret"]; $0.queueLimit = 0 }) else { return }
        let app = Application(router: buildRouter(state: state))
        let chat = #"{"model": "\#(Self.modelName)", "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}"#
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: Self.body(chat)) { response in
                #expect(response.status == .unauthorized)
                let error = try Self.decode(OpenAI.ErrorResponse.self, response.body)
                #expect(error.error.type == "authentication_error")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [.authorization: "Bearer wrong"], body: Self.body(chat)) { response in
                #expect(response.status == .unauthorized)
            }
            let auth: HTTPFields = [.authorization: "Bearer secret"]
            try await client.execute(uri: "/v1/completions", method: .post, headers: auth,
                                     body: Self.body(#"{"prompt": "\#(String(repeating: "x", count: 2000))"}"#)) { response in
                #expect(response.status == .contentTooLarge)
            }
            try await client.execute(uri: "/health", method: .get) { response in #expect(response.status == .ok) }
            // Hold the only slot with a long job; with no queue the next request is turned away.
            let served = try state.registryForTests().loadedModels[0]
            let hold = try state.scheduler.submit(model: served, promptTokens: served.model.tokenize("Count:"),
                                                  options: GenerationOptions(maxTokens: 400, ignoreEndOfGeneration: true))
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: auth, body: Self.body(chat)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[HTTPField.Name("Retry-After")!] == "1")
            }
            hold.cancel()
            for await _ in hold.events {}
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: auth, body: Self.body(chat)) { response in
                #expect(response.status == .ok, "the slot is free again once the cancelled job has stopped")
            }
        }
    }

    @Test("/health is 503 while the models load; other routes say so too")
    func loading() async throws {
        let state = ServerState(configuration: ServerConfiguration())
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("loading"))
            }
            try await client.execute(uri: "/api/tags", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[HTTPField.Name("Retry-After")!] != nil)
            }
        }
    }

    @Test("fairness: a short request finishes while a long prompt is still being read")
    func shortRequestIsNotHeldBack() async throws {
        guard let state = try Self.state({ $0.parallel = 2 }) else { return }
        let served = try state.registryForTests().loadedModels[0]
        let longPrompt = served.model.tokenize(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40))
        #expect(longPrompt.count > 4 * 64, "a prompt of several chunks")
        let options = GenerationOptions(maxTokens: 4, ignoreEndOfGeneration: true)
        let long = try state.scheduler.submit(model: served, promptTokens: longPrompt, options: options)
        let short = try state.scheduler.submit(model: served, promptTokens: served.model.tokenize("Hi"), options: options)
        final class Order: Sendable {
            let events = Mutex<[String]>([])
            func add(_ e: String) { events.withLock { $0.append(e) } }
        }
        let order = Order()
        await withTaskGroup(of: Void.self) { group in
            for (name, handle) in [("long", long), ("short", short)] {
                group.addTask {
                    for await event in handle.events {
                        if case .finished = event { order.add(name + " finished") }
                        if case .text = event { order.add(name + " text") }
                    }
                }
            }
        }
        let events = order.events.withLock { $0 }
        let shortDone = try #require(events.firstIndex(of: "short finished"))
        let longFirst = try #require(events.firstIndex(of: "long text"))
        #expect(shortDone < longFirst, "the short request ends before the long one's first text: \(events)")
    }

    @Test("models load on demand, the least recently used idle one is unloaded past --max-models, keep_alive 0 unloads")
    func modelLifecycle() async throws {
        guard let path = try TestPaths.model(Self.modelName + ".gguf") else { return }
        let dir = try TemporaryDirectory(prefix: "hearth-serve")
        for name in ["first", "second"] {
            try FileManager.default.createSymbolicLink(atPath: dir.path + "/\(name).gguf", withDestinationPath: path)
        }
        var configuration = ServerConfiguration()
        configuration.contextSize = 256
        let state = ServerState(configuration: configuration)
        let registry = try ModelRegistry(paths: [dir.path], maxLoaded: 1)
        state.finishLoading(.success(registry))
        let app = Application(router: buildRouter(state: state))
        @Sendable func loaded(_ client: some TestClientProtocol) async throws -> [String] {
            try await client.execute(uri: "/api/ps", method: .get) { response in
                try Self.decode(Ollama.ModelList.self, response.body).models.map(\.name)
            }
        }
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/tags", method: .get) { response in
                let names = try Self.decode(Ollama.ModelList.self, response.body).models.map(\.name)
                #expect(names == ["first", "second"], "every file is listed, loaded or not")
            }
            let atStart = try await loaded(client)
            #expect(atStart == [], "nothing is loaded before a request asks")
            let ask = { (model: String, keepAlive: String) in
                #"{"model": "\#(model)", "prompt": "Hi", "stream": false, "keep_alive": \#(keepAlive), "options": {"num_predict": 2}}"#
            }
            try await client.execute(uri: "/api/generate", method: .post, body: Self.body(ask("first", "\"5m\""))) { response in
                #expect(response.status == .ok)
            }
            let afterFirst = try await loaded(client)
            #expect(afterFirst == ["first"])
            try await client.execute(uri: "/api/generate", method: .post, body: Self.body(ask("second", "-1"))) { response in
                #expect(response.status == .ok)
            }
            let afterSecond = try await loaded(client)
            #expect(afterSecond == ["second"], "one model at most: the idle one went")
            try await client.execute(uri: "/api/generate", method: .post, body: Self.body(ask("second", "0"))) { response in
                #expect(response.status == .ok)
            }
            var remaining = try await loaded(client)
            for _ in 0..<40 where !remaining.isEmpty {
                try await Task.sleep(for: .milliseconds(100))
                remaining = try await loaded(client)
            }
            #expect(remaining.isEmpty, "keep_alive 0 unloads the model once it is idle")
            try await client.execute(uri: "/api/generate", method: .post, body: Self.body(ask("second", "\"1h\""))) { response in
                #expect(response.status == .ok, "an unloaded model loads again")
            }
            try await client.execute(uri: "/api/generate", method: .post, body: Self.body(ask("second", "\"soon\""))) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test("the memory budget counts each model's KV caches beside its file")
    func memoryBudgetCountsKV() async throws {
        guard let path = try TestPaths.model(Self.modelName + ".gguf") else { return }
        let dir = try TemporaryDirectory(prefix: "hearth-serve")
        for name in ["first", "second"] {
            try FileManager.default.createSymbolicLink(atPath: dir.path + "/\(name).gguf", withDestinationPath: path)
        }
        let file = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        // The oracle for the KV size: the session's own cache, made here.
        let kv = try Model(path: path).makeSession(contextSize: 1024).cache.byteCount
        // Two files fit the budget; two files with four 1024-token caches each do not.
        let budget = 2 * file + 4 * kv
        let registry = try ModelRegistry(paths: [dir.path], maxLoaded: 5, memoryBudget: budget, sessionsPerModel: 4, contextSize: 1024)
        let first = try await registry.model(named: "first")
        #expect(first.memoryBytes == file + 4 * kv)
        _ = try await registry.model(named: "second")
        #expect(registry.loadedModels.map(\.name) == ["second"], "the second model's caches push the idle first one out")
        let roomy = try ModelRegistry(paths: [dir.path], maxLoaded: 5, memoryBudget: 2 * (file + 4 * kv), sessionsPerModel: 4, contextSize: 1024)
        _ = try await roomy.model(named: "first")
        _ = try await roomy.model(named: "second")
        #expect(roomy.loadedModels.map(\.name) == ["first", "second"])
    }

    @Test("a cancelled job stops within a token and frees its slot")
    func cancellation() async throws {
        guard let state = try Self.state({ $0.queueLimit = 4 }) else { return }
        let served = try state.registryForTests().loadedModels[0]
        let job = try state.scheduler.submit(model: served, promptTokens: served.model.tokenize("Once upon a time"),
                                             options: GenerationOptions(maxTokens: 300, ignoreEndOfGeneration: true))
        var pieces = 0
        var summary: GenerationJob.Summary?
        for await event in job.events {
            switch event {
            case .text: pieces += 1; if pieces == 3 { job.cancel() }
            case .finished(let s): summary = s
            default: break
            }
        }
        let s = try #require(summary)
        #expect(s.stopReason == .cancelled)
        #expect(s.generatedTokens < 10, "stopped soon after the cancel, not after 300 tokens")
        #expect(state.scheduler.runningCount == 0)
    }
}

extension ServerState {
    /// The loaded models, for tests that set them with `finishLoading`.
    func registryForTests() throws -> ModelRegistry { try registry() }
}
