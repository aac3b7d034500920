import Foundation
import Testing

/// `ledgerctl import` refuses a line longer than the body limit at that line, without reading it
/// all (an endless line such as /dev/zero ends at the limit).
@Suite(.serialized)
struct ImportLimitTests {
    @Test func aTwoMebibyteLineIsRefusedAtItsNumber() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        let path = scratch.path + "/events.ndjson"
        let good = #"{"type":"access.requested","subject":"a@example.com"}"#
        var bytes = Array((good + "\n").utf8)
        bytes += [UInt8](repeating: 0, count: 2 << 20)
        bytes += Array(("\n" + good + "\n").utf8)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let refused = try ctl.run(["import", "--json", path])
        #expect(refused.status == 2)
        let error = try #require(jsonObject(refused.stdout)?["error"] as? [String: Any])
        #expect(error["code"] as? String == "payload_too_large")
        #expect(error["line"] as? Int == 2)
        // The refused chunk (line 1 with it) appended nothing.
        #expect(try ctl.run(["export"]).stdout.isEmpty)
    }

    @Test func devZeroIsRefusedAtLineOne() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        let refused = try ctl.run(["import", "/dev/zero"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("line 1: payload_too_large"), "\(refused.stderr)")
    }

    @Test func verifyExportReportsAnOverlongRecordAsAFailure() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        #expect(try ctl.run(["append", "--type", "access.requested", "--subject", "a@example.com"]).status == 0)
        let export = try ctl.run(["export"])
        let path = scratch.path + "/export.ndjson"
        var bytes = Array(export.stdout.utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "x"), count: 2 << 20)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let verified = try ctl.run(["verify", "--json", "--export", path], withLedger: false)
        #expect(verified.status == 1, "\(verified.stdout) \(verified.stderr)")
        let failure = try #require(jsonObject(verified.stdout)?["failure"] as? [String: Any])
        #expect(failure["seq"] as? Int == 2)
    }
}
