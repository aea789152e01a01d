import Foundation
import HearthGGUF
import HearthTemplate
import HearthTokenizer
import Synchronization

/// A model ready to run: the memory-mapped GGUF file, the network its architecture builds,
/// the tokenizer and the chat template it carries. Immutable and shareable; each conversation
/// gets its own `Session`.
///
/// ```swift
/// let model = try Model(path: "SmolLM2-135M-Instruct.Q4_1.gguf")
/// let session = try model.makeSession(contextSize: 2048)
/// let result = try model.generate(in: session, prompt: "Once upon a time", options: .init(maxTokens: 32)) { piece in
///     print(piece, terminator: ""); return true
/// }
/// ```
public final class Model: @unchecked Sendable {
    public let file: GGUFFile
    public let network: any LanguageModel
    public let tokenizer: Tokenizer
    /// The chat template, parsed: the one given when loading, else the model's
    /// `tokenizer.chat_template`; nil when there is neither.
    public let chatTemplate: ChatTemplate?
    /// The chat template's source.
    let chatTemplateSource: String?
    /// Seconds spent opening the file and building the network.
    public let loadSeconds: Double
    /// What constrained decoding needs to know of every token, made on first use.
    let constraintTokens = Mutex<ConstraintTokenTable?>(nil)

    /// Loads the GGUF file at `path`; `chatTemplate` (Jinja source) replaces the file's own.
    public init(path: String, chatTemplate templateOverride: String? = nil) throws(EngineError) {
        let start = Date()
        do { file = try GGUFFile(path: path) } catch { throw EngineError(error.message) }
        network = try loadNetwork(file)
        do {
            tokenizer = try Tokenizer(TokenizerVocabulary(file: file))
        } catch {
            throw EngineError("'\(path)': \(error)")
        }
        guard tokenizer.vocabularySize <= network.shape.vocab else {
            throw EngineError("the tokenizer has \(tokenizer.vocabularySize) tokens but the embedding only \(network.shape.vocab)")
        }
        chatTemplateSource = templateOverride ?? file.string("tokenizer.chat_template")
        if let source = chatTemplateSource {
            do { chatTemplate = try ChatTemplate(source) } catch {
                throw EngineError("the \(templateOverride == nil ? "model's " : "")chat template does not parse: \(error)")
            }
        } else {
            chatTemplate = nil
        }
        // Building the network copied out the small tensors (norms); the pages their reads
        // mapped, neighbours included, are not needed until a session repacks the weights.
        file.releaseAllPages()
        returnFreedHeapMemory()
        loadSeconds = Date().timeIntervalSince(start)
    }

    public var architecture: String { file.architecture ?? "?" }

    /// Whether the chat template refers to `tools` (lists function descriptions to the model).
    public var chatTemplateTakesTools: Bool { chatTemplateSource?.contains("tools") ?? false }
    public var shape: ModelShape { network.shape }

    /// Bytes of the KV cache of a session of `contextSize` positions (f16 keys and values of
    /// every layer), as `Session.cache.byteCount` will be.
    public func kvCacheBytes(contextSize: Int) -> Int {
        2 * shape.nLayers * contextSize * shape.kvDim * MemoryLayout<UInt16>.size
    }

    /// A new session with a KV cache of `contextSize` positions (default: the trained context,
    /// at most 4096).
    public func makeSession(contextSize: Int? = nil, threads: Int = defaultThreadCount) throws(EngineError) -> Session {
        let ctx = contextSize ?? min(shape.trainedContext, 4096)
        return try Session(network: network, contextSize: ctx, threads: threads)
    }

    /// Renders a conversation with the model's chat template, as Hugging Face's
    /// `apply_chat_template` would.
    ///
    /// `tools` are the function descriptions a tool-calling template lists (`tools` in the
    /// template); `chatTemplateTakesTools` says whether the model's template reads them.
    public func renderChat(_ messages: [ChatMessage], addGenerationPrompt: Bool = true,
                           tools: [TemplateValue]? = nil) throws(EngineError) -> String {
        try chatPrompt(messages, addGenerationPrompt: addGenerationPrompt, tools: tools).text
    }

    /// The conversation rendered with the chat template, with where each message's text landed
    /// in it, so that `tokenize(_:)` keeps a control token's text that a user wrote
    /// (`<|im_end|>` in a message) as text: a message cannot forge a turn of another role.
    /// A message is found in the rendered text in order, as written or trimmed (templates
    /// that trim); one holding a control token's text that cannot be found (the template
    /// changed it) is refused rather than tokenized as control tokens.
    public func chatPrompt(_ messages: [ChatMessage], addGenerationPrompt: Bool = true,
                           tools: [TemplateValue]? = nil) throws(EngineError) -> ChatPrompt {
        guard let chatTemplate else {
            throw EngineError("the model has no chat template (tokenizer.chat_template); give a raw prompt instead")
        }
        let bos = tokenizer.bosID.flatMap(tokenizer.tokenText) ?? "", eos = tokenizer.eosID.flatMap(tokenizer.tokenText) ?? ""
        let text: String
        do {
            text = try chatTemplate.render(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                           bosToken: bos, eosToken: eos, tools: tools)
        } catch {
            throw EngineError("the chat template failed: \(error)")
        }
        let utf8 = Array(text.utf8)
        var ranges: [Range<Int>] = [], cursor = 0
        for message in messages {
            guard case .string(let content) = message.content, !content.isEmpty else { continue }
            let found = [content, content.trimmingCharacters(in: .whitespacesAndNewlines)].lazy
                .filter { !$0.isEmpty }.compactMap { utf8[cursor...].firstRange(of: Array($0.utf8)) }.first
            if let found {
                ranges.append(found)
                cursor = found.upperBound
            } else if tokenizer.containsControlText(content) {
                throw EngineError("a \(message.role) message holds the text of a control token, and the chat template changes the message so that it cannot be kept as plain text")
            }
        }
        return ChatPrompt(text: text, messageRanges: ranges)
    }

    /// Tokenizes a chat prompt: control tokens the template wrote are tokens, those inside a
    /// message's text are text.
    public func tokenize(_ prompt: ChatPrompt) -> [Int32] {
        tokenize(prompt.text, parseSpecial: true, plain: prompt.messageRanges)
    }

    /// Tokenizes a prompt the way llama.cpp does for completion: BOS added when the model asks
    /// for it, special tokens (like `<|im_start|>`) parsed when `parseSpecial`.
    /// A text that already starts with the BOS token's text (as chat templates that write
    /// `{{ bos_token }}` render) gets no second one.
    /// `plain` are byte ranges in which control tokens are not recognised (`ChatPrompt`).
    public func tokenize(_ text: String, parseSpecial: Bool = true, plain: [Range<Int>] = []) -> [Int32] {
        let startsWithBOS = parseSpecial && tokenizer.bosID.flatMap(tokenizer.tokenText).map { !$0.isEmpty && text.hasPrefix($0) } == true
        return tokenizer.encode(text, addSpecial: !startsWithBOS, parseSpecial: parseSpecial, plain: plain)
    }
}

/// A prompt to tokenize: its text, and the UTF-8 byte ranges of it that users wrote (the
/// messages of a chat), in which control tokens' texts are not tokens.
public struct ChatPrompt: Sendable, Equatable {
    public let text: String
    public let messageRanges: [Range<Int>]

    public init(text: String, messageRanges: [Range<Int>]) {
        self.text = text
        self.messageRanges = messageRanges
    }

    /// A prompt taken as it is (a raw completion): every control token's text is a token.
    public init(raw text: String) { self.init(text: text, messageRanges: []) }
}

/// The number of threads used when none is given: the machine's active cores.
public var defaultThreadCount: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

/// A chat message (role and content), as `Model.renderChat` takes it; the type lives in
/// HearthTemplate and is named here so that `import HearthEngine` is enough.
public typealias ChatMessage = HearthTemplate.ChatMessage
public typealias ChatToolCall = HearthTemplate.ToolCall
public typealias TemplateValue = HearthTemplate.TemplateValue

/// Building the tokenizer frees megabytes of scratch (the vocabulary as strings) in the middle
/// of the heap, where `free` keeps it resident; glibc's `malloc_trim` hands those pages back.
/// Looked up at run time: other C libraries have no such call and need none.
private func returnFreedHeapMemory() {
    typealias Trim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: Trim.self)(0)
}
