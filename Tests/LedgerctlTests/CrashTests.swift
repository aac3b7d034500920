import Foundation
import LedgerClient
import Testing

/// A crash at every named step (SIGKILL from a failpoint, `LEDGER_FAILPOINT`, compiled into debug
/// builds only): after it the ledger opens, `verify` and `rebuild` pass, every acknowledged append
/// is present with its key, and an erased subject is either fully erased or fully intact.
@Suite(.serialized)
struct CrashTests {
    static let killed: Int32 = 128 + SIGKILL
    static let subjects = ["ada", "bo", "cy"]

    /// A ledger with three acknowledged subjects, each with a marker in its data.
    /// A snapshot every 4 events, so the crashes land around snapshot writing too.
    private func ledger(_ scratch: Scratch, snapshotInterval: Int = 4) throws -> LedgerctlRunner {
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try #require(try ctl.run(["init", "--snapshot-interval", String(snapshotInterval)]).status == 0)
        for name in Self.subjects {
            try #require(
                try ctl.run([
                    "append", "--type", "consent.granted", "--subject", "\(name)@example.com", "--purpose",
                    "newsletter", "--notice", "policy-v1", "--data", #"{"marker":"MARK-\#(name)"}"#,
                ]).status == 0
            )
        }
        return ctl
    }

    /// The checks after every crash; `victim` is the subject an interrupted erasure was for.
    private func checkRecovered(_ ctl: LedgerctlRunner, victim: String? = nil) throws {
        let verify = try ctl.run(["verify"])
        #expect(verify.status == 0, "verify: \(verify.stdout)\(verify.stderr)")
        let rebuild = try ctl.run(["rebuild"])
        #expect(rebuild.status == 0, "rebuild: \(rebuild.stdout)\(rebuild.stderr)")
        for name in Self.subjects {
            let history = try ctl.run(["history", "--json", "--subject", "\(name)@example.com"])
            if name == victim, history.status != 0 {
                // Fully erased: the id no longer resolves and nothing of the person is in any file.
                #expect(history.status == 2)
                #expect(Fixtures.filesContaining("MARK-\(name)", under: ctl.ledger).isEmpty)
                #expect(Fixtures.filesContaining("\(name)@example.com", under: ctl.ledger).isEmpty)
                continue
            }
            #expect(history.status == 0, "\(name): \(history.stderr)")
            #expect(history.stdout.contains("MARK-\(name)"), "\(name)'s data no longer decrypts")
        }
    }

    @Test(arguments: ["append.beforeCommit", "append.betweenCommits", "append.afterCommit"])
    func aCrashInsideAnAppend(point: String) throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        let crashed = try ctl.run(
            [
                "append", "--type", "consent.granted", "--subject", "dee@example.com", "--purpose", "newsletter",
                "--notice", "policy-v1", "--data", #"{"marker":"MARK-dee"}"#,
            ],
            environment: ["LEDGER_FAILPOINT": point]
        )
        #expect(crashed.status == Self.killed)
        try checkRecovered(ctl)
        // The unacknowledged append is either whole or absent, and a retry succeeds.
        let retry = try ctl.run([
            "append", "--type", "consent.granted", "--subject", "dee@example.com", "--purpose", "newsletter",
            "--notice", "policy-v1", "--data", #"{"marker":"MARK-dee"}"#,
        ])
        #expect(retry.status == 0)
        #expect(try ctl.run(["history", "--json", "--subject", "dee@example.com"]).stdout.contains("MARK-dee"))
    }

    @Test func aCrashBetweenImportChunksKeepsTheCommittedChunks() throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch, snapshotInterval: 4_000)
        let file = scratch.path + "/events.ndjson"
        let lines = (0..<10_010).map {
            #"{"type":"access.requested","subject":"import-\#($0)@example.com"}"#
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let crashed = try ctl.run(["import", file], environment: ["LEDGER_FAILPOINT": "import.afterChunk@1"])
        #expect(crashed.status == Self.killed, "\(crashed.stderr)")
        try checkRecovered(ctl)
        let stats = try #require(jsonObject(try ctl.run(["stats", "--json"]).stdout))
        #expect(stats["events"] as? Int == 3 + 10_000, "the first chunk is committed, the second never began")
    }

    /// An import that stores its snapshots as deltas, killed after its first chunk. Its snapshots
    /// are written beside it by a background queue, so the kill may come before some of the
    /// chunk's boundaries are stored, or in the middle of storing one: whatever was stored reads
    /// back (verify, rebuild, `state`), the next import stores the missing ones and goes on
    /// storing deltas, and `rebuild` finds every snapshot equal to the log's fold.
    @Test func aCrashInsideAnImportThatStoresDeltas() throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch, snapshotInterval: 1_000)
        let many = scratch.path + "/many.ndjson"
        try
            ((0..<3_000).map {
                #"{"type":"consent.granted","subject":"many-\#($0)@example.com","purpose":"newsletter","notice":"policy-v1"}"#
            }
            .joined(separator: "\n") + "\n").write(toFile: many, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", many]).status == 0)
        let few = scratch.path + "/few.ndjson"
        let lines = (0..<25_000).map {
            $0 % 2 == 0
                ? #"{"type":"consent.granted","subject":"few-\#($0 % 10)@example.com","purpose":"newsletter","notice":"policy-v1"}"#
                : #"{"type":"consent.withdrawn","subject":"few-\#($0 % 10)@example.com","purpose":"newsletter"}"#
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: few, atomically: true, encoding: .utf8)
        let crashed = try ctl.run(["import", few], environment: ["LEDGER_FAILPOINT": "import.afterChunk@1"])
        #expect(crashed.status == Self.killed, "\(crashed.stderr)")
        try checkRecovered(ctl)
        var stats = try #require(jsonObject(try ctl.run(["stats", "--json"]).stdout))
        #expect(stats["events"] as? Int == 3 + 3_000 + 10_000, "the first chunk is committed, the second never began")
        #expect((stats["snapshots"] as? Int ?? 99) <= 13, "no boundary past the committed head: \(stats)")
        #expect(try ctl.run(["state", "--json"]).status == 0)
        #expect(try ctl.run(["import", few]).status == 0)
        try checkRecovered(ctl)
        stats = try #require(jsonObject(try ctl.run(["stats", "--json"]).stdout))
        #expect(stats["snapshots"] as? Int == 38)
        #expect(
            (stats["snapshotDeltas"] as? Int ?? 0) >= 20,
            "the next import's boundaries are deltas: \(stats)"
        )
        let rebuild = try ctl.run(["rebuild", "--json"])
        #expect(jsonObject(rebuild.stdout)?["snapshots"] as? Int == 38, "\(rebuild.stdout)")
    }

    /// The steps of an erasure: before its event, after it (before the slot), after the index
    /// buckets are overwritten, after the slot is (before the flush), after the flush, after the
    /// slot number's deletion commits.
    static let erasureSteps = [
        "erase.beforeEvent", "erase.afterEvent", "slots.afterBucket", "erase.beforeFlush", "erase.afterSlot",
        "erase.afterKeyDeletion",
    ]

    @Test(arguments: erasureSteps)
    func aCrashInsideAnErasure(point: String) throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        let crashed = try ctl.run(
            ["erase", "--subject", "bo@example.com"],
            environment: ["LEDGER_FAILPOINT": point]
        )
        #expect(crashed.status == Self.killed)
        try checkRecovered(ctl, victim: "bo")
        let erasedBefore = point != "erase.beforeEvent"
        let again = try ctl.run(["erase", "--subject", "bo@example.com"])
        #expect(again.status == (erasedBefore ? 2 : 0), "\(again.stderr)")
        try checkRecovered(ctl, victim: "bo")
        #expect(try ctl.run(["history", "--subject", "bo@example.com"]).status == 2)
    }

    @Test(arguments: [
        "compact.afterTracking", "compact.afterCopy", "compact.afterChanges", "compact.afterRename",
        "compact.whileFreeing",
    ])
    func aCrashInsideAKeyStoreCompaction(point: String) throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        let crashed = try ctl.run(["keys", "compact"], environment: ["LEDGER_FAILPOINT": point])
        #expect(crashed.status == Self.killed)
        try checkRecovered(ctl)
        #expect(try ctl.run(["keys", "compact"]).status == 0)
        try checkRecovered(ctl)
    }

    @Test func aCrashInsideABackupLeavesTheLedgerWholeAndTheCopyRefused() throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        let target = scratch.path + "/backup"
        let crashed = try ctl.run(["backup", target], environment: ["LEDGER_FAILPOINT": "backup.afterEvents"])
        #expect(crashed.status == Self.killed)
        try checkRecovered(ctl)
        // The partial copy has no key store: it is refused, never taken for a ledger.
        let partial = LedgerctlRunner(ledger: target)
        #expect(try partial.run(["stats"]).status == 3)
    }

    /// A crash at the next open after an erasure was interrupted, before the open repairs it:
    /// the open after that still finishes the erasure, and no other subject loses its key.
    @Test func aCrashBeforeTheOpenRepairsAnInterruptedErasure() throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        let interrupted = try ctl.run(
            ["erase", "--subject", "bo@example.com"],
            environment: ["LEDGER_FAILPOINT": "erase.afterEvent"]
        )
        #expect(interrupted.status == Self.killed)
        let crashed = try ctl.run(["stats"], environment: ["LEDGER_FAILPOINT": "open.beforeRepair"])
        #expect(crashed.status == Self.killed)
        try checkRecovered(ctl, victim: "bo")
        #expect(try ctl.run(["history", "--subject", "bo@example.com"]).status == 2, "the erasure was not finished")
    }

    /// Makes the ledger look like format 1 (Merkle nodes under the old keys) by changing the
    /// format value in the meta table's leaf node in place: LMDB's node header (data size 8,
    /// flags 0, key size 6), the key `format`, the big-endian version.
    private func markFormatOne(_ ledger: String) throws -> Int {
        let path = ledger + "/events/data.mdb"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        // The current format (4) is what a new ledger stores.
        let node: [UInt8] = [8, 0, 0, 0, 0, 0, 6, 0] + Array("format".utf8) + [0, 0, 0, 0, 0, 0, 0, 4]
        var patched = 0
        var start = 0
        while let range = bytes[start...].firstRange(of: node) {
            bytes[range.upperBound - 1] = 1
            patched += 1
            start = range.upperBound
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return patched
    }

    /// The format migration drops the old Merkle nodes and backfills the tree from the log; a
    /// crash before the backfill leaves a ledger whose next open backfills it, and whose proofs
    /// verify against a checkpoint.
    @Test func aCrashInsideTheFormatMigrationBeforeTheMerkleBackfill() throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        #expect(try markFormatOne(ctl.ledger) >= 1)
        let crashed = try ctl.run(["stats"], environment: ["LEDGER_FAILPOINT": "merkle.beforeBackfill"])
        #expect(crashed.status == Self.killed, "the migration did not reach the backfill: \(crashed.stderr)")
        try checkRecovered(ctl)
        // Nothing left to backfill: the failpoint no longer fires.
        #expect(try ctl.run(["stats"], environment: ["LEDGER_FAILPOINT": "merkle.beforeBackfill"]).status == 0)
        let bundle = scratch.path + "/ada.proof.json"
        #expect(try ctl.run(["prove", "--subject", "ada@example.com", "--out", bundle]).status == 0)
        let proof = try ctl.run(["verify", "--proof", bundle], withLedger: false)
        #expect(proof.status == 0, "\(proof.stdout)\(proof.stderr)")
    }

    /// The same erasure steps, crashed inside a running server: the server dies with no answer,
    /// and the next open repairs or keeps the subject whole.
    @Test(arguments: erasureSteps)
    func aCrashInsideAnErasureThroughTheServer(point: String) throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: LedgerctlRunner.binary)
        server.arguments = ["serve", "--ledger", ctl.ledger]
        var environment = ProcessInfo.processInfo.environment
        environment["LEDGER_FAILPOINT"] = point
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        let client = UnixHTTPClient(path: ctl.ledger + "/ledger.sock")
        let deadline = Date().addingTimeInterval(30)
        while !client.isAnswering(), server.isRunning, Date() < deadline { usleep(20_000) }
        let reply = try? client.send(method: "POST", path: "/v1/subjects/erase", body: #"{"subject":"bo@example.com"}"#)
        server.waitUntilExit()
        #expect(server.terminationReason == .uncaughtSignal)
        #expect(reply == nil || reply!.status >= 500, "an erasure the server died in was answered \(reply!.status)")
        try checkRecovered(ctl, victim: "bo")
        let erasedBefore = point != "erase.beforeEvent"
        #expect(try ctl.run(["erase", "--subject", "bo@example.com"]).status == (erasedBefore ? 2 : 0))
        try checkRecovered(ctl, victim: "bo")
    }

    /// A compaction through the server (`POST /v1/keys/compact`) paused after its copy (a pause
    /// point): appends through the socket and from another process are acknowledged meanwhile,
    /// and every one of them keeps its key when the copy is swapped in — also when the server is
    /// killed after carrying the changes into the copy, or after the swap.
    @Test(arguments: ["", "compact.afterChanges", "compact.afterRename"])
    func aCompactionPausedAfterItsCopyLetsAppendsThroughAndKeepsThem(kill point: String) throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        let pauses = scratch.path + "/pauses"
        try FileManager.default.createDirectory(atPath: pauses + "/run", withIntermediateDirectories: true)
        var environment = ["LEDGER_PAUSEPOINT": "compact.afterCopy", "LEDGER_PAUSEPOINT_DIR": pauses]
        if !point.isEmpty { environment["LEDGER_FAILPOINT"] = point }
        let server = try TestServer(ledger: ctl.ledger, socket: pauses + "/run/ledger.sock", environment: environment)
        let compaction = Collected()
        let compacting = DispatchGroup()
        DispatchQueue.global().async(group: compacting) {
            let reply = try? server.call("POST", "/v1/keys/compact", "{}")
            compaction.add("\(reply?.status ?? -1)")
        }
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: pauses + "/paused"), Date() < deadline { usleep(10_000) }
        try #require(FileManager.default.fileExists(atPath: pauses + "/paused"))
        var acknowledged: [String] = []
        for n in 0..<20 {
            let body =
                #"{"type":"consent.granted","subject":"new-\#(n)@example.com","purpose":"newsletter","notice":"policy-v1","data":{"marker":"MARK-new-\#(n)"}}"#
            #expect(try server.call("POST", "/v1/events", body).status == 201)
            acknowledged.append("new-\(n)")
        }
        #expect(try server.call("POST", "/v1/subjects/erase", #"{"subject":"bo@example.com"}"#).status == 200)
        let other = try ctl.run([
            "append", "--type", "consent.granted", "--subject", "other-process@example.com", "--purpose",
            "newsletter", "--notice", "policy-v1", "--data", #"{"marker":"MARK-other-process"}"#,
        ])
        #expect(other.status == 0, "\(other.stderr)")
        acknowledged.append("other-process")
        #expect(compaction.values == [], "the compaction was answered before its copy was swapped in")
        _ = FileManager.default.createFile(atPath: pauses + "/resume", contents: nil)
        compacting.wait()
        if point.isEmpty {
            #expect(compaction.values == ["200"])
            #expect(server.stop() == 0)
        } else {
            server.process.waitUntilExit()
            #expect(server.process.terminationReason == .uncaughtSignal)
        }
        try checkRecovered(ctl, victim: "bo")
        #expect(try ctl.run(["history", "--subject", "bo@example.com"]).status == 2)
        for name in acknowledged {
            let history = try ctl.run(["history", "--json", "--subject", "\(name)@example.com"])
            #expect(history.stdout.contains("MARK-\(name)"), "\(name) lost its key: \(history.stderr)")
        }
    }

    /// An erasure through the server paused while it overwrites the key (after its writes, before
    /// its flush, where it holds no lock: a pause point): it is not answered yet, and appends through the socket are
    /// acknowledged meanwhile — new subjects, and the erased subject's external id as a new subject.
    /// Resumed, the erasure is answered and its key is in no file; killed there instead, the next
    /// open finishes it. Either way every acknowledged subject keeps its key.
    @Test(arguments: [false, true])
    func appendsGoOnWhileAnErasureOverwritesItsKey(killed: Bool) throws {
        let scratch = Scratch()
        let ctl = try ledger(scratch)
        let keyBytes = try slotRecord(of: "bo", in: ctl)
        let pauses = scratch.path + "/pauses"
        try FileManager.default.createDirectory(atPath: pauses + "/run", withIntermediateDirectories: true)
        let server = try TestServer(
            ledger: ctl.ledger,
            socket: pauses + "/run/ledger.sock",
            environment: ["LEDGER_PAUSEPOINT": "erase.beforeFlush", "LEDGER_PAUSEPOINT_DIR": pauses]
        )
        let erasure = Collected()
        let erasing = DispatchGroup()
        DispatchQueue.global().async(group: erasing) {
            let reply = try? server.call("POST", "/v1/subjects/erase", #"{"subject":"bo@example.com"}"#)
            erasure.add("\(reply?.status ?? -1)")
        }
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: pauses + "/paused"), Date() < deadline { usleep(10_000) }
        try #require(FileManager.default.fileExists(atPath: pauses + "/paused"))
        var acknowledged: [String] = []
        for name in (0..<10).map({ "new-\($0)" }) + ["bo"] {
            let body =
                #"{"type":"consent.granted","subject":"\#(name)@example.com","purpose":"newsletter","notice":"policy-v1","data":{"marker":"MARK-again-\#(name)"}}"#
            #expect(try server.call("POST", "/v1/events", body).status == 201, "\(name) was not acknowledged")
            acknowledged.append(name)
        }
        #expect(erasure.values == [], "the erasure was answered before its key was overwritten")
        if killed {
            #expect(server.stop(SIGKILL) != 0)
        } else {
            _ = FileManager.default.createFile(atPath: pauses + "/resume", contents: nil)
            erasing.wait()
            #expect(erasure.values == ["200"])
            #expect(server.stop() == 0)
        }
        let verify = try ctl.run(["verify"])
        #expect(verify.status == 0, "verify: \(verify.stdout)\(verify.stderr)")
        // The erased subject's wrapped key is in no file (the open finished a killed erasure);
        // bo is now a new subject, whose slot alone holds the same external id's lookup hash.
        #expect(Fixtures.filesContaining(bytes: Array(keyBytes[48..<108]), under: ctl.ledger).isEmpty)
        #expect(try slotRecord(of: "bo", in: ctl)[32..<48] != keyBytes[32..<48])
        let slots = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ctl.ledger + "/keys/slots")))
        let lookupCopies = stride(from: 0, to: slots.count, by: 128).filter {
            slots[$0..<$0 + 32].elementsEqual(keyBytes[0..<32])
        }
        #expect(lookupCopies.count == 1)
        for name in acknowledged {
            let history = try ctl.run(["history", "--json", "--subject", "\(name)@example.com"])
            #expect(history.stdout.contains("MARK-again-\(name)"), "\(name) lost its key: \(history.stderr)")
        }
        for name in Self.subjects where name != "bo" {
            let history = try ctl.run(["history", "--json", "--subject", "\(name)@example.com"])
            #expect(history.stdout.contains("MARK-\(name)"), "\(name) lost its key: \(history.stderr)")
        }
    }

    /// The 128 bytes of `name`'s slot in `keys/slots` (lookup hash ‖ pseudonym ‖ wrapped key ‖ …).
    private func slotRecord(of name: String, in ctl: LedgerctlRunner) throws -> [UInt8] {
        let history = try #require(
            jsonObject(try ctl.run(["history", "--json", "--subject", "\(name)@example.com"]).stdout)
        )
        let text = try #require(history["pseudonym"] as? String)
        let pseudonym = stride(from: 0, to: text.count, by: 2).compactMap { at in
            UInt8(text.dropFirst(at).prefix(2), radix: 16)
        }
        try #require(pseudonym.count == 16)
        let slots = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ctl.ledger + "/keys/slots")))
        let record = try #require(
            stride(from: 0, to: slots.count, by: 128).first { Array(slots[$0 + 32..<$0 + 48]) == pseudonym }
        )
        return Array(slots[record..<record + 128])
    }

    /// A ledger made before key slots (`Tests/Fixtures/ledger-v1-keys`: 40 subjects, two erased),
    /// moved to slots by its first open, killed at each step of the move: the next open finishes
    /// it, every subject decrypts, the erased stay erased, and erasure works after it.
    @Test(arguments: ["migrate.beforeSwap", "compact.afterRename", "migrate.afterSwap"])
    func aCrashWhileAnOldKeyStoreMovesToSlots(point: String) throws {
        let scratch = Scratch()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/ledger-v1-keys").path
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try FileManager.default.copyItem(atPath: fixture, toPath: ctl.ledger)
        // A clone checks files out 0644; the ledger refuses a master key others can read.
        for key in ["master.key", "signing.key"] { chmod(ctl.ledger + "/" + key, 0o600) }
        let crashed = try ctl.run(["stats"], environment: ["LEDGER_FAILPOINT": point])
        #expect(crashed.status == Self.killed, "\(crashed.stderr)")
        let verify = try ctl.run(["verify"])
        #expect(verify.status == 0, "verify: \(verify.stdout)\(verify.stderr)")
        for n in 0..<40 {
            let history = try ctl.run(["history", "--json", "--subject", "fixture-\(n)@example.org"])
            if n == 3 || n == 7 {
                #expect(history.status == 2, "fixture-\(n) was erased before the move")
            } else {
                #expect(history.stdout.contains("Fixture Person \(n)\""), "fixture-\(n): \(history.stderr)")
            }
        }
        #expect(try ctl.run(["erase", "--subject", "fixture-5@example.org"]).status == 0)
        #expect(try ctl.run(["history", "--subject", "fixture-5@example.org"]).status == 2)
        #expect(try ctl.run(["history", "--subject", "fixture-6@example.org"]).status == 0)
    }

    /// The server writes snapshots in chunks, the manifest last: a crash before the manifest
    /// leaves chunks without one, which nothing reads and the next snapshot run replaces.
    @Test func aCrashWhileTheServerWritesASnapshot() throws {
        let scratch = Scratch()
        // Seq 4 to 9 are acknowledged before the snapshot at seq 10 is written.
        let ctl = try ledger(scratch, snapshotInterval: 10)
        let socket = scratch.path + "/ledger.sock"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: LedgerctlRunner.binary)
        server.arguments = ["serve", "--ledger", ctl.ledger, "--socket", socket]
        var environment = ProcessInfo.processInfo.environment
        environment["LEDGER_FAILPOINT"] = "snapshot.beforeManifest"
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        let client = UnixHTTPClient(path: socket)
        let deadline = Date().addingTimeInterval(30)
        while !client.isAnswering(), server.isRunning, Date() < deadline { usleep(20_000) }
        var acknowledged: [String] = []
        for n in 0..<40 where server.isRunning {
            let subject = "served-\(n)@example.com"
            let body = #"{"type":"access.requested","subject":"\#(subject)","data":{"marker":"S\#(n)"}}"#
            if let reply = try? client.send(method: "POST", path: "/v1/events", body: body), reply.status == 201 {
                acknowledged.append(subject)
            }
            usleep(20_000)
        }
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        server.waitUntilExit()
        #expect(server.terminationReason == .uncaughtSignal)
        #expect(!acknowledged.isEmpty)
        try checkRecovered(ctl)
        for subject in acknowledged {
            #expect(try ctl.run(["history", "--subject", subject]).status == 0, "\(subject) was acknowledged")
        }
    }
}
