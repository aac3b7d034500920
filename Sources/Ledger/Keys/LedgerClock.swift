import Foundation

/// Where the ledger reads the time for `recordedAt`.
///
/// Production code uses ``SystemClock``; tests inject a fixed or stepping clock.
public protocol LedgerClock: Sendable {
    /// The current time in milliseconds.
    func now() -> Timestamp
}

/// The system's real-time clock.
public struct SystemClock: LedgerClock {
    /// The system clock.
    public init() {}

    /// The current time, to the millisecond.
    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}
