#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// An error of the registry protocol: the OCI distribution spec's code and HTTP status.
public struct RegistryError: Error, CustomStringConvertible, Sendable {
    public let status: Int
    public let code: String
    public let message: String
    /// Seconds to wait before trying again (a 429's `Retry-After`).
    public var retryAfter: Int?

    public init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func nameInvalid(_ m: String) -> RegistryError { .init(400, "NAME_INVALID", m) }
    static func nameUnknown(_ repo: String) -> RegistryError { .init(404, "NAME_UNKNOWN", "no repository \(repo) on this hub") }
    static func manifestUnknown(_ m: String) -> RegistryError { .init(404, "MANIFEST_UNKNOWN", m) }
    public static func blobUnknown(_ d: String) -> RegistryError { .init(404, "BLOB_UNKNOWN", "no blob \(d) on this hub") }
    static func uploadUnknown(_ id: String) -> RegistryError { .init(404, "BLOB_UPLOAD_UNKNOWN", "no upload \(id) in progress") }
    public static func digestInvalid(_ m: String) -> RegistryError { .init(400, "DIGEST_INVALID", m) }
    static func tooLarge(_ m: String) -> RegistryError { .init(413, "SIZE_INVALID", m) }
    public static func unauthorized(_ m: String) -> RegistryError { .init(401, "UNAUTHORIZED", m) }
    public static func denied(_ m: String) -> RegistryError { .init(403, "DENIED", m) }
    static func failed(_ m: String) -> RegistryError { .init(500, "UNKNOWN", m) }
}

/// Who is asking: nobody, or a user through one of their tokens.
public enum HubAccess: Sendable, Equatable {
    case anonymous
    case user(String, HubDatabase.Scope)

    public var user: String? { if case .user(let u, _) = self { u } else { nil } }
}

/// The hub side of the registry protocol Ollama uses (OCI distribution): repositories of
/// manifests by tag, blobs by digest, and chunked, resumable uploads that are checked against
/// their digest before anything is stored. Blobs and manifests live in a `ModelStore` (the
/// hub's `store/` folder), metadata in the hub's SQLite database.
public final class Registry: Sendable {
    public let root: String
    public let store: ModelStore
    public let database: HubDatabase
    /// The largest blob an upload may hold.
    public let maxBlobBytes: Int
    private var uploadsDirectory: String { root + "/uploads" }
    /// The sha256 of each upload so far, kept as its bytes arrive so that finishing does not
    /// read the file again. Lost on a restart: then the file is read.
    private let uploadDigests = Mutex<[String: StreamingDigest]>([:])

    public init(root: String, maxBlobBytes: Int = 64 << 30) throws(HubError) {
        self.root = root
        try StoreFiles.makeDirectories(root + "/uploads")
        store = ModelStore(root: root + "/store")
        database = try HubDatabase(path: root + "/hub.sqlite")
        self.maxBlobBytes = maxBlobBytes
        removeAbandonedUploads()
    }

    // MARK: access

    /// The access a bearer token gives; an unknown token is a 401 (not quietly anonymous).
    public func access(token: String?) throws(RegistryError) -> HubAccess {
        guard let token, !token.isEmpty else { return .anonymous }
        do {
            guard let (user, scope) = try database.authenticate(token: token) else { throw RegistryError.unauthorized("the token is not valid on this hub") }
            return .user(user, scope)
        } catch let e as RegistryError { throw e } catch { throw RegistryError.failed("\(error)") }
    }

    /// The repository's name, checked, once `access` may read it. A private repository is
    /// unknown (404) to anyone but its owner.
    public func readable(_ namespace: String, _ model: String, _ access: HubAccess) throws(RegistryError) -> ModelName {
        let name = try Self.name(namespace, model)
        let repository: HubDatabase.Repository?
        do { repository = try database.repository(namespace: namespace, name: model) } catch { throw .failed(error.message) }
        if let repository, repository.isPrivate, !mayActFor(namespace, access) {
            throw RegistryError.nameUnknown("\(namespace)/\(model)")
        }
        return name
    }

    /// The repository's name, checked, once `access` may write to it: a write token of the
    /// namespace's user.
    public func writable(_ namespace: String, _ model: String, _ access: HubAccess) throws(RegistryError) -> ModelName {
        let name = try Self.name(namespace, model)
        guard case .user(let user, let scope) = access else { throw RegistryError.unauthorized("pushing to \(namespace)/\(model) needs a token (hearth login)") }
        guard mayActFor(namespace, access) else { throw RegistryError.denied("\(user) may not push to the namespace \(namespace)") }
        guard scope == .write else { throw RegistryError.denied("the token is read-only") }
        return name
    }

    /// Whether `access` is the namespace's user or a member of the namespace's organisation.
    public func mayActFor(_ namespace: String, _ access: HubAccess) -> Bool {
        guard let user = access.user else { return false }
        return (try? database.mayActFor(namespace, user: user)) ?? false
    }

    static func name(_ namespace: String, _ model: String, tag: String = ModelName.defaultTag) throws(RegistryError) -> ModelName {
        do { return try ModelName(namespace: namespace, model: model, tag: tag) } catch {
            throw RegistryError.nameInvalid("'\(namespace)/\(model)': \(error.message)")
        }
    }

    // MARK: manifests

    /// The manifest `reference` (a tag or a digest) names in the repository.
    public func manifest(_ repository: ModelName, reference: String) throws(RegistryError) -> StoredManifest {
        if reference.hasPrefix("sha256:") {
            guard let digest = try? Digest(parsing: reference) else { throw RegistryError.digestInvalid("'\(reference)' is not a digest") }
            let manifests = store.manifests(inRepositoryOf: repository)
            if let m = manifests.first(where: { $0.digest == digest }) { return m }
            throw missing("no manifest \(reference)", in: repository, hasManifests: !manifests.isEmpty)
        }
        let name: ModelName
        do { name = try repository.withTag(reference) } catch { throw RegistryError.nameInvalid(error.message) }
        do {
            guard let m = try store.manifest(name) else {
                throw missing("no tag '\(reference)'", in: repository, hasManifests: !store.manifests(inRepositoryOf: repository).isEmpty)
            }
            return m
        } catch let e as RegistryError { throw e } catch { throw RegistryError.failed("\(error)") }
    }

    /// A reference the repository lacks: MANIFEST_UNKNOWN in a repository that has manifests,
    /// NAME_UNKNOWN in one with none, as a private one answers (`readable`), so that the two
    /// cannot be told apart.
    private func missing(_ what: String, in repository: ModelName, hasManifests: Bool) -> RegistryError {
        hasManifests ? .manifestUnknown("\(what) in \(repository.repository)") : .nameUnknown(repository.repository)
    }

    /// Stores a pushed manifest under `tag`, once every blob it names is here with its size.
    public func putManifest(_ repository: ModelName, tag: String, data: Data) throws(RegistryError) -> Digest {
        let name: ModelName
        do { name = try repository.withTag(tag) } catch { throw RegistryError.nameInvalid(error.message) }
        let manifest: Manifest
        do { manifest = try Manifest.decode(data, source: "pushed to \(name)") } catch { throw RegistryError(400, "MANIFEST_INVALID", error.message) }
        for blob in manifest.blobs where store.blobSize(blob.digest) != blob.size {
            throw RegistryError(400, "MANIFEST_BLOB_UNKNOWN", "the manifest names the blob \(blob.digest) (\(blob.size) bytes), which was not pushed")
        }
        // The model layer must be a GGUF file: its first four bytes are the magic.
        let model = manifest.layers(MediaType.model)[0]
        guard let handle = FileHandle(forReadingAtPath: store.blobPath(model.digest)) else { throw RegistryError.failed("cannot read the blob \(model.digest)") }
        let magic = (try? handle.read(upToCount: 4)) ?? nil
        try? handle.close()
        guard magic == Data("GGUF".utf8) else {
            throw RegistryError(400, "MANIFEST_INVALID", "the model layer \(model.digest) is not a GGUF file (it does not start with GGUF)")
        }
        // The card and the parent are read before anything is written, so that a bad card
        // refuses the push instead of leaving a model the hub cannot index.
        var card: ModelCard?
        if let readme = manifest.layers(MediaType.readme).last {
            do throws(HubError) {
                guard let text = String(data: try store.readBlob(readme.digest), encoding: .utf8) else { throw HubError("the model card is not UTF-8 text") }
                card = try ModelCard(parsing: text)
            } catch { throw RegistryError(400, "MANIFEST_INVALID", error.message) }
        }
        let parent = (try? JSONDecoder().decode(ModelConfig.self, from: store.readBlob(manifest.config.digest)))?.parent
        do {
            try store.whileWriting { () throws(HubError) in try store.writeManifest(data, for: name) }
            try database.ensureRepository(namespace: name.namespace, name: name.model)
            try database.index(namespace: name.namespace, name: name.model, tag: tag, modelDigest: manifest.layers(MediaType.model)[0].digest,
                               parent: parent, card: card)
        } catch { throw RegistryError.failed(error.message) }
        return Digest.of(data)
    }

    // MARK: blobs and uploads

    /// The blob `text` names, served through `repository`: only when one of the repository's
    /// manifests names it (as a layer or its config). A blob is stored once for the whole hub,
    /// so without that check any path would serve a private model's blob to whoever knows its
    /// digest.
    public func blob(_ text: String, in repository: ModelName) throws(RegistryError) -> (path: String, size: Int) {
        guard let digest = try? Digest(parsing: text) else { throw RegistryError.digestInvalid("'\(text)' is not a digest") }
        let named = StoreFiles.fileSize(linkPath(digest, repository)) != nil
            || store.manifests(inRepositoryOf: repository).contains { m in
                m.manifest.config.digest == digest || m.manifest.layers.contains { $0.digest == digest }
            }
        guard named, let size = store.blobSize(digest) else { throw RegistryError.blobUnknown(text) }
        return (store.blobPath(digest), size)
    }

    /// Records that `digest` was uploaded to `repository`, so the repository serves it before a
    /// manifest names it (as the distribution spec has it: a finished upload is in the
    /// repository). An empty file per link under `links/<namespace>/<model>/`.
    public func link(_ digest: Digest, to repository: ModelName) throws(RegistryError) {
        do { try StoreFiles.writeAtomically(Data(), to: linkPath(digest, repository)) } catch { throw RegistryError.failed(error.message) }
    }

    private func linkPath(_ digest: Digest, _ repository: ModelName) -> String {
        "\(root)/links/\(repository.namespace)/\(repository.model)/\(digest.hex)"
    }

    /// Uploads one user may have open at once.
    public static let openUploadsPerUser = 16
    /// An upload no chunk has reached for this long is abandoned: removed.
    public static let abandonedUploadSeconds: TimeInterval = 24 * 3600

    /// A new upload's id, for `user` pushing to `repository`. The upload is theirs: another
    /// user, or another repository's path, cannot add to it, finish it or cancel it.
    public func startUpload(to repository: ModelName, by user: String) throws(RegistryError) -> String {
        let inProgress = openUploads().filter { $0.hasSuffix("\n\(user)") }.count
        guard inProgress < Self.openUploadsPerUser else {
            throw RegistryError(429, "TOOMANYREQUESTS", "\(user) has \(inProgress) uploads in progress; finish or cancel one first (at most \(Self.openUploadsPerUser))")
        }
        let id = UUID().uuidString.lowercased()
        let fd = open(uploadPath(id), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RegistryError.failed("cannot start an upload: \(StoreFiles.errnoText())") }
        close(fd)
        do { try StoreFiles.writeAtomically(Data(Self.owner(repository, user).utf8), to: ownerPath(id)) } catch {
            unlink(uploadPath(id))
            throw RegistryError.failed(error.message)
        }
        uploadDigests.withLock { $0[id] = StreamingDigest() }
        return id
    }

    /// Checks that upload `id` was started by `user` for `repository`; any other is unknown.
    public func checkUpload(_ id: String, of repository: ModelName, by user: String) throws(RegistryError) {
        try checkUploadID(id)
        guard (try? String(contentsOfFile: ownerPath(id), encoding: .utf8)) == Self.owner(repository, user) else { throw RegistryError.uploadUnknown(id) }
    }

    /// Removes uploads no chunk has reached for `abandonedUploadSeconds` (and owner records left
    /// without an upload), so that uploads left by clients that went away do not fill the disk.
    public func removeAbandonedUploads(now: Date = Date()) { _ = openUploads(now: now) }

    /// The owner records of the uploads in progress, after removing the abandoned ones: one
    /// pass over the uploads folder.
    private func openUploads(now: Date = Date()) -> [String] {
        var owners: [String] = []
        for file in (try? FileManager.default.contentsOfDirectory(atPath: uploadsDirectory)) ?? [] {
            if file.hasSuffix(".owner") {
                let id = String(file.dropLast(6))
                if (try? checkUploadID(id)) != nil, StoreFiles.fileSize(uploadPath(id)) == nil { unlink(ownerPath(id)) }
                continue
            }
            guard (try? checkUploadID(file)) != nil else { continue }
            guard let modified = StoreFiles.modified(uploadPath(file)), now.timeIntervalSince(modified) <= Self.abandonedUploadSeconds else {
                cancelUpload(file)
                continue
            }
            if let owner = try? String(contentsOfFile: ownerPath(file), encoding: .utf8) { owners.append(owner) }
        }
        return owners
    }

    static func owner(_ repository: ModelName, _ user: String) -> String { "\(repository.namespace)/\(repository.model)\n\(user)" }

    private func uploadPath(_ id: String) -> String { "\(uploadsDirectory)/\(id)" }
    private func ownerPath(_ id: String) -> String { "\(uploadsDirectory)/\(id).owner" }

    private func checkUploadID(_ id: String) throws(RegistryError) {
        guard id.count == 36, id.allSatisfy({ $0.isHexDigit || $0 == "-" }) else { throw RegistryError.uploadUnknown(id) }
    }

    /// Bytes received so far by an upload.
    public func uploadSize(_ id: String) throws(RegistryError) -> Int {
        try checkUploadID(id)
        guard let size = StoreFiles.fileSize(uploadPath(id)) else { throw RegistryError.uploadUnknown(id) }
        return size
    }

    /// Appends to an upload, which must hold `offset` bytes so far (a chunk sent twice, or
    /// out of order, is refused: the client asks where to resume). Over `maxBlobBytes` the
    /// upload is cancelled with a 413.
    /// `withBytes` hands each chunk's bytes to the closure it is given.
    public func appendUpload<S: AsyncSequence>(_ id: String, at offset: Int?, chunks: S,
                                               withBytes: (S.Element, (UnsafeRawBufferPointer) throws -> Void) throws -> Void) async throws -> Int {
        let size = try uploadSize(id)
        if let offset, offset != size {
            throw RegistryError(416, "BLOB_UPLOAD_INVALID", "the chunk starts at byte \(offset) but the upload holds \(size) bytes")
        }
        let fd = open(uploadPath(id), O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw RegistryError.uploadUnknown(id) }
        defer { close(fd) }
        // The running digest, if it covers exactly the bytes in the file.
        var digest = uploadDigests.withLock { $0.removeValue(forKey: id) }.flatMap { $0.byteCount == size ? $0 : nil }
        var total = size
        do {
            for try await chunk in chunks {
                try withBytes(chunk) { raw in
                    total += raw.count
                    guard total <= maxBlobBytes else {
                        cancelUpload(id)
                        throw RegistryError.tooLarge("the upload passes this hub's limit of \(maxBlobBytes) bytes per blob")
                    }
                    guard StoreFiles.writeAll(fd, raw) else { throw RegistryError.failed("cannot write the upload: \(StoreFiles.errnoText())") }
                    digest?.update(raw)
                }
            }
        } catch {
            // A chunk cut off part way: the file holds bytes the digest may not.
            digest = nil
            throw error
        }
        if let digest { uploadDigests.withLock { $0[id] = digest } }
        return total
    }

    /// Finishes an upload: its bytes must have `expected` as their sha256, or the upload is
    /// removed and nothing is stored.
    public func finishUpload(_ id: String, digest expected: String) throws(RegistryError) -> Digest {
        _ = try uploadSize(id)
        guard let digest = try? Digest(parsing: expected) else {
            cancelUpload(id)
            throw RegistryError.digestInvalid("'\(expected)' is not a digest")
        }
        let path = uploadPath(id)
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw RegistryError.uploadUnknown(id) }
        let size = StoreFiles.fileSize(path) ?? -1
        var hash: StreamingDigest
        if let running = uploadDigests.withLock({ $0.removeValue(forKey: id) }), running.byteCount == size {
            hash = running
        } else {
            hash = StreamingDigest()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
            defer { buffer.deallocate() }
            while true {
                let n = read(fd, buffer.baseAddress, buffer.count)
                if n < 0 { if errno == EINTR { continue }; close(fd); throw RegistryError.failed("cannot read the upload: \(StoreFiles.errnoText())") }
                if n == 0 { break }
                hash.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            }
        }
        let synced = fsync(fd) == 0
        close(fd)
        let actual = hash.finish()
        guard actual == digest else {
            cancelUpload(id)
            throw RegistryError.digestInvalid("the uploaded bytes have the digest \(actual), not \(digest); nothing was stored")
        }
        guard synced else { throw RegistryError.failed("cannot write the upload: \(StoreFiles.errnoText())") }
        do {
            try store.whileWriting { () throws(HubError) in
                try StoreFiles.makeDirectories(store.blobsDirectory)
                guard rename(path, store.blobPath(digest)) == 0 else { throw HubError("cannot store the blob: \(StoreFiles.errnoText())") }
                StoreFiles.syncDirectory(store.blobsDirectory)
            }
        } catch { throw RegistryError.failed(error.message) }
        unlink(ownerPath(id))
        return digest
    }

    public func cancelUpload(_ id: String) {
        guard (try? checkUploadID(id)) != nil else { return }
        uploadDigests.withLock { _ = $0.removeValue(forKey: id) }
        unlink(uploadPath(id))
        unlink(ownerPath(id))
    }
}
