import Foundation

/// The reference-vector files made with llama.cpp (see ../shared/vectors/README.md and Golden/README.md).
struct ReferenceVectors: Decodable {
    struct Step: Decodable {
        let id: Int32
        let logprob: Double
        /// The five most likely tokens at this step, most likely first.
        let topEntries: [TopEntry]
        let step: Int
        enum CodingKeys: String, CodingKey { case id, logprob, top, step }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(Int32.self, forKey: .id)
            logprob = try c.decode(Double.self, forKey: .logprob)
            step = try c.decode(Int.self, forKey: .step)
            // top is [[id, token, logprob]]: a heterogeneous array
            var rows = try c.nestedUnkeyedContainer(forKey: .top)
            var out: [TopEntry] = []
            while !rows.isAtEnd {
                var row = try rows.nestedUnkeyedContainer()
                let id = try row.decode(Int32.self)
                _ = try row.decode(String.self)
                out.append(TopEntry(id: id, logprob: try row.decode(Double.self)))
            }
            topEntries = out
        }
    }
    struct TopEntry: Decodable { let id: Int32; let logprob: Double }
    struct Prompt: Decodable {
        let name: String
        let prompt: String
        let prompt_token_ids: [Int32]
        let greedy_token_ids: [Int32]
        let greedy_continuation_text: String
        let greedy_steps_top5_logprobs: [Step]
    }
    struct TokenizerCase: Decodable {
        let text: String
        let token_ids: [Int32]
        let token_ids_no_parse_special: [Int32]?
        let roundtrip_detokenize: String?
    }
    let prompts: [Prompt]
    let tokenizer_cases: [TokenizerCase]?

    static func load(_ path: String) throws -> ReferenceVectors {
        try JSONDecoder().decode(ReferenceVectors.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
