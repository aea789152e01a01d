import HearthSIMD
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The product of one weight matrix with quantized activations on one kernel path:
/// y[c * yStride + r] = dot(row r, column c of x) for the rows asked and c < cols.
///
/// Rows hold `k` elements in the weight format, `rowBytes` apart in the (memory-mapped) file;
/// activation columns hold `k` elements in the format's `dotPartner`, `xStride` bytes apart.
/// Where the path has a kernel for an 8-row interleaved layout of the format (see
/// HearthSIMD/repack.c), the rows are rewritten into that layout on first use; when the rows
/// are a read-only file mapping (`fileMapped`), their pages are then handed back to the
/// operating system, so resident memory stays one copy.
public final class MatrixProduct: @unchecked Sendable {
    public let type: TensorType
    /// The path whose code runs: the requested one, or `portable` where the requested path has
    /// no kernel for this format (`hasFastKernel` says which).
    public let path: KernelPath
    public let rows: Int
    public let k: Int
    private let weights: UnsafeRawPointer
    private let rowBytes: Int
    private let rowKernel: hearth_matmul_fn?
    private let packedKernel: hearth_matmul_fn?
    private let groupBytes: Int
    private let fileMapped: Bool
    private let dot: FormatTraits.Dot
    /// The interleaved copy once made (0 before): read without a lock on every call.
    private let packedAddress = Atomic<Int>(0)
    private let packing = Mutex<Void>(())

    /// - fileMapped: the weights are a read-only file mapping, whose pages may be dropped after
    ///   repacking (never pass true for memory the process wrote: dropping it loses it).
    public init(weights: UnsafeRawPointer, type: TensorType, rows: Int, k: Int, rowBytes: Int, path: KernelPath,
                fileMapped: Bool = false) {
        self.type = type
        self.fileMapped = fileMapped
        self.rows = rows
        self.k = k
        self.weights = weights
        self.rowBytes = rowBytes
        dot = type.traits.dot
        let ggml = Int32(type.rawValue)
        let group = hearth_simd_repacked_group_bytes(ggml, k)
        if let code = path.simdCode, rows % 8 == 0, group > 0, let fn = hearth_simd_repacked_matmul(code, ggml) {
            packedKernel = fn
            groupBytes = group
        } else {
            packedKernel = nil
            groupBytes = 0
        }
        // Every row kernel steps at least 8 elements at a time (the float formats exactly 8;
        // quantized rows are whole blocks of 32 or 256).
        rowKernel = k % 8 == 0 ? path.simdCode.flatMap { hearth_simd_matmul($0, ggml) } : nil
        self.path = (packedKernel != nil || rowKernel != nil) ? path : .portable
    }

    deinit { UnsafeMutableRawPointer(bitPattern: packedAddress.load(ordering: .acquiring))?.deallocate() }

    public var hasFastKernel: Bool { path != .portable }

    /// Rows are handed to threads in multiples of this (the kernel's tile height).
    public var rowGranule: Int { packedKernel != nil ? 8 : 4 }

    /// Computes rows r0..<r1 (r0 and r1 multiples of `rowGranule`, or r1 == rows) for `cols`
    /// activation columns.
    public func callAsFunction(rows r0: Int, _ r1: Int, x: UnsafeRawPointer, xStride: Int,
                               cols: Int, y: UnsafeMutablePointer<Float>, yStride: Int) {
        if let packedKernel, let base = packedWeights() {
            packedKernel(base + (r0 / 8) * groupBytes, groupBytes, x, xStride, y + r0, yStride, r1 - r0, cols, k)
        } else if let rowKernel {
            rowKernel(weights + r0 * rowBytes, rowBytes, x, xStride, y + r0, yStride, r1 - r0, cols, k)
        } else {
            // The portable path: the reference dot product, row by row.
            for r in r0..<r1 {
                let row = weights + r * rowBytes
                for c in 0..<cols { y[c * yStride + r] = dot(row, x + c * xStride, k) }
            }
        }
    }

    /// Copies row `r` in the weight format's own block layout to `dst` (`rowBytes` bytes), from
    /// the interleaved copy once there is one, so that reading a row (an embedding lookup)
    /// does not bring the released file pages back.
    public func copyRow(_ r: Int, to dst: UnsafeMutableRawPointer) {
        if packedKernel != nil, let base = UnsafeRawPointer(bitPattern: packedAddress.load(ordering: .acquiring)),
           hearth_simd_unpack_row(Int32(type.rawValue), base + (r / 8) * groupBytes, r % 8, k, dst) != 0 {
            return
        }
        dst.copyMemory(from: weights + r * rowBytes, byteCount: rowBytes)
    }

    /// Rewrites the rows into the interleaved layout now rather than on first use (call it
    /// before spreading work over threads, so that they do not wait on each other).
    public func prepare() { if packedKernel != nil { _ = packedWeights() } }

    private func packedWeights() -> UnsafeRawPointer? {
        if let p = UnsafeRawPointer(bitPattern: packedAddress.load(ordering: .acquiring)) { return p }
        return packing.withLock { _ -> UnsafeRawPointer? in
            if let p = UnsafeRawPointer(bitPattern: packedAddress.load(ordering: .acquiring)) { return p }
            let bytes = (rows / 8) * groupBytes
            let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            // In slices, handing each slice's file pages back as soon as it is copied, so that
            // the two copies of a large matrix (an output head) are never resident together.
            let ggml = Int32(type.rawValue), sliceRows = 256
            var r = 0
            var released = fileMapped ? PageRelease(start: weights) : nil
            while r < rows {
                let n = min(sliceRows, rows - r)
                guard hearth_simd_repack(ggml, weights + r * rowBytes, rowBytes, dst + (r / 8) * groupBytes, n, k) != 0 else {
                    dst.deallocate()
                    return nil
                }
                r += n
                released?.release(upTo: weights + r * rowBytes)
            }
            if fileMapped { PageRelease.markRandomAccess(weights, byteCount: rows * rowBytes) }
            packedAddress.store(Int(bitPattern: dst), ordering: .releasing)
            return UnsafeRawPointer(dst)
        }
    }
}

/// Hands the pages of a read-only file mapping back to the OS as a sweep over it advances:
/// the whole pages between `start` and the sweep's position leave this process's resident
/// memory (they are read back from the page cache if touched again).
private struct PageRelease {
    private static let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Released up to here (page-aligned).
    private var done: Int

    init(start: UnsafeRawPointer) {
        done = (Int(bitPattern: start) + Self.page - 1) / Self.page * Self.page
    }

    /// Asks the OS to map single pages on later faults in [start, end) rather than the
    /// neighbourhood it maps by default (fault-around): reading one row of a released matrix
    /// (an embedding lookup) then brings back one page, not 64 KiB.
    static func markRandomAccess(_ start: UnsafeRawPointer, byteCount: Int) {
        let first = Int(bitPattern: start) / page * page
        let end = (Int(bitPattern: start) + byteCount + page - 1) / page * page
        guard let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(p, end - first, Int32(MADV_RANDOM))
    }

    mutating func release(upTo end: UnsafeRawPointer) {
        let last = Int(bitPattern: end) / Self.page * Self.page
        guard last > done, let p = UnsafeMutableRawPointer(bitPattern: done) else { return }
        _ = madvise(p, last - done, Int32(MADV_DONTNEED))
        done = last
    }
}
