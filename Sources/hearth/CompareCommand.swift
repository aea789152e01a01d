import ArgumentParser
import Foundation
import HearthEngine
import HearthGGUF

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Say what quantizing cost: perplexity, KL divergence and top-1 agreement of a model against its base.",
        discussion: """
        Both models evaluate the same chunks of the text, as hearth perplexity does;
        on each scored token the other's distribution is compared with the base's, as
        llama-perplexity --kl-divergence does. Prints a Markdown table for a model
        card.

          hearth compare model-f16.gguf model-q4_k_m.gguf --text wiki.test.raw
        """)

    @Argument(help: "The base model: a GGUF file or a store name.")
    var base: String
    @Argument(help: "The model to compare with it (the same vocabulary).")
    var other: String
    @Option(help: "The text file to evaluate on.")
    var text: String
    @Option(name: [.customShort("c"), .customLong("ctx")], help: "Chunk size in tokens.")
    var ctx: Int = 512
    @Option(name: [.customShort("t"), .long], help: "Threads to compute with (default: the number of cores).")
    var threads: Int = defaultThreadCount

    func validate() throws {
        try OptionChecks.chunkSize(ctx)
        try OptionChecks.threads(threads)
    }

    func run() throws {
        print(try QualityReport.make(base: try ModelReference(base), other: try ModelReference(other), text: text, ctx: ctx, threads: threads))
    }
}

/// What `hearth compare` and `hearth quantize --report` print: a Markdown table of a model
/// against its base, for a model card.
enum QualityReport {
    /// Tokens generated per timed run of the speed rows, and runs per model (alternating).
    static let speedTokens = 64, speedRuns = 3

    static func make(base baseReference: ModelReference, other otherReference: ModelReference, text: String, ctx: Int, threads: Int) throws -> String {
        let string = try readTextFile(text)
        let baseModel = try baseReference.load(), otherModel = try otherReference.load()
        let tokens = baseModel.tokenizer.encode(string, addSpecial: true, parseSpecial: false)
        guard otherModel.tokenizer.encode(string, addSpecial: true, parseSpecial: false) == tokens else {
            throw CLIError("the two models tokenize the text differently; they must share a tokenizer to be compared")
        }
        let start = Date()
        let result: DivergenceReport
        let speeds: (base: Double, other: Double)
        do throws(EngineError) {
            result = try ModelComparison.compute(
                base: try baseModel.makeSession(contextSize: ctx, threads: threads),
                other: try otherModel.makeSession(contextSize: ctx, threads: threads),
                tokens: tokens, context: ctx, bos: baseModel.tokenizer.addBOS ? baseModel.tokenizer.bosID : nil) { done, total in
                    printError("\rchunk \(done)/\(total)  \(format2(Date().timeIntervalSince(start))) s", terminator: "")
            }
            printError("")
            printError("timing generation: \(speedRuns) runs of \(speedTokens) tokens each, alternating")
            speeds = try generationSpeeds(baseModel, otherModel, threads: threads)
        } catch { throw CLIError(error.message) }
        func bitsPerWeight(_ m: Model) -> String {
            let weights = m.file.parameterCount, bytes = m.file.tensorBytes
            return String(format: "%.2f", Double(bytes * 8) / Double(max(weights, 1)))
        }
        var lines: [String] = []
        func row(_ cells: [String]) { lines.append("| " + cells.joined(separator: " | ") + " |") }
        row(["", baseReference.displayName, otherReference.displayName])
        row(["---", "---:", "---:"])
        row(["type", baseModel.file.fileTypeName ?? baseModel.file.predominantTypeName, otherModel.file.fileTypeName ?? otherModel.file.predominantTypeName])
        row(["file size", formatBytes(baseModel.file.fileSize), formatBytes(otherModel.file.fileSize)])
        row(["bits per weight", bitsPerWeight(baseModel), bitsPerWeight(otherModel)])
        row(["perplexity", String(format: "%.4f ± %.4f", result.base.perplexity, result.base.uncertainty),
             String(format: "%.4f ± %.4f (%+.2f%%)", result.other.perplexity, result.other.uncertainty,
                    (result.other.perplexity / result.base.perplexity - 1) * 100)])
        row(["mean KL divergence", "0", String(format: "%.6f ± %.6f", result.meanKL, result.klUncertainty)])
        row(["top-1 agreement", "100%", String(format: "%.2f%%", result.top1Agreement * 100)])
        row(["generation, tokens/s", String(format: "%.1f", speeds.base), String(format: "%.1f (%.2f×)", speeds.other, speeds.other / speeds.base)])
        lines.append("")
        lines.append("\(result.scoredTokens) tokens scored in \(result.base.chunks) chunks of \(ctx) of '\((text as NSString).lastPathComponent)'; generation: median of \(speedRuns) runs of \(speedTokens) tokens, \(threads) threads; \(format2(Date().timeIntervalSince(start))) s")
        return lines.joined(separator: "\n")
    }

    /// Tokens per second of one-token steps (the generation loop without sampling), median of
    /// `speedRuns` runs per model, the two models taking turns so that both see the machine's
    /// same moments.
    static func generationSpeeds(_ a: Model, _ b: Model, threads: Int) throws(EngineError) -> (base: Double, other: Double) {
        var seconds: [[Double]] = [[], []]
        let sessions = [try a.makeSession(contextSize: speedTokens + 1, threads: threads), try b.makeSession(contextSize: speedTokens + 1, threads: threads)]
        let vocab = Int32(min(a.tokenizer.vocabularySize, b.tokenizer.vocabularySize))
        for run in 0..<(speedRuns + 1) {
            for (i, session) in sessions.enumerated() {
                session.rewind(to: 0)
                let started = DispatchTime.now().uptimeNanoseconds
                for step in 0..<speedTokens { _ = try session.evaluate([Int32(truncatingIfNeeded: (step * 7919 + 13) % Int(vocab))]) }
                // The first run of each warms caches and pages in the weights: not counted.
                if run > 0 { seconds[i].append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
            }
        }
        func rate(_ s: [Double]) -> Double { Double(speedTokens) / s.sorted()[s.count / 2] }
        return (rate(seconds[0]), rate(seconds[1]))
    }
}
