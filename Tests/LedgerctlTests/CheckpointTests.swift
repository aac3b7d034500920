import Foundation
import Testing

/// `ledgerctl checkpoint` and `verify --checkpoint` (SPEC §4, §8).
@Suite(.serialized)
struct CheckpointTests {
    private func appendMany(_ ctl: LedgerctlRunner, _ prefix: String, _ count: Int, scratch: Scratch) throws {
        let lines = (0..<count).map { #"{"type":"access.requested","subject":"\#(prefix)\#($0)"}"# }
        let path = scratch.path + "/\(prefix).ndjson"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", path]).status == 0)
    }

    @Test func theLogExtendsItsCheckpointsAndRewritesAndTruncationsAreCaught() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        try appendMany(ctl, "a", 5, scratch: scratch)
        // A copy as the ledger stood at 5 events, for the truncation and rewrite cases.
        try FileManager.default.copyItem(atPath: scratch.path + "/ledger", toPath: scratch.path + "/at5")
        try appendMany(ctl, "b", 5, scratch: scratch)
        let checkpointPath = scratch.path + "/cp.json"
        let printed = try ctl.run(["checkpoint"])
        #expect(printed.status == 0)
        try printed.stdout.write(toFile: checkpointPath, atomically: true, encoding: .utf8)
        #expect(jsonObject(printed.stdout)?["treeSize"] as? Int == 10)

        try appendMany(ctl, "c", 7, scratch: scratch)
        let ok = try ctl.run(["verify", "--checkpoint", checkpointPath, "--full"])
        #expect(ok.status == 0)
        #expect(ok.stdout.hasPrefix("OK"))

        // Altered: one changed byte inside the checkpointed range is found by the full re-hash.
        let export = try ctl.run(["export"]).stdout.split(separator: "\n")
        let payloadText = try #require(jsonObject(String(export[2]))?["payload"] as? String)
        let payload = try #require(Data(base64Encoded: payloadText))
        try FileManager.default.copyItem(atPath: scratch.path + "/ledger", toPath: scratch.path + "/altered")
        let dataPath = scratch.path + "/altered/events/data.mdb"
        var bytes = try #require(FileManager.default.contents(atPath: dataPath))
        // Copy-on-write leaves stale copies of a page in the file: change every copy.
        var searchFrom = bytes.startIndex
        var changed = 0
        while let range = bytes.range(of: payload, in: searchFrom..<bytes.endIndex) {
            bytes[range.lowerBound + 5] ^= 0x01
            searchFrom = range.upperBound
            changed += 1
        }
        #expect(changed >= 1)
        try bytes.write(to: URL(fileURLWithPath: dataPath))
        let altered = try LedgerctlRunner(ledger: scratch.path + "/altered").run([
            "verify", "--checkpoint", checkpointPath, "--full",
        ])
        #expect(altered.status == 1)
        #expect(altered.stdout.contains("seq 3"))

        // Truncated: the copy has only 5 of the checkpoint's 10 events.
        let truncated = try LedgerctlRunner(ledger: scratch.path + "/at5").run([
            "verify", "--json", "--checkpoint", checkpointPath,
        ])
        #expect(truncated.status == 1)
        #expect((jsonObject(truncated.stdout)?["reason"] as? String)?.contains("truncated") == true)

        // Rewritten and re-hashed from event 6 on: a valid chain, but not the checkpointed one.
        let rewritten = LedgerctlRunner(ledger: scratch.path + "/at5")
        try appendMany(rewritten, "x", 12, scratch: scratch)
        #expect(try rewritten.run(["verify"]).status == 0)
        let caught = try rewritten.run(["verify", "--checkpoint", checkpointPath])
        #expect(caught.status == 1)
        #expect(caught.stdout.contains("rewritten"))

        // A forged signature: the numbers altered after signing.
        var forged = printed.stdout.replacingOccurrences(of: #""treeSize":10"#, with: #""treeSize":9"#)
        try forged.write(toFile: checkpointPath, atomically: true, encoding: .utf8)
        let forgery = try ctl.run(["verify", "--checkpoint", checkpointPath])
        #expect(forgery.status == 1)
        #expect(forgery.stdout.contains("signature"))

        // Another ledger's checkpoint.
        let other = LedgerctlRunner(ledger: scratch.path + "/other")
        #expect(try other.run(["init"]).status == 0)
        forged = try other.run(["checkpoint"]).stdout
        try forged.write(toFile: checkpointPath, atomically: true, encoding: .utf8)
        let foreign = try ctl.run(["verify", "--checkpoint", checkpointPath])
        #expect(foreign.status == 1)
        #expect(foreign.stdout.contains("another ledger"))
    }
}
