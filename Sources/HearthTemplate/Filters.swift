import Foundation

/// Binds call arguments to parameter names the way Python binds them for jinja2's filter
/// functions (positional first, then keywords; unknown keywords are errors).
struct Params {
    private var values: [String: Value] = [:]

    init(_ args: CallArgs, _ names: [String], _ function: String) throws(TemplateError) {
        guard args.positional.count <= names.count else {
            throw TemplateError(.runtime, "\(function)() takes at most \(names.count) argument(s) (\(args.positional.count) given)")
        }
        for (i, v) in args.positional.enumerated() { values[names[i]] = v }
        for (k, v) in args.keyword {
            guard names.contains(k) else { throw TemplateError(.runtime, "\(function)() got an unexpected keyword argument '\(k)'") }
            guard values[k] == nil else { throw TemplateError(.runtime, "\(function)() got multiple values for argument '\(k)'") }
            values[k] = v
        }
    }

    subscript(_ name: String) -> Value? { values[name] }

    func bool(_ name: String, _ fallback: Bool = false) -> Bool { values[name]?.truthy ?? fallback }

    func int(_ name: String, _ fallback: Int) throws(TemplateError) -> Int {
        switch values[name] {
        case nil, .none?: return fallback
        case .int(let i)?: return i
        case .bool(let b)?: return b ? 1 : 0
        case let v?: throw TemplateError(.runtime, "'\(name)' must be an integer, not \(v.typeName)")
        }
    }

    func string(_ name: String) -> String? {
        guard let v = values[name] else { return nil }
        if case .none = v { return nil }
        return v.str
    }
}

/// jinja2's built-in filters (the ones chat templates use; see the list in `known`).
enum Filters {
    static let known: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float", "forceescape", "slice",
        "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
        "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string",
        "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount",
    ]

    static func apply(_ name: String, _ value: Value, _ args: CallArgs, _ interp: Interpreter) throws(TemplateError) -> Value {
        switch name {
        case "default", "d":
            let p = try Params(args, ["default_value", "boolean"], name)
            if value.isUndefined || (p.bool("boolean") && !value.truthy) { return p["default_value"] ?? .string("") }
            return value
        case "length", "count":
            _ = try Params(args, [], name)
            return .int(try length(value))
        case "string":
            return .string(value.str)
        case "safe":
            return .string(value.str)  // Markup(str(value))
        case "list":
            return .list(try value.iterate())
        case "tojson":
            return .string(try toJSON(value, args, interp.options.tojson))
        case "items":
            switch value {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.pairs.map { .tuple([.string($0.0), $0.1]) })
            default: throw TemplateError(.runtime, "Can only get item pairs from a mapping.")
            }
        case "first":
            return try value.iterate().first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case .undefined = value { return .undefined("No last item, sequence was empty.") }
            return try value.iterate().last ?? .undefined("No last item, sequence was empty.")
        case "join":
            let p = try Params(args, ["d", "attribute"], name)
            var items = try value.iterate()
            if let attr = p["attribute"] { items = try items.map { v throws(TemplateError) in try attribute(v, attr, interp) } }
            return .string(items.map(\.str).joined(separator: p.string("d") ?? ""))
        // These start with `if value:` in jinja2, so a falsy non-iterable gives nothing, not an error.
        case "map":
            return .list(value.truthy ? try map(value, args, interp) : [])
        case "select", "reject":
            let items = value.truthy ? try value.iterate() : []
            return .list(try select(items, args, attribute: false, keep: name == "select", interp))
        case "selectattr", "rejectattr":
            let items = value.truthy ? try value.iterate() : []
            return .list(try select(items, args, attribute: true, keep: name == "selectattr", interp))
        case "sort":
            let p = try Params(args, ["reverse", "case_sensitive", "attribute"], name)
            let items = try value.iterate()
            // jinja2 sorts by a list of keys (one per comma-separated attribute), so equal keys
            // never get compared with `<`.
            var attributes: [Value?] = [nil]
            if let a = p["attribute"] { attributes = a.str.split(separator: ",").map { .string(String($0)) } }
            let keys = try items.map { v throws(TemplateError) -> Value in
                var parts: [Value] = []
                for attr in attributes {
                    let k = try attr.map { a throws(TemplateError) in try attribute(v, a, interp) } ?? v
                    parts.append(p.bool("case_sensitive") ? k : folded(k))
                }
                return .list(parts)
            }
            let sorted = try stableSort(Array(zip(keys, items)), reverse: p.bool("reverse"))
            return .list(sorted.map { $0.1 })
        case "dictsort":
            let p = try Params(args, ["case_sensitive", "by", "reverse"], name)
            guard case .dict(let d) = value else { throw TemplateError(.runtime, "You can only sort by either \"key\" or \"value\"") }
            let byValue = p.string("by") == "value"
            if let by = p.string("by"), by != "key", by != "value" {
                throw TemplateError(.runtime, "You can only sort by either \"key\" or \"value\"")
            }
            let caseSensitive = p.bool("case_sensitive")
            let entries = d.pairs.map { (k, v) -> (Value, Value) in
                let key = byValue ? v : .string(k)
                return (caseSensitive ? key : folded(key), .tuple([.string(k), v]))
            }
            return .list(try stableSort(entries, reverse: p.bool("reverse")).map { $0.1 })
        case "unique":
            let p = try Params(args, ["case_sensitive", "attribute"], name)
            var seen: [Value] = []
            var out: [Value] = []
            for v in try value.iterate() {
                var key = p["attribute"] != nil ? try attribute(v, p["attribute"] ?? .none, interp) : v
                if !p.bool("case_sensitive") { key = folded(key) }
                switch key {
                case .list, .dict, .namespace: throw TemplateError(.runtime, "unhashable type: '\(key.typeName)'")
                default: break
                }
                if !seen.contains(where: { Value.equal($0, key) }) {
                    seen.append(key)
                    out.append(v)
                }
            }
            return .list(out)
        case "min", "max":
            let p = try Params(args, ["case_sensitive", "attribute"], name)
            let items = try value.iterate()
            guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
            var bestKey = try sortKey(best, p, interp)
            for v in items.dropFirst() {
                let k = try sortKey(v, p, interp)
                if name == "min" ? try Value.less(k, bestKey) : try Value.less(bestKey, k) {
                    best = v
                    bestKey = k
                }
            }
            return best
        case "sum":
            let p = try Params(args, ["attribute", "start"], name)
            var total = p["start"] ?? .int(0)
            for v in try value.iterate() {
                let x = p["attribute"] != nil ? try attribute(v, p["attribute"] ?? .none, interp) : v
                total = try Operators.binary(.add, total, x, interp)
            }
            return total
        case "attr":
            // Python attributes only (methods, namespace and loop attributes), never items.
            let p = try Params(args, ["name"], name)
            let attr = p.string("name") ?? ""
            switch value {
            case .undefined(let u): throw Value.undefinedError(u)
            case .namespace, .loop: return try interp.getAttribute(value, attr)
            default: return Methods.bound(value, attr) ?? .undefined("'\(value.typeName) object' has no attribute '\(attr)'")
            }
        case "batch", "slice":
            let p = try Params(args, [name == "batch" ? "linecount" : "slices", "fill_with"], name)
            let n = try p.int(name == "batch" ? "linecount" : "slices", 0)
            guard n > 0 else { throw TemplateError(.runtime, "\(name) needs a positive count") }
            let items = try value.iterate()
            let fill = p["fill_with"].flatMap { v -> Value? in if case .none = v { return nil } else { return v } }
            return .list(name == "batch" ? batch(items, n, fill) : slices(items, n, fill))
        case "reverse":
            if case .string(let s) = value { return .string(PyText.make(s.unicodeScalars.reversed())) }
            return .list(try value.iterate().reversed())
        default:
            return try applyText(name, value, args, interp)
        }
    }

    /// Filters on text (jinja2 converts their input with `str()`, so Undefined reads as "").
    private static func applyText(_ name: String, _ value: Value, _ args: CallArgs, _ interp: Interpreter) throws(TemplateError) -> Value {
        switch name {
        case "trim":
            let p = try Params(args, ["chars"], name)
            return .string(PyText.strip(value.str, p.string("chars")))
        case "upper": return .string(PyText.upper(value.str))
        case "lower": return .string(PyText.lower(value.str))
        case "capitalize": return .string(PyText.capitalize(value.str))
        case "title": return .string(PyText.jinjaTitle(value.str))
        case "replace":
            let p = try Params(args, ["old", "new", "count"], name)
            guard let old = p.string("old"), let new = p.string("new") else {
                throw TemplateError(.runtime, "replace() missing required argument")
            }
            return .string(PyText.replace(value.str, old, new, count: try p.int("count", -1)))
        case "escape", "e", "forceescape":
            var out = ""
            for c in value.str.unicodeScalars {
                switch c {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&#34;"
                case "'": out += "&#39;"
                default: out.unicodeScalars.append(c)
                }
            }
            return .string(out)
        case "int", "float", "indent":
            // Python's int()/float() and indent's `s += "\n"` fail on Undefined instead of
            // treating it as empty; indent also needs a string.
            if case .undefined(let u) = value { throw Value.undefinedError(u) }
            if name == "indent", !isString(value) {
                throw TemplateError(.runtime, "unsupported operand type(s) for +=: '\(value.typeName)' and 'str'")
            }
            return try applyConverting(name, value, args, maxSize: interp.options.limits.maxOutputBytes)
        default:
            return try applyFormatting(name, value, args, interp)
        }
    }

    /// `int`, `float` and `indent`, which fail on Undefined.
    private static func applyConverting(_ name: String, _ value: Value, _ args: CallArgs, maxSize: Int) throws(TemplateError) -> Value {
        switch name {
        case "int":
            let p = try Params(args, ["default", "base"], name)
            return toInt(value, base: try p.int("base", 10)) ?? p["default"] ?? .int(0)
        case "float":
            let p = try Params(args, ["default"], name)
            return toFloat(value).map { .double($0) } ?? p["default"] ?? .double(0)
        default:
            let p = try Params(args, ["width", "first", "blank"], name)
            let indentation: String
            if case .string(let s)? = p["width"] {
                indentation = s
            } else {
                let width = try p.int("width", 4)
                if width > maxSize { throw TemplateError(.limit, "indent width larger than \(maxSize)") }
                indentation = String(repeating: " ", count: max(0, width))
            }
            // jinja2 appends a newline before splitting, so a trailing newline survives.
            let lines = PyText.splitlines(value.str + "\n")
            var rv: String
            if p.bool("blank") {
                rv = lines.joined(separator: "\n" + indentation)
            } else {
                rv = lines.first ?? ""
                let rest = lines.dropFirst()
                if !rest.isEmpty { rv += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n") }
            }
            if p.bool("first") { rv = indentation + rv }
            return .string(rv)
        }
    }

    /// Numbers, padding, word counts, printf-style formatting and truncation.
    private static func applyFormatting(_ name: String, _ value: Value, _ args: CallArgs, _ interp: Interpreter) throws(TemplateError) -> Value {
        switch name {
        case "abs":
            switch value {
            case .int(let i):
                guard i != .min else { throw Operators.overflow("abs") }
                return .int(abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(abs(d))
            case .undefined(let u): throw Value.undefinedError(u)
            default: throw TemplateError(.runtime, "bad operand type for abs(): '\(value.typeName)'")
            }
        case "round":
            let p = try Params(args, ["precision", "method"], name)
            return try round(value, precision: try p.int("precision", 0), method: p.string("method") ?? "common")
        case "center":
            let p = try Params(args, ["width"], name)
            let s = value.str
            let width = try p.int("width", 80), n = PyText.count(s)
            guard width > n else { return .string(s) }
            try interp.checkSize(width)
            let pad = width - n
            let left = pad / 2 + (pad & width & 1)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: pad - left))
        case "wordcount":
            var count = 0, inWord = false
            for c in value.str.unicodeScalars {
                let word = c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
                if word, !inWord { count += 1 }
                inWord = word
            }
            return .int(count)
        case "format":
            if !args.keyword.isEmpty {
                guard args.positional.isEmpty else {
                    throw TemplateError(.runtime, "can't handle positional and keyword arguments at the same time")
                }
                var d = Dict()
                for (k, v) in args.keyword { d[k] = v }
                return .string(try PercentFormat.format(value.str, .dict(d), maxSize: interp.options.limits.maxOutputBytes))
            }
            return .string(try PercentFormat.format(value.str, .tuple(args.positional), maxSize: interp.options.limits.maxOutputBytes))
        case "truncate":
            let p = try Params(args, ["length", "killwords", "end", "leeway"], name)
            let length = try p.int("length", 255), end = p.string("end") ?? "...", leeway = try p.int("leeway", 5)
            let endCount = PyText.count(end)
            guard length >= endCount else { throw TemplateError(.runtime, "expected length >= \(endCount), got \(length)") }
            guard leeway >= 0 else { throw TemplateError(.runtime, "expected leeway >= 0, got \(leeway)") }
            // jinja2 takes len() of the value itself and returns short values unchanged.
            if try Filters.length(value) <= length + leeway { return value }
            guard isString(value) else { throw TemplateError(.runtime, "can only truncate strings") }
            let s = PyText.scalars(value.str)
            let head = PyText.make(s.prefix(length - endCount))
            if p.bool("killwords") { return .string(head + end) }
            return .string((try PyText.rsplit(head, " ", maxsplit: 1).first ?? "") + end)
        default:
            throw TemplateError(.runtime, "No filter named '\(name)' found.")
        }
    }

    /// jinja2's `batch`: runs of `n` items, the last padded with `fill` when given.
    private static func batch(_ items: [Value], _ n: Int, _ fill: Value?) -> [Value] {
        var out: [Value] = []
        var start = 0
        while start < items.count {
            var chunk = Array(items[start..<min(items.count, start + n)])
            if let fill { while chunk.count < n { chunk.append(fill) } }
            out.append(.list(chunk))
            start += n
        }
        return out
    }

    /// jinja2's `slice`: `n` columns, the first `count % n` one item longer; shorter columns get
    /// `fill` appended when given.
    private static func slices(_ items: [Value], _ n: Int, _ fill: Value?) -> [Value] {
        let perSlice = items.count / n, extra = items.count % n
        var out: [Value] = []
        var offset = 0
        for k in 0..<min(n, 1 << 20) {
            let start = offset + k * perSlice
            if k < extra { offset += 1 }
            let end = offset + (k + 1) * perSlice
            var column = Array(items[min(start, items.count)..<min(end, items.count)])
            if let fill, k >= extra { column.append(fill) }
            out.append(.list(column))
        }
        return out
    }

    private static func isString(_ v: Value) -> Bool {
        if case .string = v { return true }
        return false
    }

    static func length(_ v: Value) throws(TemplateError) -> Int {
        switch v {
        case .undefined: return 0
        case .string(let s): return PyText.count(s)
        case .list(let a), .tuple(let a): return a.count
        case .dict(let d): return d.count
        default: throw TemplateError(.runtime, "object of type '\(v.typeName)' has no len()")
        }
    }

    /// jinja2's `tojson`: transformers' plain `json.dumps` by default, or jinja2's own HTML-safe,
    /// key-sorted, ASCII-only variant.
    static func toJSON(_ value: Value, _ args: CallArgs, _ mode: ChatTemplate.JSONFilter) throws(TemplateError) -> String {
        func indentString(_ v: Value?) throws(TemplateError) -> String? {
            switch v {
            case nil, .none?: return nil
            case .int(let n)?:
                guard n <= 1 << 16 else { throw TemplateError(.limit, "tojson indent larger than 65536") }
                return String(repeating: " ", count: max(0, n))
            case .string(let s)?: return s
            case let other?: throw TemplateError(.runtime, "indent must be an int or a string, not \(other.typeName)")
            }
        }
        switch mode {
        case .jinja2:
            let p = try Params(args, ["indent"], "tojson")
            return try JSONWriter.dumps(value, .init(ensureASCII: true, sortKeys: true, indent: try indentString(p["indent"]),
                                                     separators: nil, htmlSafe: true))
        case .huggingFace:
            let p = try Params(args, ["ensure_ascii", "indent", "separators", "sort_keys"], "tojson")
            var separators: (String, String)? = nil
            if let s = p["separators"], case .none = s {} else if let s = p["separators"] {
                guard let pair = s.sequence, pair.count == 2 else { throw TemplateError(.runtime, "separators must be a pair of strings") }
                separators = (pair[0].str, pair[1].str)
            }
            return try JSONWriter.dumps(value, .init(ensureASCII: p.bool("ensure_ascii"), sortKeys: p.bool("sort_keys"),
                                                     indent: try indentString(p["indent"]), separators: separators, htmlSafe: false))
        }
    }

    /// Python's `int(x)` / `int(str, base)` as jinja2's `int` filter tries them; nil falls back
    /// to the default.
    static func toInt(_ v: Value, base: Int) -> Value? {
        switch v {
        case .int: return v
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d):
            guard d.isFinite, abs(d) < 9.2e18 else { return nil }
            return .int(Int(d))
        case .string(let s):
            var t = PyText.strip(s, nil)
            var negative = false
            if let f = t.first, f == "-" || f == "+" { negative = f == "-"; t.removeFirst() }
            var radix = base
            let lower = t.lowercased()
            for (prefix, r) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(prefix) && (base == r || base == 0) {
                t = String(t.dropFirst(2))
                radix = r
            }
            if radix == 0 { radix = 10 }
            let digits = t.replacingAll("_", with: "")
            if !digits.isEmpty, !t.hasPrefix("_"), !t.hasSuffix("_"), !t.contains("__"), let n = Int(digits, radix: radix) {
                return .int(negative ? -n : n)
            }
            if let d = toFloat(v), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
            return nil
        default:
            return nil
        }
    }

    /// Python's `float(x)`.
    static func toFloat(_ v: Value) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .bool(let b): return b ? 1 : 0
        case .double(let d): return d
        case .string(let s):
            let t = PyText.strip(s, nil).lowercased().replacingAll("_", with: "")
            switch t {
            case "inf", "+inf", "infinity", "+infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            case "nan", "+nan", "-nan": return .nan
            default:
                guard !t.isEmpty, t.unicodeScalars.allSatisfy({ "0123456789+-.e".unicodeScalars.contains($0) }) else { return nil }
                return Double(t)
            }
        default:
            return nil
        }
    }

    private static func round(_ value: Value, precision: Int, method: String) throws(TemplateError) -> Value {
        guard let number = value.number else {
            if case .undefined(let u) = value { throw Value.undefinedError(u) }
            throw TemplateError(.runtime, "type \(value.typeName) doesn't define __round__ method")
        }
        let scale = pow(10.0, Double(precision))
        switch method {
        case "common":
            if case .int(let i) = number, precision >= 0 { return .int(i) }
            let d = number.double
            guard d.isFinite else { return .double(d) }
            if precision >= 0, precision < 300 {
                // printf rounds the exact binary value half-to-even, as Python's round() does.
                return .double(Double(String(format: "%.\(precision)f", d)) ?? d)
            }
            return .double((d / (1 / scale)).rounded(.toNearestOrEven) * (1 / scale))
        case "floor": return .double(Foundation.floor(number.double * scale) / scale)
        case "ceil": return .double(Foundation.ceil(number.double * scale) / scale)
        default: throw TemplateError(.runtime, "method must be common, ceil or floor")
        }
    }

    /// Lower-cases strings for jinja2's case-insensitive sorting and comparing.
    static func folded(_ v: Value) -> Value {
        if case .string(let s) = v { return .string(PyText.lower(s)) }
        return v
    }

    private static func sortKey(_ v: Value, _ p: Params, _ interp: Interpreter) throws(TemplateError) -> Value {
        let key = p["attribute"] != nil ? try attribute(v, p["attribute"] ?? .none, interp) : v
        return p.bool("case_sensitive") ? key : folded(key)
    }

    /// Python's stable `sorted` (with `reverse` keeping equal items in order).
    static func stableSort(_ items: [(Value, Value)], reverse: Bool) throws(TemplateError) -> [(Value, Value)] {
        var failure: TemplateError? = nil
        let indexed = items.enumerated().map { ($0.offset, $0.element) }
        let sorted = indexed.sorted { a, b in
            do throws(TemplateError) {
                let lt = reverse ? try Value.less(b.1.0, a.1.0) : try Value.less(a.1.0, b.1.0)
                let gt = reverse ? try Value.less(a.1.0, b.1.0) : try Value.less(b.1.0, a.1.0)
                return lt || (!gt && a.0 < b.0)
            } catch {
                failure = failure ?? error
                return a.0 < b.0
            }
        }
        if let failure { throw failure }
        return sorted.map { $0.1 }
    }

    /// jinja2's attribute getter for `map`, `selectattr`, `sort(attribute=)` ...: dotted paths,
    /// with integer parts used as indexes.
    static func attribute(_ v: Value, _ path: Value, _ interp: Interpreter) throws(TemplateError) -> Value {
        if case .int = path { return try interp.getItem(v, path) }
        var current = v
        for part in path.str.split(separator: ".", omittingEmptySubsequences: false) {
            let key: Value = Int(part).map { .int($0) } ?? .string(String(part))
            current = try interp.getItem(current, key)
        }
        return current
    }

    private static func map(_ value: Value, _ args: CallArgs, _ interp: Interpreter) throws(TemplateError) -> [Value] {
        let items = try value.iterate()
        if args.positional.isEmpty {
            let p = try Params(args, ["attribute", "default"], "map")
            guard let attr = p["attribute"] else { throw TemplateError(.runtime, "map requires a filter argument") }
            return try items.map { v throws(TemplateError) in
                let r = try attribute(v, attr, interp)
                if r.isUndefined, let d = p["default"] { return d }
                return r
            }
        }
        let filter = args.positional[0].str
        guard known.contains(filter) else { throw TemplateError(.runtime, "No filter named '\(filter)'.") }
        let rest = CallArgs(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
        return try items.map { v throws(TemplateError) in try apply(filter, v, rest, interp) }
    }

    private static func select(_ items: [Value], _ args: CallArgs, attribute byAttribute: Bool, keep: Bool, _ interp: Interpreter) throws(TemplateError) -> [Value] {
        var positional = args.positional
        var attr: Value? = nil
        if byAttribute {
            guard !positional.isEmpty else { throw TemplateError(.runtime, "Missing parameter for attribute name") }
            attr = positional.removeFirst()
        }
        let testName: String? = positional.isEmpty ? nil : positional.removeFirst().str
        if let testName, !Tests.known.contains(testName) { throw TemplateError(.runtime, "No test named '\(testName)'.") }
        let testArgs = CallArgs(positional: positional, keyword: args.keyword)
        var out: [Value] = []
        for item in items {
            let subject = try attr.map { a throws(TemplateError) in try attribute(item, a, interp) } ?? item
            let passed = try testName.map { t throws(TemplateError) in try Tests.apply(t, subject, testArgs, interp) } ?? subject.truthy
            if passed == keep { out.append(item) }
        }
        return out
    }
}
