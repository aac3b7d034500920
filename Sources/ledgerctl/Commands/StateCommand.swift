import ArgumentParser
import Ledger
import Projections

/// `ledgerctl state [--as-of T] [--subject S | --pseudonym P] [--purpose P] [--export FILE]
/// [--format dpv]`.
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Consent state and purpose counts, now or as of a past time.",
        discussion: """
            As of T means what the ledger knew at T: only events recorded at or before T, with \
            expiry judged at T. The same log gives the same answer on every run.

            With --subject or --pseudonym, one subject's consents (read through the per-subject \
            index). Without, every subject's consents and the per-purpose counts.

            With --export FILE, the state comes from an export file alone — no ledger, no key — \
            verifying the chain on the way; --policy names the catalogue (default: bundled).

            With --format dpv and --subject or --pseudonym, the subject's deciding grant or \
            withdrawal of each purpose as ISO/IEC TS 27560 records in JSON-LD, with the inline \
            DPV context of consent receipts (docs/RECEIPTS.md); unsigned and without proofs: use \
            `ledgerctl receipt` for those.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("as-of"), help: "An RFC 3339 time; default now.") var asOf: String?
    @OptionGroup var who: SubjectOptions
    @Option(name: .long, help: "Only this purpose.") var purpose: String?
    @OptionGroup var source: ExportSourceOptions
    @Option(name: .long, help: "dpv: one subject's consent records as JSON-LD (DPV).") var format: String?

    func validate() throws {
        if let format {
            guard format == "dpv" else { throw ValidationError("--format takes dpv") }
            guard who.isGiven, source.export == nil else {
                throw ValidationError("--format dpv goes with --subject or --pseudonym, on the ledger")
            }
        }
        if source.export != nil, who.subject != nil {
            throw ValidationError("an export holds pseudonyms only: use --pseudonym")
        }
    }

    func run() throws {
        try runReporting(json: global.json) {
            let time = try parseTime(asOf, option: "--as-of")
            let projection: LedgerProjection
            let catalogue: Catalogue
            var ledger: Ledger?
            if let export = source.export {
                catalogue = try loadCatalogue(source.policy)
                try checkPurpose(in: catalogue)
                let folded = try ExportProjection.fold(
                    path: export,
                    asOf: time,
                    rules: ProjectionRules(catalogue: catalogue)
                )
                if let failure = folded.report.failure {
                    Output.report(
                        LedgerError(
                            .chainBroken,
                            "the export does not verify at seq \(failure.seq): \(failure.reason)"
                        ),
                        json: global.json
                    )
                    throw CommandFailure(exitCode: 1)
                }
                projection = folded.projection
            } else {
                let opened = try global.openLedger()
                ledger = opened
                catalogue = try opened.catalogue()
                try checkPurpose(in: catalogue)
                if let resolved = try who.resolve(in: opened) {
                    if format != nil {
                        try printRecords(of: resolved, in: opened, catalogue: catalogue, at: time)
                        return
                    }
                    let projection = try opened.subjectProjection(pseudonym: resolved, asOf: time)
                    printConsents(
                        projection.consents(at: time, rules: ProjectionRules(catalogue: catalogue)),
                        subject: who.subject,
                        pseudonym: resolved,
                        at: time
                    )
                    return
                }
                projection = try opened.projection(asOf: time)
            }
            if let pseudonym = who.pseudonym {
                let known = Pseudonym(hex: pseudonym).flatMap { projection.subjects[$0] }
                let subject = known ?? SubjectProjection()
                guard known != nil || ledger != nil else {
                    throw LedgerError(
                        .subjectNotFound,
                        "the export has no events of pseudonym \(pseudonym) recorded by then"
                    )
                }
                printConsents(
                    subject.consents(at: time, rules: ProjectionRules(catalogue: catalogue)),
                    subject: nil,
                    pseudonym: pseudonym,
                    at: time
                )
                return
            }
            printWhole(projection, catalogue: catalogue, at: time)
        }
    }

    /// `--format dpv`: the subject's consent records as one JSON-LD document.
    private func printRecords(of pseudonym: String, in ledger: Ledger, catalogue: Catalogue, at time: Timestamp) throws
    {
        Output.line(try ConsentRecord.jsonLD(ofSubject: pseudonym, in: ledger, asOf: time, purpose: purpose).serialized)
    }

    /// A `--purpose` the catalogue does not name would silently list nothing: refuse it instead.
    private func checkPurpose(in catalogue: Catalogue) throws {
        guard let purpose, catalogue.purpose(purpose) == nil else { return }
        throw LedgerError(
            .unknownPurpose,
            "unknown purpose \(String(purpose.prefix(64)).debugDescription)"
                + Suggestion.clause(for: purpose, among: catalogue.purposes.map(\.id))
        )
    }

    private func printConsents(_ all: [ConsentEntry], subject: String?, pseudonym: String, at time: Timestamp) {
        let consents = all.filter { purpose == nil || $0.purpose == purpose }
        if global.json {
            var pairs: [(String, JSONValue)] = []
            if let subject { pairs.append(("subject", .string(subject))) }
            pairs += [
                ("pseudonym", .string(pseudonym)), ("asOf", .string(time.rfc3339)),
                ("consents", .array(consents.map(\.json))),
            ]
            Output.line(JSONValue.object(pairs).serialized)
            return
        }
        Output.line("Subject \(pseudonym) as of \(time.rfc3339)")
        if consents.isEmpty {
            Output.line("No consent events.")
            return
        }
        Output.line(
            Output.table(
                ["PURPOSE", "STATUS", "SINCE", "SEQ", "EXPIRES"],
                consents.map {
                    [$0.purpose, $0.status.rawValue, $0.since.rfc3339, String($0.seq), $0.expiresAt?.rfc3339 ?? "-"]
                }
            )
        )
    }

    private func printWhole(_ projection: LedgerProjection, catalogue: Catalogue, at time: Timestamp) {
        let rules = ProjectionRules(catalogue: catalogue)
        let subjects = projection.consentState(at: time, rules: rules)
        let counts = projection.purposeCounts(at: time, catalogue: catalogue).filter {
            purpose == nil || $0.id == purpose
        }
        if global.json {
            let rows: [JSONValue] = subjects.compactMap { subject in
                let consents = subject.consents.filter { purpose == nil || $0.purpose == purpose }
                guard !consents.isEmpty else { return nil }
                return .object([
                    ("pseudonym", .string(subject.pseudonym)), ("erased", .bool(subject.erased)),
                    ("consents", .array(consents.map(\.json))),
                ])
            }
            Output.line(
                JSONValue.object([
                    ("asOf", .string(time.rfc3339)), ("seq", .int(Int64(projection.throughSeq))),
                    ("subjects", .array(rows)), ("purposes", .array(counts.map(\.json))),
                ]).serialized
            )
            return
        }
        Output.line("Consent state as of \(time.rfc3339) (events through seq \(projection.throughSeq))")
        var rows: [[String]] = []
        for subject in subjects {
            for entry in subject.consents where purpose == nil || entry.purpose == purpose {
                rows.append([
                    subject.pseudonym, entry.purpose, entry.status.rawValue, entry.since.rfc3339,
                    entry.expiresAt?.rfc3339 ?? "-",
                ])
            }
        }
        Output.line(Output.table(["PSEUDONYM", "PURPOSE", "STATUS", "SINCE", "EXPIRES"], rows))
        Output.line("")
        PurposesCommand.printTable(counts)
    }
}
