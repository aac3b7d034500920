import ArgumentParser
import Ledger
import Projections

/// `ledgerctl receipt (--subject S | --pseudonym P) --purpose P [--as-of T] [--format json|jsonld] [--out FILE]`.
struct ReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt",
        abstract: "Write a consent receipt: the subject's latest grant or withdrawal of a purpose, provable offline.",
        discussion: """
            The receipt holds the event's ISO/IEC TS 27560 consent record (DPV profile), its \
            export record (pseudonym and ciphertext only), an RFC 9162 inclusion proof against a \
            signed checkpoint, and the checkpoint key's signature binding the record to both. \
            Anyone can check it offline with `ledgerctl verify --receipt FILE` or \
            examples/verify_receipt.py (docs/RECEIPTS.md).

            With --format jsonld, the same receipt with an inline JSON-LD @context that maps the \
            record to W3C DPV terms (the event state as dpv:ConsentGiven, dpv:RenewedConsentGiven, \
            dpv:ConsentWithdrawn or dpv:ConsentExpired); it verifies the same way.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var who: SubjectOptions
    @Option(name: .long, help: "The purpose id.") var purpose: String
    @Option(name: .customLong("as-of"), help: "An RFC 3339 time; default now.") var asOf: String?
    @Option(name: .long, help: "json (default) or jsonld (with an inline DPV @context).") var format = "json"
    @Option(name: .long, help: ArgumentHelp("Write the receipt here instead of standard output.", valueName: "file"))
    var out: String?

    func validate() throws {
        guard who.isGiven else { throw ValidationError("give --subject or --pseudonym") }
        guard ["json", "jsonld"].contains(format) else { throw ValidationError("--format is json or jsonld") }
    }

    func run() throws {
        try runReporting(json: global.json) {
            let time = try parseTime(asOf, option: "--as-of")
            let ledger = try global.openLedger()
            let pseudonym = try who.resolve(in: ledger) ?? ""
            let receipt = try ConsentReceipt.make(ledger: ledger, pseudonym: pseudonym, purposeId: purpose, asOf: time)
            try ProveCommand.write((format == "jsonld" ? receipt.jsonLD : receipt.json).serialized, to: out)
        }
    }
}
