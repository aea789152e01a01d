import HearthGGUF

extension TokenizerVocabulary {
    /// Pre-tokenizers of the Llama 3 family, for which llama.cpp adds BOS when the file does
    /// not say (`tokenizer.ggml.add_bos_token` absent).
    static let bosByDefaultPre: Set<String> = ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                                               "midm-2.0", "lfm2", "jina-v5-nano", "tekken", "chameleon"]

    /// The vocabulary a GGUF file carries in its `tokenizer.ggml.*` keys. Missing optional keys
    /// take llama.cpp's defaults; a missing or mistyped required key is an error naming it.
    public init(file: GGUFFile) throws(TokenizerError) {
        func strings(_ key: String) throws(TokenizerError) -> [String]? {
            guard let v = file.metadata[key] else { return nil }
            guard case .array(.string, let items) = v else {
                throw TokenizerError.invalid("\(key) is \(v.type.name); expected an array of strings")
            }
            return items.map { $0.string ?? "" }
        }
        func id(_ key: String) throws(TokenizerError) -> Int32? {
            guard let v = file.metadata[key] else { return nil }
            guard let i = v.int, let id = Int32(exactly: i) else {
                throw TokenizerError.invalid("\(key) is \(v); expected a token id")
            }
            return id
        }
        guard let model = file.string("tokenizer.ggml.model") else {
            throw TokenizerError.invalid("the model has no tokenizer (tokenizer.ggml.model is missing)")
        }
        guard let tokens = try strings("tokenizer.ggml.tokens") else {
            throw TokenizerError.invalid("the model has no tokenizer.ggml.tokens")
        }
        var scores: [Float]?
        if let v = file.metadata["tokenizer.ggml.scores"] {
            guard case .array(_, let items) = v else { throw TokenizerError.invalid("tokenizer.ggml.scores is not an array") }
            scores = items.map { Float($0.double ?? 0) }
        }
        var types: [Int32]?
        if let v = file.metadata["tokenizer.ggml.token_type"] {
            guard case .array(_, let items) = v else { throw TokenizerError.invalid("tokenizer.ggml.token_type is not an array") }
            types = items.map { Int32(truncatingIfNeeded: $0.int ?? 1) }
        }
        let pre = file.string("tokenizer.ggml.pre")
        self.init(model: model, pre: pre, tokens: tokens, scores: scores, tokenTypes: types,
                  merges: try strings("tokenizer.ggml.merges"),
                  bosID: try id("tokenizer.ggml.bos_token_id"), eosID: try id("tokenizer.ggml.eos_token_id"),
                  unknownID: try id("tokenizer.ggml.unknown_token_id"), paddingID: try id("tokenizer.ggml.padding_token_id"),
                  eotID: try id("tokenizer.ggml.eot_token_id"), eomID: try id("tokenizer.ggml.eom_token_id"),
                  addBOS: file.bool("tokenizer.ggml.add_bos_token") ?? (model == "llama" || TokenizerVocabulary.bosByDefaultPre.contains(pre ?? "")),
                  addEOS: file.bool("tokenizer.ggml.add_eos_token") ?? false,
                  addSpacePrefix: file.bool("tokenizer.ggml.add_space_prefix"))
    }
}
