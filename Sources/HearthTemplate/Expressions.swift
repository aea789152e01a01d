/// Expression evaluation: names, literals, attribute and item access with jinja2's sandboxed
/// lookup rules, slicing, operators and calls.
extension Interpreter {
    func eval(_ e: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        try enter(e.pos)
        defer { leave() }
        do throws(TemplateError) { return try evalKind(e, scope) } catch { throw error.located(e.pos) }
    }

    private func evalKind(_ e: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        switch e.kind {
        case .literal(let l):
            switch l {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .string(let s): return .string(s)
            }
        case .name(let n):
            return scope.lookup(n) ?? .undefinedName(n)
        case .list(let items):
            var values: [Value] = []
            for item in items { values.append(try eval(item, scope)) }
            return .list(values)
        case .tuple(let items):
            var values: [Value] = []
            for item in items { values.append(try eval(item, scope)) }
            return .tuple(values)
        case .dict(let pairs):
            var d = Dict()
            for (k, v) in pairs {
                let key = try eval(k, scope)
                guard case .string(let s) = key else {
                    throw TemplateError(.runtime, "HearthTemplate supports only string dict keys, not \(key.typeName)")
                }
                d[s] = try eval(v, scope)
            }
            return .dict(d)
        case .attribute(let obj, let name):
            return try getAttribute(try eval(obj, scope), name)
        case .item(let obj, let key):
            return try getItem(try eval(obj, scope), try eval(key, scope))
        case .slice(let obj, let start, let stop, let step):
            let base = try eval(obj, scope)
            func bound(_ x: Expr?) throws(TemplateError) -> Int? {
                guard let x else { return nil }
                switch try eval(x, scope) {
                case .none: return nil
                case .int(let i): return i
                case .bool(let b): return b ? 1 : 0
                case .undefined(let u): throw Value.undefinedError(u)
                case let other:
                    throw TemplateError(.runtime, "slice indices must be integers or None, not \(other.typeName)")
                }
            }
            return try slice(base, try bound(start), try bound(stop), try bound(step))
        case .call(let callee, let args):
            let f = try eval(callee, scope)
            if case .undefined(let u) = f { throw Value.undefinedError(u) }
            return try call(f, try evalArguments(args, scope))
        case .filter(let input, let f):
            return try applyFilter(f, to: try eval(input, scope), scope)
        case .test(let subject, let name, let args, let negated):
            let value = try eval(subject, scope)
            let result = try Tests.apply(name, value, try evalArguments(args, scope), self)
            return .bool(result != negated)
        case .not(let x):
            return .bool(!(try eval(x, scope).truthy))
        case .negate(let x):
            return try Operators.negate(try eval(x, scope))
        case .plus(let x):
            let v = try eval(x, scope)
            if case .undefined(let u) = v { throw Value.undefinedError(u) }
            guard v.number != nil else { throw TemplateError(.runtime, "bad operand type for unary +: '\(v.typeName)'") }
            if case .bool(let b) = v { return .int(b ? 1 : 0) }
            return v
        case .binary(let op, let a, let b):
            return try Operators.binary(op, try eval(a, scope), try eval(b, scope), self)
        case .and(let a, let b):
            let left = try eval(a, scope)
            return left.truthy ? try eval(b, scope) : left
        case .or(let a, let b):
            let left = try eval(a, scope)
            return left.truthy ? left : try eval(b, scope)
        case .concat(let parts):
            var s = ""
            for p in parts {
                s += try eval(p, scope).str
                try checkSize(s.utf8.count)
            }
            return .string(s)
        case .compare(let first, let rest):
            var left = try eval(first, scope)
            for (op, e) in rest {
                let right = try eval(e, scope)
                if !(try Operators.compare(op, left, right)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let test, let then, let otherwise):
            if try eval(test, scope).truthy { return try eval(then, scope) }
            if let otherwise { return try eval(otherwise, scope) }
            return .undefined("the inline if-expression evaluated to false and no else section was defined.")
        }
    }

    /// `obj.name`: jinja2's sandbox looks for a (safe) attribute first, then an item.
    func getAttribute(_ obj: Value, _ name: String) throws(TemplateError) -> Value {
        switch obj {
        case .undefined(let u):
            throw Value.undefinedError(u)
        case .dict(let d):
            if let m = Methods.bound(obj, name) { return m }
            return d[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case .namespace(let ns):
            return ns.attrs[name] ?? .undefined("'Namespace object' has no attribute '\(name)'")
        case .loop(let l):
            return loopAttribute(l, name) ?? .undefined("'LoopContext object' has no attribute '\(name)'")
        case .none:
            return .undefined("'None' has no attribute '\(name)'")
        default:
            if let m = Methods.bound(obj, name) { return m }
            return .undefined("'\(obj.typeName) object' has no attribute '\(name)'")
        }
    }

    /// `obj[key]`: an item first, then (for string keys) an attribute, else undefined.
    func getItem(_ obj: Value, _ key: Value) throws(TemplateError) -> Value {
        if case .undefined(let u) = obj { throw Value.undefinedError(u) }
        switch (obj, key) {
        case let (.dict(d), .string(k)):
            if let v = d[k] { return v }
            if let m = Methods.bound(obj, k) { return m }
            return .undefined("'dict object' has no attribute '\(k)'")
        case let (.list(a), _), let (.tuple(a), _):
            if let i = index(key, count: a.count) { return a[i] }
        case let (.string(s), _):
            let scalars = PyText.scalars(s)
            if let i = index(key, count: scalars.count) { return .string(String(scalars[i])) }
        case (.namespace, .string(let k)), (.loop, .string(let k)):
            return try getAttribute(obj, k)
        default:
            break
        }
        if case .string(let k) = key {
            if case .none = obj { return .undefined("'None' has no attribute '\(k)'") }
            if let m = Methods.bound(obj, k) { return m }
            return .undefined("'\(obj.typeName) object' has no attribute '\(k)'")
        }
        return .undefined("\(obj.typeName) object has no element \(key.repr)")
    }

    /// A Python index (negative counts from the end) when `key` is an int and in range.
    private func index(_ key: Value, count: Int) -> Int? {
        let i: Int
        switch key {
        case .int(let x): i = x
        case .bool(let b): i = b ? 1 : 0
        default: return nil
        }
        let j = i < 0 ? i + count : i
        return j >= 0 && j < count ? j : nil
    }

    /// Python slicing of lists, tuples and strings.
    func slice(_ base: Value, _ start: Int?, _ stop: Int?, _ step: Int?) throws(TemplateError) -> Value {
        if case .undefined(let u) = base { throw Value.undefinedError(u) }
        let step = step ?? 1
        guard step != 0 else { throw TemplateError(.runtime, "slice step cannot be zero") }
        func indices(_ n: Int) -> [Int] {
            func clamp(_ v: Int?, _ dflt: Int) -> Int {
                guard var v else { return dflt }
                if v < 0 { v += n; if v < 0 { v = step < 0 ? -1 : 0 } } else if v >= n { v = step < 0 ? n - 1 : n }
                return v
            }
            let lo = clamp(start, step < 0 ? n - 1 : 0)
            let hi = clamp(stop, step < 0 ? -1 : n)
            return Array(stride(from: lo, to: hi, by: step))
        }
        switch base {
        case .list(let a): return .list(indices(a.count).map { a[$0] })
        case .tuple(let a): return .tuple(indices(a.count).map { a[$0] })
        case .string(let s):
            let sc = PyText.scalars(s)
            return .string(PyText.make(indices(sc.count).map { sc[$0] }))
        case .dict:
            // jinja2 slices with plain Python subscription, so these are TypeErrors.
            throw TemplateError(.runtime, "unhashable type: 'slice'")
        default:
            throw TemplateError(.runtime, "'\(base.typeName)' object is not subscriptable")
        }
    }

    func loopAttribute(_ l: LoopState, _ name: String) -> Value? {
        switch name {
        case "index": return .int(l.index0 + 1)
        case "index0": return .int(l.index0)
        case "revindex": return .int(l.length - l.index0)
        case "revindex0": return .int(l.length - l.index0 - 1)
        case "first": return .bool(l.index0 == 0)
        case "last": return .bool(l.index0 == l.length - 1)
        case "length": return .int(l.length)
        case "depth": return .int(l.depth)
        case "depth0": return .int(l.depth - 1)
        case "previtem":
            return l.index0 > 0 ? l.items[l.index0 - 1] : .undefined("there is no previous item")
        case "nextitem":
            return l.index0 + 1 < l.length ? l.items[l.index0 + 1] : .undefined("there is no next item")
        case "cycle":
            return .function(Function(name: "cycle") { args, _ throws(TemplateError) in
                guard !args.positional.isEmpty else { throw TemplateError(.runtime, "no items for cycling given") }
                return args.positional[l.index0 % args.positional.count]
            })
        case "changed":
            return .function(Function(name: "changed") { args, _ throws(TemplateError) in
                if let last = l.lastChanged, last.count == args.positional.count,
                   zip(last, args.positional).allSatisfy({ Value.equal($0, $1) })
                {
                    return .bool(false)
                }
                l.lastChanged = args.positional
                return .bool(true)
            })
        default: return nil
        }
    }
}
