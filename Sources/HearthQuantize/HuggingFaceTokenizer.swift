import Foundation
import HearthGGUF

/// tokenizer.json (with tokenizer_config.json and chat_template.jinja) to `tokenizer.ggml.*`,
/// as llama.cpp's converter writes them for byte-level BPE vocabularies.
extension HuggingFaceConversion {
    /// GGUF token types.
    enum TokenType: Int32 { case normal = 1, control = 3, userDefined = 4, unused = 5 }

    /// The pre-tokenizer regexes of tokenizer.json's `Split` steps that llama.cpp knows, by
    /// the name it gives them in `tokenizer.ggml.pre`.
    static let knownSplits: [(regex: String, pre: String)] = [
        (#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#, "qwen2"),
        (#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#, "llama-bpe"),
    ]

    static func tokenizerMetadata(_ directory: String, config: [String: Any], vocabSize: Int, preTokenizer: String?,
                                  notes: inout [String]) throws(QuantizeError) -> [(String, GGUFValue)] {
        let folder = (directory as NSString).lastPathComponent
        guard let tokenizer = try json(directory, "tokenizer.json", required: false) else {
            throw QuantizeError("\(folder) has no tokenizer.json; hearth convert reads byte-level BPE tokenizers from it (a SentencePiece tokenizer.model alone is not supported yet)")
        }
        let tokenizerConfig = try json(directory, "tokenizer_config.json", required: false) ?? [:]
        guard let model = tokenizer["model"] as? [String: Any], model["type"] as? String == "BPE",
              let vocab = model["vocab"] as? [String: Int] else {
            throw QuantizeError("\(folder)/tokenizer.json is not a BPE tokenizer with a vocab; hearth convert reads byte-level BPE tokenizers")
        }

        // Tokens by id: the vocabulary, then the added tokens (which may extend it).
        var byID: [Int: String] = [:]
        for (token, id) in vocab { byID[id] = token }
        var added: [Int: (content: String, special: Bool)] = [:]
        for entry in tokenizer["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = entry["id"] as? Int, let content = entry["content"] as? String else { continue }
            added[id] = (content, entry["special"] as? Bool ?? false)
            byID[id] = content
        }
        let count = max(vocabSize, (byID.keys.max() ?? -1) + 1)
        if count > vocabSize {
            throw QuantizeError("\(folder)/tokenizer.json has token ids up to \(count - 1), beyond the embedding's \(vocabSize) rows")
        }
        var tokens: [GGUFValue] = [], types: [GGUFValue] = []
        var padded = 0
        for id in 0..<count {
            guard let token = byID[id] else {
                tokens.append(.string("[PAD\(id)]"))
                types.append(.int32(TokenType.unused.rawValue))
                padded += 1
                continue
            }
            tokens.append(.string(token))
            // A vocabulary entry named "[PAD<its id>]" is the placeholder llama.cpp's converter
            // writes for ids without a token (and transformers keeps): unused.
            let type: TokenType = if let a = added[id] {
                a.special || (a.content.hasPrefix("<|") && a.content.hasSuffix("|>")) ? .control : .userDefined
            } else if token == "[PAD\(id)]" { .unused } else { .normal }
            types.append(.int32(type.rawValue))
        }
        if padded > 0 { notes.append("\(padded) ids of the embedding have no token: written as [PAD<id>], unused") }

        // Merges: "a b" strings, or [a, b] pairs in newer files.
        var merges: [GGUFValue] = []
        for merge in model["merges"] as? [Any] ?? [] {
            if let s = merge as? String {
                merges.append(.string(s))
            } else if let pair = merge as? [String], pair.count == 2 {
                merges.append(.string(pair[0] + " " + pair[1]))
            } else {
                throw QuantizeError("\(folder)/tokenizer.json has a merge that is neither \"a b\" nor [a, b]: \(merge)")
            }
        }

        let pre = if let preTokenizer { preTokenizer } else { try Self.preTokenizerName(tokenizer["pre_tokenizer"], cleansSpaces: tokenizerConfig["clean_up_tokenization_spaces"] as? Bool ?? false, folder: folder) }
        var metadata: [(String, GGUFValue)] = [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(pre)),
            ("tokenizer.ggml.tokens", .array(.string, tokens)),
            ("tokenizer.ggml.token_type", .array(.int32, types)),
            ("tokenizer.ggml.merges", .array(.string, merges)),
        ]
        if let pre = tokenizer["pre_tokenizer"] as? [String: Any], let prefix = Self.byteLevel(pre)?["add_prefix_space"] as? Bool {
            metadata.append(("tokenizer.ggml.add_space_prefix", .bool(prefix)))
        }

        // Special tokens: tokenizer_config.json's, by content; else config.json's ids.
        let ids = Dictionary(byID.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        func special(_ key: String) -> Int? {
            let value = tokenizerConfig[key]
            let content = (value as? String) ?? ((value as? [String: Any])?["content"] as? String)
            if let content, let id = ids[content] { return id }
            let fallback = config["\(key)_id"]
            return (fallback as? Int) ?? (fallback as? [Int])?.first
        }
        for (key, gguf) in [("bos_token", "bos_token_id"), ("eos_token", "eos_token_id"), ("unk_token", "unknown_token_id"), ("pad_token", "padding_token_id")] {
            if let id = special(key), id >= 0, id < count { metadata.append(("tokenizer.ggml.\(gguf)", .uint32(UInt32(id)))) }
        }
        let addsBOS: Bool
        if let flag = tokenizerConfig["add_bos_token"] as? Bool {
            addsBOS = flag
        } else if let single = ((tokenizer["post_processor"] as? [String: Any])?["single"] as? [[String: Any]])?.first,
                  let token = (single["SpecialToken"] as? [String: Any])?["id"] as? String {
            addsBOS = ids[token] != nil && ids[token] == special("bos_token")
        } else {
            addsBOS = false
        }
        metadata.append(("tokenizer.ggml.add_bos_token", .bool(addsBOS)))

        // The chat template: its own file, or tokenizer_config.json's (a string, or named
        // templates of which "default" is taken).
        if let template = try? String(contentsOfFile: directory + "/chat_template.jinja", encoding: .utf8) {
            metadata.append(("tokenizer.chat_template", .string(template)))
        } else if let template = tokenizerConfig["chat_template"] as? String {
            metadata.append(("tokenizer.chat_template", .string(template)))
        } else if let named = tokenizerConfig["chat_template"] as? [[String: Any]],
                  let template = named.first(where: { $0["name"] as? String == "default" })?["template"] as? String {
            metadata.append(("tokenizer.chat_template", .string(template)))
        } else {
            notes.append("no chat template: chat requests will need --chat-template")
        }
        return metadata
    }

    /// The ByteLevel step of a pre-tokenizer (itself, or within a Sequence).
    static func byteLevel(_ pre: [String: Any]) -> [String: Any]? {
        if pre["type"] as? String == "ByteLevel" { return pre }
        return (pre["pretokenizers"] as? [[String: Any]])?.first { $0["type"] as? String == "ByteLevel" }
    }

    /// llama.cpp's name for tokenizer.json's pre-tokenizer, recognized by its structure:
    /// ByteLevel with its own regex is GPT-2's; digits split one by one before it is
    /// SmolLM's (StarCoder's when tokenizer_config.json cleans up spaces); a Split by a known
    /// regex before a regex-less ByteLevel is Qwen2's or Llama 3's. Anything else is refused
    /// with the way around it.
    static func preTokenizerName(_ value: Any?, cleansSpaces: Bool, folder: String) throws(QuantizeError) -> String {
        let unknown = QuantizeError("\(folder)/tokenizer.json has a pre-tokenizer hearth convert does not recognize; name llama.cpp's equivalent with --pre (gpt-2, smollm, qwen2, llama-bpe, ...)")
        guard let pre = value as? [String: Any] else { throw unknown }
        let steps = pre["type"] as? String == "Sequence" ? pre["pretokenizers"] as? [[String: Any]] ?? [] : [pre]
        guard let last = steps.last, last["type"] as? String == "ByteLevel" else { throw unknown }
        let ownRegex = last["use_regex"] as? Bool ?? true
        let before = steps.dropLast()
        if before.isEmpty && ownRegex { return "gpt-2" }
        if before.count == 1, ownRegex, before[0]["type"] as? String == "Digits", before[0]["individual_digits"] as? Bool == true {
            // llama.cpp's two names for this split differ in whether decoding cleans up spaces.
            return cleansSpaces ? "starcoder" : "smollm"
        }
        if before.count == 1, !ownRegex, before[0]["type"] as? String == "Split",
           let regex = (before[0]["pattern"] as? [String: Any])?["Regex"] as? String,
           let known = knownSplits.first(where: { $0.regex == regex }) {
            return known.pre
        }
        throw unknown
    }
}
