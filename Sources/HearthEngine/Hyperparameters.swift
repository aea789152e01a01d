import HearthGGUF

/// Reads `<arch>.<key>` hyperparameters, with errors that name the missing or odd key.
struct Hyperparameters {
    let file: GGUFFile
    let arch: String

    init(_ file: GGUFFile, arch: String) {
        self.file = file
        self.arch = arch
    }

    func int(_ key: String) throws(EngineError) -> Int {
        guard let v = file.metadata["\(arch).\(key)"] else { throw EngineError("the model has no '\(arch).\(key)'") }
        guard let i = v.int, i > 0 else { throw EngineError("'\(arch).\(key)' is \(v); expected a positive integer") }
        return i
    }

    func int(_ key: String, default d: Int) throws(EngineError) -> Int {
        file.metadata["\(arch).\(key)"] == nil ? d : try int(key)
    }

    func float(_ key: String) throws(EngineError) -> Float {
        guard let v = file.metadata["\(arch).\(key)"] else { throw EngineError("the model has no '\(arch).\(key)'") }
        guard let d = v.double, d.isFinite else { throw EngineError("'\(arch).\(key)' is \(v); expected a number") }
        return Float(d)
    }

    func float(_ key: String, default d: Float) throws(EngineError) -> Float {
        file.metadata["\(arch).\(key)"] == nil ? d : try float(key)
    }

    /// The shape common to decoder-only models, with its consistency checked.
    func shape() throws(EngineError) -> ModelShape {
        let dim = try int("embedding_length")
        let nHeads = try int("attention.head_count")
        let nKVHeads = try int("attention.head_count_kv", default: nHeads)
        if file.metadata["\(arch).attention.key_length"] == nil && dim % nHeads != 0 {
            throw EngineError("\(arch).embedding_length (\(dim)) is not a multiple of \(arch).attention.head_count (\(nHeads)), and \(arch).attention.key_length is not given")
        }
        let headDim = try int("attention.key_length", default: dim / nHeads)
        guard headDim <= 1024, nHeads <= 1024, dim <= 1 << 16 else {
            throw EngineError("\(arch) sizes out of range: embedding_length \(dim), head_count \(nHeads), key_length \(headDim)")
        }
        // Position-encoding variants Hearth does not implement yet would silently change the
        // output: refuse them by name instead.
        if let scaling = file.string("\(arch).rope.scaling.type"), scaling != "none" {
            throw EngineError("\(arch).rope.scaling.type is '\(scaling)'; Hearth does not implement rope scaling yet")
        }
        if let factor = file.double("\(arch).rope.scaling.factor"), factor != 1 {
            throw EngineError("\(arch).rope.scaling.factor is \(factor); Hearth does not implement rope scaling yet")
        }
        if file.tensor("rope_freqs.weight") != nil {
            throw EngineError("the model has 'rope_freqs.weight' (Llama 3.1-style rope frequencies); Hearth does not implement it yet")
        }
        if let ropeDims = file.int("\(arch).rope.dimension_count"), ropeDims != headDim {
            throw EngineError("\(arch).rope.dimension_count is \(ropeDims) but the head dimension is \(headDim); partial rope is not implemented yet")
        }
        guard nHeads % nKVHeads == 0 else {
            throw EngineError("\(arch).attention.head_count (\(nHeads)) is not a multiple of head_count_kv (\(nKVHeads))")
        }
        guard headDim % 2 == 0 else { throw EngineError("head dimension \(headDim) is odd; rope needs pairs") }
        guard let embd = file.tensor("token_embd.weight"), embd.shape.count == 2 else {
            throw EngineError("the model has no 2-dimensional tensor 'token_embd.weight'")
        }
        return ModelShape(dim: dim, nLayers: try int("block_count"), nHeads: nHeads, nKVHeads: nKVHeads,
                          headDim: headDim, ffDim: try int("feed_forward_length"), vocab: embd.shape[1],
                          trainedContext: try int("context_length", default: 2048))
    }
}
