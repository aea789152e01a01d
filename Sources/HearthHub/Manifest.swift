import Foundation

/// One blob a manifest refers to: its kind, digest and size (an OCI descriptor).
public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int

    public init(mediaType: String, digest: Digest, size: Int) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
    }
}

/// The media types of a model's layers. Hearth uses Ollama's for what means the same in both
/// (so that Ollama can pull from a Hearth hub), and its own for the chat template: Ollama's
/// `template` layer is a Go template, Hearth's is a Jinja chat template as GGUF files carry.
public enum MediaType {
    public static let manifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let config = "application/vnd.docker.container.image.v1+json"
    public static let model = "application/vnd.ollama.image.model"
    public static let system = "application/vnd.ollama.image.system"
    public static let parameters = "application/vnd.ollama.image.params"
    public static let license = "application/vnd.ollama.image.license"
    public static let adapter = "application/vnd.ollama.image.adapter"
    public static let messages = "application/vnd.ollama.image.messages"
    /// Ollama's Go template: kept when pulled, never used to render.
    public static let ollamaTemplate = "application/vnd.ollama.image.template"
    public static let chatTemplate = "application/vnd.hearth.chat-template.jinja"
    /// The model card (`README.md`, Markdown with YAML front matter).
    public static let readme = "application/vnd.hearth.model-card.markdown"

    /// A word for a media type, as `hearth show` lists blobs.
    public static func shortName(_ mediaType: String) -> String {
        switch mediaType {
        case config: "config"
        case model: "model"
        case system: "system"
        case parameters: "params"
        case license: "license"
        case adapter: "adapter"
        case messages: "messages"
        case ollamaTemplate: "template (Go)"
        case chatTemplate: "template"
        case readme: "readme"
        default: mediaType
        }
    }
}

/// What a `name:tag` points at: a config blob and the layers (an OCI image manifest, as the
/// Ollama registry serves it). Stored as the exact bytes it was written or pulled with, so
/// that its digest stays the same.
public struct Manifest: Codable, Hashable, Sendable {
    public var schemaVersion = 2
    public var mediaType = MediaType.manifest
    public var config: Descriptor
    public var layers: [Descriptor]

    public init(config: Descriptor, layers: [Descriptor]) {
        self.config = config
        self.layers = layers
    }

    /// The config and the layers: every blob the manifest keeps alive.
    public var blobs: [Descriptor] { [config] + layers }

    public func layers(_ mediaType: String) -> [Descriptor] { layers.filter { $0.mediaType == mediaType } }

    /// The manifest's bytes: sorted keys, so equal manifests have equal digests.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(self)
    }

    /// The largest manifest and the most layers a hub accepts (Ollama's have a handful).
    public static let maxBytes = 256 << 10
    public static let maxLayers = 64

    public static func decode(_ data: Data, source: String) throws(HubError) -> Manifest {
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw HubError("the manifest \(source) is not valid: \(decodingProblem(error))")
        }
        guard manifest.schemaVersion == 2 else { throw HubError("the manifest \(source) has schemaVersion \(manifest.schemaVersion); only 2 is supported") }
        guard manifest.layers.count <= maxLayers else {
            throw HubError("the manifest \(source) has \(manifest.layers.count) layers; a model has at most \(maxLayers)")
        }
        guard manifest.layers(MediaType.model).count == 1 else {
            throw HubError("the manifest \(source) has \(manifest.layers(MediaType.model).count) model layers; a model has exactly one")
        }
        return manifest
    }
}

/// The config blob of a model: what Ollama's registry records about it.
public struct ModelConfig: Codable, Sendable {
    public var model_format = "gguf"
    public var model_family: String
    public var model_families: [String]
    /// The parameter count as Ollama writes it (`135M`).
    public var model_type: String
    /// The quantization (`Q4_1`).
    public var file_type: String
    public var architecture = "amd64"
    public var os = "linux"
    public var rootfs: RootFS
    /// The digest of the model this one was made from (quantized or fine-tuned), if known.
    public var parent: String?

    public struct RootFS: Codable, Sendable {
        public var type = "layers"
        public var diff_ids: [String]
    }
}

/// A decoding error in one line: the key path and what was wrong.
func decodingProblem(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return keys.isEmpty ? "" : " at '\(keys)'"
    }
    switch error {
    case .dataCorrupted(let c): return "\(c.debugDescription)\(path(c))"
    case .keyNotFound(let key, let c): return "'\(key.stringValue)' is missing\(path(c))"
    case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(c.debugDescription)\(path(c))"
    @unknown default: return "\(error)"
    }
}
