import ArgumentParser
import Ledger

/// `--subject S | --pseudonym P`: which subject a command is about.
struct SubjectOptions: ParsableArguments {
    @Option(name: .long, help: "The subject's external id.") var subject: String?
    @Option(name: .long, help: "The subject's pseudonym.") var pseudonym: String?

    var isGiven: Bool { subject != nil || pseudonym != nil }

    func validate() throws {
        if subject != nil, pseudonym != nil { throw ValidationError("give --subject or --pseudonym, not both") }
    }

    /// The pseudonym the options name: `--pseudonym` as given, or `--subject` resolved in `ledger`.
    /// - Throws: `subject_not_found` when the external id does not resolve (or was erased).
    func resolve(in ledger: Ledger) throws -> String? {
        if let pseudonym { return pseudonym }
        guard let subject else { return nil }
        guard let found = try ledger.pseudonym(of: subject) else {
            throw LedgerError(.subjectNotFound, "no subject has this external id (it may have been erased)")
        }
        return found
    }
}

/// `--export FILE [--policy FILE]`: work from an export file alone, with no ledger and no key.
struct ExportSourceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Work from an export file instead of the ledger.", valueName: "file"))
    var export: String?
    @Option(name: .long, help: ArgumentHelp("The catalogue for --export (default: bundled).", valueName: "file"))
    var policy: String?
}
