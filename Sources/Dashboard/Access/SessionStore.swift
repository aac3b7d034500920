import Ledger

/// The dashboard's logged-in sessions, held in memory only: a random id per login, valid until it
/// expires or the server stops. Nothing about a session is written anywhere.
///
/// At most ``capacity`` sessions are kept; a login beyond that ends the session that expires
/// first, so logging in again and again cannot grow the process.
package final class SessionStore: Sendable {
    /// How long a session lasts after its login, in milliseconds.
    package let lifetime: Int64
    /// The most sessions held at once.
    package let capacity: Int
    private let clock: any LedgerClock
    private let random: any RandomSource
    /// Expiry by session id.
    private let sessions = Locked<[String: Timestamp]>([:])

    /// A store whose sessions last `lifetimeSeconds` (12 hours by default).
    /// - Parameters:
    ///   - clock: What "now" is, for expiry.
    ///   - random: Where session ids come from.
    package init(
        lifetimeSeconds: Int = 12 * 3600,
        capacity: Int = 64,
        clock: any LedgerClock = SystemClock(),
        random: any RandomSource = SystemRandomSource()
    ) {
        lifetime = Int64(lifetimeSeconds) * 1000
        self.capacity = max(capacity, 1)
        self.clock = clock
        self.random = random
    }

    /// Starts a session: its id (32 random bytes in hexadecimal), for the cookie.
    package func open() -> String {
        let id = Hex.encode(random.bytes(32))
        let now = clock.now()
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value > now }
            while sessions.count >= capacity, let first = sessions.min(by: { $0.value < $1.value }) {
                sessions[first.key] = nil
            }
            sessions[id] = Timestamp(milliseconds: now.milliseconds &+ lifetime)
        }
        return id
    }

    /// Whether `id` is a session that has not expired.
    package func isValid(_ id: String) -> Bool {
        let now = clock.now()
        return sessions.withLock { sessions in
            guard let expiry = sessions[id] else { return false }
            guard now < expiry else {
                sessions[id] = nil
                return false
            }
            return true
        }
    }

    /// Ends the session `id` (logging out); nothing happens for an unknown id.
    package func close(_ id: String) { sessions.withLock { $0[id] = nil } }
}
