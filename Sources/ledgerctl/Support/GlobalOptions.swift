import ArgumentParser
import Foundation
import Ledger
import Projections

/// The options every command takes (SPEC §8).
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The ledger directory (env LEDGER_DIR; default ./ledger).", valueName: "dir")
    )
    var ledger: String?

    @Flag(name: .long, help: "Print machine-readable JSON instead of human tables.")
    var json = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The master key file (env LEDGER_MASTER_KEY_FILE; default <ledger>/master.key).",
            valueName: "file"
        )
    )
    var masterKey: String?

    /// The ledger directory after the flag, the environment and the default.
    var directory: String {
        ledger ?? ProcessInfo.processInfo.environment["LEDGER_DIR"] ?? "./ledger"
    }

    /// Ledger options with the master key file chosen by flag or environment.
    var ledgerOptions: Ledger.Options {
        var options = Ledger.Options()
        options.observers = [SnapshotObserver()]
        if let path = masterKey ?? ProcessInfo.processInfo.environment["LEDGER_MASTER_KEY_FILE"] {
            options.masterKey = FileMasterKeyProvider(path: path)
        }
        return options
    }

    /// Opens the existing ledger; with `checkingPages`, after checking every page of the events
    /// file (for commands that walk the whole log: a damaged page is then `ledger_corrupt`, exit 3).
    func openLedger(checkingPages: Bool = false) throws -> Ledger {
        var options = ledgerOptions
        options.checksPages = checkingPages
        return try Ledger(openingAt: directory, options: options)
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

/// Parses a time option (RFC 3339); `nil` means now.
func parseTime(_ text: String?, option: String) throws -> Timestamp {
    guard let text else { return SystemClock().now() }
    guard let time = Timestamp(rfc3339: text) else {
        throw LedgerError(.invalidField, "\(option) must be an RFC 3339 date-time, such as 2026-03-01T00:00:00Z")
    }
    return time
}

/// Reads and parses a catalogue file, or returns the bundled catalogue when `path` is `nil`.
func loadCatalogue(_ path: String?) throws -> Catalogue {
    guard let path else { return try Catalogue.bundled() }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw LedgerError(.unreadableInput, "cannot read the catalogue file \(path)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw LedgerError(.invalidCatalogue, "\(path) is not UTF-8 text")
    }
    do {
        return try Catalogue.parse(text)
    } catch let error as LedgerError {
        throw LedgerError(error.code, "\(path): \(error.message)")
    }
}
