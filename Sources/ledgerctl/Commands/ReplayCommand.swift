import ArgumentParser
import Ledger
import Projections

/// `ledgerctl replay [--from T] [--to T] [--subject S | --pseudonym P] [--export FILE]`.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Walk the log in order, verifying the chain, and show the state change each event causes.",
        discussion: """
            Prints every event with what it changed — `newsletter: granted → withdrawn`, \
            `request … open → completed` — and the changes time alone causes between events \
            (`granted → expired`, `open → overdue`). From the ledger, or from an export file alone \
            (--export, with --policy for the catalogue). Exits 1 at the first event that does not \
            verify.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Show steps recorded at or after this RFC 3339 time.") var from: String?
    @Option(name: .long, help: "Stop after steps recorded at this RFC 3339 time.") var to: String?
    @OptionGroup var who: SubjectOptions
    @OptionGroup var source: ExportSourceOptions

    func validate() throws {
        if source.export != nil, who.subject != nil {
            throw ValidationError("an export holds pseudonyms only: use --pseudonym")
        }
    }

    func run() throws {
        try runReporting(json: global.json) {
            let start = try from.map { try parseTime($0, option: "--from") }
            let end = try to.map { try parseTime($0, option: "--to") }
            var out = BufferedOutput()
            var only = who.pseudonym
            let catalogue: Catalogue
            var ledger: Ledger?
            if source.export == nil {
                let opened = try global.openLedger()
                ledger = opened
                catalogue = try opened.catalogue()
                only = try who.resolve(in: opened)
            } else {
                catalogue = try loadCatalogue(source.policy)
            }
            var replayer = Replayer(rules: ProjectionRules(catalogue: catalogue))
            func show(_ steps: [ReplayStep]) {
                for step in steps where (only == nil || step.pseudonym == only) && (start.map { step.at >= $0 } ?? true)
                {
                    out.write(global.json ? step.json.serialized : Self.describe(step))
                }
            }
            // The chain is checked by the replayer (`ChainVerifier`) before each event is folded,
            // and to the end of the log or file, past --to too.
            let visit: (StoredEvent) -> Bool = { event in
                if let end, event.recordedAt > end { return replayer.verify(event) == nil }
                guard let steps = try? replayer.step(verifying: event) else { return false }
                show(steps)
                return true
            }
            if let ledger {
                try ledger.forEachEvent { visit($0) }
            } else if let export = source.export {
                try ExportVerifier.forEachRecord(path: export) { record in
                    switch record {
                    case .failure(let failure):
                        replayer.record(failure)
                        return false
                    case .success(let event):
                        return visit(event)
                    }
                }
            }
            let failure = replayer.chain.failure
            if failure == nil, let end { show(replayer.timePassed(until: end)) }
            out.flush()
            if let failure {
                Output.report(
                    LedgerError(.chainBroken, "the chain does not verify at seq \(failure.seq): \(failure.reason)"),
                    json: global.json
                )
                throw CommandFailure(exitCode: 1)
            }
        }
    }

    private static func describe(_ step: ReplayStep) -> String {
        let head =
            step.event.map { "seq \($0.seq)  \(step.at.rfc3339)  \($0.type.rawValue)" }
            ?? "(time)  \(step.at.rfc3339)"
        let changes = step.changes.isEmpty ? "" : "  " + step.changes.joined(separator: "; ")
        return "\(head)  \(step.pseudonym)\(changes)"
    }
}
