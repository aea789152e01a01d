import HearthAPI
import Hummingbird
import NIOCore

/// `text/event-stream` responses: each value is one `data: {json}` event; `data: [DONE]` ends
/// the stream, as OpenAI's streams end.
enum ServerSentEvents {
    typealias Send = (any Encodable & Sendable) async throws -> Void

    static func response(_ produce: @escaping @Sendable (Send) async throws -> Void) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                 body: ResponseBody { writer in
                     try await produce { value in
                         try await writer.write(ByteBuffer(bytes: Array("data: ".utf8) + JSON.encode(value) + Array("\n\n".utf8)))
                     }
                     try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                     try await writer.finish(nil)
                 })
    }
}

/// `application/x-ndjson` responses: one JSON object per line, as Ollama streams.
enum NDJSON {
    typealias Send = (any Encodable & Sendable) async throws -> Void

    static func response(_ produce: @escaping @Sendable (Send) async throws -> Void) -> Response {
        Response(status: .ok, headers: [.contentType: "application/x-ndjson"],
                 body: ResponseBody { writer in
                     try await produce { value in
                         try await writer.write(ByteBuffer(bytes: JSON.encode(value) + [UInt8(ascii: "\n")]))
                     }
                     try await writer.finish(nil)
                 })
    }
}

/// Wraps a route's handler: checks the API key, reads the body (up to the configured size),
/// turns errors into the dialect's error bodies with the right status, and counts requests.
func routed(_ dialect: APIDialect, _ name: String, _ state: ServerState,
            _ handler: @escaping @Sendable (Request, ByteBuffer) async throws -> Response)
    -> @Sendable (Request, ServeContext) async throws -> Response {
    { request, context in
        let response: Response
        do {
            try authorize(request, state.configuration.apiKeys)
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: state.configuration.maxBodyBytes) } catch {
                throw APIError(.contentTooLarge, "the request body is over the limit of \(state.configuration.maxBodyBytes) bytes")
            }
            response = try await context.cancellingOnDisconnect { try await handler(request, body) }
        } catch let error as APIError {
            response = dialect.response(for: error)
        } catch {
            response = dialect.response(for: APIError(.internalServerError, "\(error)", type: "server_error"))
        }
        state.metrics.request(route: name, status: Int(response.status.code))
        return response
    }
}

/// The request context of `hearth serve`'s routes: Hummingbird's, plus the connection, so that
/// a handler can tell when its client has gone.
public struct ServeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Runs `body`, cancelling it if the client disconnects first. A handler that waits for a
    /// whole answer (not streamed) then stops waiting, and its job is cancelled, freeing the
    /// slot; a streamed answer's body notices on its own when a write fails.
    func cancellingOnDisconnect(_ body: @escaping @Sendable () async throws -> Response) async throws -> Response {
        // A channel that is not active at the start is not a network connection (the router
        // tests' stand-in): nothing to watch.
        guard let channel, channel.isActive else { return try await body() }
        return try await withThrowingTaskGroup(of: Response?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while channel.isActive {
                    do { try await Task.sleep(for: .milliseconds(100)) } catch { return nil }
                }
                return nil
            }
            while let result = try await group.next() {
                group.cancelAll()
                if let response = result { return response }
                throw APIError(.serviceUnavailable, "the client went away before the answer was ready")
            }
            throw APIError(.internalServerError, "no answer")
        }
    }
}

private func authorize(_ request: Request, _ keys: Set<String>) throws(APIError) {
    guard !keys.isEmpty else { return }
    let header = request.headers[.authorization] ?? ""
    guard header.hasPrefix("Bearer "), keys.contains(String(header.dropFirst(7))) else { throw APIError.unauthorized }
}

/// Closes a connection as soon as its client closes its side. Hummingbird allows half-closed
/// connections, so a client that hangs up while waiting for a whole answer would otherwise
/// leave the connection open (and its job running) until the answer is written; llama-server
/// treats a hang-up the same way.
final class ClientGoneHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = Any

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
