import Foundation
import Testing

/// `ledgerctl` end to end: stdout, stderr and exit codes of the real binary (SPEC §8).
@Suite(.serialized)
struct LedgerctlTests {
    @Test func initAppendExportVerifyEraseTour() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        let created = try ctl.run(["init", "--json"])
        #expect(created.status == 0)
        #expect(jsonObject(created.stdout)?["created"] as? Bool == true)
        #expect(jsonObject(created.stdout)?["purposes"] as? Int == 11)
        #expect((jsonObject(created.stdout)?["publicKey"] as? String)?.count == 64)
        let appended = try ctl.run([
            "append", "--json", "--type", "consent.granted", "--subject", "tour@example.com", "--purpose", "newsletter",
            "--notice", "policy-v1", "--data", #"{"marker":"TOURMARK"}"#,
        ])
        #expect(appended.status == 0)
        let result = try #require(jsonObject(appended.stdout))
        #expect(result["seq"] as? Int == 1)
        #expect((result["subject"] as? String)?.count == 32)
        #expect(result["actor"] == nil)
        let export = try ctl.run(["export"])
        #expect(export.status == 0)
        #expect(export.stdout.contains(#""actor":"uid:"#))
        #expect(!export.stdout.contains("tour@example.com"))
        let exportPath = scratch.path + "/export.ndjson"
        try export.stdout.write(toFile: exportPath, atomically: true, encoding: .utf8)
        let verifyExport = try ctl.run(["verify", "--export", exportPath], withLedger: false)
        #expect(verifyExport.status == 0)
        #expect(verifyExport.stdout.hasPrefix("OK: 1 events verify"))
        let erased = try ctl.run(["erase", "--json", "--subject", "tour@example.com"])
        #expect(erased.status == 0)
        #expect(jsonObject(erased.stdout)?["seq"] as? Int == 2)
        #expect(try ctl.run(["verify"]).status == 0)
        #expect(try ctl.run(["keys", "compact"]).status == 0)
    }

    @Test func refusedInputPrintsTheErrorObjectAndExitsTwo() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try ctl.run(["init"])
        let refused = try ctl.run([
            "append", "--json", "--type", "consent.granted", "--subject", "x", "--purpose", "courses",
        ])
        #expect(refused.status == 2)
        let error = try #require(jsonObject(refused.stdout)?["error"] as? [String: Any])
        #expect(error["code"] as? String == "purpose_not_consent_based")
        let human = try ctl.run(["append", "--type", "nope", "--subject", "x"])
        #expect(human.status == 2)
        #expect(human.stdout.isEmpty)
        #expect(human.stderr.contains("unknown_type"))
        let badData = try ctl.run(["append", "--type", "access.requested", "--subject", "x", "--data", "{oops"])
        #expect(badData.status == 2)
        #expect(badData.stderr.contains("invalid_json"))
        #expect(try ctl.run(["erase", "--subject", "ghost"]).status == 2)
        #expect(try ctl.run(["verify"]).stdout.contains("OK: 0 events"))
    }

    @Test func usageErrorsExitTwoAndHelpExitsZero() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["--no-such-flag"], withLedger: false).status == 2)
        #expect(try ctl.run(["append", "--type", "access.requested"]).status == 2)
        let help = try ctl.run(["--help"], withLedger: false)
        #expect(help.status == 0)
        #expect(help.stdout.contains("erase"))
        let appendHelp = try ctl.run(["append", "--help"], withLedger: false)
        #expect(appendHelp.status == 0)
        #expect(appendHelp.stdout.contains("--request-id"))
    }

    @Test func ledgerErrorsExitThree() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        let missing = try ctl.run(["verify"])
        #expect(missing.status == 3)
        #expect(missing.stderr.contains("ledger_missing"))
        try ctl.run(["init"])
        chmod(scratch.path + "/ledger/master.key", 0o644)
        let insecure = try ctl.run(["export"])
        #expect(insecure.status == 3)
        #expect(insecure.stderr.contains("key_insecure"))
    }

    @Test func badCatalogueIsAUsageErrorNamingTheLine() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        let path = scratch.path + "/catalogue.yaml"
        try "controller: {name: X}\npurposes:\n  - id: a\n    basis: whim\n".write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        let refused = try ctl.run(["init", "--policy", path])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("line 4"))
        let bundled = try ctl.run(["catalogue", "--bundled"], withLedger: false)
        #expect(bundled.status == 0)
        let own = scratch.path + "/own.yaml"
        try bundled.stdout.write(toFile: own, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["init", "--policy", own]).status == 0)
    }

    @Test func importCommitsWholeChunksAndNamesTheRefusedLine() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try ctl.run(["init"])
        var lines = (1...10_005).map {
            #"{"type":"consent.granted","subject":"imp\#($0)","purpose":"surveys","notice":"policy-v1"}"#
        }
        lines[10_002] = #"{"type":"consent.granted","subject":"bad","purpose":"surveys"}"#  // line 10,003
        let path = scratch.path + "/import.ndjson"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let refused = try ctl.run(["import", "--json", path])
        #expect(refused.status == 2)
        let error = try #require(jsonObject(refused.stdout)?["error"] as? [String: Any])
        #expect(error["line"] as? Int == 10_003)
        #expect(error["code"] as? String == "missing_field")
        let verify = try ctl.run(["verify", "--json"])
        #expect(jsonObject(verify.stdout)?["headSeq"] as? Int == 10_000)
        // Fixing the line and importing again replays nothing twice: events without ids are new,
        // so import the tail only.
        let tail = scratch.path + "/tail.ndjson"
        try lines[10_000...].map {
            $0.replacingOccurrences(of: #""purpose":"surveys"}"#, with: #""purpose":"surveys","notice":"policy-v1"}"#)
        }
        .joined(separator: "\n").write(toFile: tail, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", tail]).status == 0)
        #expect(jsonObject(try ctl.run(["verify", "--json"]).stdout)?["headSeq"] as? Int == 10_005)
    }

    @Test func aFlippedByteInACopyOfTheDataFileIsFoundAndNamed() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try ctl.run(["init"])
        let batch = (1...40).map {
            #"{"type":"consent.granted","subject":"t\#($0)","purpose":"newsletter","notice":"policy-v1"}"#
        }
        let path = scratch.path + "/batch.ndjson"
        try batch.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", path]).status == 0)
        let export = try ctl.run(["export"]).stdout.split(separator: "\n")
        let record = try #require(jsonObject(String(export[22])))
        let payloadText = try #require(record["payload"] as? String)
        let payload = try #require(Data(base64Encoded: payloadText))
        let copy = scratch.path + "/copy"
        try FileManager.default.copyItem(atPath: scratch.path + "/ledger", toPath: copy)
        let dataPath = copy + "/events/data.mdb"
        var bytes = try #require(FileManager.default.contents(atPath: dataPath))
        let range = try #require(bytes.range(of: payload))
        bytes[range.lowerBound + 20] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: dataPath))
        let tampered = try LedgerctlRunner(ledger: copy).run(["verify"])
        #expect(tampered.status == 1)
        #expect(tampered.stdout.contains("FAILED at seq 23"))
        let json = try LedgerctlRunner(ledger: copy).run(["verify", "--json"])
        #expect(json.status == 1)
        #expect((jsonObject(json.stdout)?["failure"] as? [String: Any])?["seq"] as? Int == 23)
        #expect(try ctl.run(["verify"]).status == 0)
    }

    @Test func twoProcessesAppendingAtOnceMakeOneContiguousChain() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try ctl.run(["init"])
        let script = """
            for i in $(seq 1 25); do "$1" append --ledger "$2" --type consent.granted --subject "$3-$i" \
              --purpose newsletter --notice policy-v1 >/dev/null || exit 1; done
            """
        let writers = try ["a", "b"].map { name -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script, "sh", LedgerctlRunner.binary, scratch.path + "/ledger", name]
            try process.run()
            return process
        }
        for writer in writers {
            writer.waitUntilExit()
            #expect(writer.terminationStatus == 0)
        }
        let verify = try ctl.run(["verify", "--json"])
        #expect(verify.status == 0)
        #expect(jsonObject(verify.stdout)?["headSeq"] as? Int == 50)
        let seqs = try ctl.run(["export"]).stdout.split(separator: "\n").compactMap {
            jsonObject(String($0))?["seq"] as? Int
        }
        #expect(seqs == Array(1...50))
    }
}
