/// Python `str` behaviour over Swift strings.
///
/// Swift compares and slices strings by grapheme clusters under canonical equivalence; Python
/// works on code points. Chat templates index, slice, strip and split message text, so these
/// helpers work on Unicode scalars to give Python's answers (`len("👍🏽") == 2`,
/// `"e\u{301}".startswith("e")`).
enum PyText {
    /// Python's `str.isspace()` set (also what `\s`, `strip()` and `split()` use).
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    static func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

    static func make<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    static func count(_ s: String) -> Int { s.unicodeScalars.count }

    static func equal(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    /// Code point order, as Python's `<` on strings.
    static func less(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }

    /// `str.strip/lstrip/rstrip(chars)`; `chars == nil` strips whitespace.
    static func strip(_ s: String, _ chars: String?, leading: Bool = true, trailing: Bool = true) -> String {
        let a = scalars(s)
        let set = chars.map { Set($0.unicodeScalars) }
        func strippable(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isSpace(c) }
        var lo = 0, hi = a.count
        if leading { while lo < hi, strippable(a[lo]) { lo += 1 } }
        if trailing { while hi > lo, strippable(a[hi - 1]) { hi -= 1 } }
        return make(a[lo..<hi])
    }

    /// Offsets of `needle` in `hay` (non-overlapping, left to right), at most `limit` of them.
    static func occurrences(_ hay: [Unicode.Scalar], _ needle: [Unicode.Scalar], from: Int = 0, limit: Int = .max) -> [Int] {
        var out: [Int] = []
        guard !needle.isEmpty else { return out }
        var i = from
        while i + needle.count <= hay.count, out.count < limit {
            if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(i)
                i += needle.count
            } else {
                i += 1
            }
        }
        return out
    }

    /// `str.find(sub)`; -1 when absent.
    static func find(_ s: String, _ sub: String, reverse: Bool = false) -> Int {
        let h = scalars(s), n = scalars(sub)
        if n.isEmpty { return reverse ? h.count : 0 }
        guard n.count <= h.count else { return -1 }
        let range = Array(0...(h.count - n.count))
        for i in (reverse ? range.reversed() : range) where h[i..<(i + n.count)].elementsEqual(n) { return i }
        return -1
    }

    /// `str.count(sub)`.
    static func countOccurrences(_ s: String, _ sub: String) -> Int {
        let h = scalars(s), n = scalars(sub)
        if n.isEmpty { return h.count + 1 }
        return occurrences(h, n).count
    }

    /// `str.replace(old, new, count)`; `count < 0` replaces all. An empty `old` inserts `new`
    /// between all characters, as Python does.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let h = scalars(s), o = scalars(old), r = scalars(new)
        var out: [Unicode.Scalar] = []
        let limit = count < 0 ? Int.max : count
        if o.isEmpty {
            var done = 0
            for c in h {
                if done < limit { out += r; done += 1 }
                out.append(c)
            }
            if done < limit { out += r }
            return make(out)
        }
        var last = 0
        for i in occurrences(h, o, limit: limit) {
            out += h[last..<i]
            out += r
            last = i + o.count
        }
        out += h[last...]
        return make(out)
    }

    /// `str.split(sep, maxsplit)`; `sep == nil` splits on whitespace runs and drops empty parts.
    static func split(_ s: String, _ sep: String?, maxsplit: Int = -1) throws(TemplateError) -> [String] {
        let h = scalars(s)
        let limit = maxsplit < 0 ? Int.max : maxsplit
        guard let sep else {
            var parts: [String] = []
            var i = 0
            while i < h.count {
                while i < h.count, isSpace(h[i]) { i += 1 }
                guard i < h.count else { break }
                if parts.count == limit {
                    var end = h.count
                    while end > i, isSpace(h[end - 1]) { end -= 1 }
                    parts.append(make(h[i..<end]))
                    break
                }
                var j = i
                while j < h.count, !isSpace(h[j]) { j += 1 }
                parts.append(make(h[i..<j]))
                i = j
            }
            return parts
        }
        let n = scalars(sep)
        guard !n.isEmpty else { throw TemplateError(.runtime, "empty separator") }
        var parts: [String] = []
        var last = 0
        for i in occurrences(h, n, limit: limit) {
            parts.append(make(h[last..<i]))
            last = i + n.count
        }
        parts.append(make(h[last...]))
        return parts
    }

    /// `str.rsplit(sep, maxsplit)`.
    static func rsplit(_ s: String, _ sep: String?, maxsplit: Int = -1) throws(TemplateError) -> [String] {
        if maxsplit < 0 { return try split(s, sep) }
        // Split the reversed string with the reversed separator, then undo the reversal.
        let reversed = make(scalars(s).reversed())
        let rsep = sep.map { make(scalars($0).reversed()) }
        return try split(reversed, rsep, maxsplit: maxsplit).reversed().map { make(scalars($0).reversed()) }
    }

    /// `str.splitlines()`: Python's line boundaries, separators dropped.
    static func splitlines(_ s: String) -> [String] {
        let h = scalars(s)
        var parts: [String] = []
        var start = 0, i = 0
        while i < h.count {
            let c = h[i].value
            if c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D || c == 0x1C || c == 0x1D || c == 0x1E
                || c == 0x85 || c == 0x2028 || c == 0x2029
            {
                parts.append(make(h[start..<i]))
                if c == 0x0D, i + 1 < h.count, h[i + 1] == "\n" { i += 1 }
                start = i + 1
            }
            i += 1
        }
        if start < h.count { parts.append(make(h[start...])) }
        return parts
    }

    static func upper(_ s: String) -> String { s.uppercased() }
    static func lower(_ s: String) -> String { s.lowercased() }

    /// `str.capitalize()`: first character in title case, the rest lower case.
    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        let rest = make(s.unicodeScalars.dropFirst())
        return first.properties.titlecaseMapping + rest.lowercased()
    }

    /// `str.title()`: title case at each start of a run of cased letters.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            out += previousCased ? c.properties.lowercaseMapping : c.properties.titlecaseMapping
            previousCased = c.properties.isCased
        }
        return out
    }

    /// jinja2's `title` filter: upper-cases the first character of every word, where words begin
    /// after spaces, `-`, `(`, `{`, `[` or `<`, and lower-cases the rest.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atWordStart = true
        for c in s.unicodeScalars {
            let isBreak = isSpace(c) || c == "-" || c == "(" || c == "{" || c == "[" || c == "<"
            if isBreak {
                out.unicodeScalars.append(c)
                atWordStart = true
            } else if atWordStart {
                out += String(c).uppercased()
                atWordStart = false
            } else {
                out += String(c).lowercased()
            }
        }
        return out
    }

    static func isLower(_ s: String) -> Bool {
        var cased = false
        for c in s.unicodeScalars {
            if c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter { return false }
            if c.properties.isLowercase { cased = true }
        }
        return cased
    }

    static func isUpper(_ s: String) -> Bool {
        var cased = false
        for c in s.unicodeScalars {
            if c.properties.isLowercase || c.properties.generalCategory == .titlecaseLetter { return false }
            if c.properties.isUppercase { cased = true }
        }
        return cased
    }

    /// Python's `repr()` of a string: single quotes unless the text has `'` and no `"`;
    /// non-printable characters escaped.
    static func repr(_ s: String) -> String {
        let hasSingle = s.unicodeScalars.contains("'"), hasDouble = s.unicodeScalars.contains("\"")
        let quote: Unicode.Scalar = hasSingle && !hasDouble ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case quote: out.append("\\"); out.append(c)
            default:
                if isPrintable(c) {
                    out.append(c)
                } else {
                    let hex = String(c.value, radix: 16)
                    let (prefix, width) = c.value < 0x100 ? ("\\x", 2) : c.value < 0x10000 ? ("\\u", 4) : ("\\U", 8)
                    out.append(contentsOf: (prefix + String(repeating: "0", count: width - hex.count) + hex).unicodeScalars)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    /// Python's `str.isprintable()` for one character: everything but control, format,
    /// surrogate, private-use, unassigned and separator characters (the space excepted).
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        if c == " " { return true }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }
}
