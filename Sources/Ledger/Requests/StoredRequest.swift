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
    /// The seq of the `*.requested` event that opened it.
    public var openSeq: UInt64 = 0
    /// The due date before any extension.
    public var originalDueAt: Timestamp = Timestamp(milliseconds: 0)
    /// Whether `request.extended` moved the due date (it may, once).
    public var extended = false
}

extension Ledger {
    /// Every request record, by request id.
    /// - Throws: `ledger_corrupt` when a record cannot be decoded.
    public func storedRequests() throws -> [String: StoredRequest] {
        var found: [String: StoredRequest] = [:]
        for (id, request) in try storedRequestsForCheck() {
            guard let request else {
                throw LedgerError(.ledgerCorrupt, "the request record \(id) cannot be decoded")
            }
            found[id] = request
        }
        return found
    }

    /// Every request record by request id (the key in hex when it is not a UUID), `nil` for one
    /// that cannot be decoded: what `rebuild` compares, naming the first damaged record.
    public func storedRequestsForCheck() throws -> [String: StoredRequest?] {
        try storage {
            try events.read { txn in
                var found: [String: StoredRequest?] = [:]
                try txn.forEach(in: events.table(EventsSchema.requests)) { key, value in
                    guard key.count == 16, let record = RequestRecord(encoded: Array(value)) else {
                        found[key.count == 16 ? UUIDText.format(Array(key)) : Hex.encode(Array(key))] = .some(nil)
                        return true
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
                        closedAt: record.closedAt,
                        openSeq: record.openSeq,
                        originalDueAt: record.originalDueAt,
                        extended: record.extended
                    )
                    return true
                }
                return found
            }
        }
    }
}
