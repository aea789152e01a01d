/// The special ids of a vocabulary, resolved the way llama.cpp's `llama_vocab::impl::load`
/// resolves them: defaults when a key is absent, tokens found by their text when the GGUF does
/// not name them (end of turn, fill-in-the-middle), and the set of ids that end generation.
struct SpecialTokens {
    var bos: Int32?
    var eos: Int32?
    var unknown: Int32?
    var padding: Int32?
    var endOfTurn: Int32?
    var endOfMessage: Int32?
    var endOfGeneration: Set<Int32> = []

    // Texts by which llama.cpp recognises tokens the GGUF does not name.
    static let endOfTurnTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    static let endOfMessageTexts: Set<String> = ["<|eom_id|>"]
    static let fimPrefixTexts: Set<String> = [
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
        "<|code_prefix|>", "<|prefix|>",
    ]
    static let fimSuffixTexts: Set<String> = [
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
        "<|code_suffix|>", "<|suffix|>",
    ]
    static let fimMiddleTexts: Set<String> = [
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
        "<|code_middle|>", "<|middle|>",
    ]
    static let fimPadTexts: Set<String> = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRepoTexts: Set<String> = [
        "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
    ]
    static let fimSeparatorTexts: Set<String> = ["<|file_sep|>"]
    /// Texts that end generation whatever the GGUF says.
    static let endOfGenerationTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]",
        "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
    ]
    /// gpt-oss: always rendered, so made user-defined.
    static let alwaysRenderedTexts: Set<String> = [
        "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>",
    ]

    /// Resolves the special ids and updates `attributes` as llama.cpp does (tokens recognised by
    /// text become control tokens; control tokens named "unused" are marked unused).
    /// Throws when `add_bos`/`add_eos` is set without a usable id.
    init(_ vocabulary: TokenizerVocabulary, texts: ByteStringTable, isSentencePiece: Bool,
         attributes: inout [TokenAttributes]) throws(TokenizerError) {
        let count = vocabulary.tokens.count
        func inRange(_ id: Int32?) -> Int32? {
            guard let id, id >= 0, Int(id) < count else { return nil }
            return id
        }
        // An id from the GGUF that is out of range falls back to the default (llama.cpp warns).
        func resolve(_ given: Int32?, default fallback: Int32?) -> Int32? {
            inRange(given) ?? inRange(fallback)
        }
        bos = resolve(vocabulary.bosID, default: isSentencePiece ? 1 : 11)
        eos = resolve(vocabulary.eosID, default: isSentencePiece ? 2 : 11)
        unknown = resolve(vocabulary.unknownID, default: isSentencePiece ? 0 : nil)
        padding = resolve(vocabulary.paddingID, default: nil)
        endOfTurn = resolve(vocabulary.eotID, default: nil)
        endOfMessage = resolve(vocabulary.eomID, default: nil)

        if vocabulary.addBOS && bos == nil {
            throw .invalid("add_bos_token is true, but bos_token_id is not set (or out of range: \(vocabulary.bosID.map(String.init) ?? "absent"))")
        }
        if vocabulary.addEOS && eos == nil {
            throw .invalid("add_eos_token is true, but eos_token_id is not set (or out of range: \(vocabulary.eosID.map(String.init) ?? "absent"))")
        }

        // Tokens found by text, compared as bytes (String equality would be canonical
        // equivalence). A text is one token at most: the tokenizer rejects duplicates.
        func tokenID(_ text: String) -> Int32? { texts.value(for: Array(text.utf8)) }
        func find(_ candidates: Set<String>) -> Int32? { candidates.compactMap(tokenID).min() }
        func markControl(_ id: Int32?) {
            if let id { attributes[Int(id)].insert(.control) }
        }
        if endOfTurn == nil {
            endOfTurn = find(Self.endOfTurnTexts)
            markControl(endOfTurn)
        }
        if endOfMessage == nil {
            endOfMessage = find(Self.endOfMessageTexts)
            markControl(endOfMessage)
        }
        for candidates in [Self.fimPrefixTexts, Self.fimSuffixTexts, Self.fimMiddleTexts] {
            markControl(find(candidates))
        }
        let fimPad = find(Self.fimPadTexts), fimRepo = find(Self.fimRepoTexts)
        let fimSeparator = find(Self.fimSeparatorTexts)
        for id in [fimPad, fimRepo, fimSeparator] { markControl(id) }

        for i in attributes.indices where attributes[i].contains(.control) {
            if vocabulary.tokens[i].contains("unused") { attributes[i].insert(.unused) }
        }

        var eog: Set<Int32> = []
        for id in [fimPad, fimRepo, fimSeparator] { if let id { eog.insert(id) } }
        for text in Self.endOfGenerationTexts {
            guard let id = tokenID(text) else { continue }
            eog.insert(id)
            attributes[Int(id)].insert(.control)
        }
        for text in Self.alwaysRenderedTexts {
            if let id = tokenID(text) { attributes[Int(id)] = .userDefined }
        }
        for id in [eos, endOfTurn, endOfMessage] { if let id { eog.insert(id) } }

        // o200k_harmony and solar-open: "<|end|>" does not end generation there.
        let eogTexts = Set(eog.map { vocabulary.tokens[Int($0)] })
        let hasCall = eogTexts.contains("<|call|>") || eogTexts.contains("<|calls|>")
        if eogTexts.contains("<|end|>"), let end = tokenID("<|end|>"), eog.contains(end),
           (eogTexts.contains("<|return|>") && hasCall) || (hasCall && eogTexts.contains("<|flush|>")) {
            eog.remove(end)
            attributes[Int(end)] = .userDefined
        }
        // Gemma 4 and PaddleOCR: "</s>" does not end generation when "<|tool_response>" does.
        if eogTexts.contains("<|tool_response>"), let s = tokenID("</s>"), eog.contains(s) {
            eog.remove(s)
            attributes[Int(s)] = .normal
        }
        endOfGeneration = eog
    }
}
