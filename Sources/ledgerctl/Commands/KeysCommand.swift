import ArgumentParser
import Ledger
import LedgerClient

/// `ledgerctl keys compact`.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Maintain the key store.",
        subcommands: [Compact.self]
    )

    /// `ledgerctl keys compact`.
    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compact",
            abstract:
                "Rewrite the key store's LMDB file with a compacting copy, to reclaim space (an erasure needs none)."
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            try runReporting(json: global.json) {
                let server = UnixHTTPClient(path: global.directory + "/ledger.sock")
                if server.isAnswering() {
                    let reply = try server.call("POST", "/v1/keys/compact", json: "{}")
                    if let error = reply.error { throw error }
                } else {
                    try global.openLedger().compactKeyStore()
                }
                if global.json {
                    Output.line(JSONValue.object([("compacted", .bool(true))]).serialized)
                } else {
                    Output.line("Key store compacted.")
                }
            }
        }
    }
}
