import ArgumentParser
import Ledger

extension LedgerError {
    /// The exit code of SPEC §8: 1 a check failed, 2 usage or refused input, 3 a ledger error.
    var exitCode: Int32 {
        switch code {
        case .chainBroken:
            return 1
        case .ledgerMissing, .ledgerLocked, .ledgerCorrupt, .keyMissing, .keyInvalid, .keyInsecure, .ioError,
            .internal, .ledgerFull:
            return 3
        default:
            return 2
        }
    }

    /// The error object of SPEC §7: `{"error":{"code","message"(,"line")}}`.
    var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("code", .string(code.rawValue)), ("message", .string(message))]
        if let line { pairs.append(("line", .int(Int64(line)))) }
        return .object([("error", .object(pairs))])
    }
}

/// Stops a command with an exit code after its output was printed.
struct CommandFailure: Error {
    let exitCode: Int32
}
