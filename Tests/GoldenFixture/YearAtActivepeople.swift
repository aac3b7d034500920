import Crypto
import Foundation
import Ledger
import Projections
import TestSupport

/// The golden fixture: "a year at the seed's company" (issue 3). Deterministic — a seeded random
/// source, a manual clock and a seeded generator of choices — so the same code always writes the
/// same log, byte for byte.
///
/// Over 2025 it appends web sign-ups and newsletter unsubscribes, cookie consents that expire
/// (web-analytics by the catalogue's 90-day TTL, facebook-pixel by `expiresAt`), back-dated paper
/// survey consents from course sign-ups, job applicants (personality tests) erased when their
/// recruitment closes, access and correction requests (some answered late, some extended, some
/// rejected, some forgotten) about every purpose of the catalogue, and erasure requests.
public struct YearAtActivepeople: Sendable {
    /// The ledger the year was appended to.
    public let ledger: Ledger
    /// Pseudonyms of the three subjects the golden files follow, by name.
    public let followed: [String: String]
    /// Every external id the year used, erased subjects' included: no page or file meant for
    /// people without the master key may contain one.
    public let externalIds: Set<String>
    /// Every string of the events' `data` (encrypted in the log): personal data no such page or
    /// file may contain either.
    public let dataValues: Set<String>
    /// The actors that appended the year's events (`actor` is stored in clear).
    public static let actors = ["web-signup", "course-admin", "recruiting", "privacy-office"]

    /// Events between projection snapshots.
    public static let snapshotInterval: UInt64 = 250
    /// The dates of the whole-ledger golden files.
    public static let goldenDates = [
        "2025-03-31T23:59:59.999Z", "2025-06-30T23:59:59.999Z", "2025-09-30T23:59:59.999Z", "2025-12-31T23:59:59.999Z",
    ]
    /// The dates of the followed subjects' golden lines.
    public static let subjectDates = [
        "2025-02-15T00:00:00.000Z", "2025-07-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z",
    ]
    /// The dates of the overdue requests' golden lines.
    public static let overdueDates = ["2025-06-30T23:59:59.999Z", "2025-12-31T23:59:59.999Z"]

    /// Builds the fixture in `directory`. With `alteringOneEvent`, one unsubscribe in March is a
    /// grant of another purpose instead — the golden output must notice.
    public static func build(in directory: String, alteringOneEvent: Bool = false) throws -> YearAtActivepeople {
        let clock = FixtureClock("2025-01-01T00:00:00.000Z")
        var options = Ledger.Options(clock: clock, random: SeededRandom(seed: "a year at activepeople"))
        options.observers = [SnapshotObserver()]
        let ledger = try Ledger.create(
            at: directory,
            catalogue: nil,
            snapshotInterval: snapshotInterval,
            options: options
        ).ledger
        var world = World(ledger: ledger, clock: clock, alteringOneEvent: alteringOneEvent)
        try world.run()
        return YearAtActivepeople(
            ledger: ledger,
            followed: world.followed,
            externalIds: world.externalIds,
            dataValues: world.dataValues
        )
    }
}

private struct World {
    let ledger: Ledger
    let clock: FixtureClock
    let alteringOneEvent: Bool
    var choices = SplitMix64(seed: 2025)
    var next = 1
    var subscribers: [String] = []
    var everyone: [String] = []
    var applicants: [String] = []
    var followed: [String: String] = [:]
    /// Things to do on a later day: the day index, then what.
    var agenda: [Int: [Planned]] = [:]
    var pendingEvents: [String] = []
    var erasuresToday: [(subject: String, requestId: String?)] = []
    var altered = false
    /// Every subject named by an appended event, and every string of an appended event's data.
    var externalIds: Set<String> = []
    var dataValues: Set<String> = []

    enum Planned {
        case close(subject: String, requestId: String, type: String, data: String?)
        case extend(subject: String, requestId: String, due: String)
        case erase(subject: String, requestId: String)
    }

    static let requestPurposes = [
        "orders-quotes", "customer-accounting", "courses", "job-applicants", "employees-payroll", "newsletter",
    ]

    mutating func run() throws {
        let start = Timestamp(rfc3339: "2025-01-01T00:00:00.000Z") ?? Timestamp(milliseconds: 0)
        for day in 0..<365 {
            let dayStart = start.adding(days: day)
            try plan(day: day, dayStart: dayStart)
            for item in agenda.removeValue(forKey: day) ?? [] { perform(item, at: dayStart) }
            clock.set(dayStart.adding(minutes: 18 * 60).rfc3339)
            if !pendingEvents.isEmpty {
                let catalogue = try ledger.catalogue()
                let events = try pendingEvents.map {
                    try ClientEvent.decode(json: Array($0.utf8), catalogue: catalogue)
                }
                for line in pendingEvents { remember(line) }
                let results = try ledger.append(events, actor: actor(day))
                for (line, result) in zip(pendingEvents, results) {
                    for name in ["user1@example.no", "visitor3@example.no", "applicant2@example.no"]
                    where line.contains("\"subject\":\"\(name)\"") && followed[name] == nil {
                        followed[name] = result.subject
                    }
                }
                pendingEvents.removeAll()
            }
            for (index, erasure) in erasuresToday.enumerated() {
                clock.set(dayStart.adding(minutes: 19 * 60 + index).rfc3339)
                _ = try ledger.erase(subject: erasure.subject, requestId: erasure.requestId, actor: "privacy-office")
                forget(erasure.subject)
            }
            erasuresToday.removeAll()
        }
    }

    func actor(_ day: Int) -> String { ["web-signup", "course-admin", "recruiting", "privacy-office"][day % 4] }

    mutating func newSubject(_ prefix: String) -> String {
        defer { next += 1 }
        let name = "\(prefix)\(next)@example.no"
        everyone.append(name)
        return name
    }

    mutating func forget(_ subject: String) {
        subscribers.removeAll { $0 == subject }
        everyone.removeAll { $0 == subject }
        applicants.removeAll { $0 == subject }
    }

    func at(_ dayStart: Timestamp, minutes: Int) -> String { dayStart.adding(minutes: 8 * 60 + minutes).rfc3339 }

    mutating func add(_ json: String) { pendingEvents.append(json) }

    mutating func requestId() -> String {
        var raw = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { raw[i] = UInt8(truncatingIfNeeded: choices.next()) }
        // A version 4 UUID, as the ledger's own `UUIDText.random(from:)` writes one.
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        let hex = Array(Hex.encode(raw))
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }.joined(separator: "-")
    }

    /// Notes the subject and the data strings of one appended event (its JSON line).
    mutating func remember(_ line: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return }
        if let subject = object["subject"] as? String { externalIds.insert(subject) }
        if let data = object["data"] as? [String: Any] {
            for case let text as String in data.values { dataValues.insert(text) }
        }
    }

    mutating func plan(day: Int, dayStart: Timestamp) throws {
        // Web sign-ups to the newsletter.
        for _ in 0..<choices.below(4) {
            let subject = day == 0 && !everyone.contains("user1@example.no") ? "user1@example.no" : newSubject("user")
            if subject == "user1@example.no" { everyone.append(subject) }
            subscribers.append(subject)
            add(
                #"{"type":"consent.granted","subject":"\#(subject)","purpose":"newsletter","notice":"policy-v1","occurredAt":"\#(at(dayStart, minutes: choices.below(600)))","data":{"source":"web-signup","name":"Person \#(subject.prefix(12))"}}"#
            )
        }
        // Newsletter unsubscribes.
        if choices.chance(45), let subject = choices.pick(subscribers) {
            if alteringOneEvent, !altered, day >= 60 {
                altered = true
                add(
                    #"{"type":"consent.granted","subject":"\#(subject)","purpose":"surveys","notice":"policy-v1","occurredAt":"\#(at(dayStart, minutes: 30))"}"#
                )
            } else {
                subscribers.removeAll { $0 == subject }
                add(
                    #"{"type":"consent.withdrawn","subject":"\#(subject)","purpose":"newsletter","occurredAt":"\#(at(dayStart, minutes: choices.below(600)))"}"#
                )
            }
        }
        // The cookie banner: analytics (90-day TTL), the Facebook pixel (expires after 180 days), remarketing.
        for _ in 0..<choices.below(3) {
            let subject =
                day == 2 && !everyone.contains("visitor3@example.no") ? "visitor3@example.no" : newSubject("visitor")
            if subject == "visitor3@example.no" { everyone.append(subject) }
            let when = at(dayStart, minutes: choices.below(600))
            add(
                #"{"type":"consent.granted","subject":"\#(subject)","purpose":"web-analytics","notice":"policy-v1","occurredAt":"\#(when)"}"#
            )
            if choices.chance(50) {
                let expires = (Timestamp(rfc3339: when) ?? dayStart).adding(days: 180).rfc3339
                add(
                    #"{"type":"consent.granted","subject":"\#(subject)","purpose":"facebook-pixel","notice":"policy-v1","occurredAt":"\#(when)","expiresAt":"\#(expires)"}"#
                )
            }
            if choices.chance(30) {
                add(
                    #"{"type":"consent.granted","subject":"\#(subject)","purpose":"ads-remarketing","notice":"policy-v1","occurredAt":"\#(when)"}"#
                )
            }
            if choices.chance(10) {
                add(
                    #"{"type":"consent.withdrawn","subject":"\#(subject)","purpose":"ads-remarketing","occurredAt":"\#(at(dayStart, minutes: 590))"}"#
                )
            }
        }
        // Course sign-ups every week: survey consents on paper, recorded days later (back-dated).
        if day % 7 == 3 {
            for _ in 0..<(2 + choices.below(4)) {
                let subject =
                    choices.chance(40)
                    ? (choices.pick(everyone) ?? newSubject("participant")) : newSubject("participant")
                let paper = dayStart.adding(days: -(3 + choices.below(8))).adding(minutes: 9 * 60).rfc3339
                add(
                    #"{"type":"consent.granted","subject":"\#(subject)","purpose":"surveys","notice":"policy-v1","occurredAt":"\#(paper)","data":{"form":"paper","course":"week \#(day / 7)"}}"#
                )
            }
        }
        if choices.chance(25), let subject = choices.pick(everyone) {
            let granted = choices.chance(70)
            add(
                granted
                    ? #"{"type":"consent.granted","subject":"\#(subject)","purpose":"surveys","notice":"policy-v1","occurredAt":"\#(at(dayStart, minutes: 200))"}"#
                    : #"{"type":"consent.withdrawn","subject":"\#(subject)","purpose":"surveys","occurredAt":"\#(at(dayStart, minutes: 200))"}"#
            )
        }
        // Job applicants take personality tests; every 30 days the recruitment closes and they are erased.
        if choices.chance(40) {
            let subject =
                day == 1 && !everyone.contains("applicant2@example.no")
                ? "applicant2@example.no" : newSubject("applicant")
            if subject == "applicant2@example.no" { everyone.append(subject) }
            applicants.append(subject)
            add(
                #"{"type":"consent.granted","subject":"\#(subject)","purpose":"personality-tests","notice":"policy-v1","occurredAt":"\#(at(dayStart, minutes: 120))","data":{"cv":"CV of \#(subject.prefix(14))"}}"#
            )
        }
        if day % 30 == 29 {
            for subject in applicants {
                if choices.chance(70) {
                    let id = requestId()
                    add(
                        #"{"type":"erasure.requested","subject":"\#(subject)","eventId":"\#(id)","purpose":"job-applicants","occurredAt":"\#(at(dayStart, minutes: 300))"}"#
                    )
                    agenda[day + 1 + choices.below(5), default: []].append(.erase(subject: subject, requestId: id))
                } else {
                    erasuresToday.append((subject, nil))
                }
            }
            applicants.removeAll()
        }
        // Access requests about every purpose; most answered in time, some late, some extended, some rejected.
        if choices.chance(20), let subject = choices.pick(everyone) {
            let id = requestId()
            let purpose = choices.pick(Self.requestPurposes) ?? "courses"
            add(
                #"{"type":"access.requested","subject":"\#(subject)","eventId":"\#(id)","purpose":"\#(purpose)","occurredAt":"\#(at(dayStart, minutes: 60))"}"#
            )
            let roll = choices.below(100)
            if roll < 60 {
                agenda[day + 3 + choices.below(20), default: []].append(
                    .close(subject: subject, requestId: id, type: "access.completed", data: nil)
                )
            } else if roll < 75 {
                agenda[day + 35 + choices.below(20), default: []].append(
                    .close(subject: subject, requestId: id, type: "access.completed", data: nil)
                )
            } else if roll < 90 {
                let due = dayStart.adding(minutes: 8 * 60 + 60).adding(days: 30 + 40).rfc3339
                agenda[day + 20, default: []].append(.extend(subject: subject, requestId: id, due: due))
                agenda[day + 50 + choices.below(30), default: []].append(
                    .close(subject: subject, requestId: id, type: "access.completed", data: nil)
                )
            } else if roll < 95 {
                agenda[day + 5, default: []].append(
                    .close(
                        subject: subject,
                        requestId: id,
                        type: "access.rejected",
                        data: #"{"reason":"identity not confirmed"}"#
                    )
                )
            }  // else: forgotten, and overdue from day 30 on
        }
        // Corrections of course and payroll records.
        if choices.chance(8), let subject = choices.pick(everyone) {
            let id = requestId()
            let purpose = choices.chance(50) ? "courses" : "employees-payroll"
            add(
                #"{"type":"correction.requested","subject":"\#(subject)","eventId":"\#(id)","purpose":"\#(purpose)","occurredAt":"\#(at(dayStart, minutes: 90))","data":{"field":"address"}}"#
            )
            agenda[day + 2 + choices.below(9), default: []].append(
                .close(
                    subject: subject,
                    requestId: id,
                    type: "correction.completed",
                    data: #"{"address":"Bark Silas vei 5"}"#
                )
            )
        }
        // Erasure requests from anyone; most executed, some rejected.
        if choices.chance(3), let subject = choices.pick(everyone.filter { !applicants.contains($0) }) {
            let id = requestId()
            add(
                #"{"type":"erasure.requested","subject":"\#(subject)","eventId":"\#(id)","purpose":"customer-accounting","occurredAt":"\#(at(dayStart, minutes: 45))"}"#
            )
            if choices.chance(75) {
                agenda[day + 2 + choices.below(18), default: []].append(.erase(subject: subject, requestId: id))
            } else {
                agenda[day + 10, default: []].append(
                    .close(
                        subject: subject,
                        requestId: id,
                        type: "erasure.rejected",
                        data: #"{"reason":"accounting law requires keeping the records"}"#
                    )
                )
            }
        }
    }

    mutating func perform(_ item: Planned, at dayStart: Timestamp) {
        switch item {
        case .close(let subject, let requestId, let type, let data):
            guard everyone.contains(subject) else { return }
            let payload = data.map { #","data":\#($0)"# } ?? ""
            add(
                #"{"type":"\#(type)","subject":"\#(subject)","requestId":"\#(requestId)","occurredAt":"\#(at(dayStart, minutes: 400))"\#(payload)}"#
            )
        case .extend(let subject, let requestId, let due):
            guard everyone.contains(subject) else { return }
            add(
                #"{"type":"request.extended","subject":"\#(subject)","requestId":"\#(requestId)","occurredAt":"\#(at(dayStart, minutes: 380))","expiresAt":"\#(due)"}"#
            )
        case .erase(let subject, let requestId):
            guard everyone.contains(subject), !erasuresToday.contains(where: { $0.subject == subject }) else { return }
            erasuresToday.append((subject, requestId))
        }
    }
}

/// The fixture's clock: set by the year's script, never read from the system.
private final class FixtureClock: LedgerClock, @unchecked Sendable {
    // Invariant: `current` is only touched under `lock`.
    private var current: Timestamp
    private let lock = NSLock()

    init(_ start: String) { current = Timestamp(rfc3339: start) ?? Timestamp(milliseconds: 0) }

    func now() -> Timestamp { lock.withLock { current } }

    func set(_ text: String) { lock.withLock { current = Timestamp(rfc3339: text) ?? current } }
}
