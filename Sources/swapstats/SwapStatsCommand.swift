import ArgumentParser

/// The swapstats command line.
@main
struct SwapStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swapstats",
        abstract: "Exact streaming swap statistics over sliding windows.",
        subcommands: [Serve.self, Demo.self, KafkaBroker.self, Produce.self, Replay.self, Compute.self, Simulate.self],
        defaultSubcommand: Serve.self
    )
}
