import Foundation
import HearthEngine
import HearthTestSupport
import Testing

/// Perplexity against llama-perplexity on the same text, model and chunking
/// (../shared/vectors/README.md: `llama-perplexity -f ppl-text.txt -c 512` gives 18.3914).
struct PerplexityTests {
    @Test func smolLM2OnTheGPLTextMatchesLlamaPerplexity() throws {
        guard let path = try TestPaths.model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let text = try String(contentsOfFile: TestPaths.sharedVectors + "/ppl-text.txt", encoding: .utf8)
        let model = try Model(path: path)
        let tokens = model.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        #expect(tokens.count == 7639, "llama.cpp tokenizes the text into 7,639 tokens")
        let session = try model.makeSession(contextSize: 512, threads: 2)
        let result = try Perplexity.compute(session: session, tokens: tokens, context: 512,
                                            bos: model.tokenizer.addBOS ? model.tokenizer.bosID : nil)
        print("SmolLM2 Q4_1 perplexity \(result.perplexity) ± \(result.uncertainty) (llama.cpp 18.3914 ± 0.8646)")
        #expect(result.chunks == 14 && result.scoredTokens == 14 * 255)
        #expect(abs(result.perplexity - 18.3914) <= 0.05)
        #expect(abs(result.uncertainty - 0.8646) <= 0.01)
    }

    @Test func aTextShorterThanOneChunkIsAnError() throws {
        guard let path = try TestPaths.model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let model = try Model(path: path)
        let session = try model.makeSession(contextSize: 512, threads: 1)
        do {
            _ = try Perplexity.compute(session: session, tokens: model.tokenize("too short"), context: 512, bos: nil)
            Issue.record("a 2-token text gave a perplexity")
        } catch {
            #expect(error.message.contains("512"), "\(error)")
        }
    }
}
