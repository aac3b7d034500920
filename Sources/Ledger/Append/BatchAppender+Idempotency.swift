import Crypto
import Foundation

extension BatchAppender {
    /// The fingerprint idempotency compares: HMAC-SHA256 of the event's content under a key derived
    /// from the subject key, so it dies with the subject (SPEC §6: nothing stores an unkeyed hash).
    static func fingerprint(_ event: ClientEvent, key: SymmetricKey) -> [UInt8] {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key, info: Array("ConsentLedger fingerprint v1".utf8), outputByteCount: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: event.fingerprintInput, using: derived))
    }

    /// The original answer when `eventId` was appended before with the same content; `nil` when the
    /// id is new. A retry for a subject erased since cannot be compared and gets the original answer.
    /// - Throws: `event_id_conflict` when the id was used with other content.
    func replayResult(
        of event: ClientEvent, eventId: String, keysTxn: borrowing WriteTransaction,
        eventsTxn: borrowing WriteTransaction
    ) throws -> AppendResult? {
        let events = ledger.events
        guard let index = try eventsTxn.get(UUIDText.bytes(eventId), in: events.table(EventsSchema.eventIds)) else {
            return nil
        }
        guard index.count == 40, let raw = try eventsTxn.get(Array(index[0..<8]), in: events.table(EventsSchema.log)),
            let stored = raw.withUnsafeBytes({ StoredEvent(record: $0) }), let pseudonym = Hex.decode(stored.subject)
        else { throw LedgerError(.ledgerCorrupt, "the event-id index names an event that cannot be read") }
        if let key = try ledger.keyStore.subjectKey(pseudonym: pseudonym, in: keysTxn, environment: keys) {
            guard Self.fingerprint(event, key: key) == Array(index[8..<40]) else {
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

    /// Encrypts each accepted event's payload and computes its fingerprint; large batches use every
    /// core. Only pure crypto runs off the calling thread; LMDB is touched by the caller alone.
    static func seal(_ items: inout [Accepted]) throws {
        let failure = Locked<LedgerError?>(nil)
        items.withUnsafeMutableBufferPointer { buffer in
            // Each index is written by exactly one iteration, so the iterations never share an element.
            nonisolated(unsafe) let shared = buffer
            let count = shared.count
            let work: @Sendable (Int) -> Void = { index in
                let item = shared[index]
                do {
                    shared[index].payload = try PayloadCipher.seal(
                        item.event.payloadPlaintext, key: item.key, nonce: item.nonce, eventId: item.eventId,
                        pseudonym: Hex.encode(item.pseudonym))
                    shared[index].fingerprint = fingerprint(item.event, key: item.key)
                } catch {
                    failure.withLock { $0 = LedgerError(.internal, "payload encryption failed", line: item.line) }
                }
            }
            if count < 64 {
                for index in 0..<count { work(index) }
            } else {
                let chunks = ProcessInfo.processInfo.activeProcessorCount * 4
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    var index = chunk
                    while index < count {
                        work(index)
                        index += chunks
                    }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
