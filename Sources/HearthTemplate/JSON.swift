/// JSON in both directions, matching Python's `json` module byte for byte: `tojson` must print
/// tool schemas exactly as the model saw them in training, and test fixtures must keep object
/// key order (Foundation's JSONSerialization does not).
enum JSONWriter {
    struct Style {
        /// Escape everything outside printable ASCII as `\uXXXX` (Python's default).
        var ensureASCII: Bool
        var sortKeys: Bool
        /// nil: one line. Otherwise newlines, with this string repeated per level.
        var indent: String?
        /// (item separator, key separator); nil picks Python's defaults for the indent mode.
        var separators: (String, String)?
        /// jinja2's own `tojson`: `<`, `>`, `&`, `'` become `\u003c`, `\u003e`, `\u0026`, `\u0027`.
        var htmlSafe: Bool
    }

    static func dumps(_ value: Value, _ style: Style) throws(TemplateError) -> String {
        var out = ""
        let seps = style.separators ?? (style.indent == nil ? (", ", ": ") : (",", ": "))
        try write(value, style, seps, level: 0, into: &out)
        if style.htmlSafe {
            var safe = ""
            for c in out.unicodeScalars {
                switch c {
                case "<": safe += "\\u003c"
                case ">": safe += "\\u003e"
                case "&": safe += "\\u0026"
                case "'": safe += "\\u0027"
                default: safe.unicodeScalars.append(c)
                }
            }
            return safe
        }
        return out
    }

    private static func write(_ v: Value, _ style: Style, _ seps: (String, String), level: Int, into out: inout String) throws(TemplateError) {
        guard level < 512 else { throw TemplateError(.limit, "value nested too deeply for tojson") }
        switch v {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += PyNumber.repr(d) }
        case .string(let s): writeString(s, ascii: style.ensureASCII, into: &out)
        case .list(let items), .tuple(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += seps.0 }
                newline(style, level + 1, into: &out)
                try write(item, style, seps, level: level + 1, into: &out)
            }
            newline(style, level, into: &out)
            out += "]"
        case .dict(let d):
            if d.count == 0 { out += "{}"; return }
            var pairs = d.pairs
            if style.sortKeys { pairs.sort { PyText.less($0.0, $1.0) } }
            out += "{"
            for (i, (k, item)) in pairs.enumerated() {
                if i > 0 { out += seps.0 }
                newline(style, level + 1, into: &out)
                writeString(k, ascii: style.ensureASCII, into: &out)
                out += seps.1
                try write(item, style, seps, level: level + 1, into: &out)
            }
            newline(style, level, into: &out)
            out += "}"
        default:
            throw TemplateError(.runtime, "Object of type \(v.typeName) is not JSON serializable")
        }
    }

    private static func newline(_ style: Style, _ level: Int, into out: inout String) {
        guard let indent = style.indent else { return }
        out += "\n"
        for _ in 0..<level { out += indent }
    }

    private static func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    static func writeString(_ s: String, ascii: Bool, into out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 || (ascii && c.value > 0x7E) {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += "\\u" + hex4(0xD800 + (v >> 10)) + "\\u" + hex4(0xDC00 + (v & 0x3FF))
                    } else {
                        out += "\\u" + hex4(c.value)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out += "\""
    }
}

/// A small JSON parser that keeps object keys in document order.
struct JSONReader {
    private let s: [Unicode.Scalar]
    private var i = 0
    private var depth = 0

    init(_ text: String) { s = Array(text.unicodeScalars) }

    private func fail(_ message: String) -> TemplateError {
        TemplateError(.runtime, "invalid JSON at offset \(i): \(message)")
    }

    private mutating func skipSpace() {
        while i < s.count, s[i] == " " || s[i] == "\n" || s[i] == "\r" || s[i] == "\t" { i += 1 }
    }

    mutating func document() throws(TemplateError) -> TemplateValue {
        let v = try value()
        skipSpace()
        guard i == s.count else { throw fail("trailing characters") }
        return v
    }

    private mutating func literal(_ word: String, _ v: TemplateValue) throws(TemplateError) -> TemplateValue {
        for c in word.unicodeScalars {
            guard i < s.count, s[i] == c else { throw fail("unexpected character") }
            i += 1
        }
        return v
    }

    private mutating func value() throws(TemplateError) -> TemplateValue {
        skipSpace()
        guard i < s.count else { throw fail("unexpected end") }
        switch s[i] {
        case "{":
            depth += 1
            defer { depth -= 1 }
            guard depth < 512 else { throw fail("nested too deeply") }
            i += 1
            var pairs: [(String, TemplateValue)] = []
            skipSpace()
            if i < s.count, s[i] == "}" { i += 1; return .object(pairs) }
            while true {
                skipSpace()
                guard i < s.count, s[i] == "\"" else { throw fail("expected a key") }
                let k = try string()
                skipSpace()
                guard i < s.count, s[i] == ":" else { throw fail("expected ':'") }
                i += 1
                let v = try value()
                if let j = pairs.firstIndex(where: { PyText.equal($0.0, k) }) { pairs[j].1 = v } else { pairs.append((k, v)) }
                skipSpace()
                guard i < s.count else { throw fail("unexpected end") }
                if s[i] == "," { i += 1; continue }
                if s[i] == "}" { i += 1; return .object(pairs) }
                throw fail("expected ',' or '}'")
            }
        case "[":
            depth += 1
            defer { depth -= 1 }
            guard depth < 512 else { throw fail("nested too deeply") }
            i += 1
            var items: [TemplateValue] = []
            skipSpace()
            if i < s.count, s[i] == "]" { i += 1; return .array(items) }
            while true {
                items.append(try value())
                skipSpace()
                guard i < s.count else { throw fail("unexpected end") }
                if s[i] == "," { i += 1; continue }
                if s[i] == "]" { i += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case "\"": return .string(try string())
        case "t": return try literal("true", .bool(true))
        case "f": return try literal("false", .bool(false))
        case "n": return try literal("null", .none)
        case "N": return try literal("NaN", .double(.nan))
        case "I": return try literal("Infinity", .double(.infinity))
        default: return try number()
        }
    }

    private mutating func number() throws(TemplateError) -> TemplateValue {
        let start = i
        if i < s.count, s[i] == "-" {
            i += 1
            if i < s.count, s[i] == "I" { return try literal("Infinity", .double(-.infinity)) }
        }
        var isInteger = true
        while i < s.count {
            let c = s[i]
            if c.value >= 48 && c.value <= 57 { i += 1; continue }
            if c == "." || c == "e" || c == "E" || ((c == "+" || c == "-") && (s[i - 1] == "e" || s[i - 1] == "E")) {
                isInteger = false
                i += 1
                continue
            }
            break
        }
        let text = PyText.make(s[start..<i])
        if isInteger, let v = Int(text) { return .int(v) }
        guard !text.isEmpty, text != "-", let d = Double(text) else { throw fail("bad number '\(text)'") }
        return .double(d)
    }

    private mutating func hex4() throws(TemplateError) -> UInt32 {
        guard i + 4 <= s.count, let v = UInt32(PyText.make(s[i..<(i + 4)]), radix: 16) else { throw fail("bad \\u escape") }
        i += 4
        return v
    }

    private mutating func string() throws(TemplateError) -> String {
        i += 1  // opening quote
        var out = String.UnicodeScalarView()
        while i < s.count {
            let c = s[i]
            i += 1
            if c == "\"" { return String(out) }
            guard c == "\\" else { out.append(c); continue }
            guard i < s.count else { break }
            let e = s[i]
            i += 1
            switch e {
            case "\"": out.append("\"")
            case "\\": out.append("\\")
            case "/": out.append("/")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "u":
                var v = try hex4()
                if v >= 0xD800, v < 0xDC00, i + 6 <= s.count, s[i] == "\\", s[i + 1] == "u" {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if low >= 0xDC00, low < 0xE000 { v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00) } else { i = save }
                }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            default: throw fail("bad escape")
            }
        }
        throw fail("unterminated string")
    }
}

extension Value {
    /// Converts context data, refusing nesting deeper than `limit` (deep input must not be able
    /// to exhaust the stack).
    static func converting(_ t: TemplateValue, limit: Int, level: Int = 0) throws(TemplateError) -> Value {
        guard level < limit else { throw TemplateError(.limit, "context value nested deeper than \(limit) levels") }
        switch t {
        case .array(let a):
            var items: [Value] = []
            items.reserveCapacity(a.count)
            for x in a { items.append(try converting(x, limit: limit, level: level + 1)) }
            return .list(items)
        case .object(let pairs):
            var d = Dict()
            for (k, v) in pairs { d[k] = try converting(v, limit: limit, level: level + 1) }
            return .dict(d)
        default:
            return Value(t)
        }
    }
}
