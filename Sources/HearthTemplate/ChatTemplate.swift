import Foundation

/// A compiled chat template: the Jinja subset that Hugging Face chat templates use, rendered
/// byte for byte as Python's jinja2 renders it in `transformers.apply_chat_template`.
///
/// ```swift
/// let template = try ChatTemplate(ggufChatTemplateString)
/// let prompt = try template.render(messages: [.system("Be brief."), .user("Hi!")],
///                                  addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
/// ```
///
/// Compiling checks the whole template; rendering never traps, whatever the context: every
/// failure is a ``TemplateError``. A `ChatTemplate` is immutable and can be shared across threads.
public struct ChatTemplate: Sendable {
    /// How `tojson` prints.
    public enum JSONFilter: Sendable {
        /// transformers' replacement: `json.dumps(x, ensure_ascii=False)` with insertion order,
        /// no HTML escaping; accepts `indent`, `ensure_ascii`, `separators`, `sort_keys`.
        case huggingFace
        /// jinja2's own filter: keys sorted, non-ASCII and `< > & '` escaped; accepts `indent`.
        case jinja2
    }

    /// Bounds that keep hostile templates and contexts from exhausting the stack, memory or time.
    public struct Limits: Sendable {
        /// Nesting of blocks, expressions and macro calls (while parsing and while rendering).
        /// At most ``maxAllowedDepth``: deeper would not fit the engine's own thread stack.
        public var maxDepth: Int {
            get { depth }
            set { depth = max(1, min(newValue, Limits.maxAllowedDepth)) }
        }
        private var depth = 128
        /// The largest accepted ``maxDepth``.
        public static let maxAllowedDepth = 512
        /// Loop iterations in one render, all loops together.
        public var maxIterations: Int
        /// UTF-8 bytes of output, and of any single string or list built while rendering.
        public var maxOutputBytes: Int

        /// Limits generous for real chat templates (the three test models need a depth of 9).
        public init(maxDepth: Int = 128, maxIterations: Int = 1_000_000, maxOutputBytes: Int = 64 << 20) {
            self.depth = max(1, min(maxDepth, Limits.maxAllowedDepth))
            self.maxIterations = maxIterations
            self.maxOutputBytes = maxOutputBytes
        }
    }

    /// The jinja2 environment settings. The defaults are the ones transformers uses for chat
    /// templates; ``jinja2Defaults`` is a plain `jinja2.Environment()`.
    public struct Options: Sendable {
        /// Remove the first newline after a block tag (`%}`) or comment.
        public var trimBlocks: Bool
        /// Remove spaces and tabs before a block tag or comment at the start of a line.
        public var lstripBlocks: Bool
        /// Keep a single trailing newline of the template source (jinja2 drops it by default).
        public var keepTrailingNewline: Bool
        /// Which `tojson` to provide.
        public var tojson: JSONFilter
        /// Safety bounds on depth, iterations and output size.
        public var limits: Limits
        /// The clock behind `strftime_now` (local time zone, like Python's `datetime.now()`).
        public var now: @Sendable () -> Date

        /// Settings with transformers' values as defaults.
        public init(trimBlocks: Bool = true, lstripBlocks: Bool = true, keepTrailingNewline: Bool = false,
                    tojson: JSONFilter = .huggingFace, limits: Limits = Limits(),
                    now: @escaping @Sendable () -> Date = { Date() })
        {
            self.trimBlocks = trimBlocks
            self.lstripBlocks = lstripBlocks
            self.keepTrailingNewline = keepTrailingNewline
            self.tojson = tojson
            self.limits = limits
            self.now = now
        }

        /// transformers' `apply_chat_template` environment (the default).
        public static var huggingFace: Options { Options() }
        /// A plain jinja2 environment: no trimming, jinja2's own `tojson`.
        public static var jinja2Defaults: Options {
            Options(trimBlocks: false, lstripBlocks: false, keepTrailingNewline: false, tojson: .jinja2)
        }
    }

    /// The template source as given.
    public let source: String
    /// The environment settings the template was compiled with and renders with.
    public let options: Options
    let body: [Stmt]

    /// Compiles `source` with transformers' settings (``Options/huggingFace``).
    public init(_ source: String) throws(TemplateError) {
        try self.init(source, options: Options())
    }

    /// Compiles `source`; syntax errors carry the line and column of the offending token.
    public init(_ source: String, options: Options) throws(TemplateError) {
        self.source = source
        self.options = options
        let settings = LexerSettings(trimBlocks: options.trimBlocks, lstripBlocks: options.lstripBlocks,
                                     keepTrailingNewline: options.keepTrailingNewline)
        let maxDepth = options.limits.maxDepth
        body = try LargeStack.run { () throws(TemplateError) in
            try Compiler.compile(source, settings: settings, maxDepth: maxDepth)
        }
    }

    /// Renders with `context` as the template's variables (for chat templates: `messages`,
    /// `add_generation_prompt`, `bos_token`, ... — or use ``render(messages:addGenerationPrompt:bosToken:eosToken:tools:extra:)``).
    public func render(_ context: [String: TemplateValue]) throws(TemplateError) -> String {
        let (options, body) = (self.options, self.body)
        return try LargeStack.run { () throws(TemplateError) in
            try Interpreter(options: options).render(body, context: context)
        }
    }
}

/// One tool call made by the assistant, in the OpenAI/transformers shape
/// `{"id": ..., "type": "function", "function": {"name": ..., "arguments": ...}}`.
public struct ToolCall: Sendable, Equatable {
    /// The call's id (`id` key), omitted when nil.
    public var id: String?
    /// The function's name.
    public var name: String
    /// Usually an object of arguments (templates print it with `tojson`); may be a JSON string.
    public var arguments: TemplateValue

    /// A call of function `name` with `arguments`.
    public init(id: String? = nil, name: String, arguments: TemplateValue) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// The call as the template sees it.
    public var templateValue: TemplateValue {
        var pairs: [(String, TemplateValue)] = []
        if let id { pairs.append(("id", .string(id))) }
        pairs.append(("type", "function"))
        pairs.append(("function", .object([("name", .string(name)), ("arguments", arguments)])))
        return .object(pairs)
    }
}

/// A chat message as transformers passes it to templates: `role`, `content`, and optionally
/// `name`, `tool_calls` and `tool_call_id`.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user`, `assistant`, `tool`, or whatever the template expects.
    public var role: String
    /// Usually a string; a list of parts (`[{"type": "text", "text": ...}]`) for multimodal
    /// templates; `.none` for an assistant turn that only calls tools; `.undefined` leaves the
    /// key out.
    public var content: TemplateValue
    /// The `name` key (e.g. the tool a result comes from), omitted when nil.
    public var name: String?
    /// The `tool_calls` key of an assistant turn, omitted when nil.
    public var toolCalls: [ToolCall]?
    /// The `tool_call_id` key of a tool result, omitted when nil.
    public var toolCallID: String?

    /// A message with any content value (a string, a list of parts, `.none`, `.undefined`).
    public init(role: String, content: TemplateValue, name: String? = nil, toolCalls: [ToolCall]? = nil,
                toolCallID: String? = nil)
    {
        self.role = role
        self.content = content
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    /// A message with text content.
    public init(role: String, content: String) {
        self.init(role: role, content: .string(content))
    }

    /// A system message.
    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: text) }
    /// A user message.
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", content: text) }
    /// An assistant message, optionally with tool calls.
    public static func assistant(_ text: String, toolCalls: [ToolCall]? = nil) -> ChatMessage {
        ChatMessage(role: "assistant", content: .string(text), toolCalls: toolCalls)
    }
    /// A tool result.
    public static func tool(_ text: String, name: String? = nil, toolCallID: String? = nil) -> ChatMessage {
        ChatMessage(role: "tool", content: .string(text), name: name, toolCallID: toolCallID)
    }

    /// The message as the template sees it.
    public var templateValue: TemplateValue {
        var pairs: [(String, TemplateValue)] = [("role", .string(role))]
        if let name { pairs.append(("name", .string(name))) }
        if let toolCallID { pairs.append(("tool_call_id", .string(toolCallID))) }
        if content != .undefined { pairs.append(("content", content)) }
        if let toolCalls { pairs.append(("tool_calls", .array(toolCalls.map(\.templateValue)))) }
        return .object(pairs)
    }
}

extension ChatTemplate {
    /// Renders a conversation the way transformers' `apply_chat_template(tokenize=False)` does:
    /// the template sees `messages`, `tools` (none unless given), `documents` (none),
    /// `add_generation_prompt`, `bos_token` and `eos_token`, plus `extra` (which wins on
    /// conflicts, e.g. `enable_thinking` or a custom `date_string`).
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                       tools: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:]) throws(TemplateError) -> String
    {
        var context: [String: TemplateValue] = [
            "messages": .array(messages.map(\.templateValue)),
            "tools": tools.map { .array($0) } ?? .none,
            "documents": .none,
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
        ]
        for (k, v) in extra { context[k] = v }
        return try render(context)
    }
}
