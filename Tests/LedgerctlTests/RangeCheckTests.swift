import Foundation
import Testing

/// Numbers from flags and query strings at their extremes: refused with exit 2 / `invalid_field`,
/// or answered with nothing, never a crash (exit 132, a dead server).
@Suite(.serialized)
struct RangeCheckTests {
    static let maxSeq = "18446744073709551615"

    private func ledgerWithTwoEvents(_ scratch: Scratch) throws -> LedgerctlRunner {
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        for subject in ["a@example.com", "b@example.com"] {
            let appended = try ctl.run([
                "append", "--type", "consent.granted", "--subject", subject, "--purpose", "newsletter",
                "--notice", "policy-v1",
            ])
            #expect(appended.status == 0)
        }
        return ctl
    }

    @Test func logAndExportAfterTheLargestSeq() throws {
        let scratch = Scratch()
        let ctl = try ledgerWithTwoEvents(scratch)
        for command in [["log", "--json"], ["export"]] {
            let last = try ctl.run(command + ["--after", Self.maxSeq])
            #expect(last.status == 0, "\(command) \(last.stderr)")
            #expect(last.stdout.isEmpty)
            let beyond = try ctl.run(command + ["--after", "99"])
            #expect(beyond.status == 0 && beyond.stdout.isEmpty)
            let one = try ctl.run(command + ["--after", "1"])
            #expect(one.status == 0 && one.stdout.split(separator: "\n").count == 1)
            let overflow = try ctl.run(command + ["--after", "18446744073709551616"])
            #expect(overflow.status == 2)
            let negative = try ctl.run(command + ["--after=-1"])
            #expect(negative.status == 2)
        }
    }

    @Test func logLimitAtTheExtremes() throws {
        let scratch = Scratch()
        let ctl = try ledgerWithTwoEvents(scratch)
        #expect(try ctl.run(["log", "--json", "--limit", "1"]).stdout.split(separator: "\n").count == 1)
        #expect(
            try ctl.run(["log", "--json", "--limit", "9223372036854775807"]).stdout.split(separator: "\n").count == 2
        )
        for bad in ["--limit=0", "--limit=-1", "--limit=99999999999999999999", "--limit=1.5"] {
            let refused = try ctl.run(["log", bad])
            #expect(refused.status == 2, "\(bad)")
        }
    }

    @Test func serverLogQueryNumbers() throws {
        let scratch = Scratch()
        let ctl = try ledgerWithTwoEvents(scratch)
        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        let server = try TestServer(ledger: ctl.ledger, socket: scratch.path + "/run/ledger.sock")
        defer { server.stop() }
        let last = try server.call("GET", "/v1/log?after=\(Self.maxSeq)")
        #expect(last.status == 200 && last.text.isEmpty)
        #expect(try server.call("GET", "/v1/log?after=2").text.isEmpty)
        #expect(try server.call("GET", "/v1/log?after=1000").text.isEmpty)
        #expect(try server.call("GET", "/v1/log?after=1").text.split(separator: "\n").count == 1)
        #expect(try server.call("GET", "/v1/log?limit=1").text.split(separator: "\n").count == 1)
        let huge = try server.call("GET", "/v1/log?limit=99999999999999999999999999")
        #expect(huge.status == 200 && huge.text.split(separator: "\n").count == 2)
        for query in [
            "after=18446744073709551616", "after=-1", "after=%2B1", "after=1.0", "after=", "limit=0", "limit=-1",
            "limit=", "limit=1e3", "limit=000",
        ] {
            let refused = try server.call("GET", "/v1/log?\(query)")
            #expect(refused.status == 400 && errorCode(refused.json) == "invalid_field", "\(query)")
        }
        // The server is still up.
        #expect(try server.call("GET", "/v1/head").status == 200)
        #expect(server.process.isRunning)
    }

    private static let catalogueHead = """
        controller: {name: X}
        purposes:
          - id: newsletter
            basis: consent
            notices: [{version: v1, text: hello}]

        """

    @Test func initRefusesCatalogueNumbersOutOfRange() throws {
        let cases = [
            "    consentTTLDays: 9223372036854775807\n", "    consentTTLDays: 3000000\n",
            "clients:\n  - name: web\n    uid: -1\n    roles: [append]\n",
            "clients:\n  - name: web\n    gid: -1\n    roles: [append]\n",
            "clients:\n  - name: web\n    uid: 4294967296\n    roles: [append]\n",
        ]
        for (index, tail) in cases.enumerated() {
            let scratch = Scratch()
            let path = scratch.path + "/catalogue.yaml"
            try (Self.catalogueHead + tail).write(toFile: path, atomically: true, encoding: .utf8)
            let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
            let refused = try ctl.run(["init", "--policy", path])
            #expect(refused.status == 2, "case \(index): \(refused.stderr)")
            #expect(refused.stderr.contains("invalid_catalogue") && refused.stderr.contains("line "), "\(index)")
            #expect(!FileManager.default.fileExists(atPath: scratch.path + "/ledger/events"))
        }
    }

    @Test func theLongestTTLGivesRFC3339StateAndPurposes() throws {
        let scratch = Scratch()
        let path = scratch.path + "/catalogue.yaml"
        try
            (Self.catalogueHead.replacingOccurrences(
                of: "basis: consent",
                with: "basis: consent\n    consentTTLDays: 36500"
            ))
            .write(toFile: path, atomically: true, encoding: .utf8)
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init", "--policy", path]).status == 0)
        let granted = try ctl.run([
            "append", "--type", "consent.granted", "--subject", "a@example.com", "--purpose", "newsletter",
            "--notice", "v1", "--occurred-at", "2026-03-01T10:00:00Z",
        ])
        #expect(granted.status == 0, "\(granted.stderr)")
        let state = try ctl.run(["state", "--json", "--subject", "a@example.com"])
        #expect(state.status == 0)
        #expect(state.stdout.contains("2126-02-"), "\(state.stdout)")
        #expect(try ctl.run(["purposes"]).status == 0)
        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        let server = try TestServer(ledger: ctl.ledger, socket: scratch.path + "/run/ledger.sock")
        defer { server.stop() }
        #expect(try server.call("GET", "/v1/purposes").status == 200)
        #expect(try server.call("GET", "/v1/purposes?asOf=9999-12-31T23:59:59.999Z").status == 200)
        #expect(try server.call("GET", "/v1/purposes?asOf=9999-12-31T23:59:59-01:00").status == 400)
        #expect(server.process.isRunning)
    }
}
