import Foundation
import Testing

/// Several processes on one ledger at once (SPEC §3): nothing one of them does — appends,
/// erasures, key-store compaction — may lose what another has acknowledged.
@Suite(.serialized)
struct SharedLedgerTests {
    /// Appends for new subjects from several `ledgerctl` processes at once; returns the external
    /// ids whose append was acknowledged (exit 0), and for each refused one its exit status and
    /// what it printed on standard error, so a failing run says why.
    private func appendLoops(
        _ ctl: LedgerctlRunner,
        loops: Int,
        perLoop: Int,
        prefix: String
    ) -> (acknowledged: [String], refusals: [String]) {
        let acknowledged = Collected()
        let refusals = Collected()
        onThreads(loops) { loop in
            for index in 0..<perLoop {
                let subject = "\(prefix)-\(loop)-\(index)@example.com"
                do {
                    let outcome = try ctl.run([
                        "append", "--type", "consent.granted", "--subject", subject, "--purpose", "newsletter",
                        "--notice", "policy-v1",
                    ])
                    if outcome.status == 0 {
                        acknowledged.add(subject)
                    } else {
                        refusals.add("exit \(outcome.status): \(outcome.stderr)")
                    }
                } catch {
                    refusals.add("not started: \(error)")
                }
            }
        }
        return (acknowledged.values, refusals.values)
    }

    /// Every external id in `subjects` still resolves and its data still decrypts.
    private func unresolved(_ ctl: LedgerctlRunner, _ subjects: [String]) -> [String] {
        let lost = Collected()
        let chunks = stride(from: 0, to: subjects.count, by: max(1, subjects.count / 4 + 1)).map {
            Array(subjects[$0..<min(subjects.count, $0 + subjects.count / 4 + 1)])
        }
        onThreads(chunks.count) { chunk in
            for subject in chunks[chunk] {
                let history = try? ctl.run(["history", "--json", "--subject", subject])
                let events = (history.flatMap { jsonObject($0.stdout) }?["events"] as? [[String: Any]]) ?? []
                if history?.status != 0 || events.isEmpty || events.contains(where: { $0["erased"] as? Bool == true }) {
                    lost.add(subject)
                }
            }
        }
        return lost.values
    }

    @Test func keyStoreCompactionBesideAppendersLosesNoAcknowledgedSubject() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try #require(try ctl.run(["init"]).status == 0)
        let compactions = Counter()
        let running = Flag()
        let compactor = Thread {
            while running.isSet {
                if (try? ctl.run(["keys", "compact"]))?.status == 0 { compactions.add() }
            }
        }
        compactor.start()
        let (acknowledged, refusals) = appendLoops(ctl, loops: 4, perLoop: 30, prefix: "compact")
        running.clear()
        while compactor.isExecuting { usleep(10_000) }
        #expect(refusals == [])
        #expect(acknowledged.count == 120)
        #expect(compactions.value > 0)
        #expect(unresolved(ctl, acknowledged) == [])
        #expect(try ctl.run(["verify"]).status == 0)
        let stats = try #require(jsonObject(try ctl.run(["stats", "--json"]).stdout))
        #expect(stats["subjects"] as? Int == 120)
    }

    /// Opening a ledger compares the subjects the key store knows with those the log has created.
    /// An append of a new subject by another process between the two reads must not make the
    /// healthy ledger look older than its log: the open pauses between them (a pause point) while
    /// another process appends, and it still succeeds. Before the fix this open was refused
    /// `ledger_corrupt`, which is how an append beside `keys compact` (and its many opens) once
    /// failed in a loaded test run.
    @Test func anOpenBesideAnAppendOfANewSubjectIsNotRefused() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try #require(try ctl.run(["init"]).status == 0)
        let pauses = scratch.path + "/pauses"
        try FileManager.default.createDirectory(atPath: pauses, withIntermediateDirectories: true)
        let opening = try ctl.start(
            ["stats", "--json"],
            environment: ["LEDGER_PAUSEPOINT": "open.betweenCounters", "LEDGER_PAUSEPOINT_DIR": pauses]
        )
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: pauses + "/paused"), Date() < deadline { usleep(10_000) }
        try #require(FileManager.default.fileExists(atPath: pauses + "/paused"))
        let appended = try ctl.run([
            "append", "--type", "consent.granted", "--subject", "newcomer@example.com", "--purpose", "newsletter",
            "--notice", "policy-v1",
        ])
        #expect(appended.status == 0, "\(appended.stderr)")
        _ = FileManager.default.createFile(atPath: pauses + "/resume", contents: nil)
        let opened = opening.wait()
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(jsonObject(opened.stdout)?["subjects"] as? Int == 1)
    }

    /// A snapshot an appending `ledgerctl` process stores inside its append, while the server's
    /// background catch-up is writing the same one, is never removed. The server pauses (a pause
    /// point) after finding no snapshot at seq 4; a command-line append stores it; the server then
    /// goes on, armed to die before its own manifest. Before the fix it removed the complete
    /// snapshot to clear "stale" chunks and died with none stored; a `rebuild` beside it once
    /// failed with "the snapshot at seq 64 disappeared during the rebuild" (ChaosTests seed 2).
    @Test func theServersCatchUpNeverRemovesASnapshotAnotherWriterStored() throws {
        let scratch = Scratch()
        let ledger = scratch.path + "/ledger"
        let ctl = LedgerctlRunner(ledger: ledger)
        try #require(try ctl.run(["init", "--snapshot-interval", "4"]).status == 0)
        for n in 0..<3 {
            try #require(
                try ctl.run(["append", "--type", "access.requested", "--subject", "early-\(n)@example.com"]).status == 0
            )
        }
        let pauses = scratch.path + "/pauses"
        try FileManager.default.createDirectory(atPath: pauses + "/run", withIntermediateDirectories: true)
        let server = try TestServer(
            ledger: ledger,
            socket: pauses + "/run/ledger.sock",
            environment: [
                "LEDGER_PAUSEPOINT": "snapshot.afterCheck", "LEDGER_PAUSEPOINT_DIR": pauses,
                "LEDGER_FAILPOINT": "snapshot.beforeManifest",
            ]
        )
        // The fourth event completes the first interval: the server's catch-up pauses before
        // writing the snapshot at seq 4.
        let fourth = #"{"type":"access.requested","subject":"fourth@example.com"}"#
        try #require(try server.call("POST", "/v1/events", fourth).status == 201)
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: pauses + "/paused"), Date() < deadline { usleep(10_000) }
        try #require(FileManager.default.fileExists(atPath: pauses + "/paused"))
        // This append stores the snapshot at seq 4 inside its own transaction.
        let fifth = try ctl.run(["append", "--type", "access.requested", "--subject", "fifth@example.com"])
        try #require(fifth.status == 0, "\(fifth.stderr)")
        _ = FileManager.default.createFile(atPath: pauses + "/resume", contents: nil)
        // A graceful stop waits for the catch-up under way; armed as it is, the server dies
        // instead if the catch-up writes chunks of its own.
        #expect(server.stop() == 0)
        #expect(server.process.terminationReason == .exit, "the server reached the failpoint before its manifest")
        let stats = try ctl.run(["stats", "--json"])
        #expect(jsonObject(stats.stdout)?["snapshots"] as? Int == 1, "\(stats.stdout)")
        #expect(try ctl.run(["rebuild"]).status == 0)
    }

    @Test func erasuresBesideAppendersLoseNoOtherSubject() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try #require(try ctl.run(["init"]).status == 0)
        let victims = (0..<8).map { "victim-\($0)@example.com" }
        for victim in victims {
            try #require(
                try ctl.run([
                    "append", "--type", "consent.granted", "--subject", victim, "--purpose", "surveys", "--notice",
                    "policy-v1",
                ]).status == 0
            )
        }
        let erased = Collected()
        let eraser = Thread {
            for victim in victims where (try? ctl.run(["erase", "--subject", victim]))?.status == 0 {
                erased.add(victim)
            }
        }
        eraser.start()
        let (acknowledged, refusals) = appendLoops(ctl, loops: 3, perLoop: 25, prefix: "erase")
        while eraser.isExecuting { usleep(10_000) }
        #expect(refusals == [])
        #expect(acknowledged.count == 75)
        #expect(unresolved(ctl, acknowledged) == [])
        // An erasure that reported success is complete: the external id no longer resolves.
        for victim in erased.values {
            #expect(try ctl.run(["history", "--subject", victim]).status == 2)
        }
        #expect(try ctl.run(["verify"]).status == 0)
    }

    /// Erasures through a running server beside command-line appenders, some of them appending
    /// for the very subject being erased: every acknowledged subject keeps its key, an erasure
    /// the server reports done is complete, and `verify` finds no subject whose key went without
    /// an erasure event (the defect made several pseudonyms, all but the last shredded silently).
    @Test func serverErasuresBesideCommandLineAppendersLoseNothing() throws {
        let scratch = Scratch()
        let ledger = scratch.path + "/ledger"
        let ctl = LedgerctlRunner(ledger: ledger)
        try #require(try ctl.run(["init"]).status == 0)
        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        let server = try TestServer(ledger: ledger, socket: scratch.path + "/run/ledger.sock")
        let victims = (0..<6).map { "target-\($0)@example.com" }
        for victim in victims {
            let body = #"{"type":"consent.granted","subject":"\#(victim)","purpose":"surveys","notice":"policy-v1"}"#
            try #require(try server.call("POST", "/v1/events", body).status == 201)
        }
        let erasedByServer = Collected()
        let serverAppended = Collected()
        let running = Flag()
        let background = DispatchGroup()
        DispatchQueue.global().async(group: background) {
            for victim in victims {
                let reply = try? server.call("POST", "/v1/subjects/erase", #"{"subject":"\#(victim)"}"#)
                if reply?.status == 200 { erasedByServer.add(victim) }
            }
        }
        DispatchQueue.global().async(group: background) {
            var n = 0
            while running.isSet {
                let subject = "served-\(n)@example.com"
                let body = #"{"type":"access.requested","subject":"\#(subject)"}"#
                if (try? server.call("POST", "/v1/events", body))?.status == 201 { serverAppended.add(subject) }
                n += 1
            }
        }
        let raced = Collected()
        DispatchQueue.global().async(group: background) {
            // Appends for the subjects being erased, from the command line.
            for round in 0..<3 {
                for victim in victims {
                    let outcome = try? ctl.run([
                        "append", "--type", "consent.withdrawn", "--subject", victim, "--purpose", "surveys",
                        "--data", #"{"round":\#(round)}"#,
                    ])
                    if outcome?.status == 0 { raced.add(victim) }
                }
            }
        }
        let (acknowledged, refusals) = appendLoops(ctl, loops: 2, perLoop: 20, prefix: "cli")
        running.clear()
        background.wait()
        #expect(server.stop() == 0)
        #expect(refusals == [])
        #expect(acknowledged.count == 40)
        #expect(!serverAppended.values.isEmpty)
        #expect(unresolved(ctl, acknowledged + serverAppended.values) == [])
        let verify = try ctl.run(["verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(try ctl.run(["rebuild"]).status == 0)
        #expect(!raced.values.isEmpty || !erasedByServer.values.isEmpty)
    }

    /// `verify` while a server takes appends: the log grows under it, and that is no failure.
    @Test func verifyBesideAServerTakingAppendsPasses() throws {
        let scratch = Scratch()
        let ledger = scratch.path + "/ledger"
        let ctl = LedgerctlRunner(ledger: ledger)
        try #require(try ctl.run(["init"]).status == 0)
        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        let server = try TestServer(ledger: ledger, socket: scratch.path + "/run/ledger.sock")
        let running = Flag()
        let appending = DispatchGroup()
        for client in 0..<3 {
            DispatchQueue.global().async(group: appending) {
                var n = 0
                while running.isSet {
                    _ = try? server.call(
                        "POST",
                        "/v1/events",
                        #"{"type":"access.requested","subject":"v\#(client)-\#(n)"}"#
                    )
                    n += 1
                }
            }
        }
        var outcomes: [Int32] = []
        for _ in 0..<15 { outcomes.append(try ctl.run(["verify"]).status) }
        running.clear()
        appending.wait()
        #expect(server.stop() == 0)
        #expect(outcomes.allSatisfy { $0 == 0 }, "verify exits: \(outcomes)")
    }
}
