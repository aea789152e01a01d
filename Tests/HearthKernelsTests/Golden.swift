import Foundation
import HearthKernels

// The golden files in Golden/ are made by scripts/make-kernel-goldens.py from the PyPI `gguf`
// package (llama.cpp's gguf-py); Golden/README.md names the versions and the command.

struct DequantGolden: Decodable {
    struct Case: Decodable {
        let type: String
        let oracle: String
        let elements: Int
        /// Raw blocks, base64.
        let data: String
        /// Little-endian f32 values, base64.
        let expected: String
    }
    let ggufVersion: String
    let cases: [Case]
}

struct QuantizeGolden: Decodable {
    struct Case: Decodable {
        let type: String
        let rows: Int
        let columns: Int
        /// Little-endian f32 activations, base64.
        let input: String
        /// The bytes gguf-py's quantizer made, base64.
        let expected: String
    }
    struct Ties: Decodable {
        let input: [Float]
        let expectedGgufPy: [Int]
        let expectedHalfToEven: [Int]
    }
    let ggufVersion: String
    let cases: [Case]
    let ties: Ties
}

enum Golden {
    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        guard let dir = Bundle.module.url(forResource: "Golden", withExtension: nil) else {
            throw GoldenError("Golden/ is not in the test bundle")
        }
        let data = try Data(contentsOf: dir.appendingPathComponent(name))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: data)
    }

    static let dequant: Result<DequantGolden, any Error> = Result { try load("dequant.json", as: DequantGolden.self) }
    static let quantize: Result<QuantizeGolden, any Error> = Result { try load("quantize.json", as: QuantizeGolden.self) }
    static let weightQuantize: Result<WeightQuantizeGolden, any Error> = Result { try load("weight-quantize.json", as: WeightQuantizeGolden.self) }

    static func bytes(_ base64: String) throws -> [UInt8] {
        guard let d = Data(base64Encoded: base64) else { throw GoldenError("bad base64 in a golden file") }
        return [UInt8](d)
    }

    static func floats(_ base64: String) throws -> [Float] {
        let b = try bytes(base64)
        return stride(from: 0, to: b.count, by: 4).map { i in
            Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
        }
    }
}

/// weight-quantize.json: one input, and the bytes gguf-py's quantizer makes of it per format.
struct WeightQuantizeGolden: Decodable {
    struct Case: Decodable { let type: String; let rows: Int; let columns: Int; let expected: String }
    let ggufVersion: String
    let input: String
    let cases: [Case]
}

struct GoldenError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
