import Foundation
import HearthEngine

/// A model the server offers, loaded, under the name clients ask for it by.
public final class ServedModel: Sendable {
    /// The file name without `.gguf` (`SmolLM2-135M-Instruct.Q4_1`).
    public let name: String
    public let path: String
    public let model: Model
    public let fileSize: Int
    public let modified: Date

    init(name: String, path: String, model: Model) {
        self.name = name
        self.path = path
        self.model = model
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        fileSize = (attributes?[.size] as? Int) ?? model.file.fileSize
        modified = (attributes?[.modificationDate] as? Date) ?? Date()
    }

    /// The quantization holding most of the weights' bytes (`Q4_1`), as Ollama's details name it.
    public var quantization: String {
        var bytes: [String: Int] = [:]
        for t in model.file.tensors { bytes[t.type.description.uppercased(), default: 0] += t.byteCount }
        return bytes.max { $0.value < $1.value }?.key ?? "unknown"
    }

    /// Parameters, rounded the way Ollama writes them (`135M`, `1.5B`).
    public var parameterSize: String {
        let n = model.file.tensors.reduce(0) { $0 + $1.elementCount }
        return n < 1_000_000_000 ? "\(Int((Double(n) / 1e6).rounded()))M" : "\((Double(n) / 1e8).rounded() / 10)B"
    }
}

/// The models a server offers, loaded at start.
public final class ModelRegistry: Sendable {
    public let models: [ServedModel]

    /// Loads every GGUF file in `paths`; a directory adds the `.gguf` files directly inside it.
    /// Throws naming the file that failed, or when two files would get the same name.
    public init(paths: [String], onLoad: (String) -> Void = { _ in }) throws(ServerError) {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ServerError("no such file or directory: '\(path)'")
            }
            if isDirectory.boolValue {
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                let ggufs = entries.filter { $0.hasSuffix(".gguf") }.sorted()
                guard !ggufs.isEmpty else { throw ServerError("'\(path)' holds no .gguf files") }
                files += ggufs.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        var loaded: [ServedModel] = []
        for file in files {
            let name = Self.name(of: file)
            if let other = loaded.first(where: { $0.name == name }) {
                throw ServerError("'\(file)' and '\(other.path)' would both be served as '\(name)'")
            }
            let model: Model
            do { model = try Model(path: file) } catch { throw ServerError("cannot load '\(file)': \(error.message)") }
            loaded.append(ServedModel(name: name, path: file, model: model))
            onLoad(name)
        }
        models = loaded
    }

    public init(models: [ServedModel]) { self.models = models }

    static func name(of path: String) -> String {
        let file = (path as NSString).lastPathComponent
        return file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
    }

    /// The model called `name`. Ollama clients add a tag (`name:latest`); a `:latest` suffix
    /// matches the bare name.
    public func model(named name: String) -> ServedModel? {
        if let m = models.first(where: { $0.name == name }) { return m }
        if name.hasSuffix(":latest") { return model(named: String(name.dropLast(7))) }
        return nil
    }
}

/// A problem with the server's configuration or its models, said in one line.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
