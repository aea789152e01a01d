import Foundation
import HearthGGUF
import HearthKernels

/// What `hearth quantize` does to each tensor, decided before anything is written, following
/// llama-quantize's rules (llama-quant.cpp's `llama_tensor_get_type`) for the types Hearth
/// makes:
/// - tensors of one dimension, and names not ending in `.weight`, stay as they are (norms);
/// - the output tensor (`output.weight`, or `token_embd.weight` when the embedding is tied)
///   is q6_K for every quantized type but q8_0;
/// - the K mixes give some tensors more bits, by category and layer (`mixType`);
/// - `--tensor-type REGEX=TYPE` (which skips the mix's rules), `--output-tensor-type`,
///   `--token-embedding-type` override;
/// - a tensor whose rows do not fill whole blocks of its type falls back as llama-quantize
///   does (q2_K and q3_K to q4_0, q4_K to q5_0, q5_K to q5_1, q6_K to q8_0), then to f16,
///   with a note.
/// llama-quantize's rules for Falcon, mixtures of experts and 70B models are not carried over.
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
        let arch = file.architecture ?? ""
        let layers = file.int("\(arch).block_count") ?? 1
        let heads = file.int("\(arch).attention.head_count") ?? 1
        let groupSize = heads / Swift.max(1, file.int("\(arch).attention.head_count_kv") ?? heads)
        let attentionVCount = file.tensors.filter { Category(name: $0.name) == .attentionV }.count
        var counters: [Category: Int] = [:]
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
                let category = Category(name: name)
                if isOutput, let type = options.outputTensorType {
                    target = type
                    note = "--output-tensor-type"
                } else if name == "token_embd.weight" && !isOutput, let type = options.tokenEmbeddingType {
                    target = type
                    note = "--token-embedding-type"
                } else if !main.traits.isQuantized {
                    target = main
                } else if let (_, type) = regexes.first(where: { $0.0.firstMatch(in: name, range: range) != nil }) {
                    target = type
                    note = "--tensor-type"
                } else if isOutput {
                    target = main == .q8_0 ? .q8_0 : .q6_K
                } else {
                    // llama-quantize counts tensors of a category in layer order, whatever the
                    // file's order: the layer is the `blk.N` number where there is one.
                    let counter = counters[category, default: 0]
                    counters[category] = counter + 1
                    let i = Self.layer(of: name) ?? counter
                    let n = category == .attentionV ? attentionVCount : layers
                    target = Self.mixType(options.type.name.uppercased(), main: main, category: category, layer: i, of: n, groupSize: groupSize)
                }
                if t.shape[0] % target.traits.blockSize != 0 && target.traits.isQuantized {
                    let fallback: TensorType = switch target {
                    case .q2_K, .q3_K: .q4_0
                    case .q4_K: .q5_0
                    case .q5_K: .q5_1
                    case .q6_K: .q8_0
                    default: .f16
                    }
                    let chosen = t.shape[0] % fallback.traits.blockSize == 0 ? fallback : .f16
                    note = "rows of \(t.shape[0]) do not fill \(target)'s blocks of \(target.traits.blockSize): \(chosen) instead, as llama-quantize does"
                    target = chosen
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

    /// The kinds of tensor llama-quantize's mixes treat apart, by name.
    enum Category: Hashable {
        case attentionV, attentionOutput, ffnDown, other

        init(name: String) {
            if name.contains("attn_v.weight") || name.contains("attn_qkv.weight") || name.contains("attn_kv_b.weight") {
                self = .attentionV
            } else if name.contains("attn_output.weight") {
                self = .attentionOutput
            } else if name.contains("ffn_down") {
                self = .ffnDown
            } else {
                self = .other
            }
        }
    }

    /// The `N` of a `blk.N.` name.
    static func layer(of name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        return Int(name.dropFirst(4).prefix { ("0"..."9").contains($0) })
    }

    /// The type a mix gives a tensor of `category` in layer `i` of `n` (llama-quantize's
    /// `llama_tensor_get_type_impl` for these types): more bits for the tensors that hurt
    /// most, attn_v and ffn_down, most of all in the first and last layers.
    static func mixType(_ mix: String, main: TensorType, category: Category, layer i: Int, of n: Int, groupSize: Int) -> TensorType {
        /// The first and last eighth, and every third layer between.
        let moreBits = i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
        switch (category, mix) {
        case (.attentionV, "Q2_K"): return groupSize >= 4 ? .q4_K : .q3_K
        case (.attentionV, "Q3_K_M"): return i < 2 ? .q5_K : .q4_K
        case (.attentionV, "Q3_K_L"): return .q5_K
        case (.attentionV, "Q4_K_M"), (.attentionV, "Q5_K_M"): return moreBits ? .q6_K : main
        case (.attentionV, "Q4_K_S"): return i < 4 ? .q5_K : main
        case (.ffnDown, "Q2_K"): return .q3_K
        case (.ffnDown, "Q3_K_M"): return i < n / 16 ? .q5_K : .q4_K
        case (.ffnDown, "Q3_K_L"): return .q5_K
        case (.ffnDown, "Q4_K_M"), (.ffnDown, "Q5_K_M"): return moreBits ? .q6_K : main
        case (.ffnDown, "Q4_K_S"): return i < n / 8 ? .q5_K : main
        case (.attentionOutput, "Q2_K"): return .q3_K
        case (.attentionOutput, "Q3_K_M"): return .q4_K
        case (.attentionOutput, "Q3_K_L"): return .q5_K
        default: return main
        }
    }

    /// The notes, each once, with the tensors it applies to: (note, tensor names).
    public var notes: [(note: String, tensors: [String])] {
        var byNote: [String: [String]] = [:]
        for e in entries { if let note = e.note { byNote[note, default: []].append(e.tensor.name) } }
        return byNote.map { ($0.key, $0.value) }.sorted { $0.note < $1.note }
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
