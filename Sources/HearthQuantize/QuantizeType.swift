import HearthKernels

/// What `hearth quantize --type` takes: the file's main tensor type, named as llama-quantize
/// names its types, with its `general.file_type` (llama.cpp's `llama_ftype`).
public struct QuantizeType: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let tensorType: TensorType
    public let fileType: UInt32

    /// The types Hearth can make today.
    public static let all: [QuantizeType] = [
        .init(name: "F32", tensorType: .f32, fileType: 0),
        .init(name: "F16", tensorType: .f16, fileType: 1),
        .init(name: "BF16", tensorType: .bf16, fileType: 32),
        .init(name: "Q4_0", tensorType: .q4_0, fileType: 2),
        .init(name: "Q4_1", tensorType: .q4_1, fileType: 3),
        .init(name: "Q5_0", tensorType: .q5_0, fileType: 8),
        .init(name: "Q5_1", tensorType: .q5_1, fileType: 9),
        .init(name: "Q8_0", tensorType: .q8_0, fileType: 7),
        .init(name: "Q2_K", tensorType: .q2_K, fileType: 10),
        .init(name: "Q3_K_S", tensorType: .q3_K, fileType: 11),
        .init(name: "Q3_K_M", tensorType: .q3_K, fileType: 12),
        .init(name: "Q3_K_L", tensorType: .q3_K, fileType: 13),
        .init(name: "Q4_K_S", tensorType: .q4_K, fileType: 14),
        .init(name: "Q4_K_M", tensorType: .q4_K, fileType: 15),
        .init(name: "Q5_K_S", tensorType: .q5_K, fileType: 16),
        .init(name: "Q5_K_M", tensorType: .q5_K, fileType: 17),
        .init(name: "Q6_K", tensorType: .q6_K, fileType: 18),
    ]

    /// llama-quantize's types Hearth does not make, refused by name rather than as unknown.
    static func notMade(_ text: String) -> String? {
        let name = text.uppercased()
        if name == "Q2_K_S" { return "Q2_K_S needs an importance matrix, which Hearth does not compute yet" }
        if name.hasPrefix("IQ") || name.hasPrefix("TQ") || name == "MXFP4_MOE" { return "Hearth has no \(name) quantizer" }
        return nil
    }

    public var description: String { name }

    /// The type called `name` (case-insensitive), or an error saying which names there are.
    public static func named(_ text: String) throws(QuantizeError) -> QuantizeType {
        if let t = all.first(where: { $0.name.caseInsensitiveCompare(text) == .orderedSame }) { return t }
        if let why = notMade(text) {
            throw QuantizeError("\(why); it makes \(all.map(\.name).joined(separator: ", "))")
        }
        throw QuantizeError("unknown type '\(text)'; Hearth makes \(all.map(\.name).joined(separator: ", "))")
    }

    /// A tensor type for an override (`--output-tensor-type q8_0`): any format Hearth can store
    /// weights in.
    public static func tensorType(named text: String) throws(QuantizeError) -> TensorType {
        guard let t = TensorType(name: text.lowercased()), t.traits.quantizeWeights != nil else {
            let names = TensorType.allCases.filter { $0.traits.quantizeWeights != nil }.map(\.description)
            throw QuantizeError("'\(text)' is not a tensor type Hearth can write; it writes \(names.joined(separator: ", "))")
        }
        return t
    }
}

/// The one error type of HearthQuantize: what went wrong, naming the file or tensor.
public struct QuantizeError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
