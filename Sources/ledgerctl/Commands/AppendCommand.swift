import ArgumentParser
import Ledger
import LedgerServer

/// `ledgerctl append --type T --subject S …`.
struct AppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append one event, durably.",
        discussion: """
            Types: consent.granted, consent.withdrawn, access.requested, access.completed, \
            access.rejected, correction.requested, correction.completed, correction.rejected, \
            erasure.requested, erasure.rejected, request.extended. (erasure.completed is written \
            by `ledgerctl erase`.) The subject is the service's external id; the ledger stores it \
            only encrypted, and answers with the subject's pseudonym.

            Example:
              ledgerctl append --type consent.granted --subject alice@example.com \\
                --purpose newsletter --notice policy-v1 --data '{"source":"web"}'
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The event type.") var type: String
    @Option(name: .long, help: "The subject's external id.") var subject: String
    @Option(name: .long, help: "The purpose id (consent.* events).") var purpose: String?
    @Option(name: .long, help: "The notice version shown (consent.granted).") var notice: String?
    @Option(name: .customLong("event-id"), help: "A UUID making the append idempotent.") var eventId: String?
    @Option(name: .customLong("occurred-at"), help: "When it happened (RFC 3339); default now.") var occurredAt: String?
    @Option(name: .customLong("request-id"), help: "The request answered or extended.") var requestId: String?
    @Option(name: .customLong("expires-at"), help: "Consent expiry, or an extension's new due date.") var expiresAt:
        String?
    @Option(name: .long, help: "A JSON object of evidence, corrected values or reasons.") var data: String?

    func run() throws {
        try runReporting(json: global.json) {
            // The event as JSON text, through the same parser as the socket's, so both read
            // `--data` alike.
            var fields: [(String, JSONValue)] = [("type", .string(type)), ("subject", .string(subject))]
            let optional: [(String, String?)] = [
                ("purpose", purpose), ("notice", notice), ("eventId", eventId), ("occurredAt", occurredAt),
                ("requestId", requestId), ("expiresAt", expiresAt),
            ]
            for case (let name, let value?) in optional { fields.append((name, .string(value))) }
            if let data {
                // Checked on its own first, so a fault is reported in --data's own offsets (and
                // --data cannot smuggle other fields into the event).
                do {
                    fields.append(("data", try JSONValue.parseReportingOffset(Array(data.utf8))))
                } catch let error as JSONSyntaxError {
                    throw LedgerError(
                        .invalidJSON,
                        "--data is not valid JSON (at byte offset \(error.offset) of --data)"
                    )
                }
            }
            let ledger = try global.openLedger()
            let catalogue = try ledger.catalogue()
            let event = try ClientEvent.decode(
                json: Array(JSONValue.object(fields).serialized.utf8),
                catalogue: catalogue
            )
            let results = try ledger.append([event], actor: CallerIdentity.actor(catalogue: catalogue))
            for result in results {
                if global.json {
                    Output.line(result.json.serialized)
                } else {
                    let replay = result.replayed ? " (already appended; same content)" : ""
                    Output.line("Appended seq \(result.seq) for subject \(result.subject)\(replay)")
                    Output.line("  eventId \(result.eventId)")
                    Output.line("  hash    \(result.hash)")
                    if let dueAt = result.dueAt { Output.line("  request \(result.eventId) due \(dueAt.rfc3339)") }
                }
            }
        }
    }
}
