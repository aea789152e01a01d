import ArgumentParser
import Foundation
import HearthEngine
import HearthEval
import HearthHub
import HearthServer

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "Run a self-hosted model hub, and manage its users and tokens.",
        discussion: """
        A hub keeps models pushed with hearth push and serves them with the registry
        protocol Ollama uses (/v2/...). Its data folder holds the blobs and manifests
        (store/), uploads in progress (uploads/), a SQLite database (hub.sqlite) of
        users, tokens, repositories and evaluation results, and the hub's own runs of
        pushed evaluations (reproductions/).

          hearth hub serve --data ~/hub --port 8080
          hearth hub user add alice --data ~/hub          (asks for a password)
          hearth hub org add acme --member alice --data ~/hub
          hearth login localhost:8080 --user alice   (or --token from hearth hub token)
          hearth push smollm2 localhost:8080/alice/smollm2:q4_1
          hearth pull localhost:8080/alice/smollm2:q4_1
          hearth eval smollm2 --tasks core --push localhost:8080
          hearth hub reproduce --data ~/hub     (or hearth hub serve --reproduce)
        """,
        subcommands: [HubServeCommand.self, HubUserCommand.self, HubOrganisationCommand.self, HubTokenCommand.self, HubPrivateCommand.self,
                      HubReproduceCommand.self])
}

struct HubDataOption: ParsableArguments {
    @Option(help: "The hub's data folder (default: HEARTH_HUB_DATA, else ~/.hearth-hub).")
    var data: String?

    func open(maxBlobBytes: Int = 64 << 30) throws -> Registry {
        let path = (data ?? ProcessInfo.processInfo.environment["HEARTH_HUB_DATA"] ?? "~/.hearth-hub" as String)
        do { return try Registry(root: (path as NSString).expandingTildeInPath, maxBlobBytes: maxBlobBytes) } catch { throw CLIError(error.message) }
    }
}

/// Where the hub looks for the task files of pushed evaluations, and how it runs them.
struct ReproduceOptions: ParsableArguments {
    @Option(name: .customLong("tasks"), help: ArgumentHelp("A folder of task files to reproduce evaluations with, searched by sha256 (repeatable; default: DATA/tasks and the BIG-bench cache). The built-in suites are always searched.", valueName: "DIR"))
    var taskDirectories: [String] = []
    @Option(name: .customLong("reproduce-threads"), help: ArgumentHelp("Threads a reproduction computes with.", valueName: "N"))
    var threads: Int = defaultThreadCount

    func validate() throws { try OptionChecks.threads(threads) }

    func reproducer(_ registry: Registry) -> EvalReproducer {
        let bigbench = (ProcessInfo.processInfo.environment["HEARTH_BIGBENCH"] ?? "~/.cache/hearth/bigbench" as String)
        let builtin = (try? BuiltinSuite.installed()).map { [$0.root] } ?? []
        let directories = (taskDirectories.isEmpty ? [registry.root + "/tasks", bigbench] : taskDirectories) + builtin
        return EvalReproducer(registry: registry, taskDirectories: directories.map { ($0 as NSString).expandingTildeInPath },
                              threads: threads, version: hearthVersion) { printError($0) }
    }
}

struct HubServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the hub over HTTP.")

    @OptionGroup var data: HubDataOption
    @Flag(help: "Run pushed evaluations again in the background and mark those whose scores hold.")
    var reproduce = false
    @OptionGroup var reproduceOptions: ReproduceOptions
    @Option(help: "Address to listen on; 0.0.0.0 opens the hub to the network.")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on.")
    var port = 8080
    @Option(name: .customLong("max-blob"), help: "Largest blob an upload may hold, in GiB.")
    var maxBlobGiB: Double = 64
    @OptionGroup var connections: ConnectionOptions

    func validate() throws {
        if !(1...65535).contains(port) { throw ValidationError("--port must be between 1 and 65535 (got \(port))") }
        if !(maxBlobGiB > 0 && maxBlobGiB <= 1_048_576) { throw ValidationError("--max-blob must be between 0 and 1048576 GiB (got \(maxBlobGiB))") }
    }

    func run() async throws {
        let registry = try data.open(maxBlobBytes: Int(maxBlobGiB * Double(1 << 30)))
        let users = (try? registry.database.users().count) ?? 0
        let reproducer = reproduce ? reproduceOptions.reproducer(registry) : nil
        reproducer?.start()
        let app = buildHubApplication(registry: registry, host: host, port: port, version: hearthVersion, reproducer: reproducer,
                                      allowedHosts: connections.hosts, allowedOrigins: connections.origins, idleTimeoutSeconds: connections.idleTimeout) {
            printError("hearth hub \(hearthVersion) listening on http://\(host):\(port) (registry under /v2), data in \(registry.root), \(users) user\(users == 1 ? "" : "s")")
            if let reproducer { printError("reproducing pushed evaluations with the task files in \(reproducer.taskDirectories.joined(separator: ", "))") }
        }
        do { try await app.runService() } catch {
            if "\(error)".contains("Address already in use") { throw CLIError("cannot listen on \(host):\(port): the port is in use; choose another with --port") }
            throw CLIError("the hub stopped: \(error)")
        }
    }
}

struct HubReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce", abstract: "Run pushed evaluations again and mark whether their scores hold.",
        discussion: """
        Without IDs, every result not tried yet; with IDs, those (again). A result is
        reproduced when the hub has its model file and task files (found by sha256)
        and its own run gives the same scores: accuracies within 0.5 points, other
        metrics within 0.1%. The hub's samples and report stay in
        DATA/reproductions/ID.
          hearth hub reproduce --data ~/hub --tasks ~/tasks
        """)

    @OptionGroup var data: HubDataOption
    @OptionGroup var options: ReproduceOptions
    @Argument(help: "Result IDs (default: all unchecked).")
    var ids: [Int] = []

    func run() throws {
        let reproducer = options.reproducer(try data.open())
        let outcomes = try wrap { () throws(HubError) in
            if ids.isEmpty { return try reproducer.reproduceUnchecked() }
            return try ids.map { id throws(HubError) in
                let outcome = try reproducer.reproduce(id: id)
                return (id, outcome.state, outcome.detail)
            }
        }
        if outcomes.isEmpty { print("no unchecked results") }
        for (id, state, detail) in outcomes { print("result \(id): \(state.rawValue): \(detail)") }
    }
}

struct HubUserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Add a user (who owns the namespace of the same name), remove one, or list them.",
        discussion: """
          The password is read from --password-file, or asked for on the terminal, or read
          from standard input. Removing a user removes their tokens, likes and memberships;
          their models stay, and nobody can push to their namespace until a user of that
          name is added again.

            hearth hub user add alice --data ~/hub
            hearth hub user remove alice --data ~/hub
            hearth hub user list --data ~/hub
          """)

    @OptionGroup var data: HubDataOption
    @Argument(help: "'add NAME', 'remove NAME' or 'list'.")
    var action: String
    @Argument(help: "The user's name (letters, digits, '.', '_', '-').")
    var name: String?
    @Option(name: .customLong("password-file"), help: "A file holding the password.")
    var passwordFile: String?

    func run() throws {
        let registry = try data.open()
        switch action {
        case "list":
            for u in try wrap({ () throws(HubError) in try registry.database.users() }) { print(u) }
        case "add":
            guard let name else { throw ValidationError("write: hearth hub user add NAME") }
            let password = try readPassword(file: passwordFile)
            try wrap { () throws(HubError) in try registry.database.addUser(name, password: password) }
            print("added \(name); make a token with hearth hub token \(name) --scope write")
        case "remove":
            guard let name else { throw ValidationError("write: hearth hub user remove NAME") }
            try wrap { () throws(HubError) in try registry.database.removeUser(name) }
            print("removed \(name), with their tokens")
        default:
            throw ValidationError("the action is 'add', 'remove' or 'list', not '\(action)'")
        }
    }
}

struct HubOrganisationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Add an organisation (a namespace its members push to), change its members, or list them.",
        discussion: """
          hearth hub org add acme --member alice --member bob hearth hub org join acme
          carol        (leave: hearth hub org leave acme carol) hearth hub org list
        """)

    @OptionGroup var data: HubDataOption
    @Argument(help: "add, join, leave or list.")
    var action: String
    @Argument(help: "The organisation.")
    var organisation: String?
    @Argument(help: "The user (join, leave).")
    var user: String?
    @Option(help: "A member to add with the organisation (repeatable).")
    var member: [String] = []

    func run() throws {
        let registry = try data.open()
        let db = registry.database
        switch (action, organisation, user) {
        case ("list", nil, nil):
            for o in try wrap({ () throws(HubError) in try db.organisations() }) { print("\(o.name): \(o.members.joined(separator: ", "))") }
        case ("add", let org?, nil):
            try wrap { () throws(HubError) in try db.addOrganisation(org, members: member) }
            print("added the organisation \(org)\(member.isEmpty ? "" : " with \(member.joined(separator: ", "))")")
        case ("join", let org?, let u?), ("leave", let org?, let u?):
            try wrap { () throws(HubError) in try db.setMember(u, of: org, action == "join") }
            print("\(u) \(action == "join" ? "joined" : "left") \(org)")
        default:
            throw ValidationError("write: hearth hub org add ORG [--member USER ...] | join ORG USER | leave ORG USER | list")
        }
    }
}

struct HubTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Make an access token for a user (printed once; the hub keeps only its sha256), or revoke tokens.",
        discussion: """
            hearth hub token alice --scope write --data ~/hub     (prints the new token)
            hearth hub token --revoke hearth_0123... --data ~/hub
            hearth hub token alice --revoke-all --data ~/hub
          """)

    @OptionGroup var data: HubDataOption
    @Argument(help: "The user (to make a token for, or with --revoke-all).")
    var user: String?
    @Option(help: "read (pull private models) or write (also push).")
    var scope = "read"
    @Option(help: "A label to remember the token by.")
    var label = ""
    @Option(help: ArgumentHelp("Revoke this token (as it was printed).", valueName: "TOKEN"))
    var revoke: String?
    @Flag(name: .customLong("revoke-all"), help: "Revoke every token of the user.")
    var revokeAll = false

    func validate() throws {
        if revoke != nil && (user != nil || revokeAll) { throw ValidationError("--revoke TOKEN takes no user and no --revoke-all") }
        if revoke == nil && user == nil { throw ValidationError("name the user: hearth hub token USER [--scope write], or revoke with --revoke TOKEN") }
    }

    func run() throws {
        let registry = try data.open()
        if let revoke {
            guard try wrap({ () throws(HubError) in try registry.database.revokeToken(revoke) }) else { throw CLIError("this hub has no such token") }
            print("revoked the token")
            return
        }
        guard let user else { return }
        if revokeAll {
            let n = try wrap { () throws(HubError) in try registry.database.revokeTokens(user: user) }
            print("revoked \(n) token\(n == 1 ? "" : "s") of \(user)")
            return
        }
        guard let s = HubDatabase.Scope(rawValue: scope) else { throw ValidationError("--scope is read or write, not '\(scope)'") }
        print(try wrap { () throws(HubError) in try registry.database.createToken(user: user, scope: s, label: label) })
    }
}

struct HubPrivateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "private", abstract: "Make a repository private (only its owner sees it) or public again.")

    @OptionGroup var data: HubDataOption
    @Argument(help: "NAMESPACE/MODEL")
    var repository: String
    @Flag(help: "Make it public again.")
    var off = false

    func run() throws {
        let parts = repository.split(separator: "/").map(String.init)
        guard parts.count == 2 else { throw ValidationError("write the repository as NAMESPACE/MODEL") }
        let registry = try data.open()
        try wrap { () throws(HubError) in try registry.database.setPrivate(namespace: parts[0], name: parts[1], !off) }
        print("\(repository) is \(off ? "public" : "private")")
    }
}

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Log in to a hub, keeping its access token for push and pull (in HEARTH_HOME/credentials.json).",
        discussion: """
        With --user, the password (asked for on the terminal, or read from
        --password-file or standard input) is traded for a new write token. With
        --token, that token is checked and kept.
          hearth login localhost:8080 --user alice
          hearth login localhost:8080 --token hearth_...
        """)

    @Argument(help: "The hub: HOST[:PORT], such as localhost:8080.")
    var hub: String
    @Option(help: "Log in as this user, with their password.")
    var user: String?
    @Option(name: .customLong("password-file"), help: "A file holding the password.")
    var passwordFile: String?
    @Option(help: "A token made on the hub (hearth hub token).")
    var token: String?
    @Flag(help: "Use http even for a hub that is not on this machine.")
    var insecure = false

    func validate() throws {
        if (user == nil) == (token == nil) { throw ValidationError("give --user NAME or --token TOKEN") }
        if passwordFile != nil && user == nil { throw ValidationError("--password-file goes with --user") }
    }

    func run() async throws {
        let reference = try hubAddress(hub, insecure: insecure)
        let store = openStore()
        let client = HubClient(store: store)
        do {
            let kept: String
            if let user {
                let password = try readPassword(file: passwordFile)
                kept = try await client.login(baseURL: reference.baseURL, user: user, password: password)
            } else {
                kept = token!
                try await client.check(baseURL: reference.baseURL, token: kept)
            }
            try HubCredentials(store: store).save(kept, for: reference.name.host)
        } catch let e as HubError { throw CLIError(e.message) }
        print("logged in to \(reference.name.host)\(user.map { " as \($0)" } ?? "")")
    }
}

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Send a stored model to a hub.",
        discussion: """
        Blobs the hub has already are not sent again; the others go in chunks, and the
        hub checks each one's sha256 before it keeps it. Needs a write token (hearth
        login).
          hearth push smollm2 localhost:8080/alice/smollm2:q4_1
        """)

    @Argument(help: "The model in the store.")
    var name: String
    @Argument(help: "Where to: HOST[:PORT]/NAMESPACE/MODEL[:TAG].")
    var destination: String
    @Flag(help: "Use http even for a hub that is not on this machine.")
    var insecure = false

    func run() async throws {
        let local = try parseName(name)
        let remote = try hubReference(destination, insecure: insecure)
        let store = openStore()
        guard let stored = try wrap({ () throws(HubError) in try store.manifest(local) }) else {
            throw CLIError("no model '\(local)' in the store at '\(store.root)'")
        }
        let bar = SharedProgressBar("pushing", total: stored.totalSize)
        let start = Date()
        let sent: Int
        do {
            sent = try await HubClient(store: store).push(local, to: remote, token: HubCredentials(store: store).token(for: remote.name.host)) { done, _ in
                bar.update(done)
            }
        } catch { bar.finish(); throw CLIError(error.message) }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        print("pushed \(local) to \(remote): \(formatBytes(sent)) sent in \(format2(seconds)) s (\(formatBytes(Int(Double(sent) / max(seconds, 1e-9))))/s), \(formatBytes(stored.totalSize - sent)) already there")
    }
}

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull", abstract: "Fetch a model from a hub into the store.",
        discussion: """
        The blobs come in ranged requests in parallel; an interrupted pull resumes
        where it stopped, and every blob's sha256 is checked before it is kept. The
        model is stored under its hub name:
          hearth pull localhost:8080/alice/smollm2:q4_1
          hearth run localhost:8080/alice/smollm2:q4_1 "Hello"
        A GGUF file of a Hugging Face compatible hub (a Hearth hub, or the Hub itself)
        comes with hf://; it is stored as HOST/NAMESPACE/REPO:TAG (--as names it
        otherwise):
          hearth pull hf://alice/smollm2/model.gguf --endpoint http://localhost:8080
        """)

    @Argument(help: "HOST[:PORT]/NAMESPACE/MODEL[:TAG], or hf://NAMESPACE/REPO/FILE.gguf.")
    var source: String
    @Flag(help: "Use http even for a hub that is not on this machine.")
    var insecure = false
    @Option(help: "Ranged requests in flight at once.")
    var parallel = 4
    @Option(help: "For hf://: the hub's address (default: HF_ENDPOINT, else https://huggingface.co).")
    var endpoint: String?
    @Option(help: "For hf://: the branch, tag or commit.")
    var revision = "main"
    @Option(name: .customLong("as"), help: "For hf://: the name to store the model under.")
    var storeName: String?

    func validate() throws { if parallel < 1 || parallel > 64 { throw ValidationError("--parallel must be between 1 and 64") } }

    func run() async throws {
        if source.hasPrefix("hf://") { return try await pullHuggingFace() }
        if endpoint != nil || storeName != nil { throw ValidationError("--endpoint and --as are for hf:// sources") }
        let remote = try hubReference(source, insecure: insecure)
        let store = openStore()
        let bar = SharedProgressBar("pulling", total: 0)
        let start = Date()
        let result: (manifest: StoredManifest, downloaded: Int, resumed: Int)
        do {
            result = try await HubClient(store: store, parallelDownloads: parallel).pull(remote, token: HubCredentials(store: store).token(for: remote.name.host)) { done, total in
                bar.update(done, total: total)
            }
        } catch { bar.finish(); throw CLIError(error.message) }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        let resumed = result.resumed > 0 ? ", \(formatBytes(result.resumed)) resumed from an earlier pull" : ""
        print("pulled \(remote.name) (\(result.manifest.digest.short)): \(formatBytes(result.downloaded)) downloaded in \(format2(seconds)) s (\(formatBytes(Int(Double(result.downloaded) / max(seconds, 1e-9))))/s)\(resumed)")
    }
}

extension PullCommand {
    func pullHuggingFace() async throws {
        let endpoint = endpoint ?? ProcessInfo.processInfo.environment["HF_ENDPOINT"] ?? "https://huggingface.co"
        let file = try wrap { () throws(HubError) in try HubClient.HuggingFaceFile(parsing: source, endpoint: endpoint, revision: revision) }
        guard let url = URL(string: endpoint), let host = url.host else { throw CLIError("--endpoint '\(endpoint)' is not a URL") }
        let parts = file.repository.split(separator: "/").map(String.init)
        let stem = ((file.file as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = try storeName.map(parseName) ?? wrap { () throws(HubError) in
            try ModelName(host: url.port.map { "\(host):\($0)" } ?? host, namespace: parts[0], model: parts[1],
                          tag: String(stem.unicodeScalars.map { s -> Character in
                              s.isASCII && (CharacterSet.alphanumerics.contains(s) || "._-".unicodeScalars.contains(s)) ? Character(s) : "_"
                          }.prefix(80)))
        }
        let store = openStore()
        let token = ProcessInfo.processInfo.environment["HF_TOKEN"] ?? HubCredentials(store: store).token(for: url.port.map { "\(host):\($0)" } ?? host)
        let bar = SharedProgressBar("pulling", total: 0)
        let start = Date()
        let result: (model: StoredModel, downloaded: Int, resumed: Int)
        do {
            result = try await HubClient(store: store, parallelDownloads: parallel).pullHuggingFace(file, as: name, token: token) { done, total in
                bar.update(done, total: total)
            }
        } catch { bar.finish(); throw CLIError(error.message) }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        print("pulled \(file.repository)/\(file.file) as \(name) (\(result.model.modelDigest)): \(formatBytes(result.downloaded)) downloaded in \(format2(seconds)) s")
    }
}

func hubReference(_ text: String, insecure: Bool) throws -> HubReference {
    do { return try HubReference(parsing: text, insecure: insecure) } catch { throw CLIError(error.message) }
}

/// A hub itself, `[http(s)://]HOST[:PORT]`, as login, eval --push and leaderboard take it (its
/// reference names a placeholder model; only `name.host` and `baseURL` mean anything).
func hubAddress(_ text: String, insecure: Bool) throws -> HubReference {
    var rest = Substring(text), scheme = ""
    for s in ["http://", "https://"] where rest.hasPrefix(s) {
        scheme = s
        rest = rest.dropFirst(s.count)
    }
    while rest.hasSuffix("/") { rest = rest.dropLast() }
    guard !rest.isEmpty, !rest.contains("/") else {
        throw CLIError("'\(text)' is not a hub: write HOST[:PORT], such as localhost:8080")
    }
    return try hubReference(scheme + rest + "/x/x", insecure: insecure)
}

/// Runs a HubError-throwing body, reporting its error as a CLI error.
func wrap<T>(_ body: () throws(HubError) -> T) throws -> T {
    do { return try body() } catch { throw CLIError(error.message) }
}

/// A password from a file, the terminal (asked twice), or standard input.
func readPassword(file: String?) throws -> String {
    if let file {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("cannot read --password-file '\(file)'") }
        return text.trimmingCharacters(in: .newlines)
    }
    if isatty(0) != 0 {
        guard let first = getpass("password: ").map({ String(cString: $0) }) else { throw CLIError("no password given") }
        guard let second = getpass("again: ").map({ String(cString: $0) }), first == second else { throw CLIError("the passwords differ") }
        return first
    }
    guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw CLIError("no password on standard input") }
    return line
}

/// A progress bar updated from concurrent transfers.
final class SharedProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var bar: ProgressBar
    private let label: String

    init(_ label: String, total: Int) {
        self.label = label
        bar = ProgressBar(label, total: total)
    }

    func update(_ done: Int, total: Int? = nil) {
        lock.lock(); defer { lock.unlock() }
        if let total, total != bar.total { bar = ProgressBar(label, total: total) }
        bar.update(done)
    }

    func finish() { lock.lock(); bar.finish(); lock.unlock() }
}
