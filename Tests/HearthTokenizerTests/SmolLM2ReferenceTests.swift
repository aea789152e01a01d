import Foundation
import HearthTokenizer
import Testing

/// SmolLM2-135M-Instruct (byte-level BPE, pre `smollm`) against the shared llama.cpp vectors in
/// `smollm2-q4_1.json`: every id must match exactly.
@Suite("SmolLM2 against llama.cpp",
       .enabled(if: Fixtures.ready(TestPaths.smolLM2), "SmolLM2 model file (or its vocabulary) not found"),
       .enabled(if: TestPaths.exists(TestPaths.vector("smollm2-q4_1.json")), "shared vectors not found"))
struct SmolLM2ReferenceTests {
    let tokenizer: Tokenizer
    let vectors: [String: Any]

    init() throws {
        tokenizer = try Fixtures.smolLM2.get()
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.vector("smollm2-q4_1.json")!))
        vectors = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    var cases: [[String: Any]] { vectors["tokenizer_cases"] as? [[String: Any]] ?? [] }
    var prompts: [[String: Any]] { vectors["prompts"] as? [[String: Any]] ?? [] }

    @Test("tokenizer_cases, with special-token parsing")
    func casesParsingSpecial() throws {
        #expect(cases.count == 13)
        for c in cases {
            let text = try #require(c["text"] as? String)
            let expected = try #require(ids(c["token_ids"]))
            let got = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
            #expect(got == expected, "\(show(text)): \(firstDifference(got, expected))")
        }
    }

    @Test("tokenizer_cases, without special-token parsing")
    func casesNotParsingSpecial() throws {
        for c in cases {
            let text = try #require(c["text"] as? String)
            let expected = try #require(ids(c["token_ids_no_parse_special"]))
            let got = tokenizer.encode(text, addSpecial: true, parseSpecial: false)
            #expect(got == expected, "\(show(text)): \(firstDifference(got, expected))")
        }
    }

    @Test("tokenizer_cases: pieces and round trip")
    func piecesAndRoundTrip() throws {
        for c in cases {
            let expected = try #require(ids(c["token_ids"]))
            let pieces = try #require(c["pieces"] as? [Any])
            for (id, piece) in zip(expected, pieces) {
                let bytes: [UInt8]
                if let s = piece as? String {
                    bytes = Array(s.utf8)
                } else {
                    bytes = try #require(piece as? [NSNumber]).map { $0.uint8Value }
                }
                #expect(tokenizer.piece(id) == bytes, "piece of \(id)")
            }
            let roundTrip = try #require(c["roundtrip_detokenize"] as? String)
            #expect(Array(tokenizer.decode(expected).utf8) == Array(roundTrip.utf8))
        }
    }

    @Test("prompt_token_ids of the five prompts")
    func promptIDs() throws {
        #expect(prompts.count == 5)
        for p in prompts {
            let text = try #require(p["prompt"] as? String)
            let expected = try #require(ids(p["prompt_token_ids"]))
            let got = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
            #expect(got == expected, "\(p["name"] ?? "?"): \(firstDifference(got, expected))")
        }
    }

    @Test("greedy continuations decode to the reference text, in one go and streamed")
    func continuationText() throws {
        for p in prompts {
            let generated = try #require(ids(p["greedy_token_ids"]))
                .filter { !tokenizer.endOfGenerationIDs.contains($0) }
            let expected = try #require(p["greedy_continuation_text"] as? String)
            #expect(Array(tokenizer.decode(generated).utf8) == Array(expected.utf8), "\(p["name"] ?? "?")")
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            var streamed = ""
            for id in generated { streamed += stream.append(id) }
            streamed += stream.flush()
            #expect(Array(streamed.utf8) == Array(expected.utf8), "\(p["name"] ?? "?") streamed")
        }
    }

    @Test("end of generation is ids 0, 2 and 4; BOS is not added")
    func specialIDs() {
        #expect(tokenizer.endOfGenerationIDs == [0, 2, 4])
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.encode("Hi", addSpecial: true, parseSpecial: true) == tokenizer.encode("Hi", addSpecial: false, parseSpecial: true))
        #expect(tokenizer.isControl(1))
        #expect(!tokenizer.isControl(100))
        #expect(tokenizer.piece(1) == Array("<|im_start|>".utf8))
    }
}
