import Ledger

/// A data-subject request as the projections fold it (SPEC §5 "Requests").
public struct RequestProjection: Sendable, Equatable {
    /// `open`, `completed` or `rejected`; *overdue* is judged at a time (``isOverdue(at:)``).
    public enum Status: String, Sendable {
        case open, completed, rejected
    }

    /// The request's id.
    public var requestId: String
    /// Access, correction or deletion.
    public var kind: RequestKind
    /// The subject's pseudonym.
    public var pseudonym: String
    /// The `*.requested` event's `occurredAt`.
    public var openedAt: Timestamp
    /// The due date: `openedAt` plus the catalogue's deadline, or as `request.extended` moved it.
    public var dueAt: Timestamp
    /// Open, completed or rejected (overdue is open past `dueAt`, see ``isOverdue(at:)``).
    public var status: Status
    /// The closing event's `occurredAt`.
    public var closedAt: Timestamp?

    /// Open and past its due date at `time` (SPEC §5: overdue at T when T > dueAt).
    public func isOverdue(at time: Timestamp) -> Bool { status == .open && time > dueAt }

    /// `{"requestId","kind","pseudonym","openedAt","dueAt","status","overdue","closedAt"}`:
    /// `status` is always `open`, `completed` or `rejected`; `overdue` says whether the request is
    /// open past its due date at `time` (overdue is a filter and a flag, never a status).
    public func json(at time: Timestamp) -> JSONValue {
        .object([
            ("requestId", .string(requestId)), ("kind", .string(kind.rawValue)), ("pseudonym", .string(pseudonym)),
            ("openedAt", .string(openedAt.rfc3339)), ("dueAt", .string(dueAt.rfc3339)),
            ("status", .string(status.rawValue)), ("overdue", .bool(isOverdue(at: time))),
            ("closedAt", .string(closedAt?.rfc3339 ?? "")),
        ])
    }
}
