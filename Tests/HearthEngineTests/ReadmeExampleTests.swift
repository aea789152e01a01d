import HearthEngine
import HearthTestSupport
import Testing

/// The library example of README.md, as written there, so that it keeps compiling and working.
struct ReadmeExampleTests {
    @Test func theReadmeExampleGeneratesTheGreedyAnswer() throws {
        guard let path = try TestPaths.model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        // --- README ---
        let model = try Model(path: path)
        let session = try model.makeSession(contextSize: 2048, threads: 2)

        // A chat turn, rendered with the model's own chat template:
        let prompt = try model.renderChat([ChatMessage(role: "user", content: "What is the capital of Germany?")])

        var options = GenerationOptions(maxTokens: 64)        // greedy unless sampling says otherwise
        options.sampling.temperature = 0
        var streamed = ""
        let result = try model.generate(in: session, prompt: prompt, options: options) { piece in
            streamed += piece                                    // streamed, whole UTF-8 characters
            return true                                          // false stops generation
        }
        // --- end ---
        #expect(streamed == result.text)
        // llama.cpp (llama-simple, greedy, same prompt) answers "The capital of Germany is Berlin."
        #expect(result.text.contains("Berlin"), "\(result.text)")
        #expect(result.stopReason == .endOfGeneration)
        #expect(prompt.hasSuffix("<|im_start|>assistant\n"))
    }
}
