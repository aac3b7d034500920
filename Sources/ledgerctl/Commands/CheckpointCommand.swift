import ArgumentParser
import Ledger

/// `ledgerctl checkpoint`.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Print a signed checkpoint (tree head) of the log, as JSON.",
        discussion: """
            The checkpoint names the ledger, the number of events, the RFC 9162 Merkle root over \
            their hashes, the last event's hash and time, and is signed with the ledger's Ed25519 \
            key. Publish or hand it to an auditor; later, `ledgerctl verify --checkpoint FILE` \
            proves the log still extends it.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting(json: global.json) {
            Output.line(try global.openLedger().checkpoint().json.serialized)
        }
    }
}
