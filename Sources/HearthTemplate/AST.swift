/// The syntax tree the parser builds and the interpreter walks. It is plain immutable data, so a
/// compiled ``ChatTemplate`` is `Sendable` and can be rendered from any number of threads.

/// A constant written in the template.
enum Literal: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
}

/// An argument at a call site: `f(x, key=y, *list, **dict)`.
enum Argument: Sendable {
    case positional(Expr)
    case keyword(String, Expr)
    case splat(Expr)
    case doubleSplat(Expr)
}

enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", floorDiv = "//", mod = "%", pow = "**"
}

enum CompareOp: String, Sendable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", contains = "in", notContains = "not in"
}

/// `| name(args)` applied to a value.
struct FilterCall: Sendable {
    var name: String
    var args: [Argument]
    var pos: SourcePos
}

/// An expression and where it starts in the source (for runtime error locations).
struct Expr: Sendable {
    indirect enum Kind: Sendable {
        case literal(Literal)
        case name(String)
        case list([Expr])
        case tuple([Expr])
        case dict([(Expr, Expr)])
        case attribute(Expr, String)
        case item(Expr, Expr)
        case slice(Expr, start: Expr?, stop: Expr?, step: Expr?)
        case call(Expr, [Argument])
        case filter(Expr, FilterCall)
        case test(Expr, name: String, args: [Argument], negated: Bool)
        case not(Expr)
        case negate(Expr)
        case plus(Expr)
        case binary(BinaryOp, Expr, Expr)
        case and(Expr, Expr)
        case or(Expr, Expr)
        case concat([Expr])
        case compare(Expr, [(CompareOp, Expr)])
        case conditional(test: Expr, then: Expr, otherwise: Expr?)
    }
    var kind: Kind
    var pos: SourcePos
    /// Nodes on the longest path down from here; the parser caps it, because evaluation (and
    /// freeing the tree) recurses that deep, and operator chains like `a + b + c + ...` grow it
    /// without any parser recursion.
    let height: Int

    init(kind: Kind, pos: SourcePos) {
        self.kind = kind
        self.pos = pos
        self.height = 1 + Expr.childHeight(kind)
    }

    private static func childHeight(_ kind: Kind) -> Int {
        func h(_ e: Expr?) -> Int { e?.height ?? 0 }
        func args(_ a: [Argument]) -> Int {
            a.map { arg -> Int in
                switch arg {
                case .positional(let e), .keyword(_, let e), .splat(let e), .doubleSplat(let e): return e.height
                }
            }.max() ?? 0
        }
        switch kind {
        case .literal, .name: return 0
        case .list(let items), .tuple(let items), .concat(let items): return items.map(\.height).max() ?? 0
        case .dict(let pairs): return pairs.map { max($0.0.height, $0.1.height) }.max() ?? 0
        case .attribute(let e, _), .not(let e), .negate(let e), .plus(let e): return e.height
        case .item(let a, let b), .binary(_, let a, let b), .and(let a, let b), .or(let a, let b): return max(a.height, b.height)
        case .slice(let e, let a, let b, let c): return max(e.height, h(a), h(b), h(c))
        case .call(let e, let a): return max(e.height, args(a))
        case .filter(let e, let f): return max(e.height, args(f.args))
        case .test(let e, _, let a, _): return max(e.height, args(a))
        case .compare(let e, let rest): return max(e.height, rest.map(\.1.height).max() ?? 0)
        case .conditional(let t, let a, let b): return max(t.height, a.height, h(b))
        }
    }
}

/// The left side of `set`, of `for ... in` and of `with` assignments.
indirect enum AssignTarget: Sendable {
    case name(String)
    /// `ns.attr`, which only namespaces accept.
    case attribute(String, String)
    case tuple([AssignTarget])
}

struct ForLoop: Sendable {
    var target: AssignTarget
    var iterable: Expr
    var condition: Expr?
    var body: [Stmt]
    var otherwise: [Stmt]?
    var pos: SourcePos
}

struct MacroDef: Sendable {
    var name: String
    var parameters: [(name: String, defaultValue: Expr?)]
    var body: [Stmt]
    /// Whether the body mentions `varargs` / `kwargs`; jinja2 only accepts extra arguments then.
    var catchesVarargs: Bool
    var catchesKwargs: Bool
    var pos: SourcePos
}

indirect enum Stmt: Sendable {
    /// Template text, output as is.
    case text(String)
    /// `{{ expr }}`.
    case output(Expr)
    /// `if`/`elif` branches, then the optional `else` body.
    case conditional([(Expr, [Stmt])], otherwise: [Stmt]?)
    case forLoop(ForLoop)
    case assign(AssignTarget, Expr, SourcePos)
    /// `{% set x | filters %}body{% endset %}`.
    case assignBlock(AssignTarget, filters: [FilterCall], body: [Stmt], SourcePos)
    case macro(MacroDef)
    /// `{% filter f %}body{% endfilter %}`.
    case filterBlock([FilterCall], body: [Stmt])
    /// `{% with a = 1 %}body{% endwith %}`: a body with its own scope.
    case with([(AssignTarget, Expr)], body: [Stmt])
    /// `{% generation %}` (transformers' assistant-mask marker): the body in its own scope.
    case scoped([Stmt])
    case breakLoop
    case continueLoop
}
