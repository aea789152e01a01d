/// RMSNorm in place over `n` rows of `dim`: x = x / sqrt(mean(x^2) + eps) * weight.
func rmsNorm(_ x: UnsafeMutablePointer<Float>, weight: [Float], dim: Int, n: Int, eps: Float) {
    rmsNorm(x, to: x, weight: weight, dim: dim, n: n, eps: eps)
}

/// RMSNorm from `x` into `out` over `n` rows of `dim` (out may equal x).
func rmsNorm(_ x: UnsafePointer<Float>, to out: UnsafeMutablePointer<Float>, weight: [Float], dim: Int, n: Int, eps: Float) {
    for t in 0..<n {
        let row = x + t * dim, o = out + t * dim
        var ss: Float = 0
        for i in 0..<dim { ss += row[i] * row[i] }
        let scale = 1 / (ss / Float(dim) + eps).squareRoot()
        for i in 0..<dim { o[i] = row[i] * scale * weight[i] }
    }
}
