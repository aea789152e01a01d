/// A small gpt2-style (byte-level BPE) vocabulary for tiny test models, laid out the way
/// SmolLM2's is: the special tokens first, then one token per byte, then merge results.
///
///   ids 0, 1, 2        <|endoftext|>, <|im_start|>, <|im_end|>   (type 3, control)
///   ids 3 ..< 259      the 256 byte characters of GPT-2's byte-to-unicode map, in its order
///   ids 259 ...        one token per merge, in merge order            (type 1, normal)
public struct TinyVocab: Sendable, Equatable {
    /// Token strings, by id.
    public let tokens: [String]
    /// llama.cpp token types (`llama_token_type`): 1 normal, 3 control.
    public let tokenTypes: [Int32]
    /// Merges, "left right", highest priority first.
    public let merges: [String]
    public let bosID: Int
    public let eosID: Int
    public let unknownID: Int
    public let paddingID: Int
    /// A ChatML template in the Jinja subset chat templates use.
    public let chatTemplate: String

    public static let specialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

    /// The default merges: a few common English pairs, each result a new token.
    public static let defaultMerges = [
        "Ġ t", "Ġ a", "i n", "h e", "r e", "o n", "Ġt he", "e r", "Ġ s", "a t", "Ġ w", "Ġ o",
    ]

    public init(merges: [String] = TinyVocab.defaultMerges) {
        var tokens = TinyVocab.specialTokens
        var types = [Int32](repeating: 3, count: tokens.count)
        let bytes = TinyVocab.byteToUnicode
        for b in TinyVocab.byteOrder { tokens.append(String(bytes[Int(b)])); types.append(1) }
        for m in merges {
            tokens.append(m.split(separator: " ", omittingEmptySubsequences: false).joined())
            types.append(1)
        }
        self.tokens = tokens
        self.tokenTypes = types
        self.merges = merges
        bosID = 1; eosID = 2; unknownID = 0; paddingID = 2
        chatTemplate = """
        {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """
    }

    /// The id of the token for byte `b`.
    public func id(ofByte b: UInt8) -> Int {
        TinyVocab.specialTokens.count + TinyVocab.byteOrder.firstIndex(of: b)!
    }

    /// GPT-2's byte order: the printable bytes ('!'...'~', '¡'...'¬', '®'...'ÿ') first, then the
    /// rest in increasing order.
    public static let byteOrder: [UInt8] = {
        let printable = Array(UInt8(ascii: "!")...UInt8(ascii: "~")) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let rest = (0...255).map(UInt8.init).filter { !printable.contains($0) }
        return printable + rest
    }()

    /// GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the others to U+0100
    /// onwards in byte order (so space 0x20 is "Ġ" U+0120 and newline 0x0A is "Ċ" U+010A).
    public static let byteToUnicode: [Character] = {
        var map = [Character](repeating: " ", count: 256)
        var n: UInt32 = 0
        let printable = Set(byteOrder.prefix(188))
        for b in 0...255 {
            if printable.contains(UInt8(b)) {
                map[b] = Character(Unicode.Scalar(UInt32(b))!)
            } else {
                map[b] = Character(Unicode.Scalar(256 + n)!)
                n += 1
            }
        }
        return map
    }()
}
