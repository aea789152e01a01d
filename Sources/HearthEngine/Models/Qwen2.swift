import HearthGGUF

/// Qwen2 (Qwen2.5, Qwen2.5-Coder): the Llama block with two changes, so it reuses `Llama`:
/// - q, k and v projections carry biases (`blk.N.attn_{q,k,v}.bias`);
/// - rope rotates the two halves of each head (GPT-NeoX layout), not adjacent pairs.
/// The output head is untied (`output.weight`) in most sizes; `Llama` takes either.
enum Qwen2 {
    static func load(_ file: GGUFFile) throws(EngineError) -> any LanguageModel {
        try Llama(file, arch: "qwen2", qkvBias: true, ropeLayout: .halves)
    }
}
