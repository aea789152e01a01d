import Foundation
import HearthEngine
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

    /// Sets the loaded models (or why they could not be loaded).
    public func finishLoading(_ result: Result<ModelRegistry, ServerError>) { loaded.withLock { $0 = result } }

    /// Loads `configuration.modelPaths` on a thread of its own, then `finishLoading`.
    public func startLoading(onLoad: @escaping @Sendable (String) -> Void = { _ in },
                             onDone: @escaping @Sendable (Result<ModelRegistry, ServerError>) -> Void = { _ in }) {
        let paths = configuration.modelPaths
        let thread = Thread { [self] in
            let result: Result<ModelRegistry, ServerError>
            do throws(ServerError) { result = .success(try ModelRegistry(paths: paths, onLoad: onLoad)) } catch { result = .failure(error) }
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

    var isLoaded: Bool { loaded.withLock { if case .success? = $0 { true } else { false } } }
}

/// `hearth serve`'s settings.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// Ollama's port, so that Ollama clients find Hearth without configuration.
    public var port = 11434
    public var modelPaths: [String] = []
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
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes = 8 << 20
    public var version = "0.1.0"

    public init() {}
}
