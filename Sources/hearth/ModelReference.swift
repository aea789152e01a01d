import Foundation
import HearthEngine
import HearthHub

/// What a MODEL argument names: a GGUF file, or a model in the store (`hearth list`).
///
/// A path to an existing file wins; text that looks like a path (ends in `.gguf`, or starts
/// with `/`, `.` or `~`) must be one. Anything else is a store name.
struct ModelReference {
    let argument: String
    /// The GGUF file.
    let path: String
    /// The store's record, when the argument was a store name.
    let stored: StoredModel?

    static let help = "The model: a GGUF file, or a name in the store (hearth list)."

    init(_ argument: String, store: ModelStore = ModelStore(root: ModelStore.defaultRoot)) throws {
        self.argument = argument
        let expanded = (argument as NSString).expandingTildeInPath
        if FileManager.default.fileExists(atPath: expanded) {
            path = expanded
            stored = nil
            return
        }
        let looksLikePath = argument.hasSuffix(".gguf") || argument.hasPrefix("/") || argument.hasPrefix(".") || argument.hasPrefix("~")
        if looksLikePath {
            throw CLIError("no such model file: '\(argument)' (scripts/fetch-models.sh fetches the test models and prints their paths)")
        }
        let name: ModelName
        do { name = try ModelName(parsing: argument) } catch {
            throw CLIError("'\(argument)' is neither a file nor a model name: \(error.message)")
        }
        do { stored = try store.resolve(name) } catch {
            throw CLIError("\(error.message) (and there is no file '\(argument)'); add one with hearth import FILE.gguf \(argument)")
        }
        path = stored!.modelPath
    }

    /// Loads the model with the store's chat template, refusing what Hearth cannot apply.
    func load() throws -> Model {
        if let stored, !stored.adapterPaths.isEmpty {
            throw CLIError("'\(argument)' has a LoRA adapter (ADAPTER), which Hearth cannot apply yet; run the base model, or create a model without ADAPTER")
        }
        do { return try Model(path: path, chatTemplate: stored?.chatTemplate) } catch { throw CLIError(error.message) }
    }

    /// The name to show: the store name, or the file name.
    var displayName: String { stored?.name.description ?? (path as NSString).lastPathComponent }
}

/// A model's sha256: a stored model's is its blob's name; a file's is computed on a thread
/// of its own, so that it overlaps other work (loading, quantizing).
final class ModelDigest: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Digest?

    init(_ reference: ModelReference) {
        if let stored = reference.stored {
            result = stored.modelDigest
            done.signal()
            return
        }
        let path = reference.path
        Thread { [self] in
            var digest = StreamingDigest()
            if let handle = FileHandle(forReadingAtPath: path) {
                while let chunk = try? handle.read(upToCount: 8 << 20), !chunk.isEmpty { digest.update(chunk) }
                try? handle.close()
                result = digest.finish()
            }
            done.signal()
        }.start()
    }

    /// The digest, once computed (nil when the file could not be read).
    func wait() -> Digest? {
        done.wait()
        return result
    }
}
