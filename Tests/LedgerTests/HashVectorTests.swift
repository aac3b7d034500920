import Foundation
import Testing

@testable import Ledger

/// SPEC §4's two test vectors, reproduced by the Swift hash rule.
struct HashVectorTests {
    static let vectors = [
        #"{"seq":1,"eventId":"00000000-0000-4000-8000-000000000001","type":"consent.granted","subject":"0123456789abcdef0123456789abcdef","purpose":"newsletter","notice":"nl-2024-05","requestId":"","occurredAt":"2026-03-01T10:00:00.000Z","recordedAt":"2026-03-01T10:00:00.123Z","expiresAt":"2027-03-01T10:00:00.000Z","actor":"web-signup","payload":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==","prevHash":"0000000000000000000000000000000000000000000000000000000000000000","hash":"2e7d441b2d9ab59975036a5cf402aadeb31b094222d0eae590c8fa86c4835a3c"}"#,
        #"{"seq":2,"eventId":"00000000-0000-4000-8000-000000000002","type":"access.requested","subject":"0123456789abcdef0123456789abcdef","purpose":"","notice":"","requestId":"","occurredAt":"2026-03-02T08:30:00.000Z","recordedAt":"2026-03-02T08:30:00.500Z","expiresAt":"","actor":"privacy-office","payload":"","prevHash":"2e7d441b2d9ab59975036a5cf402aadeb31b094222d0eae590c8fa86c4835a3c","hash":"c910d72991168f148c58b87e47e58f2b2489e40f5489fbc12e31e9c2c915c47c"}"#,
    ]

    @Test func firstVectorHashesAsSpecified() throws {
        var event = try StoredEvent(
            seq: 1,
            eventId: "00000000-0000-4000-8000-000000000001",
            type: .consentGranted,
            subject: "0123456789abcdef0123456789abcdef",
            purpose: "newsletter",
            notice: "nl-2024-05",
            requestId: "",
            occurredAt: #require(Timestamp(rfc3339: "2026-03-01T10:00:00.000Z")),
            recordedAt: #require(Timestamp(rfc3339: "2026-03-01T10:00:00.123Z")),
            expiresAt: Timestamp(rfc3339: "2027-03-01T10:00:00.000Z"),
            actor: "web-signup",
            payload: Array(0..<40),
            prevHash: ChainHash.genesis,
            hash: []
        )
        event.seal()
        #expect(event.hashHex == "2e7d441b2d9ab59975036a5cf402aadeb31b094222d0eae590c8fa86c4835a3c")
        #expect(event.exportRecord.serialized == Self.vectors[0])
    }

    @Test func secondVectorChainsToTheFirst() throws {
        var event = StoredEvent(
            seq: 2,
            eventId: "00000000-0000-4000-8000-000000000002",
            type: .accessRequested,
            subject: "0123456789abcdef0123456789abcdef",
            purpose: "",
            notice: "",
            requestId: "",
            occurredAt: try #require(Timestamp(rfc3339: "2026-03-02T08:30:00.000Z")),
            recordedAt: try #require(Timestamp(rfc3339: "2026-03-02T08:30:00.500Z")),
            expiresAt: nil,
            actor: "privacy-office",
            payload: [],
            prevHash: try #require(Hex.decode("2e7d441b2d9ab59975036a5cf402aadeb31b094222d0eae590c8fa86c4835a3c")),
            hash: []
        )
        event.seal()
        #expect(event.hashHex == "c910d72991168f148c58b87e47e58f2b2489e40f5489fbc12e31e9c2c915c47c")
        #expect(event.exportRecord.serialized == Self.vectors[1])
    }

    @Test func vectorsVerifyAsAnExportFile() throws {
        var verifier = ExportVerifier()
        for line in Self.vectors { #expect(verifier.check(line: Array(line.utf8)) == nil) }
        #expect(verifier.count == 2)
    }

    @Test func changedVectorFieldFailsExportVerification() throws {
        var verifier = ExportVerifier()
        let altered = Self.vectors[0].replacingOccurrences(of: "web-signup", with: "web-signuq")
        let failure = verifier.check(line: Array(altered.utf8))
        #expect(failure?.seq == 1)
    }

    @Test func storedRecordRoundTripsAndIsTheHashPreimage() throws {
        var event = StoredEvent(
            seq: 7,
            eventId: "00000000-0000-4000-8000-000000000007",
            type: .requestExtended,
            subject: "0123456789abcdef0123456789abcdef",
            purpose: "",
            notice: "",
            requestId: "00000000-0000-4000-8000-000000000002",
            occurredAt: Timestamp(milliseconds: 5),
            recordedAt: Timestamp(milliseconds: 6),
            expiresAt: Timestamp(milliseconds: 9),
            actor: "a",
            payload: [1, 2],
            prevHash: ChainHash.genesis,
            hash: []
        )
        event.seal()
        let decoded = event.record.withUnsafeBytes { StoredEvent(record: $0) }
        #expect(decoded == event)
        var chain = ChainVerifier(segmentFrom: 7)
        #expect(event.record.withUnsafeBytes { chain.check(record: $0, key: 7) } == nil)
        var misplaced = ChainVerifier(segmentFrom: 8)
        #expect(event.record.withUnsafeBytes { misplaced.check(record: $0, key: 8) }?.code == .seqOutOfOrder)
    }
}
