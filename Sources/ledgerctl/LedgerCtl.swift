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
            A ledger is a directory (--ledger, env LEDGER_DIR, default ./ledger). Start with
            `ledgerctl init`, append events with `ledgerctl append`, check the chain with
            `ledgerctl verify`, and erase a person with `ledgerctl erase`.

            Exit codes: 0 ok, 1 a check failed, 2 usage or refused input, 3 ledger error
            (missing, locked, corrupt, bad key).
            """,
        subcommands: [
            InitCommand.self, AppendCommand.self, ImportCommand.self, ExportCommand.self, VerifyCommand.self,
            EraseCommand.self, KeysCommand.self, CatalogueCommand.self, StateCommand.self, RequestsCommand.self,
            PurposesCommand.self, HistoryCommand.self, ReplayCommand.self, RebuildCommand.self, ServeCommand.self,
            CheckpointCommand.self, BackupCommand.self, LogCommand.self, StatsCommand.self, ProveCommand.self,
        ]
    )

    /// Runs the command line, mapping argument errors to exit code 2 (SPEC §8) rather than 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
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
