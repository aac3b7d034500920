import Foundation

/// A bounded first-in, first-out handoff from one producer thread to one consumer: ``send(_:)``
/// waits while `capacity` items are waiting, ``receive()`` waits while none is. Either side can
/// ``close()`` it; afterwards sends are dropped and receives drain what is left, then return `nil`.
///
/// Written here because the standard library and Foundation offer no blocking bounded queue for
/// plain threads (Swift's `AsyncStream` needs the async world, which the import's LMDB write
/// transaction must not hop through: it is bound to its thread).
final class Handoff<Item: Sendable>: @unchecked Sendable {
    // Invariant: `items` and `closed` are read and written only while `condition` is locked.
    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Queues `item`, waiting for room; returns `false` (dropping it) once the handoff is closed.
    @discardableResult
    func send(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The oldest item, waiting for one; `nil` once the handoff is closed and empty.
    func receive() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    /// Ends the handoff: a waiting sender returns `false`, a waiting receiver drains and ends.
    func close() {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        condition.broadcast()
    }

    /// Whether ``close()`` was called.
    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }
}
