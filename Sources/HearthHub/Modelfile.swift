/// A parsed Modelfile: Ollama's recipe for a model (`FROM`, `PARAMETER`, `TEMPLATE`, `SYSTEM`,
/// `ADAPTER`, `LICENSE`, `MESSAGE`), as its docs/modelfile.md gives the syntax.
///
/// Instructions are case-insensitive; `#` starts a comment line. A value is the rest of the
/// line, or a `"quoted"` string, or a `"""triple-quoted"""` one that may span lines. In Hearth,
/// `TEMPLATE` is a Jinja chat template, the language GGUF files carry theirs in. Hearth adds
/// two instructions: `README` (the model card: a file, or text) and `PARENT` (the sha256 of
/// the GGUF file this model was made from, for lineage).
public struct Modelfile: Sendable, Equatable {
    public struct Message: Sendable, Equatable, Codable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    /// A model name or a path to a GGUF file.
    public var from: String
    public var parameters = ModelParameters()
    public var template: String?
    public var system: String?
    public var adapters: [String] = []
    public var licenses: [String] = []
    public var messages: [Message] = []
    /// The model card: a path, or the text itself when it spans lines.
    public var readme: String?
    /// The digest of the model this one was quantized or fine-tuned from.
    public var parent: String?

    public init(from: String) { self.from = from }

    /// Parses a Modelfile's text; `source` names it in errors (with the line).
    public init(parsing text: String, source: String = "Modelfile") throws(HubError) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }[...]
        var from: String?
        var result = Modelfile(from: "")
        var lineNumber = 0
        func fail(_ message: String) -> HubError { HubError("\(source) line \(lineNumber): \(message)") }

        while let line = lines.popFirst() {
            lineNumber += 1
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let (word, rest) = trimmed.splitFirstWord()
            let start = lineNumber
            /// The value that starts with `text`, reading more lines for a triple-quoted one.
            func value(_ text: Substring, _ what: String) throws(HubError) -> String {
                if text.hasPrefix("\"\"\"") {
                    var body = String(text.dropFirst(3))
                    while true {
                        if let end = body.range(of: "\"\"\"") {
                            guard body[end.upperBound...].trimmingWhitespace().isEmpty else {
                                throw fail("text after the closing \"\"\" of \(what)")
                            }
                            return String(body[..<end.lowerBound])
                        }
                        guard let next = lines.popFirst() else {
                            lineNumber = start
                            throw fail("the \"\"\" opened here for \(what) is never closed")
                        }
                        lineNumber += 1
                        body += "\n" + next
                    }
                }
                if text.hasPrefix("\"") {
                    guard text.count >= 2, text.hasSuffix("\"") else { throw fail("the quote of \(what) is not closed on its line") }
                    return String(text.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
                }
                return String(text)
            }
            let instruction = word.uppercased()
            switch instruction {
            case "FROM":
                guard from == nil else { throw fail("a second FROM; a Modelfile has one") }
                let v = try value(rest, "FROM")
                guard !v.isEmpty else { throw fail("FROM needs a model name or a GGUF file") }
                from = v
            case "PARAMETER":
                let (name, raw) = rest.splitFirstWord()
                guard !name.isEmpty, !raw.isEmpty else { throw fail("write PARAMETER NAME VALUE") }
                let v = try value(raw, "PARAMETER \(name)")
                do { try result.parameters.set(name.lowercased(), v) } catch { throw fail(error.message) }
            case "TEMPLATE":
                guard result.template == nil else { throw fail("a second TEMPLATE") }
                result.template = try value(rest, "TEMPLATE")
            case "SYSTEM":
                guard result.system == nil else { throw fail("a second SYSTEM") }
                result.system = try value(rest, "SYSTEM")
            case "ADAPTER":
                let v = try value(rest, "ADAPTER")
                guard !v.isEmpty else { throw fail("ADAPTER needs a file") }
                result.adapters.append(v)
            case "LICENSE":
                result.licenses.append(try value(rest, "LICENSE"))
            case "README":
                guard result.readme == nil else { throw fail("a second README") }
                result.readme = try value(rest, "README")
            case "PARENT":
                let v = try value(rest, "PARENT")
                do { _ = try Digest(parsing: v) } catch { throw fail("PARENT takes the sha256 digest of a GGUF file: \(error.message)") }
                result.parent = v
            case "MESSAGE":
                let (role, raw) = rest.splitFirstWord()
                guard ["system", "user", "assistant"].contains(role.lowercased()) else {
                    throw fail("MESSAGE takes the role system, user or assistant, not '\(role)'")
                }
                result.messages.append(Message(role: role.lowercased(), content: try value(raw, "MESSAGE")))
            default:
                throw fail("unknown instruction '\(word)'; a Modelfile has FROM, PARAMETER, TEMPLATE, SYSTEM, ADAPTER, LICENSE, MESSAGE, README and PARENT")
            }
        }
        guard let from else { throw HubError("\(source) has no FROM line: it must name the model to start from") }
        result.from = from
        self = result
    }

    /// The Modelfile's text, which parses back to `self`.
    public var text: String {
        func quoted(_ s: String) -> String {
            s.contains("\n") || s.contains("\"") || s.hasPrefix(" ") || s.hasSuffix(" ") ? "\"\"\"\(s)\"\"\"" : s
        }
        var out = "FROM \(from)\n"
        if let template { out += "TEMPLATE \(quoted(template))\n" }
        if let system { out += "SYSTEM \(quoted(system))\n" }
        for (name, value) in parameters.lines {
            out += "PARAMETER \(name) \(value.contains(" ") || value.contains("\"") || value.isEmpty ? "\"\(value.replacingOccurrences(of: "\"", with: "\\\""))\"" : value)\n"
        }
        for a in adapters { out += "ADAPTER \(a)\n" }
        for l in licenses { out += "LICENSE \(quoted(l))\n" }
        for m in messages { out += "MESSAGE \(m.role) \(quoted(m.content))\n" }
        if let readme { out += "README \(quoted(readme))\n" }
        if let parent { out += "PARENT \(parent)\n" }
        return out
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> SubSequence {
        var s = self[...]
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }

    /// The first word and the rest after the whitespace that follows it.
    func splitFirstWord() -> (Substring, Substring) {
        let s = Substring(self)
        guard let space = s.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (s, "") }
        return (s[..<space], s[space...].trimmingWhitespace())
    }
}
