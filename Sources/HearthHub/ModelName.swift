/// A model's name in a store: `[host/][namespace/]model[:tag]`, as Ollama names models.
///
/// A name without a host is a local model (`host` is `local`); one pulled from a hub keeps
/// the hub's address as its host (`localhost:8080/alice/smollm2:q4`). The namespace defaults
/// to `library` and the tag to `latest`; `description` leaves the default host and namespace out.
///
/// Every part is checked so that it is a safe path component: letters, digits, `.`, `_` and
/// `-` only (a host may add one `:port`), starting with a letter or digit (a tag may start
/// with `_`), never containing `..`, at most 80 characters (a host 253).
public struct ModelName: Hashable, Sendable, CustomStringConvertible, Comparable {
    public static let localHost = "local"
    public static let defaultNamespace = "library"
    public static let defaultTag = "latest"

    public let host: String
    public let namespace: String
    public let model: String
    public let tag: String

    public init(host: String = localHost, namespace: String = defaultNamespace, model: String, tag: String = defaultTag) throws(HubError) {
        try Self.check(host, "host", allowColon: true, maxLength: 253)
        try Self.check(namespace, "namespace")
        try Self.check(model, "model name")
        try Self.check(tag, "tag", tag: true)
        self.host = host
        self.namespace = namespace
        self.model = model
        self.tag = tag
    }

    /// Parses `model`, `model:tag`, `namespace/model[:tag]` or `host/namespace/model[:tag]`.
    public init(parsing text: String) throws(HubError) {
        guard !text.isEmpty else { throw HubError("a model name is empty") }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 3, !parts.contains(where: \.isEmpty) else {
            throw HubError("'\(text)' is not a model name: write model[:tag], namespace/model[:tag] or host/namespace/model[:tag]")
        }
        var last = parts[parts.count - 1]
        var tag = Self.defaultTag
        if let colon = last.lastIndex(of: ":") {
            tag = String(last[last.index(after: colon)...])
            last = String(last[..<colon])
        }
        do {
            switch parts.count {
            case 1: try self.init(model: last, tag: tag)
            case 2: try self.init(namespace: parts[0], model: last, tag: tag)
            default: try self.init(host: parts[0], namespace: parts[1], model: last, tag: tag)
            }
        } catch {
            throw HubError("'\(text)' is not a model name: \(error.message)")
        }
    }

    private static func check(_ part: String, _ what: String, allowColon: Bool = false, tag: Bool = false, maxLength: Int = 80) throws(HubError) {
        guard !part.isEmpty else { throw HubError("the \(what) is empty") }
        guard part.utf8.count <= maxLength else { throw HubError("the \(what) is longer than \(maxLength) characters") }
        guard !part.contains("..") else { throw HubError("the \(what) '\(part)' contains '..'") }
        var colons = 0
        for (i, c) in part.utf8.enumerated() {
            let letterOrDigit = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            if i == 0 {
                guard letterOrDigit || (tag && c == 0x5F) else {
                    throw HubError("the \(what) '\(part)' must start with a letter or digit")
                }
                continue
            }
            if letterOrDigit || c == 0x2E || c == 0x5F || c == 0x2D { continue }
            if allowColon && c == 0x3A { colons += 1; if colons == 1 { continue } }
            throw HubError("the \(what) '\(part)' may hold only letters, digits, '.', '_' and '-'")
        }
    }

    public var isLocal: Bool { host == Self.localHost }

    /// The shortest text that parses back to this name.
    public var description: String {
        var s = model
        if !isLocal { s = "\(host)/\(namespace)/\(s)" } else if namespace != Self.defaultNamespace { s = "\(namespace)/\(s)" }
        return "\(s):\(tag)"
    }

    /// The repository part, `namespace/model`, as a registry addresses it.
    public var repository: String { "\(namespace)/\(model)" }

    public func withTag(_ tag: String) throws(HubError) -> ModelName {
        try ModelName(host: host, namespace: namespace, model: model, tag: tag)
    }

    public static func < (a: ModelName, b: ModelName) -> Bool { a.description < b.description }
}
