import ArgumentParser

@main
struct Hearth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "Run open language models (GGUF files) on your own machine.",
        discussion: """
        Models are GGUF files, used where they are or kept under names in a store
        (HEARTH_HOME, default ~/.hearth). Start with:
          scripts/fetch-models.sh smollm2    # SmolLM2-135M-Instruct, sha256 checked
          hearth import ~/.cache/hearth/models/SmolLM2-135M-Instruct.Q4_1.gguf smollm2
          hearth run smollm2 "Once upon a time"
        """,
        version: hearthVersion,
        groupedSubcommands: [
            CommandGroup(name: "Run", subcommands: [RunCommand.self, ServeCommand.self, PerplexityCommand.self, BenchCommand.self, InspectCommand.self]),
            CommandGroup(name: "Measure", subcommands: [EvalCommand.self, LeaderboardCommand.self]),
            CommandGroup(name: "Make", subcommands: [QuantizeCommand.self, ConvertCommand.self, CompareCommand.self]),
            CommandGroup(name: "Store", subcommands: [ImportCommand.self, CreateCommand.self, ListCommand.self, ShowCommand.self,
                                                       CopyCommand.self, RemoveCommand.self, GarbageCommand.self]),
            CommandGroup(name: "Hub", subcommands: [PushCommand.self, PullCommand.self, LoginCommand.self, HubCommand.self]),
        ])
}

let hearthVersion = "0.1.0"
