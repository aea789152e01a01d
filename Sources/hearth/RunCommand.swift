import ArgumentParser
import Foundation
import HearthEngine
import HearthTemplate

/// Options shared by the commands that load a model and run it.
struct ModelOptions: ParsableArguments {
    @Argument(help: "The model: a path to a GGUF file.")
    var model: String

    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Context size in tokens: prompt plus generated text (default: the model's, at most 4096).")
    var ctxSize: Int?

    @Option(name: [.customShort("t"), .long], help: "Threads to compute with (default: the number of cores).")
    var threads: Int = defaultThreadCount

    func validate() throws {
        if let ctxSize, ctxSize < 8 { throw ValidationError("--ctx-size must be at least 8 (got \(ctxSize))") }
        if threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func load() throws -> Model {
        if let ctxSize, ctxSize > 1 << 20 { throw CLIError("--ctx-size \(ctxSize) is more than Hearth supports (1,048,576)") }
        return try Self.load(path: model)
    }

    /// Loads a model file, with a hint when the file does not exist.
    static func load(path: String) throws -> Model {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError("no such model file: '\(path)' (scripts/fetch-models.sh fetches the test models and prints their paths)")
        }
        do { return try Model(path: path) } catch { throw CLIError(error.message) }
    }
}

/// Sampling options, mapped onto `SamplingParameters`.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature; 0 means greedy (always the most likely token).")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Sample from the k most likely tokens only (0: off).")
    var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Sample from the smallest set of tokens whose probability reaches p (1: off).")
    var topP: Float = 0.95
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than min-p times the most likely one (0: off).")
    var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), help: "Divide the logits of tokens seen in the last 64 tokens by this (1: off).")
    var repeatPenalty: Float = 1
    @Option(name: .customLong("presence-penalty"), help: "Subtract this from the logits of tokens already seen (0: off).")
    var presencePenalty: Float = 0
    @Option(name: .customLong("frequency-penalty"), help: "Subtract this per occurrence of tokens already seen (0: off).")
    var frequencyPenalty: Float = 0
    @Option(help: "Random seed, for reproducible sampling (default: random, printed with --verbose).")
    var seed: UInt64?

    /// The parameters, with `seed` for the draws (the --seed given, or one picked once by the caller).
    func parameters(seed: UInt64) -> SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repetitionPenalty = repeatPenalty
        p.presencePenalty = presencePenalty
        p.frequencyPenalty = frequencyPenalty
        p.seed = seed
        return p
    }

    func validate() throws {
        if let problem = parameters(seed: 0).validate() { throw ValidationError(problem) }
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Generate text with a model: one completion, or a chat when no prompt is given.",
        discussion: """
        With a PROMPT, the model continues it and exits (the prompt is used as it is; add --chat
        to wrap it in the model's chat template). Without one, an interactive chat starts: each
        line you type is a user message, rendered with the model's chat template; /bye or end of
        input (Ctrl-D) leaves.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "The prompt. Leave it out for an interactive chat.")
    var prompt: String?
    @OptionGroup var sampling: SamplingOptions

    @Option(name: [.customShort("n"), .customLong("max-tokens")], help: "Most tokens to generate per answer.")
    var maxTokens: Int = 512
    @Option(help: "A system message for the chat template.")
    var system: String?
    @Flag(help: "Use the prompt as it is, without the chat template (also in interactive mode).")
    var raw = false
    @Flag(help: "Wrap a one-shot PROMPT in the chat template as a user message.")
    var chat = false
    @Option(help: "Stop before this string (repeatable).")
    var stop: [String] = []
    @Flag(help: "Print load time, prompt and generation speed to standard error.")
    var verbose = false

    func validate() throws {
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1 (got \(maxTokens))") }
        if raw && chat { throw ValidationError("--raw and --chat contradict each other") }
        if raw && system != nil { throw ValidationError("--system needs the chat template; drop --raw") }
    }

    func run() throws {
        let seed = sampling.seed ?? UInt64.random(in: 0...UInt64.max)
        let model = try modelOptions.load()
        let session: Session
        let sessionStart = DispatchTime.now().uptimeNanoseconds
        do { session = try model.makeSession(contextSize: modelOptions.ctxSize, threads: modelOptions.threads) } catch { throw CLIError(error.message) }
        if verbose {
            // Making the session repacks the weights for the kernel path: part of loading.
            let sessionSeconds = Double(DispatchTime.now().uptimeNanoseconds - sessionStart) / 1e9
            printError("loaded \(model.architecture) model \(modelOptions.model) in \(format2(model.loadSeconds + sessionSeconds)) s; context \(session.contextSize) tokens (KV cache \(formatBytes(session.cache.byteCount))), \(modelOptions.threads) threads, \(session.workspace.kernels) kernels, seed \(seed)")
        }
        let options = GenerationOptions(maxTokens: maxTokens, sampling: sampling.parameters(seed: seed), stop: stop)
        if let prompt {
            let text: String
            if chat || system != nil {
                var messages: [ChatMessage] = []
                if let system { messages.append(ChatMessage(role: "system", content: system)) }
                messages.append(ChatMessage(role: "user", content: prompt))
                do { text = try model.renderChat(messages) } catch { throw CLIError(error.message) }
            } else {
                text = prompt
            }
            let result = try generate(model, session, text, options)
            if !result.text.hasSuffix("\n") { emit("\n") }
            return
        }
        try chatLoop(model, session, options)
    }

    private func generate(_ model: Model, _ session: Session, _ text: String, _ options: GenerationOptions) throws -> GenerationResult {
        let result: GenerationResult
        do {
            result = try model.generate(in: session, promptTokens: model.tokenize(text), options: options) { piece in
                emit(piece)
                return true
            }
        } catch { throw CLIError(error.message) }
        if verbose {
            printError("\nprompt: \(result.promptTokens) tokens in \(format2(result.promptSeconds)) s (\(format2(result.promptTokensPerSecond)) tokens/s); generation: \(result.tokens.count) tokens in \(format2(result.generationSeconds)) s (\(result.tokens.count < 2 ? "too few tokens to time" : format2(result.generationTokensPerSecond) + " tokens/s")); stopped: \(result.stopReason.rawValue)")
        }
        return result
    }

    private func chatLoop(_ model: Model, _ session: Session, _ options: GenerationOptions) throws {
        if !raw && model.chatTemplate == nil {
            throw CLIError("the model has no chat template; give a PROMPT, or use --raw for a raw interactive session")
        }
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
        let interactive = isatty(0) != 0
        if interactive { printError("Chatting with \(modelOptions.model). Type /bye or press Ctrl-D to leave.") }
        while true {
            if interactive { printError(">>> ", terminator: "") }
            guard let line = readLine() else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input == "/bye" { break }
            let text: String
            if raw {
                text = input
            } else {
                messages.append(ChatMessage(role: "user", content: input))
                do { text = try model.renderChat(messages) } catch { throw CLIError(error.message) }
            }
            let newTokens: [Int32]
            if raw {
                // A raw session is one continuous text: BOS (if any) only at its start, a newline between lines.
                newTokens = session.tokens.isEmpty ? model.tokenize(text) : model.tokenizer.encode("\n" + text, addSpecial: false, parseSpecial: true)
            } else {
                // The conversation is re-rendered each turn; the session keeps the shared prefix.
                let tokens = model.tokenize(text)
                let shared = zip(tokens, session.tokens).prefix(while: { $0 == $1 }).count
                session.rewind(to: min(shared, tokens.count - 1))
                newTokens = Array(tokens[session.tokens.count...])
            }
            let result: GenerationResult
            do {
                result = try model.generate(in: session, promptTokens: newTokens, options: options) { piece in
                    emit(piece); return true
                }
            } catch {
                printError("error: \(error.message)")
                if !raw { messages.removeLast() }
                continue
            }
            emit("\n")
            if verbose {
                printError("prompt: \(result.promptTokens) new tokens (\(format2(result.promptTokensPerSecond)) tokens/s); generation: \(result.tokens.count) tokens (\(format2(result.generationTokensPerSecond)) tokens/s)")
            }
            if !raw { messages.append(ChatMessage(role: "assistant", content: result.text)) }
        }
    }
}
