import Foundation

extension Ledger {
    /// `<ledger>/integrity-status.json`: the newest runs of `ledgerctl verify` and
    /// `ledgerctl rebuild` (``IntegrityRun``), which the dashboard's integrity page reads.
    package static func integrityStatusPath(for directory: String) -> String {
        directory + "/integrity-status.json"
    }

    /// Adds `run` to `integrity-status.json` in the ledger directory `directory`, keeping the newest ``IntegrityRun/kept``
    /// runs of each check: the file is read, changed and replaced in one rename
    /// (``AtomicFile``, mode 0600), holding `integrity-status.json.lock` so that two checks
    /// finishing at once both land. A file that cannot be parsed is started anew. It takes the
    /// directory, not an opened ledger, so that a check that could not even open the ledger (a
    /// damaged page) is recorded too.
    /// - Throws: ``LedgerError`` `io_error` when the file cannot be written; `ledger_locked` when
    ///   another process held the lock for 10 s.
    package static func recordIntegrityRun(_ run: IntegrityRun, inLedgerAt directory: String) throws {
        let path = integrityStatusPath(for: directory)
        let lock = try FileLock(exclusive: path + ".lock", waitingUpTo: 10)
        var runs = (try? integrityRuns(inLedgerAt: directory)) ?? []
        runs.append(run)
        var kept: [IntegrityRun] = []
        for check in IntegrityRun.Check.allCases { kept += runs.filter { $0.check == check }.suffix(IntegrityRun.kept) }
        kept.sort { $0.startedAt < $1.startedAt }
        let file = JSONValue.object([("format", .int(1)), ("runs", .array(kept.map(\.json)))])
        try withExtendedLifetime(lock) {
            try AtomicFile.replace(path, with: file.utf8 + [0x0A], mode: 0o600, name: "the integrity status file")
        }
    }

    /// The runs `<ledger>/integrity-status.json` holds, oldest first; none when there is no file
    /// (no check has run since this version). Only reads.
    /// - Throws: ``LedgerError`` `io_error` when the file is there but cannot be read;
    ///   `ledger_corrupt` when it is not what ``recordIntegrityRun(_:inLedgerAt:)`` writes.
    package func integrityRuns() throws -> [IntegrityRun] { try Ledger.integrityRuns(inLedgerAt: directory) }

    /// The runs the integrity status file of the ledger directory `directory` holds
    /// (``integrityRuns()``).
    package static func integrityRuns(inLedgerAt directory: String) throws -> [IntegrityRun] {
        let path = integrityStatusPath(for: directory)
        // Never a link followed, a FIFO waited on or a huge file read: the real one is a few KB.
        guard let data = try AtomicFile.read(path, atMost: 1 << 20, name: "the integrity status file") else {
            return []
        }
        guard let file = JSONValue.parse(data), file["format"]?.uint64Value == 1,
            let items = file["runs"]?.arrayItems
        else {
            throw LedgerError(
                .ledgerCorrupt,
                "the integrity status file \(path) is damaged; the next verify or rebuild writes it anew"
            )
        }
        var runs: [IntegrityRun] = []
        for item in items {
            guard let run = IntegrityRun(json: item) else {
                throw LedgerError(
                    .ledgerCorrupt,
                    "the integrity status file \(path) holds a run that cannot be read; the next verify or rebuild writes it anew"
                )
            }
            runs.append(run)
        }
        return runs
    }
}
