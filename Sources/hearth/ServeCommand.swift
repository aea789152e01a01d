import ArgumentParser
import Foundation
import HearthEngine
import HearthHub
import HearthServer
import Hummingbird

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over the OpenAI and Ollama HTTP APIs.",
        discussion: """
        The server offers the models in the store (hearth list; HEARTH_HOME, default
        ~/.hearth) under their names, and GGUF files (or folders of them) given here
        under their file names without '.gguf'. Models imported or removed while it
        runs appear and go; /api/create, /api/copy and /api/delete change the store.
        The server listens on 127.0.0.1:11434, Ollama's port, so Ollama clients, and
        OpenAI clients with the base URL http://127.0.0.1:11434/v1, find it as they
        are.

        Routes: /v1/chat/completions, /v1/completions (echo and logprobs),
        /v1/embeddings, /v1/models; /api/generate, /api/chat, /api/embed, /api/tags,
        /api/show, /api/ps, /api/version, /api/create, /api/copy, /api/delete,
        /api/pull, /api/push (to and from a Hearth hub); /health (503 while loading),
        /metrics (Prometheus), /tokenize, /detokenize.

        Examples:
          hearth serve
          hearth serve ~/.cache/hearth/models/SmolLM2-135M-Instruct.Q4_1.gguf
          hearth serve --models ~/models --parallel 4 --api-key secret
          curl http://127.0.0.1:11434/api/generate \\
            -d '{"model": "smollm2", "prompt": "Hi"}'
        """)

    @Flag(name: .customLong("no-store"), help: "Serve only the files given, not the store's models.")
    var noStore = false

    @Argument(help: "GGUF files or folders of them to serve.")
    var paths: [String] = []

    @Option(name: .customLong("models"), parsing: .upToNextOption, help: "More GGUF files or folders (the same as the arguments).")
    var models: [String] = []

    @Option(help: "Address to listen on; 0.0.0.0 opens the server to the network.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 11434

    @Option(help: "Requests generated at once, each with its own context, decoded together in one batch.")
    var parallel = 1

    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Context size of each parallel slot, in tokens: a request's prompt plus its output must fit.")
    var ctxSize = 4096

    @Option(name: .customLong("queue"), help: "Requests that may wait for a slot; beyond them the server answers 503 with Retry-After.")
    var queue = 16

    @Option(name: [.customShort("t"), .long], help: "Threads to compute with (the default is the number of cores).")
    var threads: Int = defaultThreadCount

    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on every route but /health.")
    var apiKey: String?

    @Option(name: .customLong("api-keys-file"), help: "A file of accepted keys, one per line ('#' starts a comment).")
    var apiKeysFile: String?

    @Option(name: .customLong("max-body"), help: "Largest request body accepted, in MiB.")
    var maxBodyMiB = 8

    @Option(name: .customLong("max-models"), help: "Models loaded at once; loading one more unloads the least recently used idle one.")
    var maxModels = 3

    @Option(name: .customLong("memory-budget"), help: "GiB of memory for loaded models, counting each model's file and the KV caches of its --parallel slots of --ctx-size (default: no budget beyond --max-models).")
    var memoryBudgetGiB: Double?

    @OptionGroup var connections: ConnectionOptions

    @Flag(name: .customLong("allow-hub-credentials"), help: "Let /api/pull and /api/push use the hub tokens of hearth login (off: clients of the server would act as you). Refused on an address beyond loopback without --api-key.")
    var allowHubCredentials = false

    @Option(name: .customLong("keep-alive"), help: "How long an idle model stays loaded, as Ollama's keep_alive: 5m, 1h, 30s, 0 (unload when idle), -1 (for ever). A request's keep_alive overrides it for its model.")
    var keepAlive = "5m"

    func validate() throws {
        if paths.isEmpty && models.isEmpty && noStore {
            throw ValidationError("with --no-store, give at least one model: hearth serve --no-store MODEL.gguf")
        }
        if !(1...65535).contains(port) { throw ValidationError("--port must be between 1 and 65535 (got \(port))") }
        if parallel < 1 { throw ValidationError("--parallel must be at least 1 (got \(parallel))") }
        if ctxSize < 8 || ctxSize > 1 << 20 { throw ValidationError("--ctx-size must be between 8 and 1048576 (got \(ctxSize))") }
        if queue < 0 { throw ValidationError("--queue must be 0 or more (got \(queue))") }
        try OptionChecks.threads(threads)
        if maxBodyMiB < 1 { throw ValidationError("--max-body must be at least 1 MiB (got \(maxBodyMiB))") }
        if maxModels < 1 { throw ValidationError("--max-models must be at least 1 (got \(maxModels))") }
        if let memoryBudgetGiB, !(memoryBudgetGiB > 0 && memoryBudgetGiB <= 1_048_576) { throw ValidationError("--memory-budget must be between 0 and 1048576 GiB (got \(memoryBudgetGiB))") }
        if allowHubCredentials && !RequestOriginPolicy.isLoopback(host) && apiKey == nil && apiKeysFile == nil {
            throw ValidationError("--allow-hub-credentials on \(host) without --api-key would let anyone who reaches the server use your hub tokens; add --api-key, or listen on 127.0.0.1")
        }
        guard let seconds = parseDuration(keepAlive) else { throw ValidationError("--keep-alive '\(keepAlive)' is not a duration (like 5m, 1h, 30s, 0 or -1)") }
        if keepAliveSeconds(seconds) == nil { throw ValidationError("--keep-alive '\(keepAlive)' is longer than ten years; -1 keeps models loaded for ever") }
    }

    func run() async throws {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.modelPaths = paths + models
        configuration.parallel = parallel
        configuration.contextSize = ctxSize
        configuration.queueLimit = queue
        configuration.threads = threads
        configuration.maxBodyBytes = maxBodyMiB << 20
        configuration.version = hearthVersion
        configuration.apiKeys = try keys()
        configuration.allowedHosts = connections.hosts
        configuration.allowedOrigins = connections.origins
        configuration.allowHubCredentials = allowHubCredentials
        configuration.idleTimeoutSeconds = connections.idleTimeout
        configuration.maxLoadedModels = maxModels
        configuration.memoryBudget = memoryBudgetGiB.map { Int($0 * Double(1 << 30)) }
        configuration.keepAliveSeconds = parseDuration(keepAlive).flatMap(keepAliveSeconds) ?? 300
        for path in configuration.modelPaths where !FileManager.default.fileExists(atPath: path) {
            throw CLIError("no such model file or folder: '\(path)'")
        }
        if !noStore {
            let store = ModelStore(root: ModelStore.defaultRoot)
            configuration.storeRoot = store.root
            if configuration.modelPaths.isEmpty && store.list().isEmpty {
                throw CLIError("nothing to serve: the store at '\(store.root)' is empty and no GGUF files were given; add a model with hearth import FILE.gguf NAME, or give files: hearth serve MODEL.gguf")
            }
        }

        let state = ServerState(configuration: configuration)
        let slots = "\(parallel) slot\(parallel == 1 ? "" : "s") of \(ctxSize) tokens"
        state.startLoading(onLoad: { name in printError("loaded \(name)") }, onDone: { result in
            switch result {
            case .success(let registry):
                printError("ready: \(registry.files.count) model\(registry.files.count == 1 ? "" : "s") (\(registry.loadedModels.count) loaded), \(slots)")
            case .failure(let error):
                printError("Error: \(error.message)")
                Foundation.exit(1)
            }
        })
        let listening = "hearth \(hearthVersion) listening on http://\(host):\(port) (OpenAI API under /v1, Ollama API under /api)\(configuration.apiKeys.isEmpty ? "" : ", API key required")"
        let app = buildApplication(state: state, onListening: { printError(listening) })
        do { try await app.runService() } catch {
            let text = "\(error)"
            if text.contains("Address already in use") {
                throw CLIError("cannot listen on \(host):\(port): the port is in use (by another server, perhaps Ollama); choose another with --port")
            }
            throw CLIError("the server stopped: \(text)")
        }
    }

    private func keys() throws -> Set<String> {
        var keys = Set<String>()
        if let apiKey {
            guard !apiKey.isEmpty else { throw CLIError("--api-key is empty") }
            keys.insert(apiKey)
        }
        if let apiKeysFile {
            let text: String
            do { text = try String(contentsOfFile: apiKeysFile, encoding: .utf8) } catch {
                throw CLIError("cannot read --api-keys-file '\(apiKeysFile)': \(error.localizedDescription)")
            }
            for line in text.split(whereSeparator: \.isNewline) {
                let key = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingCharacters(in: .whitespaces)
                if !key.isEmpty { keys.insert(key) }
            }
            guard !keys.isEmpty else { throw CLIError("--api-keys-file '\(apiKeysFile)' holds no keys") }
        }
        return keys
    }
}
