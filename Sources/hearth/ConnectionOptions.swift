import ArgumentParser
import Foundation
import HearthServer

/// What `hearth serve` and `hearth hub serve` accept from clients: Host names and browser
/// origins beside the server's own (RequestOriginPolicy), and how long an idle connection lives.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp(
        "Seconds a connection may stay silent while sending a request, or between requests, before it is closed.", valueName: "SECONDS"))
    var idleTimeout = 60

    @Option(name: .customLong("allowed-hosts"), help: ArgumentHelp(
        "Host names the server answers to beside loopback names and --host, comma-separated (default: HEARTH_HOSTS; * for any), for a server behind a proxy or a DNS name.",
        valueName: "a,b,..."))
    var allowedHosts: String?

    @Option(name: .customLong("allowed-origins"), help: ArgumentHelp(
        "Web page origins (scheme://host[:port]) that may send requests that change something, comma-separated (default: HEARTH_ORIGINS; * for any). The server's own origin is always allowed.",
        valueName: "a,b,..."))
    var allowedOrigins: String?

    var hosts: [String] { RequestOriginPolicy.list(allowedHosts ?? ProcessInfo.processInfo.environment["HEARTH_HOSTS"]) }
    var origins: [String] { RequestOriginPolicy.list(allowedOrigins ?? ProcessInfo.processInfo.environment["HEARTH_ORIGINS"]) }

    func validate() throws {
        if !(1...86400).contains(idleTimeout) { throw ValidationError("--idle-timeout must be between 1 and 86400 seconds (got \(idleTimeout))") }
        for origin in origins where origin != "*" {
            guard let url = URLComponents(string: origin), ["http", "https"].contains(url.scheme ?? ""), url.host != nil, url.path.isEmpty || url.path == "/" else {
                throw ValidationError("--allowed-origins: '\(origin)' is not an origin (scheme://host[:port], like http://localhost:3000)")
            }
        }
    }
}
