import Hummingbird
import Logging

/// The HTTP application: every route on one router, served on the configured address.
/// Graceful shutdown on SIGTERM and SIGINT comes from `runService()`: the listener closes and
/// in-flight requests finish.
/// `onListening` is called once the port is bound.
public func buildApplication(state: ServerState, logger: Logger? = nil,
                             onListening: @escaping @Sendable () -> Void = {}) -> some ApplicationProtocol {
    let router = buildRouter(state: state)
    var log = logger ?? Logger(label: "hearth.serve")
    if logger == nil { log.logLevel = .warning }
    return Application(router: router,
                       server: .http1(configuration: .init(additionalChannelHandlers: [ClientGoneHandler()], idleTimeout: .seconds(Int64(state.configuration.idleTimeoutSeconds)))),
                       configuration: .init(address: .hostname(state.configuration.host, port: state.configuration.port),
                                            serverName: "hearth/\(state.configuration.version)"),
                       onServerRunning: { _ in onListening() },
                       logger: log)
}

/// The router alone (for in-process tests).
public func buildRouter(state: ServerState) -> Router<ServeContext> {
    let router = Router(context: ServeContext.self)
    router.add(middleware: RequestOriginMiddleware(policy: state.configuration.originPolicy) { request, message in
        (request.uri.path.hasPrefix("/api/") ? APIDialect.ollama : .openAI).response(for: APIError(.forbidden, message, type: "forbidden"))
    })
    UtilityController(state: state).addRoutes(to: router)
    OpenAIController(state: state).addRoutes(to: router)
    OllamaController(state: state).addRoutes(to: router)
    return router
}
