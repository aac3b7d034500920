import ArgumentParser
import Foundation
import Ledger

/// `ledgerctl init [--policy FILE]`.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a ledger (or load a new catalogue into an existing one).",
        discussion: """
            Creates the ledger directory with its master key (mode 0600) and the purpose catalogue:
            the bundled one, made from the seed privacy policy, unless --policy names a catalogue \
            file (YAML; print the bundled one with `ledgerctl catalogue --bundled`). On an existing \
            ledger, --policy reloads the catalogue; a notice version's text may never change.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("A catalogue file to load instead of the bundled one.", valueName: "file"))
    var policy: String?

    @Option(name: .customLong("snapshot-interval"), help: "Events between projection snapshots (a new ledger only).")
    var snapshotInterval: UInt64 = Ledger.defaultSnapshotInterval

    func run() throws {
        try runReporting(json: global.json) {
            let catalogue = try policy.map { try loadCatalogue($0) }
            let (ledger, created) = try Ledger.create(
                at: global.directory,
                catalogue: catalogue,
                snapshotInterval: snapshotInterval,
                options: global.ledgerOptions
            )
            let loaded = try ledger.catalogue()
            let publicKey = try ledger.ensureSigningKey()
            if global.json {
                Output.line(
                    JSONValue.object([
                        ("ledger", .string(global.directory)), ("ledgerId", .string(ledger.ledgerId)),
                        ("created", .bool(created)), ("purposes", .int(Int64(loaded.purposes.count))),
                        ("publicKey", .string(publicKey)),
                    ]).serialized
                )
            } else {
                let verb = created ? "Created" : (policy == nil ? "Found existing" : "Reloaded the catalogue of")
                Output.line("\(verb) ledger \(ledger.ledgerId) in \(global.directory)")
                Output.line("Catalogue: \(loaded.controller.name), \(loaded.purposes.count) purposes")
                Output.line("Checkpoint signing key (Ed25519, public; publish it): \(publicKey)")
            }
        }
    }
}
