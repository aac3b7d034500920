/// The pure per-event work of an append, done on every core before the write transaction begins:
/// the external id's lookup hash and the payload plaintext. A class: the append passes hand it
/// around several times, and copying one reference is cheaper than copying eight.
final class PreparedEvent: Sendable {
    let event: ClientEvent
    let lookup: [UInt8]
    let plaintext: [UInt8]

    init(_ event: ClientEvent, keyStore: KeyStore) throws {
        self.event = event
        lookup = try keyStore.lookupHash(of: event.subject)
        plaintext = event.payloadPlaintext
    }
}
