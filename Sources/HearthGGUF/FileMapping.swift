#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only; unmapped when the last reference goes.
final class FileMapping: @unchecked Sendable {
    let base: UnsafeRawPointer
    let count: Int

    /// Maps the open file `fd` of `count` bytes; nil with `errno` set when mmap fails.
    init?(fd: Int32, count: Int) {
        guard let m = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else { return nil }
        base = UnsafeRawPointer(m)
        self.count = count
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), count) }

    /// Hands the whole pages inside `offset ..< offset + count` back to the OS, for bytes that
    /// have been copied out and will not be read again soon. They stay readable: touching them
    /// again reads them back from the page cache.
    func releasePages(offset: Int, count length: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard offset >= 0, length > 0, offset + length <= count else { return }
        let first = (offset + page - 1) / page * page, end = (offset + length) / page * page
        guard end > first else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base) + first, end - first, Int32(MADV_DONTNEED))
    }
}
