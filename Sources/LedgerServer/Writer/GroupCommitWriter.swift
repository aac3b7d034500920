import DequeModule
import Foundation
import Ledger
import Logging
import Projections

/// The one writer of a serving ledger: a dedicated thread that drains the queue of pending appends
/// into one LMDB write transaction — one fsync — per round (group commit). Every request is
/// answered only after its round committed. Begin, commit and fsync all happen on this thread,
/// never on the cooperative pool.
///
/// A full queue pushes back: callers' jobs wait, in order, until the writer has room. Nothing is
/// dropped, and on stop every queued and parked job is still done.
final class GroupCommitWriter: @unchecked Sendable {
    // Invariant: `queue`, `queuedEvents`, `parked` and `stopping` are only touched while `condition`
    // is locked; the writer thread alone touches the ledger's write path. A job is parked only
    // while `queuedEvents > 0` (jobs queued or in the round under way) or behind another parked
    // job, so a round always completes after it and admits it.

    enum Job {
        case append(PreparedBatch, actor: String, CheckedContinuation<[AppendResult], any Error>)
        case erase(subject: String, requestId: String?, actor: String, CheckedContinuation<ErasureResult, any Error>)
        case compact(CheckedContinuation<Void, any Error>)
    }

    private let ledger: Ledger
    private let metrics: ServerMetrics
    private let logger: Logger
    private let condition = NSCondition()
    private var queue: Deque<Job> = []
    private var queuedEvents = 0
    /// Jobs waiting, in order, for room in the queue.
    private var parked: Deque<Job> = []
    private var stopping = false
    /// Group commit's gathering (see ``gather()``): how many append requests the next round may
    /// expect — those the last round answered and those queued when it ended — when it ended, and
    /// how long it took to commit. Touched only under `condition`.
    private var expectedRequests = 0
    /// The jobs queued when the last append round committed, before its answers went out.
    private var queuedBeforeAnswers = 0
    private var lastRoundEnd: UInt64 = 0
    private var lastCommitNanoseconds: UInt64 = 0
    private let finished = DispatchSemaphore(value: 0)
    /// Writes projection snapshots in the background, never inside a commit round.
    let snapshots: SnapshotScheduler
    /// Compacts the key store (`POST /v1/keys/compact`) in the background, never inside a round.
    private let compactions: CompactionBatcher
    /// Destroys erased subjects' keys in the background, never inside a round.
    private let shredder: ErasureShredder
    /// The most events waiting at once before callers are made to wait.
    let capacity: Int
    /// The most events committed in one round.
    let roundLimit: Int
    /// The longest ``gather()`` waits for a round, in nanoseconds.
    let gatherLimit: UInt64
    /// How much of the previous round's commit time ``gather()`` may wait (a half).
    let gatherShare: Double
    /// How many rounds ``gather()`` held back to wait for requests (tests check when it does not).
    private(set) var gatheringWaits = 0

    /// One batch's answer from a round: its results, or why it was refused.
    typealias BatchOutcome = Result<[AppendResult], LedgerError>
    /// Commits one round of batches: ``Ledger/appendGroup(_:)``, or a test's stand-in around it.
    typealias CommitRound = @Sendable ([(events: PreparedBatch, actor: String)]) throws -> [BatchOutcome]
    /// How append rounds are committed (tests wrap it to watch or hold a round's commit).
    private let commitRound: CommitRound

    /// A writer for `ledger`; `commitRound` defaults to the ledger's group commit.
    init(
        ledger: Ledger,
        metrics: ServerMetrics,
        logger: Logger,
        capacity: Int,
        roundLimit: Int = 20_000,
        gatherLimit: UInt64 = 1_000_000,
        gatherShare: Double = 0.5,
        commitRound: CommitRound? = nil
    ) {
        self.ledger = ledger
        self.metrics = metrics
        self.logger = logger
        self.capacity = capacity
        self.roundLimit = roundLimit
        self.gatherLimit = gatherLimit
        self.gatherShare = gatherShare
        self.commitRound = commitRound ?? { try ledger.appendGroup($0) }
        snapshots = SnapshotScheduler(ledger: ledger, logger: logger)
        compactions = CompactionBatcher(ledger: ledger)
        shredder = ErasureShredder(ledger: ledger)
    }

    func start() {
        snapshots.nudge()
        let thread = Thread { [self] in
            // Named from inside: on Linux a name set before start() does not reach the OS thread.
            Thread.current.name = "ledger-writer"
            loop()
        }
        thread.start()
    }

    /// Stops after every queued and parked job is done; returns when the writer thread has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
        shredder.drain()
        compactions.drain()
        snapshots.drain()
    }

    // MARK: Submitting

    /// Appends `events` as one atomic batch in the next round; returns once it is durable.
    func append(_ events: PreparedBatch, actor: String) async throws -> [AppendResult] {
        try await withCheckedThrowingContinuation { continuation in
            submit(.append(events, actor: actor, continuation))
        }
    }

    /// Executes an erasure (SPEC §6): its event in a round of the writer thread, then the in-place
    /// overwrite of the subject's key slot on the shredder's queue (a few milliseconds at any
    /// number of subjects, during which append rounds go on); returns once both are done.
    func erase(subject: String, requestId: String?, actor: String) async throws -> ErasureResult {
        try await withCheckedThrowingContinuation { continuation in
            submit(.erase(subject: subject, requestId: requestId, actor: actor, continuation))
        }
    }

    /// Compacts the key store on the writer thread.
    func compactKeyStore() async throws {
        try await withCheckedThrowingContinuation { continuation in submit(.compact(continuation)) }
    }

    /// How many events a job counts for in the queue.
    private static func weight(of job: Job) -> Int {
        if case .append(let events, _, _) = job { return events.count }
        return 1
    }

    /// Queues `job`, or parks it behind earlier parked jobs while the queue is full (back-pressure):
    /// parked jobs join the queue, in order, as rounds complete. A job that alone exceeds the
    /// capacity is let in when the queue is empty.
    private func submit(_ job: Job) {
        condition.lock()
        if stopping {
            condition.unlock()
            fail(job, LedgerError(.ledgerLocked, "the server is shutting down"))
            return
        }
        if !parked.isEmpty || (queuedEvents > 0 && queuedEvents + Self.weight(of: job) > capacity) {
            parked.append(job)
            metrics.queueWaits.increment()
        } else {
            admit(job)
            condition.signal()
        }
        condition.unlock()
    }

    /// Moves `job` into the queue. Call with `condition` locked.
    private func admit(_ job: Job) {
        queue.append(job)
        queuedEvents += Self.weight(of: job)
        metrics.queueDepth.record(queuedEvents)
    }

    // MARK: The writer thread

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty, !stopping { condition.wait() }
            if queue.isEmpty, stopping {
                condition.unlock()
                break
            }
            gather()
            // A round is a run of appends up to `roundLimit` events, or one erasure or compaction.
            var round: [Job] = []
            var events = 0
            if case .append = queue.first {
                while let next = queue.first, case .append(let batch, _, _) = next,
                    round.isEmpty || events + batch.count <= roundLimit
                {
                    events += batch.count
                    round.append(queue.removeFirst())
                }
            } else {
                round.append(queue.removeFirst())
            }
            condition.unlock()
            let committed = run(round)
            let ended = DispatchTime.now().uptimeNanoseconds
            condition.lock()
            // Only a round that committed and answered tells how many clients come back.
            expectedRequests = committed ? round.count + queuedBeforeAnswers : 0
            lastRoundEnd = ended
            queuedEvents = max(0, queuedEvents - round.reduce(0) { $0 + Self.weight(of: $1) })
            metrics.queueDepth.record(queuedEvents)
            while let next = parked.first, queuedEvents == 0 || queuedEvents + Self.weight(of: next) <= capacity {
                admit(parked.removeFirst())
            }
            condition.unlock()
        }
        finished.signal()
    }

    /// The most requests a round gathers for. Beyond it a round already shares its flush widely,
    /// and waiting for more costs throughput: closed-loop clients that take turns keep the cores
    /// busy with one group's requests while the other group's round flushes, and gathering them
    /// into one round left the cores idle during every flush (16 connections: 5,388 appends/s
    /// against 6,276 without gathering; with this bound 6,015, interleaved runs).
    static let gatherMostRequests = 8

    /// Before an append round, waits briefly for the requests the last round answered.
    ///
    /// Each connection has one request in flight: the clients a round answers send their next
    /// request a fraction of a millisecond later, by when the next round has begun with the
    /// requests that were queued meanwhile. Left alone, the connections settle into two groups
    /// that take turns, each waiting for two rounds (two flushes) per request. So when the
    /// previous round ended only a moment ago, the next one waits for as many requests as that
    /// round answered plus those queued before its answers went out, but never longer than
    /// ``gatherShare`` (half) of the previous round's commit, nor than ``gatherLimit`` (1 ms): the
    /// two groups merge into one round per flush. That matters most under a moderate load, where
    /// rounds of one to three requests each pay a whole flush and keep the writer busy from one
    /// to the next, so that any slow flush backs the queue up: at 2,000 appends/s offered the p99
    /// fell from 5.7–10.3 ms to 2.8–3.4 ms. A lone client, more than ``gatherMostRequests``
    /// requests, a full queue, an erasure or a writer that was idle never waits. Call with
    /// `condition` locked.
    private func gather() {
        guard case .append = queue.first, (2...Self.gatherMostRequests).contains(expectedRequests),
            queue.count < expectedRequests
        else { return }
        let window = min(UInt64(Double(lastCommitNanoseconds) * gatherShare), gatherLimit)
        // The window counts from the end of the previous round, on the monotonic clock. It is
        // polled in short sleeps rather than waited for on `condition`: NSCondition's timed wait
        // takes a wall-clock deadline, which a step back of the system clock would stretch.
        let end = lastRoundEnd &+ window
        var waited = false
        while !stopping, parked.isEmpty, queue.count < expectedRequests, queuedEvents < capacity,
            DispatchTime.now().uptimeNanoseconds < end
        {
            if !waited {
                waited = true
                gatheringWaits += 1
                metrics.gatheredRounds.increment()
            }
            condition.unlock()
            usleep(Self.gatherPollMicroseconds)
            condition.lock()
        }
    }

    /// How often a gathering round looks at the queue (a fraction of the at most 1 ms it waits).
    static let gatherPollMicroseconds: UInt32 = 50

    /// Runs one round; whether it was an append round that committed (and was answered).
    private func run(_ round: [Job]) -> Bool {
        guard let first = round.first else { return false }
        switch first {
        case .append:
            let batches = round.compactMap { job -> (events: PreparedBatch, actor: String)? in
                if case .append(let events, let actor, _) = job { return (events, actor) }
                return nil
            }
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                // Every answer below waits for this call, which returns only once the round's
                // transactions committed and were flushed: an acknowledged append is durable.
                let outcomes = try commitRound(batches)
                let committed = DispatchTime.now().uptimeNanoseconds
                // Counted before any answer, so a client answered now is not counted twice.
                condition.lock()
                queuedBeforeAnswers = queue.count
                lastCommitNanoseconds = committed - start
                condition.unlock()
                // The answers first, so that no request waits for the bookkeeping.
                var appended = 0
                var head: UInt64 = 0
                for (job, outcome) in zip(round, outcomes) {
                    guard case .append(_, _, let continuation) = job else { continue }
                    switch outcome {
                    case .success(let results):
                        for result in results where !result.replayed {
                            appended += 1
                            head = max(head, result.seq)
                        }
                        continuation.resume(returning: results)
                    case .failure(let error):
                        continuation.resume(throwing: error)
                    }
                }
                metrics.commitLatency.recordNanoseconds(Int64(committed - start))
                metrics.commitRounds.increment()
                metrics.batchSize.record(batches.reduce(0) { $0 + $1.events.count })
                if appended > 0 {
                    metrics.appendedEvents.increment(by: appended)
                    snapshots.nudge(reaching: head)
                }
                return true
            } catch {
                logger.error("commit round failed", metadata: ["error": "\(error)"])
                for job in round { fail(job, error) }
            }
        case .erase(let subject, let requestId, let actor, let continuation):
            // Only the event's commit is a round; the key's overwrite and its slot number's
            // deletion run on the shredder's queue, while append rounds go on.
            do {
                let recorded = try ledger.recordErasure(subject: subject, requestId: requestId, actor: actor)
                snapshots.nudge()
                shredder.submit(recorded) { continuation.resume(with: $0) }
            } catch {
                continuation.resume(throwing: error)
            }
        case .compact(let continuation):
            compactions.submit { continuation.resume(with: $0) }
        }
        return false
    }

    private func fail(_ job: Job, _ error: any Error) {
        switch job {
        case .append(_, _, let continuation): continuation.resume(throwing: error)
        case .erase(_, _, _, let continuation): continuation.resume(throwing: error)
        case .compact(let continuation): continuation.resume(throwing: error)
        }
    }
}
