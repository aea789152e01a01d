import HearthAPI
import Hummingbird

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
    -> @Sendable (Request, BasicRequestContext) async throws -> Response {
    { request, _ in
        let response: Response
        do {
            try authorize(request, state.configuration.apiKeys)
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: state.configuration.maxBodyBytes) } catch {
                throw APIError(.contentTooLarge, "the request body is over the limit of \(state.configuration.maxBodyBytes) bytes")
            }
            response = try await handler(request, body)
        } catch let error as APIError {
            response = dialect.response(for: error)
        } catch {
            response = dialect.response(for: APIError(.internalServerError, "\(error)", type: "server_error"))
        }
        state.metrics.request(route: name, status: Int(response.status.code))
        return response
    }
}

private func authorize(_ request: Request, _ keys: Set<String>) throws(APIError) {
    guard !keys.isEmpty else { return }
    let header = request.headers[.authorization] ?? ""
    guard header.hasPrefix("Bearer "), keys.contains(String(header.dropFirst(7))) else { throw APIError.unauthorized }
}
