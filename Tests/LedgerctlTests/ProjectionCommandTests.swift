import Foundation
import Testing

/// `state`, `requests`, `purposes`, `history`, `replay` and `rebuild` end to end (SPEC §8).
@Suite(.serialized)
struct ProjectionCommandTests {
    /// A small ledger: two subjects, a back-dated grant, a withdrawal, an old open request, an erasure.
    private func populated(_ scratch: Scratch) throws -> LedgerctlRunner {
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init", "--snapshot-interval", "2"]).status == 0)
        let lines = [
            #"{"type":"consent.granted","subject":"ola@example.no","purpose":"newsletter","notice":"policy-v1","occurredAt":"2025-01-10T10:00:00Z","data":{"note":"OLA-MARK"}}"#,
            #"{"type":"consent.granted","subject":"ola@example.no","purpose":"web-analytics","notice":"policy-v1","occurredAt":"2025-01-10T10:00:00Z"}"#,
            #"{"type":"consent.withdrawn","subject":"ola@example.no","purpose":"newsletter","occurredAt":"2025-02-01T10:00:00Z"}"#,
            #"{"type":"access.requested","subject":"kari@example.no","eventId":"c0000000-0000-4000-8000-000000000001","occurredAt":"2025-01-05T10:00:00Z"}"#,
            #"{"type":"consent.granted","subject":"kari@example.no","purpose":"surveys","notice":"policy-v1"}"#,
        ]
        let path = scratch.path + "/events.ndjson"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", path]).status == 0)
        return ctl
    }

    @Test func stateOfOneSubjectAndOfTheWholeLedger() throws {
        let scratch = Scratch()
        let ctl = try populated(scratch)
        // As of a time before anything was recorded, the ledger knew nothing of ola.
        let before = try ctl.run(["state", "--json", "--subject", "ola@example.no", "--as-of", "2025-01-20T00:00:00Z"])
        #expect(before.status == 0)
        #expect((jsonObject(before.stdout)?["consents"] as? [Any])?.isEmpty == true)
        // Now: the back-dated withdrawal decides the newsletter, and analytics' 90-day TTL has run out.
        let now = try ctl.run(["state", "--json", "--subject", "ola@example.no"])
        let consents = try #require(jsonObject(now.stdout)?["consents"] as? [[String: Any]])
        #expect(consents.map { $0["status"] as? String } == ["withdrawn", "expired"])
        #expect(consents.last?["expiresAt"] as? String == "2025-04-10T10:00:00.000Z")
        let one = try ctl.run(["state", "--json", "--subject", "ola@example.no", "--purpose", "newsletter"])
        #expect((jsonObject(one.stdout)?["consents"] as? [Any])?.count == 1)
        let whole = try ctl.run(["state", "--json"])
        #expect(whole.status == 0)
        let parsed = try #require(jsonObject(whole.stdout))
        #expect((parsed["subjects"] as? [Any])?.count == 2)
        #expect((parsed["purposes"] as? [Any])?.count == 11)
        #expect(!whole.stdout.contains("ola@example.no"))
        let missing = try ctl.run(["state", "--subject", "nobody@example.no"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("subject_not_found"))
        #expect(try ctl.run(["state", "--as-of", "yesterday"]).status == 2)
    }

    @Test func stateFromAnExportAloneMatchesTheLedger() throws {
        let scratch = Scratch()
        let ctl = try populated(scratch)
        let exportPath = scratch.path + "/export.ndjson"
        try ctl.run(["export"]).stdout.write(toFile: exportPath, atomically: true, encoding: .utf8)
        let asOf = "2099-01-01T00:00:00Z"
        let fromLedger = try ctl.run(["state", "--json", "--as-of", asOf])
        let fromExport = try ctl.run(["state", "--json", "--as-of", asOf, "--export", exportPath], withLedger: false)
        #expect(fromExport.status == 0)
        #expect(fromExport.stdout == fromLedger.stdout)
        var lines = try String(contentsOfFile: exportPath, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[1] = lines[1].replacingOccurrences(of: "web-analytics", with: "ads-remarketing")
        try lines.joined(separator: "\n").write(toFile: exportPath, atomically: true, encoding: .utf8)
        let tampered = try ctl.run(["state", "--as-of", asOf, "--export", exportPath], withLedger: false)
        #expect(tampered.status == 1)
        #expect(tampered.stderr.contains("seq 2"))
    }

    @Test func requestsAndPurposes() throws {
        let scratch = Scratch()
        let ctl = try populated(scratch)
        let overdue = try ctl.run(["requests", "--json", "--status", "overdue"])
        let requests = try #require(jsonObject(overdue.stdout)?["requests"] as? [[String: Any]])
        #expect(requests.count == 1)
        #expect(requests.first?["dueAt"] as? String == "2025-02-04T10:00:00.000Z")
        #expect(requests.first?["status"] as? String == "open")
        #expect(requests.first?["overdue"] as? Bool == true)
        let before = try ctl.run(["requests", "--json", "--status", "overdue", "--as-of", "2025-02-04T10:00:00Z"])
        #expect((jsonObject(before.stdout)?["requests"] as? [Any])?.isEmpty == true)
        #expect(try ctl.run(["requests", "--status", "sometimes"]).status == 2)
        let purposes = try ctl.run(["purposes", "--json"])
        let rows = try #require(jsonObject(purposes.stdout)?["purposes"] as? [[String: Any]])
        let analytics = try #require(rows.first { $0["id"] as? String == "web-analytics" })
        #expect(analytics["expired"] as? Int == 1)
        #expect(rows.first { $0["id"] as? String == "newsletter" }?["withdrawn"] as? Int == 1)
    }

    @Test func anOverdueRequestShowsStatusOpenAndOverdueTrue() throws {
        let scratch = Scratch()
        let ctl = try populated(scratch)
        // Overdue is a filter and a flag: the request's status stays open, in --json and the table.
        for filter in ["overdue", "open", "all"] {
            let listed = try ctl.run(["requests", "--json", "--status", filter])
            #expect(listed.status == 0)
            let rows = try #require(jsonObject(listed.stdout)?["requests"] as? [[String: Any]])
            #expect(rows.count == 1, "status \(filter)")
            #expect(rows.first?["status"] as? String == "open")
            #expect(rows.first?["overdue"] as? Bool == true)
        }
        let table = try ctl.run(["requests", "--status", "overdue"])
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let header = try #require(lines.first { $0.first == "REQUEST" })
        let row = try #require(lines.first { $0.first == "c0000000-0000-4000-8000-000000000001" })
        let status = try #require(header.firstIndex(of: "STATUS"))
        let overdue = try #require(header.firstIndex(of: "OVERDUE"))
        #expect(row[status] == "open")
        #expect(row[overdue] == "true")
        #expect(!table.stdout.contains(" overdue "))
    }

    @Test func historyAnswersAnAccessRequestAndSaysWhenASubjectIsErased() throws {
        let scratch = Scratch()
        let ctl = try populated(scratch)
        let report = try ctl.run(["history", "--json", "--subject", "ola@example.no"])
        #expect(report.status == 0)
        let parsed = try #require(jsonObject(report.stdout))
        #expect(parsed["subject"] as? String == "ola@example.no")
        let events = try #require(parsed["events"] as? [[String: Any]])
        #expect(events.count == 3)
        #expect((events.first?["data"] as? [String: Any])?["note"] as? String == "OLA-MARK")
        let pseudonym = try #require(parsed["pseudonym"] as? String)
        #expect(try ctl.run(["erase", "--subject", "ola@example.no"]).status == 0)
        let erased = try ctl.run(["history", "--pseudonym", pseudonym])
        #expect(erased.status == 0)
        #expect(erased.stdout.contains("ERASED"))
        #expect(!erased.stdout.contains("OLA-MARK"))
        let erasedJSON = try #require(jsonObject(try ctl.run(["history", "--json", "--pseudonym", pseudonym]).stdout))
        #expect(erasedJSON["erased"] as? Bool == true)
        #expect(erasedJSON["subject"] is NSNull)
        let erasedEvents = try #require(erasedJSON["events"] as? [[String: Any]])
        #expect(erasedEvents.count == 4)
        #expect(erasedEvents.allSatisfy { $0["erased"] as? Bool == true && $0["data"] is NSNull })
        #expect(try ctl.run(["history", "--subject", "ola@example.no"]).status == 2)
    }

    @Test func replayShowsStateChangesAndStopsAtATamperedEvent() throws {
        let scratch = Scratch()
        let ctl = try populated(scratch)
        let replay = try ctl.run(["replay"])
        #expect(replay.status == 0)
        #expect(replay.stdout.contains("newsletter: none → granted"))
        #expect(replay.stdout.contains("newsletter: granted → withdrawn"))
        #expect(replay.stdout.contains("web-analytics: none → expired"))
        #expect(replay.stdout.contains("open → overdue"))
        let exportPath = scratch.path + "/export.ndjson"
        try ctl.run(["export"]).stdout.write(toFile: exportPath, atomically: true, encoding: .utf8)
        let fromExport = try ctl.run(["replay", "--export", exportPath], withLedger: false)
        #expect(fromExport.status == 0)
        #expect(fromExport.stdout == replay.stdout)
        var lines = try String(contentsOfFile: exportPath, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: "\"occurredAt\":\"2025-02-01", with: "\"occurredAt\":\"2025-02-02")
        try lines.joined(separator: "\n").write(toFile: exportPath, atomically: true, encoding: .utf8)
        let tampered = try ctl.run(["replay", "--export", exportPath], withLedger: false)
        #expect(tampered.status == 1)
        #expect(tampered.stdout.contains("seq 2"))
        #expect(!tampered.stdout.contains("seq 3 "))
        let json = try ctl.run([
            "replay", "--json", "--pseudonym",
            try #require(lines.first.flatMap { jsonObject($0)?["subject"] as? String }),
        ])
        #expect(json.stdout.split(separator: "\n").allSatisfy { jsonObject(String($0)) != nil })
    }

    @Test func rebuildMatchesAfterAVariedWorkload() throws {
        let scratch = Scratch()
        let ctl = try populated(scratch)
        #expect(try ctl.run(["erase", "--subject", "kari@example.no"]).status == 0)
        let rebuild = try ctl.run(["rebuild", "--json"])
        #expect(rebuild.status == 0)
        let report = try #require(jsonObject(rebuild.stdout))
        #expect(report["ok"] as? Bool == true)
        #expect(report["snapshots"] as? Int == 3)
        #expect(report["events"] as? Int == 6)
    }
}
