import Crypto

/// The pure per-event work of an append, done on every core before the write transaction begins:
/// the external id's lookup hash, the payload plaintext and the idempotency fingerprint's input.
struct PreparedEvent: Sendable {
    var event: ClientEvent
    var lookup: [UInt8]
    var plaintext: [UInt8]
    var fingerprintInput: [UInt8]

    init(_ event: ClientEvent, keyStore: KeyStore) {
        self.event = event
        lookup = keyStore.lookupHash(of: event.subject)
        plaintext = event.payloadPlaintext
        fingerprintInput = event.fingerprintInput
    }
}

/// A subject's key and the key derived from it for idempotency fingerprints, derived once a batch.
struct SubjectKeys: Sendable {
    let key: SymmetricKey
    /// HMAC-SHA256 keyed with the fingerprint key, its key schedule done once; copied for each use.
    private let fingerprintHMAC: HMAC<SHA256>

    /// Derives the fingerprint key as HMAC-SHA256(subject key, label) — HKDF-Expand's single block,
    /// without HKDF's per-call overhead, which shows when a batch touches a thousand subjects.
    init(key: SymmetricKey) {
        self.key = key
        let fingerprintKey = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Self.label, using: key))
        fingerprintHMAC = HMAC<SHA256>(key: fingerprintKey)
    }

    private static let label = Array("ConsentLedger fingerprint v1".utf8) + [1]

    /// The fingerprint idempotency compares: HMAC-SHA256 of the event's content under a key derived
    /// from the subject key, so it dies with the subject (SPEC §6: nothing stores an unkeyed hash).
    func fingerprint(_ input: [UInt8]) -> [UInt8] {
        var hmac = fingerprintHMAC
        hmac.update(data: input)
        return Array(hmac.finalize())
    }
}
