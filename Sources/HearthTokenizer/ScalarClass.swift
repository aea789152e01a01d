/// The character classes the pre-tokenizer regexes ask about, per Unicode scalar.
///
/// llama.cpp derives the same flags from Python's `regex` module: `\p{L}` letter, `\p{N}` number,
/// `\p{P}` punctuation, and `\s` = the White_Space property. Unassigned code points count as
/// `\p{C}` there, so every scalar has some class; only a position past the end of a piece has
/// none (`ScalarClass.none`).
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8

    static let letter = ScalarClass(rawValue: 1)
    static let number = ScalarClass(rawValue: 2)
    static let whitespace = ScalarClass(rawValue: 4)
    static let punctuation = ScalarClass(rawValue: 8)
    /// Set for every real scalar; absent only for "past the end of the piece".
    static let defined = ScalarClass(rawValue: 16)

    static let none = ScalarClass([])

    /// Letter, number or whitespace: the complement of `[^\s\p{L}\p{N}]` among defined scalars.
    static let wordOrSpace: ScalarClass = [.letter, .number, .whitespace]

    /// True for a defined scalar that is not whitespace, letter or number: `[^\s\p{L}\p{N}]`.
    @inline(__always) var isOther: Bool {
        contains(.defined) && isDisjoint(with: .wordOrSpace)
    }

    /// The class of one scalar.
    @inline(__always) static func of(_ value: UInt32) -> ScalarClass {
        if value < 0x1_0000 { return bmpTable[Int(value)] }
        return compute(value)
    }

    /// Classes of the Basic Multilingual Plane, computed once (a few milliseconds).
    private static let bmpTable: [ScalarClass] = (0 ..< 0x1_0000).map { compute(UInt32($0)) }

    /// Letters, numbers and punctuation that Swift's Unicode data knows but llama.cpp's table
    /// (`unicode-data.cpp`, generated from an older Unicode version) does not: llama.cpp treats
    /// them as unassigned (`\p{C}`), so they are "other" here too. Found by comparing the two
    /// tables over all code points (Swift 6.3, llama.cpp 0c1e57098); every other code point
    /// agrees, whitespace included.
    private static let newerThanReference: [ClosedRange<UInt32>] = [
        0x88F ... 0x88F, 0xC5C ... 0xC5C, 0xCDC ... 0xCDC, 0x1B4E ... 0x1B4F, 0x1B7F ... 0x1B7F,
        0x1C89 ... 0x1C8A, 0xA7CB ... 0xA7CF, 0xA7D2 ... 0xA7D2, 0xA7D4 ... 0xA7D4,
        0xA7DA ... 0xA7DC, 0xA7F1 ... 0xA7F1, 0x105C0 ... 0x105F3, 0x10940 ... 0x10959,
        0x10D40 ... 0x10D65, 0x10D6E ... 0x10D85, 0x10EC2 ... 0x10EC7, 0x10ED0 ... 0x10ED0,
        0x11380 ... 0x11389, 0x1138B ... 0x1138B, 0x1138E ... 0x1138E, 0x11390 ... 0x113B5,
        0x113B7 ... 0x113B7, 0x113D1 ... 0x113D1, 0x113D3 ... 0x113D5, 0x113D7 ... 0x113D8,
        0x116D0 ... 0x116E3, 0x11BC0 ... 0x11BE1, 0x11BF0 ... 0x11BF9, 0x11DB0 ... 0x11DDB,
        0x11DE0 ... 0x11DE9, 0x13460 ... 0x143FA, 0x16100 ... 0x1611D, 0x16130 ... 0x16139,
        0x16D40 ... 0x16D79, 0x16EA0 ... 0x16EB8, 0x16EBB ... 0x16ED3, 0x16FF2 ... 0x16FF6,
        0x187F8 ... 0x187FF, 0x18CFF ... 0x18CFF, 0x18D09 ... 0x18D1E, 0x18D80 ... 0x18DF2,
        0x1CCF0 ... 0x1CCF9, 0x1E5D0 ... 0x1E5ED, 0x1E5F0 ... 0x1E5FA, 0x1E5FF ... 0x1E5FF,
        0x1E6C0 ... 0x1E6DE, 0x1E6E0 ... 0x1E6E2, 0x1E6E4 ... 0x1E6E5, 0x1E6E7 ... 0x1E6ED,
        0x1E6F0 ... 0x1E6F4, 0x1E6FE ... 0x1E6FF, 0x2B73A ... 0x2B73F, 0x2CEA2 ... 0x2CEAD,
        0x323B0 ... 0x33479
    ]

    private static func isNewerThanReference(_ value: UInt32) -> Bool {
        var lo = 0, hi = newerThanReference.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if newerThanReference[mid].upperBound < value { lo = mid + 1 } else { hi = mid }
        }
        return lo < newerThanReference.count && newerThanReference[lo].contains(value)
    }

    private static func compute(_ value: UInt32) -> ScalarClass {
        guard let scalar = Unicode.Scalar(value), value < 0x88F || !isNewerThanReference(value) else {
            // Surrogates (never in a Swift string) and code points the reference does not know:
            // \p{C}, neither letter, number, punctuation nor whitespace.
            return .defined
        }
        var result: ScalarClass = .defined
        let properties = scalar.properties
        if properties.isWhitespace { result.insert(.whitespace) }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            result.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            result.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            result.insert(.punctuation)
        default:
            break
        }
        return result
    }
}

/// A fragment of text as Unicode scalars, with the UTF-8 offset of each, so a range of scalars
/// can be cut back out of the UTF-8 bytes without re-encoding.
struct ScalarText {
    /// The scalar values.
    var scalars: [UInt32] = []
    /// The classes of `scalars`, index for index.
    var classes: [ScalarClass] = []
    /// `utf8Offsets[i]` is where scalar `i` starts in the UTF-8 bytes; one extra entry at the end.
    var utf8Offsets: [Int] = []

    /// Decodes UTF-8 bytes. An invalid byte becomes U+FFFD, as in llama.cpp
    /// (`unicode_cpts_from_utf8`); input that came from a Swift `String` has none.
    init(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        scalars.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        utf8Offsets.reserveCapacity(bytes.count + 1)
        var i = 0
        let n = bytes.count
        while i < n {
            let (value, length) = decodeUTF8(bytes, at: i)
            utf8Offsets.append(i)
            scalars.append(value)
            classes.append(ScalarClass.of(value))
            i += length
        }
        utf8Offsets.append(n)
    }

    var count: Int { scalars.count }
}

/// Decodes one scalar at `i`; returns U+FFFD and length 1 for an invalid sequence.
@inline(__always)
func decodeUTF8(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
    let b0 = UInt32(bytes[i])
    if b0 < 0x80 { return (b0, 1) }
    let n = bytes.count
    @inline(__always) func cont(_ k: Int) -> UInt32? {
        guard i + k < n else { return nil }
        let b = UInt32(bytes[i + k])
        return b & 0xC0 == 0x80 ? b & 0x3F : nil
    }
    if b0 & 0xE0 == 0xC0, let b1 = cont(1) {
        let v = (b0 & 0x1F) << 6 | b1
        if v >= 0x80 { return (v, 2) }
    } else if b0 & 0xF0 == 0xE0, let b1 = cont(1), let b2 = cont(2) {
        let v = (b0 & 0x0F) << 12 | b1 << 6 | b2
        if v >= 0x800 && !(0xD800 ... 0xDFFF).contains(v) { return (v, 3) }
    } else if b0 & 0xF8 == 0xF0, let b1 = cont(1), let b2 = cont(2), let b3 = cont(3) {
        let v = (b0 & 0x07) << 18 | b1 << 12 | b2 << 6 | b3
        if v >= 0x1_0000 && v <= 0x10_FFFF { return (v, 4) }
    }
    return (0xFFFD, 1)
}

/// Appends the UTF-8 encoding of a scalar value.
@inline(__always)
func appendUTF8(_ value: UInt32, to out: inout [UInt8]) {
    switch value {
    case 0 ..< 0x80:
        out.append(UInt8(value))
    case 0x80 ..< 0x800:
        out.append(UInt8(0xC0 | (value >> 6)))
        out.append(UInt8(0x80 | (value & 0x3F)))
    case 0x800 ..< 0x1_0000:
        out.append(UInt8(0xE0 | (value >> 12)))
        out.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (value & 0x3F)))
    default:
        out.append(UInt8(0xF0 | (value >> 18)))
        out.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (value & 0x3F)))
    }
}
