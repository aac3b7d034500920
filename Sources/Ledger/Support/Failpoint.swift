import Foundation

/// Named points where a test build can kill its own process, as a crash would, so the crash tests
/// reach every step of append, import, erasure, compaction, backup, snapshot writing and format
/// migration exactly (FoundationDB's and SQLite's failpoints work the same way).
///
/// Armed by the environment variable `LEDGER_FAILPOINT=name` (or `name@N` for its N-th hit) in
/// debug builds only: a release build compiles every ``hit(_:)`` to nothing.
///
/// A point can pause instead, so a test can let another process act at that exact step:
/// `LEDGER_PAUSEPOINT=name` and `LEDGER_PAUSEPOINT_DIR=dir` make the process create `dir/paused`
/// at the point's first hit and wait there until `dir/resume` exists (at most 60 s).
package enum Failpoint {
    #if DEBUG
    /// The armed point and the hit it fires on, read once.
    private static let armed: (name: String, hit: Int)? = {
        guard let text = ProcessInfo.processInfo.environment["LEDGER_FAILPOINT"], !text.isEmpty else { return nil }
        let parts = text.split(separator: "@", maxSplits: 1)
        return (String(parts[0]), parts.count == 2 ? Int(parts[1]) ?? 1 : 1)
    }()
    private static let hits = Locked<Int>(0)
    /// The pausing point and the directory of its two marker files, read once.
    private static let pausing: (name: String, directory: String)? = {
        let environment = ProcessInfo.processInfo.environment
        guard let name = environment["LEDGER_PAUSEPOINT"], !name.isEmpty,
            let directory = environment["LEDGER_PAUSEPOINT_DIR"], !directory.isEmpty
        else { return nil }
        return (name, directory)
    }()
    private static let paused = Locked<Bool>(false)
    #endif

    /// Kills the process with SIGKILL when `name` is the armed point, or pauses it when `name` is
    /// the pausing point (debug builds only).
    @inline(__always)
    package static func hit(_ name: StaticString) {
        #if DEBUG
        if let pausing, pausing.name == "\(name)" { pause(in: pausing.directory) }
        guard let armed, armed.name == "\(name)" else { return }
        let count = hits.withLock { value -> Int in
            value += 1
            return value
        }
        if count == armed.hit { kill(getpid(), SIGKILL) }
        #endif
    }

    #if DEBUG
    /// Announces the pause with `directory/paused` and waits for `directory/resume`, once per
    /// process.
    private static func pause(in directory: String) {
        let first = paused.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { return }
        _ = FileManager.default.createFile(atPath: directory + "/paused", contents: nil)
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: directory + "/resume"), Date() < deadline {
            usleep(10_000)
        }
    }
    #endif
}
