import Foundation
import Yams

/// A model card: a `README.md` whose YAML front matter (between `---` lines at the top) gives
/// the fields the Hugging Face Hub indexes: `license`, `base_model`, `tags`, `datasets`,
/// `language`. A field may be one string or a list of them.
public struct ModelCard: Sendable, Equatable {
    public var license: String?
    public var baseModels: [String] = []
    public var tags: [String] = []
    public var datasets: [String] = []
    public var languages: [String] = []
    /// The Markdown after the front matter.
    public var body: String

    /// Parses a card; a malformed front matter is an error naming what is wrong.
    public init(parsing text: String) throws(HubError) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first?.trimmingCharacters(in: .whitespaces) == "---" else {
            body = text
            return
        }
        guard let end = lines.dropFirst().firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "---" }) else {
            throw HubError("the model card's front matter (opened by '---' on line 1) is never closed")
        }
        let yaml = lines[1..<end].joined(separator: "\n")
        lines.removeSubrange(0...end)
        body = lines.joined(separator: "\n")
        // Anchors and aliases are refused before YAML sees the text: a few hundred bytes of
        // nested aliases expand to gigabytes (a "billion laughs"), on every page view.
        if let line = Self.lineWithAnchorOrAlias(yaml) {
            throw HubError("the model card's front matter uses a YAML anchor or alias (& or *) on line \(line + 1); they are not allowed in a card (quote a value that starts with & or *)")
        }
        let node: Any?
        do { node = try Yams.load(yaml: yaml) } catch { throw HubError("the model card's front matter is not valid YAML: \(error)") }
        guard let fields = node as? [String: Any] ?? (node == nil ? [:] : nil) else {
            throw HubError("the model card's front matter must be a mapping of fields")
        }
        func strings(_ key: String) throws(HubError) -> [String] {
            switch fields[key] {
            case nil: return []
            case let s as String: return [s]
            case let list as [Any]:
                var out: [String] = []
                for item in list {
                    guard let s = item as? String ?? (item as? CustomStringConvertible)?.description else {
                        throw HubError("the model card's '\(key)' must hold strings")
                    }
                    out.append(s)
                }
                return out
            case let other as CustomStringConvertible: return [other.description]
            default: throw HubError("the model card's '\(key)' must be a string or a list of strings")
            }
        }
        let licenses = try strings("license")
        guard licenses.count <= 1 else { throw HubError("the model card names \(licenses.count) licenses; 'license' takes one") }
        license = licenses.first
        baseModels = try strings("base_model")
        tags = try strings("tags")
        datasets = try strings("datasets")
        languages = try strings("language")
    }

    /// The index of the first line of `yaml` with an anchor (`&name`) or an alias (`*name`):
    /// an `&` or `*` that starts a node (at the start of the line, or after a space, `[`, `{`,
    /// `,`, `:`, `-` or `?`) outside quotes and comments, followed by a name.
    static func lineWithAnchorOrAlias(_ yaml: String) -> Int? {
        let nodeStart = " \t[{,:-?"
        for (index, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var quote: Character?, previous: Character = " "
            let characters = Array(line)
            for (i, c) in characters.enumerated() {
                defer { previous = c }
                if let q = quote {
                    if c == q { quote = nil }
                    continue
                }
                // A quote opens a quoted scalar only where a node starts (not the ' of "it's").
                if (c == "\"" || c == "'") && nodeStart.contains(previous) { quote = c; continue }
                if c == "#" && (previous == " " || i == 0) { break }
                if (c == "&" || c == "*"), nodeStart.contains(previous), i + 1 < characters.count, !characters[i + 1].isWhitespace {
                    return index
                }
            }
        }
        return nil
    }
}
