import Foundation
import HearthGGUF
import HearthTemplate

/// A model in the store with its layers read: what `hearth run`, `hearth serve` and
/// `hearth show` need of it.
public struct StoredModel: Sendable {
    public let name: ModelName
    public let manifest: StoredManifest
    /// The GGUF file (a blob).
    public let modelPath: String
    public let modelDigest: Digest
    public let modelSize: Int
    /// A Jinja chat template that replaces the GGUF's own.
    public let chatTemplate: String?
    /// The system message used when a conversation has none.
    public let system: String?
    public let parameters: ModelParameters
    public let licenses: [String]
    /// LoRA adapters (GGUF blobs). Hearth cannot apply them yet, and says so when asked to run one.
    public let adapterPaths: [String]
    /// Messages that start every conversation (`MESSAGE` lines).
    public let messages: [Modelfile.Message]
    /// The model card's Markdown (`README`).
    public let readme: String?
    public let config: ModelConfig?
    /// The model was pulled with an Ollama Go template, which Hearth does not render: the
    /// GGUF's own template is used.
    public let hasOllamaTemplate: Bool

    /// The Modelfile that recreates this model from its GGUF blob.
    public var modelfile: Modelfile {
        var f = Modelfile(from: modelPath)
        f.template = chatTemplate
        f.system = system
        f.parameters = parameters
        f.adapters = adapterPaths
        f.licenses = licenses
        f.messages = messages
        f.readme = readme
        f.parent = config?.parent
        return f
    }
}

extension ModelStore {
    /// The model called `name`, with every blob it names checked to be present.
    public func resolve(_ name: ModelName) throws(HubError) -> StoredModel {
        guard let stored = try manifest(name) else {
            var hint = ""
            let others = list().map(\.name).filter { $0.model == name.model }
            if !others.isEmpty { hint = "; the store has \(others.map(\.description).joined(separator: ", "))" }
            throw HubError("no model '\(name)' in the store at '\(root)'\(hint)")
        }
        let m = stored.manifest
        for blob in m.blobs {
            guard let size = blobSize(blob.digest), size == blob.size else {
                throw HubError("the model '\(name)' is damaged: its blob \(blob.digest) is missing or has the wrong size; pull or import it again")
            }
        }
        func text(_ d: Descriptor) throws(HubError) -> String {
            guard let s = String(data: try readBlob(d.digest), encoding: .utf8) else { throw HubError("the layer \(d.digest) of '\(name)' is not UTF-8 text") }
            return s
        }
        func json<T: Decodable>(_ type: T.Type, _ d: Descriptor) throws(HubError) -> T {
            do { return try JSONDecoder().decode(T.self, from: try readBlob(d.digest)) } catch let e as HubError { throw e } catch {
                throw HubError("the layer \(d.digest) of '\(name)' is not valid: \(decodingProblem(error))")
            }
        }
        let model = m.layers(MediaType.model)[0]
        var parameters = ModelParameters()
        for d in m.layers(MediaType.parameters) { parameters = parameters.overlaid(with: try json(ModelParameters.self, d)) }
        var messages: [Modelfile.Message] = []
        for d in m.layers(MediaType.messages) { messages += try json([Modelfile.Message].self, d) }
        var licenses: [String] = []
        for d in m.layers(MediaType.license) { licenses.append(try text(d)) }
        return StoredModel(
            name: name, manifest: stored, modelPath: blobPath(model.digest), modelDigest: model.digest, modelSize: model.size,
            chatTemplate: try m.layers(MediaType.chatTemplate).last.map { (d) throws(HubError) in try text(d) },
            system: try m.layers(MediaType.system).last.map { (d) throws(HubError) in try text(d) },
            parameters: parameters, licenses: licenses,
            adapterPaths: m.layers(MediaType.adapter).map { blobPath($0.digest) },
            messages: messages,
            readme: try m.layers(MediaType.readme).last.map { (d) throws(HubError) in try text(d) },
            config: try? JSONDecoder().decode(ModelConfig.self, from: readBlob(m.config.digest)),
            hasOllamaTemplate: !m.layers(MediaType.ollamaTemplate).isEmpty)
    }

    /// Makes `name` from a Modelfile: its `FROM` is a GGUF file (copied in as it is) or a model
    /// in the store (whose layers the new lines replace or, for parameters, override one by one).
    /// Relative paths are read from `folder`. `progress` sees bytes copied of the GGUF file.
    /// With `readingFiles` false (a Modelfile that came over the network) no line may name a
    /// file: FROM must be a stored model, and README is the card's text, never a path.
    @discardableResult
    public func create(_ name: ModelName, from modelfile: Modelfile, relativeTo folder: String = ".", readingFiles: Bool = true,
                       waiting: () -> Void = {}, progress: (Int, Int) -> Void = { _, _ in }) throws(HubError) -> StoredModel {
        if !readingFiles {
            guard (try? ModelName(parsing: modelfile.from)) != nil, !modelfile.from.hasPrefix("/"), !modelfile.from.hasPrefix("~"), !modelfile.from.hasPrefix(".") else {
                throw HubError("FROM '\(modelfile.from)' must be a model in the store here; files are read only by hearth create on the command line")
            }
            guard modelfile.adapters.isEmpty else { throw HubError("ADAPTER names a file; files are read only by hearth create on the command line") }
            if let readme = modelfile.readme, Self.looksLikePath(readme) {
                throw HubError("README '\(readme)' names a file; here a README is the card's text itself (files are read only by hearth create on the command line)")
            }
        }
        if let template = modelfile.template { try Self.checkTemplate(template) }
        func path(_ p: String) -> String {
            let expanded = (p as NSString).expandingTildeInPath
            return expanded.hasPrefix("/") ? expanded : (folder as NSString).appendingPathComponent(expanded)
        }
        try whileWriting(waiting: waiting) { () throws(HubError) in
            var layers: [Descriptor] = []
            var config: ModelConfig
            var base: StoredModel?
            let fromPath = path(modelfile.from)
            if StoreFiles.fileSize(fromPath) != nil {
                let gguf = try Self.openGGUF(fromPath, what: "FROM")
                // A blob of this store (as `hearth show --modelfile` writes FROM) is not copied again.
                let blob: (digest: Digest, size: Int)
                if let stored = storedBlob(at: fromPath) { blob = stored } else { blob = try addBlob(copying: fromPath, progress: progress) }
                layers.append(Descriptor(mediaType: MediaType.model, digest: blob.digest, size: blob.size))
                config = Self.config(of: gguf)
            } else {
                let baseName: ModelName
                do throws(HubError) { baseName = try ModelName(parsing: modelfile.from) } catch {
                    throw HubError("FROM '\(modelfile.from)': no such file, and not a model name (\(error.message))")
                }
                guard try manifest(baseName) != nil else {
                    throw HubError("FROM '\(modelfile.from)': no such file, and no model '\(baseName)' in the store at '\(root)'")
                }
                let b = try resolve(baseName)
                base = b
                layers = b.manifest.manifest.layers.filter { $0.mediaType == MediaType.model || $0.mediaType == MediaType.adapter || $0.mediaType == MediaType.license }
                if let c = b.config { config = c } else {
                    config = Self.config(of: try Self.openGGUF(b.modelPath, what: "the model of '\(baseName)'"))
                }
            }
            for adapter in modelfile.adapters {
                let p = path(adapter)
                _ = try Self.openGGUF(p, what: "ADAPTER")
                let blob = try addBlob(copying: p)
                layers.append(Descriptor(mediaType: MediaType.adapter, digest: blob.digest, size: blob.size))
            }
            func add(_ mediaType: String, _ data: Data) throws(HubError) {
                let blob = try addBlob(data)
                layers.append(Descriptor(mediaType: mediaType, digest: blob.digest, size: blob.size))
            }
            for license in modelfile.licenses { try add(MediaType.license, Data(license.utf8)) }
            if let t = modelfile.template ?? base?.chatTemplate { try add(MediaType.chatTemplate, Data(t.utf8)) }
            if let s = modelfile.system ?? base?.system { try add(MediaType.system, Data(s.utf8)) }
            let parameters = (base?.parameters ?? ModelParameters()).overlaid(with: modelfile.parameters)
            if !parameters.isEmpty { try add(MediaType.parameters, Self.json(parameters)) }
            let messages = modelfile.messages.isEmpty ? (base?.messages ?? []) : modelfile.messages
            if !messages.isEmpty { try add(MediaType.messages, Self.json(messages)) }
            let readmeText = try modelfile.readme.map { (r) throws(HubError) in readingFiles ? try Self.readmeText(r, path: path(r)) : r }
            if let readme = readmeText ?? base?.readme {
                _ = try ModelCard(parsing: readme)
                try add(MediaType.readme, Data(readme.utf8))
            }
            if let parent = modelfile.parent { config.parent = parent }

            config.rootfs = .init(diff_ids: layers.map(\.digest.description))
            let configBlob = try addBlob(Self.json(config))
            let manifest = Manifest(config: Descriptor(mediaType: MediaType.config, digest: configBlob.digest, size: configBlob.size), layers: layers)
            try writeManifest(manifest.encoded(), for: name)
        }
        return try resolve(name)
    }

    /// The digest and size of `path` when it is one of this store's blobs.
    func storedBlob(at path: String) -> (digest: Digest, size: Int)? {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard url.deletingLastPathComponent().path == URL(fileURLWithPath: blobsDirectory).standardizedFileURL.path,
              let digest = try? Digest(parsing: url.lastPathComponent), let size = blobSize(digest) else { return nil }
        return (digest, size)
    }

    /// Whether a one-line README value reads as a file name (how `readmeText` would take it,
    /// without looking at the disk).
    static func looksLikePath(_ value: String) -> Bool {
        !value.contains("\n") && (value.hasSuffix(".md") || ["/", "~", "./", "../"].contains(where: value.hasPrefix))
    }

    /// A `README` value: the file it names, or the text itself.
    static func readmeText(_ value: String, path: String) throws(HubError) -> String {
        guard !value.contains("\n"), value.hasSuffix(".md") || StoreFiles.fileSize(path) != nil else { return value }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw HubError("README '\(value)': cannot read the file")
        }
        return text
    }

    static func json(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(value)
    }

    static func openGGUF(_ path: String, what: String) throws(HubError) -> GGUFFile {
        do { return try GGUFFile(path: path) } catch { throw HubError("\(what) '\(path)' is not a usable GGUF file: \(error.message)") }
    }

    static func config(of gguf: GGUFFile) -> ModelConfig {
        let family = gguf.architecture ?? "unknown"
        return ModelConfig(model_family: family, model_families: [family], model_type: gguf.parameterSizeLabel,
                           file_type: gguf.fileTypeName ?? gguf.predominantTypeName, rootfs: .init(diff_ids: []))
    }

    /// A `TEMPLATE` must be a Jinja chat template that parses; Ollama's Go templates are
    /// recognised and refused with a pointer to what to write instead.
    static func checkTemplate(_ source: String) throws(HubError) {
        for goSign in ["{{ .", "{{- .", "{{ if .", "{{- if .", "{{ range .", "{{- range ."] where source.contains(goSign) {
            throw HubError("TEMPLATE looks like an Ollama Go template ('\(goSign)'); Hearth's TEMPLATE is a Jinja chat template, the language of GGUF's tokenizer.chat_template (leave TEMPLATE out to use the GGUF's own)")
        }
        do { _ = try ChatTemplate(source) } catch { throw HubError("TEMPLATE does not parse as a Jinja chat template: \(error)") }
    }
}
