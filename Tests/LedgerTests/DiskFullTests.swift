import Foundation
import TestSupport
import Testing

@testable import Ledger

/// A full filesystem under the ledger (SPEC §3): `ledger_full`, nothing acknowledged lost, and
/// appends succeed again once there is room.
struct DiskFullTests {
    @Test(.enabled(if: TmpfsMount.isPermitted, "mounting a tmpfs is not permitted here"))
    func aFullDiskIsLedgerFullAndAppendsResumeOnceThereIsRoom() throws {
        let disk = try #require(TmpfsMount(size: "20m"))
        let ledger = try Ledger.create(at: disk.path + "/ledger", catalogue: nil, options: Fixture.options()).ledger
        let filler = disk.path + "/filler"
        TmpfsMount.fill(filler, leaving: 2 << 20)
        var acknowledged: UInt64 = 0
        var refusal: LedgerError?
        for round in 0..<50 {
            let batch = try (0..<2_000).map { try Fixture.grant("u\(round)-\($0)@example.com") }
            do {
                acknowledged += UInt64(try ledger.append(batch, actor: "fill").count)
            } catch let error as LedgerError {
                refusal = error
                break
            }
        }
        #expect(refusal?.code == .ledgerFull, "\(String(describing: refusal))")
        #expect(try ledger.head().seq == acknowledged)
        try FileManager.default.removeItem(atPath: filler)
        let after = try ledger.append([try Fixture.grant("after@example.com")], actor: "fill")
        #expect(after.first?.seq == acknowledged + 1)
        #expect(try ledger.verify().isValid)
    }
}
