import ArgumentParser

@main
struct Hearth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "Run open language models (GGUF files) on your own machine.",
        discussion: """
        Models are GGUF files. Start with:
          scripts/fetch-models.sh smollm2          # fetch SmolLM2-135M-Instruct (sha256 checked)
          hearth run ~/.cache/hearth/models/SmolLM2-135M-Instruct.Q4_1.gguf "Once upon a time"
        """,
        version: hearthVersion,
        subcommands: [RunCommand.self, ServeCommand.self, PerplexityCommand.self, BenchCommand.self, InspectCommand.self])
}

let hearthVersion = "0.1.0"
