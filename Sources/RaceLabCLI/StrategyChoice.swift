import ArgumentParser
import RaceLab

/// `--strategy`: one strategy, or `all` for the same stampede against each in turn.
enum StrategyChoice: String, CaseIterable, ExpressibleByArgument {
    case naive, pessimistic, optimistic, advisory, batched, all

    var strategies: [StrategyName] {
        self == .all ? StrategyName.allCases : [StrategyName(rawValue: rawValue)!]  // every case but .all names a strategy
    }
}

/// `--format`: a table for people, JSON for scripts.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case table, json
}
