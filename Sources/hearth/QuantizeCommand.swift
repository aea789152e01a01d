import ArgumentParser
import Foundation
import HearthEngine
import HearthGGUF
import HearthHub
import HearthKernels
import HearthQuantize

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Make a GGUF file smaller: store its weights in a quantized type.",
        discussion: """
        Types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_S, Q3_K_M,
        Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K. The quantizers and the
        per-tensor recipe are llama-quantize's (without an importance matrix), byte
        for byte: norms are kept, the output tensor is q6_K, the _M and _L mixes (and
        Q2_K) give attn_v, attn_output and ffn_down tensors more bits, and a tensor
        whose rows do not fill whole blocks falls back to a smaller block type; the
        notes printed first say which. The output records general.file_type,
        general.quantization_version, and where it came from (hearth.quantize.*).

          hearth quantize model-f16.gguf model-q4_0.gguf --type q4_0
          hearth quantize model-f16.gguf model.gguf --type q4_1 \\
              --output-tensor-type f16
          hearth quantize model.gguf out.gguf --type q5_0 --tensor-type 'ffn_down=q8_0'
          hearth quantize model-f16.gguf model-q4_k_m.gguf --type q4_k_m \\
              --report --text wiki.txt

        With --report, the output is then compared with the source as `hearth compare`
        does (perplexity, KL divergence and top-1 agreement on --text, file size, bits
        per weight, generation speed), and the Markdown table is printed.
        """)

    @Argument(help: "The source: a GGUF file, or a model in the store.")
    var source: String
    @Argument(help: "The output GGUF file.")
    var output: String
    @Option(help: "The type: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M or Q6_K.")
    var type: String
    @Flag(name: .customLong("allow-requantize"), help: "Quantize tensors that are quantized already (loses more quality than starting from F16).")
    var allowRequantize = false
    @Flag(help: "Replace the output file if it exists.")
    var force = false
    @Option(name: .customLong("output-tensor-type"), help: "The type of the output tensor (output.weight, or the tied embedding).")
    var outputTensorType: String?
    @Option(name: .customLong("token-embedding-type"), help: "The type of token_embd.weight.")
    var tokenEmbeddingType: String?
    @Option(name: .customLong("tensor-type"), help: "REGEX=TYPE: tensors whose names match take TYPE (repeatable; the first match wins).")
    var tensorTypes: [String] = []
    @Option(name: [.customShort("t"), .long], help: "Threads to quantize with (default: the number of cores).")
    var threads: Int = defaultThreadCount
    @Flag(help: "Then compare the output with the source on --text and print the table (as hearth compare).")
    var report = false
    @Option(help: "The text file --report evaluates on.")
    var text: String?
    @Option(name: [.customShort("c"), .customLong("ctx")], help: "Chunk size in tokens for --report.")
    var ctx: Int = 512

    func validate() throws {
        try OptionChecks.threads(threads)
        do { _ = try QuantizeType.named(type) } catch { throw ValidationError(error.message) }
        if report && text == nil { throw ValidationError("--report needs --text FILE: the text both models are evaluated on") }
        if !report && text != nil { throw ValidationError("--text is for --report; add --report to compare the output with the source") }
        if let text, !FileManager.default.isReadableFile(atPath: text) { throw ValidationError("cannot read --text '\(text)'") }
        try OptionChecks.chunkSize(ctx)
    }

    func run() throws {
        let start = Date()
        let reference = try ModelReference(source)
        let outputPath = (output as NSString).expandingTildeInPath
        if FileManager.default.fileExists(atPath: outputPath) && !force {
            throw CLIError("'\(output)' exists; pass --force to replace it")
        }
        if URL(fileURLWithPath: outputPath).standardizedFileURL == URL(fileURLWithPath: reference.path).resolvingSymlinksInPath().standardizedFileURL {
            throw CLIError("the output is the source file; write to another path")
        }
        let file: GGUFFile
        do { file = try GGUFFile(path: reference.path) } catch { throw CLIError("cannot quantize '\(source)': \(error.message)") }
        var options: QuantizePlan.Options
        do throws(QuantizeError) {
            options = QuantizePlan.Options(type: try QuantizeType.named(type))
            options.allowRequantize = allowRequantize
            if let t = outputTensorType { options.outputTensorType = try QuantizeType.tensorType(named: t) }
            if let t = tokenEmbeddingType { options.tokenEmbeddingType = try QuantizeType.tensorType(named: t) }
            for spec in tensorTypes {
                guard let eq = spec.lastIndex(of: "="), eq != spec.startIndex else {
                    throw QuantizeError("--tensor-type '\(spec)' must be REGEX=TYPE")
                }
                options.tensorTypes.append((String(spec[..<eq]), try QuantizeType.tensorType(named: String(spec[spec.index(after: eq)...]))))
            }
        } catch { throw CLIError(error.message) }
        let plan: QuantizePlan
        do { plan = try QuantizePlan(file: file, options: options) } catch { throw CLIError(error.message) }
        if !plan.requantized.isEmpty {
            printError("warning: requantizing \(plan.requantized.count) tensors that are quantized already; quality drops more than from F16")
        }
        for (note, tensors) in plan.notes {
            let names = tensors.count <= 3 ? tensors.joined(separator: ", ") : "\(tensors.count) tensors, such as \(tensors.prefix(2).joined(separator: ", "))"
            printError("note: \(names): \(note)")
        }
        let summary = plan.summary.map { "\($0.count) \($0.type)" }.joined(separator: ", ")
        printError("quantizing \(reference.displayName) (\(formatBytes(file.fileSize))) to \(options.type): \(summary); \(formatBytes(plan.outputBytes)) of tensors")

        // Provenance: the source's sha256 (hashed on a thread of its own while the tensors are
        // written, then put in place of a placeholder of the same length), the recipe, the
        // Hearth version.
        var recipe = "type=\(options.type)"
        if let t = options.outputTensorType { recipe += " output=\(t)" }
        if let t = options.tokenEmbeddingType { recipe += " token_embd=\(t)" }
        for (p, t) in options.tensorTypes { recipe += " \(p)=\(t)" }
        if allowRequantize { recipe += " requantize" }
        let placeholder = "sha256:" + String(repeating: "0", count: 64)
        let provenance: [(String, GGUFValue)] = [
            ("hearth.quantize.source_digest", .string(placeholder)),
            ("hearth.quantize.recipe", .string(recipe)),
            ("hearth.quantize.version", .string(hearthVersion)),
        ]
        let hashing = ModelDigest(reference)
        let bar = ProgressBar("quantizing", total: plan.outputBytes)
        do {
            try Quantizer.run(source: file, plan: plan, fileType: options.type.fileType, provenance: provenance, to: outputPath,
                              threads: threads, progress: { _, _, bytes, _ in bar.update(bytes) },
                              finalProvenance: { hashing.wait().map { [("hearth.quantize.source_digest", .string($0.description))] } ?? [] })
        } catch { bar.finish(); throw CLIError(error.message) }
        bar.finish()
        let size = (try? FileManager.default.attributesOfItem(atPath: outputPath)[.size] as? Int) ?? 0
        let elements = plan.entries.reduce(0) { $0 + $1.tensor.elementCount }
        print("wrote \(output): \(formatBytes(size)), \(format2(Double(plan.outputBytes * 8) / Double(max(elements, 1)))) bits per weight, in \(format2(Date().timeIntervalSince(start))) s")
        if report, let text {
            printError("comparing \(output) with \(reference.displayName) on \(text)")
            print("")
            print(try QualityReport.make(base: reference, other: try ModelReference(outputPath), text: text, ctx: ctx, threads: threads))
        }
    }
}
