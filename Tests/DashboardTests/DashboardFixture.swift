import Dashboard
import Foundation
import GoldenFixture
import Ledger
import Logging
import Projections
import Testing

/// The golden fixture "a year at Activepeople" in a temporary directory (removed when dropped),
/// with what the dashboard tests compare against: the golden files, and a dashboard for it whose
/// clock says the year has just ended.
final class DashboardFixture: Sendable {
    /// The end of the fixture's year: "now" for the dashboard under test.
    static let yearEnd = "2025-12-31T23:59:59.999Z"
    /// A past date the golden files hold figures for.
    static let midYear = "2025-06-30T23:59:59.999Z"
    /// The token of ``dashboard()``.
    static let tokenBytes = [UInt8](repeating: 0xA7, count: 32)

    let path: String
    let year: YearAtActivepeople

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        year = try YearAtActivepeople.build(in: path + "/ledger")
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var ledger: Ledger { year.ledger }

    /// A dashboard for the fixture on 127.0.0.1:0 whose clock stands at `now`.
    func dashboard(now: String = yearEnd, sessions: SessionStore? = nil) throws -> DashboardServer {
        try DashboardServer(
            ledger: ledger,
            address: LoopbackAddress(host: "127.0.0.1", port: 0),
            token: AccessToken(random: FixedRandom(bytes: Self.tokenBytes)),
            sessions: sessions ?? SessionStore(clock: FixedClock(now)),
            clock: FixedClock(now),
            logger: Logger(label: "dashboard-tests")
        )
    }

    /// The token of ``dashboard(now:sessions:)`` in hexadecimal.
    static var token: String { Hex.encode(tokenBytes) }

    /// A time of the golden files.
    static func time(_ text: String) throws -> Timestamp { try #require(Timestamp(rfc3339: text)) }

    /// A golden file of `GoldenFixtureTests`.
    static func goldenText(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("snapshots/GoldenFixtureTests/\(name)")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// A golden file of `GoldenFixtureTests` as JSON objects, one a line.
    static func golden(_ name: String) throws -> [[String: Any]] {
        try goldenText(name).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    /// The golden purpose counts at `date` (`state-<date>.ndjson`'s purpose lines), in order.
    static func goldenPurposeCounts(_ date: String) throws -> [Counts] {
        try golden("state-\(date.prefix(10)).ndjson").filter { $0["basis"] != nil }.map { line in
            Counts(
                id: try #require(line["id"] as? String),
                basis: try #require(line["basis"] as? String),
                granted: try #require(line["granted"] as? Int),
                withdrawn: try #require(line["withdrawn"] as? Int),
                expired: try #require(line["expired"] as? Int),
                erased: try #require(line["erased"] as? Int)
            )
        }
    }

    /// One purpose's counts, as the golden files and ``PurposeCount`` hold them.
    struct Counts: Equatable, CustomStringConvertible {
        var id: String
        var basis: String
        var granted: Int
        var withdrawn: Int
        var expired: Int
        var erased: Int

        init(id: String, basis: String, granted: Int, withdrawn: Int, expired: Int, erased: Int) {
            (self.id, self.basis, self.granted, self.withdrawn, self.expired, self.erased) =
                (id, basis, granted, withdrawn, expired, erased)
        }

        init(_ count: PurposeCount) {
            self.init(
                id: count.id,
                basis: count.basis,
                granted: count.granted,
                withdrawn: count.withdrawn,
                expired: count.expired,
                erased: count.erased
            )
        }

        var description: String { "\(id) \(granted)/\(withdrawn)/\(expired)/\(erased)" }
    }

    /// The golden overdue requests at `date` (`overdue.ndjson`): their ids, in the file's order.
    static func goldenOverdue(_ date: String) throws -> [String] {
        var ids: [String] = []
        var inside = false
        for line in try golden("overdue.ndjson") {
            if let asOf = line["asOf"] as? String {
                inside = asOf == date
            } else if inside, let id = line["requestId"] as? String {
                ids.append(id)
            }
        }
        return ids
    }

    /// The number of subjects erased by `date` (`state-<date>.ndjson`'s subject lines).
    static func goldenErasedCount(_ date: String) throws -> Int {
        try golden("state-\(date.prefix(10)).ndjson").count { $0["pseudonym"] != nil && $0["erased"] as? Bool == true }
    }

    /// The number of events recorded by `date` (`state-<date>.ndjson`'s first line).
    static func goldenSeq(_ date: String) throws -> Int {
        try #require(try golden("state-\(date.prefix(10)).ndjson").first?["seq"] as? Int)
    }
}

/// A clock that always says the same time.
struct FixedClock: LedgerClock {
    let time: Timestamp

    init(_ text: String) { time = Timestamp(rfc3339: text) ?? Timestamp(milliseconds: 0) }

    func now() -> Timestamp { time }
}

/// A clock the test moves.
final class MovingClock: LedgerClock, @unchecked Sendable {
    // Invariant: `current` is only touched under `lock`.
    private var current: Timestamp
    private let lock = NSLock()

    init(_ text: String) { current = Timestamp(rfc3339: text) ?? Timestamp(milliseconds: 0) }

    func now() -> Timestamp { lock.withLock { current } }

    func advance(seconds: Int64) {
        lock.withLock { current = Timestamp(milliseconds: current.milliseconds + seconds * 1000) }
    }
}

/// A random source that repeats the same bytes (for a known token).
struct FixedRandom: RandomSource {
    let bytes: [UInt8]

    func bytes(_ count: Int) -> [UInt8] { (0..<count).map { bytes[$0 % bytes.count] } }
}

/// A random source that counts, so each draw differs.
final class CountingRandom: RandomSource, @unchecked Sendable {
    // Invariant: `next` is only touched under `lock`.
    private var next: UInt8 = 0
    private let lock = NSLock()

    func bytes(_ count: Int) -> [UInt8] {
        lock.withLock {
            next &+= 1
            return [UInt8](repeating: next, count: count)
        }
    }
}
