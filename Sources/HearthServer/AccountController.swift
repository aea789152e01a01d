import Foundation
import HearthHub
import Hummingbird
import Synchronization

/// `POST /api/tokens`: a user trades their name and password (HTTP Basic) for a new access
/// token, which is how `hearth login HUB --user NAME` logs in.
struct AccountController {
    let registry: Registry
    let throttle = SharedLoginThrottle()

    struct TokenRequest: Decodable { var scope: String?; var label: String? }
    struct TokenResponse: Encodable { let token: String; let scope: String; let user: String }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/api/tokens", use: RegistryController.guarded { request, _ in try await issue(request) })
    }

    func issue(_ request: Request) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6))).flatMap({ String(data: $0, encoding: .utf8) }),
              let colon = decoded.firstIndex(of: ":") else {
            throw RegistryError.unauthorized("send the user's name and password with HTTP Basic authentication")
        }
        let user = String(decoded[..<colon]), password = String(decoded[decoded.index(after: colon)...])
        let now = Date().timeIntervalSince1970
        if let wait = throttle.withLock({ $0.wait(for: user, at: now) }) {
            let seconds = Int(wait.rounded(.up))
            var error = RegistryError(429, "TOOMANYREQUESTS", "too many failed logins for '\(user)'; try again in \(seconds) s")
            error.retryAfter = seconds
            throw error
        }
        // The same answer, after the same work, for an unknown user and a wrong password.
        guard (try? registry.database.verify(user: user, password: password)) == true else {
            throttle.withLock { $0.failed(user, at: now) }
            throw RegistryError.unauthorized("the user name or the password is wrong")
        }
        throttle.withLock { $0.succeeded(user) }
        let body = try await request.body.collect(upTo: 64 << 10)
        let req: TokenRequest
        do { req = body.readableBytes == 0 ? TokenRequest() : try JSONDecoder().decode(TokenRequest.self, from: Data(buffer: body)) } catch {
            throw RegistryError(400, "BODY_INVALID", "the body is not JSON with an optional scope and label")
        }
        guard let scope = HubDatabase.Scope(rawValue: req.scope ?? "write") else {
            throw RegistryError(400, "UNSUPPORTED", "scope is read or write, not '\(req.scope ?? "")'")
        }
        let token = try registry.database.createToken(user: user, scope: scope, label: req.label ?? "hearth login")
        return JSON.response(TokenResponse(token: token, scope: scope.rawValue, user: user), status: .created)
    }
}
