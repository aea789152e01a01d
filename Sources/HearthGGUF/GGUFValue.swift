/// The value types a GGUF metadata entry can hold, numbered as on disk (`gguf_type`).
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    public var name: String {
        switch self {
        case .uint8: "u8"; case .int8: "i8"; case .uint16: "u16"; case .int16: "i16"
        case .uint32: "u32"; case .int32: "i32"; case .float32: "f32"; case .bool: "bool"
        case .string: "str"; case .array: "arr"; case .uint64: "u64"; case .int64: "i64"; case .float64: "f64"
        }
    }
}

/// One metadata value. Arrays carry their element type, since an empty array still has one on disk.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    indirect case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8; case .int8: .int8; case .uint16: .uint16; case .int16: .int16
        case .uint32: .uint32; case .int32: .int32; case .float32: .float32; case .bool: .bool
        case .string: .string; case .array: .array; case .uint64: .uint64; case .int64: .int64
        case .float64: .float64
        }
    }

    /// The value as an integer, for any integer type (and bool), when it fits in Int.
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v); case .int8(let v): Int(v); case .uint16(let v): Int(v)
        case .int16(let v): Int(v); case .uint32(let v): Int(v); case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v); case .int64(let v): Int(v)
        case .bool(let v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as a Double, for any numeric type.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: int.map(Double.init)
        }
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [GGUFValue]? { if case .array(_, let a) = self { a } else { nil } }
}

extension GGUFValue: CustomStringConvertible {
    /// A short rendering for `hearth inspect`: long arrays and strings are abbreviated with a
    /// count of what was left out, so the reader knows it is not the whole value.
    public var description: String { render(maxItems: 8, maxChars: 80) }

    public func render(maxItems: Int, maxChars: Int) -> String {
        switch self {
        case .string(let s):
            let escaped = s.unicodeScalars.map { c -> String in
                switch c { case "\n": "\\n"; case "\t": "\\t"; case "\"": "\\\""; case "\\": "\\\\"
                default: String(c) }
            }.joined()
            if escaped.count > maxChars {
                return "\"\(escaped.prefix(maxChars))\"… (\(s.utf8.count) bytes)"
            }
            return "\"\(escaped)\""
        case .array(let t, let items):
            let shown = items.prefix(maxItems).map { $0.render(maxItems: maxItems, maxChars: 24) }
            let more = items.count > maxItems ? ", … (\(items.count) items)" : ""
            return "[\(t.name)] [\(shown.joined(separator: ", "))\(more)]"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return int.map { "\($0)" } ?? "?"
        }
    }
}
