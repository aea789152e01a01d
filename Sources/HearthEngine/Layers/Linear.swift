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

    /// Wraps tensor `name`, checking it has ggml shape (inputs, outputs).
    init(_ file: GGUFFile, _ name: String, inputs: Int, outputs: Int, bias biasName: String? = nil) throws(EngineError) {
        let info = try requireTensor(file, name, shape: [inputs, outputs])
        data = file.data(of: info).baseAddress!
        type = info.type
        self.inputs = inputs
        self.outputs = outputs
        rowBytes = info.byteCount / outputs
        if let biasName {
            bias = try loadFloats(file, biasName, shape: [outputs])
        } else {
            bias = nil
        }
    }

    /// Bytes one input row takes in the partner format.
    var partnerRowBytes: Int { type.traits.dotPartner.traits.bytes(forElements: inputs)! }

    /// out[t][r] = sum_i W[r][i] * x[t][i] (+ bias[r]) for t < n.
    /// x: (n, inputs), out: (n, outputs), scratch: at least n * partnerRowBytes bytes.
    func forward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, n: Int,
                 scratch: UnsafeMutableRawPointer, threads: Int) {
        let partner = type.traits.dotPartner.traits
        let pBytes = partnerRowBytes
        let quantize = partner.quantize!
        parallelRanges(n, threads: threads, minimumPerThread: 4) { t0, t1 in
            for t in t0..<t1 { quantize(x + t * inputs, scratch + t * pBytes, inputs) }
        }
        let dot = type.traits.dot
        let w = data, rb = rowBytes, outs = outputs, ins = inputs
        let scratchIn = UnsafeRawPointer(scratch)
        // Split by weight rows: each thread streams its rows once and reuses them for every token.
        parallelRanges(outputs, threads: threads, minimumPerThread: 16) { r0, r1 in
            for r in r0..<r1 {
                let row = w + r * rb
                for t in 0..<n { out[t * outs + r] = dot(row, scratchIn + t * pBytes, ins) }
            }
        }
        if let bias {
            for t in 0..<n { for r in 0..<outputs { out[t * outputs + r] += bias[r] } }
        }
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
