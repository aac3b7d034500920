import Ledger

/// One request's timeline as the `timeline` template draws it.
struct TimelineView: Sendable {
    struct Entry: Sendable {
        let seq: UInt64
        let type: String
        let actor: String
        let occurredAt: String
        let recordedAt: String
    }

    let requestId: String
    let kind: String
    let pseudonym: String
    let opened: String
    let due: String
    /// Whether a `request.extended` moved the due date (by the page's time).
    let extended: Bool
    /// `open`, `completed` or `rejected`.
    let status: String
    let isOpen: Bool
    let daysLeft: String
    let tone: String
    let closed: String?
    let entries: [Entry]
    let backHref: String

    init(_ page: TimelinePage, asOf: AsOf) {
        let request = page.request
        requestId = request.requestId
        kind = request.kind.rawValue
        pseudonym = request.pseudonym
        opened = Display.dateTime(request.openedAt)
        due = Display.dateTime(request.dueAt)
        extended = page.entries.contains { $0.type == .requestExtended }
        status = request.status.rawValue
        isOpen = request.status == .open
        daysLeft = Display.daysLeft(page.daysLeft)
        tone = ClockPage.Urgency(daysLeft: page.daysLeft).rawValue
        closed = request.closedAt.map(Display.dateTime)
        entries = page.entries.map {
            Entry(
                seq: $0.seq,
                type: $0.type.rawValue,
                actor: $0.actor,
                occurredAt: Display.dateTime($0.occurredAt),
                recordedAt: Display.dateTime($0.recordedAt)
            )
        }
        backHref = "/" + asOf.query
    }
}
