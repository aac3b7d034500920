/// The pure per-event work of an append, done on every core before the write transaction begins:
/// the external id's lookup hash and the payload plaintext.
struct PreparedEvent: Sendable {
    var event: ClientEvent
    var lookup: [UInt8]
    var plaintext: [UInt8]

    init(_ event: ClientEvent, keyStore: KeyStore) {
        self.event = event
        lookup = keyStore.lookupHash(of: event.subject)
        plaintext = event.payloadPlaintext
    }
}
