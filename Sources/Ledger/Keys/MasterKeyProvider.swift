import Crypto
import Foundation

/// Supplies the master key that wraps every subject key (SPEC §2).
///
/// The master key never enters the event store. The default is ``FileMasterKeyProvider``; a KMS or
/// HSM integration conforms to this protocol and hands the ledger the key (or, later, wrap/unwrap
/// operations) without any other change.
public protocol MasterKeyProvider: Sendable {
    /// Returns the 256-bit master key.
    /// - Throws: ``LedgerError`` with `key_missing`, `key_invalid` or `key_insecure`.
    func masterKey() throws -> SymmetricKey
}

/// Reads the master key from a file holding 64 hexadecimal characters, which must not be readable
/// by group or others (mode 0600 or stricter).
public struct FileMasterKeyProvider: MasterKeyProvider {
    /// The key file's path.
    public let path: String

    /// Creates a provider for the key file at `path`.
    public init(path: String) { self.path = path }

    /// Reads the key from the file.
    public func masterKey() throws -> SymmetricKey {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw LedgerError(.keyMissing, "the master key file \(path) does not exist or cannot be read")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw LedgerError(
                .keyInsecure,
                "the master key file \(path) is readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it"
            )
        }
        guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) })
        else {
            throw LedgerError(.keyMissing, "the master key file \(path) cannot be read")
        }
        guard let raw = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32 else {
            throw LedgerError(.keyInvalid, "the master key file \(path) does not hold 64 hexadecimal characters")
        }
        return SymmetricKey(data: raw)
    }

    /// Writes a new random key to `path` with mode 0600, refusing to overwrite an existing file or
    /// to write through a symbolic link (a dangling one included).
    /// - Throws: ``LedgerError`` `io_error` when anything is at `path` or it cannot be written.
    public static func create(at path: String, random: some RandomSource) throws {
        // Never over anything at the name, a symbolic link included (``WritableFile``).
        let fd = try WritableFile.open(path, .createNew, name: "the master key file")
        defer { close(fd) }
        let text = Array((Hex.encode(random.bytes(32)) + "\n").utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == text.count, fsync(fd) == 0 else {
            throw LedgerError(.ioError, "cannot write the master key file \(path)")
        }
    }
}
