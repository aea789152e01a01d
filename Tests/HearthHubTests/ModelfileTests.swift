import HearthHub
import Testing

/// The syntax of Ollama's docs/modelfile.md: instructions case-insensitive, `#` comments,
/// values to the end of the line, "quoted" or """triple-quoted""" over several lines.
@Suite struct ModelfileTests {
    @Test func parsesTheDocumentedForms() throws {
        let text = """
        # Mario
        FROM llama3.2
        parameter temperature 1
        PARAMETER num_ctx 4096
        PARAMETER stop "<|im_end|>"
        PARAMETER stop <|endoftext|>
        SYSTEM \"\"\"You are Mario from Super Mario Bros.
          Answer as Mario, the assistant, only.\"\"\"
        MESSAGE user Is Toronto in Canada?
        MESSAGE assistant "yes"
        LICENSE \"\"\"MIT\"\"\"
        ADAPTER ./lora.gguf
        """
        let f = try Modelfile(parsing: text)
        #expect(f.from == "llama3.2")
        #expect(f.parameters.temperature == 1)
        #expect(f.parameters.num_ctx == 4096)
        #expect(f.parameters.stop == ["<|im_end|>", "<|endoftext|>"])
        #expect(f.system == "You are Mario from Super Mario Bros.\n  Answer as Mario, the assistant, only.")
        #expect(f.messages == [.init(role: "user", content: "Is Toronto in Canada?"), .init(role: "assistant", content: "yes")])
        #expect(f.licenses == ["MIT"])
        #expect(f.adapters == ["./lora.gguf"])
        #expect(try Modelfile(parsing: f.text) == f)
    }

    @Test(arguments: [
        ("PARAMETER temperature 1\n", "no FROM"),
        ("FROM a\nFROM b\n", "line 2: a second FROM"),
        ("FROM a\nPARAMETER temperature hot\n", "line 2: PARAMETER temperature takes a number"),
        ("FROM a\nPARAMETER mirostat 1\n", "mirostat is not implemented"),
        ("FROM a\nPARAMETER colour 1\n", "unknown PARAMETER 'colour'"),
        ("FROM a\nSYSTEM \"\"\"never\nclosed\n", "line 2: the \"\"\" opened here"),
        ("FROM a\nMESSAGE robot hi\n", "line 2: MESSAGE takes the role"),
        ("FROM a\nRUN rm -rf /\n", "line 2: unknown instruction 'RUN'"),
        ("FROM a\nPARAMETER top_p 2\n", "top_p takes a number from 0.0 to 1.0"),
    ])
    func refusesWithTheLine(text: String, expected: String) {
        do {
            _ = try Modelfile(parsing: text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }
}

/// Model cards as the Hugging Face Hub reads them: YAML front matter between `---` lines,
/// fields as one string or a list.
@Suite struct ModelCardTests {
    @Test func readsTheFrontMatter() throws {
        let card = try ModelCard(parsing: "---\nlicense: mit\nbase_model: a/b\ntags: [x, y]\ndatasets:\n  - d1\nlanguage:\n- en\n- fr\n---\n# Title\n")
        #expect(card.license == "mit")
        #expect(card.baseModels == ["a/b"])
        #expect(card.tags == ["x", "y"])
        #expect(card.datasets == ["d1"])
        #expect(card.languages == ["en", "fr"])
        #expect(card.body == "# Title\n")
    }

    @Test func aCardWithoutFrontMatterIsAllBody() throws {
        let card = try ModelCard(parsing: "# Just text\n")
        #expect(card.license == nil && card.tags.isEmpty && card.body == "# Just text\n")
    }

    @Test(arguments: ["---\nlicense: [unclosed\n---\n", "---\nlicense: mit\n", "---\n- a list\n---\n", "---\nlicense: [a, b]\n---\n"])
    func refusesBadFrontMatter(text: String) {
        #expect(throws: HubError.self) { try ModelCard(parsing: text) }
    }
}
