import Foundation
import HearthGGUF
import HearthHub
import HTTPTypes
import Hummingbird

/// The Hugging Face Hub's read API over the hub's repositories, so that `huggingface_hub`
/// (with `endpoint=` or `HF_ENDPOINT`) lists, describes and downloads models unchanged:
/// `/api/models` (search, author, filter, sort, pages with `Link`), `/api/models/{repo}`
/// (with `/revision/{rev}`), and `/{repo}/resolve/{rev}/{file}` with the headers its
/// downloader reads (`X-Repo-Commit`, `ETag`, `X-Linked-Etag`, `X-Linked-Size`) and Range.
struct HuggingFaceController {
    let registry: Registry

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/models", use: guarded(list))
        router.get("/api/models/:namespace/:model", use: guarded { try info($0, $1, revision: "main") })
        router.get("/api/models/:namespace/:model/revision/:revision", use: guarded { try info($0, $1, revision: try $1.parameters.require("revision")) })
        router.get("/:namespace/:model/resolve/:revision/:file", use: guarded { try await resolve($0, $1, head: false) })
        router.head("/:namespace/:model/resolve/:revision/:file", use: guarded { try await resolve($0, $1, head: true) })
        router.post("/api/models/:namespace/:model/like", use: guarded { try like($0, $1, true) })
        router.delete("/api/models/:namespace/:model/like", use: guarded { try like($0, $1, false) })
    }

    /// Errors as the Hub writes them: `{"error": "..."}` with `X-Error-Code`.
    private func guarded(_ handler: @escaping Handler) -> Handler {
        { request, context in
            do { return try await handler(request, context) } catch let e as RegistryError {
                var response = JSON.response(["error": e.message], status: .init(code: e.status))
                let code = e.status == 404 ? (e.code == "REVISION_NOT_FOUND" ? "RevisionNotFound" : e.code == "ENTRY_NOT_FOUND" ? "EntryNotFound" : "RepoNotFound") : e.code
                response.headers[HTTPField.Name("X-Error-Code")!] = code
                response.headers[HTTPField.Name("X-Error-Message")!] = e.message
                return response
            } catch {
                return JSON.response(["error": "\(error)"], status: .internalServerError)
            }
        }
    }


    // MARK: models

    struct Sibling: Encodable {
        let rfilename: String
        let size: Int
        let blobId: String
        let lfs: LFS?
        struct LFS: Encodable { let sha256: String; let size: Int; let pointerSize: Int }
    }

    struct GGUFInfo: Encodable {
        let total: Int
        let architecture: String
        let context_length: Int?
        let chat_template: String?
    }

    struct ModelInfo: Encodable {
        let _id: String
        let id: String
        let modelId: String
        let author: String
        let sha: String
        let `private`: Bool
        let disabled = false
        let gated = false
        let downloads: Int
        let likes: Int
        let tags: [String]
        let library_name = "gguf"
        let pipeline_tag = "text-generation"
        let createdAt: String
        let lastModified: String
        let siblings: [Sibling]?
        let gguf: GGUFInfo?
        let cardData: CardData?
    }

    struct CardData: Encodable {
        let license: String?
        let base_model: [String]?
        let tags: [String]?
        let datasets: [String]?
        let language: [String]?
    }

    private func modelInfo(_ r: Registry.RepositorySummary, manifest: StoredManifest, full: Bool) -> ModelInfo {
        let files = Registry.files(of: manifest.manifest)
        let gguf = files.first { $0.name == "model.gguf" }.flatMap { try? GGUFFile(path: registry.store.blobPath($0.blob.digest)) }
        let card = manifest.name.tag == r.head.name.tag ? r.card
            : (try? registry.database.revisions(namespace: r.namespace, name: r.model))?.first { $0.tag == manifest.name.tag }
        var tags = ["gguf"]
        if let arch = gguf?.architecture { tags.append(arch) }
        if let quant = gguf.map({ $0.fileTypeName ?? $0.predominantTypeName }) { tags.append(quant) }
        if let license = card?.license ?? gguf?.string("general.license") { tags.append("license:\(license)") }
        for b in card?.baseModels ?? [] { tags.append("base_model:\(b)") }
        for d in card?.datasets ?? [] { tags.append("dataset:\(d)") }
        tags.append(contentsOf: card?.languages ?? [])
        tags.append(contentsOf: card?.tags ?? [])
        tags.append(contentsOf: r.tags.map { "tag:\($0)" })
        let cardData = card.map { c in
            CardData(license: c.license, base_model: c.baseModels.isEmpty ? nil : c.baseModels, tags: c.tags.isEmpty ? nil : c.tags,
                     datasets: c.datasets.isEmpty ? nil : c.datasets, language: c.languages.isEmpty ? nil : c.languages)
        }
        let siblings = files.map { f in
            Sibling(rfilename: f.name, size: f.blob.size, blobId: f.blob.digest.hex,
                    lfs: f.name.hasSuffix(".gguf") ? .init(sha256: f.blob.digest.hex, size: f.blob.size, pointerSize: 134) : nil)
        }
        let info = gguf.map { g in
            GGUFInfo(total: g.parameterCount, architecture: g.architecture ?? "unknown",
                     context_length: g.int("\(g.architecture ?? "").context_length"), chat_template: g.string("tokenizer.chat_template"))
        }
        return ModelInfo(_id: r.id, id: r.id, modelId: r.id, author: r.namespace, sha: Registry.commit(of: manifest), private: r.isPrivate,
                         downloads: r.downloads, likes: r.likes, tags: tags, createdAt: Self.iso(r.createdAt),
                         lastModified: Self.iso(r.lastModified), siblings: full ? siblings : nil, gguf: full ? info : nil,
                         cardData: cardData)
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    func list(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var repositories = try registry.repositories(visibleTo: try registry.access(request))
        if let search = query.get("search"), !search.isEmpty {
            repositories = repositories.filter { $0.id.localizedCaseInsensitiveContains(search) }
        }
        if let author = query.get("author"), !author.isEmpty { repositories = repositories.filter { $0.namespace == author } }
        var infos = repositories.map { ($0, modelInfo($0, manifest: $0.head, full: false)) }
        let filters = query.getAll("filter").flatMap { $0.split(separator: ",").map(String.init) }
        if !filters.isEmpty { infos = infos.filter { _, info in filters.allSatisfy { f in info.tags.contains { $0.caseInsensitiveCompare(f) == .orderedSame } } } }
        let sort = query.get("sort") ?? "downloads"
        let descending = (query.get("direction") ?? "-1") == "-1"
        func before(_ a: (Registry.RepositorySummary, ModelInfo), _ b: (Registry.RepositorySummary, ModelInfo)) -> Bool {
            switch sort {
            case "lastModified", "last_modified": return a.0.lastModified < b.0.lastModified
            case "createdAt", "created_at": return a.0.createdAt < b.0.createdAt
            case "id", "modelId": return a.0.id < b.0.id
            case "likes": return (a.0.likes, b.0.id) < (b.0.likes, a.0.id)
            default: return (a.0.downloads, b.0.id) < (b.0.downloads, a.0.id)
            }
        }
        infos.sort { descending ? before($1, $0) : before($0, $1) }
        let limit = max(1, min(Int(query.get("limit") ?? "") ?? 1000, 1000))
        let start = max(0, Int(query.get("cursor") ?? "") ?? 0)
        let page = Array(infos.dropFirst(start).prefix(limit))
        var response = JSON.response(page.map(\.1))
        // Compared without adding start and limit: a cursor near Int.max would overflow the sum.
        if start < infos.count, limit < infos.count - start {
            var items = request.uri.queryParameters.map { ($0.key, $0.value) }.filter { $0.0 != "cursor" }
            items.append(("cursor", "\(start + limit)"))
            let text = items.map { "\($0.0)=\(String($0.1).addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? "")" }.joined(separator: "&")
            let host = request.head.authority ?? "127.0.0.1"
            response.headers[HTTPField.Name("Link")!] = "<http://\(host)/api/models?\(text)>; rel=\"next\""
        }
        return response
    }

    func info(_ request: Request, _ context: BasicRequestContext, revision: String) throws -> Response {
        let access = try registry.access(request)
        let name = try registry.readable(try context.parameters.require("namespace"), try context.parameters.require("model"), access)
        guard let summary = try registry.repositories(visibleTo: access).first(where: { $0.namespace == name.namespace && $0.model == name.model }) else {
            throw RegistryError(404, "NAME_UNKNOWN", "no repository \(name.repository) on this hub")
        }
        return JSON.response(modelInfo(summary, manifest: try registry.revision(name, revision), full: true))
    }

    /// Likes need a user's write token (a like changes the hub); a like is counted once per user.
    func like(_ request: Request, _ context: BasicRequestContext, _ liked: Bool) throws -> Response {
        let access = try registry.access(request)
        guard case .user(let user, let scope) = access else { throw RegistryError.unauthorized("liking a model needs a token") }
        guard scope == .write else { throw RegistryError.denied("the token is read-only; liking a model needs a write token") }
        let name = try registry.readable(try context.parameters.require("namespace"), try context.parameters.require("model"), access)
        guard try registry.database.repository(namespace: name.namespace, name: name.model) != nil else {
            throw RegistryError(404, "NAME_UNKNOWN", "no repository \(name.repository) on this hub")
        }
        try registry.database.setLike(user: user, namespace: name.namespace, name: name.model, liked)
        return JSON.response(["likes": try registry.database.likes(namespace: name.namespace, name: name.model)])
    }

    // MARK: files

    func resolve(_ request: Request, _ context: BasicRequestContext, head: Bool) async throws -> Response {
        let name = try registry.readable(try context.parameters.require("namespace"), try context.parameters.require("model"), try registry.access(request))
        let revision = try context.parameters.require("revision")
        let manifest = try registry.revision(name, revision)
        let fileName = try context.parameters.require("file")
        guard let file = Registry.files(of: manifest.manifest).first(where: { $0.name == fileName }) else {
            throw RegistryError(404, "ENTRY_NOT_FOUND", "no file '\(fileName)' in \(name.repository) at \(revision)")
        }
        let path = registry.store.blobPath(file.blob.digest), size = file.blob.size
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Repo-Commit")!] = Registry.commit(of: manifest)
        headers[.eTag] = "\"\(file.blob.digest.hex)\""
        headers[HTTPField.Name("X-Linked-Etag")!] = "\"\(file.blob.digest.hex)\""
        headers[HTTPField.Name("X-Linked-Size")!] = String(size)
        headers[.contentDisposition] = "attachment; filename=\"\(fileName)\""
        let response = try await FileResponse.make(path: path, size: size, headers: headers, request: request, context: context, head: head)
        // A download is counted once: when the model file's first byte is sent.
        if !head && fileName == "model.gguf" && (response.status == .ok || response.headers[.contentRange]?.hasPrefix("bytes 0-") == true) {
            try? registry.database.countDownload(namespace: name.namespace, name: name.model)
        }
        return response
    }
}
