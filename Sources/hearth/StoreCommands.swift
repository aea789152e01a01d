import ArgumentParser
import Foundation
import HearthGGUF
import HearthHub

/// The store the store commands work on: `HEARTH_HOME`, else `~/.hearth`.
func openStore() -> ModelStore { ModelStore(root: ModelStore.defaultRoot) }

func parseName(_ text: String) throws -> ModelName {
    do { return try ModelName(parsing: text) } catch { throw CLIError(error.message) }
}

let storeDiscussion = """
    The store is the folder HEARTH_HOME (default ~/.hearth): blobs by sha256, and
    manifests naming them.
    """

private func waitingNote() { printError("waiting for another hearth process that is writing to the store...") }

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add a GGUF file to the store under a name.",
        discussion: """
        The file is copied as it is (its sha256 becomes its address), so a digest
        always means the same bytes. \(storeDiscussion)

        Example:
          hearth import SmolLM2-135M-Instruct.Q4_1.gguf smollm2:135m-q4_1
        """)

    @Argument(help: "The GGUF file.")
    var file: String
    @Argument(help: "The name to give it: model[:tag] or namespace/model[:tag] (tag default: latest).")
    var name: String

    func run() throws {
        let name = try parseName(name)
        let path = (file as NSString).expandingTildeInPath
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("no such file: '\(file)'") }
        try createModel(name, Modelfile(from: path), folder: FileManager.default.currentDirectoryPath)
    }
}

/// Creates `name` from a Modelfile with a progress bar, and prints what it made.
func createModel(_ name: ModelName, _ modelfile: Modelfile, folder: String) throws {
    let store = openStore()
    var bar: ProgressBar?
    let model: StoredModel
    do {
        model = try store.create(name, from: modelfile, relativeTo: folder, waiting: waitingNote) { done, total in
            if bar == nil { bar = ProgressBar("copying", total: total) }
            bar!.update(done)
        }
    } catch { bar?.finish(); throw CLIError(error.message) }
    bar?.finish()
    print("created \(name) (\(model.manifest.digest.short)): \(model.config.map { "\($0.model_family), \($0.model_type), \($0.file_type), " } ?? "")\(formatBytes(model.manifest.totalSize)); model blob \(model.modelDigest)")
}

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a model from a Modelfile (Ollama's syntax).",
        discussion: """
        A Modelfile names a GGUF file or a stored model to start from, and what to
        add:
          FROM ./SmolLM2-135M-Instruct.Q4_1.gguf   (or FROM smollm2:latest)
          PARAMETER temperature 0.2
          PARAMETER stop "<|im_end|>"
          SYSTEM \"\"\"You answer in one sentence.\"\"\"
          MESSAGE user Hello        (a conversation every chat starts with)
          TEMPLATE \"\"\"...\"\"\"          (a Jinja chat template; replaces the GGUF's)
          LICENSE \"\"\"...\"\"\"
          ADAPTER ./adapter.gguf    (stored; Hearth cannot apply adapters yet)
        PARAMETER takes temperature, top_k, top_p, min_p, seed, num_ctx, num_predict,
        stop, repeat_penalty, repeat_last_n, presence_penalty and frequency_penalty.
        Relative paths are read from the Modelfile's folder. \(storeDiscussion)
        """)

    @Argument(help: "The name to give the model: model[:tag] or namespace/model[:tag].")
    var name: String
    @Option(name: [.customShort("f"), .customLong("file")], help: "The Modelfile.")
    var file = "Modelfile"

    func run() throws {
        let name = try parseName(name)
        let path = (file as NSString).expandingTildeInPath
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read the Modelfile '\(file)'\(file == "Modelfile" ? " (give one with -f FILE)" : "")")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("the Modelfile '\(file)' is not UTF-8 text") }
        let modelfile: Modelfile
        do { modelfile = try Modelfile(parsing: text, source: file) } catch { throw CLIError(error.message) }
        try createModel(name, modelfile, folder: (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the models in the store.", discussion: storeDiscussion, aliases: ["ls"])

    func run() throws {
        let entries = openStore().list()
        guard !entries.isEmpty else {
            printError("the store at '\(ModelStore.defaultRoot)' is empty; add a model with hearth import FILE.gguf NAME")
            return
        }
        let store = openStore()
        var rows = [["NAME", "ID", "SIZE", "FAMILY", "PARAMS", "QUANT", "MODIFIED"]]
        for e in entries {
            guard let m = e.manifest else {
                rows.append([e.name.description, "-", "-", "damaged: \(e.problem ?? "?")", "", "", ""])
                continue
            }
            let config = try? JSONDecoder().decode(ModelConfig.self, from: store.readBlob(m.manifest.config.digest))
            rows.append([e.name.description, m.digest.short, formatBytes(m.totalSize), config?.model_family ?? "?",
                         config?.model_type ?? "?", config?.file_type ?? "?", formatAge(m.modified)])
        }
        printTable(rows)
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a stored model: metadata, parameters, system message, template, license, blobs.",
        discussion: storeDiscussion)

    @Argument(help: "The model's name in the store.")
    var name: String
    @Flag(help: "Print only the Modelfile that recreates the model.")
    var modelfile = false
    @Flag(help: "Print only the chat template (the store's, else the GGUF's).")
    var template = false
    @Flag(help: "Print only the license.")
    var license = false

    func run() throws {
        let name = try parseName(name)
        let m: StoredModel
        do { m = try openStore().resolve(name) } catch { throw CLIError(error.message) }
        let gguf: GGUFFile
        do { gguf = try GGUFFile(path: m.modelPath) } catch { throw CLIError("the model file of '\(name)' is damaged: \(error.message)") }
        let ownTemplate = gguf.string("tokenizer.chat_template")
        if modelfile { print(m.modelfile.text, terminator: ""); return }
        if template {
            guard let t = m.chatTemplate ?? ownTemplate else { throw CLIError("'\(name)' has no chat template") }
            print(t); return
        }
        if license {
            let texts = m.licenses + (m.licenses.isEmpty ? [gguf.string("general.license")].compactMap { $0 } : [])
            guard !texts.isEmpty else { throw CLIError("'\(name)' has no license") }
            print(texts.joined(separator: "\n\n")); return
        }
        let arch = gguf.architecture ?? "unknown"
        var rows: [[String]] = [
            ["name", m.name.description],
            ["id", m.manifest.digest.description],
            ["architecture", arch],
            ["parameters", "\(gguf.parameterSizeLabel) (\(gguf.parameterCount))"],
            ["quantization", gguf.fileTypeName ?? gguf.predominantTypeName],
        ]
        if let n = gguf.int("\(arch).context_length") { rows.append(["context length", "\(n)"]) }
        if let n = gguf.int("\(arch).embedding_length") { rows.append(["embedding length", "\(n)"]) }
        if let n = gguf.int("\(arch).block_count") { rows.append(["layers", "\(n)"]) }
        if let s = gguf.string("general.license") { rows.append(["license (GGUF)", s]) }
        rows.append(["size", formatBytes(m.manifest.totalSize)])
        if let parent = m.config?.parent { rows.append(["parent", parent]) }
        print("Model"); printTable(rows, indent: 2)
        if !m.parameters.isEmpty {
            print("\nParameters"); printTable(m.parameters.lines.map { [$0.name, $0.value] }, indent: 2)
        }
        if let s = m.system { print("\nSystem\n" + indentLines(s)) }
        if !m.messages.isEmpty {
            print("\nMessages"); printTable(m.messages.map { [$0.role, $0.content] }, indent: 2)
        }
        print("\nTemplate: \(m.chatTemplate != nil ? "the store's own (hearth show --template)" : ownTemplate != nil ? "the GGUF's (hearth show --template)" : "none")")
        if m.hasOllamaTemplate { print("  (an Ollama Go template layer is stored but not used: Hearth renders Jinja templates)") }
        if !m.adapterPaths.isEmpty { print("Adapters: \(m.adapterPaths.count) (stored; Hearth cannot apply them yet)") }
        if !m.licenses.isEmpty {
            print("\nLicense")
            let first = m.licenses[0].split(separator: "\n", omittingEmptySubsequences: false).prefix(4).joined(separator: "\n")
            print(indentLines(first + (m.licenses[0].split(separator: "\n").count > 4 ? "\n..." : "")))
        }
        print("\nBlobs")
        printTable(m.manifest.manifest.blobs.map { [MediaType.shortName($0.mediaType), $0.digest.description, formatBytes($0.size)] },
                   indent: 2)
    }
}

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove models from the store, and the blobs no other model uses.",
        discussion: storeDiscussion)

    @Argument(help: "The names of the models to remove.")
    var names: [String]

    func validate() throws { if names.isEmpty { throw ValidationError("name at least one model") } }

    func run() throws {
        let store = openStore()
        for text in names {
            let name = try parseName(text)
            let freed: Int
            do { freed = try store.remove(name, waiting: waitingNote) } catch { throw CLIError(error.message) }
            print("deleted \(name)\(freed > 0 ? " (\(formatBytes(freed)) freed)" : "")")
        }
    }
}

struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp", abstract: "Give a stored model another name (no bytes are copied).", discussion: storeDiscussion)

    @Argument(help: "The model to copy.")
    var source: String
    @Argument(help: "The new name.")
    var destination: String

    func run() throws {
        let (s, d) = (try parseName(source), try parseName(destination))
        do { try openStore().copy(s, to: d) } catch { throw CLIError(error.message) }
        print("copied \(s) to \(d)")
    }
}

struct GarbageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove blobs no model uses, and files of writes that never finished.",
        discussion: "Interrupted pulls lose their partial files too. \(storeDiscussion)")

    func run() throws {
        let result: (blobs: Int, bytes: Int, temporaries: Int)
        do { result = try openStore().collectGarbage(waiting: waitingNote) } catch { throw CLIError(error.message) }
        print("removed \(result.blobs) unused blob\(result.blobs == 1 ? "" : "s") (\(formatBytes(result.bytes))) and \(result.temporaries) unfinished file\(result.temporaries == 1 ? "" : "s")")
    }
}

/// Prints rows as aligned columns.
func printTable(_ rows: [[String]], indent: Int = 0) {
    guard let columns = rows.map { $0.count }.max() else { return }
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() where i < row.count - 1 { widths[i] = max(widths[i], cell.count) } }
    for row in rows {
        let line = row.enumerated().map { i, cell in i == row.count - 1 ? cell : pad(cell, widths[i]) }.joined(separator: "   ")
        print(String(repeating: " ", count: indent) + line)
    }
}

func indentLines(_ s: String, by n: Int = 2) -> String {
    s.split(separator: "\n", omittingEmptySubsequences: false).map { String(repeating: " ", count: n) + $0 }.joined(separator: "\n")
}

/// `3 minutes ago`, as `ollama list` writes times.
func formatAge(_ date: Date) -> String {
    let s = Int(Date().timeIntervalSince(date))
    func ago(_ n: Int, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s") ago" }
    if s < 60 { return "just now" }
    if s < 3600 { return ago(s / 60, "minute") }
    if s < 86400 { return ago(s / 3600, "hour") }
    return ago(s / 86400, "day")
}
