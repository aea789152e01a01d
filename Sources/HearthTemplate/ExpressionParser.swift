/// Expression grammar, in jinja2's precedence order (loosest first):
/// conditional `a if c else b` < `or` < `and` < `not` < comparisons and `in` < `+ -` < `~`
/// < `* / // %` < `**` < unary `- +` < postfix (`.attr`, `[i]`, calls) < filters and tests.
/// Note that filters bind tighter than every operator (`'a' + x | upper` filters only `x`) and
/// that `**` is left-associative in jinja2, unlike Python.
extension Parser {
    /// Builds a node, refusing expressions taller than the depth limit.
    func makeNode(_ kind: Expr.Kind, pos: SourcePos) throws(TemplateError) -> Expr {
        let e = Expr(kind: kind, pos: pos)
        if e.height > maxDepth {
            throw TemplateError(.limit, "expression nested deeper than \(maxDepth) levels", line: pos.line, column: pos.column)
        }
        return e
    }

    /// A comma-separated expression list; more than one item (or a trailing comma) is a tuple.
    mutating func parseTuple(withCondexpr: Bool = true, endNames: [String] = [], explicitParentheses: Bool = false) throws(TemplateError) -> Expr {
        let start = current
        var items: [Expr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expect(.op(",")) }
            if current.kind == .variableEnd || current.kind == .blockEnd || isOp(current, ")")
                || endNames.contains(where: { isName(current, $0) })
            {
                break
            }
            items.append(try parseExpression(withCondexpr: withCondexpr))
            if isOp(current, ",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses {
                throw fail("Expected an expression, got '\(Parser.describe(current.kind))'")
            }
        }
        return try makeNode(.tuple(items), pos: start.pos)
    }

    mutating func parseExpression(withCondexpr: Bool = true) throws(TemplateError) -> Expr {
        try enter()
        defer { leave() }
        return withCondexpr ? try parseConditional() : try parseOr()
    }

    mutating func parseConditional() throws(TemplateError) -> Expr {
        var expr = try parseOr()
        while isName(current, "if") {
            let t = advance()
            softDepth += 1
            defer { softDepth -= 1 }
            let test = try parseOr()
            var otherwise: Expr? = nil
            if isName(current, "else") {
                advance()
                otherwise = try parseConditional()
            }
            expr = try makeNode(.conditional(test: test, then: expr, otherwise: otherwise), pos: t.pos)
        }
        return expr
    }

    mutating func parseOr() throws(TemplateError) -> Expr {
        var left = try parseAnd()
        while isName(current, "or") {
            let t = advance()
            left = try makeNode(.or(left, try parseAnd()), pos: t.pos)
        }
        return left
    }

    mutating func parseAnd() throws(TemplateError) -> Expr {
        var left = try parseNot()
        while isName(current, "and") {
            let t = advance()
            left = try makeNode(.and(left, try parseNot()), pos: t.pos)
        }
        return left
    }

    mutating func parseNot() throws(TemplateError) -> Expr {
        if isName(current, "not") {
            let t = advance()
            try enter()
            defer { leave() }
            return try makeNode(.not(try parseNot()), pos: t.pos)
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws(TemplateError) -> Expr {
        let first = try parseMath1()
        var ops: [(CompareOp, Expr)] = []
        while true {
            if case .op(let o) = current.kind, let op = CompareOp(rawValue: o), op != .contains, op != .notContains {
                advance()
                ops.append((op, try parseMath1()))
            } else if isName(current, "in") {
                advance()
                ops.append((.contains, try parseMath1()))
            } else if isName(current, "not"), isName(next, "in") {
                advance()
                advance()
                ops.append((.notContains, try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? first : try makeNode(.compare(first, ops), pos: first.pos)
    }

    mutating func parseMath1() throws(TemplateError) -> Expr {
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            let t = advance()
            left = try makeNode(.binary(o == "+" ? .add : .sub, left, try parseConcat()), pos: t.pos)
        }
        return left
    }

    mutating func parseConcat() throws(TemplateError) -> Expr {
        var parts = [try parseMath2()]
        while isOp(current, "~") {
            advance()
            parts.append(try parseMath2())
        }
        return parts.count == 1 ? parts[0] : try makeNode(.concat(parts), pos: parts[0].pos)
    }

    mutating func parseMath2() throws(TemplateError) -> Expr {
        var left = try parsePow()
        while case .op(let o) = current.kind, let op = BinaryOp(rawValue: o), [.mul, .div, .floorDiv, .mod].contains(op) {
            let t = advance()
            left = try makeNode(.binary(op, left, try parsePow()), pos: t.pos)
        }
        return left
    }

    mutating func parsePow() throws(TemplateError) -> Expr {
        var left = try parseUnary()
        while isOp(current, "**") {
            let t = advance()
            left = try makeNode(.binary(.pow, left, try parseUnary()), pos: t.pos)
        }
        return left
    }

    mutating func parseUnary(withFilter: Bool = true) throws(TemplateError) -> Expr {
        try enter()
        defer { leave() }
        let t = current
        var node: Expr
        if isOp(t, "-") {
            advance()
            node = try makeNode(.negate(try parseUnary(withFilter: false)), pos: t.pos)
        } else if isOp(t, "+") {
            advance()
            node = try makeNode(.plus(try parseUnary(withFilter: false)), pos: t.pos)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    mutating func parsePrimary() throws(TemplateError) -> Expr {
        let t = current
        switch t.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return try makeNode(.literal(.bool(true)), pos: t.pos)
            case "false", "False": return try makeNode(.literal(.bool(false)), pos: t.pos)
            case "none", "None": return try makeNode(.literal(.none), pos: t.pos)
            default:
                if !macroUsage.isEmpty {
                    if n == "varargs" { macroUsage[macroUsage.count - 1].varargs = true }
                    if n == "kwargs" { macroUsage[macroUsage.count - 1].kwargs = true }
                }
                return try makeNode(.name(n), pos: t.pos)
            }
        case .string(var s):
            advance()
            // Adjacent string literals concatenate, as in Python.
            while case .string(let more) = current.kind {
                s += more
                advance()
            }
            return try makeNode(.literal(.string(s)), pos: t.pos)
        case .integer(let i):
            advance()
            return try makeNode(.literal(.int(i)), pos: t.pos)
        case .float(let d):
            advance()
            return try makeNode(.literal(.double(d)), pos: t.pos)
        case .op("("):
            advance()
            let e = try parseTuple(explicitParentheses: true)
            try expect(.op(")"))
            return e
        case .op("["):
            advance()
            var items: [Expr] = []
            while !isOp(current, "]") {
                if !items.isEmpty { try expect(.op(",")) }
                if isOp(current, "]") { break }
                items.append(try parseExpression())
            }
            try expect(.op("]"))
            return try makeNode(.list(items), pos: t.pos)
        case .op("{"):
            advance()
            var pairs: [(Expr, Expr)] = []
            while !isOp(current, "}") {
                if !pairs.isEmpty { try expect(.op(",")) }
                if isOp(current, "}") { break }
                let key = try parseExpression()
                try expect(.op(":"))
                pairs.append((key, try parseExpression()))
            }
            try expect(.op("}"))
            return try makeNode(.dict(pairs), pos: t.pos)
        default:
            if t.kind == .eof { throw fail("unexpected end of template") }
            throw fail("unexpected '\(Parser.describe(t.kind))'")
        }
    }

    mutating func parsePostfix(_ start: Expr) throws(TemplateError) -> Expr {
        var node = start
        while true {
            if isOp(current, ".") {
                let dot = advance()
                let t = current
                switch t.kind {
                case .name(let n):
                    advance()
                    node = try makeNode(.attribute(node, n), pos: dot.pos)
                case .integer(let i):
                    advance()
                    node = try makeNode(.item(node, try makeNode(.literal(.int(i)), pos: t.pos)), pos: dot.pos)
                default:
                    throw fail("expected name or number", at: t)
                }
            } else if isOp(current, "[") {
                let open = advance()
                var subscripts: [Expr] = []
                while !isOp(current, "]") {
                    if !subscripts.isEmpty { try expect(.op(",")) }
                    subscripts.append(try parseSubscribed(of: node))
                }
                try expect(.op("]"))
                if subscripts.count == 1, case .slice = subscripts[0].kind {
                    node = subscripts[0]
                } else if subscripts.count == 1 {
                    node = try makeNode(.item(node, subscripts[0]), pos: open.pos)
                } else {
                    node = try makeNode(.item(node, try makeNode(.tuple(subscripts), pos: open.pos)), pos: open.pos)
                }
            } else if isOp(current, "(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    /// One subscript: an index, or a slice `start:stop:step` (returned as a slice of `base`).
    private mutating func parseSubscribed(of base: Expr) throws(TemplateError) -> Expr {
        let t = current
        var start: Expr? = nil
        if !isOp(current, ":") {
            let e = try parseExpression()
            if !isOp(current, ":") { return e }
            start = e
        }
        advance()  // the first colon
        var stop: Expr? = nil
        if !isOp(current, ":"), !isOp(current, "]"), !isOp(current, ",") { stop = try parseExpression() }
        var step: Expr? = nil
        if isOp(current, ":") {
            advance()
            if !isOp(current, "]"), !isOp(current, ",") { step = try parseExpression() }
        }
        return try makeNode(.slice(base, start: start, stop: stop, step: step), pos: t.pos)
    }

    mutating func parseCall(_ callee: Expr) throws(TemplateError) -> Expr {
        let open = current
        return try makeNode(.call(callee, try parseCallArguments()), pos: open.pos)
    }

    /// `( args )` with positional, `key=value`, `*list` and `**dict` arguments in jinja2's order.
    mutating func parseCallArguments() throws(TemplateError) -> [Argument] {
        let open = current
        try expect(.op("("))
        var args: [Argument] = []
        var seenKeyword = false, seenSplat = false, seenDoubleSplat = false
        func invalid() -> TemplateError { fail("invalid syntax for function call expression", at: open) }
        while !isOp(current, ")") {
            if !args.isEmpty {
                try expect(.op(","))
                if isOp(current, ")") { break }
            }
            if isOp(current, "*") {
                guard !seenSplat, !seenDoubleSplat else { throw invalid() }
                advance()
                args.append(.splat(try parseExpression()))
                seenSplat = true
            } else if isOp(current, "**") {
                guard !seenDoubleSplat else { throw invalid() }
                advance()
                args.append(.doubleSplat(try parseExpression()))
                seenDoubleSplat = true
            } else if case .name(let key) = current.kind, isOp(next, "=") {
                guard !seenDoubleSplat else { throw invalid() }
                advance()
                advance()
                args.append(.keyword(key, try parseExpression()))
                seenKeyword = true
            } else {
                guard !seenKeyword, !seenSplat, !seenDoubleSplat else { throw invalid() }
                args.append(.positional(try parseExpression()))
            }
        }
        try expect(.op(")"))
        return args
    }

    /// Filters (`| f`), tests (`is t`) and calls after a unary expression, in any order.
    mutating func parseFilterExpr(_ start: Expr) throws(TemplateError) -> Expr {
        var node = start
        while true {
            if isOp(current, "|") {
                advance()
                for f in try parseFilterChain() { node = try makeNode(.filter(node, f), pos: f.pos) }
            } else if isName(current, "is") {
                node = try parseTest(node)
            } else if isOp(current, "(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    /// `f(args) | g | h` after the first `|` (or after `{% filter`).
    mutating func parseFilterChain() throws(TemplateError) -> [FilterCall] {
        var filters: [FilterCall] = []
        repeat {
            if !filters.isEmpty { advance() }  // the `|`
            let t = current
            var name = try expectName()
            while isOp(current, ".") {
                advance()
                name += "." + (try expectName())
            }
            if !Filters.known.contains(name), softDepth == 0 {
                throw fail("No filter named '\(name)'.", at: t)
            }
            let args = isOp(current, "(") ? try parseCallArguments() : []
            filters.append(FilterCall(name: name, args: args, pos: t.pos))
        } while isOp(current, "|")
        return filters
    }

    mutating func parseTest(_ subject: Expr) throws(TemplateError) -> Expr {
        let isToken = advance()
        var negated = false
        if isName(current, "not") {
            advance()
            negated = true
        }
        let nameToken = current
        var name = try expectName()
        while isOp(current, ".") {
            advance()
            name += "." + (try expectName())
        }
        if !Tests.known.contains(name), softDepth == 0 {
            throw fail("No test named '\(name)'.", at: nameToken)
        }
        var args: [Argument] = []
        if isOp(current, "(") {
            args = try parseCallArguments()
        } else if startsBareTestArgument() {
            if isName(current, "is") { throw fail("You cannot chain multiple tests with is") }
            let arg = try parsePostfix(try parsePrimary())
            args = [.positional(arg)]
        }
        return try makeNode(.test(subject, name: name, args: args, negated: negated), pos: isToken.pos)
    }

    /// jinja2 lets a test take one argument without parentheses: `x is divisibleby 3`.
    private func startsBareTestArgument() -> Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and"].contains(n)
        case .string, .integer, .float, .op("["), .op("{"): return true
        case .op("("): return true
        default: return false
        }
    }
}
