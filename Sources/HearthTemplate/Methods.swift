/// Methods templates call on values (`content.strip()`, `message.get('name')`). jinja2's
/// sandbox allows the public methods of Python's str, dict and list; the immutable sandbox
/// that transformers uses refuses the ones that modify a list or dict.
enum Methods {
    private static let unsafe: [String: Set<String>] = [
        "dict": ["clear", "pop", "popitem", "setdefault", "update"],
        "list": ["append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"],
    ]

    /// The bound method `name` of `v`, or nil when `v` has no such method.
    static func bound(_ v: Value, _ name: String) -> Value? {
        let type = v.typeName
        if let blocked = unsafe[type == "tuple" ? "list" : type], blocked.contains(name) {
            return .function(Function(name: name) { _, _ throws(TemplateError) in
                throw TemplateError(.runtime, "access to attribute '\(name)' of '\(type)' object is unsafe.")
            })
        }
        let known: Set<String>
        switch v {
        case .string: known = stringMethods
        case .dict: known = ["get", "items", "keys", "values", "copy"]
        case .list, .tuple: known = ["count", "index", "copy"]
        default: return nil
        }
        guard known.contains(name) else { return nil }
        return .function(Function(name: name) { args, interp throws(TemplateError) in
            try call(v, name, args, interp)
        })
    }

    private static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit", "splitlines", "upper", "lower",
        "title", "capitalize", "replace", "find", "rfind", "index", "rindex", "count", "join", "isdigit", "isalpha",
        "isalnum", "isspace", "islower", "isupper", "center", "ljust", "rjust", "zfill", "format", "swapcase",
        "casefold", "partition", "rpartition",
    ]

    private static func call(_ v: Value, _ name: String, _ args: CallArgs, _ interp: Interpreter) throws(TemplateError) -> Value {
        switch v {
        case .string(let s): return try stringMethod(s, name, args, interp)
        case .dict(let d):
            switch name {
            case "get":
                let p = try Params(args, ["key", "default"], "get")
                guard let key = p["key"] else { throw TemplateError(.runtime, "get expected at least 1 argument, got 0") }
                if case .string(let k) = key, let found = d[k] { return found }
                return p["default"] ?? .none
            case "items": return .list(d.pairs.map { .tuple([.string($0.0), $0.1]) })
            case "keys": return .list(d.keys.map { .string($0) })
            case "values": return .list(d.values)
            default: return v  // copy
            }
        case .list(let a), .tuple(let a):
            switch name {
            case "count":
                let p = try Params(args, ["value"], "count")
                return .int(a.filter { Value.equal($0, p["value"] ?? .none) }.count)
            case "index":
                let p = try Params(args, ["value"], "index")
                guard let i = a.firstIndex(where: { Value.equal($0, p["value"] ?? .none) }) else {
                    throw TemplateError(.runtime, "\((p["value"] ?? .none).repr) is not in list")
                }
                return .int(i)
            default: return v  // copy
            }
        default:
            throw TemplateError(.runtime, "'\(v.typeName)' object has no method '\(name)'")
        }
    }

    private static func optionalString(_ v: Value?) -> String? {
        guard let v else { return nil }
        if case .none = v { return nil }
        return v.str
    }

    private static func stringMethod(_ s: String, _ name: String, _ args: CallArgs, _ interp: Interpreter) throws(TemplateError) -> Value {
        switch name {
        case "strip", "lstrip", "rstrip":
            let p = try Params(args, ["chars"], name)
            return .string(PyText.strip(s, optionalString(p["chars"]), leading: name != "rstrip", trailing: name != "lstrip"))
        case "startswith", "endswith":
            let p = try Params(args, ["prefix", "start", "end"], name)
            guard let affix = p["prefix"] else { throw TemplateError(.runtime, "\(name)() takes at least 1 argument (0 given)") }
            var scalars = PyText.scalars(s)
            let n = scalars.count
            func clamp(_ x: Int) -> Int { x < 0 ? max(0, x + n) : min(x, n) }
            let lo = clamp(try p.int("start", 0)), hi = clamp(try p.int("end", n))
            scalars = lo <= hi ? Array(scalars[lo..<hi]) : []
            let candidates = affix.sequence ?? [affix]
            for c in candidates {
                guard case .string(let t) = c else {
                    throw TemplateError(.runtime, "\(name) first arg must be str or a tuple of str, not \(c.typeName)")
                }
                let needle = PyText.scalars(t)
                if needle.count <= scalars.count,
                   name == "startswith" ? scalars.prefix(needle.count).elementsEqual(needle) : scalars.suffix(needle.count).elementsEqual(needle)
                {
                    return .bool(true)
                }
            }
            return .bool(false)
        case "split", "rsplit":
            let p = try Params(args, ["sep", "maxsplit"], name)
            let parts = name == "split"
                ? try PyText.split(s, optionalString(p["sep"]), maxsplit: try p.int("maxsplit", -1))
                : try PyText.rsplit(s, optionalString(p["sep"]), maxsplit: try p.int("maxsplit", -1))
            return .list(parts.map { .string($0) })
        case "splitlines": return .list(PyText.splitlines(s).map { .string($0) })
        case "upper": return .string(PyText.upper(s))
        case "lower", "casefold": return .string(PyText.lower(s))
        case "title": return .string(PyText.title(s))
        case "capitalize": return .string(PyText.capitalize(s))
        case "swapcase":
            return .string(s.unicodeScalars.map { c in
                c.properties.isUppercase ? c.properties.lowercaseMapping : c.properties.isLowercase ? c.properties.uppercaseMapping : String(c)
            }.joined())
        case "replace":
            let p = try Params(args, ["old", "new", "count"], name)
            guard let old = optionalString(p["old"]), let new = optionalString(p["new"]) else {
                throw TemplateError(.runtime, "replace expected at least 2 arguments")
            }
            let count = try p.int("count", -1)
            return .string(PyText.replace(s, old, new, count: count))
        case "find", "rfind", "index", "rindex", "count":
            let p = try Params(args, ["sub"], name)
            guard case .string(let sub)? = p["sub"] else { throw TemplateError(.runtime, "\(name)() argument must be str") }
            if name == "count" { return .int(PyText.countOccurrences(s, sub)) }
            let i = PyText.find(s, sub, reverse: name.hasPrefix("r"))
            if i < 0, name.hasSuffix("index") { throw TemplateError(.runtime, "substring not found") }
            return .int(i)
        case "join":
            let p = try Params(args, ["iterable"], name)
            var parts: [String] = []
            for item in try (p["iterable"] ?? .list([])).iterate() {
                guard case .string(let t) = item else {
                    throw TemplateError(.runtime, "sequence item \(parts.count): expected str instance, \(item.typeName) found")
                }
                parts.append(t)
            }
            let joined = parts.joined(separator: s)
            try interp.checkSize(joined.utf8.count)
            return .string(joined)
        case "isdigit", "isalpha", "isalnum", "isspace":
            guard !s.isEmpty else { return .bool(false) }
            return .bool(s.unicodeScalars.allSatisfy { c in
                switch name {
                case "isdigit": return c.properties.numericType == .decimal || c.properties.numericType == .digit
                case "isalpha": return c.properties.isAlphabetic
                case "isalnum": return c.properties.isAlphabetic || c.properties.numericType != nil
                default: return PyText.isSpace(c)
                }
            })
        case "islower": return .bool(PyText.isLower(s))
        case "isupper": return .bool(PyText.isUpper(s))
        case "center", "ljust", "rjust", "zfill":
            let p = try Params(args, name == "zfill" ? ["width"] : ["width", "fillchar"], name)
            let width = try p.int("width", 0), n = PyText.count(s)
            guard width > n else { return .string(s) }
            try interp.checkSize(width)
            let fill = optionalString(p["fillchar"]) ?? (name == "zfill" ? "0" : " ")
            let pad = width - n
            switch name {
            case "ljust": return .string(s + String(repeating: fill, count: pad))
            case "rjust": return .string(String(repeating: fill, count: pad) + s)
            case "zfill":
                if let f = s.unicodeScalars.first, f == "-" || f == "+" {
                    return .string(String(f) + String(repeating: "0", count: pad) + PyText.make(s.unicodeScalars.dropFirst()))
                }
                return .string(String(repeating: "0", count: pad) + s)
            default:
                let left = pad / 2 + (pad & width & 1)
                return .string(String(repeating: fill, count: left) + s + String(repeating: fill, count: pad - left))
            }
        case "partition", "rpartition":
            let p = try Params(args, ["sep"], name)
            guard case .string(let sep)? = p["sep"], !sep.isEmpty else { throw TemplateError(.runtime, "empty separator") }
            let i = PyText.find(s, sep, reverse: name == "rpartition")
            let sc = PyText.scalars(s)
            if i < 0 { return name == "partition" ? .tuple([.string(s), .string(""), .string("")]) : .tuple([.string(""), .string(""), .string(s)]) }
            return .tuple([.string(PyText.make(sc[..<i])), .string(sep), .string(PyText.make(sc[(i + PyText.count(sep))...]))])
        case "format":
            return .string(try simpleFormat(s, args))
        default:
            throw TemplateError(.runtime, "'str' object has no method '\(name)'")
        }
    }

    /// `str.format` with `{}`, `{0}`, `{name}` and `{{`/`}}`; format specs are not supported.
    private static func simpleFormat(_ s: String, _ args: CallArgs) throws(TemplateError) -> String {
        let f = PyText.scalars(s)
        var out = ""
        var i = 0, auto = 0
        while i < f.count {
            let c = f[i]
            if c == "{", i + 1 < f.count, f[i + 1] == "{" { out += "{"; i += 2; continue }
            if c == "}", i + 1 < f.count, f[i + 1] == "}" { out += "}"; i += 2; continue }
            if c == "}" { throw TemplateError(.runtime, "Single '}' encountered in format string") }
            guard c == "{" else { out.unicodeScalars.append(c); i += 1; continue }
            guard let close = f[i...].firstIndex(of: "}") else { throw TemplateError(.runtime, "Single '{' encountered in format string") }
            let field = PyText.make(f[(i + 1)..<close])
            if field.contains(":") || field.contains("!") || field.contains(".") || field.contains("[") {
                throw TemplateError(.runtime, "HearthTemplate's str.format supports only {}, {n} and {name} fields")
            }
            let value: Value?
            if field.isEmpty {
                value = auto < args.positional.count ? args.positional[auto] : nil
                auto += 1
            } else if let n = Int(field) {
                value = n >= 0 && n < args.positional.count ? args.positional[n] : nil
            } else {
                value = args.keyword.last(where: { $0.0 == field })?.1
            }
            guard let value else { throw TemplateError(.runtime, "Replacement index \(field) out of range for positional args tuple") }
            out += value.str
            i = close + 1
        }
        return out
    }
}
