import ArgumentParser
import HearthGGUF
import HearthKernels

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a GGUF file's metadata and tensor table (like gguf-dump).")

    @Argument(help: "The GGUF file to inspect, or a model's name in the store.")
    var file: String

    @Flag(name: .long, help: "Print every array item and whole strings instead of abbreviating them.")
    var full = false

    @Flag(name: .long, help: "Print only the metadata.")
    var noTensors = false

    func run() throws {
        let gguf: GGUFFile
        do { gguf = try GGUFFile(path: try ModelReference(file).path) } catch let e as GGUFError { throw CLIError(e.message) }
        print("\(file): GGUF v\(gguf.version), \(gguf.metadata.count) metadata entries, \(gguf.tensors.count) tensors, \(formatBytes(gguf.fileSize))")
        print("")
        print("metadata:")
        let width = gguf.metadataKeys.map { $0.count }.max() ?? 0
        for (i, key) in gguf.metadataKeys.enumerated() {
            let value = gguf.metadata[key]!
            let shown = full ? value.render(maxItems: .max, maxChars: .max) : value.render(maxItems: 8, maxChars: 80)
            print("  \(pad(String(i + 1), 4, right: true))  \(pad(key, width))  \(pad(value.type.name, 3))  \(shown)")
        }
        if noTensors { return }
        print("")
        print("tensors (offsets from the data section at byte \(gguf.dataOffset), alignment \(gguf.alignment)):")
        let nameWidth = gguf.tensors.map { $0.name.count }.max() ?? 0
        var byType: [TensorType: (count: Int, bytes: Int, elements: Int)] = [:]
        for (i, t) in gguf.tensors.enumerated() {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            print("  \(pad(String(i + 1), 4, right: true))  \(pad(t.name, nameWidth))  \(pad(t.type.description, 5))  \(pad(shape, 16))  \(pad(String(t.offset), 10, right: true))  \(formatBytes(t.byteCount))")
            byType[t.type, default: (0, 0, 0)].count += 1
            byType[t.type, default: (0, 0, 0)].bytes += t.byteCount
            byType[t.type, default: (0, 0, 0)].elements += t.elementCount
        }
        print("")
        let total = gguf.tensors.reduce(0) { $0 + $1.elementCount }
        let bytes = gguf.tensors.reduce(0) { $0 + $1.byteCount }
        print("summary: \(total) parameters in \(formatBytes(bytes)), \(String(format2(Double(bytes * 8) / Double(max(total, 1))))) bits per weight")
        for (type, s) in byType.sorted(by: { $0.value.bytes > $1.value.bytes }) {
            print("  \(pad(type.description, 5))  \(pad(String(s.count), 4, right: true)) tensors  \(pad(String(s.elements), 11, right: true)) elements  \(formatBytes(s.bytes))")
        }
    }
}
