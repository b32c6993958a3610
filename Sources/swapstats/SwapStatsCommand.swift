import ArgumentParser

/// The swapstats command line. Serving, Kafka and Redis arrive with their own issues; for
/// now it runs the core engine over generated traffic or a file of JSON-lines swaps.
@main
struct SwapStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swapstats",
        abstract: "Exact streaming swap statistics over sliding windows.",
        subcommands: [Simulate.self, Stats.self],
        defaultSubcommand: Simulate.self
    )
}
