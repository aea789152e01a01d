/// The element formats a GGUF tensor can be stored in, numbered as ggml numbers them
/// (`enum ggml_type`), so the raw value is what a GGUF tensor info carries on disk.
public enum TensorType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case bf16 = 30

    /// ggml's name for the format (`ggml_type_name`): "q4_K", "f16", ...
    public var description: String { traits.name }

    /// The traits row of this format: the only place that knows its block layout.
    public var traits: FormatTraits { FormatTraits.table[self]! }

    /// Looks a format up by ggml's name, case-insensitively ("Q4_K", "q8_0", "bf16").
    public init?(name: String) {
        guard let t = TensorType.allCases.first(where: { $0.traits.name.lowercased() == name.lowercased() })
        else { return nil }
        self = t
    }
}

/// ggml's names for element types it defines but Hearth cannot compute with; used to name the
/// offender in an error when a file holds one of them.
public func ggmlTypeName(_ raw: UInt32) -> String {
    if let t = TensorType(rawValue: raw) { return t.traits.name }
    let others: [UInt32: String] = [
        4: "q4_2 (removed)", 5: "q4_3 (removed)", 16: "iq2_xxs", 17: "iq2_xs", 18: "iq3_xxs",
        19: "iq1_s", 20: "iq4_nl", 21: "iq3_s", 22: "iq2_s", 23: "iq4_xs", 24: "i8", 25: "i16",
        26: "i32", 27: "i64", 28: "f64", 29: "iq1_m", 34: "tq1_0", 35: "tq2_0", 39: "mxfp4",
    ]
    return others[raw] ?? "unknown type \(raw)"
}
