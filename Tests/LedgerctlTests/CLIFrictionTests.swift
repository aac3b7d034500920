import Foundation
import Testing

/// What a new user ran into: global options before the subcommand, errors that name the valid
/// values, `--data` faults with their offset, help text at 80 columns, replay's wording.
@Suite(.serialized)
struct CLIFrictionTests {
    private func newLedger(_ scratch: Scratch) throws -> LedgerctlRunner {
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        return ctl
    }

    @Test func globalOptionsBeforeTheSubcommand() throws {
        let scratch = Scratch()
        let ctl = try newLedger(scratch)
        let verify = try ctl.run(["--ledger", ctl.ledger, "verify"], withLedger: false)
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.hasPrefix("OK: 0 events"))
        let json = try ctl.run(["--json", "--ledger=\(ctl.ledger)", "verify"], withLedger: false)
        #expect(json.status == 0)
        #expect(jsonObject(json.stdout)?["ok"] as? Bool == true)
        let appended = try ctl.run(
            [
                "--master-key", ctl.ledger + "/master.key", "--ledger", ctl.ledger, "append", "--type",
                "access.requested", "--subject", "a@example.com",
            ],
            withLedger: false
        )
        #expect(appended.status == 0, "\(appended.stderr)")
        let nested = try ctl.run(["--ledger", ctl.ledger, "keys", "compact"], withLedger: false)
        #expect(nested.status == 0, "\(nested.stderr)")
        // After the subcommand still works, and a wrong directory before it is used, not ignored.
        #expect(try ctl.run(["verify"]).status == 0)
        let missing = try ctl.run(["--ledger", scratch.path + "/nowhere", "verify"], withLedger: false)
        #expect(missing.status == 3)
    }

    @Test func unknownTypesAndPurposesNameTheValidOnes() throws {
        let scratch = Scratch()
        let ctl = try newLedger(scratch)
        let type = try ctl.run(["append", "--type", "consent.grant", "--subject", "secret@example.com"])
        #expect(type.status == 2)
        #expect(type.stderr.contains("unknown_type"))
        #expect(type.stderr.contains("did you mean consent.granted?"), "\(type.stderr)")
        #expect(type.stderr.contains("one of consent.granted, consent.withdrawn"))
        #expect(!type.stderr.contains("erasure.completed"))
        #expect(!type.stderr.contains("secret@example.com"))
        let purpose = try ctl.run([
            "append", "--json", "--type", "consent.granted", "--subject", "secret@example.com", "--purpose",
            "newsleter", "--notice", "policy-v1",
        ])
        #expect(purpose.status == 2)
        let error = try #require(jsonObject(purpose.stdout)?["error"] as? [String: Any])
        #expect(error["code"] as? String == "unknown_purpose")
        let message = try #require(error["message"] as? String)
        #expect(message.contains("did you mean newsletter?"), "\(message)")
        // Consent events list the consent-based purposes only.
        #expect(message.contains("web-analytics") && !message.contains("courses"))
        #expect(!message.contains("secret"))
        let far = try ctl.run(["append", "--type", "consent.granted", "--subject", "a", "--purpose", "zzzzzzzz"])
        #expect(far.stderr.contains("one of newsletter") && !far.stderr.contains("did you mean"))
        let state = try ctl.run(["state", "--purpose", "newsleter"])
        #expect(state.status == 2)
        #expect(state.stderr.contains("unknown_purpose") && state.stderr.contains("did you mean newsletter?"))
    }

    @Test func badDataNamesDataAndTheOffset() throws {
        let scratch = Scratch()
        let ctl = try newLedger(scratch)
        let refused = try ctl.run([
            "append", "--json", "--type", "access.requested", "--subject", "a", "--data", #"{"a":1,}"#,
        ])
        #expect(refused.status == 2)
        let error = try #require(jsonObject(refused.stdout)?["error"] as? [String: Any])
        #expect(error["code"] as? String == "invalid_json")
        #expect(error["message"] as? String == "--data is not valid JSON (at byte offset 7 of --data)")
        // --data cannot smuggle fields into the event around the parser.
        let smuggled = try ctl.run([
            "append", "--type", "access.requested", "--subject", "a", "--data", #"{},"purpose":"x""#,
        ])
        #expect(smuggled.status == 2 && smuggled.stderr.contains("--data is not valid JSON"))
    }

    /// The subcommands' help at 80 columns: no line over 80 (but the synopsis), and no paragraph broken early by a
    /// newline written into the text (which leaves a short line between long ones).
    @Test func helpWrapsCleanlyAtEightyColumns() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        let commands = [
            [], ["init"], ["append"], ["import"], ["export"], ["verify"], ["erase"], ["keys"], ["keys", "compact"],
            ["catalogue"], ["state"], ["requests"], ["purposes"], ["history"], ["replay"], ["rebuild"], ["serve"],
            ["checkpoint"], ["backup"], ["log"], ["stats"], ["prove"],
        ]
        for command in commands {
            let help = try ctl.run(["help"] + command, withLedger: false, environment: ["COLUMNS": "80"])
            #expect(help.status == 0, "\(command)")
            let lines = help.stdout.components(separatedBy: "\n")
            // argument-parser writes the USAGE synopsis on one line, whatever the width.
            for line in lines where !line.hasPrefix("USAGE:") { #expect(line.count <= 80, "\(command): \(line)") }
            // Prose paragraphs (from the first line to the first option list): every line but a
            // paragraph's last fills most of the width.
            guard let overview = lines.firstIndex(where: { $0.hasPrefix("OVERVIEW:") }),
                let usage = lines.firstIndex(where: { $0.hasPrefix("USAGE:") })
            else { continue }
            let prose = Array(lines[overview..<usage])
            for (index, line) in prose.enumerated() where index + 1 < prose.count {
                let next = prose[index + 1]
                guard !line.isEmpty, !next.isEmpty, !line.hasPrefix(" "), !next.hasPrefix(" "),
                    !line.hasSuffix(":")
                else { continue }
                #expect(line.count >= 55, "\(command): a short line inside a paragraph: \(line.debugDescription)")
            }
        }
    }

    @Test func replaySaysWhatARepeatedGrantDid() throws {
        let scratch = Scratch()
        let ctl = try newLedger(scratch)
        func append(_ type: String, occurredAt: String, extra: [String] = []) throws {
            var arguments = [
                "append", "--type", type, "--subject", "a@example.com", "--purpose", "newsletter",
                "--occurred-at", occurredAt,
            ]
            if type == "consent.granted" { arguments += ["--notice", "policy-v1"] }
            let result = try ctl.run(arguments + extra)
            #expect(result.status == 0, "\(result.stderr)")
        }
        try append("consent.granted", occurredAt: "2026-01-01T10:00:00Z")
        try append("consent.granted", occurredAt: "2026-01-02T10:00:00Z")
        try append(
            "consent.granted",
            occurredAt: "2026-01-03T10:00:00Z",
            extra: ["--expires-at", "2099-01-01T00:00:00Z"]
        )
        try append("consent.withdrawn", occurredAt: "2026-01-04T10:00:00Z")
        try append("consent.withdrawn", occurredAt: "2026-01-05T10:00:00Z")
        // Backdated: an event that occurred later (seq 5) still decides.
        try append("consent.granted", occurredAt: "2026-01-01T12:00:00Z")
        let replay = try ctl.run(["replay", "--json"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let changes = replay.stdout.split(separator: "\n").compactMap {
            jsonObject(String($0))?["changes"] as? [String]
        }
        #expect(changes.count == 6)
        guard changes.count == 6 else { return }
        #expect(changes[0] == ["newsletter: none → granted"])
        #expect(changes[1] == ["newsletter: granted → granted (renewed)"])
        #expect(changes[2] == ["newsletter: granted → granted (renewed, expires 2099-01-01T00:00:00.000Z)"])
        #expect(changes[3] == ["newsletter: granted → withdrawn"])
        #expect(changes[4] == ["newsletter: withdrawn (unchanged)"])
        #expect(changes[5] == ["newsletter: unchanged (an event that occurred later decides)"])
    }
}
