/// A request as the ledger's own `requests` table holds it (the record the append path validates
/// `requestId`s against), for comparing with the projections in `rebuild`.
public struct StoredRequest: Sendable, Equatable {
    /// The request's id (the event id of its `*.requested` event).
    public var requestId: String
    /// Access, correction or deletion.
    public var kind: RequestKind
    /// The subject's pseudonym.
    public var pseudonym: String
    /// The `*.requested` event's `occurredAt`.
    public var openedAt: Timestamp
    /// The due date, as extended.
    public var dueAt: Timestamp
    /// `open`, `completed` or `rejected`.
    public var status: String
    /// When it was fulfilled or rejected; `nil` while open.
    public var closedAt: Timestamp?
}

extension Ledger {
    /// Every request record, by request id.
    public func storedRequests() throws -> [String: StoredRequest] {
        try storage {
            try events.read { txn in
                var found: [String: StoredRequest] = [:]
                try txn.forEach(in: events.table(EventsSchema.requests)) { key, value in
                    guard key.count == 16, let record = RequestRecord(encoded: Array(value)) else {
                        throw LedgerError(.ledgerCorrupt, "a request record cannot be decoded")
                    }
                    let id = UUIDText.format(Array(key))
                    let status: String
                    switch record.status {
                    case .open: status = "open"
                    case .completed: status = "completed"
                    case .rejected: status = "rejected"
                    }
                    found[id] = StoredRequest(
                        requestId: id,
                        kind: record.kind,
                        pseudonym: Hex.encode(record.pseudonym),
                        openedAt: record.openedAt,
                        dueAt: record.dueAt,
                        status: status,
                        closedAt: record.closedAt
                    )
                    return true
                }
                return found
            }
        }
    }
}
