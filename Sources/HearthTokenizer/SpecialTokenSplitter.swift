/// Per-token attributes, as llama.cpp derives them from `tokenizer.ggml.token_type` and fixes
/// them up by token text.
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt8
    static let unknown = TokenAttributes(rawValue: 1 << 0)
    static let unused = TokenAttributes(rawValue: 1 << 1)
    static let normal = TokenAttributes(rawValue: 1 << 2)
    static let control = TokenAttributes(rawValue: 1 << 3)
    static let userDefined = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)

    /// The attribute of a `token_type` value; an unknown value is "undefined" (no attribute).
    init(tokenType: Int32) {
        switch tokenType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    init(rawValue: UInt8) { self.rawValue = rawValue }
}

/// A piece of input after special tokens are cut out: raw text still to be tokenized, or a
/// special token already decided.
enum Fragment: Equatable {
    case text(Range<Int>)
    case token(Int32)
}

/// Cuts special tokens out of the input before the model's tokenizer sees it, as llama.cpp's
/// `tokenizer_st_partition` does.
///
/// Special tokens are the control, user-defined and unknown ones. They are tried one at a time,
/// longest text first; each splits every remaining raw fragment at all its (non-overlapping,
/// leftmost-first) occurrences. So a longer token wins over a shorter one anywhere in the text,
/// not only where both start. Without `parseSpecial` only user-defined tokens are cut out.
///
/// A byte trie finds, in one pass, which special tokens occur in the input at all; only those
/// few then go through the token-by-token splitting.
struct SpecialTokenSplitter: Sendable {
    private struct Node: Sendable {
        var children: [UInt8: Int32] = [:]
        var token: Int32 = -1
    }

    private let nodes: [Node]
    /// Special token ids in the order they are tried: longest text first, then lowest id.
    private let priority: [Int32: Int]
    private let tokenBytes: [Int32: [UInt8]]
    private let parseOnly: Set<Int32>  // control and unknown: cut only with parseSpecial

    init(tokens: ByteStrings, attributes: [TokenAttributes]) {
        var ids: [Int32] = []
        for (i, attr) in attributes.enumerated()
        where !attr.isDisjoint(with: [.control, .userDefined, .unknown]) && tokens.length(i) > 0 {
            ids.append(Int32(i))
        }
        ids.sort { a, b in
            let la = tokens.length(Int(a)), lb = tokens.length(Int(b))
            return la != lb ? la > lb : a < b
        }
        var priority: [Int32: Int] = [:]
        var bytes: [Int32: [UInt8]] = [:]
        var parseOnly: Set<Int32> = []
        var nodes = [Node()]
        for (rank, id) in ids.enumerated() {
            priority[id] = rank
            let text = Array(tokens[Int(id)])
            bytes[id] = text
            if !attributes[Int(id)].isDisjoint(with: [.control, .unknown]) { parseOnly.insert(id) }
            var node = 0
            for b in text {
                if let child = nodes[node].children[b] {
                    node = Int(child)
                } else {
                    nodes.append(Node())
                    nodes[node].children[b] = Int32(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
            nodes[node].token = id
        }
        self.nodes = nodes
        self.priority = priority
        self.tokenBytes = bytes
        self.parseOnly = parseOnly
    }

    /// Splits `text` (UTF-8) into raw-text ranges and special tokens, in order. Inside the
    /// byte ranges `plain` (text a user wrote, in a chat prompt) control tokens are not
    /// recognised even with `parseSpecial`: their text stays text.
    func split(_ text: [UInt8], parseSpecial: Bool, plain: [Range<Int>] = []) -> [Fragment] {
        if text.isEmpty { return [] }
        let candidates = occurringTokens(in: text, parseSpecial: parseSpecial)
        var fragments: [Fragment] = [.text(0 ..< text.count)]
        for id in candidates {
            guard let needle = tokenBytes[id] else { continue }
            var result: [Fragment] = []
            result.reserveCapacity(fragments.count + 2)
            for fragment in fragments {
                guard case .text(let range) = fragment else {
                    result.append(fragment)
                    continue
                }
                var pos = range.lowerBound, searchFrom = pos
                let guarded = !plain.isEmpty && parseOnly.contains(id)
                while let match = find(needle, in: text, from: searchFrom, to: range.upperBound) {
                    if guarded && plain.contains(where: { $0.overlaps(match ..< match + needle.count) }) {
                        searchFrom = match + 1
                        continue
                    }
                    if match > pos { result.append(.text(pos ..< match)) }
                    result.append(.token(id))
                    pos = match + needle.count
                    searchFrom = pos
                }
                if pos < range.upperBound { result.append(.text(pos ..< range.upperBound)) }
            }
            fragments = result
        }
        return fragments
    }

    /// The special tokens that occur anywhere in `text`, in the order they are to be tried.
    private func occurringTokens(in text: [UInt8], parseSpecial: Bool) -> [Int32] {
        var found: Set<Int32> = []
        let root = nodes[0].children
        for start in text.indices {
            guard var node = root[text[start]] else { continue }
            var pos = start + 1
            while true {
                let token = nodes[Int(node)].token
                if token >= 0 && (parseSpecial || !parseOnly.contains(token)) { found.insert(token) }
                guard pos < text.count, let child = nodes[Int(node)].children[text[pos]] else { break }
                node = child
                pos += 1
            }
        }
        return found.sorted { priority[$0, default: 0] < priority[$1, default: 0] }
    }

    /// First occurrence of `needle` in `text[from ..< to]`.
    private func find(_ needle: [UInt8], in text: [UInt8], from: Int, to: Int) -> Int? {
        let n = needle.count
        guard n > 0, to - from >= n else { return nil }
        let first = needle[0]
        var i = from
        while i <= to - n {
            if text[i] == first {
                var k = 1
                while k < n && text[i + k] == needle[k] { k += 1 }
                if k == n { return i }
            }
            i += 1
        }
        return nil
    }
}
