import Foundation
import Testing

/// `examples/verify_export.py` (standard library only) and `ledgerctl verify --export` must agree.
@Suite(.serialized)
struct VerifyExportScriptTests {
    private func python(_ script: String, _ file: String) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, file]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test func theScriptAndLedgerctlAgreeOnGoodAndChangedExports() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        let lines = (0..<30).map { n in
            n % 3 == 0
                ? #"{"type":"consent.granted","subject":"v\#(n)@example.no","purpose":"facebook-pixel","notice":"policy-v1","expiresAt":"2030-01-01T00:00:00Z","data":{"å":"ø"}}"#
                : #"{"type":"access.requested","subject":"v\#(n)@example.no","occurredAt":"1969-12-31T23:59:59.999Z"}"#
        }
        let input = scratch.path + "/in.ndjson"
        try lines.joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", input]).status == 0)
        #expect(try ctl.run(["erase", "--subject", "v3@example.no"]).status == 0)
        let exportPath = scratch.path + "/export.ndjson"
        let export = try ctl.run(["export"]).stdout
        try export.write(toFile: exportPath, atomically: true, encoding: .utf8)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../examples/verify_export.py"
        )
        .standardized.path

        let good = try python(script, exportPath)
        let ours = try ctl.run(["verify", "--export", exportPath], withLedger: false)
        #expect(good.status == 0 && ours.status == 0)
        #expect(good.stdout.hasPrefix("OK: 31 events verify; head "))
        #expect(
            good.stdout.split(separator: " ").last.map(String.init)?.trimmingCharacters(in: .newlines)
                == ours.stdout.split(separator: " ").last.map(String.init)?.trimmingCharacters(in: .newlines)
        )

        // One changed byte in one record: both fail at the same seq.
        var changed = export.split(separator: "\n").map(String.init)
        changed[11] = changed[11].replacingOccurrences(of: #""actor":"uid:0""#, with: #""actor":"uid:1""#)
        try changed.joined(separator: "\n").write(toFile: exportPath, atomically: true, encoding: .utf8)
        let bad = try python(script, exportPath)
        let ourBad = try ctl.run(["verify", "--export", exportPath], withLedger: false)
        #expect(bad.status == 1 && ourBad.status == 1)
        #expect(bad.stdout.hasPrefix("FAILED at seq 12"))
        #expect(ourBad.stdout.hasPrefix("FAILED at seq 12"))
    }
}
