import Foundation

/// Progress of a long run on standard error — only when it is a terminal (SPEC §8) — with the
/// rate and, when the total is known, the time left. Thread-safe: parallel workers may report.
final class Progress: @unchecked Sendable {
    // Invariant: `lastPrinted` and `printed` are only touched under `lock`.
    private let label: String
    private let total: UInt64?
    private let unit: String
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastPrinted: UInt64 = 0
    private var printed = false
    private let lock = NSLock()
    private let enabled = isatty(STDERR_FILENO) == 1

    init(label: String, total: UInt64? = nil, unit: String = "events") {
        self.label = label
        self.total = total
        self.unit = unit
    }

    /// `value` as a whole number for display; `Int(_:)` would trap on a value beyond `Int`.
    static func whole(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return value.isFinite ? "many" : "?" }
        return String(Int(value))
    }

    /// Reports that `done` units are done, at most five times a second.
    func update(_ done: UInt64) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastPrinted > 200_000_000 else { return }
        lastPrinted = now
        printed = true
        let seconds = max(Double(now - start) / 1e9, 0.001)
        let rate = Double(done) / seconds
        var text = "\r\(label): \(done) \(unit)"
        if let total, total > 0 {
            let left = rate > 0 ? Double(total - min(done, total)) / rate : 0
            let part = min(done, total)
            let (scaled, overflow) = part.multipliedReportingOverflow(by: 100)
            let percent = overflow ? part / max(total / 100, 1) : scaled / total
            text += " of \(total) (\(percent)%), \(Self.whole(left.rounded(.up))) s left"
        }
        text += ", \(Self.whole(rate)) \(unit)/s   "
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Ends the progress line.
    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if printed { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
