/// Builds the syntax tree from tokens, following jinja2's grammar (statement tags here,
/// expressions in ExpressionParser.swift) so that precedence and error positions match it.
struct Parser {
    var tokens: [Token]
    var index = 0
    /// Nesting of blocks and expressions, capped so hostile templates cannot exhaust the stack.
    var depth = 0
    let maxDepth: Int
    /// > 0 inside `if` tags and conditional expressions, where jinja2 defers unknown filters and
    /// tests to render time instead of rejecting the template.
    var softDepth = 0
    /// Enclosing `for` bodies (for `break`/`continue`); reset inside macros.
    var loopDepth = 0
    /// For each macro being parsed: whether its body mentions `varargs` / `kwargs`.
    var macroUsage: [(varargs: Bool, kwargs: Bool)] = []
    /// The block tags that may end the blocks currently open, innermost last (for messages).
    var openBlocks: [(tag: String, ends: [String])] = []

    init(tokens: [Token], maxDepth: Int) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    // MARK: token helpers

    var current: Token { tokens[index] }
    var next: Token { tokens[min(index + 1, tokens.count - 1)] }

    @discardableResult
    mutating func advance() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    func isName(_ t: Token, _ name: String) -> Bool {
        if case .name(let n) = t.kind { return n == name }
        return false
    }

    func isOp(_ t: Token, _ op: String) -> Bool {
        if case .op(let o) = t.kind { return o == op }
        return false
    }

    /// How jinja2 names a token in messages.
    static func describe(_ k: Token.Kind) -> String {
        switch k {
        case .text: return "template data / text"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name(let n): return n
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .op(let o): return o
        case .eof: return "end of template"
        }
    }

    func fail(_ message: String, at t: Token? = nil) -> TemplateError {
        let p = (t ?? current).pos
        return TemplateError(.syntax, message, line: p.line, column: p.column)
    }

    mutating func expect(_ kind: Token.Kind) throws(TemplateError) {
        guard current.kind == kind else {
            if current.kind == .eof {
                throw fail("unexpected end of template, expected '\(Parser.describe(kind))'.")
            }
            throw fail("expected token '\(Parser.describe(kind))', got '\(Parser.describe(current.kind))'")
        }
        advance()
    }

    mutating func expectName() throws(TemplateError) -> String {
        guard case .name(let n) = current.kind else {
            if current.kind == .eof { throw fail("unexpected end of template, expected 'name'.") }
            throw fail("expected token 'name', got '\(Parser.describe(current.kind))'")
        }
        advance()
        return n
    }

    mutating func expectNameToken(_ name: String) throws(TemplateError) {
        guard isName(current, name) else {
            throw fail("expected token '\(name)', got '\(Parser.describe(current.kind))'")
        }
        advance()
    }

    mutating func enter() throws(TemplateError) {
        depth += 1
        if depth > maxDepth {
            throw TemplateError(.limit, "template nesting deeper than \(maxDepth) levels",
                                line: current.pos.line, column: current.pos.column)
        }
    }

    mutating func leave() { depth -= 1 }

    // MARK: template structure

    mutating func parseTemplate() throws(TemplateError) -> [Stmt] {
        let (body, _) = try parseBody(until: [])
        return body
    }

    /// Statements up to one of the `end` tags (left unconsumed after `{%`), or the end of input.
    mutating func parseBody(until end: [String]) throws(TemplateError) -> ([Stmt], String?) {
        try enter()
        defer { leave() }
        var body: [Stmt] = []
        while true {
            let t = current
            switch t.kind {
            case .text(let s):
                advance()
                if !s.isEmpty { body.append(.text(s)) }
            case .variableBegin:
                advance()
                let e = try parseTuple()
                try expect(.variableEnd)
                body.append(.output(e))
            case .blockBegin:
                advance()
                if case .name(let n) = current.kind, end.contains(n) { return (body, n) }
                if let s = try parseStatement() { body.append(s) }
                try expect(.blockEnd)
            case .eof:
                if end.isEmpty { return (body, nil) }
                throw fail(unexpectedEndMessage())
            default:
                throw fail("unexpected '\(Parser.describe(t.kind))'")
            }
        }
    }

    private func lookingFor() -> String {
        guard let inner = openBlocks.last else { return "" }
        let tags = inner.ends.map { "'\($0)'" }.joined(separator: " or ")
        return " Jinja was looking for the following tags: \(tags). The innermost block that needs to be closed is '\(inner.tag)'."
    }

    private func unexpectedEndMessage() -> String { "Unexpected end of template." + lookingFor() }

    /// A body that ends in one of `ends`; returns the body and the tag that ended it (consumed).
    mutating func parseBlock(_ tag: String, ends: [String]) throws(TemplateError) -> ([Stmt], String) {
        openBlocks.append((tag, ends))
        defer { openBlocks.removeLast() }
        let (body, endTag) = try parseBody(until: ends)
        advance()  // the end tag's name
        return (body, endTag ?? "")
    }

    /// One `{% ... %}` statement; the caller consumes the closing `%}`.
    mutating func parseStatement() throws(TemplateError) -> Stmt? {
        let t = current
        guard case .name(let tag) = t.kind else {
            throw fail("tag name expected")
        }
        switch tag {
        case "if": return try parseIf()
        case "for": return try parseFor()
        case "set": return try parseSet()
        case "macro": return try parseMacro()
        case "filter": return try parseFilterBlock()
        case "with": return try parseWith()
        case "print":
            advance()
            return .output(try parseTuple())
        case "generation":
            advance()
            try expect(.blockEnd)
            let (body, _) = try parseBlock("generation", ends: ["endgeneration"])
            return .scoped(body)
        case "break", "continue":
            advance()
            guard loopDepth > 0 else { throw fail("'\(tag)' outside loop", at: t) }
            return tag == "break" ? .breakLoop : .continueLoop
        case "extends", "block", "include", "import", "from", "call", "autoescape", "do":
            throw fail("the '\(tag)' tag is not supported by HearthTemplate", at: t)
        default:
            if openBlocks.contains(where: { $0.ends.contains(tag) }) || tag.hasPrefix("end") || tag == "else" || tag == "elif" {
                throw fail("Encountered unknown tag '\(tag)'." + lookingFor(), at: t)
            }
            throw fail("Encountered unknown tag '\(tag)'.", at: t)
        }
    }

    mutating func parseIf() throws(TemplateError) -> Stmt {
        advance()
        softDepth += 1
        defer { softDepth -= 1 }
        var branches: [(Expr, [Stmt])] = []
        var test = try parseTuple(withCondexpr: false)
        while true {
            try expect(.blockEnd)
            let (body, endTag) = try parseBlock("if", ends: ["elif", "else", "endif"])
            branches.append((test, body))
            switch endTag {
            case "elif":
                test = try parseTuple(withCondexpr: false)
            case "else":
                try expect(.blockEnd)
                let (otherwise, _) = try parseBlock("if", ends: ["endif"])
                return .conditional(branches, otherwise: otherwise)
            default:
                return .conditional(branches, otherwise: nil)
            }
        }
    }

    mutating func parseFor() throws(TemplateError) -> Stmt {
        let start = advance()
        let target = try parseAssignTarget(endNames: ["in"])
        try expectNameToken("in")
        let iterable = try parseTuple(withCondexpr: false, endNames: ["recursive"])
        var condition: Expr? = nil
        if isName(current, "if") {
            advance()
            condition = try parseExpression()
        }
        if isName(current, "recursive") { advance() }  // accepted; recursive calls are not supported
        try expect(.blockEnd)
        let savedSoft = softDepth
        softDepth = 0
        defer { softDepth = savedSoft }
        loopDepth += 1
        let (body, endTag) = try parseBlock("for", ends: ["endfor", "else"])
        loopDepth -= 1
        var otherwise: [Stmt]? = nil
        if endTag == "else" {
            try expect(.blockEnd)
            otherwise = try parseBlock("for", ends: ["endfor"]).0
        }
        return .forLoop(ForLoop(target: target, iterable: iterable, condition: condition, body: body,
                                otherwise: otherwise, pos: start.pos))
    }

    mutating func parseSet() throws(TemplateError) -> Stmt {
        let start = advance()
        let target = try parseAssignTarget(withNamespace: true)
        if isOp(current, "=") {
            advance()
            return .assign(target, try parseTuple(), start.pos)
        }
        var filters: [FilterCall] = []
        if isOp(current, "|") {
            advance()
            filters = try parseFilterChain()
        }
        try expect(.blockEnd)
        let savedSoft = softDepth
        softDepth = 0
        defer { softDepth = savedSoft }
        let (body, _) = try parseBlock("set", ends: ["endset"])
        return .assignBlock(target, filters: filters, body: body, start.pos)
    }

    mutating func parseMacro() throws(TemplateError) -> Stmt {
        let start = advance()
        let name = try expectName()
        try expect(.op("("))
        var params: [(name: String, defaultValue: Expr?)] = []
        while !isOp(current, ")") {
            if !params.isEmpty { try expect(.op(",")) }
            if isOp(current, ")") { break }
            let p = try expectName()
            var d: Expr? = nil
            if isOp(current, "=") {
                advance()
                d = try parseExpression()
            } else if params.contains(where: { $0.defaultValue != nil }) {
                throw fail("non-default argument follows default argument")
            }
            params.append((p, d))
        }
        try expect(.op(")"))
        try expect(.blockEnd)
        let saved = (softDepth, loopDepth)
        softDepth = 0
        loopDepth = 0
        macroUsage.append((false, false))
        defer { (softDepth, loopDepth) = saved }
        let (body, _) = try parseBlock("macro", ends: ["endmacro"])
        let usage = macroUsage.removeLast()
        return .macro(MacroDef(name: name, parameters: params, body: body, catchesVarargs: usage.varargs,
                               catchesKwargs: usage.kwargs, pos: start.pos))
    }

    mutating func parseFilterBlock() throws(TemplateError) -> Stmt {
        advance()
        let filters = try parseFilterChain()
        try expect(.blockEnd)
        let savedSoft = softDepth
        softDepth = 0
        defer { softDepth = savedSoft }
        let (body, _) = try parseBlock("filter", ends: ["endfilter"])
        return .filterBlock(filters, body: body)
    }

    mutating func parseWith() throws(TemplateError) -> Stmt {
        advance()
        var assignments: [(AssignTarget, Expr)] = []
        while current.kind != .blockEnd {
            if !assignments.isEmpty { try expect(.op(",")) }
            let target = try parseAssignTarget()
            try expect(.op("="))
            assignments.append((target, try parseExpression()))
        }
        try expect(.blockEnd)
        let (body, _) = try parseBlock("with", ends: ["endwith"])
        return .with(assignments, body: body)
    }

    /// `name`, `a, b`, `(a, b)` or, for `set`, `ns.attr`.
    mutating func parseAssignTarget(withNamespace: Bool = false, endNames: [String] = []) throws(TemplateError) -> AssignTarget {
        if withNamespace, case .name(let ns) = current.kind, isOp(next, ".") {
            advance()
            advance()
            return .attribute(ns, try expectName())
        }
        var targets: [AssignTarget] = []
        var isTuple = false
        while true {
            if !targets.isEmpty { try expect(.op(",")) }
            if current.kind == .blockEnd || isOp(current, ")") || endNames.contains(where: { isName(current, $0) }) || isOp(current, "=") {
                break
            }
            targets.append(try parseSingleTarget())
            if isOp(current, ",") { isTuple = true } else { break }
        }
        if !isTuple, let only = targets.first { return only }
        if targets.isEmpty { throw fail("Expected an expression, got '\(Parser.describe(current.kind))'") }
        return .tuple(targets)
    }

    private mutating func parseSingleTarget() throws(TemplateError) -> AssignTarget {
        let t = current
        switch t.kind {
        case .name(let n) where !["true", "false", "True", "False", "none", "None"].contains(n):
            advance()
            return .name(n)
        case .op("("):
            advance()
            let inner = try parseAssignTarget()
            try expect(.op(")"))
            return inner
        case .name:
            throw fail("can't assign to 'const'", at: t)
        case .string, .integer, .float:
            throw fail("can't assign to 'const'", at: t)
        default:
            throw fail("can't assign to this expression", at: t)
        }
    }
}

/// Compiles template source to statements.
enum Compiler {
    static func compile(_ source: String, settings: LexerSettings, maxDepth: Int) throws(TemplateError) -> [Stmt] {
        var lexer = Lexer(source, settings: settings)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens, maxDepth: maxDepth)
        return try parser.parseTemplate()
    }
}
