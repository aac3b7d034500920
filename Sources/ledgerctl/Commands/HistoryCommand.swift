import ArgumentParser
import Ledger
import Projections

/// `ledgerctl history (--subject S | --pseudonym P) [--as-of T]`.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Everything held about one subject, decrypted: the answer to an access request.",
        discussion: """
            Shows the external id, every event with its decrypted data, the current consents and \
            the open requests. For an erased subject (by --pseudonym; the external id no longer \
            resolves) it says so: the events remain, their data can no longer be decrypted.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var who: SubjectOptions
    @Option(name: .customLong("as-of"), help: "Only what was recorded by this RFC 3339 time.") var asOf: String?

    func validate() throws {
        guard who.isGiven else { throw ValidationError("give --subject or --pseudonym") }
    }

    func run() throws {
        try runReporting(json: global.json) {
            let time = try parseTime(asOf, option: "--as-of")
            let ledger = try global.openLedger()
            let resolved = try who.resolve(in: ledger) ?? ""
            let events = try ledger.history(pseudonym: resolved, asOf: asOf == nil ? nil : time)
            guard !events.isEmpty else { throw LedgerError(.subjectNotFound, "no events of pseudonym \(resolved)") }
            let erased = events.contains { $0.erased }
            let externalId = events.lazy.compactMap(\.externalId).first
            let catalogue = try ledger.catalogue()
            let consents = try ledger.subjectProjection(pseudonym: resolved, asOf: time)
                .consents(at: time, rules: ProjectionRules(catalogue: catalogue))
            let openRequests = try ledger.projection(asOf: time).requests(at: time, filter: .open)
                .filter { $0.pseudonym == resolved }
            if global.json {
                Output.line(
                    JSONValue.object([
                        ("subject", externalId.map { .string($0) } ?? .null), ("pseudonym", .string(resolved)),
                        ("erased", .bool(erased)), ("asOf", .string(time.rfc3339)),
                        ("events", .array(events.map(\.json))), ("consents", .array(consents.map(\.json))),
                        ("openRequests", .array(openRequests.map { $0.json(at: time) })),
                    ]).serialized
                )
                return
            }
            Output.line("Access report for pseudonym \(resolved), as of \(time.rfc3339)")
            if erased {
                Output.line("This subject has been ERASED: their key is destroyed, so the personal data in these")
                Output.line("events can never be decrypted again. The events stay in the log and still verify.")
            } else {
                Output.line("External id: \(externalId ?? "(unreadable)")")
            }
            Output.line("")
            Output.line("Events (\(events.count)):")
            Output.line(
                Output.table(
                    ["SEQ", "TYPE", "PURPOSE", "OCCURRED", "RECORDED", "ACTOR", "DATA"],
                    events.map { item in
                        [
                            String(item.event.seq), item.event.type.rawValue,
                            item.event.purpose.isEmpty ? "-" : item.event.purpose,
                            item.event.occurredAt.rfc3339, item.event.recordedAt.rfc3339, item.event.actor,
                            item.erased ? "(erased)" : (item.data ?? "-"),
                        ]
                    }
                )
            )
            Output.line("")
            Output.line("Consents:")
            Output.line(
                consents.isEmpty
                    ? "  none"
                    : Output.table(
                        ["PURPOSE", "STATUS", "SINCE", "EXPIRES"],
                        consents.map {
                            [$0.purpose, $0.status.rawValue, $0.since.rfc3339, $0.expiresAt?.rfc3339 ?? "-"]
                        }
                    )
            )
            Output.line("")
            Output.line("Open requests: \(openRequests.isEmpty ? "none" : "")")
            for request in openRequests {
                Output.line(
                    "  \(request.kind.rawValue) \(request.requestId) opened \(request.openedAt.rfc3339), due \(request.dueAt.rfc3339)"
                )
            }
        }
    }
}
