import ArgumentParser
import Ledger

/// `ledgerctl checkpoint`.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Print a signed checkpoint (tree head) of the log, as JSON or as a C2SP signed note.",
        discussion: """
            The checkpoint names the ledger, the number of events, the RFC 9162 Merkle root over \
            their hashes, the last event's hash and time, and is signed with the ledger's Ed25519 \
            key. Publish or hand it to an auditor; later, `ledgerctl verify --checkpoint FILE` \
            proves the log still extends it.

            --format note prints it as a C2SP tlog-checkpoint signed note (origin \
            consentledger/<ledgerId>, tree size, base64 root), which standard signed-note \
            verifiers check with the key --format verifier-key prints (docs/AUDITING.md). The note \
            carries the cosignatures the catalogue's witnesses made on it (`ledgerctl witnesses`); \
            --tree-size N prints the note of the first N events, --latest-cosigned the largest one \
            a witness cosigned.
            """
    )

    /// The forms a checkpoint is printed in.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, note
        case verifierKey = "verifier-key"
    }

    @OptionGroup var global: GlobalOptions
    @Option(help: "json (default), note (C2SP signed note) or verifier-key (the note's verifier key).")
    var format: Format = .json

    @Option(name: .long, help: "With --format note: the checkpoint of the first N events (default: all).")
    var treeSize: UInt64?

    @Flag(name: .long, help: "With --format note: the largest checkpoint a witness cosigned.")
    var latestCosigned = false

    func validate() throws {
        guard format == .note || (treeSize == nil && !latestCosigned) else {
            throw ValidationError("--tree-size and --latest-cosigned go with --format note")
        }
        guard treeSize == nil || !latestCosigned else {
            throw ValidationError("give --tree-size or --latest-cosigned, not both")
        }
    }

    func run() throws {
        try runReporting(json: global.json) {
            let ledger = try global.openLedger()
            switch format {
            case .json: Output.line(try ledger.checkpoint().json.serialized)
            case .note:
                var size = treeSize
                if latestCosigned {
                    guard let cosigned = try ledger.latestCosignedTreeSize() else {
                        throw LedgerError(.notFound, "no witness has cosigned a checkpoint of this ledger")
                    }
                    size = cosigned
                }
                Output.text(try ledger.checkpointNote(treeSize: size).serialized)
            case .verifierKey: Output.line(try ledger.checkpoint().noteVerifierKey)
            }
        }
    }
}
