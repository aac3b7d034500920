internal import CLMDB

/// Runs background maintenance I/O at the idle I/O class, so it does not hold up the fsyncs that
/// acknowledge appends.
///
/// Linux's mq-deadline and BFQ schedulers serve idle-class requests only when no other request
/// waits; a thread started inside `body` (the writer thread of LMDB's compacting copy) inherits
/// the class. glibc has no wrapper for `ioprio_set`, so the shim makes the system call. Best
/// effort: where the class is refused, `body` runs as before.
enum IdleIO {
    /// `IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0)` from `<linux/ioprio.h>`.
    private static let idleClass: Int32 = 3 << 13

    /// Runs `body` with the calling thread at the idle I/O class, then restores its class.
    static func run<T>(_ body: () throws -> T) rethrows -> T {
        let previous = ledger_ioprio_get()
        let lowered = previous >= 0 && ledger_ioprio_set(idleClass) == 0
        defer { if lowered { _ = ledger_ioprio_set(previous) } }
        return try body()
    }
}
