import HearthAPI
import HTTPTypes
import Hummingbird

/// An error answered to a client: a status and a message, rendered in the shape of the API the
/// request came through (OpenAI's `{"error": {...}}` or Ollama's `{"error": "..."}`).
public struct APIError: Error, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    /// OpenAI's error `type`.
    public let type: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, type: String? = nil) {
        self.status = status
        self.message = message
        self.type = type ?? (status.code >= 500 ? "server_error" : "invalid_request_error")
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    static func modelNotFound(_ name: String, known: [String]) -> APIError {
        APIError(.notFound, "model '\(name)' not found; this server has: \(known.joined(separator: ", "))", type: "not_found_error")
    }

    static var queueFull: APIError {
        var e = APIError(.serviceUnavailable, "the server is busy: every slot is generating and the queue is full; retry shortly",
                         type: "server_overloaded")
        e.headers[.retryAfter] = "1"
        return e
    }

    static var unauthorized: APIError {
        var e = APIError(.unauthorized, "missing or wrong API key: send 'Authorization: Bearer KEY'", type: "authentication_error")
        e.headers[.wwwAuthenticate] = "Bearer"
        return e
    }
}

/// The two error dialects.
enum APIDialect {
    case openAI, ollama

    func response(for error: APIError) -> Response {
        var headers = error.headers
        headers[.contentType] = "application/json"
        let body: [UInt8]
        switch self {
        case .openAI: body = JSON.encode(OpenAI.ErrorResponse(message: error.message, type: error.type))
        case .ollama: body = JSON.encode(Ollama.ErrorResponse(error: error.message))
        }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension HTTPField.Name {
    static let retryAfter = HTTPField.Name("Retry-After")!
}
