import Foundation
import HearthEngine
import HearthGGUF
import HearthTestSupport
import Testing

/// Greedy generation against llama.cpp's outputs on the real model files: token ids exactly up
/// to the first step decided by less than `marginLimit` nats, and top-5 log-probabilities within
/// `logprobTolerance` at every step (teacher-forced on llama.cpp's tokens, so that a legitimate
/// divergence at a near-tie does not hide later differences).
struct GreedyReferenceTests {
    static let marginLimit = 0.05
    static let logprobTolerance: Float = 0.05

    static func check(model fileName: String, vectors path: String) throws {
        guard let modelPath = try TestPaths.model(fileName) else {
            print("skipped: \(fileName) not in the model cache (scripts/fetch-models.sh)")
            return
        }
        let vectors = try ReferenceVectors.load(path)
        let file = try GGUFFile(path: modelPath)
        let network = try loadNetwork(file)
        for p in vectors.prompts {
            let session = try Session(network: network, contextSize: 512, threads: 2)
            // Teacher-forced pass: prompt + llama.cpp's continuation, logits at every position.
            let all = p.prompt_token_ids + p.greedy_token_ids
            let logits = try session.evaluate(all, rows: .all)
            let vocab = session.vocabularySize
            var firstLowMargin = p.greedy_token_ids.count
            for s in p.greedy_steps_top5_logprobs {
                let top = s.topEntries
                if top.count >= 2 && top[0].logprob - top[1].logprob < marginLimit {
                    firstLowMargin = min(firstLowMargin, s.step)
                }
                let row = UnsafeBufferPointer(rebasing: logits[((p.prompt_token_ids.count + s.step - 1) * vocab)..<((p.prompt_token_ids.count + s.step) * vocab)])
                let ours = logSoftmax(row)
                for e in top {
                    let diff = abs(ours[Int(e.id)] - Float(e.logprob))
                    #expect(diff <= logprobTolerance, "\(p.name) step \(s.step): log p(\(e.id)) = \(ours[Int(e.id)]), llama.cpp \(e.logprob)")
                }
            }
            // Free-running greedy: our own tokens must equal llama.cpp's up to the first near-tie.
            let free = try Session(network: network, contextSize: 512, threads: 2)
            var next = Sampler.argmax(UnsafeBufferPointer(try free.evaluate(p.prompt_token_ids)))
            var ours: [Int32] = []
            for _ in 0..<firstLowMargin {
                ours.append(next)
                next = Sampler.argmax(UnsafeBufferPointer(try free.evaluate([next])))
            }
            #expect(ours == Array(p.greedy_token_ids.prefix(firstLowMargin)), "\(p.name): greedy ids differ before step \(firstLowMargin)")
        }
    }

    @Test func smolLM2MatchesLlamaCpp() throws {
        try Self.check(model: "SmolLM2-135M-Instruct.Q4_1.gguf", vectors: TestPaths.sharedVectors + "/smollm2-q4_1.json")
    }
}
