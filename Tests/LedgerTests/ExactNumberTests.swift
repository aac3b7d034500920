import Testing

@testable import Ledger

/// Numbers in `data` come back exactly as given, and a retry of the same bytes replays (issue:
/// a second JSON stack read them as doubles).
struct ExactNumberTests {
    static let data =
        #"{"n":-1234567890123456789,"big":123456789012345678901234567890,"u":18446744073709551616,"d":0.1,"h":1e400,"t":1.0,"e":2.5E-7}"#
    static let canonical =
        #"{"big":123456789012345678901234567890,"d":0.1,"e":2.5E-7,"h":1e400,"n":-1234567890123456789,"t":1.0,"u":18446744073709551616}"#

    private func event(_ data: String) throws -> ClientEvent {
        try Fixture.event(
            #"{"type":"access.requested","subject":"big@example.com","eventId":"b1000000-0000-4000-8000-000000000001","data":\#(data)}"#
        )
    }

    @Test func bigIntegersAndDecimalsRoundTripThroughRetryAndHistory() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let first = try ledger.append([try event(Self.data)], actor: "t")
        #expect(first[0].replayed == false)
        let retry = try ledger.append([try event(Self.data)], actor: "t")
        #expect(retry[0].replayed == true)
        #expect(retry[0].seq == first[0].seq)
        // Another key order and the same values is the same content.
        let reordered =
            #"{"t":1.0,"e":2.5E-7,"h":1e400,"d":0.1,"u":18446744073709551616,"big":123456789012345678901234567890,"n":-1234567890123456789}"#
        #expect(try ledger.append([try event(reordered)], actor: "t")[0].replayed)
        // One digit off is other content.
        let changed = Self.data.replacingOccurrences(of: "-1234567890123456789", with: "-1234567890123456788")
        #expect(errorCode { _ = try ledger.append([try event(changed)], actor: "t") } == .eventIdConflict)
        let history = try ledger.history(pseudonym: first[0].subject)
        #expect(history.count == 1)
        #expect(history[0].data == Self.canonical)
        #expect(history[0].externalId == "big@example.com")
    }
}
