import ArgumentParser
import Foundation
import HearthEngine

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Compute a model's perplexity on a text file, the way llama-perplexity does.",
        discussion: """
        The text is tokenized (BOS first when the model adds one), cut into chunks of
        --ctx tokens, and each chunk is evaluated from an empty context; only the
        second half of each chunk is scored. Tokens after the last whole chunk are not
        scored (the count is printed).
        """)

    @Argument(help: ArgumentHelp(stringLiteral: ModelReference.help))
    var model: String
    @Argument(help: "The text file to score.")
    var file: String
    @Option(name: [.customShort("c"), .customLong("ctx"), .customLong("ctx-size")], help: "Chunk size in tokens.")
    var ctx: Int = 512
    @Option(name: [.customShort("t"), .long], help: "Threads to compute with (default: the number of cores).")
    var threads: Int = defaultThreadCount

    func validate() throws {
        try OptionChecks.chunkSize(ctx)
        try OptionChecks.threads(threads)
    }

    func run() throws {
        let text = try readTextFile(file)
        let loaded = try ModelReference(model).load()
        let tokens = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let bos = loaded.tokenizer.addBOS ? loaded.tokenizer.bosID : nil
        let start = Date()
        do {
            let session = try loaded.makeSession(contextSize: ctx, threads: threads)
            printError("\(tokens.count) tokens, \(tokens.count / ctx) chunks of \(ctx)")
            let result = try Perplexity.compute(session: session, tokens: tokens, context: ctx, bos: bos) { done, total in
                let elapsed = Date().timeIntervalSince(start)
                let eta = elapsed / Double(done) * Double(total - done)
                printError("\rchunk \(done)/\(total)  \(format2(elapsed)) s elapsed, ~\(format2(eta)) s left", terminator: "")
            }
            printError("")
            print("[" + result.runningPerplexity.enumerated().map { "\($0.offset + 1)]\(String(format: "%.4f", $0.element))" }.joined(separator: ",["))
            print("Final estimate: PPL = \(String(format: "%.4f", result.perplexity)) +/- \(String(format: "%.5f", result.uncertainty))")
            print("\(result.scoredTokens) tokens scored in \(result.chunks) chunks of \(ctx); \(result.droppedTokens) tokens after the last whole chunk not scored; \(format2(Date().timeIntervalSince(start))) s")
        } catch { throw CLIError(error.message) }
    }
}
