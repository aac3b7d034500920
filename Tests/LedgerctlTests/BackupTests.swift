import Foundation
import Testing

/// `ledgerctl backup` while a server takes appends, and the documented restore.
@Suite(.serialized)
struct BackupTests {
    @Test func aBackupDuringAppendsRestoresToAVerifyingPrefixWithEveryAcknowledgedEvent() throws {
        let scratch = Scratch()
        let ledger = scratch.path + "/ledger"
        let ctl = LedgerctlRunner(ledger: ledger)
        #expect(try ctl.run(["init"]).status == 0)
        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        let server = try TestServer(ledger: ledger, socket: scratch.path + "/run/ledger.sock")
        let acknowledged = Collected()
        let running = Flag()
        let group = DispatchGroup()
        for client in 0..<3 {
            DispatchQueue.global().async(group: group) {
                var n = 0
                while running.isSet {
                    let body =
                        #"{"type":"access.requested","subject":"b\#(client)-\#(n)@example.no","data":{"n":\#(n)}}"#
                    if let reply = try? server.call("POST", "/v1/events", body), reply.status == 201,
                        let seq = reply.json?["seq"] as? Int
                    {
                        acknowledged.add(String(seq))
                    }
                    n += 1
                }
            }
        }
        // Wait for appends to flow (however loaded the machine), back up while they go on.
        let deadline = Date().addingTimeInterval(30)
        while acknowledged.values.count < 20, Date() < deadline { usleep(20_000) }
        let before = acknowledged.values.compactMap(Int.init).max() ?? 0
        let backup = try ctl.run(["backup", scratch.path + "/backup"])
        #expect(backup.status == 0)
        usleep(200_000)
        running.clear()
        group.wait()
        #expect(server.stop() == 0)
        #expect(before > 0)

        // Not into a non-empty directory.
        #expect(try ctl.run(["backup", scratch.path + "/backup"]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/backup/master.key"))

        // Restore as documented: the backup where the ledger was, and the master key back.
        let restored = scratch.path + "/restored"
        try FileManager.default.moveItem(atPath: scratch.path + "/backup", toPath: restored)
        try FileManager.default.copyItem(atPath: ledger + "/master.key", toPath: restored + "/master.key")
        let restoredCtl = LedgerctlRunner(ledger: restored)
        let verify = try restoredCtl.run(["verify", "--json"])
        #expect(verify.status == 0)
        let restoredHead = try #require(jsonObject(verify.stdout)?["headSeq"] as? Int)
        #expect(restoredHead >= before, "every event acknowledged before the backup began is in it")
        // A prefix of the live log: the same hash at the restored head.
        let live = try ctl.run(["export"]).stdout.split(separator: "\n").map(String.init)
        let copy = try restoredCtl.run(["export"]).stdout.split(separator: "\n").map(String.init)
        #expect(Array(live.prefix(copy.count)) == copy)
        // The restored ledger decrypts: its key store matches its events.
        let lastSubject = try #require(jsonObject(copy[copy.count - 1])?["subject"] as? String)
        let history = try restoredCtl.run(["history", "--json", "--pseudonym", lastSubject])
        #expect(history.status == 0)
        #expect((jsonObject(history.stdout)?["subject"] as? String)?.hasSuffix("@example.no") == true)
        #expect(try restoredCtl.run(["rebuild"]).status == 0)
    }
}

/// A thread-safe on/off switch for the concurrency tests.
final class Flag: @unchecked Sendable {
    // Invariant: `value` is only touched under `lock`.
    private var value = true
    private let lock = NSLock()
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
    func clear() {
        lock.lock()
        value = false
        lock.unlock()
    }
}
