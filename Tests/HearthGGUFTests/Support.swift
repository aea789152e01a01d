import Foundation
import HearthGGUF
import HearthKernels
import HearthTestSupport
/// The Golden/ folder of this test target (see Golden/README.md).
enum Golden {
    static func url(_ name: String) throws -> URL {
        guard let dir = Bundle.module.url(forResource: "Golden", withExtension: nil) else {
            throw GGUFError("Golden/ is not in the test bundle")
        }
        return dir.appendingPathComponent(name)
    }
}

/// Opens `bytes` as a GGUF file through a temporary file (the reader maps files, not memory).
func withGGUF<T>(_ bytes: [UInt8], _ body: (GGUFFile) throws -> T) throws -> T {
    let dir = try TemporaryDirectory(prefix: "hearth-gguf")
    let path = try dir.write(bytes, to: "t.gguf")
    return try body(try GGUFFile(path: path))
}

/// The message of the GGUFError that opening `bytes` throws, or nil when it opens.
func openError(_ bytes: [UInt8]) throws -> String? {
    let dir = try TemporaryDirectory(prefix: "hearth-gguf")
    let path = try dir.write(bytes, to: "t.gguf")
    do {
        _ = try GGUFFile(path: path)
        return nil
    } catch {
        return error.message
    }
}

extension Array where Element == UInt8 {
    mutating func put<T: FixedWidthInteger>(_ v: T, at offset: Int) {
        var le = v  // low byte first: little-endian on any host
        for i in 0..<MemoryLayout<T>.size {
            self[offset + i] = UInt8(truncatingIfNeeded: le)
            le = le >> 8
        }
    }

    func get<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var v: T = 0
        for i in (0..<MemoryLayout<T>.size).reversed() { v = (v << 8) | T(self[offset + i]) }
        return v
    }

    /// The offset of the first occurrence of `needle`, if any.
    func find(_ needle: [UInt8]) -> Int? {
        guard needle.count <= count else { return nil }
        return (0...(count - needle.count)).first { i in self[i..<(i + needle.count)].elementsEqual(needle) }
    }
}

/// A float-aware comparison of metadata values: floats by bit pattern (so -0 is not 0 and NaN
/// equals itself), everything else with ==.
func sameValue(_ a: GGUFValue, _ b: GGUFValue) -> Bool {
    switch (a, b) {
    case let (.float32(x), .float32(y)): return x.bitPattern == y.bitPattern
    case let (.float64(x), .float64(y)): return x.bitPattern == y.bitPattern
    case let (.array(ta, xs), .array(tb, ys)):
        return ta == tb && xs.count == ys.count && zip(xs, ys).allSatisfy { sameValue($0, $1) }
    default: return a == b
    }
}
