extension BatchAppender {
    /// The original answer when `eventId` was appended before with the same content; `nil` when the
    /// id is new. A retry for a subject erased since cannot be compared and gets the original answer.
    /// - Throws: `event_id_conflict` when the id was used with other content.
    mutating func replayResult(
        of prepared: PreparedEvent, eventId: String, keysTxn: borrowing WriteTransaction,
        eventsTxn: borrowing WriteTransaction
    ) throws -> AppendResult? {
        let events = ledger.events
        guard let index = try eventsTxn.get(UUIDText.bytes(eventId), in: events.table(EventsSchema.eventIds)) else {
            return nil
        }
        guard index.count == 40, let raw = try eventsTxn.get(Array(index[0..<8]), in: events.table(EventsSchema.log)),
            let stored = raw.withUnsafeBytes({ StoredEvent(record: $0) }), let pseudonym = Hex.decode(stored.subject)
        else { throw LedgerError(.ledgerCorrupt, "the event-id index names an event that cannot be read") }
        if let keys = try keys(for: pseudonym, keysTxn: keysTxn) {
            guard keys.fingerprint(prepared.fingerprintInput) == Array(index[8..<40]) else {
                throw LedgerError(.eventIdConflict, "eventId \(eventId) was used before for an event with other content")
            }
        }
        var dueAt: Timestamp?
        if stored.type.opensRequest != nil,
            let rawRequest = try eventsTxn.get(UUIDText.bytes(eventId), in: events.table(EventsSchema.requests)),
            let request = RequestRecord(encoded: rawRequest)
        {
            dueAt = request.originalDueAt
        }
        return AppendResult(
            seq: stored.seq, eventId: stored.eventId, hash: stored.hashHex, recordedAt: stored.recordedAt,
            subject: stored.subject, requestId: dueAt == nil ? nil : stored.eventId, dueAt: dueAt, replayed: true)
    }
}
