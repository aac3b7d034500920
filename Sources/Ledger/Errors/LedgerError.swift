/// The one error type of the ledger: a stable machine code, a message a person can act on, and an
/// optional underlying cause.
///
/// Messages never hold personal data or key bytes: they name fields, limits and pseudonyms only.
/// The transport layers (`ledgerctl`'s exit codes, the HTTP status of SPEC §7) map ``code`` at the
/// edge; nothing inside the ledger knows about either.
public struct LedgerError: Error, Sendable, CustomStringConvertible {
    /// The stable code; its raw values are exactly SPEC §7's codes plus the internal ones.
    public var code: Code
    /// A human-readable explanation without personal data.
    public var message: String
    /// For errors within an NDJSON batch or import: the 1-based line that was refused.
    public var line: Int?
    /// The error this one wraps, if any (an LMDB or system error).
    public var cause: (any Error & Sendable)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The stable code.
    ///   - message: An explanation that holds no personal data.
    ///   - line: The 1-based batch line, when the error belongs to one.
    ///   - cause: The underlying error, if any.
    public init(_ code: Code, _ message: String, line: Int? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.line = line
        self.cause = cause
    }

    /// The code and the message, for logs and terminals.
    public var description: String {
        if let line { return "\(code.rawValue) (line \(line)): \(message)" }
        return "\(code.rawValue): \(message)"
    }

    /// Returns a copy that names the given batch line.
    func atLine(_ line: Int) -> LedgerError {
        var copy = self
        copy.line = line
        return copy
    }
}
