import Foundation
import HearthAPI
import HearthEngine

/// Function calling: the tools of a request, how the model learns of them, and how its answer
/// becomes `tool_calls`.
///
/// - The tools reach the model through its chat template when the template lists `tools`
///   (Qwen 2.5, Llama 3.1, ...). Otherwise Hearth adds a system message that describes them and
///   the call format. That message is part of the prompt the model sees, not a hidden change.
/// - The call format is `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` (Hermes and
///   Qwen); with `tool_choice` `auto` such blocks are parsed out of the answer, and so is an
///   answer that is a call object and nothing else (bare or in a Markdown code block).
/// - With `tool_choice` `required`, or a named function, the answer is constrained to one call:
///   `{"name": ..., "arguments": ...}`, whose `arguments` follow the function's `parameters`
///   when there is one function (with several, any object: a documented limit).
struct ToolCalling {
    struct Tool {
        let name: String
        let description: String?
        let parameters: JSONValue?
        let json: JSONValue
    }

    enum Choice: Equatable { case none, auto, required, function(String) }

    let tools: [Tool]
    let choice: Choice

    /// Reads `tools` and `tool_choice`; nil when the request has no tools (or `tool_choice` is
    /// `none`).
    init?(tools: [JSONValue]?, toolChoice: JSONValue?) throws(APIError) {
        guard let tools, !tools.isEmpty else {
            if toolChoice != nil, toolChoice != .string("none"), toolChoice != .string("auto") {
                throw APIError.badRequest("tool_choice names a tool but the request has no tools")
            }
            return nil
        }
        var parsed: [Tool] = []
        for (i, t) in tools.enumerated() {
            guard case .object(let o) = t, o["type"]?.string ?? "function" == "function",
                  case .object(let f)? = o["function"], let name = f["name"]?.string, !name.isEmpty else {
                throw APIError.badRequest("tools[\(i)] must be {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": ...}}")
            }
            parsed.append(Tool(name: name, description: f["description"]?.string, parameters: f["parameters"], json: t))
        }
        switch toolChoice {
        case nil, .string("auto")?: choice = .auto
        case .string("none")?: return nil
        case .string("required")?: choice = .required
        case .object(let o)?:
            guard case .object(let f)? = o["function"], let name = f["name"]?.string else {
                throw APIError.badRequest("tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}")
            }
            guard parsed.contains(where: { $0.name == name }) else {
                throw APIError.badRequest("tool_choice names '\(name)', which is not among the tools")
            }
            choice = .function(name)
        default:
            throw APIError.badRequest("tool_choice must be \"none\", \"auto\", \"required\" or a function")
        }
        self.tools = parsed
    }

    /// The tools as the template sees them.
    var templateTools: [TemplateValue] { tools.map { Self.templateValue($0.json) } }

    /// The system message for a template that does not list tools.
    var systemDescription: String {
        let lines = tools.map { String(decoding: JSON.encode($0.json), as: UTF8.self) }.joined(separator: "\n")
        return """
        You can call these functions:
        \(lines)
        To call one, answer with <tool_call>{"name": "<function name>", "arguments": {<its arguments>}}</tool_call>.
        """
    }

    /// The JSON the answer is constrained to, when a call is required.
    func constraint() throws(APIError) -> JSONShape? {
        let candidates: [Tool]
        switch choice {
        case .none, .auto: return nil
        case .required: candidates = tools
        case .function(let name): candidates = tools.filter { $0.name == name }
        }
        // `{"name": ..., "arguments": ...}` with the name first: the function it names decides
        // the shape of the arguments (its parameters schema; any object without one).
        var variants: [JSONShape.Variant] = []
        for tool in candidates {
            var arguments = JSONShape.object(properties: [], additionalProperties: true)
            if let parameters = tool.parameters {
                arguments = try JSONSchemaReader.shape(parameters, at: "tools[\(tool.name)].function.parameters")
            }
            variants.append(.init(value: String(decoding: JSON.encode(tool.name), as: UTF8.self),
                                  properties: [.init(name: "arguments", shape: arguments, required: true)]))
        }
        return .tagged(key: "name", variants: variants)
    }

    /// Splits an answer into its text and its calls: the whole answer when it was constrained to
    /// one call, else the `<tool_call>` blocks naming known tools (others stay text).
    func parse(_ answer: String, constrained: Bool) -> (content: String?, calls: [OpenAI.ToolCall]) {
        func call(_ json: String) -> OpenAI.ToolCall? {
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                  let name = object["name"] as? String, tools.contains(where: { $0.name == name }) else { return nil }
            let arguments = object["arguments"] ?? object["parameters"] ?? [String: Any]()
            let text = (arguments as? String)
                ?? (try? JSONSerialization.data(withJSONObject: arguments, options: [.sortedKeys, .withoutEscapingSlashes]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return OpenAI.ToolCall(id: "call_" + String(UInt64.random(in: .min ... .max), radix: 36), name: name, arguments: text)
        }
        // A constrained answer is one call; so is an answer that is nothing but a call object
        // (some templates make `<tool_call>` a control token, which the text does not show).
        var bare = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        if bare.hasPrefix("```") && bare.hasSuffix("```") && bare.count > 6 {
            // A call in a Markdown code block (```json ... ```), as small models write it.
            bare = String(bare.dropFirst(3).dropLast(3).drop { $0 != "\n" && $0 != "{" })
        }
        if let whole = call(bare.trimmingCharacters(in: .whitespacesAndNewlines)) { return (nil, [whole]) }
        if constrained { return (answer, []) }
        var calls: [OpenAI.ToolCall] = [], rest = "", remaining = answer[...]
        while let open = remaining.range(of: "<tool_call>") {
            rest += remaining[..<open.lowerBound]
            let after = remaining[open.upperBound...]
            guard let close = after.range(of: "</tool_call>") else {
                rest += remaining[open.lowerBound...]
                remaining = ""
                break
            }
            let body = after[..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            if let c = call(body) { calls.append(c) } else { rest += remaining[open.lowerBound..<close.upperBound] }
            remaining = after[close.upperBound...]
        }
        rest += remaining
        let text = rest.trimmingCharacters(in: .whitespacesAndNewlines)
        return (calls.isEmpty ? answer : (text.isEmpty ? nil : text), calls)
    }

    /// Fits a conversation to a template that lists no tools: an assistant turn's calls are
    /// written into its text, and the tools are described in the system message, both in the
    /// format `parse` reads back. Templates that list tools get the conversation as it is.
    static func adapt(_ messages: inout [ChatMessage], for model: Model, tooling: ToolCalling?) {
        guard !model.chatTemplateTakesTools else { return }
        for i in messages.indices {
            guard let calls = messages[i].toolCalls, !calls.isEmpty else { continue }
            let text: String
            if case .string(let s) = messages[i].content { text = s + "\n" } else { text = "" }
            messages[i].content = .string(text + calls.map { call in
                let arguments: String
                if case .string(let raw) = call.arguments { arguments = raw } else { arguments = (try? call.arguments.jsonString()) ?? "{}" }
                return callText(name: call.name, arguments: arguments)
            }.joined(separator: "\n"))
            messages[i].toolCalls = nil
        }
        guard let tooling else { return }
        if messages.first?.role == "system", case .string(let system) = messages[0].content {
            messages[0].content = .string(system + "\n\n" + tooling.systemDescription)
        } else {
            messages.insert(.system(tooling.systemDescription), at: 0)
        }
    }

    /// A call as the model writes it: `<tool_call>{"name": ..., "arguments": ...}</tool_call>`.
    static func callText(name: String, arguments: String) -> String {
        "<tool_call>{\"name\": \(String(decoding: JSON.encode(name), as: UTF8.self)), \"arguments\": \(arguments)}</tool_call>"
    }

    static func templateValue(_ v: JSONValue) -> TemplateValue {
        switch v {
        case .null: return .none
        case .bool(let b): return .bool(b)
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? .int(Int(n)) : .double(n)
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.map(templateValue))
        case .object(let o): return .object(o.keys.sorted().map { ($0, templateValue(o[$0]!)) })
        }
    }
}
