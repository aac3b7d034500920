import DequeModule
import Foundation
import Ledger

/// Answers committed rounds once the log is flushed, on a thread of its own, so the writer commits
/// the next round while the last one's flush runs.
///
/// The server's log commits leave their meta page unflushed (``Ledger/Options/defersLogMetaSync``):
/// a commit flushes its data pages, and the meta page that makes the round visible after a restart
/// reaches the disk with the next flush of the file. Before, every round paid two flushes in a row
/// on the writer thread (data, then meta); now the writer pays one, and the flush that covers a
/// round's meta page runs here beside the next round's commit. A round is answered only after a
/// flush that began after its commit returned: an acknowledged append is durable.
///
/// Rounds are answered in the order they were committed; a failed flush answers every round it was
/// for with its error (their events may or may not survive a power loss, so none is acknowledged).
final class RoundFlusher: @unchecked Sendable {
    // Invariant: `waiting` and `stopping` are only touched while `condition` is locked; `flush` runs
    // on the flusher thread alone.

    /// Sends one committed round's answers: its outcomes on `.success`, or the flush's error.
    typealias Answer = @Sendable (Result<Void, LedgerError>) -> Void
    /// Makes every commit so far durable: ``Ledger/flushLog()``, or a test's stand-in around it.
    typealias Flush = @Sendable () throws -> Void

    private let flush: Flush
    private let condition = NSCondition()
    private var waiting: Deque<Answer> = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(flush: @escaping Flush) {
        self.flush = flush
    }

    func start() {
        let thread = Thread { [self] in
            Thread.current.name = "ledger-flusher"
            loop()
        }
        thread.start()
    }

    /// Answers `answer` after the next flush that begins from now on. Call after the round's commit
    /// has returned.
    func answerAfterFlush(_ answer: @escaping Answer) {
        condition.lock()
        waiting.append(answer)
        condition.signal()
        condition.unlock()
    }

    /// Returns once every round handed over so far is answered and the thread has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    private func loop() {
        while true {
            condition.lock()
            while waiting.isEmpty, !stopping { condition.wait() }
            if waiting.isEmpty, stopping {
                condition.unlock()
                break
            }
            // Every round taken here committed before this flush begins, so the flush covers it.
            let rounds = waiting
            waiting.removeAll()
            condition.unlock()
            let outcome: Result<Void, LedgerError>
            do {
                try flush()
                outcome = .success(())
            } catch let error as LedgerError {
                outcome = .failure(error)
            } catch {
                outcome = .failure(LedgerError(.ioError, "the log could not be flushed: \(error)"))
            }
            for answer in rounds { answer(outcome) }
        }
        finished.signal()
    }
}
