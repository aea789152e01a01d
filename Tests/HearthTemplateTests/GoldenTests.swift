import Testing

import HearthTemplate

/// The chat templates of Hearth's three test models, rendered over conversations by Python's
/// jinja2 with transformers' settings (Golden/cases.json); output must match byte for byte.
@Suite struct ModelTemplateGoldenTests {
    static let cases = GoldenCase.load("cases.json")

    @Test func goldenFilesArePresent() {
        #expect(Self.cases.count >= 40)
        for model in ["smollm2", "qwen2.5-coder", "gemma3"] {
            #expect(Self.cases.contains { $0.name.hasPrefix(model + "/") }, "no cases for \(model)")
            #expect(!Golden.text("\(model).template.jinja").isEmpty, "missing template for \(model)")
        }
        #expect(Self.cases.contains { $0.errorContains != nil }, "no raise_exception case")
    }

    @Test(arguments: cases) func rendersLikeJinja2(_ c: GoldenCase) {
        check(c)
    }

    /// Cases whose messages `ChatMessage` can express (tool calls in the full OpenAI shape).
    static let convenienceCases = cases.filter { c in
        guard c.expected != nil, c.options.trimBlocks, c.options.tojson == .huggingFace,
              case .array(let raw)? = c.context["messages"] else { return false }
        return raw.allSatisfy { chatMessage($0) != nil }
    }

    @Test func convenienceCasesCoverEveryModel() {
        #expect(Self.convenienceCases.count >= 30)
        #expect(Self.convenienceCases.contains { $0.name == "qwen2.5-coder/tools_call_and_results" })
    }

    /// The same conversations through the `ChatMessage` convenience API.
    @Test(arguments: convenienceCases)
    func convenienceAPIMatches(_ c: GoldenCase) throws {
        guard case .array(let raw)? = c.context["messages"], case .string(let bos)? = c.context["bos_token"],
              case .string(let eos)? = c.context["eos_token"], case .bool(let agp)? = c.context["add_generation_prompt"]
        else {
            Issue.record("unexpected context shape")
            return
        }
        let messages = raw.compactMap(Self.chatMessage)
        try #require(messages.count == raw.count, "message not representable: \(c.name)")
        var tools: [TemplateValue]? = nil
        if case .array(let t)? = c.context["tools"] { tools = t }
        let template = try ChatTemplate(c.source, options: c.options)
        let output = try template.render(messages: messages, addGenerationPrompt: agp, bosToken: bos, eosToken: eos, tools: tools)
        expectSameBytes(output, c.expected ?? "", c.name)
    }

    static func chatMessage(_ v: TemplateValue) -> ChatMessage? {
        guard case .string(let role)? = v["role"] else { return nil }
        var m = ChatMessage(role: role, content: v["content"] ?? .undefined)
        if case .string(let n)? = v["name"] { m.name = n }
        if case .string(let id)? = v["tool_call_id"] { m.toolCallID = id }
        if case .array(let calls)? = v["tool_calls"] {
            var out: [ToolCall] = []
            for call in calls {
                // Only the full OpenAI shape maps onto ToolCall.
                guard case .string(let name)? = call["function"]?["name"], let args = call["function"]?["arguments"] else { return nil }
                var id: String? = nil
                if case .string(let s)? = call["id"] { id = s }
                out.append(ToolCall(id: id, name: name, arguments: args))
            }
            m.toolCalls = out
        }
        return m
    }
}

/// One Jinja feature per template, rendered by jinja2 in transformers' environment and in
/// jinja2's defaults (Golden/semantics.json).
@Suite struct SemanticsGoldenTests {
    static let cases = GoldenCase.load("semantics.json")

    @Test func goldenFileIsPresent() {
        #expect(Self.cases.count >= 200)
    }

    @Test(arguments: cases) func rendersLikeJinja2(_ c: GoldenCase) {
        check(c)
    }
}

/// Malformed templates: HearthTemplate must refuse them at compile time with a syntax error that
/// names the line jinja2 names, and a column.
@Suite struct SyntaxErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var source: String
        var compiles: Bool
        var line: Int?
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        guard case .array(let all)? = Golden.json("syntax-errors.json")["cases"] else { return [] }
        return all.compactMap { c in
            guard case .string(let name)? = c["name"], case .string(let source)? = c["source"] else { return nil }
            var line: Int? = nil
            if case .int(let l)? = c["line"] { line = l }
            return Case(name: name, source: source, compiles: c["compiles"] == .bool(true), line: line)
        }
    }()

    @Test func goldenFileIsPresent() {
        #expect(Self.cases.count >= 20)
    }

    @Test(arguments: cases) func reportsLineAndColumn(_ c: Case) {
        do {
            _ = try ChatTemplate(c.source)
            #expect(c.compiles, "\(c.name) compiled but jinja2 rejects it")
        } catch {
            #expect(!c.compiles, "\(c.name): \(error)")
            #expect(error.kind == .syntax, "\(c.name): \(error)")
            #expect(error.column != nil, "\(c.name): \(error)")
            if let line = c.line {
                #expect(error.line == line, "\(c.name): jinja2 says line \(line), got \(error)")
                #expect(error.description.contains("line \(line), column "), "\(error.description)")
            }
        }
    }
}
