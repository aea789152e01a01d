import HearthTokenizer

/// The JSON a constrained generation must produce: any JSON value, or a shape read from a JSON
/// Schema (see the server's schema reader for the keywords it takes).
public indirect enum JSONShape: Sendable, Equatable {
    case any
    /// An object with these properties, in any order; `required` ones must appear before it
    /// closes; other keys only when `additionalProperties`.
    case object(properties: [Property], additionalProperties: Bool)
    case array(items: JSONShape)
    case string
    case number
    case integer
    case boolean
    case null
    /// One of these JSON texts exactly (`enum`, `const`), e.g. `"red"` with its quotes, `3`.
    case literals([String])
    /// A value of any of these shapes (`anyOf`, or `type` given as a list).
    case anyOf([JSONShape])
    /// An object whose first key is `key`, with one of the variants' literal values; the rest
    /// of the object is that variant's `properties` (a discriminated union: which function a
    /// tool call names decides the shape of its arguments).
    case tagged(key: String, variants: [Variant])

    public struct Variant: Sendable, Equatable {
        /// The tag's value, as JSON text (`"get_weather"` with its quotes).
        public let value: String
        public let properties: [Property]
        public init(value: String, properties: [Property]) { self.value = value; self.properties = properties }
    }

    public struct Property: Sendable, Equatable {
        public let name: String
        public let shape: JSONShape
        public let required: Bool
        public init(name: String, shape: JSONShape, required: Bool) {
            self.name = name; self.shape = shape; self.required = required
        }
    }
}

/// Reads JSON a byte at a time and says whether each byte can still lead to a value of the
/// expected shape: the automaton behind constrained decoding. A value type, so that trying a
/// token on a copy leaves the original as it was.
///
/// Whitespace is allowed between tokens, at most `maxWhitespace` bytes in a row, so that a
/// model cannot loop on blanks. Strings take any byte but `"`, `\` and control characters,
/// and JSON's escapes; numbers follow JSON's grammar (an integer shape takes no fraction or
/// exponent). Strings must be well-formed UTF-8.
public struct JSONRecognizer: Sendable {
    public static let maxWhitespace = 8

    /// What the innermost open construct expects next.
    private enum Frame: Sendable {
        /// A value of this shape (after optional whitespace).
        case value(JSONShape)
        /// Inside an object: a key (or `}` right after `{`), the colon, then after the value a
        /// comma or `}`. A tagged object has its `variants` until its tag's value is read.
        case object(properties: [JSONShape.Property], additional: Bool, keysSeen: [String], phase: ObjectPhase,
                    variants: [JSONShape.Variant] = [])
        case array(items: JSONShape, phase: ArrayPhase)
    }

    private enum ObjectPhase: Sendable, Equatable {
        /// `colon` carries the key just read; nil for a key of a free-form object, which is
        /// not kept (its value may be anything).
        case firstKeyOrClose, key, colon(String?), afterValue
    }

    private enum ArrayPhase: Sendable, Equatable {
        case firstValueOrClose, afterValue, afterComma
    }

    /// A token being read.
    private enum Lexeme: Sendable {
        case none
        /// A string: a value, the key of a free-form object (any text), or a key that must be
        /// one of the object's property names (its bytes so far).
        case string(escape: Escape, role: StringRole)
        case number(NumberPhase, integerOnly: Bool)
        /// `true`, `false`, `null` or the texts of a `literals` shape: the candidates still
        /// matching and how many bytes of them have been read.
        case literal(candidates: [[UInt8]], matched: Int)
    }

    private enum StringRole: Sendable, Equatable {
        case value, freeKey, namedKey([UInt8])
    }

    /// Where a string is between its characters: free, after a backslash, in a `\u` escape
    /// (hex digits read), or inside a multi-byte UTF-8 character (bytes still to come, and the
    /// range the next one must fall in).
    private enum Escape: Sendable, Equatable {
        case none, backslash, unicode(Int), utf8(remaining: UInt8, low: UInt8, high: UInt8)
    }

    private enum NumberPhase: Sendable, Equatable {
        case minus, zero, integer, dot, fraction, exponentMark, exponentSign, exponent
        var canEnd: Bool { self == .zero || self == .integer || self == .fraction || self == .exponent }
    }

    private var stack: [Frame]
    private var lexeme: Lexeme = .none
    /// The literal read last (a tagged object's tag value, when it is the tag's).
    private var lastLiteral: [UInt8] = []
    private var whitespaceRun = 0
    /// The root value has been read completely.
    public private(set) var isComplete = false

    public init(_ shape: JSONShape) { stack = [.value(shape)] }

    /// Inside a string value or a free-form key, and not in an escape: any byte but a quote, a
    /// backslash or a control byte is taken without changing what may follow.
    public var isInsideString: Bool {
        switch lexeme {
        case .string(.none, .value), .string(.none, .freeKey): return true
        default: return false
        }
    }

    /// Whether the text read so far is a whole value (possibly ending with a number, which only
    /// the end of the text closes).
    public var canEnd: Bool {
        if isComplete { return true }
        guard stack.count == 1, case .value = stack[0] else { return false }
        switch lexeme {
        case .number(let phase, _): return phase.canEnd
        case .literal(let candidates, let matched): return candidates.contains { $0.count == matched }
        default: return false
        }
    }

    /// Reads `bytes`; false (and the recognizer left in an unspecified state) when they cannot
    /// be part of a value of the shape.
    public mutating func feed<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        for b in bytes where !feed(b) { return false }
        return true
    }

    public mutating func feed(_ b: UInt8) -> Bool {
        // A lexeme that cannot take this byte may end here, and the byte goes to what follows.
        switch lexeme {
        case .none: break
        case .string(let escape, let role): return string(b, escape, role)
        case .number(let phase, let integerOnly):
            if let next = Self.number(phase, b, integerOnly: integerOnly) {
                lexeme = .number(next, integerOnly: integerOnly)
                return true
            }
            guard phase.canEnd else { return false }
            lexeme = .none
            valueDone()
        case .literal(let candidates, let matched):
            let still = candidates.filter { $0.count > matched && $0[matched] == b }
            if !still.isEmpty {
                lexeme = .literal(candidates: still, matched: matched + 1)
                if still.count == 1 && still[0].count == matched + 1 && !Self.mayContinue(still[0]) {
                    lexeme = .none
                    lastLiteral = still[0]
                    valueDone()
                }
                return true
            }
            guard let whole = candidates.first(where: { $0.count == matched }) else { return false }
            lexeme = .none
            lastLiteral = whole
            valueDone()
        }
        if isComplete { return whitespace(b) }
        return structural(b)
    }

    // MARK: between tokens

    private mutating func whitespace(_ b: UInt8) -> Bool {
        guard b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D, whitespaceRun < Self.maxWhitespace else { return false }
        whitespaceRun += 1
        return true
    }

    private mutating func structural(_ b: UInt8) -> Bool {
        if b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D { return whitespace(b) }
        whitespaceRun = 0
        guard let top = stack.last else { return false }
        switch top {
        case .value(let shape):
            return startValue(shape, b)
        case .object(var properties, let additional, let seen, let phase, var variants):
            // A tagged object's tag has just been read: the rest of it is that variant's.
            if phase == .afterValue && !variants.isEmpty {
                guard let chosen = variants.first(where: { Array($0.value.utf8) == lastLiteral }) else { return false }
                properties += chosen.properties
                variants = []
                stack[stack.count - 1] = .object(properties: properties, additional: additional, keysSeen: seen, phase: phase)
            }
            func allRequiredSeen() -> Bool { properties.allSatisfy { !$0.required || seen.contains($0.name) } }
            func keyLeft() -> Bool { additional || properties.contains { !seen.contains($0.name) } }
            switch phase {
            case .firstKeyOrClose, .key:
                if b == UInt8(ascii: "}") && phase == .firstKeyOrClose {
                    guard allRequiredSeen() else { return false }
                    stack.removeLast()
                    valueDone()
                    return true
                }
                guard b == UInt8(ascii: "\""), keyLeft() else { return false }
                lexeme = .string(escape: .none, role: properties.isEmpty && additional ? .freeKey : .namedKey([]))
                return true
            case .colon(let key):
                guard b == UInt8(ascii: ":") else { return false }
                stack[stack.count - 1] = .object(properties: properties, additional: additional,
                                                 keysSeen: key.map { seen + [$0] } ?? seen, phase: .afterValue, variants: variants)
                stack.append(.value(key.flatMap { k in properties.first { $0.name == k }?.shape } ?? .any))
                return true
            case .afterValue:
                if b == UInt8(ascii: ",") {
                    guard keyLeft() else { return false }
                    stack[stack.count - 1] = .object(properties: properties, additional: additional, keysSeen: seen, phase: .key)
                    return true
                }
                guard b == UInt8(ascii: "}"), allRequiredSeen() else { return false }
                stack.removeLast()
                valueDone()
                return true
            }
        case .array(let items, let phase):
            if b == UInt8(ascii: "]") && phase != .afterComma {
                stack.removeLast()
                valueDone()
                return true
            }
            if phase == .afterValue {
                guard b == UInt8(ascii: ",") else { return false }
                stack[stack.count - 1] = .array(items: items, phase: .afterComma)
                return true
            }
            stack[stack.count - 1] = .array(items: items, phase: .afterValue)
            stack.append(.value(items))
            return startValue(items, b)
        }
    }

    /// The first byte of a value of `shape` (the `.value` frame on top is replaced).
    private mutating func startValue(_ shape: JSONShape, _ b: UInt8) -> Bool {
        switch shape {
        case .any:
            return startValue(Self.anyValue, b)
        case .anyOf(let options):
            // The first byte decides the kind of value; among options of the same kind, the
            // first one is taken (a documented limit).
            guard let chosen = options.first(where: { Self.mayStart($0, with: b) }) else { return false }
            return startValue(chosen, b)
        case .object(let properties, let additional):
            guard b == UInt8(ascii: "{") else { return false }
            stack[stack.count - 1] = .object(properties: properties, additional: additional, keysSeen: [], phase: .firstKeyOrClose)
            return true
        case .tagged(let key, let variants):
            // Only the tag may come first; its value picks the variant.
            guard b == UInt8(ascii: "{") else { return false }
            let tag = JSONShape.Property(name: key, shape: .literals(variants.map(\.value)), required: true)
            stack[stack.count - 1] = .object(properties: [tag], additional: false, keysSeen: [], phase: .firstKeyOrClose,
                                             variants: variants)
            return true
        case .array(let items):
            guard b == UInt8(ascii: "[") else { return false }
            stack[stack.count - 1] = .array(items: items, phase: .firstValueOrClose)
            return true
        case .string:
            guard b == UInt8(ascii: "\"") else { return false }
            lexeme = .string(escape: .none, role: .value)
            return true
        case .number, .integer:
            guard let phase = Self.number(nil, b, integerOnly: shape == .integer) else { return false }
            lexeme = .number(phase, integerOnly: shape == .integer)
            return true
        case .boolean: return startLiteral([Array("true".utf8), Array("false".utf8)], b)
        case .null: return startLiteral([Array("null".utf8)], b)
        case .literals(let texts): return startLiteral(texts.map { Array($0.utf8) }, b)
        }
    }

    private mutating func startLiteral(_ candidates: [[UInt8]], _ b: UInt8) -> Bool {
        lexeme = .literal(candidates: candidates, matched: 0)
        return feed(b)
    }

    private static let anyValue = JSONShape.anyOf([.object(properties: [], additionalProperties: true), .array(items: .any),
                                                   .string, .number, .boolean, .null])

    static func mayStart(_ shape: JSONShape, with b: UInt8) -> Bool {
        switch shape {
        case .any: return true
        case .anyOf(let options): return options.contains { mayStart($0, with: b) }
        case .object, .tagged: return b == UInt8(ascii: "{")
        case .array: return b == UInt8(ascii: "[")
        case .string: return b == UInt8(ascii: "\"")
        case .number, .integer: return b == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        case .boolean: return b == UInt8(ascii: "t") || b == UInt8(ascii: "f")
        case .null: return b == UInt8(ascii: "n")
        case .literals(let texts): return texts.contains { $0.utf8.first == b }
        }
    }

    /// A literal that is a number can go on after it is matched (`1` then `12`); a closed
    /// string, `true`, `false` or `null` cannot.
    private static func mayContinue(_ text: [UInt8]) -> Bool {
        guard let last = text.last else { return false }
        return (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(last)
    }

    /// The top value has been read: the frame below takes over.
    private mutating func valueDone() {
        if case .value? = stack.last { stack.removeLast() }
        if stack.isEmpty { isComplete = true }
    }

    // MARK: strings and numbers

    private mutating func string(_ b: UInt8, _ escape: Escape, _ role: StringRole) -> Bool {
        switch escape {
        case .backslash:
            if b == UInt8(ascii: "u") { lexeme = .string(escape: .unicode(0), role: role); return true }
            guard Self.escaped[b] != nil else { return false }
            lexeme = .string(escape: .none, role: role)
            return true
        case .unicode(let n):
            guard Self.isHex(b) else { return false }
            lexeme = .string(escape: n == 3 ? .none : .unicode(n + 1), role: role)
            return true
        case .utf8(let remaining, let low, let high):
            guard b >= low && b <= high else { return false }
            var role = role
            if case .namedKey(var key) = role {
                key.append(b)
                guard keyPossible(key) else { return false }
                role = .namedKey(key)
            }
            lexeme = .string(escape: remaining == 1 ? .none : .utf8(remaining: remaining - 1, low: 0x80, high: 0xBF), role: role)
            return true
        case .none:
            if b == UInt8(ascii: "\"") {
                lexeme = .none
                switch role {
                case .value: valueDone()
                case .freeKey: setObjectPhase(.colon(nil))
                case .namedKey(let key):
                    guard keyComplete(key) else { return false }
                    setObjectPhase(.colon(String(decoding: key, as: UTF8.self)))
                }
                return true
            }
            if b == UInt8(ascii: "\\") {
                // Property names are checked byte by byte; escapes would hide what they spell.
                if case .namedKey = role { return false }
                lexeme = .string(escape: .backslash, role: role)
                return true
            }
            guard b >= 0x20 else { return false }
            // Only well-formed UTF-8 (RFC 3629): no stray continuation bytes, overlong forms,
            // surrogates or code points past U+10FFFF.
            var next = Escape.none
            if b >= 0x80 {
                switch b {
                case 0xC2...0xDF: next = .utf8(remaining: 1, low: 0x80, high: 0xBF)
                case 0xE0: next = .utf8(remaining: 2, low: 0xA0, high: 0xBF)
                case 0xED: next = .utf8(remaining: 2, low: 0x80, high: 0x9F)
                case 0xE1...0xEF: next = .utf8(remaining: 2, low: 0x80, high: 0xBF)
                case 0xF0: next = .utf8(remaining: 3, low: 0x90, high: 0xBF)
                case 0xF1...0xF3: next = .utf8(remaining: 3, low: 0x80, high: 0xBF)
                case 0xF4: next = .utf8(remaining: 3, low: 0x80, high: 0x8F)
                default: return false
                }
            }
            var role = role
            if case .namedKey(var key) = role {
                key.append(b)
                guard keyPossible(key) else { return false }
                role = .namedKey(key)
            }
            if next != .none || role != .value && role != .freeKey { lexeme = .string(escape: next, role: role) }
            return true
        }
    }

    private mutating func setObjectPhase(_ phase: ObjectPhase) {
        if case .object(let properties, let additional, let seen, _, let variants)? = stack.last {
            stack[stack.count - 1] = .object(properties: properties, additional: additional, keysSeen: seen, phase: phase, variants: variants)
        }
    }

    private static let escaped: [UInt8: UInt8] = [
        UInt8(ascii: "\""): UInt8(ascii: "\""), UInt8(ascii: "\\"): UInt8(ascii: "\\"), UInt8(ascii: "/"): UInt8(ascii: "/"),
        UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
    ]

    private static func isHex(_ b: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(b)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(b)
    }

    /// The names an object key may still become: the properties not seen yet (any name when
    /// additional properties are allowed).
    private func keyPossible(_ prefix: [UInt8]) -> Bool {
        guard case .object(let properties, let additional, let seen, _, _)? = stack.last else { return true }
        if additional { return true }
        return properties.contains { !seen.contains($0.name) && $0.name.utf8.starts(with: prefix) }
    }

    private func keyComplete(_ key: [UInt8]) -> Bool {
        guard case .object(let properties, let additional, let seen, _, _)? = stack.last else { return true }
        let name = String(decoding: key, as: UTF8.self)
        if seen.contains(name) { return false }
        return additional || properties.contains { $0.name == name }
    }

    /// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private static func number(_ phase: NumberPhase?, _ b: UInt8, integerOnly: Bool) -> NumberPhase? {
        let digit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        switch phase {
        case nil: return b == UInt8(ascii: "-") ? .minus : b == UInt8(ascii: "0") ? .zero : digit ? .integer : nil
        case .minus?: return b == UInt8(ascii: "0") ? .zero : digit ? .integer : nil
        case .zero?, .integer?:
            if digit { return phase == .zero ? nil : .integer }
            if integerOnly { return nil }
            if b == UInt8(ascii: ".") { return .dot }
            if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") { return .exponentMark }
            return nil
        case .dot?: return digit ? .fraction : nil
        case .fraction?:
            if digit { return .fraction }
            return b == UInt8(ascii: "e") || b == UInt8(ascii: "E") ? .exponentMark : nil
        case .exponentMark?: return b == UInt8(ascii: "+") || b == UInt8(ascii: "-") ? .exponentSign : digit ? .exponent : nil
        case .exponentSign?, .exponent?: return digit ? .exponent : nil
        }
    }
}

// MARK: masking the logits

/// Per-token facts that let constrained decoding skip most trials: the end-of-generation
/// tokens, tokens that can never be drawn (other control tokens, empty pieces), each token's
/// first two bytes, and the tokens that are plain string text (whole UTF-8 characters, no
/// quote, backslash or control byte), which any open string takes whole.
struct ConstraintTokenTable: Sendable {
    let endOfGeneration: [Bool]
    let excluded: [Bool]
    /// The first two bytes as `b0 << 8 | b1`, or `b0` alone (with `length` 1).
    let prefix: [UInt16]
    let length: [Int32]
    let plainString: [Bool]

    init(_ tokenizer: Tokenizer) {
        let n = tokenizer.vocabularySize
        var excluded = [Bool](repeating: false, count: n), prefix = [UInt16](repeating: 0, count: n)
        var endOfGeneration = [Bool](repeating: false, count: n)
        for id in tokenizer.endOfGenerationIDs where Int(id) < n { endOfGeneration[Int(id)] = true }
        var length = [Int32](repeating: 0, count: n), plain = [Bool](repeating: false, count: n)
        for id in 0..<n {
            let piece = tokenizer.pieceBytes(Int32(id))
            guard let b = piece.first, !tokenizer.isControl(Int32(id)), !endOfGeneration[id] else { excluded[id] = true; continue }
            length[id] = Int32(piece.count)
            prefix[id] = piece.count == 1 ? UInt16(b) : UInt16(b) << 8 | UInt16(piece[piece.startIndex + 1])
            plain[id] = piece.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
                && String(validating: piece, as: UTF8.self) != nil
        }
        self.endOfGeneration = endOfGeneration
        self.excluded = excluded
        self.prefix = prefix
        self.length = length
        plainString = plain
    }
}

extension Model {
    /// Sets the logits of the tokens `recognizer` cannot take next to -infinity: control tokens,
    /// tokens whose bytes would break the JSON, and the end-of-generation tokens until the value
    /// is complete. Each remaining token is tried on a copy of the recognizer, except where the
    /// table decides: a first one or two bytes the recognizer refuses, or plain text inside a
    /// string.
    func maskTokens(_ logits: UnsafeMutableBufferPointer<Float>, allowedBy recognizer: JSONRecognizer) {
        let table = constraintTokens.withLock { cached in
            if let cached { return cached }
            let made = ConstraintTokenTable(tokenizer)
            cached = made
            return made
        }
        let canEnd = recognizer.canEnd
        let inString = recognizer.isInsideString
        // Whether the recognizer takes a one- or two-byte beginning, worked out once per
        // beginning: most tokens are decided by their first two bytes.
        var firstByteOK = [Int8](repeating: -1, count: 256), pairOK = [Int8](repeating: -1, count: 65536)
        func takes(_ bytes: UInt16, pair: Bool) -> Bool {
            var trial = recognizer
            return pair ? trial.feed(UInt8(bytes >> 8)) && trial.feed(UInt8(bytes & 0xFF)) : trial.feed(UInt8(bytes))
        }
        for id in 0..<min(logits.count, tokenizer.vocabularySize) {
            if table.endOfGeneration[id] {
                if !canEnd { logits[id] = -.infinity }
                continue
            }
            if table.excluded[id] { logits[id] = -.infinity; continue }
            let prefix = table.prefix[id], length = table.length[id]
            if length == 1 {
                if firstByteOK[Int(prefix)] < 0 { firstByteOK[Int(prefix)] = takes(prefix, pair: false) ? 1 : 0 }
                if firstByteOK[Int(prefix)] == 0 { logits[id] = -.infinity }
                continue
            }
            if pairOK[Int(prefix)] < 0 { pairOK[Int(prefix)] = takes(prefix, pair: true) ? 1 : 0 }
            if pairOK[Int(prefix)] == 0 { logits[id] = -.infinity; continue }
            if length == 2 || (inString && table.plainString[id]) { continue }
            var trial = recognizer
            if !trial.feed(tokenizer.pieceBytes(Int32(id))) { logits[id] = -.infinity }
        }
        for id in tokenizer.vocabularySize..<logits.count { logits[id] = -.infinity }
    }
}
