import Foundation
import LedgerClient
import TestSupport
import Testing

/// What the actors of one chaos run were told was done, for the checks afterwards.
final class ChaosRecord: @unchecked Sendable {
    // Invariant: every stored property is only touched under `lock`.

    /// An append acknowledged (exit 0, or 201/200) with its eventId.
    struct Append {
        var eventId: String
        var subject: String
        var marker: String
        /// When the acknowledgement reached the test (monotonic nanoseconds).
        var at: UInt64
    }

    /// An erasure acknowledged, with the pseudonym it erased.
    struct Erasure {
        var subject: String
        var pseudonym: String
        var at: UInt64
    }

    /// A backup that reported success, and when its process was started.
    struct Backup {
        var path: String
        var keyed: Bool
        var startedAt: UInt64
    }

    private let lock = NSLock()
    private var appendList: [Append] = []
    private var erasureList: [Erasure] = []
    private var backupList: [Backup] = []
    private var anomalyList: [String] = []
    private var tallies: [String: Int] = [:]

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    func acknowledged(_ append: Append) { locked { appendList.append(append) } }
    func erased(_ erasure: Erasure) { locked { erasureList.append(erasure) } }
    func backedUp(_ backup: Backup) { locked { backupList.append(backup) } }
    /// An outcome no rule allows (an append refused, `verify` failing beside the others, …).
    func anomaly(_ text: String) { locked { anomalyList.append(text) } }
    func tally(_ key: String) { locked { tallies[key, default: 0] += 1 } }

    var appends: [Append] { locked { appendList } }
    var erasures: [Erasure] { locked { erasureList } }
    var backups: [Backup] { locked { backupList } }
    var anomalies: [String] { locked { anomalyList } }
    var summary: String {
        locked { tallies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
    }

    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }
}

/// Runs the actors of a ``ChaosPlan`` against one ledger, each on its own thread.
struct ChaosRun {
    let plan: ChaosPlan
    let ctl: LedgerctlRunner
    let server: TestServer?
    let scratch: String
    let record: ChaosRecord

    /// Starts every actor and waits until all have finished.
    func run() {
        onThreads(plan.actors.count) { index in
            let actor = plan.actors[index]
            var rng = SplitMix64(seed: actor.seed)
            usleep(UInt32(actor.delay) * 1_000)
            for operation in 0..<actor.operations {
                perform(actor.role, name: "\(actor.role.rawValue)\(index)-\(operation)", rng: &rng)
                usleep(UInt32(Int.random(in: 0...actor.pause, using: &rng)) * 1_000)
            }
        }
    }

    /// A subject for the next append: mostly a new one, else one that others append to or erase.
    private func subject(_ name: String, _ n: Int, rng: inout SplitMix64) -> String {
        switch Int.random(in: 0..<20, using: &rng) {
        case 0..<12: "new-\(name)-\(n)@example.com"
        case 12..<17: plan.shared.randomElement(using: &rng)!
        default: plan.victims.randomElement(using: &rng)!
        }
    }

    /// One client event as NDJSON / a JSON body, with a marker in its data.
    private func event(subject: String, rng: inout SplitMix64) -> (json: String, append: ChaosRecord.Append) {
        let eventId = rng.uuid()
        let marker = "MK" + eventId.prefix(8) + eventId.suffix(4)
        let json =
            Bool.random(using: &rng)
            ? #"{"type":"consent.granted","subject":"\#(subject)","purpose":"newsletter","notice":"policy-v1","eventId":"\#(eventId)","data":{"m":"\#(marker)"}}"#
            : #"{"type":"consent.withdrawn","subject":"\#(subject)","purpose":"surveys","eventId":"\#(eventId)","data":{"m":"\#(marker)"}}"#
        return (json, .init(eventId: eventId, subject: subject, marker: marker, at: 0))
    }

    private func note(_ name: String, _ outcome: LedgerctlRunner.Outcome?) -> String {
        guard let outcome else { return "\(name): the process did not start" }
        return "\(name): exit \(outcome.status) \(outcome.stdout.prefix(300))\(outcome.stderr.prefix(300))"
    }

    private func perform(_ role: ChaosPlan.Role, name: String, rng: inout SplitMix64) {
        record.tally(role.rawValue)
        switch role {
        case .cliAppender:
            let subject = subject(name, 0, rng: &rng)
            let (json, append) = event(subject: subject, rng: &rng)
            let fields = jsonObject(json) ?? [:]
            var arguments = [
                "append", "--type", fields["type"] as? String ?? "", "--subject", subject, "--purpose",
                fields["purpose"] as? String ?? "", "--event-id", append.eventId, "--data",
                #"{"m":"\#(append.marker)"}"#,
            ]
            if let notice = fields["notice"] as? String { arguments += ["--notice", notice] }
            let outcome = try? ctl.run(arguments)
            if outcome?.status == 0 {
                record.acknowledged(withTime(append))
            } else {
                record.anomaly(note(name, outcome))
            }
        case .importer:
            let count = Int.random(in: 20...150, using: &rng)
            var lines: [String] = []
            var appends: [ChaosRecord.Append] = []
            for n in 0..<count {
                let (json, append) = event(subject: subject(name, n, rng: &rng), rng: &rng)
                lines.append(json)
                appends.append(append)
            }
            let file = scratch + "/\(name).ndjson"
            try? (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let outcome = try? ctl.run(["import", file])
            if outcome?.status == 0 {
                let at = ChaosRecord.now
                for var append in appends {
                    append.at = at
                    record.acknowledged(append)
                }
            } else {
                record.anomaly(note(name, outcome))
            }
        case .socketAppender:
            guard let server else { return }
            let (json, append) = event(subject: subject(name, 0, rng: &rng), rng: &rng)
            let reply = try? server.call("POST", "/v1/events", json)
            if reply?.status == 201 || reply?.status == 200 {
                record.acknowledged(withTime(append))
            } else {
                record.anomaly("\(name): \(reply.map { "\($0.status) \($0.text)" } ?? "no reply")")
            }
        case .socketBatcher:
            guard let server else { return }
            var lines: [String] = []
            var appends: [ChaosRecord.Append] = []
            for n in 0..<Int.random(in: 2...25, using: &rng) {
                let (json, append) = event(subject: subject(name, n, rng: &rng), rng: &rng)
                lines.append(json)
                appends.append(append)
            }
            let reply = try? server.call(
                "POST",
                "/v1/events",
                lines.joined(separator: "\n") + "\n",
                contentType: "application/x-ndjson"
            )
            if reply?.status == 201 || reply?.status == 200 {
                let at = ChaosRecord.now
                for var append in appends {
                    append.at = at
                    record.acknowledged(append)
                }
            } else {
                record.anomaly("\(name): \(reply.map { "\($0.status) \($0.text)" } ?? "no reply")")
            }
        case .cliEraser:
            let victim = plan.victims.randomElement(using: &rng)!
            let outcome = try? ctl.run(["erase", "--json", "--subject", victim])
            if outcome?.status == 0, let pseudonym = pseudonym(in: outcome!.stdout) {
                record.erased(.init(subject: victim, pseudonym: pseudonym, at: ChaosRecord.now))
            } else if outcome?.status == 2 || (outcome?.status == 3 && outcome!.stdout.contains("ledger_locked")) {
                // Already erased (`subject_not_found`), or refused by a server that was
                // stopping (`ledger_locked`; an erasure itself never needs the store to itself).
                record.tally("erase-refused-\(outcome!.status)")
            } else {
                record.anomaly(note(name, outcome))
            }
        case .serverEraser:
            guard let server else { return }
            let victim = plan.victims.randomElement(using: &rng)!
            let reply = try? server.call("POST", "/v1/subjects/erase", #"{"subject":"\#(victim)"}"#)
            if reply?.status == 200, let pseudonym = reply?.json?["pseudonym"] as? String {
                record.erased(.init(subject: victim, pseudonym: pseudonym, at: ChaosRecord.now))
            } else if reply?.status == 404 || reply?.status == 503 {
                record.tally("erase-refused-\(reply!.status)")
            } else {
                record.anomaly("\(name): \(reply.map { "\($0.status) \($0.text)" } ?? "no reply")")
            }
        case .compactor:
            let outcome = try? ctl.run(["keys", "compact", "--json"])
            if outcome?.status == 3, outcome!.stdout.contains("ledger_locked") {
                record.tally("compact-locked")
            } else if outcome?.status != 0 {
                record.anomaly(note(name, outcome))
            }
        case .backup:
            let keyed = Bool.random(using: &rng)
            let target = scratch + "/backups/\(name)"
            let startedAt = ChaosRecord.now
            let outcome = try? ctl.run(["backup", target] + (keyed ? ["--include-master-key"] : []))
            if outcome?.status == 0 {
                record.backedUp(.init(path: target, keyed: keyed, startedAt: startedAt))
            } else {
                record.anomaly(note(name, outcome))
            }
        case .rebuild, .verify:
            let outcome = try? ctl.run([role == .rebuild ? "rebuild" : "verify"])
            if outcome?.status != 0 { record.anomaly(note(name, outcome)) }
        }
    }

    private func withTime(_ append: ChaosRecord.Append) -> ChaosRecord.Append {
        var stamped = append
        stamped.at = ChaosRecord.now
        return stamped
    }

    /// The pseudonym of an erasure's JSON answer (direct or relayed from the server).
    private func pseudonym(in stdout: String) -> String? {
        stdout.split(separator: "\n").lazy.compactMap { jsonObject(String($0))?["pseudonym"] as? String }.first
    }
}
