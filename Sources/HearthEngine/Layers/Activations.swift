import Foundation

/// SiLU-gated linear unit in place: gate = silu(gate) * up, silu(x) = x / (1 + e^-x).
func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = gate[i]
        gate[i] = g / (1 + expf(-g)) * up[i]
    }
}

/// GELU-gated linear unit in place with the tanh approximation that Gemma uses:
/// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
func geglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
    let c: Float = 0.7978845608028654  // sqrt(2 / pi)
    for i in 0..<count {
        let x = gate[i]
        gate[i] = 0.5 * x * (1 + tanhf(c * (x + 0.044715 * x * x * x))) * up[i]
    }
}
