import Foundation
import Projections
import Testing

@testable import Ledger

/// `rebuild` finds damage in everything readers rely on (snapshot chunks, manifests, request
/// records) and names it; `rebuild --repair` writes them again from the log. Damage is written
/// straight into the LMDB tables, then the real `ledgerctl` binary is run on the ledger.
@Suite(.serialized)
struct RebuildRepairTests {
    private static let requestId = "e0000000-0000-4000-8000-000000000001"

    /// A ledger with snapshots at 20, 40 and 60 and two requests, one closed.
    private func populated(_ directory: TemporaryDirectory) throws -> Ledger {
        var options = Fixture.options()
        options.observers = [SnapshotObserver()]
        let ledger = try Ledger.create(at: directory.ledger, catalogue: nil, snapshotInterval: 20, options: options)
            .ledger
        _ = try ledger.append(try (0..<30).map { try Fixture.grant("r\($0 % 9)") }, actor: "t")
        _ = try ledger.append(
            [
                try Fixture.event(#"{"type":"access.requested","subject":"r1","eventId":"\#(Self.requestId)"}"#),
                try Fixture.event(#"{"type":"correction.requested","subject":"r2"}"#),
                try Fixture.event(#"{"type":"access.completed","subject":"r1","requestId":"\#(Self.requestId)"}"#),
            ],
            actor: "t"
        )
        _ = try ledger.append(try (0..<30).map { try Fixture.grant("r\($0 % 5)", "surveys") }, actor: "t")
        #expect(try ledger.snapshotSeqs() == [20, 40, 60])
        return ledger
    }

    private func put(_ value: [UInt8], forKey key: [UInt8], table: String, in ledger: Ledger) throws {
        try ledger.events.write { txn in try txn.put(value, forKey: key, in: ledger.events.table(table)) }
    }

    /// Runs the real `ledgerctl` (beside the test bundle) on the ledger.
    private func ledgerctl(_ arguments: [String], _ directory: TemporaryDirectory) throws -> (Int32, String, String) {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let binary =
            [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("ledgerctl").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ledgerctl"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments + ["--ledger", directory.ledger]
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "LEDGER_DIR")
        environment.removeValue(forKey: "LEDGER_MASTER_KEY_FILE")
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "\(arguments[0]) died by a signal")
        return (
            process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self)
        )
    }

    /// `rebuild` exits 1 naming `expected`; `rebuild --repair` exits 0; afterwards `rebuild`,
    /// `state`, `purposes` and an append work.
    private func expectRepairable(_ directory: TemporaryDirectory, naming expected: String) throws {
        let found = try ledgerctl(["rebuild"], directory)
        #expect(found.0 == 1, "rebuild: \(found.2)")
        #expect(found.1.contains(expected), "rebuild said: \(found.1)")
        let repaired = try ledgerctl(["rebuild", "--repair"], directory)
        #expect(repaired.0 == 0, "rebuild --repair: \(repaired.1) \(repaired.2)")
        for command in [["rebuild"], ["state"], ["purposes"], ["requests", "--status", "all"]] {
            let outcome = try ledgerctl(command, directory)
            #expect(outcome.0 == 0, "\(command[0]) after the repair: \(outcome.2)")
        }
        let append = try ledgerctl(
            [
                "append", "--type", "consent.granted", "--subject", "r1", "--purpose", "newsletter", "--notice",
                "policy-v1",
            ],
            directory
        )
        #expect(append.0 == 0, "append after the repair: \(append.2)")
        #expect(try ledgerctl(["rebuild"], directory).0 == 0)
    }

    @Test func aDamagedSnapshotChunkIsNamedAndRepaired() throws {
        let directory = TemporaryDirectory()
        let ledger = try populated(directory)
        let chunk = try #require(
            try ledger.events.read {
                try $0.get(SnapshotStore.key(40, 1), in: ledger.events.table(EventsSchema.snapshots))
            }
        )
        var damaged = chunk
        damaged[damaged.count / 2] ^= 0x01
        try put(damaged, forKey: SnapshotStore.key(40, 1), table: EventsSchema.snapshots, in: ledger)
        // Readers refuse it; the library's rebuild names it too.
        #expect(
            errorCode { _ = try ledger.projection(through: 45, rules: try ledger.projectionRules()) } == .ledgerCorrupt
        )
        #expect(
            try ledger.rebuildProjections().difference?.contains("the snapshot at seq 40 does not match its manifest")
                == true
        )
        try expectRepairable(directory, naming: "the snapshot at seq 40 does not match its manifest")
    }

    @Test func aDamagedSnapshotManifestIsNamedAndRepaired() throws {
        let directory = TemporaryDirectory()
        let ledger = try populated(directory)
        try put([1, 2, 3], forKey: SnapshotStore.key(20, 0), table: EventsSchema.snapshots, in: ledger)
        try expectRepairable(directory, naming: "the snapshot manifest at seq 20 is damaged")
    }

    @Test func aSnapshotBeyondTheHeadIsNamedAndRepaired() throws {
        let directory = TemporaryDirectory()
        let ledger = try populated(directory)
        let bytes = try #require(try ledger.storedSnapshot(at: 60))
        try ledger.events.write { txn in try SnapshotStore.put(bytes, at: 500, in: txn, events: ledger.events) }
        try expectRepairable(directory, naming: "a snapshot is stored at seq 500, beyond the head")
    }

    @Test func aDamagedRequestRecordIsNamedAndRepaired() throws {
        let directory = TemporaryDirectory()
        let ledger = try populated(directory)
        try put([9, 9, 9], forKey: UUIDText.bytes(Self.requestId), table: EventsSchema.requests, in: ledger)
        try expectRepairable(directory, naming: "request \(Self.requestId): the stored record cannot be decoded")
    }

    @Test func anAlteredRequestRecordIsNamedAndRepaired() throws {
        let directory = TemporaryDirectory()
        let ledger = try populated(directory)
        let key = UUIDText.bytes(Self.requestId)
        let raw = try #require(
            try ledger.events.read { try $0.get(key, in: ledger.events.table(EventsSchema.requests)) }
        )
        var record = try #require(RequestRecord(encoded: raw))
        record.status = .open  // reopened: an append could now close it a second time
        record.closedAt = nil
        try put(record.encoded, forKey: key, table: EventsSchema.requests, in: ledger)
        try expectRepairable(directory, naming: "request \(Self.requestId): the stored record differs")
    }

    // MARK: The derived indexes, through the real binary

    @Test func aWrongEventIdEntryIsNamedWithItsCodeAndRepaired() throws {
        let directory = TemporaryDirectory()
        let ledger = try populated(directory)
        let event = try #require(try ledger.event(seq: 12))
        try put(EventsSchema.seqKey(2), forKey: UUIDText.bytes(event.eventId), table: EventsSchema.eventIds, in: ledger)
        try expectRepairable(directory, naming: "MISMATCH (event_id_index_mismatch)")
    }

    @Test func aMisfiledSubjectIndexEntryIsNamedWithItsCodeAndRepaired() throws {
        let directory = TemporaryDirectory()
        let ledger = try populated(directory)
        let stranger = [UInt8](repeating: 0x42, count: 16)
        try put(
            stranger,
            forKey: [SubjectIndex.bucket(of: stranger)] + EventsSchema.seqKey(7),
            table: EventsSchema.recentSubjectEvents,
            in: ledger
        )
        try expectRepairable(directory, naming: "MISMATCH (subject_index_mismatch)")
    }

    @Test func aWrongMerkleNodeIsNamedWithItsCodeAndRepaired() throws {
        let directory = TemporaryDirectory()
        let ledger = try populated(directory)
        try put([UInt8](repeating: 3, count: 32), forKey: MerkleStore.key(3, 2), table: EventsSchema.merkle, in: ledger)
        try expectRepairable(directory, naming: "MISMATCH (merkle_node_mismatch)")
    }
}
