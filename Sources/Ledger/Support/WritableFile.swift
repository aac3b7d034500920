import Foundation

/// Opens, by name, the files the ledger writes inside directories that another user may be able
/// to write (the ledger's, the key store's, a backup's, an export of tiles), without following a
/// symbolic link at that name: a link planted there would otherwise make the process open,
/// truncate, overwrite or create the file it points to.
///
/// Every such open goes through ``open(_:_:access:mode:name:)``: lock files, the key store's
/// compaction marker and slot files, the key files `ledgerctl init` makes, and the temporary files
/// that ``AtomicFile``, backups and exports of tiles rename into place. Only the last component of
/// the path is guarded (`O_NOFOLLOW`); the directories above it are the caller's.
package enum WritableFile {
    /// What happens at the name.
    package enum Disposition: Sendable {
        /// Opens the file, creating it when missing; never truncates it (a lock file, a marker,
        /// the key store's slots).
        case openOrCreate
        /// Opens the file only when it exists; `missing` is thrown when nothing is at the name.
        case openExisting(missing: LedgerError)
        /// Creates the file, refusing anything already at the name, a link (even a dangling one)
        /// included: a key file, which must never replace another.
        case createNew
        /// Removes whatever is at the name (what a killed writer left, or a link planted there:
        /// `unlink` removes the link, never its target), then creates the file as ``createNew``
        /// does: a temporary file that is renamed into place once written.
        case replaceLeftover
    }

    /// Opens `path` for `access` as `disposition` says, with `O_NOFOLLOW | O_CLOEXEC`; a file
    /// created gets `mode`, narrowed by the umask.
    ///
    /// A symbolic link at `path` is refused and never followed, and so is anything other than a
    /// regular file (a FIFO is not waited on: the open does not block).
    /// - Parameters:
    ///   - access: `O_WRONLY` or `O_RDWR`.
    ///   - name: What the file is, for messages (`"the lock file"`).
    /// - Returns: The descriptor, open and blocking; the caller closes it.
    /// - Throws: ``LedgerError`` `io_error` naming the file when a link or something other than a
    ///   regular file is at `path`, when ``Disposition/createNew`` finds anything there, or when
    ///   it cannot be opened; ``Disposition/openExisting(missing:)``'s error when nothing is there.
    package static func open(
        _ path: String,
        _ disposition: Disposition,
        access: Int32 = O_WRONLY,
        mode: mode_t = 0o600,
        name: String
    ) throws -> Int32 {
        var flags = access | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK
        switch disposition {
        case .openOrCreate: flags |= O_CREAT
        case .openExisting: break
        case .createNew: flags |= O_CREAT | O_EXCL
        case .replaceLeftover:
            unlink(path)
            flags |= O_CREAT | O_EXCL
        }
        var descriptor: Int32
        repeat { descriptor = Foundation.open(path, flags, mode) } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else {
            let reason = errno
            switch (reason, disposition) {
            case (ELOOP, _): throw LedgerError(.ioError, "\(name) \(path) is a symbolic link; refused (remove it)")
            case (ENOENT, .openExisting(let missing)): throw missing
            // O_WRONLY | O_NONBLOCK on a FIFO that no one reads.
            case (ENXIO, _): throw notRegular(name, path)
            default:
                let verb = flags & O_EXCL != 0 ? "create" : "open"
                throw LedgerError(.ioError, "cannot \(verb) \(name) \(path): \(String(cString: strerror(reason)))")
            }
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw notRegular(name, path)
        }
        // O_NONBLOCK was for the open only.
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return descriptor
    }

    /// Refuses a symbolic link, or anything other than a regular file, at `path`; nothing there
    /// passes. For a file that a library opens by name, to which no descriptor can be handed:
    /// LMDB's `data.mdb` and `lock.mdb`, which it opens with `O_RDWR | O_CREAT`.
    ///
    /// - Warning: This checks the name, not an open file: a link planted between this check and
    ///   the library's own open is still followed. It never opens the file, since closing a
    ///   descriptor of `lock.mdb` would drop the POSIX locks LMDB holds on it in this process.
    /// - Throws: ``LedgerError`` `io_error` naming the file.
    package static func refuseLink(at path: String, name: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFLNK: throw LedgerError(.ioError, "\(name) \(path) is a symbolic link; refused (remove it)")
        default: throw notRegular(name, path)
        }
    }

    private static func notRegular(_ name: String, _ path: String) -> LedgerError {
        LedgerError(.ioError, "\(name) \(path) is not a regular file; refused (remove it)")
    }
}
