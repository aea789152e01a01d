/// Request and response bodies of the OpenAI API (`/v1/...`), as its reference documents them.
/// Field names are the wire names (snake_case), so the types encode and decode as they are.
public enum OpenAI {}

// MARK: chat completions

extension OpenAI {
    public struct ChatRequest: Codable, Sendable {
        public var model: String
        public var messages: [Message]
        public var max_tokens: Int?
        public var max_completion_tokens: Int?
        public var temperature: Double?
        public var top_p: Double?
        public var seed: Int?
        public var stop: OneOrMany?
        public var n: Int?
        public var stream: Bool?
        public var stream_options: StreamOptions?
        public var logprobs: Bool?
        public var top_logprobs: Int?
        public var presence_penalty: Double?
        public var frequency_penalty: Double?
        public var response_format: ResponseFormat?
        public var tools: [JSONValue]?
        public var tool_choice: JSONValue?

        public init(model: String, messages: [Message]) { self.model = model; self.messages = messages }
    }

    public struct Message: Codable, Sendable {
        public var role: String
        /// A string, a list of content parts, or null (an assistant turn that only calls tools).
        public var content: Content?
        public var name: String?
        public var tool_call_id: String?
        /// An assistant turn's calls (in the conversation so far).
        public var tool_calls: [ToolCall]?

        public init(role: String, content: String) { self.role = role; self.content = .text(content) }
    }

    /// Message content: a string or a list of parts, of which the text parts are used.
    public enum Content: Codable, Sendable {
        case text(String)
        case parts([Part])

        public struct Part: Codable, Sendable {
            public var type: String
            public var text: String?
        }

        /// The text of the content; nil when a part is not text (images are not supported).
        public var text: String? {
            switch self {
            case .text(let s): return s
            case .parts(let parts):
                guard parts.allSatisfy({ $0.type == "text" }) else { return nil }
                return parts.compactMap(\.text).joined()
            }
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .text(s); return }
            guard let parts = try? c.decode([Part].self) else {
                throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath,
                    debugDescription: "expected a string or a list of content parts"))
            }
            self = .parts(parts)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .text(let s): try c.encode(s)
            case .parts(let p): try c.encode(p)
            }
        }
    }

    public struct StreamOptions: Codable, Sendable {
        public var include_usage: Bool?
    }

    public struct ResponseFormat: Codable, Sendable {
        public var type: String
        public var json_schema: JSONValue?
    }

    public struct ChatResponse: Codable, Sendable {
        public var id: String
        public var object = "chat.completion"
        public var created: Int
        public var model: String
        public var system_fingerprint: String?
        public var choices: [ChatChoice]
        public var usage: Usage

        public init(id: String, created: Int, model: String, choices: [ChatChoice], usage: Usage) {
            self.id = id; self.created = created; self.model = model; self.choices = choices; self.usage = usage
        }
    }

    public struct ChatChoice: Codable, Sendable {
        public var index: Int
        public var message: AssistantMessage
        public var logprobs: ChoiceLogprobs?
        public var finish_reason: String

        public init(index: Int, message: AssistantMessage, logprobs: ChoiceLogprobs?, finish_reason: String) {
            self.index = index; self.message = message; self.logprobs = logprobs; self.finish_reason = finish_reason
        }
    }

    public struct AssistantMessage: Codable, Sendable {
        public var role = "assistant"
        public var content: String?
        public var tool_calls: [ToolCall]?
        public init(content: String?, tool_calls: [ToolCall]? = nil) { self.content = content; self.tool_calls = tool_calls }
    }

    /// `{"id": ..., "type": "function", "function": {"name": ..., "arguments": "<JSON text>"}}`;
    /// in a stream delta it also carries its `index`.
    public struct ToolCall: Codable, Sendable {
        public var index: Int?
        public var id: String?
        public var type: String?
        public var function: Function

        public struct Function: Codable, Sendable {
            public var name: String?
            public var arguments: String?
            public init(name: String, arguments: String) { self.name = name; self.arguments = arguments }
        }

        public init(index: Int? = nil, id: String, name: String, arguments: String) {
            self.index = index; self.id = id; type = "function"; function = Function(name: name, arguments: arguments)
        }
    }

    public struct ChatChunk: Codable, Sendable {
        public var id: String
        public var object = "chat.completion.chunk"
        public var created: Int
        public var model: String
        public var system_fingerprint: String?
        public var choices: [ChunkChoice]
        /// Present (null) on every chunk when usage was asked for; set on the last one only.
        public var usage: Usage?

        public init(id: String, created: Int, model: String, choices: [ChunkChoice], usage: Usage? = nil) {
            self.id = id; self.created = created; self.model = model; self.choices = choices; self.usage = usage
        }
    }

    public struct ChunkChoice: Codable, Sendable {
        public var index: Int
        public var delta: Delta
        public var logprobs: ChoiceLogprobs?
        public var finish_reason: String?

        public init(index: Int, delta: Delta, logprobs: ChoiceLogprobs? = nil, finish_reason: String? = nil) {
            self.index = index; self.delta = delta; self.logprobs = logprobs; self.finish_reason = finish_reason
        }
    }

    public struct Delta: Codable, Sendable {
        public var role: String?
        public var content: String?
        public var tool_calls: [ToolCall]?
        public init(role: String? = nil, content: String? = nil, tool_calls: [ToolCall]? = nil) {
            self.role = role; self.content = content; self.tool_calls = tool_calls
        }
    }

    /// Chat log-probabilities: one entry per generated token.
    public struct ChoiceLogprobs: Codable, Sendable {
        public var content: [TokenLogprob]
        public init(content: [TokenLogprob]) { self.content = content }
    }

    public struct TokenLogprob: Codable, Sendable {
        public var token: String
        public var logprob: Double
        public var bytes: [UInt8]?
        public var top_logprobs: [TopLogprob]

        public init(token: String, logprob: Double, bytes: [UInt8]?, top_logprobs: [TopLogprob]) {
            self.token = token; self.logprob = logprob; self.bytes = bytes; self.top_logprobs = top_logprobs
        }
    }

    public struct TopLogprob: Codable, Sendable {
        public var token: String
        public var logprob: Double
        public var bytes: [UInt8]?
        public init(token: String, logprob: Double, bytes: [UInt8]?) { self.token = token; self.logprob = logprob; self.bytes = bytes }
    }

    public struct Usage: Codable, Sendable {
        public var prompt_tokens: Int
        public var completion_tokens: Int
        public var total_tokens: Int
        public init(prompt: Int, completion: Int) {
            prompt_tokens = prompt; completion_tokens = completion; total_tokens = prompt + completion
        }
    }
}

// MARK: completions

extension OpenAI {
    public struct CompletionRequest: Codable, Sendable {
        public var model: String
        public var prompt: Prompt
        /// OpenAI's default is 16.
        public var max_tokens: Int?
        public var temperature: Double?
        public var top_p: Double?
        public var seed: Int?
        public var stop: OneOrMany?
        public var n: Int?
        public var stream: Bool?
        public var stream_options: StreamOptions?
        /// Return the prompt before the completion, with its log-probabilities when `logprobs` is set.
        public var echo: Bool?
        /// How many most likely tokens to list at each position (0 to 5); the chosen token's
        /// log-probability is given whenever this is set.
        public var logprobs: Int?
        public var presence_penalty: Double?
        public var frequency_penalty: Double?
    }

    /// A completions prompt: a string, a batch of strings, token ids, or a batch of token id
    /// lists (lm-evaluation-harness sends ids). Each prompt of a batch is one choice.
    public enum Prompt: Codable, Sendable {
        case text(String)
        case texts([String])
        case tokens([Int])
        case tokenLists([[Int]])

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .text(s) }
            else if let s = try? c.decode([String].self) { self = .texts(s) }
            else if let t = try? c.decode([Int].self) { self = .tokens(t) }
            else if let t = try? c.decode([[Int]].self) { self = .tokenLists(t) }
            else {
                throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath,
                    debugDescription: "expected a string, an array of strings, an array of token ids or an array of arrays of token ids"))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .text(let s): try c.encode(s)
            case .texts(let s): try c.encode(s)
            case .tokens(let t): try c.encode(t)
            case .tokenLists(let t): try c.encode(t)
            }
        }
    }

    public struct CompletionResponse: Codable, Sendable {
        public var id: String
        public var object = "text_completion"
        public var created: Int
        public var model: String
        public var choices: [CompletionChoice]
        public var usage: Usage?

        public init(id: String, created: Int, model: String, choices: [CompletionChoice], usage: Usage?) {
            self.id = id; self.created = created; self.model = model; self.choices = choices; self.usage = usage
        }
    }

    public struct CompletionChoice: Codable, Sendable {
        public var text: String
        public var index: Int
        public var logprobs: CompletionLogprobs?
        public var finish_reason: String?

        public init(text: String, index: Int, logprobs: CompletionLogprobs?, finish_reason: String?) {
            self.text = text; self.index = index; self.logprobs = logprobs; self.finish_reason = finish_reason
        }
    }

    /// The legacy completions log-probability shape: parallel arrays, one entry per token.
    /// The first prompt token has no log-probability (nothing predicts it): null, as in OpenAI's.
    public struct CompletionLogprobs: Codable, Sendable {
        public var tokens: [String]
        public var token_logprobs: [Double?]
        public var top_logprobs: [[String: Double]?]
        public var text_offset: [Int]

        public init(tokens: [String] = [], token_logprobs: [Double?] = [], top_logprobs: [[String: Double]?] = [], text_offset: [Int] = []) {
            self.tokens = tokens; self.token_logprobs = token_logprobs; self.top_logprobs = top_logprobs; self.text_offset = text_offset
        }
    }
}

// MARK: embeddings

extension OpenAI {
    public struct EmbeddingRequest: Codable, Sendable {
        public var model: String
        /// Text, texts, token ids or lists of token ids: one embedding each.
        public var input: Prompt
        /// `float` (the default) or `base64` (little-endian float32s), which the official
        /// Python client asks for.
        public var encoding_format: String?
        public var dimensions: Int?
    }

    public struct EmbeddingResponse: Codable, Sendable {
        public var object = "list"
        public var data: [Embedding]
        public var model: String
        public var usage: EmbeddingUsage
        public init(data: [Embedding], model: String, usage: EmbeddingUsage) { self.data = data; self.model = model; self.usage = usage }
    }

    public struct Embedding: Codable, Sendable {
        public var object = "embedding"
        public var index: Int
        public var embedding: Vector
        public init(index: Int, embedding: Vector) { self.index = index; self.embedding = embedding }
    }

    /// An embedding as a list of numbers or as base64 text.
    public enum Vector: Codable, Sendable {
        case floats([Float])
        case base64(String)

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .base64(s) } else { self = .floats(try c.decode([Float].self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .floats(let v): try c.encode(v)
            case .base64(let s): try c.encode(s)
            }
        }
    }

    public struct EmbeddingUsage: Codable, Sendable {
        public var prompt_tokens: Int
        public var total_tokens: Int
        public init(prompt_tokens: Int) { self.prompt_tokens = prompt_tokens; total_tokens = prompt_tokens }
    }
}

// MARK: models and errors

extension OpenAI {
    public struct ModelList: Codable, Sendable {
        public var object = "list"
        public var data: [ModelInfo]
        public init(data: [ModelInfo]) { self.data = data }
    }

    public struct ModelInfo: Codable, Sendable {
        public var id: String
        public var object = "model"
        public var created: Int
        public var owned_by: String
        public init(id: String, created: Int, owned_by: String) { self.id = id; self.created = created; self.owned_by = owned_by }
    }

    /// `{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}`
    public struct ErrorResponse: Codable, Sendable {
        public struct Body: Codable, Sendable {
            public var message: String
            public var type: String
            public var param: String?
            public var code: String?
        }
        public var error: Body
        public init(message: String, type: String, param: String? = nil, code: String? = nil) {
            error = Body(message: message, type: type, param: param, code: code)
        }
    }
}
