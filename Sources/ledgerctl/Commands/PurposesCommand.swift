import ArgumentParser
import Ledger
import Projections

/// `ledgerctl purposes [--as-of T]`.
struct PurposesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purposes",
        abstract: "The purpose catalogue with anonymous counts of consents by status.",
        discussion:
            "Counts are of (subject, purpose) pairs: granted, withdrawn, expired, erased — aggregated, never per person."
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("as-of"), help: "An RFC 3339 time; default now.") var asOf: String?

    func run() throws {
        try runReporting(json: global.json) {
            let time = try parseTime(asOf, option: "--as-of")
            let ledger = try global.openLedger()
            let counts = try ledger.purposeCounts(asOf: time)
            if global.json {
                Output.line(JSONValue.object([("purposes", .array(counts.map(\.json)))]).serialized)
            } else {
                Output.line("Purposes as of \(time.rfc3339)")
                Self.printTable(counts)
            }
        }
    }

    static func printTable(_ counts: [PurposeCount]) {
        Output.line(
            Output.table(
                ["PURPOSE", "BASIS", "GRANTED", "WITHDRAWN", "EXPIRED", "ERASED"],
                counts.map {
                    [$0.id, $0.basis, String($0.granted), String($0.withdrawn), String($0.expired), String($0.erased)]
                }
            )
        )
    }
}
