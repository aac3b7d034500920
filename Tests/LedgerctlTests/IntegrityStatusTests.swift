import Foundation
import Testing

/// `ledgerctl verify` and `ledgerctl rebuild` record how they ended in
/// `<ledger>/integrity-status.json`, for the dashboard: passed, failed with the failure's code and
/// seq, or stopped by an error; a result that cannot be recorded is a warning, never a change of
/// the command's own outcome.
@Suite(.serialized)
struct IntegrityStatusTests {
    /// A ledger of 40 grants.
    private func ledger(_ scratch: Scratch) throws -> LedgerctlRunner {
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        let batch = (1...40).map {
            #"{"type":"consent.granted","subject":"t\#($0)","purpose":"newsletter","notice":"policy-v1"}"#
        }
        let path = scratch.path + "/batch.ndjson"
        try batch.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", path]).status == 0)
        return ctl
    }

    /// The runs the status file of `ledger` holds, oldest first.
    private func runs(_ ledger: String) throws -> [[String: Any]] {
        let data = try #require(FileManager.default.contents(atPath: ledger + "/integrity-status.json"))
        let file = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(file["format"] as? Int == 1)
        return try #require(file["runs"] as? [[String: Any]])
    }

    @Test func verifyAndRebuildRecordTheirRuns() throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        #expect(!FileManager.default.fileExists(atPath: ctl.ledger + "/integrity-status.json"))
        let before = Date()
        #expect(try ctl.run(["verify"]).status == 0)
        #expect(try ctl.run(["rebuild"]).status == 0)
        let recorded = try runs(ctl.ledger)
        #expect(recorded.map { $0["check"] as? String } == ["verify", "rebuild"])
        #expect(recorded.allSatisfy { $0["ok"] as? Bool == true && $0["headSeq"] as? Int == 40 })
        #expect(recorded.allSatisfy { $0["code"] == nil && ($0["milliseconds"] as? Int ?? -1) >= 0 })
        let started = try #require(recorded.first?["startedAt"] as? String)
        let startedAt = try #require(ISO8601DateFormatter.withFractions.date(from: started))
        #expect(startedAt >= before.addingTimeInterval(-1) && startedAt <= Date())
        // Checking an export, a proof or a checkpoint records nothing: only the ledger's own chain.
        let export = scratch.path + "/export.ndjson"
        #expect(FileManager.default.createFile(atPath: export, contents: Data(try ctl.run(["export"]).stdout.utf8)))
        #expect(try ctl.run(["verify", "--export", export], withLedger: false).status == 0)
        #expect(try runs(ctl.ledger).count == 2)
        let mode = try FileManager.default.attributesOfItem(atPath: ctl.ledger + "/integrity-status.json")
        #expect(mode[.posixPermissions] as? Int == 0o600)
    }

    /// A repair refused because a server holds the ledger ran no check: nothing is recorded, and
    /// the last real run is still the one the dashboard shows.
    @Test func aRepairRefusedBesideAServerIsNotRecorded() throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        #expect(try ctl.run(["rebuild"]).status == 0)
        let server = try TestServer(ledger: ctl.ledger, socket: ctl.ledger + "/ledger.sock")
        let refused = try ctl.run(["rebuild", "--repair"])
        #expect(refused.status == 3 && refused.stderr.contains("ledger_locked"), "\(refused.stderr)")
        #expect(server.stop() == 0)
        let recorded = try runs(ctl.ledger)
        #expect(recorded.count == 1 && recorded.first?["ok"] as? Bool == true)
    }

    @Test func aFailedVerifyIsRecordedWithItsCodeAndSeq() throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        let record = try #require(jsonObject(String(try ctl.run(["export"]).stdout.split(separator: "\n")[22])))
        let payloadText = try #require(record["payload"] as? String)
        let payload = try #require(Data(base64Encoded: payloadText))
        let dataPath = ctl.ledger + "/events/data.mdb"
        var bytes = try #require(FileManager.default.contents(atPath: dataPath))
        let range = try #require(bytes.range(of: payload))
        bytes[range.lowerBound + 20] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: dataPath))
        #expect(try ctl.run(["verify"]).status == 1)
        let failed = try #require(try runs(ctl.ledger).last)
        #expect(failed["check"] as? String == "verify" && failed["ok"] as? Bool == false)
        #expect(failed["code"] as? String == "hash_mismatch" && failed["failedSeq"] as? Int == 23)

        // A ledger that cannot even be opened (truncated): recorded with the error's code.
        #expect(Foundation.truncate(dataPath, off_t(bytes.count / 2)) == 0)
        let truncated = try ctl.run(["verify"])
        #expect(truncated.status == 3 && truncated.stderr.contains("ledger_corrupt"))
        let stopped = try #require(try runs(ctl.ledger).last)
        #expect(stopped["ok"] as? Bool == false && stopped["code"] as? String == "ledger_corrupt")
        #expect(try runs(ctl.ledger).count == 2)
        // No ledger there: no status file is made.
        let none = LedgerctlRunner(ledger: scratch.path + "/nothing")
        #expect(try none.run(["verify"]).status != 0)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/nothing/integrity-status.json"))
    }

    @Test func aResultThatCannotBeRecordedIsAWarningAndChangesNothingElse() throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        // A directory where the file should go: the rename over it fails.
        try FileManager.default.createDirectory(
            atPath: ctl.ledger + "/integrity-status.json/x",
            withIntermediateDirectories: true
        )
        let verify = try ctl.run(["verify"])
        #expect(verify.status == 0 && verify.stdout.hasPrefix("OK: 40 events verify"))
        #expect(verify.stderr.contains("warning: the result was not recorded for the dashboard (io_error)"))
        let json = try ctl.run(["rebuild", "--json"])
        #expect(json.status == 0 && jsonObject(json.stdout)?["ok"] as? Bool == true)
    }
}

extension ISO8601DateFormatter {
    /// RFC 3339 with milliseconds, as the ledger writes times.
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
