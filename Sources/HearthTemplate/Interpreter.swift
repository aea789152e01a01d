/// Executes the syntax tree. Scoping follows jinja2: `for` bodies get a fresh scope per
/// iteration (so `set` inside a loop does not leak out or carry over, hence `namespace()`),
/// macros get their own scope chained to where they were defined, and `if` has no scope.
final class Scope {
    var vars: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var scope: Scope? = self
        while let s = scope {
            if let v = s.vars[name] { return v }
            scope = s.parent
        }
        return nil
    }
}

final class Interpreter {
    let options: ChatTemplate.Options
    private var out = ""
    private var produced = 0
    private var depth = 0
    private var iterations = 0

    init(options: ChatTemplate.Options) { self.options = options }

    /// Flow out of a statement list: normally, or by `{% break %}` / `{% continue %}`.
    enum Flow { case normal, breakLoop, continueLoop }

    func render(_ body: [Stmt], context: [String: TemplateValue]) throws(TemplateError) -> String {
        let builtins = Scope(parent: nil)
        for (name, value) in Globals.make() { builtins.vars[name] = value }
        let contextScope = Scope(parent: builtins)
        for (name, value) in context where value != .undefined {
            contextScope.vars[name] = try Value.converting(value, limit: options.limits.maxDepth * 4)
        }
        let root = Scope(parent: contextScope)
        // Macros hold the scope that holds them, and namespaces can hold themselves; break
        // those reference cycles once rendering is over.
        defer {
            for scope in macroScopes { scope.vars = [:] }
            for ns in namespaces { ns.attrs = Dict() }
            root.vars = [:]
        }
        _ = try exec(body, root)
        return out
    }

    private var macroScopes: [Scope] = []
    private var namespaces: [Namespace] = []

    /// Remembers a namespace so that cycles through it are broken after rendering.
    func track(_ ns: Namespace) { namespaces.append(ns) }

    // MARK: limits

    func enter(_ pos: SourcePos? = nil) throws(TemplateError) {
        depth += 1
        if depth > options.limits.maxDepth {
            throw TemplateError(.limit, "recursion deeper than \(options.limits.maxDepth) levels",
                                line: pos?.line, column: pos?.column)
        }
    }

    func leave() { depth -= 1 }

    func countIterations(_ n: Int = 1, at pos: SourcePos? = nil) throws(TemplateError) {
        iterations += n
        if iterations > options.limits.maxIterations {
            throw TemplateError(.limit, "more than \(options.limits.maxIterations) loop iterations",
                                line: pos?.line, column: pos?.column)
        }
    }

    /// Fails before building a string or list longer than the output limit allows.
    func checkSize(_ n: Int) throws(TemplateError) {
        if n > options.limits.maxOutputBytes {
            throw TemplateError(.limit, "result larger than \(options.limits.maxOutputBytes) bytes")
        }
    }

    private func write(_ s: String) throws(TemplateError) {
        produced += s.utf8.count
        if produced > options.limits.maxOutputBytes {
            throw TemplateError(.limit, "output larger than \(options.limits.maxOutputBytes) bytes")
        }
        out += s
    }

    /// Runs `body` and returns what it printed instead of printing it.
    func capture(_ body: [Stmt], _ scope: Scope) throws(TemplateError) -> String {
        let saved = out
        out = ""
        defer { out = saved }
        _ = try exec(body, scope)
        return out
    }

    // MARK: statements

    func exec(_ body: [Stmt], _ scope: Scope) throws(TemplateError) -> Flow {
        for stmt in body {
            let flow = try exec(stmt, scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func exec(_ stmt: Stmt, _ scope: Scope) throws(TemplateError) -> Flow {
        switch stmt {
        case .text(let s):
            try write(s)
        case .output(let e):
            try write(try eval(e, scope).str)
        case .conditional(let branches, let otherwise):
            for (test, body) in branches where try eval(test, scope).truthy {
                return try execNested(body, scope)
            }
            if let otherwise { return try execNested(otherwise, scope) }
        case .forLoop(let loop):
            try execFor(loop, scope)
        case .assign(let target, let e, let pos):
            try assign(target, try eval(e, scope), scope, pos)
        case .assignBlock(let target, let filters, let body, let pos):
            var value = Value.string(try capture(body, Scope(parent: scope)))
            for f in filters { value = try applyFilter(f, to: value, scope) }
            try assign(target, value, scope, pos)
        case .macro(let def):
            scope.vars[def.name] = .macro(Macro(definition: def, scope: scope))
            macroScopes.append(scope)
        case .filterBlock(let filters, let body):
            var value = Value.string(try capture(body, Scope(parent: scope)))
            for f in filters { value = try applyFilter(f, to: value, scope) }
            try write(value.str)
        case .with(let assignments, let body):
            let inner = Scope(parent: scope)
            var values: [(AssignTarget, Value)] = []
            for (target, e) in assignments { values.append((target, try eval(e, scope))) }
            for (target, v) in values { try assign(target, v, inner, nil) }
            return try execNested(body, inner)
        case .scoped(let body):
            return try execNested(body, Scope(parent: scope))
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    private func execNested(_ body: [Stmt], _ scope: Scope) throws(TemplateError) -> Flow {
        try enter()
        defer { leave() }
        return try exec(body, scope)
    }

    private func execFor(_ loop: ForLoop, _ scope: Scope) throws(TemplateError) {
        try enter(loop.pos)
        defer { leave() }
        var items = try located(loop.iterable.pos) { () throws(TemplateError) in try eval(loop.iterable, scope).iterate() }
        if let condition = loop.condition {
            var kept: [Value] = []
            for item in items {
                try countIterations(at: loop.pos)
                let s = Scope(parent: scope)
                try assign(loop.target, item, s, loop.pos)
                if try eval(condition, s).truthy { kept.append(item) }
            }
            items = kept
        }
        // jinja2 runs `else` unless some iteration finished its body normally: an iteration
        // left by `break` or `continue` does not count (its compiled loop clears the flag at the
        // end of the body).
        var completed = false
        let state = LoopState(items: items, depth: 1)
        for (i, item) in items.enumerated() {
            try countIterations(at: loop.pos)
            state.index0 = i
            let s = Scope(parent: scope)
            try assign(loop.target, item, s, loop.pos)
            s.vars["loop"] = .loop(state)
            let flow = try exec(loop.body, s)
            if flow == .normal { completed = true }
            if flow == .breakLoop { break }
        }
        if !completed, let otherwise = loop.otherwise {
            _ = try exec(otherwise, Scope(parent: scope))
        }
    }

    /// Binds `value` to a `set`/`for`/`with` target in `scope`.
    func assign(_ target: AssignTarget, _ value: Value, _ scope: Scope, _ pos: SourcePos?) throws(TemplateError) {
        switch target {
        case .name(let n):
            scope.vars[n] = value
        case .attribute(let owner, let attr):
            guard case .namespace(let ns)? = scope.lookup(owner) else {
                throw TemplateError(.runtime, "cannot assign attribute on non-namespace object", line: pos?.line, column: pos?.column)
            }
            // Namespaces are the only state that survives loop iterations, so the only way to
            // grow a value's nesting without bound; deep values would exhaust the stack later.
            if value.nestsDeeper(than: options.limits.maxDepth * 4) {
                throw TemplateError(.limit, "value nested deeper than \(options.limits.maxDepth * 4) levels",
                                    line: pos?.line, column: pos?.column)
            }
            ns.attrs[attr] = value
        case .tuple(let targets):
            let items: [Value]
            do throws(TemplateError) { items = try value.iterate() } catch {
                throw TemplateError(.runtime, "cannot unpack non-iterable \(value.typeName) object", line: pos?.line, column: pos?.column)
            }
            guard items.count == targets.count else {
                let msg = items.count < targets.count
                    ? "not enough values to unpack (expected \(targets.count), got \(items.count))"
                    : "too many values to unpack (expected \(targets.count))"
                throw TemplateError(.runtime, msg, line: pos?.line, column: pos?.column)
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope, pos) }
        }
    }

    /// Runs `body`, giving errors without a place the place `pos`.
    func located<T>(_ pos: SourcePos, _ body: () throws(TemplateError) -> T) throws(TemplateError) -> T {
        do throws(TemplateError) { return try body() } catch { throw error.located(pos) }
    }

    // MARK: calls

    func evalArguments(_ args: [Argument], _ scope: Scope) throws(TemplateError) -> CallArgs {
        var result = CallArgs()
        for arg in args {
            switch arg {
            case .positional(let e):
                result.positional.append(try eval(e, scope))
            case .keyword(let k, let e):
                result.keyword.append((k, try eval(e, scope)))
            case .splat(let e):
                result.positional += try eval(e, scope).iterate()
            case .doubleSplat(let e):
                guard case .dict(let d) = try eval(e, scope) else {
                    throw TemplateError(.runtime, "argument after ** must be a mapping")
                }
                result.keyword += d.pairs
            }
        }
        return result
    }

    func call(_ callee: Value, _ args: CallArgs) throws(TemplateError) -> Value {
        switch callee {
        case .function(let f):
            return try f.call(args, self)
        case .macro(let m):
            return try callMacro(m, args)
        case .undefined(let u):
            throw Value.undefinedError(u)
        default:
            throw TemplateError(.runtime, "'\(callee.typeName)' object is not callable")
        }
    }

    func callMacro(_ m: Macro, _ args: CallArgs) throws(TemplateError) -> Value {
        let def = m.definition
        try enter(def.pos)
        defer { leave() }
        let s = Scope(parent: m.scope)
        let params = def.parameters
        if args.positional.count > params.count, !def.catchesVarargs {
            throw TemplateError(.runtime, "macro '\(def.name)' takes not more than \(params.count) argument(s)")
        }
        var keywords = Dict()
        for (k, v) in args.keyword { keywords[k] = v }
        for (i, p) in params.enumerated() {
            if i < args.positional.count {
                if keywords[p.name] != nil {
                    throw TemplateError(.runtime, "macro '\(def.name)' got multiple values for argument '\(p.name)'")
                }
                s.vars[p.name] = args.positional[i]
            } else if let v = keywords[p.name] {
                s.vars[p.name] = v
                keywords[p.name] = nil
            } else if let d = p.defaultValue {
                s.vars[p.name] = try eval(d, s)
            } else {
                s.vars[p.name] = .undefined("parameter '\(p.name)' was not provided")
            }
        }
        if def.catchesVarargs { s.vars["varargs"] = .tuple(Array(args.positional.dropFirst(params.count))) }
        if def.catchesKwargs {
            s.vars["kwargs"] = .dict(keywords)
        } else if let extra = keywords.keys.first {
            throw TemplateError(.runtime, "macro '\(def.name)' takes no keyword argument '\(extra)'")
        }
        return .string(try capture(def.body, s))
    }

    func applyFilter(_ f: FilterCall, to value: Value, _ scope: Scope) throws(TemplateError) -> Value {
        let args = try evalArguments(f.args, scope)
        return try located(f.pos) { () throws(TemplateError) in try Filters.apply(f.name, value, args, self) }
    }
}
