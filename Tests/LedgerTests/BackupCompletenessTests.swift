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
            files.map { $0["path"] as? String } == ["events/data.mdb", "keys/data.mdb", "signing.key", "master.key"]
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
