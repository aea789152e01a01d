import HearthServer
import HTTPTypes
import Testing

/// The Host and Origin checks against what their contract says (RequestOriginPolicy's doc):
/// loopback names and the listened address pass, other hosts do not; state-changing requests
/// from another site's page are refused, the server's own and loopback pages are not.
@Suite("Request origin policy")
struct RequestOriginPolicyTests {
    let local = RequestOriginPolicy(listenHost: "127.0.0.1", port: 11434)

    @Test("Host: loopback names and the listened address pass, others are refused")
    func hosts() {
        for host in ["127.0.0.1:11434", "localhost:11434", "LOCALHOST", "[::1]:11434", "127.0.0.2", "app.localhost:11434"] {
            #expect(local.refusal(method: .get, host: host, origin: nil) == nil, "\(host)")
        }
        for host in ["evil.example", "evil.example:11434", "127.0.0.1.evil.example", "10.0.0.1:11434", "[2001:db8::1]:11434"] {
            #expect(local.refusal(method: .get, host: host, origin: nil)?.contains("--allowed-hosts") == true, "\(host)")
        }
        #expect(local.refusal(method: .get, host: nil, origin: nil) == nil, "no Host: not a browser")
        let lan = RequestOriginPolicy(listenHost: "192.168.1.5", port: 11434)
        #expect(lan.refusal(method: .get, host: "192.168.1.5:11434", origin: nil) == nil)
        let allowed = RequestOriginPolicy(listenHost: "127.0.0.1", port: 8080, allowedHosts: ["hub.example.com"])
        #expect(allowed.refusal(method: .get, host: "hub.example.com", origin: nil) == nil)
        #expect(allowed.refusal(method: .get, host: "other.example.com", origin: nil) != nil)
    }

    @Test("a server on every address answers any Host, unless --allowed-hosts names some")
    func wildcard() {
        let open = RequestOriginPolicy(listenHost: "0.0.0.0", port: 11434)
        #expect(open.refusal(method: .get, host: "models.example.com", origin: nil) == nil)
        let named = RequestOriginPolicy(listenHost: "0.0.0.0", port: 11434, allowedHosts: ["models.example.com"])
        #expect(named.refusal(method: .get, host: "models.example.com", origin: nil) == nil)
        #expect(named.refusal(method: .get, host: "rebind.example", origin: nil) != nil)
    }

    @Test("Origin: another site's page may read (GET) but not change (POST, PUT, PATCH, DELETE)")
    func origins() {
        let host = "127.0.0.1:11434"
        for method in [HTTPRequest.Method.post, .put, .patch, .delete] {
            #expect(local.refusal(method: method, host: host, origin: "http://evil.example")?.contains("--allowed-origins") == true)
            #expect(local.refusal(method: method, host: host, origin: "null") != nil, "a sandboxed page's origin")
        }
        #expect(local.refusal(method: .get, host: host, origin: "http://evil.example") == nil)
        #expect(local.refusal(method: .post, host: host, origin: nil) == nil, "curl and SDKs send no Origin")
        #expect(local.refusal(method: .post, host: host, origin: "http://127.0.0.1:11434") == nil, "its own pages")
        #expect(local.refusal(method: .post, host: host, origin: "http://localhost:11434/") == nil, "loopback on its port")
        #expect(local.refusal(method: .post, host: host, origin: "http://localhost:3000") != nil, "another local port is another site")
        #expect(local.refusal(method: .post, host: "hub.example.com", origin: "https://hub.example.com") != nil, "a Host that is not allowed")
        let proxied = RequestOriginPolicy(listenHost: "127.0.0.1", port: 8080, allowedHosts: ["hub.example.com"])
        #expect(proxied.refusal(method: .post, host: "hub.example.com", origin: "https://hub.example.com") == nil, "its own origin behind a proxy")
        #expect(proxied.refusal(method: .post, host: "hub.example.com:443", origin: "https://hub.example.com") == nil, "the same, port written")
        #expect(proxied.refusal(method: .post, host: "hub.example.com:8443", origin: "https://hub.example.com") != nil, "another port is another origin")
        let studio = RequestOriginPolicy(listenHost: "127.0.0.1", port: 11434, allowedOrigins: ["http://localhost:3000", "https://studio.example/"])
        #expect(studio.refusal(method: .post, host: host, origin: "http://localhost:3000") == nil)
        #expect(studio.refusal(method: .post, host: host, origin: "https://studio.example") == nil)
        #expect(studio.refusal(method: .post, host: host, origin: "http://localhost:3001") != nil)
        let any = RequestOriginPolicy(listenHost: "127.0.0.1", port: 11434, allowedOrigins: ["*"])
        #expect(any.refusal(method: .post, host: host, origin: "http://evil.example") == nil)
    }
}
