/// One NDJSON batch of client events (SPEC §7 `application/x-ndjson`, `ledgerctl import`): the one
/// decoder both use. Lines are `\n`-separated (a trailing `\r` dropped); blank lines, or lines of
/// spaces and tabs, are skipped; every other line is one event. The line numbers are kept, so an
/// error names the line of the body or file, counted from 1.
public struct NDJSONBatch: Sendable {
    /// The events, in order.
    public private(set) var events: [ClientEvent] = []
    /// The line each event came from.
    public private(set) var lineNumbers: [Int] = []

    /// An empty batch.
    public init() {}

    /// Whether the batch holds ``Ledger/maxBatchSize`` events.
    public var isFull: Bool { events.count >= Ledger.maxBatchSize }

    /// Decodes line `number` and adds its event, unless the line is blank.
    /// - Parameter check: Further checks of the decoded event (a caller's permissions).
    /// - Throws: ``LedgerError`` with `line` set to `number`: the event's refusal, or
    ///   `batch_too_large` when the batch is full already.
    public mutating func add(
        line: some Collection<UInt8>,
        number: Int,
        catalogue: Catalogue,
        check: (ClientEvent) throws -> Void = { _ in }
    ) throws {
        var bytes = Array(line)
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return }
        guard !isFull else {
            throw LedgerError(.batchTooLarge, "a batch holds at most \(Ledger.maxBatchSize) events", line: number)
        }
        do {
            let event = try ClientEvent.decode(json: bytes, catalogue: catalogue)
            try check(event)
            events.append(event)
            lineNumbers.append(number)
        } catch let error as LedgerError {
            throw error.atLine(number)
        }
    }

    /// Decodes a whole request body.
    /// - Throws: ``LedgerError`` naming the first bad line; `invalid_json` for a batch of no event.
    public static func decode(
        body: [UInt8],
        catalogue: Catalogue,
        check: (ClientEvent) throws -> Void = { _ in }
    ) throws -> NDJSONBatch {
        var batch = NDJSONBatch()
        var number = 0
        for line in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            try batch.add(line: line, number: number, catalogue: catalogue, check: check)
        }
        guard !batch.events.isEmpty else { throw LedgerError(.invalidJSON, "the batch holds no event", line: 1) }
        return batch
    }

    /// `error`, thrown while appending ``events``, with its `line` (an index into the events,
    /// from 1) turned into the line of the body or file it came from.
    public func lineOf(_ error: LedgerError) -> LedgerError {
        guard let index = error.line, index >= 1, index <= lineNumbers.count, error.code != .batchTooLarge else {
            return error
        }
        return error.atLine(lineNumbers[index - 1])
    }

    /// Empties the batch for the next chunk.
    public mutating func removeAll() {
        events.removeAll(keepingCapacity: true)
        lineNumbers.removeAll(keepingCapacity: true)
    }
}
