/// A batch of client events with the work that needs no ledger state already done
/// (``Ledger/prepare(_:)``), ready for ``Ledger/appendGroup(_:)``. A server prepares each request's
/// batch on the request's own thread, leaving the single writer only the work that must be serial.
public struct PreparedBatch: Sendable {
    let events: [PreparedEvent]
    /// The ledger that prepared it: its subjects and sealed payloads are that ledger's, and the
    /// writer trusts a subject preparation found (``Ledger/appendGroup(_:)`` refuses another's).
    let ledgerId: String

    /// How many events the batch holds.
    public var count: Int { events.count }
}
