import Crypto
import Foundation

extension Ledger {
    /// The file a backup writes last, once everything else in it is complete and on disk.
    public static let backupManifestName = "backup-manifest.json"
    /// The file a backup writes first and removes after its manifest: while it is there without a
    /// manifest, the backup did not finish.
    public static let backupIncompleteMarkerName = "BACKUP-INCOMPLETE"

    /// The steps of ``backup(to:includingMasterKey:afterStep:)``, in order, for tests that stop a
    /// backup part-way as a kill would.
    package enum BackupStep: String, Sendable, CaseIterable {
        case marked, eventsCopied, keysCopied, keyFilesCopied, manifestWritten
    }

    /// Writes a consistent copy of the ledger into `target`, a new or empty directory, while it
    /// stays in use (other processes and a server may keep appending).
    ///
    /// Both environments are copied each from one read transaction: first the events, with LMDB's
    /// compacting copy, then the key store: its LMDB file rebuilt from its live entries, with its
    /// slots and index (docs/ERASURE.md). The key store commits before the events that use its
    /// keys, so every event in the copy finds its subject's key. The key store is copied holding
    /// its writer lock, which an erasure holds while its event commits (it overwrites the key only
    /// after): if an erasure committed after the events were copied, the events are copied again
    /// under that lock, so an erased subject's key is never missing from a copy whose log lacks the
    /// erasure. An erasure the log records whose key is not overwritten yet (the server overwrites
    /// it beside the writer) is overwritten before the slots are copied, so no copy holds its key.
    /// The signing key is copied; the master key is copied only when
    /// `includingMasterKey` is set — it belongs elsewhere.
    ///
    /// A backup cut short (killed, out of disk) is recognisable: it first writes
    /// ``backupIncompleteMarkerName``, writes each copy under a temporary name (`events.partial`,
    /// …) and renames it into place once complete and fsynced, and writes
    /// ``backupManifestName`` (the size and SHA-256 of every file) last. Opening a directory with
    /// the marker and no manifest fails with `ledger_corrupt` "this backup is incomplete". The
    /// marker, the key files and the manifest are each replaced whole (``AtomicFile``): a symbolic
    /// link planted at one of their names, or at a temporary name beside it, is replaced, never
    /// followed, and the file it points to is neither written nor created.
    /// - Throws: `invalid_field` when `target` exists and is not empty; `io_error` on I/O failure.
    public func backup(to target: String, includingMasterKey: Bool = false) throws {
        try backup(to: target, includingMasterKey: includingMasterKey) { _ in }
    }

    /// ``backup(to:includingMasterKey:)``, calling `afterStep` after each step; a step that throws
    /// leaves the backup as a kill at that point would.
    package func backup(
        to target: String,
        includingMasterKey: Bool,
        afterStep: (BackupStep) throws -> Void
    ) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: target, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? manager.contentsOfDirectory(atPath: target))?.isEmpty == true else {
                throw LedgerError(.invalidField, "the backup directory \(target) must be new or empty")
            }
        }
        do {
            try manager.createDirectory(
                atPath: target,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw LedgerError(.ioError, "cannot create the backup directory \(target)")
        }
        let marker = target + "/" + Ledger.backupIncompleteMarkerName
        try Backup.store(
            Array(
                "A ledgerctl backup is being written here. It is complete once \(Ledger.backupManifestName) exists.\n"
                    .utf8
            ),
            to: marker
        )
        try afterStep(.marked)

        try storage {
            let copiedAfter = try head().seq
            try Backup.place("events", in: target) { try events.copyCompacted(to: $0) }
            try afterStep(.eventsCopied)
            Failpoint.hit("backup.afterEvents")
            try keyStore.withEnvironment { keys in
                // An erasure's event commits under the key store's writer lock, and its key is
                // overwritten only after: with that lock held, every erasure whose key may be gone
                // is in the log. One that committed since the events were copied may have lost its
                // key but not be in the events copy (a subject with neither key nor erasure), so
                // the events are copied again.
                try keys.write { txn in
                    if try erasureCommitted(after: copiedAfter) {
                        try FileManager.default.removeItem(atPath: target + "/events")
                        try Backup.place("events", in: target) { try events.copyCompacted(to: $0) }
                    }
                    // An erasure recorded but not yet overwritten (the server's shredder runs beside
                    // this): its overwrite is done here first, so no copy holds the key of an
                    // erasure its log records.
                    let pending = try events.read { try pendingErasures(in: $0) }
                    try keyStore.overwriteSlots(of: pending, in: txn, environment: keys)
                    try Backup.place("keys", in: target) {
                        try keyStore.writeBackupCopy(of: keys, in: txn, to: $0)
                    }
                }
            }
            try afterStep(.keysCopied)
        }
        var keyFiles = [Ledger.signingKeyPath(for: directory)]
        if includingMasterKey, options.masterKey == nil { keyFiles.append(Ledger.defaultMasterKeyPath(for: directory)) }
        var copied: [String] = []
        for file in keyFiles where manager.fileExists(atPath: file) {
            let name = (file as NSString).lastPathComponent
            guard let bytes = manager.contents(atPath: file) else {
                throw LedgerError(.ioError, "cannot read \(name) to copy it into the backup")
            }
            try Backup.store(Array(bytes), to: target + "/" + name)
            copied.append(name)
        }
        try afterStep(.keyFilesCopied)

        let manifest = try Backup.manifest(
            of: ["events/data.mdb", "keys/data.mdb", "keys/slots", "keys/index"] + copied,
            in: target,
            ledgerId: ledgerId,
            writtenAt: options.clock.now()
        )
        try Backup.store(Array(manifest.utf8), to: target + "/" + Ledger.backupManifestName)
        try afterStep(.manifestWritten)
        guard unlink(marker) == 0 else { throw LedgerError(.ioError, "cannot remove the backup's in-progress marker") }
        Backup.syncDirectory(target)
        logger.info("backup written", metadata: ["events": "\((try? head().seq) ?? 0)"])
    }

    /// Whether an `erasure.completed` event follows seq `after` in the log.
    private func erasureCommitted(after: UInt64) throws -> Bool {
        var found = false
        try forEachEvent(after: after) { event in
            found = event.type == .erasureCompleted
            return !found
        }
        return found
    }

    /// Refuses a directory that an unfinished backup left (its marker without a manifest).
    static func refuseIncompleteBackup(at directory: String) throws {
        let manager = FileManager.default
        guard manager.fileExists(atPath: directory + "/" + backupIncompleteMarkerName),
            !manager.fileExists(atPath: directory + "/" + backupManifestName)
        else { return }
        throw LedgerError(
            .ledgerCorrupt,
            "this backup is incomplete: the backup that wrote \(directory) did not finish (no \(backupManifestName)); take a new backup"
        )
    }
}

/// The file operations of a backup: temporary names, fsync, rename, the manifest.
private enum Backup {
    /// Runs `copy` into `<target>/<name>.partial`, fsyncs its `data.mdb`, and renames it to
    /// `<target>/<name>`.
    static func place(_ name: String, in target: String, copy: (String) throws -> Void) throws {
        let partial = target + "/" + name + ".partial"
        do {
            try FileManager.default.createDirectory(
                atPath: partial,
                withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw LedgerError(.ioError, "cannot create \(name).partial in the backup directory")
        }
        try copy(partial)
        chmod(partial + "/data.mdb", 0o600)
        try sync(partial + "/data.mdb")
        syncDirectory(partial)
        guard rename(partial, target + "/" + name) == 0 else {
            throw LedgerError(.ioError, "cannot move \(name).partial into place in the backup")
        }
        syncDirectory(target)
    }

    /// Writes `bytes` to `path` (mode 0600) through a temporary name, fsynced, then renamed
    /// (``AtomicFile``): a symbolic link at either name is replaced, never followed, so a link
    /// planted in a backup directory that another user can write cannot make the backup overwrite
    /// or create the file it points to.
    static func store(_ bytes: [UInt8], to path: String) throws {
        try AtomicFile.replace(
            path,
            with: bytes,
            mode: 0o600,
            name: "the backup's \((path as NSString).lastPathComponent)"
        )
    }

    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LedgerError(.ioError, "cannot open \((path as NSString).lastPathComponent)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw LedgerError(.ioError, "cannot fsync the backup") }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// `{"format":1,"ledgerId","writtenAt","files":[{"path","bytes","sha256"}]}`.
    static func manifest(
        of files: [String],
        in target: String,
        ledgerId: String,
        writtenAt: Timestamp
    ) throws
        -> String
    {
        var entries: [JSONValue] = []
        for file in files {
            let (size, digest) = try hash(target + "/" + file)
            entries.append(
                .object([("path", .string(file)), ("bytes", .int(Int64(size))), ("sha256", .string(digest))])
            )
        }
        return JSONValue.object([
            ("format", .int(1)), ("ledgerId", .string(ledgerId)), ("writtenAt", .string(writtenAt.rfc3339)),
            ("files", .array(entries)),
        ]).serialized + "\n"
    }

    private static func hash(_ path: String) throws -> (Int, String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LedgerError(.ioError, "cannot read \((path as NSString).lastPathComponent)") }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw LedgerError(.ioError, "cannot read the backup to hash it") }
            if count == 0 { break }
            hasher.update(data: buffer[0..<count])
            total += count
        }
        return (total, Hex.encode(Array(hasher.finalize())))
    }
}
