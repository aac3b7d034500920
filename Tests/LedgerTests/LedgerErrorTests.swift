import Testing

@testable import Ledger

struct LedgerErrorTests {
    /// Pins every error code string: clients and scripts depend on them.
    @Test func errorCodesArePinned() {
        Golden.assertMatches(
            LedgerError.Code.all.map(\.rawValue).joined(separator: "\n") + "\n",
            suite: "LedgerErrorTests",
            name: "codes.txt"
        )
    }

    @Test func codesAreUnique() {
        #expect(Set(LedgerError.Code.all).count == LedgerError.Code.all.count)
    }
}
