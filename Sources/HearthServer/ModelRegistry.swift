import Foundation
import HearthEngine
import HearthGGUF
import HearthHub
import Synchronization

/// A GGUF file the server offers, under the name clients ask for it by: a file given to
/// `hearth serve`, or a model in the store.
public struct ModelFile: Sendable {
    /// The file name without `.gguf` (`SmolLM2-135M-Instruct.Q4_1`), or the store name
    /// (`smollm2:latest`).
    public let name: String
    public let path: String
    public let size: Int
    public let modified: Date
    /// From the GGUF header, for listings of models not loaded.
    public let architecture: String
    /// The quantization (`Q4_K_M`): `general.file_type`, else the format holding most bytes.
    public let quantization: String
    /// Parameters, rounded the way Ollama writes them (`135M`, `1.5B`).
    public let parameterSize: String
    /// The store's record: chat template, system message, parameters, opening messages.
    public let stored: StoredModel?
    /// The manifest digest of a stored model (Ollama's `digest`), else empty.
    public var digest: String { stored?.manifest.digest.hex ?? "" }

    init(name: String, path: String, gguf: GGUFFile) {
        self.name = name
        self.path = path
        // The file's own size and date: attributesOfItem would describe a symbolic link itself.
        let attributes = try? FileManager.default.attributesOfItem(atPath: (path as NSString).resolvingSymlinksInPath)
        size = gguf.fileSize
        modified = (attributes?[.modificationDate] as? Date) ?? Date()
        architecture = gguf.architecture ?? "unknown"
        quantization = gguf.fileTypeName ?? gguf.predominantTypeName
        parameterSize = gguf.parameterSizeLabel
        stored = nil
    }

    init(stored: StoredModel) throws(ServerError) {
        name = stored.name.description
        path = stored.modelPath
        size = stored.manifest.totalSize
        modified = stored.manifest.modified
        self.stored = stored
        if let config = stored.config {
            architecture = config.model_family
            quantization = config.file_type
            parameterSize = config.model_type
        } else {
            let gguf: GGUFFile
            do { gguf = try GGUFFile(path: stored.modelPath) } catch { throw ServerError("the model file of '\(name)' is damaged: \(error.message)") }
            architecture = gguf.architecture ?? "unknown"
            quantization = gguf.fileTypeName ?? gguf.predominantTypeName
            parameterSize = gguf.parameterSizeLabel
        }
    }
}

/// The clock the keep-alive times are read on.
let serverEpoch = ContinuousClock.now
var uptimeNanos: Int64 { Int64((ContinuousClock.now - serverEpoch).seconds * 1e9) }

/// A model the server has loaded.
public final class ServedModel: Sendable {
    public let file: ModelFile
    public let model: Model
    /// Jobs submitted and not yet finished; a model in use is never unloaded.
    let activeJobs = Atomic<Int>(0)
    /// When it was last used (`uptimeNanos`).
    let lastUsed = Atomic<Int64>(uptimeNanos)
    /// Seconds to stay loaded once idle; negative: for ever.
    let keepAlive: Atomic<Int64>
    /// Unloaded: its sessions are dropped rather than kept for the next job.
    let unloaded = Atomic<Bool>(false)

    /// What it may hold in memory: its file (the weights, repacked once) and the KV caches
    /// of as many sessions as the server has slots.
    public let memoryBytes: Int

    init(file: ModelFile, model: Model, keepAlive: Int64, sessions: Int, contextSize: Int) {
        self.file = file
        self.model = model
        self.keepAlive = Atomic(keepAlive)
        memoryBytes = file.size + sessions * model.kvCacheBytes(contextSize: contextSize)
    }

    public var name: String { file.name }
    public var path: String { file.path }
    public var fileSize: Int { file.size }
    public var modified: Date { file.modified }

    public var quantization: String { file.quantization }
    public var parameterSize: String { file.parameterSize }

    /// Marks it used now.
    func touch() { lastUsed.store(uptimeNanos, ordering: .relaxed) }
}

/// The models a server offers, and which of them are loaded.
///
/// Every file is checked when the server starts (its GGUF header parsed), so a bad file is an
/// error at start, not at the first request. A model is loaded when a request asks for it (or
/// by `preload`), and unloaded:
/// - when loading another would pass `maxLoaded` models or `memoryBudget` bytes, counting each
///   model's file and the KV caches of `sessionsPerModel` sessions of `contextSize` (the least
///   recently used idle one first; a model with a request in flight is never unloaded, so a
///   budget can be passed while every loaded model is busy);
/// - when it has been idle for its keep-alive (Ollama's `keep_alive`: the last request's value,
///   else the server's `--keep-alive`; negative keeps it for ever, 0 unloads it as soon as it
///   is idle).
public final class ModelRegistry: Sendable {
    /// The files given to `hearth serve`.
    public let givenFiles: [ModelFile]
    /// The store whose models are offered too (read at each request, so models imported or
    /// removed while the server runs appear and go).
    public let store: ModelStore?
    public let maxLoaded: Int
    public let memoryBudget: Int?
    /// Sessions a model may hold at once (the server's slots), and their context: what the
    /// memory budget counts beside the files.
    public let sessionsPerModel: Int
    public let contextSize: Int
    /// Seconds an idle model stays loaded unless a request says otherwise; negative: for ever.
    public let defaultKeepAlive: Int64
    private let loaded = Mutex<[String: ServedModel]>([:])
    /// Loads in progress, so that concurrent requests for one model load it once.
    private let loading = Mutex<[String: Task<ServedModel, any Error>]>([:])
    /// Called with a model that was unloaded (the scheduler drops its sessions).
    let onUnload = Mutex<(@Sendable (ServedModel) -> Void)?>(nil)

    /// Lists and checks the GGUF files in `paths` (a folder adds the `.gguf` files directly in
    /// it); the models of `store` are offered beside them.
    public init(paths: [String], store: ModelStore? = nil, maxLoaded: Int = 3, memoryBudget: Int? = nil,
                defaultKeepAlive: Int64 = 300, sessionsPerModel: Int = 1, contextSize: Int = 4096) throws(ServerError) {
        var found: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ServerError("no such file or directory: '\(path)'")
            }
            if isDirectory.boolValue {
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                let ggufs = entries.filter { $0.hasSuffix(".gguf") }.sorted()
                guard !ggufs.isEmpty else { throw ServerError("'\(path)' holds no .gguf files") }
                found += ggufs.map { (path as NSString).appendingPathComponent($0) }
            } else {
                found.append(path)
            }
        }
        var files: [ModelFile] = []
        for path in found {
            let name = Self.name(of: path)
            if let other = files.first(where: { $0.name == name }) {
                throw ServerError("'\(path)' and '\(other.path)' would both be served as '\(name)'")
            }
            let gguf: GGUFFile
            do { gguf = try GGUFFile(path: path) } catch { throw ServerError("cannot serve '\(path)': \(error.message)") }
            files.append(ModelFile(name: name, path: path, gguf: gguf))
        }
        givenFiles = files
        self.store = store
        self.maxLoaded = max(1, maxLoaded)
        self.memoryBudget = memoryBudget
        self.sessionsPerModel = max(1, sessionsPerModel)
        self.contextSize = contextSize
        self.defaultKeepAlive = defaultKeepAlive
    }

    static func name(of path: String) -> String {
        let file = (path as NSString).lastPathComponent
        return file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
    }

    /// Every model offered: the files given, then the store's models (those that can be read).
    public var files: [ModelFile] {
        givenFiles + (store?.list().compactMap { entry in
            guard entry.manifest != nil, let stored = try? store!.resolve(entry.name) else { return nil }
            return try? ModelFile(stored: stored)
        } ?? [])
    }

    /// The model called `name`: a given file (Ollama clients add a tag, so `name:latest`
    /// matches the bare file name too), else a model in the store.
    public func file(named name: String) throws(APIError) -> ModelFile {
        if let f = givenFiles.first(where: { $0.name == name }) { return f }
        if name.hasSuffix(":latest"), let f = givenFiles.first(where: { $0.name == name.dropLast(7) }) { return f }
        guard let store, let parsed = try? ModelName(parsing: name), (try? store.manifest(parsed)) ?? nil != nil else {
            throw APIError.modelNotFound(name, known: files.map(\.name))
        }
        do { return try ModelFile(stored: try store.resolve(parsed)) } catch let e as HubError {
            throw APIError(.internalServerError, e.message)
        } catch {
            throw APIError(.internalServerError, "\(error)")
        }
    }

    /// The models loaded now, by name.
    public var loadedModels: [ServedModel] { loaded.withLock { Array($0.values) }.sorted { $0.name < $1.name } }

    /// The model called `name`, loaded if it is not (on a thread of its own, not the caller's).
    /// `keepAlive` (seconds; negative: for ever) becomes its keep-alive from now on.
    public func model(named name: String, keepAlive: Int64? = nil) async throws(APIError) -> ServedModel {
        let file = try file(named: name)
        if let stored = file.stored, !stored.adapterPaths.isEmpty {
            throw APIError(.notImplemented, "'\(file.name)' has a LoRA adapter (ADAPTER), which Hearth cannot apply yet", type: "not_implemented")
        }
        let served: ServedModel
        // A loaded model whose store name now points at other blobs is replaced.
        if let m = loaded.withLock({ $0[file.name] }), m.file.digest == file.digest {
            served = m
        } else {
            let task = loading.withLock { tasks -> Task<ServedModel, any Error> in
                if let t = tasks[file.name] { return t }
                let t = Task<ServedModel, any Error> { try await self.load(file) }
                tasks[file.name] = t
                return t
            }
            do { served = try await task.value } catch {
                throw APIError(.internalServerError, "cannot load '\(file.path)': \(error)")
            }
        }
        if let keepAlive { served.keepAlive.store(keepAlive, ordering: .relaxed) }
        served.touch()
        return served
    }

    /// Loads every file now (at start), as far as the limits allow.
    public func preload(onLoad: (String) -> Void = { _ in }) throws(ServerError) {
        for file in givenFiles.prefix(maxLoaded) {
            do throws(EngineError) { _ = store(file, try Model(path: file.path)) } catch {
                throw ServerError("cannot load '\(file.path)': \(error.message)")
            }
            onLoad(file.name)
        }
    }

    private func load(_ file: ModelFile) async throws -> ServedModel {
        defer { _ = loading.withLock { $0.removeValue(forKey: file.name) } }
        // Loading is seconds of CPU and I/O: off the cooperative threads.
        let model: Model = try await withCheckedThrowingContinuation { continuation in
            Thread {
                do { continuation.resume(returning: try Model(path: file.path, chatTemplate: file.stored?.chatTemplate)) } catch {
                continuation.resume(throwing: error)
            }
            }.start()
        }
        return store(file, model)
    }

    /// Adds a loaded model, unloading idle ones first as the limits require.
    private func store(_ file: ModelFile, _ model: Model) -> ServedModel {
        let served = ServedModel(file: file, model: model, keepAlive: defaultKeepAlive, sessions: sessionsPerModel, contextSize: contextSize)
        var evicted: [ServedModel] = []
        loaded.withLock { all in
            if let replaced = all.updateValue(served, forKey: file.name) { evicted.append(replaced) }
            func overLimit() -> Bool {
                if all.count > maxLoaded { return true }
                guard let memoryBudget else { return false }
                return all.values.reduce(0) { $0 + $1.memoryBytes } > memoryBudget
            }
            while overLimit() {
                let idle = all.values.filter { $0 !== served && $0.activeJobs.load(ordering: .relaxed) == 0 }
                guard let oldest = idle.min(by: { $0.lastUsed.load(ordering: .relaxed) < $1.lastUsed.load(ordering: .relaxed) }) else { break }
                all.removeValue(forKey: oldest.name)
                evicted.append(oldest)
            }
        }
        for m in evicted { unloaded(m) }
        return served
    }

    /// Unloads the idle models whose keep-alive has run out.
    public func sweep() {
        let now = uptimeNanos
        var expired: [ServedModel] = []
        loaded.withLock { all in
            for m in all.values where m.activeJobs.load(ordering: .relaxed) == 0 {
                let keep = m.keepAlive.load(ordering: .relaxed)
                if keep >= 0 && now - m.lastUsed.load(ordering: .relaxed) >= keep * 1_000_000_000 {
                    all.removeValue(forKey: m.name)
                    expired.append(m)
                }
            }
        }
        for m in expired { unloaded(m) }
    }

    /// When an idle loaded model will be unloaded, if it stays idle (nil: never).
    public func expiry(of served: ServedModel) -> Date? {
        let keep = served.keepAlive.load(ordering: .relaxed)
        guard keep >= 0 else { return nil }
        let idleFor = Double(uptimeNanos - served.lastUsed.load(ordering: .relaxed)) / 1e9
        return Date().addingTimeInterval(Double(keep) - idleFor)
    }

    private func unloaded(_ m: ServedModel) {
        m.unloaded.store(true, ordering: .relaxed)
        onUnload.withLock { $0 }?(m)
    }
}

/// A problem with the server's configuration or its models, said in one line.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
