import Foundation

extension Ledger {
    /// Writes a consistent copy of the ledger into `target`, a new or empty directory, while it
    /// stays in use (other processes and a server may keep appending).
    ///
    /// Both environments are copied with LMDB's compacting copy, each from one read transaction:
    /// first the events, then the key store. The key store commits before the events that use its
    /// keys, so every event in the copy finds its subject's key. The signing key is copied; the
    /// master key is copied only when `includingMasterKey` is set — it belongs elsewhere.
    /// - Throws: `invalid_field` when `target` exists and is not empty; `io_error` on I/O failure.
    public func backup(to target: String, includingMasterKey: Bool = false) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: target, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? manager.contentsOfDirectory(atPath: target))?.isEmpty == true else {
                throw LedgerError(.invalidField, "the backup directory \(target) must be new or empty")
            }
        }
        do {
            for directory in [target, target + "/events", target + "/keys"] {
                try manager.createDirectory(
                    atPath: directory,
                    withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700]
                )
            }
        } catch {
            throw LedgerError(.ioError, "cannot create the backup directory \(target)")
        }
        try storage {
            try events.copyCompacted(to: target + "/events")
            Failpoint.hit("backup.afterEvents")
            try keyStore.withEnvironment { try $0.copyCompacted(to: target + "/keys") }
        }
        var files = [Ledger.signingKeyPath(for: directory)]
        if includingMasterKey, options.masterKey == nil { files.append(Ledger.defaultMasterKeyPath(for: directory)) }
        for file in files where manager.fileExists(atPath: file) {
            let destination = target + "/" + (file as NSString).lastPathComponent
            guard (try? manager.copyItem(atPath: file, toPath: destination)) != nil else {
                throw LedgerError(.ioError, "cannot copy \(file) into the backup")
            }
        }
        for file in [target + "/events/data.mdb", target + "/keys/data.mdb"]
            + files.map({ target + "/" + ($0 as NSString).lastPathComponent })
        {
            chmod(file, 0o600)
            let fd = open(file, O_RDONLY)
            if fd >= 0 {
                fsync(fd)
                close(fd)
            }
        }
        logger.info("backup written", metadata: ["events": "\((try? head().seq) ?? 0)"])
    }
}
