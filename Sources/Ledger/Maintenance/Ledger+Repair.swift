import Foundation

extension Ledger {
    /// Deletes every projection snapshot. Snapshots are derived from the log alone, so nothing is
    /// lost: the next catch-up or append writes them again.
    package func removeAllSnapshots() throws {
        try storage { try events.write { try $0.removeAll(in: events.table(EventsSchema.snapshots)) } }
    }

    /// Writes every request record again from the log, in one write transaction (so no append can
    /// come between the read of the log and the new records), by the rules the append and erasure
    /// paths apply: a `*.requested` event opens a record due after the catalogue's deadline, a
    /// closing event completes or rejects it, `request.extended` moves its due date once.
    /// - Returns: The number of records written.
    package func rederiveRequestRecords() throws -> Int {
        try storage {
            try events.write { txn in
                let requests = events.table(EventsSchema.requests)
                let deadlineDays = try catalogue(in: txn).requestDeadlineDays
                var records: [String: RequestRecord] = [:]
                var failure: LedgerError?
                try txn.forEach(in: events.table(EventsSchema.log)) { _, value in
                    guard let event = StoredEvent(record: value), let pseudonym = Hex.decode(event.subject) else {
                        failure = LedgerError(
                            .ledgerCorrupt,
                            "an event of the log cannot be read; run `ledgerctl verify`"
                        )
                        return false
                    }
                    Self.applyToRequests(event, pseudonym: pseudonym, deadlineDays: deadlineDays, &records)
                    return true
                }
                if let failure { throw failure }
                try txn.removeAll(in: requests)
                for (id, record) in records { try txn.put(record.encoded, forKey: UUIDText.bytes(id), in: requests) }
                return records.count
            }
        }
    }

    /// What one logged event does to the request records (as ``rederiveRequestRecords()`` folds them).
    private static func applyToRequests(
        _ event: StoredEvent,
        pseudonym: [UInt8],
        deadlineDays: Int,
        _ records: inout [String: RequestRecord]
    ) {
        if let kind = event.type.opensRequest {
            records[event.eventId] = RequestRecord.opened(
                kind: kind,
                pseudonym: pseudonym,
                seq: event.seq,
                occurredAt: event.occurredAt,
                deadlineDays: deadlineDays
            )
            return
        }
        guard event.type.takesRequestId, !event.requestId.isEmpty, var record = records[event.requestId] else { return }
        // An erasure closes its request at the time it executed (``Ledger/erase``), which is also
        // its occurredAt.
        record.apply(event.type, at: event.occurredAt, expiresAt: event.expiresAt)
        records[event.requestId] = record
    }
}
