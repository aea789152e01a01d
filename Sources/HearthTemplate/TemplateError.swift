/// An error from compiling or rendering a chat template.
///
/// Every failure of HearthTemplate is one of these: malformed templates (`.syntax`), operations
/// that jinja2 would also refuse while rendering (`.runtime`), a template's own
/// `raise_exception(message)` (`.raised`), and the safety limits of ``ChatTemplate/Limits``
/// (`.limit`). Nothing in the engine traps on bad input.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is.
    public enum Kind: String, Sendable, Equatable {
        /// The template source is malformed (jinja2's TemplateSyntaxError/TemplateAssertionError).
        case syntax
        /// Rendering failed the way jinja2 would fail (undefined access, type errors, ...).
        case runtime
        /// The template called `raise_exception(message)`; ``message`` is the template's text.
        case raised
        /// A safety limit (depth, iterations, output size) was reached.
        case limit
    }

    /// What kind of failure this is.
    public let kind: Kind
    /// The bare message: for `.raised`, exactly the string the template passed to `raise_exception`.
    public let message: String
    /// 1-based line in the template source, when the failure can be tied to one.
    public let line: Int?
    /// 1-based column (in Unicode scalars) in the template source, when known.
    public let column: Int?

    /// Creates an error; `line` and `column` are 1-based.
    public init(_ kind: Kind, _ message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    /// A one-line description naming the kind, the place in the template and the message,
    /// e.g. `syntax error at line 3, column 14: unexpected '}'`.
    public var description: String {
        let what: String
        switch kind {
        case .syntax: what = "syntax error"
        case .runtime: what = "template error"
        case .raised: what = "raise_exception"
        case .limit: what = "template limit exceeded"
        }
        if let line {
            if let column { return "\(what) at line \(line), column \(column): \(message)" }
            return "\(what) at line \(line): \(message)"
        }
        return "\(what): \(message)"
    }

    /// The same error, placed at `pos` unless it already has a place.
    func located(_ pos: SourcePos) -> TemplateError {
        if line != nil { return self }
        return TemplateError(kind, message, line: pos.line, column: pos.column)
    }
}

/// A place in the template source (1-based line and column in Unicode scalars).
struct SourcePos: Sendable, Equatable {
    var line: Int
    var column: Int
}
