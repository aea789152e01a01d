/// jinja2's built-in tests (`x is defined`, `x is string`, ...).
enum Tests {
    static let known: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "filter",
        "float", "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping",
        "ne", "none", "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined", "upper",
        "==", "!=", "<", "<=", ">", ">=",
    ]

    /// Tests that take an argument besides the value; the others take none.
    private static let binary: Set<String> = [
        "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "gt", "greaterthan", ">",
        "le", "<=", "ge", ">=", "in", "sameas",
    ]

    static func apply(_ name: String, _ v: Value, _ args: CallArgs, _ interp: Interpreter) throws(TemplateError) -> Bool {
        let given = args.positional.count + args.keyword.count
        let expected = binary.contains(name) ? 1 : 0
        if known.contains(name), given != expected {
            throw TemplateError(.runtime, "test '\(name)' takes \(expected) argument(s) but \(given) were given")
        }
        func other() throws(TemplateError) -> Value {
            guard let o = args.positional.first ?? args.keyword.first?.1 else {
                throw TemplateError(.runtime, "test '\(name)' needs an argument")
            }
            return o
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true } else { return false }
        case "boolean": if case .bool = v { return true } else { return false }
        case "true": if case .bool(true) = v { return true } else { return false }
        case "false": if case .bool(false) = v { return true } else { return false }
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .double = v { return true } else { return false }
        case "number": return v.number != nil
        case "string": if case .string = v { return true } else { return false }
        case "mapping": if case .dict = v { return true } else { return false }
        case "iterable":
            switch v {
            case .undefined, .string, .list, .tuple, .dict: return true
            default: return false
            }
        case "sequence":
            // Anything with len() and [] in Python: strings, lists, tuples, dicts (and Undefined).
            switch v {
            case .undefined, .string, .list, .tuple, .dict: return true
            default: return false
            }
        case "callable":
            switch v {
            case .function, .macro: return true
            default: return false
            }
        case "escaped": return false
        case "lower": return PyText.isLower(v.str)  // jinja2 tests str(value)
        case "upper": return PyText.isUpper(v.str)
        case "odd", "even":
            // jinja2: `value % 2 == 1` / `value % 2 == 0`, with Python's modulo (floats too).
            let r = try Operators.binary(.mod, v, .int(2), interp)
            return Value.equal(r, .int(name == "odd" ? 1 : 0))
        case "divisibleby":
            return Value.equal(try Operators.binary(.mod, v, try other(), interp), .int(0))
        case "eq", "equalto", "==": return Value.equal(v, try other())
        case "ne", "!=": return !Value.equal(v, try other())
        case "lt", "lessthan", "<": return try Value.less(v, try other(), op: "<")
        case "gt", "greaterthan", ">": return try Value.less(try other(), v, op: ">")
        case "le", "<=": return try Operators.compare(.le, v, try other())
        case "ge", ">=": return try Operators.compare(.ge, v, try other())
        case "in": return try Operators.contains(try other(), v)
        case "sameas":
            let o = try other()
            switch (v, o) {
            case (.none, .none): return true
            case let (.bool(a), .bool(b)): return a == b
            case let (.namespace(a), .namespace(b)): return a === b
            case let (.macro(a), .macro(b)): return a === b
            default: return false
            }
        case "filter": if case .string(let s) = v { return Filters.known.contains(s) } else { return false }
        case "test": if case .string(let s) = v { return known.contains(s) } else { return false }
        default:
            throw TemplateError(.runtime, "No test named '\(name)' found.")
        }
    }
}
