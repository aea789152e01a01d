import HearthSIMD

/// An instruction-set path for the quantized matrix products. `portable` is the Swift reference
/// code, correct on every CPU; the others are the hand-vectorised kernels of the HearthSIMD
/// target, usable only where the CPU has the instructions.
public enum KernelPath: String, Sendable, CaseIterable, CustomStringConvertible {
    case portable
    case avx2
    case avx512vnni

    public var description: String { rawValue }

    /// Whether this CPU (and operating system) can run the path.
    public var isSupported: Bool {
        switch self {
        case .portable: return true
        case .avx2: return hearth_simd_supported(Int32(HEARTH_SIMD_AVX2)) != 0
        case .avx512vnni: return hearth_simd_supported(Int32(HEARTH_SIMD_AVX512VNNI)) != 0
        }
    }

    /// The paths this machine can run, slowest first.
    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }

    /// The fastest path this machine can run.
    public static let best: KernelPath = supported.last!

    /// The path named by the environment variable `HEARTH_KERNELS` (portable, avx2, avx512vnni),
    /// or `best` when it is unset. An unknown or unsupported name is an error, never a quiet
    /// fallback.
    public static func fromEnvironment(_ value: String?) throws(KernelPathError) -> KernelPath {
        guard let value, !value.isEmpty else { return best }
        guard let path = KernelPath(rawValue: value.lowercased()) else {
            throw KernelPathError("HEARTH_KERNELS=\(value) is not a kernel path; use one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard path.isSupported else {
            throw KernelPathError("HEARTH_KERNELS=\(value): this CPU cannot run the \(path) kernels; it supports \(supported.map(\.rawValue).joined(separator: ", "))")
        }
        return path
    }

    /// The quantizer of activation format `type` on this path: the vector one where the path has
    /// it (same bytes as the reference), else the reference quantizer (nil where none exists).
    public func quantizer(for type: TensorType) -> FormatTraits.Quantize? {
        guard self != .portable else { return type.traits.quantize }
        switch type {
        case .q8_0: return { hearth_quantize_q8_0($0, $1, $2) }
        case .q8_1: return { hearth_quantize_q8_1($0, $1, $2) }
        case .q8_K: return { hearth_quantize_q8_K($0, $1, $2) }
        case .f16: return { hearth_quantize_f16($0, $1, $2) }
        default: return type.traits.quantize
        }
    }

    /// Position in `allCases`, for tables indexed by path.
    public var index: Int { KernelPath.allCases.firstIndex(of: self)! }

    var simdCode: Int32? {
        switch self {
        case .portable: return nil
        case .avx2: return Int32(HEARTH_SIMD_AVX2)
        case .avx512vnni: return Int32(HEARTH_SIMD_AVX512VNNI)
        }
    }
}

public struct KernelPathError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ message: String) { description = message }
}
