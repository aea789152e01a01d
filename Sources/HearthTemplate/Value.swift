/// The values the interpreter works with: the data of ``TemplateValue`` plus tuples and the
/// objects that only exist while rendering (namespaces, macros, functions, loop state). It
/// follows Python's data model closely enough that printing, comparing and iterating give
/// jinja2's results.
enum Value {
    case undefined(Undefined)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Value])
    case tuple([Value])
    case dict(Dict)
    case namespace(Namespace)
    case macro(Macro)
    case function(Function)
    case loop(LoopState)

    /// An undefined value that remembers why, for the error raised when it is used.
    static func undefined(_ message: String) -> Value { .undefined(Undefined(message: message)) }
    static func undefinedName(_ name: String) -> Value { .undefined("'\(name)' is undefined") }

    init(_ t: TemplateValue) {
        switch t {
        case .undefined: self = .undefined("value is undefined")
        case .none: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(Value.init))
        case .object(let pairs):
            var d = Dict()
            for (k, v) in pairs { d[k] = Value(v) }
            self = .dict(d)
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .macro, .function, .loop: return true
        }
    }

    /// Python's type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .macro: return "Macro"
        case .function: return "builtin_function_or_method"
        case .loop: return "LoopContext"
        }
    }

    /// The error to raise when an undefined value is used for something other than printing,
    /// testing or iterating (jinja2's UndefinedError).
    static func undefinedError(_ u: Undefined) -> TemplateError { TemplateError(.runtime, u.message) }

    /// Python's `str(value)`, which is what `{{ value }}` prints.
    var str: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python's `repr(value)`, used for values nested in printed containers.
    var repr: String {
        var visiting = Set<ObjectIdentifier>()
        return repr(visiting: &visiting)
    }

    /// `repr` that prints a namespace met again inside itself as `<Namespace {...}>`, as
    /// Python's recursion guard does, instead of recursing forever.
    private func repr(visiting: inout Set<ObjectIdentifier>) -> String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return PyNumber.repr(d)
        case .string(let s): return PyText.repr(s)
        case .list(let a):
            var parts: [String] = []
            for x in a { parts.append(x.repr(visiting: &visiting)) }
            return "[" + parts.joined(separator: ", ") + "]"
        case .tuple(let a):
            var parts: [String] = []
            for x in a { parts.append(x.repr(visiting: &visiting)) }
            return a.count == 1 ? "(" + parts[0] + ",)" : "(" + parts.joined(separator: ", ") + ")"
        case .dict(let d):
            var parts: [String] = []
            for (k, v) in d.pairs { parts.append(PyText.repr(k) + ": " + v.repr(visiting: &visiting)) }
            return "{" + parts.joined(separator: ", ") + "}"
        case .namespace(let ns):
            let id = ObjectIdentifier(ns)
            if visiting.contains(id) { return "<Namespace {...}>" }
            visiting.insert(id)
            defer { visiting.remove(id) }
            return "<Namespace " + Value.dict(ns.attrs).repr(visiting: &visiting) + ">"
        case .macro(let m): return "<Macro '\(m.definition.name)'>"
        case .function(let f): return "<built-in function \(f.name)>"
        case .loop(let l): return "<LoopContext \(l.index0 + 1)/\(l.length)>"
        }
    }

    /// The items a `for` loop (or `list`, `join`, ...) sees: list and tuple items, dict keys,
    /// string characters; undefined iterates as empty, as jinja2's Undefined does.
    func iterate() throws(TemplateError) -> [Value] {
        switch self {
        case .undefined: return []
        case .list(let a), .tuple(let a): return a
        case .dict(let d): return d.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        default: throw TemplateError(.runtime, "'\(typeName)' object is not iterable")
        }
    }

    /// Python `==`: numbers across int/float/bool, strings by code points, dicts ignoring order.
    static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(x), .string(y)): return PyText.equal(x, y)
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case let (.dict(x), .dict(y)):
            guard x.count == y.count else { return false }
            for (k, v) in x.pairs {
                guard let w = y[k], equal(v, w) else { return false }
            }
            return true
        case let (.namespace(x), .namespace(y)): return x === y
        case let (.macro(x), .macro(y)): return x === y
        case let (.loop(x), .loop(y)): return x === y
        default:
            if let x = a.number, let y = b.number { return PyNumber.equal(x, y) }
            return false
        }
    }

    /// Python `<`; mixed types are a TypeError as in Python.
    static func less(_ a: Value, _ b: Value, op: String = "<") throws(TemplateError) -> Bool {
        if case .undefined(let u) = a { throw undefinedError(u) }
        if case .undefined(let u) = b { throw undefinedError(u) }
        switch (a, b) {
        case let (.string(x), .string(y)): return PyText.less(x, y)
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)):
            for (p, q) in zip(x, y) where !equal(p, q) { return try less(p, q, op: op) }
            return x.count < y.count
        default:
            if let x = a.number, let y = b.number { return PyNumber.less(x, y) }
            throw TemplateError(.runtime, "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    /// The numeric value of bools, ints and floats (Python's bool is an int).
    var number: PyNumber? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        default: return nil
        }
    }

    /// Whether lists, tuples and dicts nest deeper than `limit` (namespaces are not followed:
    /// they are shared references, printed with a recursion guard).
    func nestsDeeper(than limit: Int) -> Bool {
        guard limit >= 0 else { return true }
        switch self {
        case .list(let a), .tuple(let a): return a.contains { $0.nestsDeeper(than: limit - 1) }
        case .dict(let d): return d.values.contains { $0.nestsDeeper(than: limit - 1) }
        default: return false
        }
    }

    /// The elements of a list or tuple.
    var sequence: [Value]? {
        switch self {
        case .list(let a), .tuple(let a): return a
        default: return nil
        }
    }
}

/// Why a value is undefined; the message becomes the UndefinedError when it is misused.
struct Undefined {
    var message: String
}

/// Hashes and compares string keys by Unicode scalars, as Python dict keys are compared.
struct ScalarKey: Hashable {
    let string: String
    init(_ s: String) { string = s }
    static func == (a: ScalarKey, b: ScalarKey) -> Bool { PyText.equal(a.string, b.string) }
    func hash(into hasher: inout Hasher) {
        for byte in string.utf8 { hasher.combine(byte) }
    }
}

/// An insertion-ordered dictionary with string keys (Python dicts keep insertion order).
struct Dict {
    private(set) var keys: [String] = []
    private(set) var values: [Value] = []
    private var slots: [ScalarKey: Int] = [:]

    var count: Int { keys.count }
    var pairs: [(String, Value)] { Array(zip(keys, values)) }

    subscript(key: String) -> Value? {
        get { slots[ScalarKey(key)].map { values[$0] } }
        set {
            let k = ScalarKey(key)
            if let i = slots[k] {
                if let newValue { values[i] = newValue } else { remove(at: i) }
            } else if let newValue {
                slots[k] = keys.count
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    private mutating func remove(at i: Int) {
        keys.remove(at: i)
        values.remove(at: i)
        slots = [:]
        for (j, key) in keys.enumerated() { slots[ScalarKey(key)] = j }
    }
}

/// `namespace(...)`: the one mutable object templates can write attributes to.
final class Namespace {
    var attrs: Dict
    init(_ attrs: Dict) { self.attrs = attrs }
}

/// A macro together with the scope it was defined in (macros see that scope's variables).
final class Macro {
    let definition: MacroDef
    let scope: Scope
    init(definition: MacroDef, scope: Scope) {
        self.definition = definition
        self.scope = scope
    }
}

/// Positional and keyword arguments of a call.
struct CallArgs {
    var positional: [Value] = []
    var keyword: [(String, Value)] = []
}

/// A native function: a global (`range`, `namespace`, ...), a bound method (`'a'.upper`) or a
/// loop helper (`loop.cycle`).
struct Function {
    let name: String
    let call: (CallArgs, Interpreter) throws(TemplateError) -> Value
}

/// The `loop` variable of a `for` loop.
final class LoopState {
    let items: [Value]
    let depth: Int
    var index0 = 0
    var lastChanged: [Value]?
    var length: Int { items.count }
    init(items: [Value], depth: Int) {
        self.items = items
        self.depth = depth
    }
}
