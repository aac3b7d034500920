import Foundation
import Testing

@testable import Ledger

/// A backup cut short at any step is recognisable as incomplete; a finished one opens and
/// carries a manifest of its files.
struct BackupCompletenessTests {
    private struct Stop: Error {}

    @Test func aBackupStoppedAtAnyStepIsRefusedAsIncomplete() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(try (0..<50).map { try Fixture.grant("b\($0 % 7)") }, actor: "t")
        for step in Ledger.BackupStep.allCases where step != .manifestWritten {
            let target = directory.path + "/backup-\(step.rawValue)"
            #expect(throws: Stop.self) {
                try ledger.backup(to: target, includingMasterKey: true) { if $0 == step { throw Stop() } }
            }
            #expect(FileManager.default.fileExists(atPath: target + "/" + Ledger.backupIncompleteMarkerName))
            #expect(!FileManager.default.fileExists(atPath: target + "/" + Ledger.backupManifestName))
            var message = ""
            let code = errorCode {
                do {
                    _ = try Ledger(openingAt: target, options: Fixture.options())
                } catch let error as LedgerError {
                    message = error.message
                    throw error
                }
            }
            #expect(code == .ledgerCorrupt, "stopped after \(step)")
            #expect(message.contains("this backup is incomplete"), "stopped after \(step)")
            #expect(
                errorCode { _ = try Ledger.create(at: target, catalogue: nil, options: Fixture.options()) }
                    == .ledgerCorrupt
            )
        }
    }

    /// An erasure that commits between the copy of the events and the copy of the key store
    /// (ChaosTests found it: the copy held a subject with neither key nor erasure, and its
    /// `verify` failed). The events are copied again, so the copy holds the erasure too.
    @Test func anErasureBetweenTheTwoCopiesLeavesABackupThatVerifies() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(try (0..<20).map { try Fixture.grant("e\($0 % 4)") }, actor: "t")
        let target = directory.path + "/backup"
        var erased: String?
        try ledger.backup(to: target, includingMasterKey: true) { step in
            if step == .eventsCopied { erased = try ledger.erase(subject: "e2", requestId: nil, actor: "t").pseudonym }
        }
        let copy = try Ledger(openingAt: target, options: Fixture.options())
        let report = try copy.verify()
        #expect(report.isValid, "\(String(describing: report.failure))")
        let erasures = try copy.history(pseudonym: try #require(erased), asOf: nil).filter {
            $0.event.type == .erasureCompleted
        }
        #expect(erasures.count == 1)
    }

    /// A backup taken while an erasure is midway (its event committed, its key not yet
    /// overwritten, as the server leaves it between the two): the backup overwrites the key first,
    /// so no file of the copy holds it, and the copy opens with the subject erased.
    @Test func aBackupDuringAnErasuresOverwriteHoldsNoKeyOfIt() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(try (0..<20).map { try Fixture.grant("m\($0 % 5)") }, actor: "t")
        let pseudonym = try #require(try ledger.pseudonym(of: "m2"))
        let record = try #require(try ledger.storedKeyRecord(pseudonym: pseudonym))
        let target = directory.path + "/backup"
        var recorded: RecordedErasure?
        try ledger.backup(to: target, includingMasterKey: true) { step in
            if step == .eventsCopied { recorded = try ledger.recordErasure(subject: "m2", requestId: nil, actor: "t") }
        }
        #expect(Fixture.filesContaining(bytes: Array(record[0..<60]), under: target).isEmpty)
        #expect(Fixture.filesContaining(bytes: Array(record[60..<92]), under: target).isEmpty)
        let copy = try Ledger(openingAt: target, options: Fixture.options())
        #expect(try copy.pseudonym(of: "m2") == nil)
        #expect(try copy.history(pseudonym: pseudonym).allSatisfy(\.erased))
        #expect(try copy.pseudonym(of: "m3") != nil)
        #expect(try copy.verify().isValid)
        let erasure = try #require(recorded)
        try ledger.shredKey(of: erasure)
        try ledger.finishErasure(erasure)
        #expect(Fixture.filesContaining(bytes: Array(record[0..<60]), under: directory.ledger).isEmpty)
    }

    /// Symbolic links planted in the backup directory while a backup runs (by another user who can
    /// write it), at the names of the files it writes (`signing.key`, `master.key`,
    /// `backup-manifest.json`) and at the temporary names beside them (`<name>.<pid>.tmp`, and the
    /// `<name>.partial` a backup wrote through before), to an existing file or to nothing: each
    /// file is written as a regular file in the link's place, the link's target keeps its bytes
    /// and mode, a dangling link's target is not created, and the backup opens and verifies.
    @Test func linksPlantedInTheBackupDirectoryAreReplacedNeverFollowed() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(try (0..<20).map { try Fixture.grant("l\($0 % 5)") }, actor: "t")
        let targets = try LinkTargets(in: directory.path)
        let names = ["signing.key", "master.key", Ledger.backupManifestName]
        for (index, (atName, atTemporary)) in [
            (targets.existing, targets.missing), (targets.missing, targets.existing),
        ]
        .enumerated() {
            let target = directory.path + "/backup-\(index)"
            try ledger.backup(to: target, includingMasterKey: true) { step in
                guard step == .marked else { return }
                for name in names {
                    try targets.plant(at: target + "/" + name, to: atName)
                    try targets.plant(at: target + "/" + name + ".\(getpid()).tmp", to: atTemporary)
                    try targets.plant(at: target + "/" + name + ".partial", to: atTemporary)
                }
            }
            for name in names {
                #expect(!isLink(target + "/" + name), "\(name)")
                #expect(!FileManager.default.fileExists(atPath: target + "/" + name + ".\(getpid()).tmp"))
                unlink(target + "/" + name + ".partial")
            }
            for name in ["signing.key", "master.key"] {
                #expect(
                    FileManager.default.contents(atPath: target + "/" + name)
                        == FileManager.default.contents(atPath: directory.ledger + "/" + name)
                )
            }
            #expect(try targets.untouched())
            let copy = try Ledger(openingAt: target, options: Fixture.options())
            #expect(try copy.verify().isValid)
            #expect(try copy.head() == ledger.head())
        }
    }

    @Test func aFinishedBackupHasItsManifestAndOpens() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(try (0..<50).map { try Fixture.grant("b\($0 % 7)") }, actor: "t")
        let target = directory.path + "/backup"
        try ledger.backup(to: target, includingMasterKey: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: target).sorted()
        #expect(names == ["backup-manifest.json", "events", "keys", "master.key", "signing.key"])
        let manifest = try #require(
            FileManager.default.contents(atPath: target + "/backup-manifest.json").flatMap {
                try JSONSerialization.jsonObject(with: $0) as? [String: Any]
            }
        )
        let files = try #require(manifest["files"] as? [[String: Any]])
        #expect(
            files.map { $0["path"] as? String } == [
                "events/data.mdb", "keys/data.mdb", "keys/slots", "keys/index", "signing.key", "master.key",
            ]
        )
        for file in files {
            let size =
                try FileManager.default.attributesOfItem(atPath: target + "/" + (file["path"] as? String ?? ""))[
                    .size
                ] as? Int
            #expect(file["bytes"] as? Int == size)
            #expect((file["sha256"] as? String)?.count == 64)
        }
        let restored = try Ledger(openingAt: target, options: Fixture.options())
        #expect(try restored.head() == ledger.head())
        #expect(try restored.verify().isValid)
    }
}
