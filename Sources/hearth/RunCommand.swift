import ArgumentParser
import Foundation
import HearthEngine
import HearthHub
import HearthTemplate

/// Options shared by the commands that load a model and run it.
struct ModelOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(stringLiteral: ModelReference.help))
    var model: String

    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Context size in tokens: prompt plus generated text (default: the model's, at most 4096).")
    var ctxSize: Int?

    @Option(name: [.customShort("t"), .long], help: "Threads to compute with (default: the number of cores).")
    var threads: Int = defaultThreadCount

    func validate() throws {
        if let ctxSize, ctxSize < 8 { throw ValidationError("--ctx-size must be at least 8 (got \(ctxSize))") }
        try OptionChecks.threads(threads)
    }

    /// The model named, loaded, and the context size: --ctx-size, else the store's num_ctx.
    func load() throws -> (ModelReference, Model, contextSize: Int?) {
        if let ctxSize, ctxSize > 1 << 20 { throw CLIError("--ctx-size \(ctxSize) is more than Hearth supports (1,048,576)") }
        let reference = try ModelReference(model)
        return (reference, try reference.load(), ctxSize ?? reference.stored?.parameters.num_ctx)
    }
}

/// Sampling options, mapped onto `SamplingParameters`.
struct SamplingOptions: ParsableArguments {
    // Each default is the stored model's PARAMETER if it has one, else the value in the help.
    @Option(help: "Sampling temperature; 0 means greedy (always the most likely token). (default: 0.8)")
    var temperature: Float?
    @Option(name: .customLong("top-k"), help: "Sample from the k most likely tokens only (0: off). (default: 40)")
    var topK: Int?
    @Option(name: .customLong("top-p"), help: "Sample from the smallest set of tokens whose probability reaches p (1: off). (default: 0.95)")
    var topP: Float?
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than min-p times the most likely one (0: off). (default: 0.05)")
    var minP: Float?
    @Option(name: .customLong("repeat-penalty"), help: "Divide the logits of tokens seen in the last 64 tokens by this (1: off). (default: 1)")
    var repeatPenalty: Float?
    @Option(name: .customLong("presence-penalty"), help: "Subtract this from the logits of tokens already seen (0: off). (default: 0)")
    var presencePenalty: Float?
    @Option(name: .customLong("frequency-penalty"), help: "Subtract this per occurrence of tokens already seen (0: off). (default: 0)")
    var frequencyPenalty: Float?
    @Option(help: "Random seed, for reproducible sampling (default: random, printed with --verbose).")
    var seed: UInt64?

    /// The parameters: each option given, else the stored model's `stored` value, else the
    /// engine's default; `seed` for the draws (--seed, the store's, or one picked by the caller).
    func parameters(seed: UInt64, stored: ModelParameters = ModelParameters()) -> SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature ?? stored.temperature.map(Float.init) ?? p.temperature
        p.topK = topK ?? stored.top_k ?? p.topK
        p.topP = topP ?? stored.top_p.map(Float.init) ?? p.topP
        p.minP = minP ?? stored.min_p.map(Float.init) ?? p.minP
        p.repetitionPenalty = repeatPenalty ?? stored.repeat_penalty.map(Float.init) ?? p.repetitionPenalty
        p.presencePenalty = presencePenalty ?? stored.presence_penalty.map(Float.init) ?? p.presencePenalty
        p.frequencyPenalty = frequencyPenalty ?? stored.frequency_penalty.map(Float.init) ?? p.frequencyPenalty
        if let n = stored.repeat_last_n { p.penaltyWindow = n }
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
        With a PROMPT, the model continues it and exits (the prompt is used as it is;
        add --chat to wrap it in the model's chat template). Without one, an
        interactive chat starts: each line you type is a user message, rendered with
        the model's chat template; /bye or end of input (Ctrl-D) leaves.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "The prompt. Leave it out for an interactive chat.")
    var prompt: String?
    @OptionGroup var sampling: SamplingOptions

    @Option(name: [.customShort("n"), .customLong("max-tokens")], help: "Most tokens to generate per answer (default: the stored model's num_predict, else 512).")
    var maxTokens: Int?
    @Option(help: "A system message for the chat template (default: the stored model's SYSTEM).")
    var system: String?
    @Flag(help: "Use the prompt as it is, without the chat template (also in interactive mode).")
    var raw = false
    @Flag(help: "Wrap a one-shot PROMPT in the chat template as a user message.")
    var chat = false
    @Option(help: "Stop before this string (repeatable; default: the stored model's stop parameters).")
    var stop: [String] = []
    @Flag(help: "Print load time, prompt and generation speed to standard error.")
    var verbose = false

    func validate() throws {
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1 (got \(maxTokens))") }
        if raw && chat { throw ValidationError("--raw and --chat contradict each other") }
        if raw && system != nil { throw ValidationError("--system needs the chat template; drop --raw") }
    }

    func run() throws {
        let (reference, model, contextSize) = try modelOptions.load()
        let stored = reference.stored?.parameters ?? ModelParameters()
        let seed = sampling.seed ?? stored.seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: 0...UInt64.max)
        let session: Session
        let sessionStart = DispatchTime.now().uptimeNanoseconds
        do { session = try model.makeSession(contextSize: contextSize, threads: modelOptions.threads) } catch { throw CLIError(error.message) }
        if verbose {
            // Making the session repacks the weights for the kernel path: part of loading.
            let sessionSeconds = Double(DispatchTime.now().uptimeNanoseconds - sessionStart) / 1e9
            printError("loaded \(model.architecture) model \(reference.displayName) in \(format2(model.loadSeconds + sessionSeconds)) s; context \(session.contextSize) tokens (KV cache \(formatBytes(session.cache.byteCount))), \(modelOptions.threads) threads, \(session.workspace.kernels) kernels, seed \(seed)")
        }
        let limit = maxTokens ?? stored.num_predict.flatMap { $0 > 0 ? $0 : nil } ?? 512
        let options = GenerationOptions(maxTokens: limit, sampling: sampling.parameters(seed: seed, stored: stored),
                                        stop: stop.isEmpty ? stored.stop ?? [] : stop)
        let opening = openingMessages(reference.stored)
        if let prompt {
            let text: String
            if chat || system != nil {
                var messages = opening
                messages.append(ChatMessage(role: "user", content: prompt))
                do { text = try model.renderChat(messages) } catch { throw CLIError(error.message) }
            } else {
                text = prompt
            }
            let result = try generate(model, session, text, options)
            if !result.text.hasSuffix("\n") { emit("\n") }
            return
        }
        try chatLoop(model, session, options, opening: opening, name: reference.displayName)
    }

    /// The conversation every chat starts with: the system message (--system, else the
    /// store's SYSTEM) and the stored model's MESSAGE lines.
    private func openingMessages(_ stored: StoredModel?) -> [ChatMessage] {
        var messages: [ChatMessage] = []
        if let system = system ?? stored?.system { messages.append(ChatMessage(role: "system", content: system)) }
        for m in stored?.messages ?? [] { messages.append(ChatMessage(role: m.role, content: m.content)) }
        return messages
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

    private func chatLoop(_ model: Model, _ session: Session, _ options: GenerationOptions, opening: [ChatMessage], name: String) throws {
        if !raw && model.chatTemplate == nil {
            throw CLIError("the model has no chat template; give a PROMPT, or use --raw for a raw interactive session")
        }
        var messages = raw ? [] : opening
        let interactive = isatty(0) != 0
        if interactive { printError("Chatting with \(name). Type /bye or press Ctrl-D to leave.") }
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
