/// Request and response bodies of Ollama's API (`/api/...`), as its docs/api.md gives them.
public enum Ollama {}

extension Ollama {
    /// The `options` bag: the model parameters Hearth honours. Others are accepted and ignored,
    /// as Ollama ignores options a runner does not know.
    public struct Options: Codable, Sendable {
        public var temperature: Double?
        public var top_p: Double?
        public var top_k: Int?
        public var min_p: Double?
        public var seed: Int?
        public var num_predict: Int?
        public var num_ctx: Int?
        public var stop: [String]?
        public var repeat_penalty: Double?
        public var repeat_last_n: Int?
        public var presence_penalty: Double?
        public var frequency_penalty: Double?
        public init() {}
    }

    public struct GenerateRequest: Codable, Sendable {
        public var model: String
        public var prompt: String?
        public var suffix: String?
        public var system: String?
        /// Do not apply the chat template: the prompt goes to the model as it is.
        public var raw: Bool?
        public var stream: Bool?
        public var format: JSONValue?
        public var options: Options?
        public var keep_alive: JSONValue?
    }

    public struct ChatRequest: Codable, Sendable {
        public var model: String
        public var messages: [Message]?
        public var stream: Bool?
        public var format: JSONValue?
        public var options: Options?
        public var tools: [JSONValue]?
        public var keep_alive: JSONValue?
    }

    public struct Message: Codable, Sendable {
        public var role: String
        public var content: String
        public var tool_calls: [ToolCall]?
        /// A tool result's tool.
        public var tool_name: String?
        public init(role: String, content: String, tool_calls: [ToolCall]? = nil) {
            self.role = role; self.content = content; self.tool_calls = tool_calls
        }
    }

    /// `{"function": {"name": ..., "arguments": {...}}}`: arguments as an object, not a string.
    public struct ToolCall: Codable, Sendable {
        public struct Function: Codable, Sendable {
            public var name: String
            public var arguments: JSONValue
        }
        public var function: Function
        public init(name: String, arguments: JSONValue) { function = Function(name: name, arguments: arguments) }
    }

    /// One line of a `/api/generate` stream, or the whole answer when not streaming. The last
    /// one has `done: true` and the counts and durations (nanoseconds).
    public struct GenerateResponse: Codable, Sendable {
        public var model: String
        public var created_at: String
        public var response: String
        public var done: Bool
        public var done_reason: String?
        public var total_duration: Int?
        public var load_duration: Int?
        public var prompt_eval_count: Int?
        public var prompt_eval_duration: Int?
        public var eval_count: Int?
        public var eval_duration: Int?

        public init(model: String, created_at: String, response: String, done: Bool) {
            self.model = model; self.created_at = created_at; self.response = response; self.done = done
        }
    }

    public struct ChatResponse: Codable, Sendable {
        public var model: String
        public var created_at: String
        public var message: Message
        public var done: Bool
        public var done_reason: String?
        public var total_duration: Int?
        public var load_duration: Int?
        public var prompt_eval_count: Int?
        public var prompt_eval_duration: Int?
        public var eval_count: Int?
        public var eval_duration: Int?

        public init(model: String, created_at: String, message: Message, done: Bool) {
            self.model = model; self.created_at = created_at; self.message = message; self.done = done
        }
    }

    public struct Details: Codable, Sendable {
        public var parent_model = ""
        public var format = "gguf"
        public var family: String
        public var families: [String]
        public var parameter_size: String
        public var quantization_level: String
        public init(family: String, parameter_size: String, quantization_level: String) {
            self.family = family; families = [family]; self.parameter_size = parameter_size; self.quantization_level = quantization_level
        }
    }

    public struct ModelEntry: Codable, Sendable {
        public var name: String
        public var model: String
        public var modified_at: String
        public var size: Int
        public var digest: String
        public var details: Details
        /// `/api/ps` only.
        public var expires_at: String?
        public var size_vram: Int?

        public init(name: String, modified_at: String, size: Int, digest: String, details: Details) {
            self.name = name; model = name; self.modified_at = modified_at; self.size = size; self.digest = digest; self.details = details
        }
    }

    public struct ModelList: Codable, Sendable {
        public var models: [ModelEntry]
        public init(models: [ModelEntry]) { self.models = models }
    }

    /// `/api/copy`.
    public struct CopyRequest: Codable, Sendable {
        public var source: String
        public var destination: String
    }

    /// `/api/delete`.
    public struct DeleteRequest: Codable, Sendable {
        public var model: String?
        /// The older spelling of `model`.
        public var name: String?
    }

    /// `/api/create`: a model made from a stored one (`from`) with what the fields add, or from
    /// a Modelfile's text (the older form).
    public struct CreateRequest: Codable, Sendable {
        public var model: String?
        public var name: String?
        public var from: String?
        public var modelfile: String?
        public var system: String?
        public var template: String?
        public var license: OneOrMany?
        public var parameters: [String: JSONValue]?
        public var messages: [Message]?
        public var stream: Bool?
        /// Not supported: uploaded blobs, quantizing and adapters are refused by name.
        public var files: JSONValue?
        public var adapters: JSONValue?
        public var quantize: String?
    }

    /// A line of a streamed `/api/create`, `/api/pull` or `/api/push` answer.
    public struct StatusResponse: Codable, Sendable {
        public var status: String
        public var total: Int?
        public var completed: Int?
        public init(status: String, total: Int? = nil, completed: Int? = nil) {
            self.status = status; self.total = total; self.completed = completed
        }
    }

    /// `/api/pull` and `/api/push`: `model` is `HOST[:PORT]/NAMESPACE/MODEL[:TAG]`.
    public struct TransferRequest: Codable, Sendable {
        public var model: String?
        /// The older spelling of `model`.
        public var name: String?
        public var insecure: Bool?
        public var stream: Bool?
    }

    public struct ShowRequest: Codable, Sendable {
        public var model: String?
        /// The older spelling of `model`.
        public var name: String?
    }

    public struct ShowResponse: Codable, Sendable {
        public var license: String?
        public var modelfile: String
        public var parameters: String
        public var template: String
        public var system: String?
        public var details: Details
        public var model_info: [String: JSONValue]
        public var capabilities: [String]
        public var modified_at: String

        public init(license: String?, modelfile: String, parameters: String, template: String, details: Details,
                    model_info: [String: JSONValue], capabilities: [String], modified_at: String) {
            self.license = license; self.modelfile = modelfile; self.parameters = parameters; self.template = template
            self.details = details; self.model_info = model_info; self.capabilities = capabilities; self.modified_at = modified_at
        }
    }

    public struct EmbedRequest: Codable, Sendable {
        public var model: String
        public var input: OneOrMany
        /// Ollama cuts inputs longer than the context by default; Hearth refuses them instead
        /// (a 400), so `truncate: true` is not honoured.
        public var truncate: Bool?
        public var options: Options?
        public var keep_alive: JSONValue?
    }

    public struct EmbedResponse: Codable, Sendable {
        public var model: String
        public var embeddings: [[Float]]
        public var total_duration: Int
        public var load_duration: Int
        public var prompt_eval_count: Int
        public init(model: String, embeddings: [[Float]], total_duration: Int, prompt_eval_count: Int) {
            self.model = model; self.embeddings = embeddings; self.total_duration = total_duration
            load_duration = 0; self.prompt_eval_count = prompt_eval_count
        }
    }

    public struct Version: Codable, Sendable {
        public var version: String
        public init(version: String) { self.version = version }
    }

    /// `{"error": "..."}`
    public struct ErrorResponse: Codable, Sendable {
        public var error: String
        public init(error: String) { self.error = error }
    }
}
