import Foundation

/// Small files replaced whole, so that a reader sees the old bytes or the new ones, never a part:
/// the dashboard's token file, the integrity status file, and a backup's marker, manifest and key
/// files.
package enum AtomicFile {
    /// Replaces the file at `path` with `bytes`, mode `mode`, in one rename: the bytes go to a
    /// temporary name beside it that no one else can open (``WritableFile``'s
    /// ``WritableFile/Disposition/replaceLeftover``: `O_EXCL | O_NOFOLLOW`), are flushed,
    /// then renamed over `path` (a symbolic link at `path` is replaced, never followed), and the
    /// directory is flushed so that the rename is on disk too.
    /// - Parameters:
    ///   - name: What the file is, for the error message (`"the dashboard token file"`).
    /// - Throws: ``LedgerError`` `io_error` naming the file when the directory cannot be written.
    package static func replace(_ path: String, with bytes: [UInt8], mode: mode_t, name: String) throws {
        let temporary = path + ".\(getpid()).tmp"
        // A leftover of a killed writer (or a link planted there) is removed, never followed.
        let descriptor = try WritableFile.open(temporary, .replaceLeftover, mode: mode, name: name)
        let written = writeAll(bytes, to: descriptor)
        // The mode given to open(2) is narrowed by the umask; set it exactly.
        let modeSet = fchmod(descriptor, mode) == 0
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written, modeSet, synced, rename(temporary, path) == 0 else {
            let error = failure("write", name, path)
            unlink(temporary)
            throw error
        }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return }
        fsync(directory)
        close(directory)
    }

    /// The bytes of the regular file at `path`, read without following a symbolic link there and
    /// without waiting on a FIFO; `nil` when there is no file.
    /// - Throws: ``LedgerError`` `io_error` naming the file when something other than a regular
    ///   file of at most `limit` bytes is there (a link, a FIFO, a device, a file grown past what
    ///   ``replace(_:with:mode:name:)`` writes), or it cannot be read.
    package static func read(_ path: String, atMost limit: Int, name: String) throws -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw failure("open", name, path)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size <= limit else {
            throw LedgerError(.ioError, "\(name) \(path) is not a regular file of at most \(limit) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count <= limit {
            let read = bytes.withUnsafeMutableBytes { buffer in
                buffer.baseAddress.map { Foundation.read(descriptor, $0 + count, limit + 1 - count) } ?? -1
            }
            if read < 0, errno == EINTR { continue }
            guard read >= 0 else { throw failure("read", name, path) }
            if read == 0 { break }
            count += read
        }
        guard count <= limit else {
            throw LedgerError(.ioError, "\(name) \(path) is not a regular file of at most \(limit) bytes")
        }
        return Array(bytes[..<count])
    }

    private static func failure(_ what: String, _ name: String, _ path: String) -> LedgerError {
        LedgerError(.ioError, "cannot \(what) \(name) \(path): \(String(cString: strerror(errno)))")
    }

    /// Writes all of `bytes` to `descriptor`, retrying short writes and `EINTR`.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
    }
}
