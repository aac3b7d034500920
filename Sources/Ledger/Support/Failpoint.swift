import Foundation

/// Named points where a test build can kill its own process, as a crash would, so the crash tests
/// reach every step of append, import, erasure, compaction, backup, snapshot writing and format
/// migration exactly (FoundationDB's and SQLite's failpoints work the same way).
///
/// Armed by the environment variable `LEDGER_FAILPOINT=name` (or `name@N` for its N-th hit) in
/// debug builds only: a release build compiles every ``hit(_:)`` to nothing.
package enum Failpoint {
    #if DEBUG
    /// The armed point and the hit it fires on, read once.
    private static let armed: (name: String, hit: Int)? = {
        guard let text = ProcessInfo.processInfo.environment["LEDGER_FAILPOINT"], !text.isEmpty else { return nil }
        let parts = text.split(separator: "@", maxSplits: 1)
        return (String(parts[0]), parts.count == 2 ? Int(parts[1]) ?? 1 : 1)
    }()
    private static let hits = Locked<Int>(0)
    #endif

    /// Kills the process with SIGKILL when `name` is the armed point (debug builds only).
    @inline(__always)
    package static func hit(_ name: StaticString) {
        #if DEBUG
        guard let armed, armed.name == "\(name)" else { return }
        let count = hits.withLock { value -> Int in
            value += 1
            return value
        }
        if count == armed.hit { kill(getpid(), SIGKILL) }
        #endif
    }
}
