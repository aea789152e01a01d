import Foundation
import HearthEngine
import HearthGGUF
import HearthTestSupport
import Testing

/// `ModelComparison` against the definitions, recomputed here from each model's own logits:
/// perplexity as `Perplexity.compute` gives it, KL(base ‖ other) = Σ p_b (log p_b − log p_o),
/// top-1 agreement as the share of equal argmaxes.
@Suite struct ComparisonTests {
    func model(_ dir: TemporaryDirectory, seed: UInt64, name: String) throws -> Model {
        var config = TinyModel.Config()
        config.seed = seed
        return try Model(path: try TinyModel(config).write(in: dir, as: name))
    }

    @Test func aModelAgainstItselfHasNoDivergence() throws {
        let dir = try TemporaryDirectory()
        let m = try model(dir, seed: 1, name: "a.gguf")
        let tokens = (0..<96).map { Int32(($0 * 7) % m.tokenizer.vocabularySize) }
        let result = try ModelComparison.compute(base: try m.makeSession(contextSize: 32), other: try m.makeSession(contextSize: 32),
                                                 tokens: tokens, context: 32, bos: nil)
        let ppl = try Perplexity.compute(session: try m.makeSession(contextSize: 32), tokens: tokens, context: 32, bos: nil)
        #expect(abs(result.meanKL) < 1e-9)
        #expect(result.top1Agreement == 1)
        #expect(result.base.perplexity == ppl.perplexity && result.other.perplexity == ppl.perplexity)
        #expect(result.scoredTokens == ppl.scoredTokens)
    }

    @Test func twoModelsDivergeAsTheDefinitionSays() throws {
        let dir = try TemporaryDirectory()
        let a = try model(dir, seed: 1, name: "a.gguf"), b = try model(dir, seed: 2, name: "b.gguf")
        let context = 16
        let tokens = (0..<48).map { Int32(($0 * 5 + 3) % a.tokenizer.vocabularySize) }
        let result = try ModelComparison.compute(base: try a.makeSession(contextSize: context), other: try b.makeSession(contextSize: context),
                                                 tokens: tokens, context: context, bos: nil)
        // The reference, written out plainly on each model's logits.
        var kl = 0.0, agree = 0, count = 0
        for c in 0..<(tokens.count / context) {
            let chunk = Array(tokens[(c * context)..<((c + 1) * context)])
            let sa = try a.makeSession(contextSize: context), sb = try b.makeSession(contextSize: context)
            let la = Array(try sa.evaluate(chunk, rows: .all)), lb = Array(try sb.evaluate(chunk, rows: .all))
            let vocab = a.shape.vocab
            for j in (context / 2)..<(context - 1) {
                let ra = la[(j * vocab)..<((j + 1) * vocab)].map(Double.init), rb = lb[(j * vocab)..<((j + 1) * vocab)].map(Double.init)
                let za = log(ra.map { exp($0) }.reduce(0, +)), zb = log(rb.map { exp($0) }.reduce(0, +))
                for i in 0..<vocab { kl += exp(ra[i] - za) * ((ra[i] - za) - (rb[i] - zb)) }
                if ra.indices.max(by: { ra[$0] < ra[$1] }) == rb.indices.max(by: { rb[$0] < rb[$1] }) { agree += 1 }
                count += 1
            }
        }
        #expect(result.scoredTokens == count)
        #expect(abs(result.meanKL - kl / Double(count)) < 1e-6 * max(1, kl / Double(count)), "\(result.meanKL) vs \(kl / Double(count))")
        #expect(result.meanKL > 0)
        #expect(result.top1Agreement == Double(agree) / Double(count))
    }

    @Test func differentVocabulariesAreRefused() throws {
        let dir = try TemporaryDirectory()
        let a = try model(dir, seed: 1, name: "a.gguf")
        var config = TinyModel.Config()
        config.vocab = TinyVocab(merges: Array(TinyVocab.defaultMerges.prefix(4)))
        let b = try Model(path: try TinyModel(config).write(in: dir, as: "b.gguf"))
        #expect(throws: EngineError.self) {
            try ModelComparison.compute(base: try a.makeSession(contextSize: 16), other: try b.makeSession(contextSize: 16),
                                        tokens: Array(repeating: 5, count: 32), context: 16, bos: nil)
        }
    }
}
