#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The local model store under `HEARTH_HOME` (default `~/.hearth`):
///
/// ```
/// blobs/sha256-<hex>                        content-addressed files (GGUF bytes as they are)
/// manifests/<host>/<namespace>/<model>/<tag> OCI manifests naming a model's blobs
/// .lock                                     the lock writers share and pruning takes alone
/// ```
///
/// Every write is atomic (temporary file, fsync, rename), so a process killed at any moment
/// leaves the store consistent: at worst a temporary file that `collectGarbage` removes.
public final class ModelStore: Sendable {
    public let root: String
    public var blobsDirectory: String { root + "/blobs" }
    public var manifestsDirectory: String { root + "/manifests" }

    public init(root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    /// `HEARTH_HOME`, else `~/.hearth`.
    public static var defaultRoot: String {
        if let home = ProcessInfo.processInfo.environment["HEARTH_HOME"], !home.isEmpty { return home }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".hearth")
    }

    // MARK: Blobs

    public func blobPath(_ digest: Digest) -> String { "\(blobsDirectory)/\(digest.fileName)" }

    /// The size of the stored blob, or nil when it is not stored.
    public func blobSize(_ digest: Digest) -> Int? { StoreFiles.fileSize(blobPath(digest)) }

    /// A new blob, written to a temporary file until it is committed.
    public func makeBlobWriter() throws(HubError) -> BlobWriter {
        try BlobWriter(store: self, temporaryPath: "\(blobsDirectory)/.tmp-\(UUID().uuidString)")
    }

    /// Stores a downloaded file whose sha256 was computed as its bytes arrived: if it is the
    /// blob's, the file is flushed and moved to the blob's address; if not, it is removed.
    public func adoptDownload(_ path: String, computed: Digest, for blob: Descriptor) throws(HubError) {
        guard computed == blob.digest, StoreFiles.fileSize(path) == blob.size else {
            unlink(path)
            throw HubError("the bytes do not match their digest: expected \(blob.digest), got \(computed); nothing was stored")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0, fsync(fd) == 0 else {
            let text = StoreFiles.errnoText()
            if fd >= 0 { close(fd) }
            throw HubError("cannot write '\(path)': \(text)")
        }
        close(fd)
        guard rename(path, blobPath(blob.digest)) == 0 else { throw HubError("cannot store the blob \(blob.digest): \(StoreFiles.errnoText())") }
        StoreFiles.syncDirectory(blobsDirectory)
    }

    /// Stores `data` as a blob.
    public func addBlob(_ data: Data) throws(HubError) -> (digest: Digest, size: Int) {
        let digest = Digest.of(data)
        if blobSize(digest) == data.count { return (digest, data.count) }
        let writer = try makeBlobWriter()
        try writer.write(data)
        return try writer.commit(expecting: digest)
    }

    /// Copies the file at `path` into the store, reporting bytes copied as it goes.
    public func addBlob(copying path: String, progress: (Int, Int) -> Void = { _, _ in }) throws(HubError) -> (digest: Digest, size: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HubError("cannot read '\(path)': \(StoreFiles.errnoText())") }
        defer { close(fd) }
        let total = StoreFiles.fileSize(path) ?? 0
        let writer = try makeBlobWriter()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw HubError("cannot read '\(path)': \(StoreFiles.errnoText())") }
            if n == 0 { break }
            try writer.write(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            progress(writer.byteCount, total)
        }
        return try writer.commit()
    }

    public func readBlob(_ digest: Digest) throws(HubError) -> Data {
        guard blobSize(digest) != nil else { throw HubError("the blob \(digest) is missing from the store at '\(root)'") }
        return try StoreFiles.read(blobPath(digest))
    }

    // MARK: Manifests

    public func manifestPath(_ name: ModelName) -> String {
        "\(manifestsDirectory)/\(name.host)/\(name.namespace)/\(name.model)/\(name.tag)"
    }

    /// The manifest `name` points at, with its bytes and digest; nil when there is none.
    public func manifest(_ name: ModelName) throws(HubError) -> StoredManifest? {
        let path = manifestPath(name)
        guard StoreFiles.fileSize(path) != nil else { return nil }
        let data = try StoreFiles.read(path)
        return StoredManifest(name: name, manifest: try Manifest.decode(data, source: "of \(name)"), data: data,
                              digest: Digest.of(data), modified: StoreFiles.modified(path) ?? Date())
    }

    /// Points `name` at `data` (a manifest's exact bytes), after checking that every blob it
    /// names is stored with its size.
    public func writeManifest(_ data: Data, for name: ModelName) throws(HubError) {
        let manifest = try Manifest.decode(data, source: "for \(name)")
        for blob in manifest.blobs {
            guard let size = blobSize(blob.digest) else { throw HubError("the manifest for \(name) names the blob \(blob.digest), which is not stored") }
            guard size == blob.size else { throw HubError("the blob \(blob.digest) has \(size) bytes, the manifest for \(name) says \(blob.size)") }
        }
        try StoreFiles.writeAtomically(data, to: manifestPath(name))
    }

    /// The manifests of every tag of `repository`'s host, namespace and model (its own tag does
    /// not matter), read from that folder alone; tags whose manifest cannot be read are left out.
    public func manifests(inRepositoryOf repository: ModelName) -> [StoredManifest] {
        let folder = (manifestPath(repository) as NSString).deletingLastPathComponent
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted().compactMap { tag in
            guard let name = try? repository.withTag(tag) else { return nil }
            return try? manifest(name)
        }
    }

    /// Every model in the store, by name. A manifest that cannot be read is listed with its
    /// problem rather than hidden.
    public func list() -> [StoreEntry] {
        var entries: [StoreEntry] = []
        let fm = FileManager.default
        func children(_ path: String) -> [String] {
            ((try? fm.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        }
        for host in children(manifestsDirectory) {
            for namespace in children("\(manifestsDirectory)/\(host)") {
                for model in children("\(manifestsDirectory)/\(host)/\(namespace)") {
                    for tag in children("\(manifestsDirectory)/\(host)/\(namespace)/\(model)") {
                        guard let name = try? ModelName(host: host, namespace: namespace, model: model, tag: tag) else { continue }
                        do {
                            guard let m = try manifest(name) else { continue }
                            entries.append(StoreEntry(name: name, manifest: m, problem: nil))
                        } catch {
                            entries.append(StoreEntry(name: name, manifest: nil, problem: error.message))
                        }
                    }
                }
            }
        }
        return entries.sorted { $0.name < $1.name }
    }

    /// Points `destination` at the manifest of `source`.
    public func copy(_ source: ModelName, to destination: ModelName) throws(HubError) {
        let lock = try StoreLock(root: root, .shared, waiting: {})
        defer { withExtendedLifetime(lock) {} }
        guard let m = try manifest(source) else { throw HubError("no model '\(source)' in the store at '\(root)'") }
        try writeManifest(m.data, for: destination)
    }

    /// Removes `name` and the blobs no other model uses. Returns the bytes freed.
    @discardableResult
    public func remove(_ name: ModelName, waiting: () -> Void = {}) throws(HubError) -> Int {
        let lock = try StoreLock(root: root, .exclusive, waiting: waiting)
        defer { withExtendedLifetime(lock) {} }
        let path = manifestPath(name)
        guard StoreFiles.fileSize(path) != nil else { throw HubError("no model '\(name)' in the store at '\(root)'") }
        guard unlink(path) == 0 else { throw HubError("cannot remove '\(path)': \(StoreFiles.errnoText())") }
        StoreFiles.syncDirectory((path as NSString).deletingLastPathComponent)
        removeEmptyFolders(above: path)
        return pruneUnlocked(removeTemporaries: false).bytes
    }

    /// Removes the blobs no manifest names, and the temporary files of writes that never
    /// finished (interrupted downloads too: a later pull starts them again).
    public func collectGarbage(waiting: () -> Void = {}) throws(HubError) -> (blobs: Int, bytes: Int, temporaries: Int) {
        let lock = try StoreLock(root: root, .exclusive, waiting: waiting)
        defer { withExtendedLifetime(lock) {} }
        return pruneUnlocked(removeTemporaries: true)
    }

    /// Holding the exclusive lock: no writer is between writing a blob and its manifest.
    private func pruneUnlocked(removeTemporaries: Bool) -> (blobs: Int, bytes: Int, temporaries: Int) {
        var referenced = Set<String>()
        var damaged = false
        for entry in list() {
            guard let m = entry.manifest else { damaged = true; continue }
            for blob in m.manifest.blobs { referenced.insert(blob.digest.fileName) }
        }
        var blobs = 0, bytes = 0, temporaries = 0
        for file in (try? FileManager.default.contentsOfDirectory(atPath: blobsDirectory)) ?? [] {
            let path = "\(blobsDirectory)/\(file)"
            if file.hasPrefix(".tmp-") || file.hasSuffix(".partial") {
                if removeTemporaries, unlink(path) == 0 { temporaries += 1 }
                continue
            }
            // With a damaged manifest the references are not all known: keep every blob.
            guard !damaged, file.hasPrefix("sha256-"), !referenced.contains(file) else { continue }
            let size = StoreFiles.fileSize(path) ?? 0
            if unlink(path) == 0 { blobs += 1; bytes += size }
        }
        return (blobs, bytes, temporaries)
    }

    private func removeEmptyFolders(above path: String) {
        var folder = (path as NSString).deletingLastPathComponent
        while folder.count > manifestsDirectory.count, rmdir(folder) == 0 {
            folder = (folder as NSString).deletingLastPathComponent
        }
    }

    /// The store's lock, shared, until the returned object goes: for writes that span awaits
    /// (a pull).
    public func lockForWriting(waiting: () -> Void = {}) throws(HubError) -> AnyObject {
        try StoreLock(root: root, .shared, waiting: waiting)
    }

    /// Takes the store's lock shared for `body`: the writes of one import or pull.
    public func whileWriting<T>(waiting: () -> Void = {}, _ body: () throws(HubError) -> T) throws(HubError) -> T {
        let lock = try StoreLock(root: root, .shared, waiting: waiting)
        defer { withExtendedLifetime(lock) {} }
        return try body()
    }
}

/// A manifest as stored: the parsed form, its exact bytes and their digest.
public struct StoredManifest: Sendable {
    public let name: ModelName
    public let manifest: Manifest
    public let data: Data
    public let digest: Digest
    public let modified: Date

    /// The bytes of the manifest and of every blob it names.
    public var totalSize: Int { manifest.blobs.reduce(0) { $0 + $1.size } }
}

/// One line of `hearth list`.
public struct StoreEntry: Sendable {
    public let name: ModelName
    public let manifest: StoredManifest?
    public let problem: String?
}
