import ArgumentParser
import Foundation
import Ledger

/// `ledgerctl`: create, append to, export, verify and erase in a ConsentLedger (SPEC §8).
@main
struct LedgerCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledgerctl",
        abstract: "ConsentLedger: an immutable, verifiable consent log that can truly forget a person.",
        discussion: """
            A ledger is a directory (--ledger, env LEDGER_DIR, default ./ledger). Start with \
            `ledgerctl init`, append events with `ledgerctl append`, check the chain with \
            `ledgerctl verify`, and erase a person with `ledgerctl erase`.

            Exit codes: 0 ok, 1 a check failed, 2 usage or refused input, 3 ledger error \
            (missing, locked, corrupt, bad key).
            """,
        subcommands: [
            InitCommand.self, AppendCommand.self, ImportCommand.self, ExportCommand.self, VerifyCommand.self,
            EraseCommand.self, KeysCommand.self, CatalogueCommand.self, StateCommand.self, RequestsCommand.self,
            PurposesCommand.self, HistoryCommand.self, ReplayCommand.self, RebuildCommand.self, ServeCommand.self,
            CheckpointCommand.self, BackupCommand.self, LogCommand.self, StatsCommand.self, ProveCommand.self,
            WitnessesCommand.self, ReceiptCommand.self,
        ]
    )

    /// The options of ``GlobalOptions`` that take a value.
    static let globalOptionsWithValue: Set<String> = ["--ledger", "--master-key"]

    /// `ledgerctl --ledger DIR verify` as `ledgerctl verify --ledger DIR`: global options given
    /// before the subcommand are moved after it (argument-parser reads a subcommand's options only
    /// after its name). They go at the end, or before a `--` that ends the options.
    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var moved: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if globalOptionsWithValue.contains(argument), index + 1 < arguments.count {
                moved += arguments[index...(index + 1)]
                index += 2
            } else if argument == "--json"
                || globalOptionsWithValue.contains(where: { argument.hasPrefix($0 + "=") })
            {
                moved.append(argument)
                index += 1
            } else {
                break
            }
        }
        // Nothing to move, or nothing after them to move them behind (`ledgerctl --json`).
        guard !moved.isEmpty, index < arguments.count, !arguments[index].hasPrefix("-") else { return arguments }
        var rest = Array(arguments[index...])
        let end = rest.firstIndex(of: "--") ?? rest.count
        rest.insert(contentsOf: moved, at: end)
        return rest
    }

    /// Runs the command line, mapping argument errors to exit code 2 (SPEC §8) rather than 64.
    static func main() async {
        do {
            var command = try parseAsRoot(Self.movingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            Foundation.exit(failure.exitCode)
        } catch let error as LedgerError {
            Output.report(error, json: CommandLine.arguments.contains("--json"))
            Foundation.exit(error.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success || code == .failure && !(error is ValidationError) && !(error is ExitCode) {
                exit(withError: error)
            }
            if let exit = error as? ExitCode {
                Foundation.exit(exit.rawValue)
            }
            Output.error(fullMessage(for: error))
            Foundation.exit(2)
        }
    }
}
