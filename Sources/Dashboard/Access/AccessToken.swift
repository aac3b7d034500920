import Foundation
import Ledger

/// The secret that opens the dashboard: 32 random bytes, written as 64 lower-case hexadecimal
/// characters. A new one is drawn at every start, written to `<ledger>/dashboard.token` (mode
/// 0600) and put in the login URL; it is never logged.
package struct AccessToken: Sendable, CustomStringConvertible {
    /// The token's bytes.
    private let bytes: [UInt8]

    /// A token of 32 bytes from `random`.
    package init(random: any RandomSource) { bytes = random.bytes(32) }

    /// The token as it goes in the login URL and the token file.
    package var hex: String { Hex.encode(bytes) }

    /// Never the token itself, so that printing one by mistake shows nothing.
    package var description: String { "AccessToken(redacted)" }

    /// Whether `candidate` is this token, compared in time that does not depend on where the two
    /// differ (only on the length, which is public).
    package func matches(_ candidate: String) -> Bool {
        let given = Array(candidate.utf8)
        let expected = Array(hex.utf8)
        guard given.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ given[index] }
        return difference == 0
    }

    /// Writes the token and a newline to `path` with mode 0600, replacing any file there in one
    /// rename: the file is created under a temporary name that no one else can open, written,
    /// flushed, then renamed over `path` (a symbolic link at `path` is replaced, never followed).
    /// - Throws: ``LedgerError`` `io_error` when the directory cannot be written.
    package func write(toFile path: String) throws {
        let temporary = path + ".\(getpid()).tmp"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.failure("create", path) }
        let text = Array((hex + "\n").utf8)
        let written = writeAll(text, to: descriptor)
        // The mode given to open(2) is narrowed by the umask; set it exactly.
        let modeSet = fchmod(descriptor, 0o600) == 0
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == text.count, modeSet, synced, rename(temporary, path) == 0 else {
            let error = Self.failure("write", path)
            unlink(temporary)
            throw error
        }
    }

    /// Removes the token file, if it is there (the token opens nothing once its server stopped).
    package static func removeFile(at path: String) { unlink(path) }

    private static func failure(_ what: String, _ path: String) -> LedgerError {
        LedgerError(.ioError, "cannot \(what) the dashboard token file \(path): \(String(cString: strerror(errno)))")
    }
}

/// Writes `bytes` to `descriptor` with one `write(2)`; the count written, or -1.
private func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int {
    bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}
