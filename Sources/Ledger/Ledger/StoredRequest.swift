/// A request as the ledger's own `requests` table holds it (the record the append path validates
/// `requestId`s against), for comparing with the projections in `rebuild`.
public struct StoredRequest: Sendable, Equatable {
    public var requestId: String
    public var kind: RequestKind
    public var pseudonym: String
    public var openedAt: Timestamp
    public var dueAt: Timestamp
    /// `open`, `completed` or `rejected`.
    public var status: String
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
