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
}

/// Stops a command with an exit code after its output was printed.
struct CommandFailure: Error {
    let exitCode: Int32
}
