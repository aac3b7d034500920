import Foundation
import Testing

@testable import Ledger

struct StorageTests {
    @Test func aSmallMapGrowsTransparently() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        options.initialMapSize = 64 * 1024
        options.mapCeiling = 1 << 30
        let ledger = try Fixture.ledger(in: directory, options: options)
        for round in 0..<20 {
            let batch = try (0..<100).map {
                try Fixture.grant(
                    "s\(round)-\($0)",
                    extra: #","data":{"pad":"\#(String(repeating: "p", count: 150))"}"#
                )
            }
            _ = try ledger.append(batch, actor: "t")
        }
        #expect(try ledger.head().seq == 2_000)
        #expect(try ledger.verify().isValid)
        #expect(ledger.events.usage().mapSize > 64 * 1024)
    }

    @Test func theCeilingAnswersLedgerFullAndLosesNothing() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        options.initialMapSize = 64 * 1024
        options.mapCeiling = 512 * 1024
        let ledger = try Fixture.ledger(in: directory, options: options)
        var acknowledged: [AppendResult] = []
        var full: LedgerError?
        for round in 0..<200 {
            let batch = try (0..<20).map {
                try Fixture.grant(
                    "f\(round)-\($0)",
                    extra: #","data":{"pad":"\#(String(repeating: "q", count: 200))"}"#
                )
            }
            do {
                acknowledged += try ledger.append(batch, actor: "t")
            } catch let error as LedgerError {
                full = error
                break
            }
        }
        #expect(full?.code == .ledgerFull)
        #expect(!acknowledged.isEmpty)
        #expect(try ledger.head().seq == acknowledged.last?.seq)
        #expect(try ledger.verify().isValid)
        for result in acknowledged.suffix(5) { #expect(try ledger.event(seq: result.seq)?.hashHex == result.hash) }
    }

    /// A symbolic link at `data.mdb` or `lock.mdb`, to an existing file or to nothing, is refused
    /// with `io_error` before LMDB opens the environment (LMDB would follow it, and size and write
    /// the lock file): for a new environment, and for a ledger's own when it is opened. The link's
    /// target keeps its bytes and mode, a dangling link's target is not created, and a FIFO there
    /// is refused, not waited on.
    @Test func aLinkAtAnLMDBFileIsRefusedBeforeLMDBOpensIt() throws {
        let directory = TemporaryDirectory()
        let targets = try LinkTargets(in: directory.path)
        let fresh = directory.path + "/env"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        for name in ["data.mdb", "lock.mdb"] {
            for destination in targets.destinations {
                try targets.plant(at: fresh + "/" + name, to: destination)
                let refused = try #require(throws: LedgerError.self) {
                    try Fixture.environment(in: directory, tables: ["t"])
                }
                #expect(refused.code == .ioError && refused.message.contains("symbolic link"), "\(refused.message)")
            }
            unlink(fresh + "/" + name)
            #expect(mkfifo(fresh + "/" + name, 0o600) == 0)
            let fifo = try #require(throws: LedgerError.self) { try Fixture.environment(in: directory, tables: ["t"]) }
            #expect(fifo.code == .ioError && fifo.message.contains("not a regular file"))
            unlink(fresh + "/" + name)
        }
        // A dangling link where a new ledger's log goes: the ledger is not made through it.
        try FileManager.default.createDirectory(atPath: directory.ledger + "/events", withIntermediateDirectories: true)
        try targets.plant(at: directory.ledger + "/events/data.mdb", to: targets.missing)
        #expect(errorCode { _ = try Fixture.ledger(in: directory) } == .ioError)
        try FileManager.default.removeItem(atPath: directory.ledger)
        _ = try Fixture.ledger(in: directory)
        for environment in ["events", "keys"] {
            for name in ["data.mdb", "lock.mdb"] {
                let path = directory.ledger + "/" + environment + "/" + name
                try FileManager.default.moveItem(atPath: path, toPath: directory.path + "/saved")
                for destination in targets.destinations {
                    try targets.plant(at: path, to: destination)
                    let code = errorCode { _ = try Ledger(openingAt: directory.ledger, options: Fixture.options()) }
                    // A dangling data.mdb reads as no file: the ledger (or key store) is missing.
                    let dangling = name == "data.mdb" && destination == targets.missing
                    #expect(dangling ? code != nil : code == .ioError, "\(environment)/\(name) → \(destination)")
                }
                unlink(path)
                try FileManager.default.moveItem(atPath: directory.path + "/saved", toPath: path)
            }
        }
        #expect(try targets.untouched())
        #expect(try Ledger(openingAt: directory.ledger, options: Fixture.options()).verify().isValid)
    }

    @Test func aWriteRollsBackWhenItsBodyThrows() throws {
        let directory = TemporaryDirectory()
        let environment = try Fixture.environment(in: directory, tables: ["t"], mapSize: 1 << 20)
        let table = environment.table("t")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try environment.write { txn in
                try txn.put([1], forKey: [1], in: table)
                throw Boom()
            }
        }
        #expect(try environment.read { try $0.get([1], in: table) } == nil)
        try environment.write { txn in try txn.put([2], forKey: [1], in: table) }
        #expect(try environment.read { try $0.get([1], in: table) } == [2])
    }

    @Test func cursorsWalkForwardAndBackFromAKey() throws {
        let directory = TemporaryDirectory()
        let environment = try Fixture.environment(in: directory, tables: ["t"], mapSize: 1 << 20)
        let table = environment.table("t")
        try environment.write { txn in for key: UInt8 in [1, 3, 5, 7] { try txn.put([key], forKey: [key], in: table) } }
        func walk(from start: [UInt8], reverse: Bool) throws -> [UInt8] {
            try environment.read { txn in
                var seen: [UInt8] = []
                let body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool = { key, _ in
                    seen.append(key[0])
                    return true
                }
                if reverse {
                    try txn.forEachReversed(in: table, from: start, body)
                } else {
                    try txn.forEach(in: table, from: start, body)
                }
                return seen
            }
        }
        #expect(try walk(from: [4], reverse: false) == [5, 7])
        #expect(try walk(from: [4], reverse: true) == [3, 1])
        #expect(try walk(from: [5], reverse: true) == [5, 3, 1])
        #expect(try walk(from: [9], reverse: true) == [7, 5, 3, 1])
    }

    @Test func aRunOfKeysIsRemovedWithOneCursorAcrossPages() throws {
        let directory = TemporaryDirectory()
        let environment = try Fixture.environment(in: directory, tables: ["t"], mapSize: 1 << 22)
        let table = environment.table("t")
        // 3 prefixes × 2,000 keys of 64-byte values: each prefix's run spans dozens of pages.
        try environment.write { txn in
            for prefix: UInt8 in [1, 2, 3] {
                for n in UInt16(0)..<2_000 {
                    try txn.put(
                        [UInt8](repeating: prefix, count: 64),
                        forKey: [prefix, UInt8(n >> 8), UInt8(n & 0xFF)],
                        in: table
                    )
                }
            }
        }
        var seen = 0
        let removed = try environment.write { txn in
            try txn.removeRun(in: table, from: [2]) { key, value in
                guard key[0] == 2 else { return false }
                if value.count == 64, value[0] == 2 { seen += 1 }
                return true
            }
        }
        #expect(removed == 2_000 && seen == 2_000)
        let left = try environment.read { txn in
            var prefixes: [UInt8: Int] = [:]
            try txn.forEach(in: table) { key, _ in
                prefixes[key[0], default: 0] += 1
                return true
            }
            return prefixes
        }
        #expect(left == [1: 2_000, 3: 2_000])
        // A run to the end of the table, and one that finds nothing.
        #expect(try environment.write { txn in try txn.removeRun(in: table, from: [3]) { _, _ in true } } == 2_000)
        #expect(try environment.write { txn in try txn.removeRun(in: table, from: [9]) { _, _ in true } } == 0)
        #expect(try environment.read { try $0.count(of: table) } == 2_000)
    }

    @Test func verifyNamesTheFirstChangedRecord() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(try (0..<50).map { try Fixture.grant("v\($0)") }, actor: "t")
        #expect(try ledger.verify().isValid)
        // Alter seq 17's stored actor through LMDB, as a tampering operator could.
        try ledger.events.write { txn in
            let key = EventsSchema.seqKey(17)
            let log = ledger.events.table(EventsSchema.log)
            var record = try #require(try txn.get(key, in: log))
            record[record.count - 70] ^= 0x01
            try txn.put(record, forKey: key, in: log)
        }
        let report = try ledger.verify()
        #expect(report.failure?.seq == 17)
        #expect(report.events == 16)
    }
}
