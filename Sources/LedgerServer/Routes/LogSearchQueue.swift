import Dispatch
import Ledger
import Synchronization

/// Where searches that read the whole log run (a proof by leaf hash): one at a time, on a queue of
/// their own, so however many arrive they never hold the threads the other reads share; and at
/// most ``mostWaiting`` at once, so a client cannot queue work for minutes: one more is refused
/// with 503 `too_many_connections` at once. A search whose request was cancelled while it waited
/// does not run.
final class LogSearchQueue: Sendable {
    /// The most searches running or waiting.
    static let mostWaiting = 4

    private let queue = DispatchQueue(label: "ledger-log-search")
    private let waiting = Mutex(0)

    /// Runs `body` on the search queue, or refuses it when ``mostWaiting`` searches are queued.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let admitted = waiting.withLock { count in
            guard count < Self.mostWaiting else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw LedgerError(
                .tooManyConnections,
                "\(Self.mostWaiting) searches of the log are already running or waiting; try again later"
            )
        }
        let cancelled = Mutex(false)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    defer { self.waiting.withLock { $0 -= 1 } }
                    guard !cancelled.withLock({ $0 }) else {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    continuation.resume(with: Result { try body() })
                }
            }
        } onCancel: {
            cancelled.withLock { $0 = true }
        }
    }
}
