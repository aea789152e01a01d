#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A blob being written into a store: bytes go to a temporary file in the blob folder while
/// their digest is computed; `commit` checks the digest (against the one expected, if given),
/// flushes the file and renames it to its content address. A writer dropped without `commit`
/// removes its file, so a failed or refused write leaves nothing behind.
public final class BlobWriter {
    let store: ModelStore
    public let temporaryPath: String
    private var fd: Int32
    private var digest = StreamingDigest()
    private var committed = false

    init(store: ModelStore, temporaryPath: String) throws(HubError) {
        self.store = store
        self.temporaryPath = temporaryPath
        try StoreFiles.makeDirectories(store.blobsDirectory)
        fd = open(temporaryPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HubError("cannot write '\(temporaryPath)': \(StoreFiles.errnoText())") }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporaryPath) }
    }

    /// Bytes written so far.
    public var byteCount: Int { digest.byteCount }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(HubError) {
        guard StoreFiles.writeAll(fd, bytes) else {
            throw HubError("cannot write '\(temporaryPath)': \(StoreFiles.errnoText())")
        }
        digest.update(bytes)
    }

    public func write(_ data: Data) throws(HubError) {
        var failure: HubError?
        data.withUnsafeBytes { bytes in
            do throws(HubError) { try write(bytes) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Checks the digest and size, then moves the file to its address. Returns the blob.
    @discardableResult
    public func commit(expecting expected: Digest? = nil, size expectedSize: Int? = nil) throws(HubError) -> (digest: Digest, size: Int) {
        let actual = digest.finish(), size = digest.byteCount
        func discard() { close(fd); fd = -1; unlink(temporaryPath) }
        if let expected, expected != actual {
            discard()
            throw HubError("the bytes do not match their digest: expected \(expected), got \(actual) (\(size) bytes); nothing was stored")
        }
        if let expectedSize, expectedSize != size {
            discard()
            throw HubError("the blob \(actual) has \(size) bytes, not the \(expectedSize) announced; nothing was stored")
        }
        guard fsync(fd) == 0 else {
            let text = StoreFiles.errnoText()
            discard()
            throw HubError("cannot write '\(temporaryPath)': \(text)")
        }
        close(fd)
        fd = -1
        let final = store.blobPath(actual)
        guard rename(temporaryPath, final) == 0 else {
            let text = StoreFiles.errnoText()
            unlink(temporaryPath)
            throw HubError("cannot store the blob \(actual): \(text)")
        }
        committed = true
        StoreFiles.syncDirectory(store.blobsDirectory)
        return (actual, size)
    }
}
