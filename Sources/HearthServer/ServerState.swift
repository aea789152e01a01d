import Foundation
import HearthEngine
import HearthHub
import Synchronization

/// What every route shares: the configuration, the models (once loaded), the scheduler and the
/// metrics. Models load after the server starts listening, so `/health` can answer 503 while
/// they do.
public final class ServerState: Sendable {
    public let configuration: ServerConfiguration
    public let scheduler: GenerationScheduler
    public let metrics: ServerMetrics
    private let loaded = Mutex<Result<ModelRegistry, ServerError>?>(nil)

    public init(configuration: ServerConfiguration) {
        self.configuration = configuration
        metrics = ServerMetrics()
        scheduler = GenerationScheduler(slots: configuration.parallel, queueLimit: configuration.queueLimit,
                                        contextSize: configuration.contextSize, threads: configuration.threads,
                                        metrics: metrics)
    }

    /// Sets the models (or why they could not be loaded), and starts unloading idle ones.
    public func finishLoading(_ result: Result<ModelRegistry, ServerError>) {
        if case .success(let registry) = result {
            registry.onUnload.withLock { [scheduler] in $0 = { scheduler.forget($0) } }
            Task.detached { [weak registry] in
                while let registry {
                    registry.sweep()
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
        }
        loaded.withLock { $0 = result }
    }

    /// Loads `configuration.modelPaths` on a thread of its own, then `finishLoading`.
    public func startLoading(onLoad: @escaping @Sendable (String) -> Void = { _ in },
                             onDone: @escaping @Sendable (Result<ModelRegistry, ServerError>) -> Void = { _ in }) {
        let c = configuration
        let thread = Thread { [self] in
            let result: Result<ModelRegistry, ServerError>
            do throws(ServerError) {
                let registry = try ModelRegistry(paths: c.modelPaths, store: c.storeRoot.map { ModelStore(root: $0) },
                                                 maxLoaded: c.maxLoadedModels, memoryBudget: c.memoryBudget,
                                                 defaultKeepAlive: c.keepAliveSeconds, sessionsPerModel: c.parallel, contextSize: c.contextSize)
                try registry.preload(onLoad: onLoad)
                result = .success(registry)
            } catch { result = .failure(error) }
            finishLoading(result)
            onDone(result)
        }
        thread.start()
    }

    /// The models, or the error a request gets while they load (503) or after they failed (500).
    public func registry() throws(APIError) -> ModelRegistry {
        switch loaded.withLock({ $0 }) {
        case .success(let registry)?: return registry
        case .failure(let error)?: throw APIError(.internalServerError, "the models failed to load: \(error.message)")
        case nil:
            var e = APIError(.serviceUnavailable, "the models are still loading; retry shortly", type: "server_loading")
            e.headers[.retryAfter] = "1"
            throw e
        }
    }

}

/// `hearth serve`'s settings.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// Ollama's port, so that Ollama clients find Hearth without configuration.
    public var port = 11434
    public var modelPaths: [String] = []
    /// The model store whose models are served beside `modelPaths`; nil: none.
    public var storeRoot: String?
    /// Requests generated at once, each with its own KV cache.
    public var parallel = 1
    /// Requests that may wait for a slot before the server answers 503.
    public var queueLimit = 16
    /// Context (KV cache) size of each slot, in tokens.
    public var contextSize = 4096
    /// Engine threads per forward pass.
    public var threads = defaultThreadCount
    /// Accepted API keys; empty: no authentication.
    public var apiKeys: Set<String> = []
    /// Seconds a connection may sit without sending while its request is being read, or
    /// between requests, before it is closed (slow or idle clients must not hold connections
    /// for ever). A request being answered is not cut: a long generation sends nothing until
    /// its end.
    public var idleTimeoutSeconds = 60
    /// Host names and browser origins accepted beside the server's own (RequestOriginPolicy).
    public var allowedHosts: [String] = []
    public var allowedOrigins: [String] = []
    /// Whether `/api/pull` and `/api/push` may use the hub tokens `hearth login` keeps: off
    /// by default, since a client of the server would act with the operator's credentials.
    public var allowHubCredentials = false

    /// The Host and Origin checks this configuration asks for.
    public var originPolicy: RequestOriginPolicy {
        RequestOriginPolicy(listenHost: host, port: port, allowedHosts: allowedHosts, allowedOrigins: allowedOrigins)
    }
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes = 8 << 20
    /// Models loaded at once (Ollama's OLLAMA_MAX_LOADED_MODELS).
    public var maxLoadedModels = 3
    /// Bytes of model files loaded at once; nil: no budget beyond `maxLoadedModels`.
    public var memoryBudget: Int?
    /// Seconds an idle model stays loaded unless a request's `keep_alive` says otherwise;
    /// negative: for ever (Ollama's default is 5 minutes).
    public var keepAliveSeconds: Int64 = 300
    public var version = "0.1.0"

    public init() {}
}

/// Seconds in a duration as Ollama writes them: a number (`"300"`), or numbers with units
/// (`"5m"`, `"1h30m"`, `"10s"`). Nil when it is neither; the value may be negative (for ever)
/// or beyond any keep-alive: `keepAliveSeconds` checks it.
public func parseDuration(_ text: String) -> Double? {
    if let n = Double(text) { return n.isFinite ? n : nil }
    var total = 0.0, number = ""
    for c in text {
        if ("0"..."9").contains(c) || c == "." || (c == "-" && number.isEmpty) { number.append(c); continue }
        guard let unit = ["h": 3600.0, "m": 60, "s": 1][String(c)], let n = Double(number) else { return nil }
        total += n * unit
        number = ""
    }
    guard number.isEmpty, !text.isEmpty, total.isFinite else { return nil }
    return total
}

/// The longest keep-alive: ten years. A negative one keeps a model loaded for ever.
public let longestKeepAlive: Int64 = 10 * 365 * 24 * 3600

/// A keep-alive in whole seconds (-1: for ever), or nil when it is not a number or longer than
/// `longestKeepAlive` (a Double past Int64's range would trap in the conversion).
public func keepAliveSeconds(_ seconds: Double) -> Int64? {
    guard seconds.isFinite else { return nil }
    if seconds < 0 { return -1 }
    return seconds <= Double(longestKeepAlive) ? Int64(seconds) : nil
}
