import Foundation
import Testing

@testable import Ledger

/// Extreme numbers from callers never trap: they are range-checked or give an empty answer.
struct RangeTests {
    private func seqs(_ ledger: Ledger, after: UInt64, limit: Int? = nil) throws -> [UInt64] {
        var seen: [UInt64] = []
        try ledger.forEachEvent(after: after, limit: limit) { event in
            seen.append(event.seq)
            return true
        }
        return seen
    }

    @Test func forEachEventAfterAndLimitAtTheExtremes() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append([try Fixture.grant("a@example.com"), try Fixture.grant("b@example.com")], actor: "t")
        #expect(try seqs(ledger, after: 0) == [1, 2])
        #expect(try seqs(ledger, after: 1) == [2])
        #expect(try seqs(ledger, after: 2).isEmpty)
        #expect(try seqs(ledger, after: 99).isEmpty)
        #expect(try seqs(ledger, after: UInt64.max).isEmpty)
        #expect(try seqs(ledger, after: UInt64.max - 1).isEmpty)
        #expect(try seqs(ledger, after: 0, limit: 0).isEmpty)
        #expect(try seqs(ledger, after: 0, limit: -5).isEmpty)
        #expect(try seqs(ledger, after: 0, limit: Int.min).isEmpty)
        #expect(try seqs(ledger, after: 0, limit: 1) == [1])
        #expect(try seqs(ledger, after: 0, limit: Int.max) == [1, 2])
    }

    @Test func snapshotIntervalIsBounded() throws {
        let directory = TemporaryDirectory()
        #expect(
            errorCode {
                _ = try Ledger.create(
                    at: directory.ledger,
                    catalogue: nil,
                    snapshotInterval: .max,
                    options: Fixture.options()
                )
            } == .invalidField
        )
        #expect(
            errorCode {
                _ = try Ledger.create(
                    at: directory.ledger,
                    catalogue: nil,
                    snapshotInterval: 0,
                    options: Fixture.options()
                )
            } == .invalidField
        )
    }
}
