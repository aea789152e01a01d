import Foundation
import Testing

import HearthTemplate

/// The public API's contracts: defaults, error reporting, JSON helpers and the message model.
@Suite struct APITests {
    @Test func defaultOptionsAreTransformersSettings() throws {
        // Every golden case rendered in transformers' environment renders the same with plain
        // `ChatTemplate(source)`.
        let hfCases = ModelTemplateGoldenTests.cases.filter {
            $0.expected != nil && $0.options.trimBlocks && $0.options.lstripBlocks && !$0.options.keepTrailingNewline
                && $0.options.tojson == .huggingFace
        }
        #expect(hfCases.count >= 30)
        for c in hfCases {
            expectSameBytes(try ChatTemplate(c.source).render(c.context), c.expected ?? "", c.name)
        }
        let jinja = ChatTemplate.Options.jinja2Defaults
        #expect(!jinja.trimBlocks && !jinja.lstripBlocks && !jinja.keepTrailingNewline && jinja.tojson == .jinja2)
    }

    @Test func raiseExceptionCarriesTheTemplatesMessage() throws {
        let template = try ChatTemplate("line one\n{% if x %}{{ raise_exception('Bad role: ' ~ x) }}{% endif %}")
        #expect(try template.render([:]).hasPrefix("line one"))
        do {
            _ = try template.render(["x": "robot"])
            Issue.record("expected raise_exception to throw")
        } catch {
            #expect(error.kind == .raised)
            #expect(error.message == "Bad role: robot")
            #expect(error.description.contains("Bad role: robot"))
            #expect(error.line == 2)
        }
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        do {
            _ = try ChatTemplate("ok\n{{ x }}\n   {% for %}")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.line == 3)
            #expect(error.column == 11)  // the `%}` where an expression was expected
            #expect(error.description.hasPrefix("syntax error at line 3, column 11: "))
        }
    }

    @Test func runtimeErrorsNameTheFailingExpression() {
        do {
            _ = try ChatTemplate("a\n{{ 1 }} {{ missing.attr }}").render([:])
            Issue.record("expected an undefined error")
        } catch {
            #expect(error.kind == .runtime)
            #expect(error.line == 2)
            #expect(error.message.contains("'missing' is undefined"))
        }
    }

    @Test func undefinedContextValuesActLikeMissingKeys() throws {
        let template = try ChatTemplate("{{ x is defined }}/{{ x | default('d') }}")
        #expect(try template.render(["x": .undefined]) == template.render([:]))
    }

    @Test func jsonStringMatchesPythonJSONDumps() throws {
        // Golden/semantics.json renders `{{ value | tojson }}` with transformers' tojson, which
        // is json.dumps(value, ensure_ascii=False).
        let cases = SemanticsGoldenTests.cases.filter { $0.name.hasPrefix("json_value_") && $0.name.hasSuffix("/huggingface") }
        #expect(cases.count >= 6)
        for c in cases {
            let value = try #require(c.context["value"])
            expectSameBytes(try value.jsonString(), c.expected ?? "", c.name)
        }
    }

    @Test func parseJSONKeepsOrderAndNumberKinds() throws {
        let v = try TemplateValue.parseJSON(#"{"b": 1, "a": [1.0, 2, -3e2, "\ud83d\ude00\u00e9"], "b": true}"#)
        guard case .object(let pairs) = v else {
            Issue.record("not an object")
            return
        }
        #expect(pairs.map(\.0) == ["b", "a"])
        #expect(v["b"] == .bool(true))
        #expect(v["a"] == [.double(1.0), .int(2), .double(-300), .string("😀é")])
        #expect(throws: TemplateError.self) { try TemplateValue.parseJSON("[1, 2") }
        #expect(throws: TemplateError.self) { try TemplateValue.parseJSON(String(repeating: "[", count: 10_000)) }
    }

    @Test func templateValueEqualityComparesScalars() {
        #expect(TemplateValue.string("é") != .string("e\u{301}"))
        #expect(TemplateValue.object([("a", 1), ("b", 2)]) != .object([("b", 2), ("a", 1)]))
        #expect(TemplateValue.double(.nan) == .double(.nan))
    }

    @Test func chatMessageShape() throws {
        let call = ToolCall(id: "c1", name: "f", arguments: ["x": 1])
        let m = ChatMessage(role: "assistant", content: .none, toolCalls: [call])
        #expect(m.templateValue["role"] == "assistant")
        #expect(m.templateValue["content"] == TemplateValue.none)
        #expect(m.templateValue["tool_calls"] == [["id": "c1", "type": "function", "function": ["name": "f", "arguments": ["x": 1]]]])
        #expect(ChatMessage(role: "user", content: .undefined).templateValue["content"] == nil)
        #expect(ChatMessage.tool("r", name: "f", toolCallID: "c1").templateValue["tool_call_id"] == "c1")
    }

    @Test func convenienceRenderPassesToolsAndExtra() throws {
        let template = try ChatTemplate("{{ tools is none }}|{{ documents is none }}|{{ tools | length if tools else 0 }}|{{ flag }}|{{ bos_token }}{{ messages[0].content }}{{ eos_token }}")
        let plain = try template.render(messages: [.user("hi")], addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>")
        #expect(plain == "True|True|0||<s>hi</s>")
        let withTools = try template.render(messages: [.user("hi")], addGenerationPrompt: false, bosToken: "", eosToken: "",
                                            tools: [["type": "function"]], extra: ["flag": true, "bos_token": "B"])
        #expect(withTools == "False|True|1|True|Bhi")
    }

    @Test func depthLimitIsClamped() {
        var limits = ChatTemplate.Limits(maxDepth: 1_000_000)
        #expect(limits.maxDepth == ChatTemplate.Limits.maxAllowedDepth)
        limits.maxDepth = 0
        #expect(limits.maxDepth == 1)
    }
}
