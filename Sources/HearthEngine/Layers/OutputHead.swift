import HearthGGUF

/// The output head: `output.weight`, or the token embedding when the model ties them.
func outputHead(_ file: GGUFFile, embedding: Embedding, shape s: ModelShape) throws(EngineError) -> Linear {
    file.tensor("output.weight") != nil
        ? try Linear(file, "output.weight", inputs: s.dim, outputs: s.vocab)
        : embedding.table
}

/// logits = head(rmsnorm(x)) for the last row of x (n, dim) or for all of them; for `.hidden`,
/// rmsnorm(x) itself into `out` (n, dim).
func logits(of x: UnsafeMutablePointer<Float>, n: Int, rows: LogitRows, norm: [Float], eps: Float,
            head: Linear, into out: UnsafeMutablePointer<Float>, workspace w: Workspace) {
    let dim = head.inputs
    if rows == .hidden {
        rmsNorm(x, to: out, weight: norm, dim: dim, n: n, eps: eps)
        return
    }
    let first = rows == .last ? n - 1 : 0
    rmsNorm(x + first * dim, to: w.xNorm, weight: norm, dim: dim, n: n - first, eps: eps)
    head.forward(w.xNorm, out, n: n - first, workspace: w)
}
