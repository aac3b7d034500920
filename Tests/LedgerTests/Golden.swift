import Foundation
import Testing

/// Golden files in `snapshots/<Suite>/<name>`, as argument-parser's test helpers keep them:
/// compared byte for byte, recorded with `RECORD_SNAPSHOTS=1` (which fails the test so a
/// recording is never mistaken for a pass).
enum Golden {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("snapshots")
    }

    static func assertMatches(
        _ actual: String,
        suite: String,
        name: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let url = root.appendingPathComponent(suite).appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1" {
            try? FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try? actual.write(to: url, atomically: true, encoding: .utf8)
            Issue.record(
                "recorded \(suite)/\(name); run again without RECORD_SNAPSHOTS",
                sourceLocation: sourceLocation
            )
            return
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record(
                "missing golden file \(suite)/\(name); record it with RECORD_SNAPSHOTS=1",
                sourceLocation: sourceLocation
            )
            return
        }
        let normalised = expected.replacingOccurrences(of: "\r\n", with: "\n")
        guard normalised != actual else { return }
        Issue.record(
            "golden file \(suite)/\(name) differs:\n\(diff(normalised, actual))",
            sourceLocation: sourceLocation
        )
    }

    /// A line diff: `-` expected, `+` actual, for the lines that differ.
    static func diff(_ expected: String, _ actual: String) -> String {
        let old = expected.components(separatedBy: "\n")
        let new = actual.components(separatedBy: "\n")
        var out: [String] = []
        for index in 0..<max(old.count, new.count) {
            let a = index < old.count ? old[index] : nil
            let b = index < new.count ? new[index] : nil
            if a != b {
                if let a { out.append("-\(index + 1): \(a)") }
                if let b { out.append("+\(index + 1): \(b)") }
            }
        }
        return out.prefix(40).joined(separator: "\n")
    }
}
