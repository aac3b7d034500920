import Foundation

/// Progress of a long run on standard error — only when it is a terminal (SPEC §8), with the rate.
final class Progress {
    private let label: String
    private let total: UInt64?
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastPrinted: UInt64 = 0
    private let enabled = isatty(STDERR_FILENO) == 1

    init(label: String, total: UInt64? = nil) {
        self.label = label
        self.total = total
    }

    /// Reports `done` items, at most a few times a second.
    func update(_ done: UInt64) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastPrinted > 200_000_000 else { return }
        lastPrinted = now
        let seconds = max(Double(now - start) / 1e9, 0.001)
        let rate = Double(done) / seconds
        var text = "\r\(label): \(done)"
        if let total, total > 0 {
            let left = rate > 0 ? Double(total - min(done, total)) / rate : 0
            text += " of \(total) (\(done * 100 / total)%), \(Int(left)) s left"
        }
        text += ", \(Int(rate))/s   "
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Ends the progress line.
    func finish() {
        guard enabled, lastPrinted > 0 else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
