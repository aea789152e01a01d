import Foundation

/// The hub as the Hugging Face Hub's read API sees it: a repository is `namespace/model`, a
/// revision is a tag (`main` is `latest`) or a commit (the first 40 hex digits of a manifest's
/// digest), and a revision's files are its layers under fixed names.
extension Registry {
    /// A file of a revision: its name and its blob.
    public struct RepositoryFile: Sendable {
        public let name: String
        public let blob: Descriptor
    }

    /// What `/api/models` lists of a repository.
    public struct RepositorySummary: Sendable {
        public let namespace: String
        public let model: String
        public let isPrivate: Bool
        public let downloads: Int
        public let createdAt: Date
        public let lastModified: Date
        /// The `latest` manifest, else the newest.
        public let head: StoredManifest
        public let tags: [String]
        public let likes: Int
        /// What the hub indexed of the head's tag: card fields and lineage.
        public let card: HubDatabase.Revision?
        public var id: String { "\(namespace)/\(model)" }
    }

    /// The commit id of a manifest, as Hugging Face clients expect one (40 hex digits).
    public static func commit(of manifest: StoredManifest) -> String { String(manifest.digest.hex.prefix(40)) }

    /// The manifest a revision names: `main` (the `latest` tag), a tag, or a commit id.
    public func revision(_ repository: ModelName, _ revision: String) throws(RegistryError) -> StoredManifest {
        guard store.list().contains(where: { $0.name.namespace == repository.namespace && $0.name.model == repository.model }) else {
            throw RegistryError(404, "NAME_UNKNOWN", "no repository \(repository.repository) on this hub")
        }
        if revision.count == 40, revision.allSatisfy({ $0.isHexDigit }) {
            for entry in store.list() where entry.name.namespace == repository.namespace && entry.name.model == repository.model {
                if let m = entry.manifest, Self.commit(of: m) == revision { return m }
            }
            throw RegistryError(404, "REVISION_NOT_FOUND", "no commit \(revision) in \(repository.repository)")
        }
        do {
            return try manifest(repository, reference: revision == "main" ? ModelName.defaultTag : revision)
        } catch {
            throw RegistryError(404, "REVISION_NOT_FOUND", "no revision '\(revision)' in \(repository.repository)")
        }
    }

    /// A revision's files: the model as `model.gguf`, and its other layers.
    public static func files(of manifest: Manifest) -> [RepositoryFile] {
        var files: [RepositoryFile] = []
        var counts: [String: Int] = [:]
        for layer in manifest.layers {
            let base: String
            switch layer.mediaType {
            case MediaType.model: base = "model.gguf"
            case MediaType.adapter: base = "adapter.gguf"
            case MediaType.chatTemplate: base = "chat_template.jinja"
            case MediaType.ollamaTemplate: base = "template.gotmpl"
            case MediaType.system: base = "system.txt"
            case MediaType.parameters: base = "params.json"
            case MediaType.license: base = "LICENSE"
            case MediaType.messages: base = "messages.json"
            case MediaType.readme: base = "README.md"
            default: continue
            }
            let n = counts[base, default: 0]
            counts[base] = n + 1
            let ext = (base as NSString).pathExtension, stem = (base as NSString).deletingPathExtension
            let name = n == 0 ? base : ext.isEmpty ? "\(stem)-\(n + 1)" : "\(stem)-\(n + 1).\(ext)"
            files.append(RepositoryFile(name: name, blob: layer))
        }
        return files
    }

    /// The repositories `access` may see, with their metadata.
    public func repositories(visibleTo access: HubAccess) throws(RegistryError) -> [RepositorySummary] {
        var byRepository: [String: [StoredManifest]] = [:]
        for entry in store.list() where entry.name.isLocal {
            if let m = entry.manifest { byRepository["\(entry.name.namespace)/\(entry.name.model)", default: []].append(m) }
        }
        let records: [HubDatabase.Repository]
        do { records = try database.repositories() } catch { throw .failed(error.message) }
        var out: [RepositorySummary] = []
        for record in records {
            let id = "\(record.namespace)/\(record.name)"
            guard let manifests = byRepository[id], !manifests.isEmpty else { continue }
            if record.isPrivate && !mayActFor(record.namespace, access) { continue }
            let head = manifests.first { $0.name.tag == ModelName.defaultTag } ?? manifests.max { $0.modified < $1.modified }!
            let likes: Int, revisions: [HubDatabase.Revision]
            do {
                likes = try database.likes(namespace: record.namespace, name: record.name)
                revisions = try database.revisions(namespace: record.namespace, name: record.name)
            } catch { throw .failed(error.message) }
            out.append(RepositorySummary(namespace: record.namespace, model: record.name, isPrivate: record.isPrivate,
                                         downloads: record.downloads, createdAt: record.createdAt,
                                         lastModified: manifests.map(\.modified).max()!, head: head,
                                         tags: manifests.map(\.name.tag).sorted(), likes: likes,
                                         card: revisions.first { $0.tag == head.name.tag }))
        }
        return out
    }
}
