import Foundation

/// Turns text into token ids and back, the way llama.cpp does for the same GGUF vocabulary,
/// token for token.
///
/// Two kinds of vocabulary are supported:
/// - `model = "gpt2"`: byte-level BPE (SmolLM, Qwen2, Llama 3, GPT-2, ...), with the
///   pre-tokenizer named by `pre` (see `Tokenizer.supportedPreTokenizers`);
/// - `model = "llama"`: SentencePiece BPE with byte fallback (Llama 2, Gemma 3).
///
/// A `Tokenizer` is immutable after `init` apart from an internal, locked word cache, and can be
/// shared between threads.
public final class Tokenizer: Sendable {
    enum Engine: Sendable {
        case bytePair(BytePairEncoder, PreTokenizer)
        case sentencePiece(SentencePieceEncoder)
    }

    let engine: Engine
    /// Token texts as UTF-8, and the table from text to id.
    let texts: ByteStringTable
    let attributes: [TokenAttributes]
    /// What each token renders as with special tokens shown (llama.cpp's piece cache).
    let pieces: ByteStrings
    let splitter: SpecialTokenSplitter
    let specials: SpecialTokens
    /// Whether `encode(_:addSpecial: true, ...)` puts BOS first (`tokenizer.ggml.add_bos_token`).
    public let addBOS: Bool
    let addEOS: Bool
    let addSpacePrefix: Bool
    /// llama.cpp's `clean_spaces` (`clean_up_tokenization_spaces`), applied by `decode`.
    let cleanSpaces: Bool

    /// Number of tokens in the vocabulary; valid ids are `0 ..< vocabularySize`.
    public var vocabularySize: Int { attributes.count }

    /// Ids that end generation: EOS, end-of-turn and end-of-message, plus every token llama.cpp
    /// treats as an end by its text (`<|im_end|>`, `<|endoftext|>`, `<end_of_turn>`,
    /// `<|eot_id|>`, ...) and the fill-in-the-middle pad/repo/file-separator tokens.
    public let endOfGenerationIDs: Set<Int32>

    /// The beginning-of-sequence id, if the vocabulary has one.
    public var bosID: Int32? { specials.bos }
    /// The end-of-sequence id, if the vocabulary has one.
    public var eosID: Int32? { specials.eos }

    /// The `tokenizer.ggml.pre` values of BPE vocabularies this module implements.
    public static var supportedPreTokenizers: [String] { BPEConfiguration.table.keys.sorted() }

    /// Checks `vocabulary` and builds the lookup tables.
    ///
    /// Throws `TokenizerError` naming the problem for an unknown model or pre-tokenizer, arrays
    /// of different lengths, duplicate or missing tokens, merges naming texts that are not
    /// tokens, and `add_bos`/`add_eos` without a valid id.
    public init(_ vocabulary: TokenizerVocabulary) throws(TokenizerError) {
        let count = vocabulary.tokens.count
        let isSentencePiece: Bool
        switch vocabulary.model {
        case "llama": isSentencePiece = true
        case "gpt2": isSentencePiece = false
        default:
            throw TokenizerError(.unsupportedModel,
                "tokenizer model \(quoted(vocabulary.model)) is not supported (supported: 'gpt2', 'llama')")
        }
        var configuration = BPEConfiguration.fallback
        if !isSentencePiece {
            let name = vocabulary.pre ?? ""
            guard let found = name.isEmpty ? BPEConfiguration.fallback : BPEConfiguration.table[name] else {
                throw TokenizerError(.unsupportedPreTokenizer,
                    "pre-tokenizer \(quoted(name)) is not supported (supported: \(Self.supportedPreTokenizers.joined(separator: ", ")))")
            }
            configuration = found
        }
        guard count > 0 else { throw .invalid("the vocabulary has no tokens") }
        guard count <= Int(Int32.max) else { throw .invalid("the vocabulary has \(count) tokens, more than Int32 ids can hold") }
        if let scores = vocabulary.scores, scores.count != count {
            throw .invalid("tokenizer.ggml.scores has \(scores.count) entries but there are \(count) tokens")
        }
        if let types = vocabulary.tokenTypes, types.count != count {
            throw .invalid("tokenizer.ggml.token_type has \(types.count) entries but there are \(count) tokens")
        }

        // llama.cpp renames an empty token so it can never match text.
        var bytes = ByteStrings()
        for (i, text) in vocabulary.tokens.enumerated() {
            bytes.append(text.isEmpty ? "[EMPTY_\(i)]".utf8 : text.utf8)
        }
        bytes.shrink()
        let texts = ByteStringTable(keys: bytes)
        if let (first, second) = texts.duplicate {
            throw .invalid("token \(quoted(vocabulary.tokens[second])) appears twice, as ids \(first) and \(second)")
        }

        var attributes: [TokenAttributes] = vocabulary.tokenTypes.map { $0.map(TokenAttributes.init(tokenType:)) }
            ?? Array(repeating: .normal, count: count)
        specials = try SpecialTokens(vocabulary, texts: texts, isSentencePiece: isSentencePiece,
                                     attributes: &attributes)

        if isSentencePiece {
            var byteTokens = [Int32](repeating: -1, count: 256)
            let hex = Array("0123456789ABCDEF".utf8)
            for b in 0 ..< 256 {
                let name: [UInt8] = Array("<0x".utf8) + [hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]
                byteTokens[b] = texts.value(for: name) ?? texts.value(for: [UInt8(b)]) ?? -1
            }
            engine = .sentencePiece(SentencePieceEncoder(
                texts: texts, scores: vocabulary.scores ?? Array(repeating: 0, count: count),
                byteTokens: byteTokens, unknownID: specials.unknown))
            addSpacePrefix = vocabulary.addSpacePrefix ?? true
            cleanSpaces = false
        } else {
            guard let merges = vocabulary.merges else {
                throw .invalid("a gpt2 (BPE) vocabulary needs tokenizer.ggml.merges")
            }
            let encoder = try BytePairEncoder(texts: texts, merges: merges,
                                          wholeWordsFirst: configuration.ignoreMerges)
            engine = .bytePair(encoder, configuration.preTokenizer)
            addSpacePrefix = vocabulary.addSpacePrefix ?? false
            cleanSpaces = configuration.cleanSpaces
        }

        self.texts = texts
        self.attributes = attributes
        addBOS = vocabulary.addBOS
        addEOS = vocabulary.addEOS
        endOfGenerationIDs = specials.endOfGeneration
        splitter = SpecialTokenSplitter(tokens: bytes, attributes: attributes)
        pieces = Self.renderPieces(bytes, attributes, sentencePiece: isSentencePiece)
    }

    /// Encodes `text` to token ids.
    ///
    /// - Parameters:
    ///   - addSpecial: add BOS (and EOS) when the vocabulary asks for them (`add_bos_token`,
    ///     `add_eos_token`).
    ///   - parseSpecial: recognise the text of control tokens such as `<|im_start|>` and emit
    ///     their ids. User-defined tokens are recognised either way, as in llama.cpp.
    ///   - plain: UTF-8 byte ranges of `text` in which control tokens are not recognised (the
    ///     messages of a chat prompt, so that a user cannot write a role change).
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool, plain: [Range<Int>] = []) -> [Int32] {
        let bytes = Array(text.utf8)
        let fragments = splitter.split(bytes, parseSpecial: parseSpecial, plain: plain)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addSpecial && addBOS, let bos = specials.bos { output.append(bos) }
        switch engine {
        case .sentencePiece(let encoder):
            var previousWasSpecial = true  // the first fragment gets the space prefix
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    previousWasSpecial = true
                case .text(let range):
                    var escaped: [UInt8] = []
                    escaped.reserveCapacity(range.count + 3)
                    if addSpacePrefix && previousWasSpecial { escaped.append(contentsOf: Self.escapedSpace) }
                    for b in bytes[range] {
                        if b == 0x20 { escaped.append(contentsOf: Self.escapedSpace) } else { escaped.append(b) }
                    }
                    encoder.encode(escaped, into: &output)
                    previousWasSpecial = false
                }
            }
        case .bytePair(let encoder, let preTokenizer):
            bytes.withUnsafeBufferPointer { buffer in
                for fragment in fragments {
                    switch fragment {
                    case .token(let id):
                        output.append(id)
                    case .text(let range):
                        let text = ScalarText(utf8: UnsafeBufferPointer(rebasing: buffer[range]))
                        for word in preTokenizer.split(text) {
                            let from = range.lowerBound + text.utf8Offsets[word.lowerBound]
                            let to = range.lowerBound + text.utf8Offsets[word.upperBound]
                            encoder.encode(word: bytes[from ..< to], into: &output)
                        }
                    }
                }
            }
        }
        if addSpecial && addEOS, let eos = specials.eos { output.append(eos) }
        return output
    }

    /// Whether `text` holds the text of a control token (`<|im_end|>`, ...).
    public func containsControlText(_ text: String) -> Bool {
        splitter.split(Array(text.utf8), parseSpecial: true).contains { fragment in
            if case .token(let id) = fragment { return isControl(id) }
            return false
        }
    }

    /// True for a control token (`<|im_start|>`, `<bos>`, ...), including tokens llama.cpp
    /// makes control because of their text. False for out-of-range ids.
    public func isControl(_ id: Int32) -> Bool {
        guard id >= 0, Int(id) < attributes.count else { return false }
        return attributes[Int(id)].contains(.control)
    }

    /// The text of a token as stored in the vocabulary (byte-level or `▁` form), or nil for an
    /// out-of-range id.
    public func tokenText(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        return String(decoding: texts.keys[Int(id)], as: UTF8.self)
    }

    /// The UTF-8 of `▁` (U+2581), SentencePiece's stand-in for a space.
    static let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81]
}

/// How llama.cpp configures one `tokenizer.ggml.pre` value of a BPE vocabulary.
struct BPEConfiguration: Sendable {
    var preTokenizer: PreTokenizer
    /// `clean_spaces`: `decode` removes spaces before `.,!?` and in contractions.
    var cleanSpaces: Bool
    /// `ignore_merges`: a word that is itself a token is emitted whole.
    var ignoreMerges: Bool = false

    static let fallback = BPEConfiguration(preTokenizer: .fallback, cleanSpaces: true)

    static let table: [String: BPEConfiguration] = {
        var t: [String: BPEConfiguration] = ["default": fallback]
        for name in ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
                     "lfm2", "jina-v5-nano"] {
            t[name] = .init(preTokenizer: .llama3Family(maxDigits: 3), cleanSpaces: true, ignoreMerges: true)
        }
        for name in ["dbrx", "smaug-bpe"] {
            t[name] = .init(preTokenizer: .llama3Family(maxDigits: 3), cleanSpaces: true)
        }
        for name in ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open"] {
            t[name] = .init(preTokenizer: .llama3Family(maxDigits: 1), cleanSpaces: false)
        }
        for name in ["stablelm2", "megrez"] {
            t[name] = .init(preTokenizer: .llama3Family(maxDigits: 1), cleanSpaces: true)
        }
        for name in ["smollm", "command-r"] {
            t[name] = .init(preTokenizer: .digitsThenGPT2, cleanSpaces: false)
        }
        for name in ["starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"] {
            t[name] = .init(preTokenizer: .digitsThenGPT2, cleanSpaces: true)
        }
        for name in ["gpt-2", "phi-2", "gigachat", "a.x-4.0", "mellum", "mpt", "olmo", "jais", "exaone4"] {
            t[name] = .init(preTokenizer: .gpt2, cleanSpaces: true)
        }
        for name in ["trillion", "granite-docling"] {
            t[name] = .init(preTokenizer: .gpt2, cleanSpaces: false)
        }
        return t
    }()
}
