import Foundation
import HearthGGUF
import HearthKernels

/// A Hugging Face model folder (`config.json`, `model.safetensors` or its shards with
/// `model.safetensors.index.json`, `tokenizer.json`, `tokenizer_config.json`, and
/// `chat_template.jinja` where the template is kept apart) turned into one GGUF file, as
/// llama.cpp's `convert_hf_to_gguf.py` lays it out, for the `llama` and `qwen2` architectures:
/// - hyperparameters to `<arch>.*` keys; rope scaling is refused, not dropped;
/// - tensors renamed (`model.layers.N.self_attn.q_proj.weight` to `blk.N.attn_q.weight`, ...),
///   shapes reversed into ggml's order (innermost first), two-dimensional tensors stored in
///   the output type and the others (norms, biases) in f32;
/// - for `llama`, the rows of the query and key projections regrouped per head from
///   Hugging Face's rotate-half layout into llama.cpp's interleaved pairs: within a head of
///   `d` rows, row `p * d/2 + i` goes to row `2 i + p` (`qwen2` keeps its layout: llama.cpp
///   rotates it as NeoX does);
/// - a tied output (`tie_word_embeddings`) is not written: the embedding serves;
/// - the byte-level BPE tokenizer to `tokenizer.ggml.*`: tokens by id (missing ids become
///   `[PAD<id>]`, unused), token types (added special tokens are control tokens), merges, the
///   pre-tokenizer named from tokenizer.json's (or `--pre`), the special token ids, the chat
///   template.
public struct HuggingFaceConversion {
    public struct Tensor {
        public let name: String
        /// In ggml's order, innermost first.
        public let shape: [Int]
        public let type: TensorType
        let file: Int
        let source: SafetensorsFile.Tensor
        /// Query or key rows to regroup into interleaved rope pairs, over this many heads.
        let ropeHeads: Int?
    }

    public let architecture: String
    public let metadata: [(String, GGUFValue)]
    public let tensors: [Tensor]
    public let outputType: TensorType
    /// What was left out or chosen, for the user to read.
    public let notes: [String]
    private let files: [SafetensorsFile]

    /// Reads and checks the folder: everything that can be wrong with it is found here,
    /// before any output is written.
    public init(directory: String, outputType requested: TensorType? = nil, preTokenizer: String? = nil) throws(QuantizeError) {
        let folder = (directory as NSString).lastPathComponent
        let config = try Self.json(directory, "config.json", required: true)!
        var notes: [String] = []

        // The architecture and its hyperparameters.
        let declared = (config["architectures"] as? [String])?.first ?? ""
        let modelType = config["model_type"] as? String ?? ""
        switch (declared, modelType) {
        case ("LlamaForCausalLM", _), ("", "llama"): architecture = "llama"
        case ("Qwen2ForCausalLM", _), ("", "qwen2"): architecture = "qwen2"
        default:
            throw QuantizeError("\(folder)/config.json declares \(declared.isEmpty ? "model_type '\(modelType)'" : declared); hearth convert knows LlamaForCausalLM (llama) and Qwen2ForCausalLM (qwen2)")
        }
        func integer(_ key: String, default value: Int? = nil) throws(QuantizeError) -> Int {
            if let v = config[key] as? Int { return v }
            if let v = value { return v }
            throw QuantizeError("\(folder)/config.json has no integer '\(key)'")
        }
        let hidden = try integer("hidden_size"), layers = try integer("num_hidden_layers")
        let heads = try integer("num_attention_heads"), kvHeads = try integer("num_key_value_heads", default: heads)
        let headDim = try integer("head_dim", default: hidden / max(heads, 1))
        let ffn = try integer("intermediate_size"), context = try integer("max_position_embeddings")
        guard hidden > 0, layers > 0, heads > 0, kvHeads > 0, heads % kvHeads == 0, headDim % 2 == 0 else {
            throw QuantizeError("\(folder)/config.json: hidden_size \(hidden), \(layers) layers, \(heads) heads over \(kvHeads) key heads, head_dim \(headDim) do not make a model")
        }
        let ropeParameters = config["rope_parameters"] as? [String: Any]
        let ropeScaling = (config["rope_scaling"] as? [String: Any]) ?? ropeParameters
        if let kind = (ropeScaling?["rope_type"] ?? ropeScaling?["type"]) as? String, kind != "default" {
            throw QuantizeError("\(folder)/config.json asks for '\(kind)' rope scaling, which hearth convert does not carry over yet")
        }
        let ropeTheta = (config["rope_theta"] as? Double) ?? (ropeParameters?["rope_theta"] as? Double) ?? 10000
        let epsilon = (config["rms_norm_eps"] as? Double) ?? 1e-6
        let tied = config["tie_word_embeddings"] as? Bool ?? false

        // The tensors, from one file or the shards an index names.
        var files: [SafetensorsFile] = []
        if FileManager.default.fileExists(atPath: directory + "/model.safetensors") {
            files = [try SafetensorsFile(path: directory + "/model.safetensors")]
        } else if let index = try Self.json(directory, "model.safetensors.index.json", required: false) {
            guard let map = index["weight_map"] as? [String: String] else {
                throw QuantizeError("\(folder)/model.safetensors.index.json has no weight_map")
            }
            for shard in Set(map.values).sorted() { files.append(try SafetensorsFile(path: directory + "/" + shard)) }
        } else {
            throw QuantizeError("\(folder) has no model.safetensors (nor model.safetensors.index.json); hearth convert reads safetensors weights")
        }
        var sources: [String: (Int, SafetensorsFile.Tensor)] = [:]
        for (i, f) in files.enumerated() { for (name, t) in f.tensors { sources[name] = (i, t) } }
        let sourceTypes = Set(sources.values.filter { $0.1.shape.count == 2 }.map(\.1.dtype))
        outputType = requested ?? (sourceTypes == ["BF16"] ? .bf16 : .f16)

        var tensors: [Tensor] = []
        var unknown: [String] = []
        for name in sources.keys.sorted(by: Self.layerOrder) {
            let (file, source) = sources[name]!
            if name.hasSuffix("rotary_emb.inv_freq") { continue }
            if name == "lm_head.weight" && tied {
                notes.append("lm_head.weight is not written: tie_word_embeddings says the embedding serves as the output")
                continue
            }
            guard let ggufName = Self.ggufName(name) else { unknown.append(name); continue }
            guard (1...2).contains(source.shape.count) else {
                throw QuantizeError("tensor '\(name)' has \(source.shape.count) dimensions; hearth convert writes one- and two-dimensional tensors")
            }
            guard SafetensorsFile.formats[source.dtype] != nil else {
                throw QuantizeError("tensor '\(name)' is \(source.dtype); hearth convert reads F32, F16 and BF16 tensors")
            }
            var ropeHeads: Int?
            if architecture == "llama" {
                if ggufName.contains(".attn_q.") { ropeHeads = heads }
                if ggufName.contains(".attn_k.") { ropeHeads = kvHeads }
            }
            if let h = ropeHeads, source.shape[0] != h * headDim {
                throw QuantizeError("tensor '\(name)' has \(source.shape[0]) rows; \(h) heads of \(headDim) need \(h * headDim)")
            }
            let type: TensorType = source.shape.count == 2 ? outputType : .f32
            tensors.append(Tensor(name: ggufName, shape: source.shape.reversed(), type: type, file: file, source: source, ropeHeads: ropeHeads))
        }
        guard unknown.isEmpty else {
            throw QuantizeError("\(unknown.count) tensors have no GGUF name for \(architecture), such as \(unknown.prefix(3).joined(separator: ", "))")
        }
        var required = ["token_embd.weight", "output_norm.weight"] + (tied ? [] : ["output.weight"])
        for i in 0..<layers {
            required += ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"].map { "blk.\(i).\($0).weight" }
        }
        let present = Set(tensors.map(\.name))
        let missing = required.filter { !present.contains($0) }
        guard missing.isEmpty else {
            throw QuantizeError("\(folder) lacks \(missing.count) tensors a \(architecture) model of \(layers) layers needs, such as \(missing.prefix(3).joined(separator: ", "))\(tied ? "" : " (tie_word_embeddings is false, so lm_head.weight is needed)")")
        }
        if let embedding = tensors.first(where: { $0.name == "token_embd.weight" }), embedding.shape[0] != hidden {
            throw QuantizeError("model.embed_tokens.weight has rows of \(embedding.shape[0]); hidden_size is \(hidden)")
        }
        let vocabSize = tensors.first { $0.name == "token_embd.weight" }!.shape[1]

        var metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string(architecture)),
            ("general.type", .string("model")),
            ("general.name", .string(Self.modelName(config) ?? folder)),
            ("general.file_type", .uint32(outputType == .f32 ? 0 : outputType == .f16 ? 1 : 32)),
            ("\(architecture).block_count", .uint32(UInt32(layers))),
            ("\(architecture).context_length", .uint32(UInt32(context))),
            ("\(architecture).embedding_length", .uint32(UInt32(hidden))),
            ("\(architecture).feed_forward_length", .uint32(UInt32(ffn))),
            ("\(architecture).attention.head_count", .uint32(UInt32(heads))),
            ("\(architecture).attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("\(architecture).rope.freq_base", .float32(Float(ropeTheta))),
            ("\(architecture).attention.layer_norm_rms_epsilon", .float32(Float(epsilon))),
            ("\(architecture).vocab_size", .uint32(UInt32(vocabSize))),
            ("\(architecture).rope.dimension_count", .uint32(UInt32(headDim))),
        ]
        if headDim != hidden / heads {
            metadata += [("\(architecture).attention.key_length", .uint32(UInt32(headDim))),
                         ("\(architecture).attention.value_length", .uint32(UInt32(headDim)))]
        }
        metadata += try Self.tokenizerMetadata(directory, config: config, vocabSize: vocabSize, preTokenizer: preTokenizer, notes: &notes)
        self.metadata = metadata
        self.tensors = tensors
        self.files = files
        self.notes = notes
    }

    /// Output bytes of the tensor data.
    public var outputBytes: Int { tensors.reduce(0) { $0 + ($1.type.traits.bytes(forElements: $1.source.elementCount) ?? 0) } }

    /// Writes the GGUF file (streamed, atomic: nothing stays at `path` on failure).
    public func write(to path: String, provenance: [(String, GGUFValue)] = [],
                      progress: (_ bytes: Int, _ total: Int) -> Void = { _, _ in }) throws(QuantizeError) {
        var writer = GGUFWriter()
        for (key, value) in metadata + provenance { writer.set(key, value) }
        do {
            for t in tensors { try writer.declareTensor(t.name, shape: t.shape, type: t.type) }
        } catch { throw QuantizeError(error.message) }
        var done = 0
        let total = outputBytes
        do {
            try writer.write(to: path) { index, _ in
                let bytes = try tensorBytes(tensors[index])
                done += bytes.count
                progress(done, total)
                return bytes
            }
        } catch let e as GGUFError { throw QuantizeError(e.message) } catch let e as QuantizeError { throw e } catch {
            throw QuantizeError("\(error)")
        }
    }

    /// One tensor in its output type: the source bytes when nothing changes, else its floats
    /// (regrouped for rope where needed) encoded.
    func tensorBytes(_ t: Tensor) throws(QuantizeError) -> [UInt8] {
        let file = files[t.file]
        if t.ropeHeads == nil && SafetensorsFile.formats[t.source.dtype] == t.type { return file.bytes(t.source) }
        var floats = try file.floats(t.source)
        if let heads = t.ropeHeads { floats = Self.interleaveRopePairs(floats, heads: heads, rowLength: t.shape.count == 2 ? t.shape[0] : 1) }
        guard let encode = t.type.traits.quantize else { throw QuantizeError("hearth convert cannot write \(t.type)") }
        var out = [UInt8](repeating: 0, count: t.type.traits.bytes(forElements: floats.count)!)
        floats.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { encode(src.baseAddress!, $0.baseAddress!, floats.count) } }
        return out
    }

    /// Hugging Face's rotate-half rows to llama.cpp's interleaved pairs: within each head of
    /// `d` rows, row `p * d/2 + i` moves to row `2 i + p`.
    public static func interleaveRopePairs(_ w: [Float], heads: Int, rowLength: Int) -> [Float] {
        let rows = w.count / rowLength, headRows = rows / heads, half = headRows / 2
        var out = [Float](repeating: 0, count: w.count)
        for h in 0..<heads {
            for p in 0..<2 {
                for i in 0..<half {
                    let from = (h * headRows + p * half + i) * rowLength, to = (h * headRows + 2 * i + p) * rowLength
                    out[to ..< to + rowLength] = w[from ..< from + rowLength]
                }
            }
        }
        return out
    }

    /// The GGUF name of a Hugging Face tensor of the llama and qwen2 layouts.
    static func ggufName(_ name: String) -> String? {
        switch name {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        let parts = name.split(separator: ".")
        guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) else { return nil }
        let rest = parts[3...].joined(separator: ".")
        let names = [
            "input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
            "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
            "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
            "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
            "self_attn.o_proj.weight": "attn_output.weight", "self_attn.o_proj.bias": "attn_output.bias",
            "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
        ]
        return names[rest].map { "blk.\(layer).\($0)" }
    }

    /// The model's name as transformers records it (`_name_or_path`, a repository or a path,
    /// of which the last part is kept).
    static func modelName(_ config: [String: Any]) -> String? {
        for key in ["_name_or_path", "_model_name_or_path"] {
            if let name = config[key] as? String, !name.isEmpty { return (name as NSString).lastPathComponent }
        }
        return nil
    }

    /// Names in layer order (`layers.2` before `layers.10`), then by name.
    static func layerOrder(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> (Int, String) {
            let parts = s.split(separator: ".")
            if parts.count > 2, parts[1] == "layers", let n = Int(parts[2]) { return (n, s) }
            return (s.hasPrefix("model.embed") ? -1 : Int.max, s)
        }
        return key(a) < key(b)
    }

    static func json(_ directory: String, _ name: String, required: Bool) throws(QuantizeError) -> [String: Any]? {
        let path = directory + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else {
            if !required { return nil }
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
                throw QuantizeError("'\(directory)' is not a folder; hearth convert reads a Hugging Face model folder")
            }
            throw QuantizeError("'\(directory)' has no \(name); hearth convert reads a Hugging Face model folder")
        }
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw QuantizeError("\((directory as NSString).lastPathComponent)/\(name) is not a JSON object")
            }
            return object
        } catch let e as QuantizeError { throw e } catch {
            throw QuantizeError("\((directory as NSString).lastPathComponent)/\(name) is not valid JSON: \(error.localizedDescription)")
        }
    }
}
