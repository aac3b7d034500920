import Foundation
import Testing

@testable import Ledger

/// The integrity status file (`<ledger>/integrity-status.json`): what `verify` and `rebuild`
/// record of their runs, the newest of each kept, written whole and read back exactly.
struct IntegrityRunTests {
    static func run(_ check: IntegrityRun.Check, _ minute: Int, ok: Bool = true) -> IntegrityRun {
        IntegrityRun(
            check: check,
            ok: ok,
            code: ok ? nil : "hash_mismatch",
            failedSeq: ok ? nil : 12,
            headSeq: UInt64(minute),
            repaired: check == .rebuild,
            startedAt: Timestamp(milliseconds: 1_750_000_000_000 + Int64(minute) * 60_000),
            milliseconds: 1_234
        )
    }

    @Test func aRunReadsBackAsWrittenAndAMalformedOneIsRefused() throws {
        for run in [Self.run(.verify, 1), Self.run(.verify, 2, ok: false), Self.run(.rebuild, 3)] {
            #expect(IntegrityRun(json: run.json) == run)
        }
        #expect(
            Self.run(.verify, 2, ok: false).json.serialized
                == #"{"check":"verify","ok":false,"code":"hash_mismatch","failedSeq":12,"headSeq":2,"repaired":false,"startedAt":"2025-06-15T15:08:40.000Z","milliseconds":1234}"#
        )
        for text in [
            #"{"check":"fsck","ok":true,"headSeq":1,"repaired":false,"startedAt":"2025-06-15T15:08:20.000Z","milliseconds":1}"#,
            #"{"check":"verify","ok":"yes","headSeq":1,"repaired":false,"startedAt":"2025-06-15T15:08:20.000Z","milliseconds":1}"#,
            #"{"check":"verify","ok":true,"headSeq":-1,"repaired":false,"startedAt":"2025-06-15T15:08:20.000Z","milliseconds":1}"#,
            #"{"check":"verify","ok":true,"headSeq":1,"repaired":false,"startedAt":"yesterday","milliseconds":1}"#,
            #"{"check":"verify","ok":false,"code":7,"headSeq":1,"repaired":false,"startedAt":"2025-06-15T15:08:20.000Z","milliseconds":1}"#,
            #"{"check":"verify","ok":true,"headSeq":1,"startedAt":"2025-06-15T15:08:20.000Z","milliseconds":1}"#,
        ] {
            #expect(IntegrityRun(json: try #require(JSONValue.parse(Array(text.utf8)))) == nil, "\(text)")
        }
    }

    @Test func theFileKeepsTheNewestRunsOfEachCheckWithMode0600() throws {
        let directory = TemporaryDirectory()
        #expect(try Ledger.integrityRuns(inLedgerAt: directory.path).isEmpty, "no file: no run yet")
        for minute in 0..<20 { try Ledger.recordIntegrityRun(Self.run(.verify, minute), inLedgerAt: directory.path) }
        try Ledger.recordIntegrityRun(Self.run(.rebuild, 7), inLedgerAt: directory.path)
        let runs = try Ledger.integrityRuns(inLedgerAt: directory.path)
        #expect(runs.filter { $0.check == .verify }.map(\.headSeq) == Array(4..<20).map(UInt64.init))
        #expect(runs.filter { $0.check == .rebuild } == [Self.run(.rebuild, 7)])
        #expect(runs.map(\.startedAt) == runs.map(\.startedAt).sorted(), "oldest first")
        let path = Ledger.integrityStatusPath(for: directory.path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasSuffix(".tmp")
        }
        #expect(leftovers.isEmpty)
    }

    @Test func aDamagedFileIsRefusedWhenReadAndStartedAnewWhenWritten() throws {
        let directory = TemporaryDirectory()
        let path = Ledger.integrityStatusPath(for: directory.path)
        for text in ["{not json", #"{"format":2,"runs":[]}"#, #"{"format":1,"runs":[{"check":"verify"}]}"#] {
            #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
            #expect(throws: LedgerError.self) { try Ledger.integrityRuns(inLedgerAt: directory.path) }
            do {
                _ = try Ledger.integrityRuns(inLedgerAt: directory.path)
            } catch let error as LedgerError {
                #expect(error.code == .ledgerCorrupt)
            }
            try Ledger.recordIntegrityRun(Self.run(.rebuild, 1), inLedgerAt: directory.path)
            #expect(try Ledger.integrityRuns(inLedgerAt: directory.path) == [Self.run(.rebuild, 1)])
        }
    }

    @Test func aFileThatCannotBeReplacedIsAnIOError() throws {
        let directory = TemporaryDirectory()
        // A directory where the file should be: the rename over it fails.
        try FileManager.default.createDirectory(
            atPath: Ledger.integrityStatusPath(for: directory.path) + "/x",
            withIntermediateDirectories: true
        )
        do {
            try Ledger.recordIntegrityRun(Self.run(.verify, 1), inLedgerAt: directory.path)
            Issue.record("recorded over a directory")
        } catch let error as LedgerError {
            #expect(error.code == .ioError && error.message.contains("the integrity status file"))
        }
    }

    /// What a hostile ledger directory can put where the file is: a link is not followed, a FIFO
    /// is not waited on, a huge file is not read; each is an I/O error, never a hang.
    @Test func aLinkAFifoOrAHugeFileIsRefusedUnread() throws {
        let directory = TemporaryDirectory()
        let path = Ledger.integrityStatusPath(for: directory.path)
        let target = directory.path + "/elsewhere.json"
        try Ledger.recordIntegrityRun(Self.run(.verify, 1), inLedgerAt: directory.path)
        try FileManager.default.moveItem(atPath: path, toPath: target)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        #expect(throws: LedgerError.self) { try Ledger.integrityRuns(inLedgerAt: directory.path) }
        try FileManager.default.removeItem(atPath: path)
        #expect(mkfifo(path, 0o600) == 0)
        #expect(throws: LedgerError.self) { try Ledger.integrityRuns(inLedgerAt: directory.path) }
        try FileManager.default.removeItem(atPath: path)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x20, count: (1 << 20) + 1)))
        do {
            _ = try Ledger.integrityRuns(inLedgerAt: directory.path)
            Issue.record("a file over the limit was read")
        } catch let error as LedgerError {
            #expect(error.code == .ioError)
        }
        // Recording replaces whatever was there with a good file.
        try Ledger.recordIntegrityRun(Self.run(.rebuild, 2), inLedgerAt: directory.path)
        #expect(try Ledger.integrityRuns(inLedgerAt: directory.path) == [Self.run(.rebuild, 2)])
    }

    /// A symbolic link planted at `integrity-status.json.lock` is refused, never followed: the
    /// file it points to keeps its bytes and mode, a dangling link's target is not created, and no
    /// run is recorded. The key store's lock files (`FileLock`'s shared form) refuse one the same
    /// way.
    @Test func aLinkAtTheLockIsRefusedAndItsTargetLeftUntouched() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let lock = Ledger.integrityStatusPath(for: directory.path) + ".lock"
        let target = directory.path + "/victim"
        #expect(FileManager.default.createFile(atPath: target, contents: Data("keep me".utf8)))
        #expect(chmod(target, 0o644) == 0)
        let missing = directory.path + "/not-there"
        for destination in [target, missing] {
            try FileManager.default.createSymbolicLink(atPath: lock, withDestinationPath: destination)
            do {
                try Ledger.recordIntegrityRun(Self.run(.verify, 1), inLedgerAt: directory.path)
                Issue.record("recorded through a linked lock file")
            } catch let error as LedgerError {
                #expect(error.code == .ioError && error.message.contains("symbolic link"))
            }
            #expect(throws: LedgerError.self) { _ = try FileLock(path: lock) }
            try FileManager.default.removeItem(atPath: lock)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data("keep me".utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(!FileManager.default.fileExists(atPath: missing))
        #expect(!FileManager.default.fileExists(atPath: Ledger.integrityStatusPath(for: directory.path)))
        // With the link gone, the run is recorded.
        try Ledger.recordIntegrityRun(Self.run(.verify, 1), inLedgerAt: directory.path)
        #expect(try Ledger.integrityRuns(inLedgerAt: directory.path) == [Self.run(.verify, 1)])
    }
}
