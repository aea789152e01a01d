/// A value passed into a template: JSON-like data, with objects that keep their insertion order.
///
/// Order matters because templates print objects (tool schemas through `tojson`, Python-style
/// `{{ dict }}` output) and Hugging Face renders them in insertion order. `undefined` is the
/// value of a name the context does not define; putting it in a context behaves like leaving
/// the key out.
public enum TemplateValue: Sendable, Equatable {
    /// No value: renders as "", is falsy, and fails when used further (jinja2's Undefined).
    case undefined
    /// Python's `None` (JSON `null`).
    case none
    case bool(Bool)
    /// A 64-bit integer (Python's are unbounded; overflow is a ``TemplateError``).
    case int(Int)
    /// A float, printed as Python prints floats (`1.0`, `1e-05`).
    case double(Double)
    case string(String)
    /// A list.
    case array([TemplateValue])
    /// Key/value pairs in insertion order. A key given twice keeps its first position and its
    /// last value, like a Python dict literal.
    case object([(String, TemplateValue)])

    /// Structural equality; objects compare pairwise in order and strings by Unicode scalars
    /// (as Python does), so `"é"` and `"e\u{301}"` differ.
    public static func == (lhs: TemplateValue, rhs: TemplateValue) -> Bool {
        switch (lhs, rhs) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where !(x.0.unicodeScalars.elementsEqual(y.0.unicodeScalars) && x.1 == y.1) {
                return false
            }
            return true
        default: return false
        }
    }

    /// The value for `key` when this is an object (the last one given), else nil.
    public subscript(key: String) -> TemplateValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.last(where: { $0.0 == key })?.1
    }

    /// Parses JSON text, keeping object keys in document order. Integers without a fraction or
    /// exponent become `.int` (when they fit in `Int`), other numbers `.double`, as Python's
    /// `json.loads` distinguishes them.
    public static func parseJSON(_ text: String) throws(TemplateError) -> TemplateValue {
        var parser = JSONReader(text)
        return try parser.document()
    }

    /// JSON text for this value as Python's `json.dumps(value, ensure_ascii=False)` writes it
    /// (insertion order, `", "` and `": "` separators). `undefined` is an error.
    public func jsonString() throws(TemplateError) -> String {
        try JSONWriter.dumps(try RuntimeValue.converting(self, limit: 512),
                             JSONWriter.Style(ensureASCII: false, sortKeys: false, indent: nil, separators: nil, htmlSafe: false))
    }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    /// Literals build values directly: `["role": "user", "content": "Hi"]`.
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    /// Dictionary literals keep their written order.
    public init(dictionaryLiteral elements: (String, TemplateValue)...) { self = .object(elements) }
    /// `nil` is Python's `None`.
    public init(nilLiteral: ()) { self = .none }
}

/// The interpreter's value type; named separately because inside `TemplateValue` the name
/// `Value` means ExpressibleByDictionaryLiteral's associated type.
typealias RuntimeValue = Value
