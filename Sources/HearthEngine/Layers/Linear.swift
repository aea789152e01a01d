import HearthGGUF
import HearthKernels

/// A weight matrix kept in its file format, memory-mapped: `outputs` rows of `inputs` elements.
/// y = W x is computed row by row as dot products of the weight rows with the activations
/// converted to the format's 8-bit partner (ggml's vec_dot_type).
struct Linear {
    let data: UnsafeRawPointer
    let type: TensorType
    let inputs: Int
    let outputs: Int
    let rowBytes: Int
    let bias: [Float]?
    /// The matrix product of this format on each kernel path, indexed by `KernelPath.index`.
    let products: [MatrixProduct]

    /// Wraps tensor `name`, checking it has ggml shape (inputs, outputs).
    init(_ file: GGUFFile, _ name: String, inputs: Int, outputs: Int, bias biasName: String? = nil) throws(EngineError) {
        let info = try requireTensor(file, name, shape: [inputs, outputs])
        data = file.data(of: info).baseAddress!
        type = info.type
        self.inputs = inputs
        self.outputs = outputs
        rowBytes = info.byteCount / outputs
        let type = info.type
        let (data, rows, ins, rb) = (self.data, outputs, inputs, rowBytes)
        products = KernelPath.allCases.map {
            MatrixProduct(weights: data, type: type, rows: rows, k: ins, rowBytes: rb, path: $0, fileMapped: true)
        }
        if let biasName {
            bias = try loadFloats(file, biasName, shape: [outputs])
        } else {
            bias = nil
        }
    }

    /// Bytes one input row takes in the partner format.
    var partnerRowBytes: Int { type.traits.dotPartner.traits.bytes(forElements: inputs)! }

    /// out[t][r] = sum_i W[r][i] * x[t][i] (+ bias[r]) for t < n.
    /// x: (n, inputs), out: (n, outputs). The activations are quantized into `w.quantized`,
    /// then the workspace's kernel path multiplies; threads split the weight rows, so each
    /// thread streams its rows once and reuses them for every token.
    func forward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, n: Int, workspace w: Workspace) {
        quantizeInput(x, n: n, workspace: w)
        let tiles = RowTiles(self, out, after: nil, nil, x: w.quantized, cols: n, workspace: w)
        parallelRanges(tiles.count, threads: w.threads, minimumPerThread: 2, tiles)
        addBias(out, n: n)
    }

    /// out_i = W_i x for two or three matrices that read the same input (q, k, v; gate, up):
    /// the input is quantized once and the rows of all of them are shared out in one parallel
    /// step, one wait instead of three. Falls back to one `forward` each when the matrices
    /// want different activation formats.
    static func forward(_ x: UnsafePointer<Float>, n: Int, workspace w: Workspace,
                        _ a: (Linear, UnsafeMutablePointer<Float>), _ b: (Linear, UnsafeMutablePointer<Float>),
                        _ c: (Linear, UnsafeMutablePointer<Float>)? = nil) {
        func sharesInput(_ l: Linear) -> Bool {
            l.type.traits.dotPartner == a.0.type.traits.dotPartner && l.inputs == a.0.inputs
        }
        guard sharesInput(b.0), c.map({ sharesInput($0.0) }) ?? true else {
            a.0.forward(x, a.1, n: n, workspace: w)
            b.0.forward(x, b.1, n: n, workspace: w)
            if let c { c.0.forward(x, c.1, n: n, workspace: w) }
            return
        }
        a.0.quantizeInput(x, n: n, workspace: w)
        let first = RowTiles(a.0, a.1, after: nil, nil, x: w.quantized, cols: n, workspace: w)
        let second = RowTiles(b.0, b.1, after: first, nil, x: w.quantized, cols: n, workspace: w)
        let tiles = c.map { RowTiles($0.0, $0.1, after: first, second, x: w.quantized, cols: n, workspace: w) } ?? second
        parallelRanges(tiles.count, threads: w.threads, minimumPerThread: 2, tiles)
        a.0.addBias(a.1, n: n)
        b.0.addBias(b.1, n: n)
        if let c { c.0.addBias(c.1, n: n) }
    }

    /// The n rows of x in the partner format, into `w.quantized` (`partnerRowBytes` apart).
    func quantizeInput(_ x: UnsafePointer<Float>, n: Int, workspace w: Workspace) {
        let work = QuantizeRows(quantize: w.kernels.quantizer(for: type.traits.dotPartner)!, x: x, inputs: inputs,
                                out: w.quantized, outStride: partnerRowBytes)
        parallelRanges(n, threads: w.threads, minimumPerThread: 4, work)
    }

    func addBias(_ out: UnsafeMutablePointer<Float>, n: Int) {
        guard let bias else { return }
        for t in 0..<n { for r in 0..<outputs { out[t * outputs + r] += bias[r] } }
    }
}

/// One parallel step over the weight rows of up to three matrix products that read the same
/// quantized input. Rows are handed out in tiles of the kernel's height; the tiles of all the
/// products are numbered in one range, so one step (one wait) covers them all. Built by
/// chaining: each product's tiles follow those of the ones given as `after`.
struct RowTiles: RangeWork {
    struct Part {
        let product: MatrixProduct
        let out: UnsafeMutablePointer<Float>
        let outputs: Int
        /// This product's tiles in the shared numbering.
        let tiles: Range<Int>
    }
    let parts: (Part, Part?, Part?)
    let x: UnsafeRawPointer, xStride: Int, cols: Int

    /// The tiles of `linear` (into `out`), numbered after those of `first` and `second`.
    init(_ linear: Linear, _ out: UnsafeMutablePointer<Float>, after first: RowTiles?, _ second: RowTiles?,
         x: UnsafeRawPointer, cols: Int, workspace w: Workspace) {
        let product = linear.products[w.kernels.index]
        product.prepare()
        let start = (second ?? first)?.count ?? 0
        let part = Part(product: product, out: out, outputs: linear.outputs,
                        tiles: start ..< start + (linear.outputs + product.rowGranule - 1) / product.rowGranule)
        switch (first, second) {
        case (nil, _): parts = (part, nil, nil)
        case (let f?, nil): parts = (f.parts.0, part, nil)
        case (let f?, let s?): parts = (f.parts.0, s.parts.1, part)
        }
        self.x = x
        xStride = linear.partnerRowBytes
        self.cols = cols
    }

    /// The number of tiles of all the products.
    var count: Int { (parts.2 ?? parts.1 ?? parts.0).tiles.upperBound }

    func callAsFunction(_ start: Int, _ end: Int) {
        multiply(parts.0, start, end)
        if let p = parts.1 { multiply(p, start, end) }
        if let p = parts.2 { multiply(p, start, end) }
    }

    private func multiply(_ p: Part, _ start: Int, _ end: Int) {
        let lo = max(start, p.tiles.lowerBound) - p.tiles.lowerBound
        let hi = min(end, p.tiles.upperBound) - p.tiles.lowerBound
        guard lo < hi else { return }
        let g = p.product.rowGranule
        p.product(rows: lo * g, min(p.outputs, hi * g), x: x, xStride: xStride, cols: cols, y: p.out, yStride: p.outputs)
    }
}

/// Rows of activations quantized to a matrix's partner format, a range of rows per call.
struct QuantizeRows: RangeWork {
    let quantize: FormatTraits.Quantize
    let x: UnsafePointer<Float>, inputs: Int
    let out: UnsafeMutableRawPointer, outStride: Int

    func callAsFunction(_ start: Int, _ end: Int) {
        for t in start ..< end { quantize(x + t * inputs, out + t * outStride, inputs) }
    }
}

/// The tensor called `name`, checked to have exactly `shape` (ggml order).
func requireTensor(_ file: GGUFFile, _ name: String, shape: [Int]) throws(EngineError) -> GGUFTensorInfo {
    guard let info = file.tensor(name) else {
        throw EngineError("the model has no tensor '\(name)' (expected shape \(shape))")
    }
    // ggml drops trailing 1s of a shape: compare with them stripped.
    func trimmed(_ s: [Int]) -> [Int] { var s = s; while s.count > 1 && s.last == 1 { s.removeLast() }; return s }
    guard trimmed(info.shape) == trimmed(shape) else {
        throw EngineError("tensor '\(name)' has shape \(info.shape); expected \(shape)")
    }
    return info
}

/// A small tensor (norm weights, biases) dequantized to floats once at load.
func loadFloats(_ file: GGUFFile, _ name: String, shape: [Int]) throws(EngineError) -> [Float] {
    let info = try requireTensor(file, name, shape: shape)
    let bytes = file.data(of: info)
    return [Float](unsafeUninitializedCapacity: info.elementCount) { buf, count in
        info.type.traits.dequantize(bytes.baseAddress!, buf.baseAddress!, info.elementCount)
        count = info.elementCount
    }
}
