import HearthHub
import Testing

/// Names follow Ollama's rules (its types/model/name.go): parts of letters, digits, '.', '_'
/// and '-', starting with a letter or digit (a tag also with '_'), a host with an optional
/// port; Hearth also refuses '..' anywhere, since every part becomes a path component.
@Suite struct ModelNameTests {
    @Test(arguments: [
        ("smollm2", "local", "library", "smollm2", "latest", "smollm2:latest"),
        ("smollm2:135m-q4_1", "local", "library", "smollm2", "135m-q4_1", "smollm2:135m-q4_1"),
        ("alice/smollm2", "local", "alice", "smollm2", "latest", "alice/smollm2:latest"),
        ("library/smollm2:v1", "local", "library", "smollm2", "v1", "smollm2:v1"),
        ("localhost:8080/alice/smol:_x", "localhost:8080", "alice", "smol", "_x", "localhost:8080/alice/smol:_x"),
        ("hub.example.com/org/Qwen2.5-0.5B:Q4_K_M", "hub.example.com", "org", "Qwen2.5-0.5B", "Q4_K_M", "hub.example.com/org/Qwen2.5-0.5B:Q4_K_M"),
    ])
    func parses(text: String, host: String, namespace: String, model: String, tag: String, shown: String) throws {
        let name = try ModelName(parsing: text)
        #expect(name.host == host)
        #expect(name.namespace == namespace)
        #expect(name.model == model)
        #expect(name.tag == tag)
        #expect(name.description == shown)
        #expect(try ModelName(parsing: name.description) == name)
    }

    @Test(arguments: [
        "", "..", "a/../b", "../etc/passwd", "a/b/c/d", "a//b", "/abs", "model:", ":tag", "model:ta/g",
        "-dash", ".hidden", "a b", "über", "model:tag:more", "a..b", "x/y:..", "model\u{0}", "ns/.model",
        "host:1:2/a/b", String(repeating: "a", count: 81),
    ])
    func refuses(text: String) {
        #expect(throws: HubError.self) { try ModelName(parsing: text) }
    }

    @Test func errorNamesTheProblem() {
        do {
            _ = try ModelName(parsing: "../x")
            Issue.record("parsed")
        } catch {
            #expect(error.message.contains("'../x'"))
        }
    }
}
