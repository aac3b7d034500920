import Foundation

/// What ``Ledger/exportTiles(to:treeSize:progress:)`` did.
public struct TileExportSummary: Sendable, Equatable {
    /// The directory written.
    public var directory: String
    /// The size of the tree the tiles publish.
    public var treeSize: UInt64
    /// Its RFC 9162 root, as the checkpoint written names it.
    public var rootHash: [UInt8]
    /// Tiles written: new full tiles and the tree's partial tiles.
    public var written: Int
    /// Full tiles an earlier export left, found byte for byte the same and left as they were.
    public var kept: Int

    /// `{"directory","treeSize","rootHash","written","kept"}`.
    public var json: JSONValue {
        .object([
            ("directory", .string(directory)), ("treeSize", .int(Int64(treeSize))),
            ("rootHash", .string(Hex.encode(rootHash))), ("written", .int(Int64(written))),
            ("kept", .int(Int64(kept))),
        ])
    }
}

extension Ledger {
    /// Writes the tree of the first `treeSize` events (the head's when `nil`) into `directory`
    /// as a C2SP tlog-tiles log (``LogTile``): its hash tiles, entry bundles and the bundles of
    /// export records beside them, then
    /// `checkpoint`, the signed note of that tree (``checkpointNote(treeSize:)``). Each file is
    /// written under a temporary name, fsynced and renamed, so a reader never sees half a file;
    /// the checkpoint is written last, once every tile it needs is on disk.
    ///
    /// A directory an earlier export of this log wrote is brought up to the new tree: full tiles
    /// already there are checked and left as they are, the new tree's partial tiles are
    /// (re)written, and the partial tiles of earlier trees stay (clients holding an earlier
    /// checkpoint still need them). The temporary files of an export killed before its renames
    /// are removed (``TileDirectory/removeStaleTemporaries()``). Tiles are computed one at a time,
    /// so memory stays bounded at any size.
    /// - Parameter progress: Called with the number of tiles checked or written so far, out of
    ///   ``LogTile/count(ofTreeOf:)``.
    /// - Throws: ``LedgerError`` `invalid_field`, changing nothing, when `treeSize` is beyond the
    ///   head, or `directory` is not a directory, or is inside the ledger's, or holds the
    ///   checkpoint of another log, of a larger tree or of another history of this log, or a full
    ///   tile whose bytes differ from this log's; `ledger_locked` when another export is writing
    ///   it; `io_error` when a file cannot be written.
    @discardableResult
    public func exportTiles(
        to directory: String,
        treeSize: UInt64? = nil,
        progress: (Int) -> Void = { _ in }
    ) throws -> TileExportSummary {
        let checkpoint = try checkpoint(treeSize: treeSize)
        let note = try checkpointNote(treeSize: checkpoint.treeSize)
        guard !isInside(directory) else {
            throw LedgerError(.invalidField, "\(directory) is inside the ledger directory; give one outside it")
        }
        let target = try TileDirectory(creatingAt: directory)
        if let earlier = try target.earlierCheckpoint() {
            try check(earlier, of: target, against: checkpoint)
        }
        var done = 0
        // First every full tile already there, so that a refusal changes nothing.
        for tile in LogTile.tiles(ofTreeOf: checkpoint.treeSize) where tile.isFull {
            guard let existing = try target.contents(of: tile.path) else { continue }
            guard existing == (try tileData(tile)) else {
                throw LedgerError(
                    .invalidField,
                    "\(directory)/\(tile.path) differs from this log's tile: the directory holds another log's tiles"
                )
            }
            done += 1
            progress(done)
        }
        let kept = done
        target.removeStaleTemporaries()
        for tile in LogTile.tiles(ofTreeOf: checkpoint.treeSize) {
            if tile.isFull, target.holds(tile.path) { continue }
            try target.write(try tileData(tile), as: tile.path)
            done += 1
            progress(done)
        }
        try target.syncDirectories()
        try target.write(Array(note.serialized.utf8), as: TileDirectory.checkpointName)
        try target.syncDirectories()
        return TileExportSummary(
            directory: directory,
            treeSize: checkpoint.treeSize,
            rootHash: checkpoint.rootHash,
            written: done - kept,
            kept: kept
        )
    }

    /// Whether `path` is the ledger's directory or below it, symbolic links resolved.
    private func isInside(_ path: String) -> Bool {
        func resolved(_ path: String) -> String {
            URL(fileURLWithPath: path).resolvingSymlinksInPath().standardized.path + "/"
        }
        return resolved(path).hasPrefix(resolved(directory))
    }

    /// Refuses a directory whose checkpoint is not of an earlier tree of this log.
    private func check(
        _ earlier: TileDirectory.EarlierCheckpoint,
        of target: TileDirectory,
        against checkpoint: Checkpoint
    ) throws {
        guard earlier.origin == checkpoint.origin else {
            throw LedgerError(
                .invalidField,
                "\(target.path) holds the tiles of another log (its checkpoint's origin is not \(checkpoint.origin))"
            )
        }
        guard earlier.treeSize <= checkpoint.treeSize else {
            throw LedgerError(
                .invalidField,
                "\(target.path) already holds the tree of \(earlier.treeSize) events; export at least that many"
            )
        }
        guard earlier.rootHash == (try merkleRoot(size: earlier.treeSize)) else {
            throw LedgerError(
                .invalidField,
                "\(target.path) holds a tree of \(earlier.treeSize) events whose root is not this log's: another history"
            )
        }
    }
}

/// The directory `ledgerctl export --tiles` writes, held with an exclusive lock while it is
/// written: its files are replaced through temporary names, fsynced, and the directories they
/// were renamed in are fsynced before the checkpoint names them.
final class TileDirectory {
    /// The name of the signed checkpoint note, beside `tile/`.
    static let checkpointName = "checkpoint"

    /// What an earlier export's checkpoint says.
    struct EarlierCheckpoint {
        var origin: String
        var treeSize: UInt64
        var rootHash: [UInt8]
    }

    /// The directory.
    let path: String
    // Invariant: open from init to deinit, with an exclusive `flock` on the directory.
    private let descriptor: Int32
    /// The directories a file was renamed into since the last ``syncDirectories()``, and their
    /// parents up to `path`.
    private var unsynced: Set<String> = []
    /// The folders below `path` that ``makeFolder(_:)`` made or found to be directories.
    private var madeFolders: Set<String> = []

    /// Opens `path`, creating it when missing, and locks it against other exports.
    /// - Throws: ``LedgerError`` `invalid_field` when it is not a directory, `ledger_locked`
    ///   when another export holds it, `io_error` when it cannot be created.
    init(creatingAt path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw LedgerError(.invalidField, "\(path) is not a directory") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw LedgerError(.ioError, "cannot create the directory \(path)")
            }
        }
        var trimmed = path
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed
        descriptor = open(trimmed, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LedgerError(.ioError, "cannot open the directory \(path)") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw LedgerError(.ledgerLocked, "another export is writing \(path)")
        }
    }

    deinit { close(descriptor) }

    /// The checkpoint an earlier export wrote, if any.
    /// - Throws: ``LedgerError`` `invalid_field` when `checkpoint` is not a checkpoint note.
    func earlierCheckpoint() throws -> EarlierCheckpoint? {
        guard let bytes = try contents(of: Self.checkpointName, atMost: SignedNote.largestNote) else { return nil }
        let refusal = LedgerError(.invalidField, "\(path)/\(Self.checkpointName) is not a C2SP checkpoint note")
        guard let text = String(validating: bytes, as: UTF8.self), let note = try? SignedNote(parsing: text) else {
            throw refusal
        }
        let lines = note.text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, let size = UInt64(lines[1]), String(size) == lines[1],
            let root = Data(base64Encoded: String(lines[2])), root.count == LogTile.hashSize
        else { throw refusal }
        return EarlierCheckpoint(origin: String(lines[0]), treeSize: size, rootHash: Array(root))
    }

    /// The bytes of the file at `relative`, or `nil` when there is none.
    /// - Throws: ``LedgerError`` `invalid_field` when it is not a regular file or is longer than
    ///   `limit`, `io_error` when it cannot be read.
    func contents(of relative: String, atMost limit: Int = 1 << 26) throws -> [UInt8]? {
        let file = path + "/" + relative
        var info = stat()
        guard lstat(file, &info) == 0 else {
            guard errno == ENOENT || errno == ENOTDIR else { throw LedgerError(.ioError, "cannot read \(file)") }
            return nil
        }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_size <= limit else {
            throw LedgerError(.invalidField, "\(file) is not a file an export of tiles writes")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw LedgerError(.ioError, "cannot read \(file)")
        }
        return Array(data)
    }

    /// Whether something is at `relative` (checked by ``contents(of:atMost:)`` before).
    func holds(_ relative: String) -> Bool {
        var info = stat()
        return lstat(path + "/" + relative, &info) == 0
    }

    /// The folders below ``path`` an export writes files in, walked whole by
    /// ``removeStaleTemporaries()`` (``path`` itself, for the checkpoint, is read without them).
    private static let writtenFolders = ["tile", "records"]

    /// Removes the temporary files (`.<name>.<pid>.partial`, ``write(_:as:)``) that exports killed
    /// before their rename left in ``path`` and the folders an export writes in. Every one there
    /// is stale: an export writes its temporaries only while it holds this directory's lock, which
    /// this one holds, so no exporter that is still alive can own one. A symbolic link is removed,
    /// never followed, and no folder is entered through one; other files are left as they are.
    /// Best effort: a temporary that cannot be removed stays.
    func removeStaleTemporaries() {
        var folders: [(path: String, descend: Bool)] = [(path, false)]
        folders += Self.writtenFolders.map { (path + "/" + $0, true) }
        while let folder = folders.popLast() {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names {
                let file = folder.path + "/" + name
                var info = stat()
                guard lstat(file, &info) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFDIR {
                    if folder.descend { folders.append((file, true)) }
                } else if Self.isTemporaryName(name) {
                    unlink(file)
                }
            }
        }
    }

    /// Whether `name` is one ``write(_:as:)`` gives a temporary file: `.`, the file's name, `.`,
    /// a process id, `.partial`.
    static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix("."), name.hasSuffix(".partial") else { return false }
        let stem = name.dropFirst().dropLast(".partial".count)
        guard let dot = stem.lastIndex(of: "."), dot > stem.startIndex else { return false }
        let pid = stem[stem.index(after: dot)...]
        return !pid.isEmpty && pid.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Writes `bytes` as the file `relative`: to a temporary name beside it, fsynced, then
    /// renamed over it. Neither the temporary file nor a folder below ``path`` is reached through
    /// a symbolic link (``makeFolder(_:)``).
    /// - Throws: ``LedgerError`` `io_error` when a folder on the way is a link or not a directory,
    ///   or the file cannot be written.
    func write(_ bytes: [UInt8], as relative: String) throws {
        let file = path + "/" + relative
        let folder = (file as NSString).deletingLastPathComponent
        try makeFolder(folder)
        let temporary = folder + "/." + (file as NSString).lastPathComponent + ".\(getpid()).partial"
        // A leftover of a killed export is removed (a symbolic link planted there too: unlink
        // removes the link, never its target); the file is then made anew, never followed.
        let fd = try WritableFile.open(temporary, .replaceLeftover, mode: 0o644, name: "the export's temporary file")
        let written = Self.writeAll(bytes, to: fd)
        let synced = fsync(fd) == 0
        close(fd)
        guard written, synced, rename(temporary, file) == 0 else {
            unlink(temporary)
            throw LedgerError(.ioError, "cannot write \(file)")
        }
        var parent = folder
        while unsynced.insert(parent).inserted, parent != path, parent.count > path.count {
            parent = (parent as NSString).deletingLastPathComponent
        }
    }

    /// Makes `folder`, below ``path``, and the folders between them, each with `mkdir`, which
    /// never follows a link at its name. A symbolic link, or anything other than a directory, at
    /// one of their names is refused: a link planted at `tile` would otherwise make the export
    /// create, or rename over, files in the directory it points to.
    private func makeFolder(_ folder: String) throws {
        guard folder.count > path.count, !madeFolders.contains(folder) else { return }
        try makeFolder((folder as NSString).deletingLastPathComponent)
        if mkdir(folder, 0o777) != 0 {
            let reason = errno
            var info = stat()
            guard reason == EEXIST, lstat(folder, &info) == 0 else {
                throw LedgerError(
                    .ioError,
                    "cannot create the directory \(folder): \(String(cString: strerror(reason)))"
                )
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: break
            case S_IFLNK: throw LedgerError(.ioError, "\(folder) is a symbolic link; refused (remove it)")
            default: throw LedgerError(.ioError, "\(folder) is not a directory; refused (remove it)")
            }
        }
        madeFolders.insert(folder)
    }

    /// Fsyncs every directory a file was renamed into (and its parents), so that the renames
    /// are on disk.
    func syncDirectories() throws {
        for folder in unsynced.sorted(by: { $0.count > $1.count }) {
            let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw LedgerError(.ioError, "cannot open the directory \(folder)") }
            let synced = fsync(fd) == 0
            close(fd)
            guard synced else { throw LedgerError(.ioError, "cannot sync the directory \(folder)") }
        }
        unsynced.removeAll()
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
    }
}
