import Foundation
import HTTPTypes
import Hummingbird

/// Which requests a server answers, by their `Host` and `Origin` headers: the defence of a
/// server on the user's own machine against the pages in the user's browser. Without it any
/// web page could drive the local API with simple POSTs (cross-site requests), and a page on a
/// domain that resolves to 127.0.0.1 could read the answers too (DNS rebinding). As Ollama's
/// OLLAMA_HOST and OLLAMA_ORIGINS checks:
///
/// - `Host` must be a loopback name (`localhost`, `127.x.x.x`, `::1`), the address the server
///   listens on, or one of `allowedHosts`. A server listening on every address (`0.0.0.0`,
///   `::`) answers any `Host` unless `allowedHosts` is given. A request without `Host` passes.
/// - A request that can change something (any method but GET, HEAD and OPTIONS) with an
///   `Origin` must come from the server's own origin (the `Host` it was sent to), a loopback
///   origin on the server's port, or one of `allowedOrigins` (`*`: any). Requests without an
///   `Origin` are not from a browser page (curl, SDKs, huggingface_hub) and pass.
public struct RequestOriginPolicy: Sendable, Equatable {
    public var listenHost: String
    public var port: Int
    /// Host names (without port) accepted beside the loopback names and `listenHost`.
    public var allowedHosts: [String]
    /// Origins (`scheme://host[:port]`) accepted beside the server's own; `*` accepts any.
    public var allowedOrigins: [String]

    public init(listenHost: String, port: Int, allowedHosts: [String] = [], allowedOrigins: [String] = []) {
        self.listenHost = listenHost
        self.port = port
        self.allowedHosts = allowedHosts.map { $0.lowercased() }
        self.allowedOrigins = allowedOrigins.map { Self.trimmed($0.lowercased()) }
    }

    /// Why a request with these headers is refused, or nil when it is answered.
    public func refusal(method: HTTPRequest.Method, host: String?, origin: String?) -> String? {
        if let host, !host.isEmpty, !acceptsHost(Self.hostName(of: host)) {
            return "the Host '\(host)' is not this server's; to serve under that name, start the server with --allowed-hosts \(Self.hostName(of: host)) (or HEARTH_HOSTS)"
        }
        guard ![.get, .head, .options].contains(method), let origin, !acceptsOrigin(origin, host: host) else { return nil }
        return "requests from the web page at '\(origin)' are refused (cross-site); to allow it, start the server with --allowed-origins \(origin) (or HEARTH_ORIGINS)"
    }

    func acceptsHost(_ name: String) -> Bool {
        if Self.isLoopback(name) || name == listenHost.lowercased() || allowedHosts.contains(name) || allowedHosts.contains("*") { return true }
        return Self.isWildcard(listenHost) && allowedHosts.isEmpty
    }

    func acceptsOrigin(_ origin: String, host: String?) -> Bool {
        let origin = Self.trimmed(origin.lowercased())
        if allowedOrigins.contains("*") || allowedOrigins.contains(origin) { return true }
        guard let url = URLComponents(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme),
              let originHost = url.host?.trimmingCharacters(in: CharacterSet(charactersIn: "[]")) else { return false }
        let originPort = url.port ?? (scheme == "https" ? 443 : 80)
        // The server's own pages: the origin is the authority the request was sent to.
        // A Host without a port was sent to the scheme's default port (a proxy on 443, say).
        if let host, Self.hostName(of: host) == originHost, (Self.port(of: host) ?? originPort) == originPort { return true }
        return Self.isLoopback(originHost) && originPort == port
    }

    /// `example.com` of `example.com:8080`, `::1` of `[::1]:8080`, lowercased.
    static func hostName(of authority: String) -> String {
        let a = authority.lowercased()
        if a.hasPrefix("["), let close = a.firstIndex(of: "]") { return String(a[a.index(after: a.startIndex)..<close]) }
        if a.filter({ $0 == ":" }).count == 1, let colon = a.firstIndex(of: ":") { return String(a[..<colon]) }
        return a
    }

    /// The port of an authority, or nil when it names none.
    static func port(of authority: String) -> Int? {
        guard let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") else { return nil }
        if !authority.hasPrefix("[") && authority.filter({ $0 == ":" }).count > 1 { return nil }
        return Int(authority[authority.index(after: colon)...])
    }

    public static func isLoopback(_ name: String) -> Bool {
        if name == "localhost" || name.hasSuffix(".localhost") || name == "::1" { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    static func isWildcard(_ host: String) -> Bool { ["0.0.0.0", "::", "[::]", ""].contains(host) }

    static func trimmed(_ origin: String) -> String { origin.hasSuffix("/") ? String(origin.dropLast()) : origin }

    /// A comma-separated list (of a flag or an environment variable), empty entries dropped.
    public static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// Refuses, before any route runs, the requests `policy` refuses (403), rendered by `render`
/// in the application's own error shape.
struct RequestOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: RequestOriginPolicy
    let render: @Sendable (_ request: Request, _ message: String) -> Response

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let why = policy.refusal(method: request.method, host: request.head.authority, origin: request.headers[.origin]) {
            return render(request, why)
        }
        return try await next(request, context)
    }
}
