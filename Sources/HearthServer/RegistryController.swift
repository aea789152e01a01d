import Foundation
import HearthHub
import HTTPTypes
import Logging
import Hummingbird

/// `/v2/...`: the registry protocol Ollama's registry speaks (OCI distribution): manifests by
/// tag or digest, blobs by digest with Range, chunked uploads checked against their digest.
/// Errors are the spec's `{"errors": [{"code", "message"}]}`.
struct RegistryController {
    let registry: Registry

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v2", use: Self.guarded { request, _ in
            _ = try registry.access(request)
            return JSON.response(JSONValueEmpty())
        })
        let repo = "/v2/:namespace/:model"
        router.get("\(repo)/manifests/:reference", use: Self.guarded { try await manifest($0, $1, head: false) })
        router.head("\(repo)/manifests/:reference", use: Self.guarded { try await manifest($0, $1, head: true) })
        router.put("\(repo)/manifests/:reference", use: Self.guarded(putManifest))
        router.get("\(repo)/tags/list", use: Self.guarded(tags))
        router.get("\(repo)/blobs/:digest", use: Self.guarded { try await blob($0, $1, head: false) })
        router.head("\(repo)/blobs/:digest", use: Self.guarded { try await blob($0, $1, head: true) })
        router.post("\(repo)/blobs/uploads", use: Self.guarded(startUpload))
        router.patch("\(repo)/blobs/uploads/:id", use: Self.guarded(patchUpload))
        router.put("\(repo)/blobs/uploads/:id", use: Self.guarded(finishUpload))
        router.get("\(repo)/blobs/uploads/:id", use: Self.guarded(uploadStatus))
        router.delete("\(repo)/blobs/uploads/:id", use: Self.guarded { request, context in
            let (_, id) = try ownUpload(request, context)
            registry.cancelUpload(id)
            return Response(status: .noContent)
        })
    }

    // MARK: access


    private func readable(_ request: Request, _ context: BasicRequestContext) throws -> ModelName {
        try registry.readable(try context.parameters.require("namespace"), try context.parameters.require("model"), try registry.access(request))
    }

    private func writable(_ request: Request, _ context: BasicRequestContext) throws -> ModelName {
        try registry.writable(try context.parameters.require("namespace"), try context.parameters.require("model"), try registry.access(request))
    }

    /// The repository and the id of an upload the caller started there (anyone else's, or one
    /// started through another repository's path, is unknown to them).
    private func ownUpload(_ request: Request, _ context: BasicRequestContext) throws -> (ModelName, String) {
        let name = try writable(request, context)
        let id = try context.parameters.require("id")
        try registry.checkUpload(id, of: name, by: try registry.access(request).user ?? "")
        return (name, id)
    }

    /// Runs a handler, rendering a `RegistryError` (or any other) in the spec's shape.
    static func guarded(_ handler: @escaping Handler) -> Handler {
        { request, context in
            do { return try await handler(request, context) } catch let e as RegistryError {
                return Self.errorResponse(e)
            } catch let e as HTTPError {
                return Self.errorResponse(RegistryError(Int(e.status.code), e.status == .notFound ? "NAME_UNKNOWN" : "UNKNOWN", e.body ?? "\(e.status)"))
            } catch {
                return Self.errorResponse(RegistryError(500, "UNKNOWN", "\(error)"))
            }
        }
    }

    static func errorResponse(_ e: RegistryError) -> Response {
        struct Body: Encodable { let errors: [Item] }
        struct Item: Encodable { let code: String; let message: String }
        var response = JSON.response(Body(errors: [Item(code: e.code, message: e.message)]), status: .init(code: e.status))
        if e.status == 401 { response.headers[.wwwAuthenticate] = "Bearer realm=\"hearth\"" }
        if let seconds = e.retryAfter { response.headers[.retryAfter] = String(seconds) }
        return response
    }

    // MARK: manifests

    func manifest(_ request: Request, _ context: BasicRequestContext, head: Bool) async throws -> Response {
        let name = try readable(request, context)
        let m = try registry.manifest(name, reference: try context.parameters.require("reference"))
        var headers = HTTPFields()
        headers[.contentType] = m.manifest.mediaType
        headers[.contentLength] = String(m.data.count)
        headers[HTTPField.Name("Docker-Content-Digest")!] = m.digest.description
        headers[.eTag] = "\"\(m.digest)\""
        if head { return Response(status: .ok, headers: headers) }
        try? registry.database.countDownload(namespace: name.namespace, name: name.model)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: m.data)))
    }

    func putManifest(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = try writable(request, context)
        let body: ByteBuffer
        // A model's manifest is about a kilobyte; every listing reads them all, so a few huge
        // ones would slow every page of the hub.
        do { body = try await request.body.collect(upTo: Manifest.maxBytes) } catch {
            throw RegistryError(413, "SIZE_INVALID", "a manifest is at most \(Manifest.maxBytes >> 10) KiB")
        }
        let tag = try context.parameters.require("reference")
        let digest = try registry.putManifest(name, tag: tag, data: Data(buffer: body))
        var headers = HTTPFields()
        headers[.location] = "/v2/\(name.repository)/manifests/\(digest)"
        headers[HTTPField.Name("Docker-Content-Digest")!] = digest.description
        return Response(status: .created, headers: headers)
    }

    func tags(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = try readable(request, context)
        let tags = registry.store.list().filter { $0.name.namespace == name.namespace && $0.name.model == name.model }.map(\.name.tag)
        guard !tags.isEmpty else { throw RegistryError(404, "NAME_UNKNOWN", "no repository \(name.repository) on this hub") }
        struct Body: Encodable { let name: String; let tags: [String] }
        return JSON.response(Body(name: name.repository, tags: tags))
    }

    // MARK: blobs

    func blob(_ request: Request, _ context: BasicRequestContext, head: Bool) async throws -> Response {
        let digest = try context.parameters.require("digest")
        // A repository the caller may not read answers as one without the blob: the same
        // 404 either way, so that private repositories cannot be told from absent ones.
        let name: ModelName
        do { name = try readable(request, context) } catch let e as RegistryError where e.code == "NAME_UNKNOWN" { throw RegistryError.blobUnknown(digest) }
        let (path, size) = try registry.blob(digest, in: name)
        var headers = HTTPFields()
        headers[.eTag] = "\"\(digest)\""
        headers[HTTPField.Name("Docker-Content-Digest")!] = digest
        return try await FileResponse.make(path: path, size: size, headers: headers, request: request, context: context, head: head)
    }

    // MARK: uploads

    private func uploadHeaders(_ name: ModelName, _ id: String, size: Int) -> HTTPFields {
        var headers = HTTPFields()
        headers[.location] = "/v2/\(name.repository)/blobs/uploads/\(id)"
        headers[.range] = "0-\(max(size - 1, 0))"
        headers[HTTPField.Name("Docker-Upload-UUID")!] = id
        headers[.contentLength] = "0"
        return headers
    }

    /// POST: starts an upload, or with `?digest=` stores the body as a whole blob.
    func startUpload(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = try writable(request, context)
        let id = try registry.startUpload(to: name, by: try registry.access(request).user ?? "")
        if let digest = request.uri.queryParameters.get("digest") {
            do {
                _ = try await append(id, request, offset: nil)
                return try finished(name, try registry.finishUpload(id, digest: digest))
            } catch {
                registry.cancelUpload(id)
                throw error
            }
        }
        return Response(status: .accepted, headers: uploadHeaders(name, id, size: 0))
    }

    func patchUpload(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let (name, id) = try ownUpload(request, context)
        var offset: Int?
        if let range = request.headers[.contentRange] {
            // "a-b" (the spec's form) or "bytes a-b/size".
            let text = range.hasPrefix("bytes ") ? String(range.dropFirst(6).prefix { $0 != "/" }) : range
            let bounds = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard bounds.count == 2, let a = bounds[0], let b = bounds[1], a >= 0, b >= a else {
                throw RegistryError(400, "BLOB_UPLOAD_INVALID", "Content-Range '\(range)' is not a byte range (first-last, 0 <= first <= last)")
            }
            offset = a
        }
        let size = try await append(id, request, offset: offset)
        return Response(status: .accepted, headers: uploadHeaders(name, id, size: size))
    }

    func uploadStatus(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let (name, id) = try ownUpload(request, context)
        return Response(status: .noContent, headers: uploadHeaders(name, id, size: try registry.uploadSize(id)))
    }

    /// PUT `?digest=`: the last chunk (if any), then the digest check.
    func finishUpload(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let (name, id) = try ownUpload(request, context)
        guard let digest = request.uri.queryParameters.get("digest") else {
            throw RegistryError.digestInvalid("finishing an upload needs ?digest=sha256:...")
        }
        _ = try await append(id, request, offset: nil)
        return try finished(name, try registry.finishUpload(id, digest: digest))
    }

    private func append(_ id: String, _ request: Request, offset: Int?) async throws -> Int {
        try await registry.appendUpload(id, at: offset, chunks: request.body) { buffer, write in
            try buffer.withUnsafeReadableBytes { try write($0) }
        }
    }

    private func finished(_ name: ModelName, _ digest: Digest) throws -> Response {
        try registry.link(digest, to: name)
        var headers = HTTPFields()
        headers[.location] = "/v2/\(name.repository)/blobs/\(digest)"
        headers[HTTPField.Name("Docker-Content-Digest")!] = digest.description
        headers[.contentLength] = "0"
        return Response(status: .created, headers: headers)
    }
}

private struct JSONValueEmpty: Encodable {}

extension Registry {
    /// Who is asking: the request's `Authorization: Bearer` token, or nobody.
    func access(_ request: Request) throws(RegistryError) -> HubAccess {
        let header = request.headers[.authorization] ?? ""
        return try access(token: header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : nil)
    }
}

/// The hub's routes (for in-process tests). A reproducer, when given, is woken by each new
/// evaluation result.
public func buildHubRouter(registry: Registry, reproducer: EvalReproducer? = nil,
                           originPolicy: RequestOriginPolicy = RequestOriginPolicy(listenHost: "127.0.0.1", port: 8080)) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: RequestOriginMiddleware(policy: originPolicy) { _, message in
        RegistryController.errorResponse(RegistryError(403, "DENIED", message))
    })
    RegistryController(registry: registry).addRoutes(to: router)
    HuggingFaceController(registry: registry).addRoutes(to: router)
    HubPages(registry: registry).addRoutes(to: router)
    AccountController(registry: registry).addRoutes(to: router)
    EvalController(registry: registry, reproducer: reproducer).addRoutes(to: router)
    return router
}

/// The hub's HTTP application: the registry protocol on `host:port`.
public func buildHubApplication(registry: Registry, host: String, port: Int, version: String, reproducer: EvalReproducer? = nil,
                                allowedHosts: [String] = [], allowedOrigins: [String] = [], idleTimeoutSeconds: Int = 60,
                                onListening: @escaping @Sendable () -> Void = {}) -> some ApplicationProtocol {
    let policy = RequestOriginPolicy(listenHost: host, port: port, allowedHosts: allowedHosts, allowedOrigins: allowedOrigins)
    let router = buildHubRouter(registry: registry, reproducer: reproducer, originPolicy: policy)
    var log = Logger(label: "hearth.hub")
    log.logLevel = .warning
    return Application(router: router, server: .http1(configuration: .init(idleTimeout: .seconds(Int64(idleTimeoutSeconds)))),
                       configuration: .init(address: .hostname(host, port: port), serverName: "hearth-hub/\(version)"),
                       onServerRunning: { _ in onListening() }, logger: log)
}
