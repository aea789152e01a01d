import ArgumentParser
import Foundation
import HearthKernels
import HearthQuantize

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Turn a Hugging Face model folder into a GGUF file.",
        discussion: """
        Reads config.json, model.safetensors (or the shards
        model.safetensors.index.json names), tokenizer.json, tokenizer_config.json and
        chat_template.jinja, for the llama and qwen2 architectures, and writes the
        GGUF file llama.cpp's convert_hf_to_gguf.py would: renamed tensors, llama's
        query and key rows regrouped for llama.cpp's rope, the tied output left to the
        embedding, the byte-level BPE tokenizer and the chat template. Two-dimensional
        tensors are written in --type (F16 by default, BF16 when the weights are
        BF16); norms and biases in F32. Quantize the result with `hearth quantize`.

          hearth convert ./SmolLM2-135M-Instruct smollm2-f16.gguf
          hearth quantize smollm2-f16.gguf smollm2-q4_k_m.gguf --type q4_k_m
        """)

    @Argument(help: "The Hugging Face model folder.")
    var folder: String
    @Argument(help: "The output GGUF file.")
    var output: String
    @Option(help: "The type of the weights: F32, F16 or BF16 (default: BF16 for BF16 weights, else F16).")
    var type: String?
    @Option(help: "llama.cpp's name of the pre-tokenizer (tokenizer.ggml.pre), when tokenizer.json's is not recognized.")
    var pre: String?
    @Flag(help: "Replace the output file if it exists.")
    var force = false

    func outputType() throws -> TensorType? {
        guard let type else { return nil }
        switch type.uppercased() {
        case "F32": return .f32
        case "F16": return .f16
        case "BF16": return .bf16
        default: throw ValidationError("--type \(type): hearth convert writes F32, F16 or BF16; quantize the result with `hearth quantize`")
        }
    }

    func validate() throws { _ = try outputType() }

    func run() throws {
        let start = Date()
        let outputPath = (output as NSString).expandingTildeInPath
        if FileManager.default.fileExists(atPath: outputPath) && !force {
            throw CLIError("'\(output)' exists; pass --force to replace it")
        }
        let conversion: HuggingFaceConversion
        do {
            conversion = try HuggingFaceConversion(directory: (folder as NSString).expandingTildeInPath, outputType: try outputType(), preTokenizer: pre)
        } catch let e as QuantizeError { throw CLIError("cannot convert '\(folder)': \(e.message)") }
        for note in conversion.notes { printError("note: \(note)") }
        let pre = conversion.metadata.first { $0.0 == "tokenizer.ggml.pre" }?.1.string ?? "?"
        printError("converting \(conversion.architecture) (\(conversion.tensors.count) tensors, pre-tokenizer \(pre)) to \(conversion.outputType): \(formatBytes(conversion.outputBytes)) of tensors")
        let bar = ProgressBar("converting", total: conversion.outputBytes)
        do {
            try conversion.write(to: outputPath, provenance: [("hearth.convert.source", .string((folder as NSString).lastPathComponent)),
                                                              ("hearth.convert.version", .string(hearthVersion))]) { done, _ in bar.update(done) }
        } catch { bar.finish(); throw CLIError(error.message) }
        bar.finish()
        let size = (try? FileManager.default.attributesOfItem(atPath: outputPath)[.size] as? Int) ?? 0
        print("wrote \(output): \(formatBytes(size)) in \(format2(Date().timeIntervalSince(start))) s")
    }
}
