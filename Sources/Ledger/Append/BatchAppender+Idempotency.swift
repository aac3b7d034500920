extension BatchAppender {
    /// The original answer when `eventId` was appended before with the same content; `nil` when the
    /// id is new. A retry for a subject erased since cannot be compared and gets the original answer.
    /// - Throws: `event_id_conflict` when the id was used with other content.
    mutating func replayResult(
        of prepared: PreparedEvent,
        eventId: String,
        keysTxn: borrowing WriteTransaction,
        eventsTxn: borrowing WriteTransaction
    ) throws -> AppendResult? {
        let events = ledger.events
        guard let index = try eventsTxn.get(UUIDText.bytes(eventId), in: events.table(EventsSchema.eventIds)) else {
            return nil
        }
        guard index.count == 8, let raw = try eventsTxn.get(index, in: events.table(EventsSchema.log)),
            let stored = raw.withUnsafeBytes({ StoredEvent(record: $0) }), let pseudonym = Hex.decode(stored.subject)
        else { throw LedgerError(.ledgerCorrupt, "the event-id index names an event that cannot be read") }
        // While the subject's key exists, the original's content is decrypted and compared; once
        // erased it cannot be, and the original answer stands (SPEC §7).
        if let key = try key(for: pseudonym, keysTxn: keysTxn) {
            let original = try PayloadCipher.open(
                stored.payload,
                key: key,
                eventId: stored.eventId,
                pseudonym: stored.subject
            )
            .flatMap { ClientEvent(stored: stored, plaintext: $0) }
            var retry = prepared.event
            retry.eventId = stored.eventId
            guard let original, original == retry else {
                throw LedgerError(
                    .eventIdConflict,
                    "eventId \(eventId) was used before for an event with other content"
                )
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
            seq: stored.seq,
            eventId: stored.eventId,
            hashBytes: stored.hash,
            recordedAt: stored.recordedAt,
            subject: stored.subject,
            requestId: dueAt == nil ? nil : stored.eventId,
            dueAt: dueAt,
            replayed: true
        )
    }
}
