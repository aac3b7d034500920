import Crypto

/// The per-event work of an append done before its write transaction, outside the writer: the
/// external id's lookup hash, the payload plaintext, the event id and nonce, and — when the key
/// store already answered who the subject is — the payload sealed under the subject's key.
///
/// The write transaction checks the subject again: when it still resolves to
/// ``PreparedSubject/pseudonym`` the sealed payload is used as it is; otherwise (erased or created
/// by another writer in between) the writer seals the plaintext again under the right key. A class:
/// the append passes hand it around several times, and copying one reference is cheaper than
/// copying ten.
final class PreparedEvent: Sendable {
    let event: ClientEvent
    let lookup: [UInt8]
    let plaintext: [UInt8]
    /// The client's event id, or one generated at preparation (time-ordered, SPEC §4).
    let eventId: String
    /// The AES-GCM nonce of this event's payload, drawn at preparation.
    let nonce: [UInt8]
    /// Who the key store said the subject is, at preparation.
    let subject: PreparedSubject
    /// The payload sealed under ``subject``'s key, bound to ``eventId`` and its pseudonym.
    let payload: [UInt8]

    init(
        event: ClientEvent,
        lookup: [UInt8],
        plaintext: [UInt8],
        eventId: String,
        nonce: [UInt8],
        subject: PreparedSubject,
        payload: [UInt8]
    ) {
        self.event = event
        self.lookup = lookup
        self.plaintext = plaintext
        self.eventId = eventId
        self.nonce = nonce
        self.subject = subject
        self.payload = payload
    }
}

/// One subject of a prepared batch, shared by its events: an existing subject with its unwrapped
/// key, or a new one made (``KeyStore/makeSubject(lookupHash:random:in:environment:)``) but not
/// stored, which the write transaction stores if the external id is still unknown there.
final class PreparedSubject: Sendable {
    let pseudonym: [UInt8]
    let key: Pseudonym
    let hex: String
    let subjectKey: SymmetricKey
    /// Set when the subject did not exist at preparation.
    let new: KeyStore.NewSubject?

    init(pseudonym: [UInt8], key: Pseudonym, subjectKey: SymmetricKey, new: KeyStore.NewSubject?) {
        self.pseudonym = pseudonym
        self.key = key
        self.hex = Hex.encode(pseudonym)
        self.subjectKey = subjectKey
        self.new = new
    }
}
