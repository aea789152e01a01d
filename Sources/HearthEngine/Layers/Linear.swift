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
        let product = products[w.kernels.index]
        product.prepare()
        let outs = outputs, granule = product.rowGranule
        // Rows are handed out in multiples of the kernel's tile height.
        let tiles = (outputs + granule - 1) / granule
        parallelRanges(tiles, threads: w.threads, minimumPerThread: 2) { t0, t1 in
            product(rows: t0 * granule, min(outs, t1 * granule), x: w.quantized, xStride: partnerRowBytes, cols: n, y: out, yStride: outs)
        }
        addBias(out, n: n)
    }

    /// out_i = W_i x for two or three matrices that read the same input (q, k, v; gate, up):
    /// the input is quantized once and the rows of all of them are shared out in one parallel
    /// step, one wait instead of three. Falls back to one `forward` each when the matrices
    /// want different activation formats.
    static func forward(_ x: UnsafePointer<Float>, n: Int, workspace w: Workspace,
                        _ a: (Linear, UnsafeMutablePointer<Float>), _ b: (Linear, UnsafeMutablePointer<Float>),
                        _ c: (Linear, UnsafeMutablePointer<Float>)? = nil) {
        let count = c == nil ? 2 : 3
        func part(_ i: Int) -> (Linear, UnsafeMutablePointer<Float>) { i == 0 ? a : i == 1 ? b : c! }
        let partner = a.0.type.traits.dotPartner
        guard (1..<count).allSatisfy({ part($0).0.type.traits.dotPartner == partner && part($0).0.inputs == a.0.inputs }) else {
            for i in 0..<count { part(i).0.forward(x, part(i).1, n: n, workspace: w) }
            return
        }
        a.0.quantizeInput(x, n: n, workspace: w)
        // Tiles of matrix i are numbered first[i]..<first[i + 1] in one shared range.
        var first = (0, 0, 0, 0)
        for i in 0..<count {
            let (linear, _) = part(i)
            let product = linear.products[w.kernels.index]
            product.prepare()
            let tiles = (linear.outputs + product.rowGranule - 1) / product.rowGranule
            switch i { case 0: first.1 = tiles; case 1: first.2 = first.1 + tiles; default: first.3 = first.2 + tiles }
        }
        let bounds = first
        func bound(_ i: Int) -> Int { i == 0 ? bounds.0 : i == 1 ? bounds.1 : i == 2 ? bounds.2 : bounds.3 }
        let total = bound(count), stride = a.0.partnerRowBytes
        parallelRanges(total, threads: w.threads, minimumPerThread: 2) { t0, t1 in
            for i in 0..<count where t0 < bound(i + 1) && t1 > bound(i) {
                let (linear, out) = part(i)
                let product = linear.products[w.kernels.index], g = product.rowGranule
                let lo = max(t0, bound(i)) - bound(i), hi = min(t1, bound(i + 1)) - bound(i)
                product(rows: lo * g, min(linear.outputs, hi * g), x: w.quantized, xStride: stride, cols: n, y: out, yStride: linear.outputs)
            }
        }
        for i in 0..<count { part(i).0.addBias(part(i).1, n: n) }
    }

    /// The n rows of x in the partner format, into `w.quantized` (`partnerRowBytes` apart).
    func quantizeInput(_ x: UnsafePointer<Float>, n: Int, workspace w: Workspace) {
        let pBytes = partnerRowBytes
        let quantize = w.kernels.quantizer(for: type.traits.dotPartner)!
        let scratch = w.quantized, ins = inputs
        parallelRanges(n, threads: w.threads, minimumPerThread: 4) { t0, t1 in
            for t in t0..<t1 { quantize(x + t * ins, scratch + t * pBytes, ins) }
        }
    }

    func addBias(_ out: UnsafeMutablePointer<Float>, n: Int) {
        guard let bias else { return }
        for t in 0..<n { for r in 0..<outputs { out[t * outputs + r] += bias[r] } }
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
