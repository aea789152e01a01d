/// The tokenizer half of a GGUF file's metadata, as plain values.
///
/// Each field mirrors one `tokenizer.ggml.*` key. A GGUF reader fills it in; `Tokenizer` checks it
/// and builds the lookup tables. Nothing here is validated until `Tokenizer.init` runs.
public struct TokenizerVocabulary: Sendable {
    /// `tokenizer.ggml.model`: `"gpt2"` (byte-level BPE) or `"llama"` (SentencePiece).
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer of a BPE vocabulary, e.g. `"smollm"`, `"qwen2"`,
    /// `"llama-bpe"`, `"default"`, `"gpt-2"`. Ignored for SentencePiece. `nil` or empty means
    /// `"default"`, as in llama.cpp.
    public var pre: String?
    /// `tokenizer.ggml.tokens`: the text of every token, indexed by id.
    public var tokens: [String]
    /// `tokenizer.ggml.scores`: one score per token (SentencePiece merge priorities).
    public var scores: [Float]?
    /// `tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
    /// 6 byte. `nil` means every token is normal.
    public var tokenTypes: [Int32]?
    /// `tokenizer.ggml.merges`: BPE merge rules `"left right"`, highest priority first.
    public var merges: [String]?
    /// `tokenizer.ggml.bos_token_id`. `nil` means the llama.cpp default (1 for SentencePiece,
    /// 11 for BPE, dropped when out of range).
    public var bosID: Int32?
    /// `tokenizer.ggml.eos_token_id`. `nil` means the llama.cpp default (2 for SentencePiece, 11
    /// for BPE, dropped when out of range).
    public var eosID: Int32?
    /// `tokenizer.ggml.unknown_token_id`. `nil` means 0 for SentencePiece and none for BPE.
    public var unknownID: Int32?
    /// `tokenizer.ggml.padding_token_id`.
    public var paddingID: Int32?
    /// `tokenizer.ggml.eot_token_id`. `nil`: found by text (`<|im_end|>`, `<end_of_turn>`, ...).
    public var eotID: Int32?
    /// `tokenizer.ggml.eom_token_id`. `nil`: found by text (`<|eom_id|>`).
    public var eomID: Int32?
    /// `tokenizer.ggml.add_bos_token` (when absent: true for llama/SPM, false for gpt2).
    public var addBOS: Bool
    /// `tokenizer.ggml.add_eos_token` (when absent: false).
    public var addEOS: Bool
    /// `tokenizer.ggml.add_space_prefix`. `nil`: true for SentencePiece, false for BPE.
    public var addSpacePrefix: Bool?

    /// Makes a vocabulary from the values of the `tokenizer.ggml.*` keys.
    public init(model: String, pre: String? = nil, tokens: [String], scores: [Float]? = nil,
                tokenTypes: [Int32]? = nil, merges: [String]? = nil,
                bosID: Int32? = nil, eosID: Int32? = nil, unknownID: Int32? = nil,
                paddingID: Int32? = nil, eotID: Int32? = nil, eomID: Int32? = nil,
                addBOS: Bool, addEOS: Bool = false, addSpacePrefix: Bool? = nil) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.eotID = eotID
        self.eomID = eomID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
    }
}
