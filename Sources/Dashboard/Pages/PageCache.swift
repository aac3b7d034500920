import Foundation
import Ledger
import NIOPosix
import Projections

/// Where the dashboard's pages are computed, and what it keeps of them, so that what a view costs
/// does not grow with every view.
///
/// **One thread of its own, behind the others.** Every page is computed on one thread that
/// belongs to the dashboard, one at a time: never on NIO's event loops or thread pool, the
/// cooperative pool or the writer's thread, which the socket API needs. However many pages are
/// asked for at once, the dashboard takes at most one core; the others wait their turn. The thread
/// runs at nice ``niceness`` (on Linux the nice value is a thread's own), so when the cores are
/// busy the scheduler gives the writer and the socket API's threads about ten times its share:
/// pages slow down rather than appends.
///
/// **Folds extended, never refolded.** It keeps the ``foldCapacity`` most recently used folds
/// (``LedgerFold``), each of the first N events of the log. A page at a moment needs the fold of
/// the events recorded by then: a kept fold of exactly those is used as it is; otherwise the
/// largest kept fold of fewer events is taken out and extended with the events after it, and
/// only when there is none is the log folded from its start. So the page "now", asked for again
/// while appends go on, costs the events appended since the last view, not the whole log.
///
/// **Models kept.** It keeps the ``modelCapacity`` most recently used page models by (page, the
/// number of events recorded by the moment, the moment): viewing or downloading the same page at
/// the same moment again costs nothing, and the CSV of a page just seen is not computed twice.
///
/// A change of catalogue (its rules decide the folds, its titles are in the models) drops
/// everything kept. Nothing here writes to the ledger.
package final class PageCache: Sendable {
    /// How many folds are kept: the present one and one past moment.
    package static let foldCapacity = 2
    /// How many page models are kept.
    package static let modelCapacity = 32
    /// The nice value of the dashboard's thread (0 is the default, 19 the lowest priority).
    package static let niceness: Int32 = 10

    private let ledger: Ledger
    /// The dashboard's one thread, started at the first page.
    private let worker = NIOThreadPool(numberOfThreads: 1)
    private let started = Locked(false)
    /// Taken only by jobs of `worker`, one at a time, so it is never contended; it is there so
    /// that the state's thread rule is checked by the compiler rather than stated.
    private let state = Locked(State())

    /// The cache of `ledger`'s pages, empty; its thread starts with the first page.
    package init(ledger: Ledger) { self.ledger = ledger }

    deinit { if started.withLock({ $0 }) { worker.shutdownGracefully { _ in } } }

    /// The model of the page named `name` at `asOf`, kept or computed by `build` from the fold of
    /// the events recorded by then, on the dashboard's thread.
    /// - Parameters:
    ///   - name: The page and whatever else its model depends on besides the moment
    ///     (`"timeline/<id>"`); `nil` for a page that must be computed afresh each time (one that
    ///     shows files the log does not hold), whose fold is still kept.
    ///   - build: Makes the model from the ledger, the fold and the catalogue. It runs on the
    ///     dashboard's thread and must only read.
    /// - Throws: What `build` throws, and ``LedgerError`` when the ledger cannot be read.
    package func page<Model: Sendable>(
        _ name: String?,
        asOf: Timestamp,
        _ build: @escaping @Sendable (Ledger, LedgerFold, Catalogue) throws -> Model
    ) async throws -> Model {
        try await page(name, asOf: asOf, build, present: { $0 })
    }

    /// The page named `name` at `asOf` as `present` makes it from its model (``page(_:asOf:_:)``):
    /// HTML or CSV, made on the dashboard's thread too, so that not even rendering a large table
    /// takes a thread the socket API shares.
    package func page<Model: Sendable, Output: Sendable>(
        _ name: String?,
        asOf: Timestamp,
        _ build: @escaping @Sendable (Ledger, LedgerFold, Catalogue) throws -> Model,
        present: @escaping @Sendable (Model) throws -> Output
    ) async throws -> Output {
        let ledger = ledger
        return try await run { [state] in
            let catalogue = try ledger.catalogue()
            let length = try ledger.prefixLength(asOf: asOf)
            let model = try state.withLock { state in
                if state.catalogueSource != catalogue.source { state = State(catalogueSource: catalogue.source) }
                let key = name.map { ModelKey(page: $0, length: length, asOf: asOf) }
                // Unwrapped before the cast: a missing model cast to an optional `Model` would be
                // taken for a kept `nil`.
                if let key, let kept = state.model(key), let model = kept as? Model { return model }
                let fold = try state.fold(through: length, rules: ProjectionRules(catalogue: catalogue), ledger: ledger)
                let model = try build(ledger, fold, catalogue)
                if let key { state.keep(model, as: key) }
                return model
            }
            return try present(model)
        }
    }

    /// "Now" for a page without `asOf`: the later of `clock`'s time and the head event's
    /// `recordedAt`, read on the dashboard's thread. The ledger's `recordedAt` never decreases (SPEC
    /// §3: after the clock steps back the last value is reused), so by the clock alone a view of now
    /// would miss the events recorded after what the clock says now.
    /// - Throws: ``LedgerError`` when the ledger cannot be read.
    package func now(by clock: any LedgerClock) async throws -> Timestamp {
        let ledger = ledger
        return try await run {
            let now = clock.now()
            return max(now, try ledger.head().recordedAt ?? now)
        }
    }

    /// What the cache holds now, for tests and the cost model: the folds' sizes (most recently used
    /// first), the models kept, and how many events have been folded in all.
    package var statistics: (foldSizes: [UInt64], models: Int, eventsFolded: UInt64) {
        state.withLock { ($0.folds.map(\.throughSeq), $0.models.count, $0.eventsFolded) }
    }

    /// The nice value of the thread that calls it (Linux: a thread's own), for tests.
    package static var callersNiceness: Int32 {
        errno = 0
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    }

    /// Runs `body` on the dashboard's thread, starting it (at nice ``niceness``) the first time.
    private func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        started.withLock { started in
            guard !started else { return }
            started = true
            worker.start()
            // The thread's first job, before any page: lower its own priority.
            worker.submit { _ in _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness) }
        }
        return try await worker.runIfActive(body)
    }
}

/// A kept model's key.
private struct ModelKey: Hashable, Sendable {
    var page: String
    var length: UInt64
    var asOf: Timestamp
}

/// What ``PageCache`` keeps.
private struct State: Sendable {
    /// The catalogue everything kept was made with.
    var catalogueSource = ""
    /// The folds, most recently used first.
    var folds: [LedgerFold] = []
    /// The models by key, and the keys, most recently used first.
    var models: [ModelKey: any Sendable] = [:]
    var modelOrder: [ModelKey] = []
    /// Events folded since the cache was made (or the catalogue changed).
    var eventsFolded: UInt64 = 0

    /// The fold of the first `length` events: a kept one, one extended from the largest kept fold
    /// of fewer events (taken out, so it is extended in place), or a new one.
    mutating func fold(through length: UInt64, rules: ProjectionRules, ledger: Ledger) throws -> LedgerFold {
        var fold: LedgerFold
        if let exact = folds.firstIndex(where: { $0.throughSeq == length }) {
            fold = folds.remove(at: exact)
        } else {
            let shorter = folds.indices.filter { folds[$0].throughSeq < length }
            let largest = shorter.max { folds[$0].throughSeq < folds[$1].throughSeq }
            fold = largest.map { folds.remove(at: $0) } ?? LedgerFold(rules: rules)
            let before = fold.throughSeq
            try fold.advance(through: length, in: ledger)
            eventsFolded += fold.throughSeq - before
        }
        folds.insert(fold, at: 0)
        if folds.count > PageCache.foldCapacity { folds.removeLast(folds.count - PageCache.foldCapacity) }
        return fold
    }

    /// The model kept under `key`, now the most recently used.
    mutating func model(_ key: ModelKey) -> (any Sendable)? {
        guard let model = models[key] else { return nil }
        modelOrder.removeAll { $0 == key }
        modelOrder.insert(key, at: 0)
        return model
    }

    /// Keeps `model` under `key`, dropping the least recently used beyond the capacity.
    mutating func keep(_ model: any Sendable, as key: ModelKey) {
        models[key] = model
        modelOrder.removeAll { $0 == key }
        modelOrder.insert(key, at: 0)
        while modelOrder.count > PageCache.modelCapacity, let oldest = modelOrder.popLast() { models[oldest] = nil }
    }
}
