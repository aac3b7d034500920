import Foundation
import TestSupport
import Testing

/// Damaged, truncated and half-written files: every command refuses them with `ledger_corrupt`
/// (exit 3) naming the place, and none dies by a signal.
@Suite(.serialized)
struct DamageTests {
    /// A small ledger: 120 events of a few sizes (some values on overflow pages) and requests.
    private func small(_ scratch: Scratch) throws -> LedgerctlRunner {
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init", "--snapshot-interval", "40"]).status == 0)
        var lines: [String] = []
        for n in 0..<110 {
            let pad = String(repeating: "x", count: (n * 37) % 3_000)
            lines.append(
                #"{"type":"consent.granted","subject":"s\#(n % 13)@example.no","purpose":"newsletter","notice":"policy-v1","data":{"n":\#(n),"pad":"\#(pad)"}}"#
            )
            if n % 11 == 0 { lines.append(#"{"type":"access.requested","subject":"s\#(n % 13)@example.no"}"#) }
        }
        let path = scratch.path + "/events.ndjson"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", path]).status == 0)
        return ctl
    }

    /// A copy of the ledger directory at `scratch/name`, without lock files.
    private func copy(_ ctl: LedgerctlRunner, _ scratch: Scratch, _ name: String) throws -> LedgerctlRunner {
        let target = scratch.path + "/" + name
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: ctl.ledger, toPath: target)
        for lock in ["/events/lock.mdb", "/keys/lock.mdb"] {
            try? FileManager.default.removeItem(atPath: target + lock)
        }
        return LedgerctlRunner(ledger: target)
    }

    private func truncate(_ path: String, toFraction fraction: Double) throws {
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(Foundation.truncate(path, off_t(Double(size) * fraction)) == 0)
    }

    @Test func truncatedDataFilesAreRefusedAsCorruptNeverWithASignal() throws {
        let scratch = Scratch()
        let ctl = try small(scratch)
        #expect(try ctl.run(["verify"]).status == 0)
        let commands = [
            ["verify"], ["stats"], ["history", "--subject", "s1@example.no"],
            [
                "append", "--type", "consent.granted", "--subject", "s1@example.no", "--purpose", "newsletter",
                "--notice", "policy-v1",
            ],
        ]
        for (file, fraction) in [("events", 0.5), ("events", 0.9), ("keys", 0.6)] {
            let cut = try copy(ctl, scratch, "cut-\(file)-\(fraction)")
            try truncate(cut.ledger + "/\(file)/data.mdb", toFraction: fraction)
            for command in commands {
                let outcome = try cut.run(command)
                #expect(!outcome.signalled, "\(command[0]) on a truncated \(file)/data.mdb died by a signal")
                #expect(outcome.status == 3, "\(command[0]) on a truncated \(file)/data.mdb")
                #expect(outcome.stderr.contains("ledger_corrupt"))
                #expect(outcome.stderr.contains("\(file)/data.mdb is truncated"), "\(outcome.stderr)")
            }
        }
    }

    @Test func aKilledBackupIsCompleteOrSaysItIsIncomplete() throws {
        let scratch = Scratch()
        let ctl = try small(scratch)
        for (attempt, delay) in [0, 5_000, 20_000, 60_000, 150_000, 2_000_000].enumerated() {
            let target = scratch.path + "/backup-\(attempt)"
            let backup = try ctl.start(["backup", target])
            usleep(useconds_t(delay))
            kill(backup.process.processIdentifier, SIGKILL)
            _ = backup.wait()
            guard FileManager.default.fileExists(atPath: target) else { continue }  // killed before it began
            try? FileManager.default.copyItem(atPath: ctl.ledger + "/master.key", toPath: target + "/master.key")
            let verify = try LedgerctlRunner(ledger: target).run(["verify"])
            #expect(!verify.signalled)
            if FileManager.default.fileExists(atPath: target + "/backup-manifest.json") {
                #expect(verify.status == 0, "a backup with its manifest is complete: \(verify.stderr)")
            } else if FileManager.default.fileExists(atPath: target + "/BACKUP-INCOMPLETE") {
                #expect(verify.status == 3)
                #expect(verify.stderr.contains("ledger_corrupt"))
                #expect(verify.stderr.contains("this backup is incomplete"))
            } else {
                #expect(verify.status == 3, "an empty directory holds no ledger")
            }
        }
    }

    /// The page number of the main table's root in the newest meta page (LMDB 0.9, 64-bit: the
    /// meta follows the 16-byte page header; `mm_dbs[1].md_root` at 72 + 40, `mm_txnid` at 128).
    private func mainRoot(of file: [UInt8]) -> (root: Int, pageSize: Int) {
        func u64(_ offset: Int) -> Int {
            file.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        }
        let pageSize = file.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 16 + 24, as: UInt32.self)) }
        let newest = u64(pageSize + 16 + 128) > u64(16 + 128) ? pageSize : 0
        return (u64(newest + 16 + 72 + 40), pageSize)
    }

    @Test func aDamagedPageIsNamedByVerifyExportLogAndServe() throws {
        let scratch = Scratch()
        let ctl = try small(scratch)
        let damaged = try copy(ctl, scratch, "damaged")
        let path = damaged.ledger + "/events/data.mdb"
        var bytes = try #require(FileManager.default.contents(atPath: path).map { Array($0) })
        let (root, pageSize) = mainRoot(of: bytes)
        // The main table's leaf holds every named table's record; its free-space upper bound now
        // points past the page.
        bytes[root * pageSize + 14] = 0xff
        bytes[root * pageSize + 15] = 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for command in [["verify"], ["export"], ["log"], ["rebuild"]] {
            let outcome = try damaged.run(command)
            #expect(!outcome.signalled)
            #expect(outcome.status == 3, "\(command[0])")
            #expect(outcome.stderr.contains("page \(root) of events/data.mdb is damaged"), "\(outcome.stderr)")
        }
        // The server refuses to start; were it to start anyway, it is stopped once it listens.
        let socket = scratch.path + "/s.sock"
        let server = try damaged.start(["serve", "--socket", socket])
        while server.process.isRunning, !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
        if server.process.isRunning {
            Issue.record("the server started on a damaged ledger")
            kill(server.process.processIdentifier, SIGKILL)
        }
        let served = server.wait()
        #expect(served.status == 3 && !served.signalled)
        #expect(served.stderr.contains("page \(root) of events/data.mdb is damaged"), "\(served.stderr)")
    }

    @Test func flippedBytesInTheEventsFileNeverKillVerifyExportOrLog() throws {
        let scratch = Scratch()
        let ctl = try small(scratch)
        let original = try #require(
            FileManager.default.contents(atPath: ctl.ledger + "/events/data.mdb").map { Array($0) }
        )
        let flipped = try copy(ctl, scratch, "flipped")
        let pageSize = mainRoot(of: original).pageSize
        // A seeded sample: half anywhere, half in page headers and node pointers, where a flip
        // changes what LMDB follows.
        var random = SplitMix64(seed: 6962)
        let pages = original.count / pageSize
        var positions: [Int] = []
        for index in 0..<120 {
            let page = Int(random.next() % UInt64(pages))
            let within = index.isMultiple(of: 2) ? Int(random.next() % 64) : Int(random.next() % UInt64(pageSize))
            positions.append(page * pageSize + within)
        }
        var outcomes: [String: Int] = [:]
        for position in positions {
            var bytes = original
            bytes[position] ^= UInt8(1) << (random.next() % 8)
            try Data(bytes).write(to: URL(fileURLWithPath: flipped.ledger + "/events/data.mdb"))
            for command in [["verify"], ["export"], ["log"]] {
                let outcome = try flipped.run(command)
                #expect(!outcome.signalled, "\(command[0]) died by signal \(outcome.status), byte \(position) flipped")
                #expect([0, 1, 3].contains(outcome.status), "\(command[0]), byte \(position) flipped")
                outcomes["\(command[0]) \(outcome.status)", default: 0] += 1
            }
        }
        #expect((outcomes["verify 3"] ?? 0) > 0, "some flips are refused as damage: \(outcomes)")
    }
}
