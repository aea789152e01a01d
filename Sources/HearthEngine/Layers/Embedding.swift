import HearthGGUF
import HearthKernels

/// The token embedding table kept in its file format: row `id` is the vector of token `id`.
/// ggml shape (dim, vocab). The same tensor serves as the output head when the model ties them.
struct Embedding {
    let table: Linear

    init(_ file: GGUFFile, _ name: String, dim: Int, vocab: Int) throws(EngineError) {
        table = try Linear(file, name, inputs: dim, outputs: vocab)
    }

    /// Writes the vectors of `tokens` into out: (tokens.count, dim), times `scale`. Rows are
    /// read through the workspace's kernel path (which may hold the table repacked).
    func lookup(_ tokens: ArraySlice<Int32>, into out: UnsafeMutablePointer<Float>, scale: Float = 1, workspace w: Workspace) {
        let dim = table.inputs
        let product = table.products[w.kernels.index]
        withUnsafeTemporaryAllocation(byteCount: table.rowBytes, alignment: 16) { row in
            for (t, id) in tokens.enumerated() {
                product.copyRow(Int(id), to: row.baseAddress!)
                table.type.traits.dequantize(UnsafeRawPointer(row.baseAddress!), out + t * dim, dim)
                if scale != 1 { for i in 0..<dim { out[t * dim + i] *= scale } }
            }
        }
    }
}
