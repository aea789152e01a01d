import Foundation
import HearthEngine
import HearthTestSupport
import Testing

/// The JSON recognizer behind constrained decoding, against independent oracles: Foundation's
/// JSONSerialization for syntax, and a schema validator written here for shapes. Then the real
/// model, constrained, on several seeds: every output parses and validates.
@Suite("Constrained JSON")
struct JSONConstraintTests {
    // MARK: oracles

    /// A JSON value as Foundation's JSONDecoder reads it: the independent parser.
    indirect enum Parsed: Decodable, Equatable {
        case null, bool(Bool), number(Double), string(String), array([Parsed]), object([String: Parsed])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let n = try? c.decode(Double.self) { self = .number(n) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([Parsed].self) { self = .array(a) }
            else { self = .object(try c.decode([String: Parsed].self)) }
        }
    }

    /// Whether `text` is one JSON value, by JSONSerialization (JSONDecoder refuses `0e3`,
    /// which RFC 8259 allows, so it only types values here).
    static func syntaxValid(_ text: [UInt8]) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed])) != nil
    }

    /// The value of `text`, or nil when Foundation's parser refuses it.
    static func parses(_ text: [UInt8]) -> Parsed? {
        try? JSONDecoder().decode(Parsed.self, from: Data(text))
    }

    /// Whether a parsed value has `shape` (a reference validator, independent of the recognizer).
    static func conforms(_ value: Parsed, _ shape: JSONShape) -> Bool {
        switch (shape, value) {
        case (.any, _): return true
        case (.anyOf(let options), _): return options.contains { conforms(value, $0) }
        case (.string, .string), (.boolean, .bool), (.null, .null), (.number, .number): return true
        case (.integer, .number(let n)): return n == n.rounded()
        case (.literals(let texts), _): return texts.contains { parses(Array($0.utf8)) == value }
        case (.array(let items), .array(let a)): return a.allSatisfy { conforms($0, items) }
        case (.object(let properties, let additional), .object(let o)):
            for p in properties where p.required && o[p.name] == nil { return false }
            for (k, v) in o {
                if let p = properties.first(where: { $0.name == k }) {
                    if !conforms(v, p.shape) { return false }
                } else if !additional { return false }
            }
            return true
        default: return false
        }
    }

    /// Feeds all of `text`; true when every byte is taken and the text can end there.
    static func recognizes(_ text: [UInt8], _ shape: JSONShape) -> Bool {
        var r = JSONRecognizer(shape)
        return r.feed(text) && r.canEnd
    }

    // MARK: generators

    /// A random JSON text of `shape` (keys without escapes, at most 3 blanks in a row).
    static func randomText(_ shape: JSONShape, _ rng: inout TestRandom, depth: Int = 0) -> String {
        func ws() -> String { ["", " ", "\n  ", "\t"][rng.int(below: 4)] }
        func string() -> String {
            let pieces = ["a", "Z", "é", "✓", " ", "\\\"", "\\\\", "\\n", "\\u00e9", "x1", "🔥", "/"]
            return "\"" + (0..<rng.int(below: 6)).map { _ in pieces[rng.int(below: pieces.count)] }.joined() + "\""
        }
        func number(integer: Bool) -> String {
            var s = rng.bool() ? "-" : ""
            s += rng.int(below: 4) == 0 ? "0" : String(1 + rng.int(below: 9)) + String(rng.int(below: 1000))
            if !integer {
                if rng.bool() { s += "." + String(rng.int(below: 100)) }
                if rng.int(below: 4) == 0 { s += ["e", "E"][rng.int(below: 2)] + ["", "+", "-"][rng.int(below: 3)] + String(rng.int(below: 30)) }
            }
            return s
        }
        switch shape {
        case .any:
            let kinds: [JSONShape] = depth > 2 ? [.string, .number, .boolean, .null]
                : [.object(properties: [], additionalProperties: true), .array(items: .any), .string, .number, .boolean, .null]
            return randomText(kinds[rng.int(below: kinds.count)], &rng, depth: depth)
        case .anyOf(let options): return randomText(options[rng.int(below: options.count)], &rng, depth: depth)
        case .string: return string()
        case .number: return number(integer: false)
        case .integer: return number(integer: true)
        case .boolean: return rng.bool() ? "true" : "false"
        case .null: return "null"
        case .literals(let texts): return texts[rng.int(below: texts.count)]
        case .array(let items):
            let n = depth > 3 ? 0 : rng.int(below: 4)
            return "[" + ws() + (0..<n).map { _ in randomText(items, &rng, depth: depth + 1) }.joined(separator: ws() + "," + ws()) + ws() + "]"
        case .object(let properties, let additional):
            var members: [String] = []
            for p in properties where p.required || rng.bool() {
                members.append("\"\(p.name)\"" + ws() + ":" + ws() + randomText(p.shape, &rng, depth: depth + 1))
            }
            if additional && depth < 3 {
                for i in 0..<rng.int(below: 3) { members.append("\"k\(i)\":" + ws() + randomText(.any, &rng, depth: depth + 1)) }
            }
            members.shuffle(using: &rng)
            return "{" + ws() + members.joined(separator: "," + ws()) + ws() + "}"
        case .tagged(let key, let variants):
            // The tag first, then the chosen variant's members in any order.
            let v = variants[rng.int(below: variants.count)]
            var members: [String] = []
            for p in v.properties where p.required || rng.bool() {
                members.append("\"\(p.name)\"" + ws() + ":" + ws() + randomText(p.shape, &rng, depth: depth + 1))
            }
            members.shuffle(using: &rng)
            return "{" + ws() + "\"\(key)\":" + ws() + v.value + (members.isEmpty ? "" : "," + ws() + members.joined(separator: "," + ws())) + ws() + "}"
        }
    }

    static let person = JSONShape.object(properties: [
        .init(name: "name", shape: .string, required: true),
        .init(name: "age", shape: .integer, required: true),
        .init(name: "height", shape: .number, required: false),
        .init(name: "tags", shape: .array(items: .literals(["\"red\"", "\"green\"", "1", "12"])), required: false),
        .init(name: "pet", shape: .anyOf([.null, .object(properties: [.init(name: "kind", shape: .string, required: true)],
                                                         additionalProperties: false)]), required: false),
        .init(name: "ok", shape: .boolean, required: true),
    ], additionalProperties: false)

    // MARK: tests

    @Test("every generated JSON text is recognized, and Foundation parses it too")
    func acceptsValidText() {
        var rng = TestRandom(seed: 11)
        for shape in [JSONShape.any, Self.person, .array(items: .number), .literals(["1", "12", "\"a\""])] {
            for _ in 0..<300 {
                let text = Array(Self.randomText(shape, &rng).utf8)
                #expect(Self.syntaxValid(text), "the generator made invalid JSON: \(String(decoding: text, as: UTF8.self))")
                #expect(Self.recognizes(text, shape), "rejected: \(String(decoding: text, as: UTF8.self))")
            }
        }
    }

    @Test("a damaged text the recognizer takes whole is valid JSON of the shape (Foundation and the validator agree)")
    func rejectsWhatTheOraclesReject() {
        var rng = TestRandom(seed: 12)
        var rejected = 0, total = 0
        for shape in [JSONShape.any, Self.person] {
            for _ in 0..<1500 {
                var text = Array(Self.randomText(shape, &rng).utf8)
                // One to three ASCII edits: replace, insert or delete a byte.
                for _ in 0..<(1 + rng.int(below: 3)) {
                    let alphabet = Array("{}[]:,\"\\ 0123456789.-+eEtrufalsn\nxyz".utf8)
                    let i = rng.int(below: text.count + 1)
                    switch rng.int(below: 3) {
                    case 0 where i < text.count: text[i] = alphabet[rng.int(below: alphabet.count)]
                    case 1: text.insert(alphabet[rng.int(below: alphabet.count)], at: i)
                    default: if i < text.count { text.remove(at: i) }
                    }
                }
                total += 1
                // JSONSerialization reads numbers into Double and refuses those past its range
                // (`2E821`), which JSON allows: such texts say nothing about the recognizer.
                if Self.recognizes(text, shape), !Self.hasHugeExponent(text) {
                    #expect(Self.syntaxValid(text), "took invalid JSON: \(String(decoding: text, as: UTF8.self))")
                    if let parsed = Self.parses(text) {
                        #expect(Self.conforms(parsed, shape), "took JSON not of the shape: \(String(decoding: text, as: UTF8.self))")
                    }
                } else {
                    rejected += 1
                }
            }
        }
        #expect(rejected > total / 2, "most damaged texts are refused (\(rejected) of \(total))")
    }

    static func hasHugeExponent(_ text: [UInt8]) -> Bool {
        String(decoding: text, as: UTF8.self).range(of: #"[eE][+-]?[0-9]{3,}"#, options: .regularExpression) != nil
    }

    @Test("prefixes: a valid text is never refused before its end, and cannot end early")
    func prefixes() {
        var rng = TestRandom(seed: 13)
        for _ in 0..<200 {
            let text = Array(Self.randomText(Self.person, &rng).utf8)
            var r = JSONRecognizer(Self.person)
            for (i, b) in text.enumerated() {
                let took = r.feed(b)
                #expect(took, "byte \(i) of \(String(decoding: text, as: UTF8.self))")
                if i < text.count - 1 && !text[(i + 1)...].allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x09 }) {
                    #expect(!r.isComplete)
                }
            }
            #expect(r.isComplete)
        }
    }

    @Test("the shape's rules: required keys, no unknown keys, integer, enum, whitespace limit")
    func shapeRules() {
        let p = Self.person
        func ok(_ s: String) -> Bool { Self.recognizes(Array(s.utf8), p) }
        #expect(ok(#"{"name": "A", "age": 3, "ok": true}"#))
        #expect(!ok(#"{"name": "A", "ok": true}"#), "age is required")
        #expect(!ok(#"{"name": "A", "age": 3, "ok": true, "extra": 1}"#), "no additional properties")
        #expect(!ok(#"{"name": "A", "age": 3.5, "ok": true}"#), "age is an integer")
        #expect(!ok(#"{"name": "A", "age": 3, "ok": true, "tags": ["blue"]}"#), "tags come from the enum")
        #expect(ok(#"{"name": "A", "age": 3, "ok": true, "tags": ["red", 12, 1]}"#))
        #expect(!ok(#"{"name": "A", "name": "B", "age": 3, "ok": true}"#), "a key appears once")
        #expect(!ok(#"{"n\u0061me": "A", "age": 3, "ok": true}"#), "property names are spelled without escapes")
        #expect(ok(#"{"name": "A", "age": 3, "ok": true, "pet": null}"#))
        #expect(ok(#"{"name": "A", "age": 3, "ok": true, "pet": {"kind": "cat"}}"#))
        #expect(!Self.recognizes(Array(("[" + String(repeating: " ", count: JSONRecognizer.maxWhitespace + 1) + "]").utf8), .any))
        #expect(!Self.recognizes(Array("[1,]".utf8), .any), "no trailing comma")
        #expect(!Self.recognizes(Array("01".utf8), .any), "no leading zero")
        var r = JSONRecognizer(.number)
        let took = r.feed(Array("12".utf8))
        #expect(took && r.canEnd && !r.isComplete, "a number ends only with the text")
    }

    @Test("a tagged object: the tag comes first, and its value decides the rest (a call's arguments follow its function)")
    func taggedObjects() {
        // Two functions: weather(city: string, required) and add(a, b: integer, required).
        let shape = JSONShape.tagged(key: "name", variants: [
            .init(value: #""weather""#, properties: [.init(name: "arguments", shape: .object(properties: [
                .init(name: "city", shape: .string, required: true)], additionalProperties: false), required: true)]),
            .init(value: #""add""#, properties: [.init(name: "arguments", shape: .object(properties: [
                .init(name: "a", shape: .integer, required: true), .init(name: "b", shape: .integer, required: true)],
                additionalProperties: false), required: true)]),
        ])
        func ok(_ s: String) -> Bool { Self.recognizes(Array(s.utf8), shape) }
        #expect(ok(#"{"name": "weather", "arguments": {"city": "Paris"}}"#))
        #expect(ok(#"{"name":"add","arguments":{"a":1,"b":2}}"#))
        #expect(!ok(#"{"name": "weather", "arguments": {"a": 1, "b": 2}}"#), "weather's arguments are not add's")
        #expect(!ok(#"{"name": "add", "arguments": {"city": "Paris"}}"#), "add's arguments are not weather's")
        #expect(!ok(#"{"name": "add", "arguments": {"a": 1}}"#), "b is required for add")
        #expect(!ok(#"{"arguments": {"city": "Paris"}, "name": "weather"}"#), "the tag comes first")
        #expect(!ok(#"{"name": "subtract", "arguments": {}}"#), "only the variants' names")
        #expect(!ok(#"{"name": "weather"}"#), "the variant's required keys")
        #expect(!ok(#"{"name": "weather", "arguments": {"city": "Paris"}, "extra": 1}"#), "no other keys")
    }

    @Test("the real model, constrained, writes JSON that parses and validates, on every seed")
    func realModel() throws {
        guard let path = try TestPaths.model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let model = try Model(path: path)
        let shape = JSONShape.object(properties: [
            .init(name: "name", shape: .string, required: true),
            .init(name: "age", shape: .integer, required: true),
            .init(name: "colors", shape: .array(items: .literals(["\"black\"", "\"white\"", "\"orange\""])), required: true),
            .init(name: "indoor", shape: .boolean, required: true),
        ], additionalProperties: false)
        let prompt = model.tokenize(try model.renderChat([.user("Describe a cat as JSON.")]))
        var completed = 0
        for seed in 1...6 {
            var sampling = SamplingParameters()
            sampling.temperature = seed == 1 ? 0 : 0.8
            sampling.seed = UInt64(seed)
            let session = try model.makeSession(contextSize: 512)
            let result = try model.generate(in: session, promptTokens: prompt,
                                            options: GenerationOptions(maxTokens: 160, sampling: sampling, json: shape))
            let text = Array(result.text.utf8)
            // Cut off by max tokens, the text is still a prefix the recognizer takes.
            var r = JSONRecognizer(shape)
            let took = r.feed(text)
            #expect(took, "seed \(seed): \(result.text)")
            guard result.stopReason == .endOfGeneration else { continue }
            completed += 1
            #expect(Self.syntaxValid(text), "seed \(seed) is not JSON: \(result.text)")
            let parsed = try #require(Self.parses(text), "seed \(seed) does not decode: \(result.text)")
            #expect(Self.conforms(parsed, shape), "seed \(seed) does not validate: \(result.text)")
        }
        // The 135M model sometimes repeats an array item until the token limit; half the seeds
        // close their object, which is enough to check what closed objects look like.
        #expect(completed >= 3, "seeds that finish their object within 160 tokens: \(completed) of 6")
    }
}

/// Batched decoding against the one-sequence path it must agree with.
@Suite("Batched decoding")
struct BatchedDecodeTests {
    @Test("one token each of three sequences in one pass gives each the logits it gets alone")
    func decodeTogetherMatchesAlone() throws {
        guard let path = try TestPaths.model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let model = try Model(path: path)
        let prompts = ["Once upon a time", "The capital of France is", "def fibonacci(n):\n    "].map { model.tokenize($0) }
        let next: [Int32] = [42, 1000, 7]
        let together = try prompts.map { p in
            let s = try model.makeSession(contextSize: 128)
            _ = try s.evaluate(p)
            return s
        }
        try Session.decode(zip(together, next).map { ($0, $1) })
        // And a second batched step, so that positions advance in every cache.
        let then: [Int32] = [5, 6, 8]
        try Session.decode(zip(together, then).map { ($0, $1) })
        for (i, p) in prompts.enumerated() {
            let alone = try model.makeSession(contextSize: 128)
            _ = try alone.evaluate(p)
            _ = try alone.evaluate([next[i]])
            let expected = Array(try alone.evaluate([then[i]]))
            let got = Array(together[i].lastLogits)
            #expect(together[i].tokens == alone.tokens)
            let range = expected.max()! - expected.min()!
            let worst = zip(got, expected).map { abs($0 - $1) }.max()!
            #expect(worst < 0.02 * range, "sequence \(i): largest difference \(worst) of a logit range \(range)")
            #expect(got.indices.max { got[$0] < got[$1] } == expected.indices.max { expected[$0] < expected[$1] })
        }
    }

    @Test("sessions of one batch must differ and have room")
    func refusesBadBatches() throws {
        guard let path = try TestPaths.model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let model = try Model(path: path)
        let a = try model.makeSession(contextSize: 8), b = try model.makeSession(contextSize: 8)
        _ = try a.evaluate([1, 2])
        _ = try b.evaluate([1, 2, 3, 4, 5, 6, 7, 8])
        #expect(throws: EngineError.self) { try Session.decode([(a, 3), (a, 4)]) }
        #expect(throws: EngineError.self) { try Session.decode([(a, 3), (b, 4)]) }
        #expect(throws: EngineError.self) { try Session.decode([(a, 3), (a, -1)]) }
    }
}
