#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The file-system steps the store's atomic writes are made of.
enum StoreFiles {
    static func errnoText() -> String { String(cString: strerror(errno)) }

    static func makeDirectories(_ path: String) throws(HubError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw HubError("cannot create the folder '\(path)': \(error.localizedDescription)")
        }
    }

    /// Flushes a folder's entries (a rename in it) to disk.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Writes `data` to `path` atomically: a temporary file beside it, fsync, rename, fsync of
    /// the folder. A kill at any moment leaves either the old file or the new one.
    static func writeAtomically(_ data: Data, to path: String) throws(HubError) {
        let folder = (path as NSString).deletingLastPathComponent
        try makeDirectories(folder)
        let temporary = (folder as NSString).appendingPathComponent(".tmp-\(UUID().uuidString)")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HubError("cannot write '\(temporary)': \(errnoText())") }
        var ok = data.withUnsafeBytes { writeAll(fd, $0) }
        ok = ok && fsync(fd) == 0
        let problem = ok ? nil : errnoText()
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let text = problem ?? errnoText()
            unlink(temporary)
            throw HubError("cannot write '\(path)': \(text)")
        }
        syncDirectory(folder)
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 { if errno == EINTR { continue }; return false }
            done += n
        }
        return true
    }

    static func fileSize(_ path: String) -> Int? {
        var s = stat()
        guard stat(path, &s) == 0, (s.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(s.st_size)
    }

    static func modified(_ path: String) -> Date? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return Date(timeIntervalSince1970: Double(s.st_mtim.tv_sec) + Double(s.st_mtim.tv_nsec) / 1e9)
    }

    static func read(_ path: String) throws(HubError) -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw HubError("cannot read '\(path)': \(error.localizedDescription)")
        }
    }
}

/// An advisory lock on a folder, across processes (`flock` on `ROOT/.lock`): the store's, and
/// the hub's reproductions'.
///
/// Writers that add blobs and manifests hold it shared, so several imports and pulls run at
/// once; removing a model and collecting garbage hold it exclusive, so a blob is never pruned
/// between being written and being referenced by the manifest that follows it.
public final class StoreLock {
    public enum Kind: Sendable { case shared, exclusive }
    private let fd: Int32

    /// Takes the lock, calling `waiting` first if another process holds it.
    public init(root: String, _ kind: Kind, waiting: () -> Void) throws(HubError) {
        try StoreFiles.makeDirectories(root)
        let path = (root as NSString).appendingPathComponent(".lock")
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HubError("cannot open the store's lock file '\(path)': \(StoreFiles.errnoText())") }
        let operation = kind == .shared ? LOCK_SH : LOCK_EX
        if flock(fd, operation | LOCK_NB) != 0 {
            waiting()
            while flock(fd, operation) != 0 {
                guard errno == EINTR else {
                    let text = StoreFiles.errnoText()
                    close(fd)
                    throw HubError("cannot lock the store: \(text)")
                }
            }
        }
    }

    deinit { close(fd) }  // closing releases the lock
}
