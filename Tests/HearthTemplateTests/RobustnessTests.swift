import Foundation
import HearthTestSupport
import Testing

import HearthTemplate

/// Hostile or broken input must end in a `TemplateError`, never a crash, a hang or unbounded
/// memory. Each test here would crash the test process if a guard were missing.
@Suite struct RobustnessTests {
    private func expectFailure(_ kind: TemplateError.Kind, _ source: String, context: [String: TemplateValue] = [:],
                               options: ChatTemplate.Options = .init(), sourceLocation: SourceLocation = #_sourceLocation)
    {
        do {
            let output = try ChatTemplate(source, options: options).render(context)
            Issue.record("expected a \(kind) error, rendered \(output.utf8.count) bytes", sourceLocation: sourceLocation)
        } catch {
            #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func deeplyNestedExpressionsHitTheDepthLimit() {
        let n = 5_000
        expectFailure(.limit, "{{ " + String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n) + " }}")
        expectFailure(.limit, "{{ " + String(repeating: "[", count: n) + String(repeating: "]", count: n) + " }}")
        expectFailure(.limit, "{{ " + String(repeating: "not ", count: n) + "x }}")
        expectFailure(.limit, "{{ " + String(repeating: "- ", count: n) + "1 }}")
        expectFailure(.limit, "{{ x" + String(repeating: " if y else x", count: n) + " }}")
        expectFailure(.limit, String(repeating: "{% if x %}", count: n) + String(repeating: "{% endif %}", count: n))
        expectFailure(.limit, String(repeating: "{% for x in y %}", count: n) + String(repeating: "{% endfor %}", count: n))
    }

    @Test func nestingJustBelowTheLimitWorks() throws {
        let n = 40
        let out = try ChatTemplate("{{ " + String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n) + " }}").render([:])
        #expect(out == "1")
        let ifs = String(repeating: "{% if true %}", count: n) + "deep" + String(repeating: "{% endif %}", count: n)
        #expect(try ChatTemplate(ifs).render([:]) == "deep")
    }

    @Test func runawayRecursionAndLoopsHitLimits() {
        expectFailure(.limit, "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
        expectFailure(.limit, "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
        var small = ChatTemplate.Options()
        small.limits.maxIterations = 20_000
        expectFailure(.limit, "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", options: small)
        small.limits.maxIterations = 10
        expectFailure(.limit, "{% for x in range(11) %}{% endfor %}", options: small)
        expectFailure(.limit, "{% for x in range(5) if x is odd %}{% endfor %}{% for x in range(5) %}{% endfor %}", options: small)
    }

    @Test func outputExplosionHitsTheSizeLimit() {
        expectFailure(.limit, "{{ 'x' * 10000000000000 }}")
        expectFailure(.limit, "{{ [1] * 10000000000000 }}")
        expectFailure(.limit, "{% set ns = namespace(s='xx') %}{% for i in range(80) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}")
        expectFailure(.limit, "{% set ns = namespace(s='xx') %}{% for i in range(80) %}{% set ns.s = ns.s + ns.s %}{% endfor %}")
        var small = ChatTemplate.Options()
        small.limits.maxOutputBytes = 100
        expectFailure(.limit, "{% for i in range(200) %}x{% endfor %}", options: small)
    }

    @Test func deepValuesAreRefused() {
        expectFailure(.limit, "{% set ns = namespace(v=1) %}{% for i in range(100000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v }}")
        var value: TemplateValue = 1
        for _ in 0..<1_000 { value = [value] }
        expectFailure(.limit, "{{ v }}", context: ["v": value])
    }

    @Test func integerOverflowIsAnError() {
        expectFailure(.runtime, "{{ 9223372036854775807 + 1 }}")
        expectFailure(.runtime, "{{ 2 ** 64 }}")
        expectFailure(.runtime, "{{ -9223372036854775807 - 2 }}")
        expectFailure(.runtime, "{{ (-9223372036854775807 - 1) // -1 }}")
        expectFailure(.syntax, "{{ 99999999999999999999 }}")
    }

    /// Random damage to the real chat templates: every variant compiles or fails cleanly, and
    /// renders or fails cleanly.
    @Test func mutatedTemplatesNeverCrash() {
        var rng = TestRandom(seed: 0x5EED)
        let context: [String: TemplateValue] = [
            "messages": [["role": "system", "content": "s"], ["role": "user", "content": "u"],
                         ["role": "assistant", "content": "a", "tool_calls": [["function": ["name": "f", "arguments": ["x": 1]]]]]],
            "tools": [["type": "function", "function": ["name": "f"]]], "add_generation_prompt": true,
            "bos_token": "<s>", "eos_token": "</s>",
        ]
        let pieces = ["{{", "}}", "{%", "%}", "{#", "#}", "-", "(", ")", "[", "]", "'", "\"", "|", ".", "if", "endif", "for",
                      "endfor", "else", " ", "\n", "~", "**", "loop", "ns.x", "=", ","]
        var compiled = 0
        for model in ["smollm2", "qwen2.5-coder", "gemma3"] {
            let original = Array(Golden.text("\(model).template.jinja").unicodeScalars)
            #expect(!original.isEmpty)
            for _ in 0..<400 {
                var s = original
                for _ in 0..<Int(rng.next() % 4 + 1) {
                    guard !s.isEmpty else { break }
                    let i = Int(rng.next() % UInt64(s.count))
                    switch rng.next() % 3 {
                    case 0: s.removeSubrange(i..<min(s.count, i + Int(rng.next() % 12)))
                    case 1: s.insert(contentsOf: pieces[Int(rng.next() % UInt64(pieces.count))].unicodeScalars, at: i)
                    default:
                        let j = Int(rng.next() % UInt64(s.count))
                        s.insert(contentsOf: s[min(i, j)..<min(s.count, min(i, j) + 20)], at: max(i, j))
                    }
                }
                var view = String.UnicodeScalarView()
                view.append(contentsOf: s)
                if let template = try? ChatTemplate(String(view)) {
                    compiled += 1
                    _ = try? template.render(context)
                }
            }
        }
        #expect(compiled > 100)
    }

    @Test func randomBytesNeverCrash() {
        var rng = TestRandom(seed: 42)
        let alphabet = Array("{}%#-+()[]'\"|.,:~*/ \n\tabxyz019_=<>!é😀\\".unicodeScalars)
        for _ in 0..<2_000 {
            var view = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 60) { view.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            if let template = try? ChatTemplate(String(view)) {
                _ = try? template.render(["a": [1, "b", ["c": nil]], "b": "x"])
            }
        }
    }

    @Test func sharedTemplateRendersConcurrently() async throws {
        let template = try ChatTemplate(Golden.text("qwen2.5-coder.template.jinja"))
        let context: [String: TemplateValue] = ["messages": [["role": "user", "content": "hi"]], "add_generation_prompt": true]
        let expected = try template.render(context)
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<32 { group.addTask { try template.render(context) } }
            var all: [String] = []
            for try await o in group { all.append(o) }
            return all
        }
        #expect(outputs.count == 32)
        #expect(outputs.allSatisfy { $0 == expected })
    }

    /// The depth limits are sized for small thread stacks (512 KiB, the secondary-thread default
    /// on Apple platforms): the deepest accepted templates must render there.
    @Test func deepestAcceptedTemplatesFitInASmallStack() async {
        let limits = ChatTemplate.Limits()
        let sources = [
            "{{ " + String(repeating: "(", count: limits.maxDepth) + "1" + String(repeating: ")", count: limits.maxDepth) + " }}",
            String(repeating: "{% if true %}", count: limits.maxDepth) + "x" + String(repeating: "{% endif %}", count: limits.maxDepth),
            "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(1000) }}",
            "{{ " + String(repeating: "[", count: limits.maxDepth) + String(repeating: "]", count: limits.maxDepth) + " }}",
        ]
        let finished = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            let thread = Thread {
                for source in sources {
                    _ = try? ChatTemplate(source).render([:])
                }
                done.resume(returning: true)
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
        #expect(finished)
    }
}

/// Size arguments that would allocate without bound are refused.
@Suite struct AllocationLimitTests {
    @Test(arguments: [
        "{{ 'x' | center(10000000000000) }}",
        "{{ 'x' | indent(10000000000000) }}",
        "{{ 'x'.ljust(10000000000000) }}",
        "{{ '%10000000000000s' % 'x' }}",
        "{{ '%*d' | format(10000000000000, 1) }}",
        "{{ [1] | tojson(indent=10000000000000) }}",
        "{{ [1] * 100000000 }}",
        "{{ range(10000000000000) | list }}",
    ])
    func hugeSizesFail(_ source: String) {
        #expect(throws: TemplateError.self) { try ChatTemplate(source).render([:]) }
    }
}
