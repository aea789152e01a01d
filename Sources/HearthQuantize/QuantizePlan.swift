import Foundation
import HearthGGUF
import HearthKernels

/// What `hearth quantize` does to each tensor, decided before anything is written, following
/// llama-quantize's rules for the types Hearth makes:
/// - tensors of one dimension, and names not ending in `.weight`, stay as they are (norms);
/// - the output tensor (`output.weight`, or `token_embd.weight` when the embedding is tied)
///   is q8_0 for every quantized type: llama-quantize makes it q8_0 when its rows are not a
///   multiple of 256 and q6_K otherwise, which Hearth cannot make yet (the plan says so);
/// - `--tensor-type REGEX=TYPE`, `--output-tensor-type`, `--token-embedding-type` override;
/// - a tensor whose rows do not fill whole blocks of its type falls back to f16, with a note.
public struct QuantizePlan: Sendable {
    public struct Entry: Sendable {
        public let tensor: GGUFTensorInfo
        public let target: TensorType
        /// Why the target differs from the file's main type, if it does.
        public let note: String?
        /// The bytes are copied as they are (the type does not change).
        public var copies: Bool { tensor.type == target }
    }

    public struct Options: Sendable {
        public var type: QuantizeType
        public var outputTensorType: TensorType?
        public var tokenEmbeddingType: TensorType?
        /// `(pattern, type)`, the first whose pattern matches a tensor name wins.
        public var tensorTypes: [(pattern: String, type: TensorType)] = []
        public var allowRequantize = false

        public init(type: QuantizeType) { self.type = type }
    }

    public let entries: [Entry]
    /// Tensors of the source that are quantized and would be quantized again.
    public let requantized: [String]

    public init(file: GGUFFile, options: Options) throws(QuantizeError) {
        var regexes: [(NSRegularExpression, TensorType)] = []
        for (pattern, type) in options.tensorTypes {
            do { regexes.append((try NSRegularExpression(pattern: pattern), type)) } catch {
                throw QuantizeError("--tensor-type '\(pattern)' is not a regular expression: \(error.localizedDescription)")
            }
        }
        let tiedOutput = file.tensor("output.weight") == nil
        let main = options.type.tensorType
        var entries: [Entry] = [], requantized: [String] = []
        for t in file.tensors {
            var target = t.type
            var note: String?
            let name = t.name
            let isWeight = t.shape.count >= 2 && name.hasSuffix(".weight")
                && !["ffn_gate_inp.weight", "pos_embd.weight", "token_types.weight"].contains { name.hasSuffix($0) }
            if isWeight {
                let range = NSRange(name.startIndex..., in: name)
                let isOutput = name == "output.weight" || (tiedOutput && name == "token_embd.weight")
                if let (_, type) = regexes.first(where: { $0.0.firstMatch(in: name, range: range) != nil }) {
                    target = type
                    note = "--tensor-type"
                } else if isOutput, let type = options.outputTensorType {
                    target = type
                    note = "--output-tensor-type"
                } else if name == "token_embd.weight", let type = options.tokenEmbeddingType {
                    target = type
                    note = "--token-embedding-type"
                } else if isOutput && main.traits.isQuantized && main != .q8_0 {
                    target = .q8_0
                    if t.shape[0] % 256 == 0 {
                        note = "the output tensor: llama-quantize makes it q6_K, which Hearth cannot make yet, so q8_0"
                    }
                } else {
                    target = main
                }
                if t.shape[0] % target.traits.blockSize != 0 {
                    note = "rows of \(t.shape[0]) do not fill \(target)'s blocks of \(target.traits.blockSize): f16 instead"
                    target = .f16
                }
                if t.type.traits.isQuantized && target != t.type { requantized.append(name) }
            }
            entries.append(Entry(tensor: t, target: target, note: note))
        }
        if !requantized.isEmpty && !options.allowRequantize {
            throw QuantizeError("the source is already quantized (\(requantized.count) tensors, such as \(requantized[0]) in \(file.tensor(requantized[0])!.type)); quantizing again loses more quality than quantizing from F32, F16 or BF16. Pass --allow-requantize to do it anyway")
        }
        self.entries = entries
        self.requantized = requantized
    }

    /// Output bytes of the tensor data.
    public var outputBytes: Int { entries.reduce(0) { $0 + ($1.target.traits.bytes(forElements: $1.tensor.elementCount) ?? 0) } }

    /// Tensors by target type: count, elements, bytes.
    public var summary: [(type: TensorType, count: Int, elements: Int, bytes: Int)] {
        var by: [TensorType: (Int, Int, Int)] = [:]
        for e in entries {
            let bytes = e.target.traits.bytes(forElements: e.tensor.elementCount) ?? 0
            by[e.target, default: (0, 0, 0)].0 += 1
            by[e.target, default: (0, 0, 0)].1 += e.tensor.elementCount
            by[e.target, default: (0, 0, 0)].2 += bytes
        }
        return by.map { ($0.key, $0.value.0, $0.value.1, $0.value.2) }.sorted { $0.bytes > $1.bytes }
    }
}
