import Foundation
import TestSupport

extension SplitMix64 {
    /// A UUID in canonical text, drawn from this generator (version 4, RFC 9562 variant).
    mutating func uuid() -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &self) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { byte in
            String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }
        .joined()
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(hex.dropFirst(range.lowerBound).prefix(range.count))
        }
        return parts.joined(separator: "-")
    }
}

/// What a seed chooses: whether a server runs, which actors run beside it, when each starts and
/// how much each does. Everything SPEC §3 lets run at once on one ledger is among the roles.
struct ChaosPlan: CustomStringConvertible {
    enum Role: String, CaseIterable {
        /// `ledgerctl append`, one process per event.
        case cliAppender
        /// `ledgerctl import` of an NDJSON file written for it.
        case importer
        /// `POST /v1/events`, one event a request.
        case socketAppender
        /// `POST /v1/events` with an NDJSON batch.
        case socketBatcher
        /// `ledgerctl erase` (through the server when one runs, directly otherwise).
        case cliEraser
        /// `POST /v1/subjects/erase`.
        case serverEraser
        /// `ledgerctl keys compact`.
        case compactor
        /// `ledgerctl backup` into a fresh directory.
        case backup
        /// `ledgerctl rebuild`.
        case rebuild
        /// `ledgerctl verify`.
        case verify
    }

    struct Actor {
        var role: Role
        /// Milliseconds after the start before the first operation.
        var delay: Int
        var operations: Int
        /// The longest pause between two operations, in milliseconds.
        var pause: Int
        /// The actor's own seed, for its subjects, event ids and pauses.
        var seed: UInt64
    }

    let seed: UInt64
    let served: Bool
    /// Subjects made before the run that erasers pick from (appenders add to them too).
    let victims: [String]
    /// Subjects several appenders add to at once.
    let shared: [String]
    let actors: [Actor]

    init(seed: UInt64) {
        self.seed = seed
        var rng = SplitMix64(seed: seed)
        served = Int.random(in: 0..<3, using: &rng) != 0
        victims = (0..<Int.random(in: 3...6, using: &rng)).map { "victim-\($0)@example.com" }
        shared = (0..<4).map { "shared-\($0)@example.com" }
        var roles: [Role] = []
        func add(_ role: Role, _ range: ClosedRange<Int>) {
            roles += Array(repeating: role, count: Int.random(in: range, using: &rng))
        }
        add(.cliAppender, 2...4)
        add(.importer, 1...2)
        // Compactions beside appenders that create subjects: the mix that once lost keys.
        add(.compactor, served ? 1...2 : 2...3)
        add(.cliEraser, 1...2)
        add(.backup, 1...2)
        add(.rebuild, 0...1)
        add(.verify, 0...1)
        if served {
            add(.socketAppender, 1...2)
            add(.socketBatcher, 1...2)
            add(.serverEraser, 1...1)
        }
        actors = roles.map { role in
            let (operations, pause): (ClosedRange<Int>, Int) =
                switch role {
                case .cliAppender: (8...16, 40)
                case .importer: (1...3, 300)
                case .socketAppender: (20...50, 20)
                case .socketBatcher: (4...10, 60)
                case .cliEraser, .serverEraser: (1...3, 400)
                case .compactor: (3...6, 250)
                case .backup: (1...2, 500)
                case .rebuild, .verify: (1...2, 500)
                }
            return Actor(
                role: role,
                delay: Int.random(in: 0...600, using: &rng),
                operations: Int.random(in: operations, using: &rng),
                pause: pause,
                seed: rng.next()
            )
        }
    }

    var description: String {
        let counts = Role.allCases.compactMap { role -> String? in
            let count = actors.filter { $0.role == role }.count
            return count == 0 ? nil : "\(count) \(role.rawValue)"
        }
        return "seed \(seed): \(served ? "served" : "no server"), \(victims.count) victims, "
            + counts.joined(separator: ", ")
    }
}
