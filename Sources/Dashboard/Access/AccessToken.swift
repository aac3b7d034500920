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
    /// rename (``AtomicFile/replace(_:with:mode:name:)``): no one else can open the file while it
    /// is written, and a symbolic link at `path` is replaced, never followed.
    /// - Throws: ``LedgerError`` `io_error` when the directory cannot be written.
    package func write(toFile path: String) throws {
        try AtomicFile.replace(path, with: Array((hex + "\n").utf8), mode: 0o600, name: "the dashboard token file")
    }

    /// Removes the token file, if it is there (the token opens nothing once its server stopped).
    package static func removeFile(at path: String) { unlink(path) }
}
