import Foundation

/// Renders a model card's Markdown to HTML, in time linear in its length, with every text
/// escaped. The subset of CommonMark and GitHub's tables that model cards use: ATX headings,
/// paragraphs, fenced code, block quotes, lists (one level), rules, tables; inline code,
/// emphasis and strong emphasis, links, images and autolinks, hard line breaks.
///
/// Raw HTML is shown as text. A link or image whose URL, once its entities and escapes are
/// decoded and its control characters removed, is not `http:`, `https:`, `mailto:` or relative
/// is rendered as its text alone (so `&#106;avascript:` and `java\tscript:` are not links).
/// Attributes are escaped, so a URL cannot close its attribute.
///
/// Why linear: a card is pushed by anyone with a write token and rendered for every visitor;
/// a general Markdown parser's backtracking made a card of 50 `[` never finish. Here every
/// closing delimiter is found through a table of next occurrences built in one backward pass,
/// and nesting is bounded, so each character is looked at a bounded number of times.
public enum Markdown {
    /// Inline nesting (emphasis in a link in strong emphasis...) rendered at most.
    static let maxNesting = 4

    public static func html(_ text: String) -> String {
        var out = ""
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var i = 0
        var paragraph: [String] = []
        func flushParagraph() {
            guard !paragraph.isEmpty else { return }
            out += "<p>" + inline(paragraph.joined(separator: "\n")) + "</p>\n"
            paragraph = []
        }
        while i < lines.count {
            let line = lines[i]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { flushParagraph(); i += 1; continue }
            // Fenced code: everything up to the closing fence, as text.
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                flushParagraph()
                let fence = String(trimmed.prefix(3))
                var code: [String] = []
                i += 1
                while i < lines.count, !lines[i].trimmingCharacters(in: .whitespaces).hasPrefix(fence) { code.append(lines[i]); i += 1 }
                i += 1
                out += "<pre><code>" + escape(code.joined(separator: "\n")) + "</code></pre>\n"
                continue
            }
            if let level = headingLevel(trimmed) {
                flushParagraph()
                let content = trimmed.dropFirst(level).trimmingCharacters(in: .whitespaces)
                out += "<h\(level)>" + inline(content.trimmingCharacters(in: CharacterSet(charactersIn: "#")).trimmingCharacters(in: .whitespaces)) + "</h\(level)>\n"
                i += 1
                continue
            }
            if isRule(trimmed) && paragraph.isEmpty {
                out += "<hr>\n"
                i += 1
                continue
            }
            if trimmed.hasPrefix(">") {
                flushParagraph()
                var quoted: [String] = []
                while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces).hasPrefix(">") {
                    quoted.append(String(lines[i].trimmingCharacters(in: .whitespaces).dropFirst()).trimmingCharacters(in: .whitespaces))
                    i += 1
                }
                out += "<blockquote><p>" + inline(quoted.joined(separator: "\n")) + "</p></blockquote>\n"
                continue
            }
            if let (ordered, _) = listItem(trimmed) {
                flushParagraph()
                out += ordered ? "<ol>\n" : "<ul>\n"
                while i < lines.count, let (o, item) = listItem(lines[i].trimmingCharacters(in: .whitespaces)), o == ordered {
                    out += "<li>" + inline(item) + "</li>\n"
                    i += 1
                }
                out += ordered ? "</ol>\n" : "</ul>\n"
                continue
            }
            if trimmed.hasPrefix("|"), i + 1 < lines.count, isTableSeparator(lines[i + 1]) {
                flushParagraph()
                out += "<table>\n<tr>" + cells(trimmed).map { "<th>" + inline($0) + "</th>" }.joined() + "</tr>\n"
                i += 2
                while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces).hasPrefix("|") {
                    out += "<tr>" + cells(lines[i].trimmingCharacters(in: .whitespaces)).map { "<td>" + inline($0) + "</td>" }.joined() + "</tr>\n"
                    i += 1
                }
                out += "</table>\n"
                continue
            }
            paragraph.append(trimmed)
            i += 1
        }
        flushParagraph()
        return out
    }

    // MARK: blocks

    static func headingLevel(_ line: String) -> Int? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes) else { return nil }
        let rest = line.dropFirst(hashes)
        return rest.isEmpty || rest.first == " " ? hashes : nil
    }

    static func isRule(_ line: String) -> Bool {
        let marks = line.filter { $0 != " " }
        return marks.count >= 3 && (Set(marks) == ["-"] || Set(marks) == ["*"] || Set(marks) == ["_"])
    }

    /// Whether a line is a list item: `- `, `* `, `+ ` (unordered) or `1. `, `1) ` (ordered).
    static func listItem(_ line: String) -> (ordered: Bool, text: String)? {
        if let first = line.first, "-*+".contains(first), line.dropFirst().first == " ", !isRule(line) {
            return (false, String(line.dropFirst(2)))
        }
        let digits = line.prefix { $0.isASCII && $0.isNumber }
        guard (1...9).contains(digits.count) else { return nil }
        let rest = line.dropFirst(digits.count)
        guard let mark = rest.first, mark == "." || mark == ")", rest.dropFirst().first == " " else { return nil }
        return (true, String(rest.dropFirst(2)))
    }

    static func isTableSeparator(_ line: String) -> Bool {
        let t = line.trimmingCharacters(in: .whitespaces)
        return t.hasPrefix("|") && t.contains("-") && t.allSatisfy { "|-: ".contains($0) }
    }

    static func cells(_ line: String) -> [String] {
        var t = Substring(line)
        if t.hasPrefix("|") { t = t.dropFirst() }
        if t.hasSuffix("|") { t = t.dropLast() }
        return t.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    // MARK: inline

    /// Inline Markdown of one block. `next[c][i]` is the first index at or after `i` holding
    /// the character `c` (or `count`): every closing delimiter is found in constant time.
    static func inline(_ text: String) -> String {
        let chars = Array(text)
        var next: [Character: [Int]] = [:]
        for c in ["]", ")", ">", "*", "_", "`"] as [Character] {
            var table = [Int](repeating: chars.count, count: chars.count + 1)
            var i = chars.count - 1
            while i >= 0 {
                table[i] = chars[i] == c ? i : table[i + 1]
                i -= 1
            }
            next[c] = table
        }
        var out = ""
        render(chars, next, 0, chars.count, depth: 0, into: &out)
        return out
    }

    /// The longest span a link's URL or an autolink may take: past it, brackets are text.
    static let maxURL = 2048

    /// The first index in `from..<end` of `c`, or nil.
    static func find(_ c: Character, _ next: [Character: [Int]], from: Int, end: Int) -> Int? {
        guard from < end, let i = next[c]?[from], i < end else { return nil }
        return i
    }

    /// Renders `s[start..<end]`. `failed` remembers, per delimiter, the first position from
    /// which no closer was found before `end`: every later opener of the same delimiter at
    /// this level fails at once (without it, `*a *b *c ...` would be searched to the end from
    /// every `*`). Nested spans keep their own.
    static func render(_ s: [Character], _ next: [Character: [Int]], _ start: Int, _ end: Int, depth: Int, into out: inout String) {
        var failed: [String: Int] = [:]
        var i = start
        while i < end {
            let c = s[i]
            // A backslash escapes the punctuation after it.
            if c == "\\", i + 1 < end, s[i + 1].isPunctuation || s[i + 1].isSymbol {
                appendEscaped(s[i + 1], to: &out)
                i += 2
                continue
            }
            if c == "\n" {
                // Two spaces (or a backslash) before a newline break the line.
                out += out.hasSuffix("  ") ? "<br>\n" : "\n"
                i += 1
                continue
            }
            if c == "`", let close = find("`", next, from: i + 1, end: end) {
                out += "<code>" + escape(String(s[(i + 1)..<close])) + "</code>"
                i = close + 1
                continue
            }
            // `_` does not open or close inside a word (snake_case stays as it is).
            if depth < maxNesting, c == "*" || (c == "_" && (i == start || !(s[i - 1].isLetter || s[i - 1].isNumber))) {
                let strong = i + 1 < end && s[i + 1] == c
                let width = strong ? 2 : 1
                let key = "\(c)\(width)"
                let known = failed[key].map { $0 <= i + width } ?? false
                if !known {
                    if let close = closing(c, width: width, s, next, from: i + width, end: end) {
                        if close > i + width {
                            let tag = strong ? "strong" : "em"
                            out += "<\(tag)>"
                            render(s, next, i + width, close, depth: depth + 1, into: &out)
                            out += "</\(tag)>"
                            i = close + width
                            continue
                        }
                    } else {
                        failed[key] = i + width
                    }
                }
            }
            if depth < maxNesting, c == "[" || (c == "!" && i + 1 < end && s[i + 1] == "["), let link = link(s, next, at: i, end: end) {
                if link.image {
                    if let url = safeURL(link.url) {
                        out += "<img src=\"\(escape(url))\" alt=\"\(escape(String(s[link.text])))\">"
                    } else {
                        out += escape(String(s[link.text]))
                    }
                } else if let url = safeURL(link.url) {
                    out += "<a href=\"\(escape(url))\" rel=\"nofollow noopener\">"
                    render(s, next, link.text.lowerBound, link.text.upperBound, depth: depth + 1, into: &out)
                    out += "</a>"
                } else {
                    render(s, next, link.text.lowerBound, link.text.upperBound, depth: depth + 1, into: &out)
                }
                i = link.end
                continue
            }
            if c == "<", let close = find(">", next, from: i + 1, end: end), close - i <= maxURL {
                let inside = String(s[(i + 1)..<close])
                if (inside.hasPrefix("http://") || inside.hasPrefix("https://")), !inside.contains(where: { $0.isWhitespace || $0 == "<" }),
                   let url = safeURL(inside) {
                    out += "<a href=\"\(escape(url))\" rel=\"nofollow noopener\">\(escape(inside))</a>"
                    i = close + 1
                    continue
                }
            }
            appendEscaped(c, to: &out)
            i += 1
        }
    }

    /// The index of the delimiter closing `c` repeated `width` times, from `from`, or nil.
    static func closing(_ c: Character, width: Int, _ s: [Character], _ next: [Character: [Int]], from: Int, end: Int) -> Int? {
        var at = from
        // Each candidate is a run of `c`; runs are skipped whole, so this visits each
        // character of the span at most once per nesting level.
        while let j = find(c, next, from: at, end: end) {
            var run = 1
            while j + run < end && s[j + run] == c { run += 1 }
            let after = j + run < end ? s[j + run] : " "
            if run >= width, j > from, !s[j - 1].isWhitespace, c != "_" || !(after.isLetter || after.isNumber) { return j + run - width }
            at = j + run
        }
        return nil
    }

    /// A link or image at `i`: `[text](url)` or `![alt](url)`; nil when the brackets do not
    /// make one.
    static func link(_ s: [Character], _ next: [Character: [Int]], at i: Int, end: Int)
        -> (image: Bool, text: Range<Int>, url: String, end: Int)? {
        let image = s[i] == "!"
        let open = image ? i + 1 : i
        guard let close = find("]", next, from: open + 1, end: end), close + 1 < end, s[close + 1] == "(",
              let paren = find(")", next, from: close + 2, end: end), paren - close <= maxURL else { return nil }
        var url = String(s[(close + 2)..<paren]).trimmingCharacters(in: .whitespaces)
        // A title after the URL ("...") is dropped.
        if let space = url.firstIndex(of: " ") { url = String(url[..<space]) }
        if url.hasPrefix("<") && url.hasSuffix(">") { url = String(url.dropFirst().dropLast()) }
        guard !url.contains("\n") else { return nil }
        return (image, (open + 1)..<close, url, paren + 1)
    }

    /// The URL as an attribute may hold it, or nil when it is not http(s), mailto or
    /// relative once decoded (entities, backslash escapes, percent-encoded scheme, and the
    /// control characters and spaces browsers drop from a scheme).
    static func safeURL(_ raw: String) -> String? {
        let decoded = decodeEntities(raw).replacingOccurrences(of: "\\", with: "")
        let cleaned = String(decoded.unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7F }.map(Character.init))
        guard !cleaned.isEmpty else { return nil }
        let lower = (cleaned.removingPercentEncoding ?? cleaned).lowercased()
        if let colon = lower.firstIndex(of: ":") {
            let scheme = lower[..<colon]
            // A colon after a slash, ? or # is part of a relative URL, not a scheme.
            if !scheme.contains(where: { "/?#".contains($0) }) {
                guard ["http", "https", "mailto"].contains(String(scheme)) else { return nil }
            }
        }
        return cleaned
    }

    /// HTML character references decoded: named (the few that spell a scheme), decimal, hex.
    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = "", i = text.startIndex
        let named = ["colon": ":", "tab": "\t", "newline": "\n", "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "sol": "/", "num": "#"]
        while i < text.endIndex {
            if text[i] == "&", let semi = text[i...].prefix(12).firstIndex(of: ";") {
                let body = String(text[text.index(after: i)..<semi]).lowercased()
                var scalar: Unicode.Scalar?
                if body.hasPrefix("#x") { scalar = UInt32(body.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init) }
                else if body.hasPrefix("#") { scalar = UInt32(body.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init) }
                if let scalar { out.unicodeScalars.append(scalar); i = text.index(after: semi); continue }
                if let n = named[body] { out += n; i = text.index(after: semi); continue }
            }
            out.append(text[i])
            i = text.index(after: i)
        }
        return out
    }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s { appendEscaped(c, to: &out) }
        return out
    }

    static func appendEscaped(_ c: Character, to out: inout String) {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
}
