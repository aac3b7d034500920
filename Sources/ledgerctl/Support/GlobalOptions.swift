import ArgumentParser
import Foundation
import Ledger

/// The options every command takes (SPEC §8).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The ledger directory (env LEDGER_DIR; default ./ledger).", valueName: "dir"))
    var ledger: String?

    @Flag(name: .long, help: "Print machine-readable JSON instead of human tables.")
    var json = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The master key file (env LEDGER_MASTER_KEY_FILE; default <ledger>/master.key).", valueName: "file"))
    var masterKey: String?

    /// The ledger directory after the flag, the environment and the default.
    var directory: String {
        ledger ?? ProcessInfo.processInfo.environment["LEDGER_DIR"] ?? "./ledger"
    }

    /// Ledger options with the master key file chosen by flag or environment.
    var ledgerOptions: Ledger.Options {
        var options = Ledger.Options()
        if let path = masterKey ?? ProcessInfo.processInfo.environment["LEDGER_MASTER_KEY_FILE"] {
            options.masterKey = FileMasterKeyProvider(path: path)
        }
        return options
    }

    /// Opens the existing ledger.
    func openLedger() throws -> Ledger {
        try Ledger(openingAt: directory, options: ledgerOptions)
    }
}

/// Runs a command body, printing a ``LedgerError`` as SPEC §8 says and exiting with its code.
func runReporting(json: Bool, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as LedgerError {
        Output.report(error, json: json)
        throw CommandFailure(exitCode: error.exitCode)
    }
}
