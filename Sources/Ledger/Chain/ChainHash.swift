import Crypto

/// The hash rule of SPEC §4, the one thing auditors re-implement:
///
/// ```
/// hash = SHA-256( "CLv1" ‖ prevHash ‖ u64(seq) ‖ s(eventId) ‖ s(type) ‖ s(subject)
///               ‖ s(purpose) ‖ s(notice) ‖ s(requestId) ‖ i64(occurredAt) ‖ i64(recordedAt)
///               ‖ i64(expiresAt) ‖ s(actor) ‖ b(payload) )
/// ```
///
/// The ledger stores each event as exactly the bytes after `"CLv1"` (its *body*), preceded by the
/// hash, so verification hashes stored bytes without decoding them.
public enum ChainHash {
    /// The domain-separation prefix of every event hash.
    static let prefix: [UInt8] = Array("CLv1".utf8)

    /// The 32 zero bytes that stand for the previous hash of seq 1.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// Encodes the hashed body of an event: every field after the `"CLv1"` prefix.
    static func body(
        prevHash: [UInt8],
        seq: UInt64,
        eventId: String,
        type: String,
        subject: String,
        purpose: String,
        notice: String,
        requestId: String,
        occurredAt: Int64,
        recordedAt: Int64,
        expiresAt: Int64,
        actor: String,
        payload: [UInt8]
    ) -> [UInt8] {
        prevHash
            + tail(
                seq: seq,
                eventId: eventId,
                type: type,
                subject: subject,
                purpose: purpose,
                notice: notice,
                requestId: requestId,
                occurredAt: occurredAt,
                recordedAt: recordedAt,
                expiresAt: expiresAt,
                actor: actor,
                payload: payload
            )
    }

    /// Encodes the body's fields after `prevHash`: everything of an event that does not depend on the
    /// event before it, so appends can encode it on every core and chain it in order afterwards.
    static func tail(
        seq: UInt64,
        eventId: String,
        type: String,
        subject: String,
        purpose: String,
        notice: String,
        requestId: String,
        occurredAt: Int64,
        recordedAt: Int64,
        expiresAt: Int64,
        actor: String,
        payload: [UInt8]
    ) -> [UInt8] {
        var writer = ByteWriter(
            capacity: 128 + payload.count + eventId.utf8.count + purpose.utf8.count + actor.utf8.count
        )
        writer.write(u64: seq)
        writer.write(string: eventId)
        writer.write(string: type)
        writer.write(string: subject)
        writer.write(string: purpose)
        writer.write(string: notice)
        writer.write(string: requestId)
        writer.write(i64: occurredAt)
        writer.write(i64: recordedAt)
        writer.write(i64: expiresAt)
        writer.write(string: actor)
        writer.write(lengthPrefixed: payload)
        return writer.bytes
    }

    /// Chains a tail to its predecessor: returns the LMDB record `hash ‖ prevHash ‖ tail` and the hash.
    static func chain(prevHash: [UInt8], tail: [UInt8]) -> (record: [UInt8], hash: [UInt8]) {
        var hasher = SHA256()
        hasher.update(data: prefix)
        hasher.update(data: prevHash)
        hasher.update(data: tail)
        let hash = Array(hasher.finalize())
        var record: [UInt8] = []
        record.reserveCapacity(64 + tail.count)
        record += hash
        record += prevHash
        record += tail
        return (record, hash)
    }

    /// SHA-256 of `"CLv1"` followed by `body`.
    static func hash(body: some DataProtocolBytes) -> [UInt8] {
        digest(body: body).bytes
    }

    /// SHA-256 of `"CLv1"` followed by `body`, held inline: the rule of ``hash(body:)`` without
    /// an array, for the per-event path of ``ChainVerifier`` (the stored bytes hashed in place).
    static func digest(body: some DataProtocolBytes) -> InlineHash {
        var hasher = SHA256()
        hasher.update(data: prefix)
        body.feed(into: &hasher)
        return InlineHash(hasher.finalize())
    }
}

/// Bytes that can be fed to a hasher without copying.
protocol DataProtocolBytes {
    func feed(into hasher: inout SHA256)
}

extension Array: DataProtocolBytes where Element == UInt8 {
    func feed(into hasher: inout SHA256) { withUnsafeBytes { hasher.update(bufferPointer: $0) } }
}

extension UnsafeRawBufferPointer: DataProtocolBytes {
    func feed(into hasher: inout SHA256) { hasher.update(bufferPointer: self) }
}

extension InlineHash: DataProtocolBytes {
    func feed(into hasher: inout SHA256) { withUnsafeBytes { hasher.update(bufferPointer: $0) } }
}
