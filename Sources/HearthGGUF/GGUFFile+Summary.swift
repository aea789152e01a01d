import HearthKernels

/// What listings say about a model file: `hearth bench`'s model columns (as llama-bench's) and
/// the server's model details (as Ollama's).
extension GGUFFile {
    /// Elements of every tensor: the parameter count (llama-bench's `model_n_params`).
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }

    /// Bytes of every tensor's data (llama-bench's `model_size`).
    public var tensorBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }

    /// The parameter count as llama.cpp and Ollama write it: `135M`, `1.5B`.
    public var parameterSizeLabel: String {
        let n = parameterCount
        return n < 1_000_000_000 ? "\(Int((Double(n) / 1e6).rounded()))M" : "\((Double(n) / 1e8).rounded() / 10)B"
    }

    /// The type holding the most tensor bytes, as ggml names it in capitals (`Q4_1`); ties go
    /// to the type that comes first in the file.
    public var predominantTypeName: String {
        var bytes: [TensorType: Int] = [:]
        var order: [TensorType] = []
        for t in tensors {
            if bytes[t.type] == nil { order.append(t.type) }
            bytes[t.type, default: 0] += t.byteCount
        }
        guard let top = order.max(by: { bytes[$0]! < bytes[$1]! }) else { return "?" }
        return top.description.uppercased()
    }

    /// The quantization `general.file_type` names (llama.cpp's `llama_ftype`: `Q4_K_M`), if the
    /// file says and the number is known.
    public var fileTypeName: String? { int("general.file_type").flatMap { Self.fileTypes[$0] } }

    static let fileTypes: [Int: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
        12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
    ]
}
