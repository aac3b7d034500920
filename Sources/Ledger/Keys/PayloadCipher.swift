import Crypto

/// Encrypts and decrypts event payloads (SPEC §4): `nonce(12) ‖ ciphertext ‖ tag(16)` of
/// AES-256-GCM under the subject key, bound to its event by the associated data
/// `s(eventId) ‖ s(pseudonym)`.
enum PayloadCipher {
    static func associatedData(eventId: String, pseudonym: String) -> [UInt8] {
        var writer = ByteWriter(capacity: 80)
        writer.write(string: eventId)
        writer.write(string: pseudonym)
        return writer.bytes
    }

    static func seal(
        _ plaintext: [UInt8],
        key: SymmetricKey,
        nonce: [UInt8],
        eventId: String,
        pseudonym: String
    ) throws -> [UInt8] {
        try AESGCM.seal(
            plaintext,
            key: key,
            nonce: nonce,
            authenticating: associatedData(eventId: eventId, pseudonym: pseudonym)
        )
    }

    /// Returns the plaintext, or `nil` when the payload does not open with `key` for this event.
    /// - Throws: ``LedgerError`` `internal` when OpenSSL fails (``AESGCM/open(_:key:authenticating:)``).
    static func open(_ payload: [UInt8], key: SymmetricKey, eventId: String, pseudonym: String) throws -> [UInt8]? {
        try AESGCM.open(payload, key: key, authenticating: associatedData(eventId: eventId, pseudonym: pseudonym))
    }
}
