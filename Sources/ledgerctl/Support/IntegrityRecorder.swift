import Foundation
import Ledger

/// Records how a whole-ledger check (`verify`, `rebuild`) ended in the ledger's
/// `integrity-status.json` (``IntegrityRun``), for the dashboard's integrity page: made when the
/// check starts, told how it ended. A result that cannot be recorded (a read-only copy of a
/// ledger) is a warning on standard error; it never changes the check's own output or exit code.
struct IntegrityRecorder {
    let check: IntegrityRun.Check
    let directory: String
    private let startedAt = SystemClock().now()
    private let start = ContinuousClock.now

    init(_ check: IntegrityRun.Check, directory: String) {
        self.check = check
        self.directory = directory
    }

    /// Records a check that ran to its end: `code` and `failedSeq` say what did not verify or match.
    func record(ok: Bool, code: String? = nil, failedSeq: UInt64? = nil, headSeq: UInt64, repaired: Bool = false) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        let run = IntegrityRun(
            check: check,
            ok: ok,
            code: code,
            failedSeq: failedSeq,
            headSeq: headSeq,
            repaired: repaired,
            startedAt: startedAt,
            milliseconds: milliseconds
        )
        do {
            try Ledger.recordIntegrityRun(run, inLedgerAt: directory)
        } catch let error as LedgerError {
            Output.error(
                "ledgerctl: warning: the result was not recorded for the dashboard (\(error.code.rawValue)): \(error.message)"
            )
        } catch {
            Output.error("ledgerctl: warning: the result was not recorded for the dashboard")
        }
    }

    /// Runs `body` (the check), recording the ``LedgerError`` that stops it as a failed run with
    /// its code, then rethrowing it. Two errors are not recorded, because no check ran: no ledger
    /// there (no status file is made in a directory that holds none), and `ledger_locked` (a
    /// server or another repair holds the ledger; recording it would hide the last real run).
    func recordingFailure<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LedgerError {
            if error.code != .ledgerMissing, error.code != .ledgerLocked {
                record(ok: false, code: error.code.rawValue, headSeq: 0)
            }
            throw error
        }
    }
}
