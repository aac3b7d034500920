import ArgumentParser
import Foundation
import Ledger
import Projections

/// `ledgerctl prove (--subject S | --pseudonym P) [--as-of T] [--out FILE]`.
struct ProveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract:
            "Write a proof bundle for one subject: its consent state at T, its events and their inclusion proofs.",
        discussion: """
            The bundle holds a signed checkpoint, the export records of the subject's events \
            (pseudonym and ciphertext only — no one else's data), an RFC 9162 inclusion proof of \
            each, and the consent state they give at T. Anyone can check it offline with \
            `ledgerctl verify --proof FILE`, with no ledger. It cannot show that no other event of \
            the subject exists: compare its checkpoint with one published independently.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var who: SubjectOptions
    @Option(name: .customLong("as-of"), help: "An RFC 3339 time; default now.") var asOf: String?
    @Option(name: .long, help: ArgumentHelp("Write the bundle here instead of standard output.", valueName: "file"))
    var out: String?

    func validate() throws {
        guard who.isGiven else { throw ValidationError("give --subject or --pseudonym") }
    }

    func run() throws {
        try runReporting(json: global.json) {
            let ledger = try global.openLedger()
            let time = try parseTime(asOf, option: "--as-of")
            let pseudonym = try who.resolve(in: ledger) ?? ""
            let bundle = try ProofBundle.subjectState(ledger: ledger, pseudonym: pseudonym, asOf: time)
            try ProveCommand.write(bundle.json.serialized, to: out)
        }
    }

    static func write(_ text: String, to path: String?) throws {
        guard let path else {
            Output.line(text)
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: Data((text + "\n").utf8)) else {
            throw LedgerError(.ioError, "cannot write \(path)")
        }
    }
}
