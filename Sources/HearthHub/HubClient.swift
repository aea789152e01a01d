#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where a model lives on a hub: `[http(s)://]host[:port]/namespace/model[:tag]`.
public struct HubReference: Sendable, CustomStringConvertible {
    /// The name it gets in the local store: host, namespace, model and tag.
    public let name: ModelName
    /// `http://host:port` or `https://host`.
    public let baseURL: String

    /// Parses a hub reference. Without a scheme, loopback hosts are reached over http and
    /// others over https (`insecure` makes it http).
    public init(parsing text: String, insecure: Bool = false) throws(HubError) {
        var rest = Substring(text), scheme: String?
        for s in ["http://", "https://"] where rest.hasPrefix(s) {
            scheme = String(s.dropLast(3))
            rest = rest.dropFirst(s.count)
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw HubError("'\(text)' is not a hub reference: write HOST[:PORT]/NAMESPACE/MODEL[:TAG], such as localhost:8080/alice/smollm2")
        }
        name = try ModelName(parsing: String(rest))
        let host = name.host.split(separator: ":")[0]
        let loopback = host == "localhost" || host == "127.0.0.1" || host.hasPrefix("127.")
        baseURL = "\(scheme ?? (insecure || loopback ? "http" : "https"))://\(name.host)"
    }

    public var description: String { name.description }
    var repositoryURL: String { "\(baseURL)/v2/\(name.namespace)/\(name.model)" }
}

/// Tokens for hubs, by host, in `HEARTH_HOME/credentials.json` (readable by its owner only).
public struct HubCredentials {
    let path: String

    public init(store: ModelStore) { path = store.root + "/credentials.json" }

    public func token(for host: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
              let all = try? JSONDecoder().decode([String: String].self, from: data) else { return nil }
        return all[host]
    }

    public func save(_ token: String, for host: String) throws(HubError) {
        var all: [String: String] = [:]
        if let data = FileManager.default.contents(atPath: path), let decoded = try? JSONDecoder().decode([String: String].self, from: data) {
            all = decoded
        }
        all[host] = token
        try StoreFiles.writeAtomically(ModelStore.json(all), to: path)
        chmod(path, 0o600)
    }
}

/// Pushes models from a store to a hub and pulls them back, over the registry protocol.
public final class HubClient: Sendable {
    public let store: ModelStore
    let session: URLSession
    /// Bytes per upload request, and per ranged download request.
    public let uploadChunk: Int
    public let downloadChunk: Int
    /// Ranged downloads in flight at once.
    public let parallelDownloads: Int

    public init(store: ModelStore, uploadChunk: Int = 64 << 20, downloadChunk: Int = 16 << 20, parallelDownloads: Int = 4) {
        self.store = store
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 300
        configuration.httpMaximumConnectionsPerHost = max(parallelDownloads, 1)
        session = URLSession(configuration: configuration)
        self.uploadChunk = uploadChunk
        self.downloadChunk = downloadChunk
        self.parallelDownloads = parallelDownloads
    }

    /// Progress of a transfer: bytes done and in all, and what is moving.
    public typealias Progress = @Sendable (_ done: Int, _ total: Int) -> Void

    // MARK: requests

    private func request(_ url: String, _ method: String, token: String?, headers: [String: String] = [:]) throws(HubError) -> URLRequest {
        guard let u = URL(string: url) else { throw HubError("'\(url)' is not a URL") }
        var r = URLRequest(url: u)
        r.httpMethod = method
        if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        return r
    }

    private func send(_ request: URLRequest, body: Data? = nil) async throws(HubError) -> (Data, HTTPURLResponse) {
        do {
            let (data, response) = body != nil ? try await session.upload(for: request, from: body!) : try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else { throw HubError("\(request.url!) did not answer over HTTP") }
            return (data, http)
        } catch let e as HubError { throw e } catch {
            let hub = request.url.map { url in url.port.map { "\(url.host ?? "the hub"):\($0)" } ?? url.host ?? "the hub" } ?? "the hub"
            throw HubError("cannot reach \(hub): \(error.localizedDescription)")
        }
    }

    /// The hub's error message for a failed request, with a hint for the usual causes.
    private func failure(_ what: String, _ data: Data, _ response: HTTPURLResponse) -> HubError {
        struct Errors: Decodable { struct Item: Decodable { let code: String?; let message: String? }; let errors: [Item] }
        let message = (try? JSONDecoder().decode(Errors.self, from: data))?.errors.first?.message
            ?? String(decoding: data.prefix(300), as: UTF8.self)
        let hub = response.url.map { url in url.port.map { "\(url.host ?? "HUB"):\($0)" } ?? url.host ?? "HUB" } ?? "HUB"
        let hint = switch response.statusCode {
        case 401: " (log in with hearth login \(hub) --token TOKEN)"
        case 403: " (the token may not write there)"
        default: ""
        }
        return HubError("\(what): \(response.statusCode) \(message)\(hint)")
    }

    /// A new write token for `user` (`POST /api/tokens` with HTTP Basic authentication).
    public func login(baseURL: String, user: String, password: String) async throws(HubError) -> String {
        let credentials = Data("\(user):\(password)".utf8).base64EncodedString()
        var r = try request("\(baseURL)/api/tokens", "POST", token: nil, headers: ["Authorization": "Basic \(credentials)", "Content-Type": "application/json"])
        r.httpBody = nil
        let (data, response) = try await send(r, body: Data(#"{"scope": "write", "label": "hearth login"}"#.utf8))
        guard response.statusCode == 201 else { throw failure("the hub refused the login", data, response) }
        struct Answer: Decodable { let token: String }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: data) else { throw HubError("the hub's answer to the login has no token") }
        return answer.token
    }

    /// Checks that `token` is valid on the hub (`GET /v2/`).
    public func check(baseURL: String, token: String) async throws(HubError) {
        let (data, response) = try await send(try request("\(baseURL)/v2/", "GET", token: token))
        guard response.statusCode == 200 else { throw failure("the hub refused the token", data, response) }
    }

    // MARK: evaluation results

    /// What the hub answered to a pushed result.
    public struct EvalReceipt: Decodable, Sendable {
        public let id: Int
        public let isNew: Bool
        public let models: [String]
        public let url: String

        enum CodingKeys: String, CodingKey { case id, models, url, isNew = "is_new" }
    }

    /// Sends a signed evaluation report (`POST /api/evals`); needs a write token.
    public func pushEval(_ signed: SignedReport, baseURL: String, token: String?) async throws(HubError) -> EvalReceipt {
        let encoder = JSONEncoder()
        guard let body = try? encoder.encode(signed) else { throw HubError("cannot encode the report") }
        var r = try request("\(baseURL)/api/evals", "POST", token: token, headers: ["Content-Type": "application/json"])
        r.httpBody = nil
        let (data, response) = try await send(r, body: body)
        guard response.statusCode == 201 || response.statusCode == 200 else { throw failure("the hub refused the result", data, response) }
        guard let receipt = try? JSONDecoder().decode(EvalReceipt.self, from: data) else { throw HubError("the hub's answer to the result is not a receipt") }
        return receipt
    }

    /// The hub's leaderboard (`GET /api/leaderboard`), as the token (if any) may see it.
    public func leaderboard(baseURL: String, token: String?) async throws(HubError) -> Leaderboard {
        let (data, response) = try await send(try request("\(baseURL)/api/leaderboard", "GET", token: token))
        guard response.statusCode == 200 else { throw failure("the hub did not give its leaderboard", data, response) }
        do { return try Leaderboard.decoder.decode(Leaderboard.self, from: data) } catch {
            throw HubError("the hub's leaderboard is not what Hearth reads: \(error)")
        }
    }

    // MARK: push

    /// Sends `local` to `remote`: the blobs the hub lacks, in chunks, then the manifest's exact
    /// bytes. Returns the bytes uploaded (blobs the hub had are skipped).
    @discardableResult
    public func push(_ local: ModelName, to remote: HubReference, token: String?, progress: Progress = { _, _ in }) async throws(HubError) -> Int {
        guard let stored = try store.manifest(local) else { throw HubError("no model '\(local)' in the store at '\(store.root)'") }
        let blobs = stored.manifest.blobs
        let total = blobs.reduce(0) { $0 + $1.size }
        var done = 0, sent = 0
        for blob in blobs {
            let (_, head) = try await send(try request("\(remote.repositoryURL)/blobs/\(blob.digest)", "HEAD", token: token))
            if head.statusCode == 200 {
                done += blob.size
                progress(done, total)
                continue
            }
            sent += try await upload(blob, to: remote, token: token) { n in progress(done + n, total) }
            done += blob.size
        }
        var r = try request("\(remote.repositoryURL)/manifests/\(remote.name.tag)", "PUT", token: token,
                            headers: ["Content-Type": stored.manifest.mediaType])
        r.httpBody = nil
        let (data, response) = try await send(r, body: stored.data)
        guard response.statusCode == 201 else { throw failure("the hub refused the manifest", data, response) }
        return sent
    }

    private func upload(_ blob: Descriptor, to remote: HubReference, token: String?, progress: (Int) -> Void) async throws(HubError) -> Int {
        let (startData, start) = try await send(try request("\(remote.repositoryURL)/blobs/uploads/", "POST", token: token))
        guard start.statusCode == 202, var location = start.value(forHTTPHeaderField: "Location") else {
            throw failure("the hub refused the upload of \(blob.digest)", startData, start)
        }
        let path = store.blobPath(blob.digest)
        guard let file = FileHandle(forReadingAtPath: path) else { throw HubError("cannot read the blob \(blob.digest) in the store") }
        defer { try? file.close() }
        var offset = 0
        while offset < blob.size {
            let chunk: Data
            do { chunk = try file.read(upToCount: uploadChunk) ?? Data() } catch { throw HubError("cannot read the blob \(blob.digest): \(error)") }
            guard !chunk.isEmpty else { throw HubError("the blob \(blob.digest) in the store is shorter than its manifest says") }
            let url = location.hasPrefix("http") ? location : remote.baseURL + location
            let r = try request(url, "PATCH", token: token, headers: [
                "Content-Type": "application/octet-stream",
                "Content-Range": "\(offset)-\(offset + chunk.count - 1)",
            ])
            let (data, response) = try await send(r, body: chunk)
            guard response.statusCode == 202 else { throw failure("the hub refused a chunk of \(blob.digest)", data, response) }
            location = response.value(forHTTPHeaderField: "Location") ?? location
            offset += chunk.count
            progress(offset)
        }
        let url = (location.hasPrefix("http") ? location : remote.baseURL + location) + (location.contains("?") ? "&" : "?") + "digest=\(blob.digest)"
        let (data, response) = try await send(try request(url, "PUT", token: token), body: Data())
        guard response.statusCode == 201 else { throw failure("the hub did not accept \(blob.digest)", data, response) }
        return blob.size
    }

    // MARK: pull

    /// Fetches `remote` into the store under its hub name: the manifest, then every blob the
    /// store lacks, in ranged requests in parallel, resuming what an interrupted pull left
    /// and checking each blob's sha256 before it is stored. Returns the bytes downloaded.
    @discardableResult
    public func pull(_ remote: HubReference, token: String?, progress: @escaping Progress = { _, _ in }) async throws(HubError) -> (manifest: StoredManifest, downloaded: Int, resumed: Int) {
        let accept = "\(MediaType.manifest), application/vnd.oci.image.manifest.v1+json"
        let (data, response) = try await send(try request("\(remote.repositoryURL)/manifests/\(remote.name.tag)", "GET", token: token,
                                                          headers: ["Accept": accept]))
        guard response.statusCode == 200 else { throw failure("cannot pull \(remote)", data, response) }
        let manifest = try Manifest.decode(data, source: "of \(remote)")
        // Held until the manifest is written, so that garbage collection leaves the blobs be.
        let lock = try store.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        let total = manifest.blobs.reduce(0) { $0 + $1.size }
        let counter = ByteCounter()
        var downloaded = 0, resumed = 0
        for blob in manifest.blobs {
            if store.blobSize(blob.digest) == blob.size {
                counter.add(blob.size)
                progress(counter.value, total)
                continue
            }
            let result = try await download(blob, url: "\(remote.repositoryURL)/blobs/\(blob.digest)", source: remote.name.host, token: token) { n in
                counter.add(n)
                progress(counter.value, total)
            }
            downloaded += result.downloaded
            resumed += result.resumed
        }
        try store.writeManifest(data, for: remote.name)
        guard let stored = try store.manifest(remote.name) else { throw HubError("the manifest of \(remote) was not stored") }
        return (stored, downloaded, resumed)
    }

    /// One blob in chunks of `downloadChunk` bytes, `parallelDownloads` at a time, written at
    /// their offsets into `<digest>.partial`; `<digest>.partial.chunks` lists the chunks
    /// written, so that a killed pull resumes with the others. The sha256 is computed in
    /// order as the chunks arrive (those of an earlier attempt are read back), and decides
    /// whether the file is kept: a damaged or mixed-up chunk fails there.
    private func download(_ blob: Descriptor, url: String, source: String, token: String?,
                          progress: @escaping @Sendable (Int) -> Void) async throws(HubError) -> (downloaded: Int, resumed: Int) {
        try StoreFiles.makeDirectories(store.blobsDirectory)
        let partial = store.blobPath(blob.digest) + ".partial"
        let journal = partial + ".chunks"
        let chunkSize = downloadChunk, size = blob.size
        let chunkCount = max(1, (size + chunkSize - 1) / chunkSize)
        func bounds(_ i: Int) -> (first: Int, last: Int) { (i * chunkSize, min(size, (i + 1) * chunkSize) - 1) }
        var onDisk = Set<Int>()
        if StoreFiles.fileSize(partial) != nil, let text = try? String(contentsOfFile: journal, encoding: .utf8) {
            onDisk = Set(text.split(separator: "\n").compactMap { Int($0) }.filter { $0 < chunkCount })
        }
        let fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC | (onDisk.isEmpty ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else { throw HubError("cannot write '\(partial)': \(StoreFiles.errnoText())") }
        defer { close(fd) }
        let journalFD = open(journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (onDisk.isEmpty ? O_TRUNC : 0), 0o644)
        guard journalFD >= 0 else { throw HubError("cannot write '\(journal)': \(StoreFiles.errnoText())") }
        defer { close(journalFD) }
        let resumedBytes = onDisk.reduce(0) { $0 + bounds($1).last - bounds($1).first + 1 }
        if resumedBytes > 0 { progress(resumedBytes) }

        // Chunks arrived out of order wait here until the ones before them are hashed.
        var waiting: [Int: Data] = [:]
        var hasher = StreamingDigest()
        var nextToHash = 0
        func hashReady() throws(HubError) {
            while nextToHash < chunkCount {
                if let data = waiting.removeValue(forKey: nextToHash) {
                    hasher.update(data)
                } else if onDisk.contains(nextToHash) {
                    let (first, last) = bounds(nextToHash)
                    var data = Data(count: last - first + 1)
                    let n = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(first)) }
                    guard n == data.count else { throw HubError("cannot read '\(partial)': \(StoreFiles.errnoText())") }
                    hasher.update(data)
                } else {
                    return
                }
                nextToHash += 1
            }
        }
        try hashReady()

        var todo = (0..<chunkCount).filter { !onDisk.contains($0) }.makeIterator()
        let limit = parallelDownloads
        do {
            try await withThrowingTaskGroup(of: (Int, Data).self) { group in
                var inFlight = 0
                func startMore() throws {
                    // A stalled early chunk holds back hashing: cap what waits in memory.
                    while inFlight < limit, waiting.count < 2 * limit, let index = todo.next() {
                        let (first, last) = bounds(index)
                        let r = try request(url, "GET", token: token, headers: ["Range": "bytes=\(first)-\(last)"])
                        inFlight += 1
                        group.addTask {
                            let (data, response) = try await self.send(r)
                            guard response.statusCode == 206 || (response.statusCode == 200 && first == 0 && data.count == size) else {
                                throw self.failure("cannot download \(blob.digest)", data, response)
                            }
                            guard data.count == last - first + 1 else {
                                throw HubError("the hub sent \(data.count) bytes for bytes \(first)-\(last) of \(blob.digest)")
                            }
                            let written = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(first)) }
                            guard written == data.count else { throw HubError("cannot write '\(partial)': \(StoreFiles.errnoText())") }
                            // Listed once written: a kill loses at most the chunks in flight. (Power
                            // loss could list a chunk that never reached the disk; the digest check
                            // at the end catches that.)
                            _ = "\(index)\n".withCString { write(journalFD, $0, strlen($0)) }
                            progress(data.count)
                            return (index, data)
                        }
                    }
                }
                try startMore()
                while let (index, data) = try await group.next() {
                    inFlight -= 1
                    waiting[index] = data
                    try hashReady()
                    try startMore()
                }
            }
        } catch let e as HubError { throw e } catch { throw HubError("cannot download \(blob.digest): \(error)") }
        guard nextToHash == chunkCount else { throw HubError("the download of \(blob.digest) ended with chunks missing") }
        do { try store.adoptDownload(partial, computed: hasher.finish(), for: blob) } catch {
            unlink(journal)
            throw HubError("\(blob.digest) from \(source): \(error.message)")
        }
        unlink(journal)
        return (size - resumedBytes, resumedBytes)
    }
}

extension HubClient {
    /// A file of a repository on a Hugging Face compatible hub: `endpoint/repo/resolve/revision/file`.
    public struct HuggingFaceFile: Sendable {
        public let endpoint: String
        public let repository: String
        public let revision: String
        public let file: String

        /// Parses `hf://NAMESPACE/REPO/FILE` (`FILE` may hold folders).
        public init(parsing text: String, endpoint: String, revision: String = "main") throws(HubError) {
            guard text.hasPrefix("hf://") else { throw HubError("'\(text)' is not an hf:// reference") }
            let parts = text.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 3, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw HubError("'\(text)' is not an hf:// reference: write hf://NAMESPACE/REPO/FILE.gguf")
            }
            self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
            repository = parts[0] + "/" + parts[1]
            file = parts[2...].joined(separator: "/")
            self.revision = revision
        }

        var url: String { "\(endpoint)/\(repository)/resolve/\(revision)/\(file)" }
    }

    /// Downloads a GGUF file from a Hugging Face compatible hub (its sha256 comes from the
    /// resolve endpoint's `X-Linked-Etag`, as the Hub gives it for LFS files, and is checked)
    /// and stores it as the model `name`.
    public func pullHuggingFace(_ source: HuggingFaceFile, as name: ModelName, token: String?,
                                progress: @escaping Progress = { _, _ in }) async throws(HubError) -> (model: StoredModel, downloaded: Int, resumed: Int) {
        let (data, head) = try await send(try request(source.url, "HEAD", token: token, headers: ["Accept-Encoding": "identity"]))
        guard head.statusCode == 200 else {
            let code = head.value(forHTTPHeaderField: "X-Error-Code").map { " (\($0))" } ?? ""
            throw HubError("cannot fetch \(source.repository)/\(source.file) at \(source.revision) from \(source.endpoint): \(head.statusCode)\(code)\(data.isEmpty ? "" : " " + String(decoding: data.prefix(200), as: UTF8.self))")
        }
        let etag = (head.value(forHTTPHeaderField: "X-Linked-Etag") ?? head.value(forHTTPHeaderField: "ETag") ?? "")
            .replacingOccurrences(of: "W/", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard let digest = try? Digest(parsing: "sha256:" + etag) else {
            throw HubError("\(source.endpoint) gives no sha256 for \(source.file) (ETag '\(etag)'), so the download could not be checked; Hearth pulls only files stored with Git LFS")
        }
        guard let size = (head.value(forHTTPHeaderField: "X-Linked-Size") ?? head.value(forHTTPHeaderField: "Content-Length")).flatMap({ Int($0) }) else {
            throw HubError("\(source.endpoint) gives no size for \(source.file)")
        }
        let lock = try store.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        var downloaded = 0, resumed = 0
        if store.blobSize(digest) != size {
            let counter = ByteCounter()
            let result = try await download(Descriptor(mediaType: MediaType.model, digest: digest, size: size), url: source.url,
                                            source: source.endpoint, token: token) { n in
                counter.add(n)
                progress(counter.value, size)
            }
            downloaded = result.downloaded
            resumed = result.resumed
        }
        let model = try store.create(name, from: Modelfile(from: store.blobPath(digest)))
        return (model, downloaded, resumed)
    }
}

/// A byte count shared by concurrent downloads.
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return total }
}
