import Foundation
import HearthTokenizer
import Testing

/// Random text and concurrent use on the real vocabularies: no crash, lossless round trips, and
/// the same ids whichever thread asks.
@Suite("Robustness on real vocabularies")
struct RobustnessTests {
    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Scalars drawn from ASCII, whitespace, Latin, combining marks, CJK, Arabic, emoji and
    /// symbols, weighted towards ASCII. U+2581 is left out: SentencePiece reads it as a space.
    static func randomText(_ random: inout Random, length: Int) -> String {
        let pools: [ClosedRange<UInt32>] = [
            0x20 ... 0x7E, 0x20 ... 0x7E, 0x20 ... 0x7E, 0x09 ... 0x0D, 0xA0 ... 0x17F,
            0x300 ... 0x36F, 0x4E00 ... 0x4E80, 0x600 ... 0x6FF, 0x1F300 ... 0x1F64F,
            0x2000 ... 0x206F, 0x3000 ... 0x30FF, 0x1F1E6 ... 0x1F1FF,
        ]
        var text = String.UnicodeScalarView()
        for _ in 0 ..< length {
            let pool = pools[random.below(pools.count)]
            let value = pool.lowerBound + UInt32(random.below(Int(pool.upperBound - pool.lowerBound) + 1))
            if let scalar = Unicode.Scalar(value) { text.append(scalar) }
        }
        return String(text)
    }

    static var available: [(String, Result<Tokenizer, any Error>)] {
        [(TestPaths.smolLM2, Fixtures.smolLM2), (TestPaths.qwen25Coder, Fixtures.qwen25Coder),
         (TestPaths.gemma3, Fixtures.gemma3)].filter { Fixtures.ready($0.0) }
    }

    @Test("random text decodes back to itself",
          .enabled(if: !available.isEmpty, "no model files found"))
    func randomRoundTrips() throws {
        for (path, fixture) in Self.available {
            let tokenizer = try fixture.get()
            var random = Random(state: 0x9E37_79B9_7F4A_7C15)
            for round in 0 ..< 200 {
                let text = Self.randomText(&random, length: 1 + random.below(80))
                let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
                #expect(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize })
                let back = tokenizer.decode(ids)
                #expect(Array(back.utf8) == Array(text.utf8),
                        "\(URL(fileURLWithPath: path).lastPathComponent) round \(round): \(show(text)) -> \(show(back))")
                // Special parsing must not crash either, and only adds ids from the vocabulary.
                let parsed = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
                #expect(parsed.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize })
            }
        }
    }

    @Test("concurrent encodes agree with sequential ones",
          .enabled(if: !available.isEmpty, "no model files found"))
    func concurrentEncodes() async throws {
        for (_, fixture) in Self.available {
            let tokenizer = try fixture.get()
            var random = Random(state: 42)
            let texts = (0 ..< 32).map { _ in Self.randomText(&random, length: 200) }
            let expected = texts.map { tokenizer.encode($0, addSpecial: true, parseSpecial: true) }
            let results = await withTaskGroup(of: (Int, [Int32]).self) { group in
                for (i, text) in texts.enumerated() {
                    group.addTask { (i, tokenizer.encode(text, addSpecial: true, parseSpecial: true)) }
                }
                var out = [[Int32]](repeating: [], count: texts.count)
                for await (i, ids) in group { out[i] = ids }
                return out
            }
            #expect(results == expected)
        }
    }

    @Test("pathological inputs: long runs and huge words",
          .enabled(if: !available.isEmpty, "no model files found"))
    func pathologicalInputs() throws {
        let inputs = [
            String(repeating: " ", count: 20_000),
            String(repeating: "\n", count: 5_000) + "x",
            String(repeating: "a", count: 20_000),
            String(repeating: "🦙", count: 3_000),
            String(repeating: "<|im_end|>", count: 500),
            String(repeating: "9", count: 10_000),
        ]
        for (path, fixture) in Self.available {
            let tokenizer = try fixture.get()
            for text in inputs {
                let start = ContinuousClock.now
                let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
                let elapsed = ContinuousClock.now - start
                #expect(Array(tokenizer.decode(ids).utf8) == Array(text.utf8))
                #expect(elapsed < .seconds(10), "\(URL(fileURLWithPath: path).lastPathComponent): \(elapsed) for \(show(text))")
            }
        }
    }
}
