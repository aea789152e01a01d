import HearthGGUF

/// The architectures Hearth runs, by `general.architecture`. Adding one is one line here and
/// one file in Models/.
enum Architectures {
    static let registry: [String: @Sendable (GGUFFile) throws(EngineError) -> any LanguageModel] = [
        "llama": { f throws(EngineError) in try Llama(f) },
        "qwen2": { f throws(EngineError) in try Qwen2.load(f) },
        "gemma3": { f throws(EngineError) in try Gemma3(f) },
    ]

    static func load(_ file: GGUFFile) throws(EngineError) -> any LanguageModel {
        guard let arch = file.architecture else {
            throw EngineError("'\(file.path)' has no general.architecture; it is not a model file")
        }
        guard let make = registry[arch] else {
            throw EngineError("architecture '\(arch)' is not supported (supported: \(registry.keys.sorted().joined(separator: ", ")))")
        }
        return try make(file)
    }
}

/// The network of a GGUF model file, built by the architecture its metadata names.
public func loadNetwork(_ file: GGUFFile) throws(EngineError) -> any LanguageModel {
    try Architectures.load(file)
}
