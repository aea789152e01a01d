/// Turns template source into tokens the way jinja2's lexer does, including its whitespace rules
/// (`-` and `+` markers, `trim_blocks`, `lstrip_blocks`, newline normalisation), because those
/// rules decide every byte of output between tags.

/// A lexical token with the place where it starts.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
        case eof
    }
    var kind: Kind
    var pos: SourcePos
}

/// Whitespace settings of the lexer (see ``ChatTemplate/Options``).
struct LexerSettings: Sendable {
    var trimBlocks: Bool
    var lstripBlocks: Bool
    var keepTrailingNewline: Bool
}

/// Maps scalar offsets to 1-based line/column.
struct LineTable {
    private var starts: [Int] = [0]
    init(_ source: [Unicode.Scalar]) {
        for (i, c) in source.enumerated() where c == "\n" { starts.append(i + 1) }
    }
    func pos(_ offset: Int) -> SourcePos {
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourcePos(line: lo + 1, column: offset - starts[lo] + 1)
    }
}

struct Lexer {
    private let src: [Unicode.Scalar]
    private let settings: LexerSettings
    let lines: LineTable
    private var tokens: [Token] = []

    // Operators, longest first so that `//` wins over `/` and `**` over `*`.
    private static let operators: [String] = [
        "//", "**", "==", "!=", ">=", "<=",
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
    ]

    init(_ source: String, settings: LexerSettings) {
        // jinja2 normalises \r\n and \r to \n before lexing and, unless keep_trailing_newline,
        // drops one trailing newline.
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.unicodeScalars.count)
        var it = source.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = it.next()
        while let c = pending {
            pending = it.next()
            if c == "\r" {
                scalars.append("\n")
                if pending == "\n" { pending = it.next() }
            } else {
                scalars.append(c)
            }
        }
        if !settings.keepTrailingNewline, scalars.last == "\n" { scalars.removeLast() }
        self.src = scalars
        self.settings = settings
        self.lines = LineTable(scalars)
    }

    private func error(_ message: String, at offset: Int) -> TemplateError {
        let p = lines.pos(min(offset, src.count))
        return TemplateError(.syntax, message, line: p.line, column: p.column)
    }

    private func string(_ a: Int, _ b: Int) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: src[a..<b])
        return String(s)
    }

    private func matches(_ literal: String, at i: Int) -> Bool {
        var j = i
        for c in literal.unicodeScalars {
            guard j < src.count, src[j] == c else { return false }
            j += 1
        }
        return true
    }

    private func skipSpace(from i: Int) -> Int {
        var j = i
        while j < src.count, PyText.isSpace(src[j]) { j += 1 }
        return j
    }

    private mutating func emit(_ kind: Token.Kind, at offset: Int) {
        tokens.append(Token(kind: kind, pos: lines.pos(offset)))
    }

    /// Text before a tag after jinja2's rules: `-` strips all trailing whitespace; otherwise, with
    /// lstrip_blocks and a block/comment tag, spaces between the last line start and the tag go.
    private func stripText(_ a: Int, _ b: Int, sign: Unicode.Scalar?, lstrippable: Bool, lineStarting: Bool) -> Int {
        if sign == "-" {
            var e = b
            while e > a, PyText.isSpace(src[e - 1]) { e -= 1 }
            return e
        }
        guard sign != "+", settings.lstripBlocks, lstrippable else { return b }
        var lineStart = a
        var k = b
        while k > a {
            if src[k - 1] == "\n" { lineStart = k; break }
            k -= 1
        }
        guard lineStart > a || lineStarting, lineStart < b else { return b }
        for j in lineStart..<b where !PyText.isSpace(src[j]) { return b }
        return lineStart
    }

    mutating func tokenize() throws(TemplateError) -> [Token] {
        var pos = 0
        var lineStarting = true
        let n = src.count
        while pos < n {
            var start = pos
            var found = -1
            while start + 1 < n {
                if src[start] == "{", src[start + 1] == "{" || src[start + 1] == "%" || src[start + 1] == "#" {
                    found = start
                    break
                }
                start += 1
            }
            if found < 0 {
                emit(.text(string(pos, n)), at: pos)
                break
            }
            let kind = src[found + 1]
            var sign: Unicode.Scalar? = nil
            if found + 2 < n, src[found + 2] == "-" || src[found + 2] == "+" { sign = src[found + 2] }
            let afterOpen = found + 2 + (sign == nil ? 0 : 1)
            let rawEnd = kind == "%" ? rawBeginEnd(afterOpen) : nil
            let textEnd = stripText(pos, found, sign: sign, lstrippable: kind != "{", lineStarting: lineStarting)
            if textEnd > pos { emit(.text(string(pos, textEnd)), at: pos) }
            if let rawEnd {
                pos = try lexRaw(from: rawEnd, lineStarting: src[rawEnd - 1] == "\n")
                lineStarting = pos > 0 && src[pos - 1] == "\n"
            } else if kind == "#" {
                pos = try lexComment(from: afterOpen, open: found)
                lineStarting = src[pos - 1] == "\n"
            } else {
                emit(kind == "{" ? .variableBegin : .blockBegin, at: found)
                pos = try lexTag(from: afterOpen, isBlock: kind == "%")
                lineStarting = pos > 0 && src[pos - 1] == "\n"
            }
        }
        emit(.eof, at: n)
        return tokens
    }

    /// If `{%` at this point opens `{% raw %}`, the offset just after the tag.
    private func rawBeginEnd(_ i: Int) -> Int? {
        var j = skipSpace(from: i)
        guard matches("raw", at: j) else { return nil }
        j = skipSpace(from: j + 3)
        if matches("-%}", at: j) { return skipSpace(from: j + 3) }
        if matches("%}", at: j) { return j + 2 }
        return nil
    }

    /// Raw text up to `{% endraw %}`; returns the offset after the closing tag.
    private mutating func lexRaw(from i: Int, lineStarting: Bool) throws(TemplateError) -> Int {
        var p = i
        while p + 1 < src.count {
            if src[p] == "{", src[p + 1] == "%" {
                var j = p + 2
                var sign: Unicode.Scalar? = nil
                if j < src.count, src[j] == "-" || src[j] == "+" { sign = src[j]; j += 1 }
                j = skipSpace(from: j)
                if matches("endraw", at: j) {
                    j = skipSpace(from: j + 6)
                    if let end = blockEnd(at: j) {
                        let textEnd = stripText(i, p, sign: sign, lstrippable: true, lineStarting: lineStarting)
                        if textEnd > i { emit(.text(string(i, textEnd)), at: i) }
                        return end
                    }
                }
            }
            p += 1
        }
        throw error("Missing end of raw directive", at: i)
    }

    /// The offset after a block end tag at `j` (`+%}`, `-%}` plus whitespace, `%}` plus the newline
    /// trim_blocks removes), or nil when none is there.
    private func blockEnd(at j: Int) -> Int? {
        if matches("+%}", at: j) { return j + 3 }
        if matches("-%}", at: j) { return skipSpace(from: j + 3) }
        if matches("%}", at: j) {
            if settings.trimBlocks, j + 2 < src.count, src[j + 2] == "\n" { return j + 3 }
            return j + 2
        }
        return nil
    }

    private func lexComment(from i: Int, open: Int) throws(TemplateError) -> Int {
        var p = i
        while p < src.count {
            if matches("+#}", at: p) { return p + 3 }
            if matches("-#}", at: p) { return skipSpace(from: p + 3) }
            if matches("#}", at: p) {
                if settings.trimBlocks, p + 2 < src.count, src[p + 2] == "\n" { return p + 3 }
                return p + 2
            }
            p += 1
        }
        throw error("Missing end of comment tag", at: open)
    }

    /// Tokens inside `{{ }}` or `{% %}`; returns the offset after the end tag. End tags count only
    /// while brackets are balanced, so `{{ {'a': {'b': 1}} }}` works as in jinja2.
    private mutating func lexTag(from i: Int, isBlock: Bool) throws(TemplateError) -> Int {
        var p = i
        var balance: [Unicode.Scalar] = []
        let n = src.count
        while true {
            if balance.isEmpty {
                if isBlock, let end = blockEnd(at: p) {
                    emit(.blockEnd, at: p)
                    return end
                }
                if !isBlock {
                    if matches("-}}", at: p) { emit(.variableEnd, at: p); return skipSpace(from: p + 3) }
                    if matches("}}", at: p) { emit(.variableEnd, at: p); return p + 2 }
                }
            }
            guard p < n else { return p }  // the parser reports the missing end tag
            let c = src[p]
            if PyText.isSpace(c) { p += 1; continue }
            if c.properties.numericType == .decimal, c.isASCII {
                p = try lexNumber(p)
                continue
            }
            if c == "_" || c.properties.isXIDStart {
                var j = p + 1
                while j < n, src[j] == "_" || src[j].properties.isXIDContinue { j += 1 }
                emit(.name(string(p, j)), at: p)
                p = j
                continue
            }
            if c == "'" || c == "\"", let (value, end) = lexString(p) {
                emit(.string(value), at: p)
                p = end
                continue
            }
            guard let op = Lexer.operators.first(where: { matches($0, at: p) }) else {
                throw error("unexpected char '\(Character(c))'", at: p)
            }
            switch op {
            case "{": balance.append("}")
            case "(": balance.append(")")
            case "[": balance.append("]")
            case "}", ")", "]":
                guard let expected = balance.popLast() else { throw error("unexpected '\(op)'", at: p) }
                if String(expected) != op { throw error("unexpected '\(op)', expected '\(expected)'", at: p) }
            default: break
            }
            emit(.op(op), at: p)
            p += op.unicodeScalars.count
        }
    }

    private func isDigit(_ i: Int) -> Bool { i < src.count && src[i].value >= 48 && src[i].value <= 57 }

    /// Digits with single underscores between them (`1_000`), from `i`; returns the end.
    private func digitRun(_ i: Int) -> Int {
        var j = i
        while isDigit(j) || (src.indices.contains(j) && src[j] == "_" && j > i && isDigit(j + 1)) { j += 1 }
        return j
    }

    private mutating func lexNumber(_ p: Int) throws(TemplateError) -> Int {
        // Floats first, as jinja2 does: 1.5, 1e5, 1.5e-3 (not after a dot: `x.0.1`).
        let intEnd = digitRun(p)
        if p == 0 || src[p - 1] != "." {
            var j = intEnd
            var isFloat = false
            if j < src.count, src[j] == ".", isDigit(j + 1) { j = digitRun(j + 1); isFloat = true }
            if j < src.count, src[j] == "e" || src[j] == "E" {
                var k = j + 1
                if k < src.count, src[k] == "+" || src[k] == "-" { k += 1 }
                if isDigit(k) { j = digitRun(k); isFloat = true }
            }
            if isFloat {
                let text = string(p, j).replacingAll("_", with: "")
                guard let value = Double(text) else { throw error("invalid number '\(text)'", at: p) }
                emit(.float(value), at: p)
                return j
            }
        }
        // Prefixed integers: 0x1F, 0o17, 0b101.
        if src[p] == "0", p + 1 < src.count {
            let radixChar = Character(src[p + 1]).lowercased()
            let radix = radixChar == "x" ? 16 : radixChar == "o" ? 8 : radixChar == "b" ? 2 : 0
            if radix != 0 {
                var j = p + 2
                var digits = ""
                while j < src.count, src[j] == "_" || Int(String(src[j]), radix: radix) != nil {
                    if src[j] != "_" { digits.unicodeScalars.append(src[j]) }
                    j += 1
                }
                if !digits.isEmpty {
                    guard let v = Int(digits, radix: radix) else { throw error("integer too large", at: p) }
                    emit(.integer(v), at: p)
                    return j
                }
            }
            // jinja2 reads "0" followed by more digits as separate tokens; so do we.
            emit(.integer(0), at: p)
            var j = p + 1
            while j < src.count, src[j] == "0" || (src[j] == "_" && j + 1 < src.count && src[j + 1] == "0") { j += 1 }
            return j
        }
        let text = string(p, intEnd).replacingAll("_", with: "")
        guard let v = Int(text) else { throw error("integer too large for HearthTemplate (64-bit)", at: p) }
        emit(.integer(v), at: p)
        return intEnd
    }

    /// A quoted string literal at `p`, unescaped like Python's `unicode-escape` codec; nil when
    /// unterminated (the caller then reports the quote as an unexpected character, like jinja2).
    private func lexString(_ p: Int) -> (String, Int)? {
        let quote = src[p]
        var j = p + 1
        var out = String.UnicodeScalarView()
        while j < src.count {
            let c = src[j]
            if c == quote { return (String(out), j + 1) }
            if c == "\\", j + 1 < src.count {
                let e = src[j + 1]
                j += 2
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "v": out.append("\u{0B}")
                case "\n": break  // backslash-newline continues the line
                case "x", "u", "U":
                    let width = e == "x" ? 2 : e == "u" ? 4 : 8
                    var hex = ""
                    var k = j
                    while k < src.count, hex.count < width, src[k].properties.isASCIIHexDigit {
                        hex.unicodeScalars.append(src[k]); k += 1
                    }
                    if hex.count == width, let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) {
                        out.append(s); j = k
                    } else {
                        out.append("\\"); out.append(e)
                    }
                case "0"..."7":
                    var v = e.value - 48
                    var k = j
                    while k < src.count, k < j + 2, src[k].value >= 48, src[k].value <= 55 {
                        v = v * 8 + src[k].value - 48; k += 1
                    }
                    out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                    j = k
                default:
                    out.append("\\"); out.append(e)  // unknown escapes stay as written
                }
                continue
            }
            out.append(c)
            j += 1
        }
        return nil
    }
}

extension String {
    /// Replaces every occurrence of `target` (compared by Unicode scalars, as Python does).
    func replacingAll(_ target: String, with replacement: String) -> String {
        PyText.replace(self, target, replacement, count: -1)
    }
}
