import Foundation

extension Ledger {
    /// What an import appended.
    public struct ImportSummary: Sendable, Equatable {
        /// Events appended by this import.
        public let appended: Int
        /// Lines that repeated an event already in the ledger (same `eventId`, same content).
        public let replayed: Int
    }

    /// Appends the client events of an NDJSON stream (`ledgerctl import`), atomically in chunks of
    /// ``maxBatchSize`` lines: each chunk commits with fsync before the next one does; a refused
    /// line stops the import with nothing of its chunk appended, the chunks before it committed.
    ///
    /// While a chunk commits on the calling thread, a second thread reads, decodes and prepares
    /// (``prepare(_:)``) the next one, so the serial writer never waits for parsing. The order of
    /// commits, the atomicity of each chunk and the errors are those of reading and appending the
    /// chunks one after the other.
    ///
    /// - Parameters:
    ///   - reader: The stream; blank lines are skipped.
    ///   - actor: Who appends.
    ///   - catalogue: The catalogue the lines are decoded against (the ledger's).
    ///   - progress: Called on the calling thread after each chunk commits, with the bytes consumed.
    /// - Throws: ``LedgerError`` naming the refused line, with how many events earlier chunks committed.
    public func importNDJSON(
        from reader: consuming LineReader,
        actor: String,
        catalogue: Catalogue,
        progress: (UInt64) -> Void = { _ in }
    ) throws -> ImportSummary {
        let chunks = Handoff<ImportChunk>(capacity: 2)
        let retired = RetiredChunks()
        let producerDone = DispatchSemaphore(value: 0)
        let producer = ImportChunkProducer(
            ledger: self,
            reader: reader,
            catalogue: catalogue,
            chunks: chunks,
            retired: retired
        )
        let thread = Thread {
            producer.run()
            producerDone.signal()
        }
        thread.name = "ledger-import-reader"
        thread.start()
        defer {
            // Stops the reader if the import ends early, then waits for it: it holds the file.
            chunks.close()
            producerDone.wait()
        }

        var appended = 0
        var replayed = 0
        while let next = chunks.receive() {
            switch next {
            case .end:
                return ImportSummary(appended: appended, replayed: replayed)
            case .refused(let error):
                throw LedgerError(
                    error.code,
                    error.message + " (\(appended) events before this line's chunk were committed)",
                    line: error.line
                )
            case .chunk(let batch, let prepared, let bytesConsumed):
                do {
                    let results = try append(prepared.get(), actor: actor)
                    Failpoint.hit("import.afterChunk")
                    let replays = results.lazy.filter(\.replayed).count
                    replayed += replays
                    appended += results.count - replays
                    retired.retire(next, results)
                } catch let error as LedgerError {
                    let located = batch.lineOf(error)
                    throw LedgerError(
                        located.code,
                        located.message + " (\(appended) events of earlier chunks were committed)",
                        line: located.line
                    )
                }
                progress(bytesConsumed)
            }
        }
        throw LedgerError(.internal, "the import's reader stopped without reaching the end of its input")
    }

    /// Appends a batch made by ``prepare(_:)`` atomically, as ``append(_:actor:)`` does.
    public func append(_ prepared: PreparedBatch, actor: String) throws -> [AppendResult] {
        try checkPreparedHere(prepared)
        return try commit([(prepared.events, actor)], isolatingBatches: false)[0].get()
    }
}

/// What the import's reader hands the writer: a decoded and prepared chunk, a refusal, or the end.
private enum ImportChunk: Sendable {
    case chunk(NDJSONBatch, Result<PreparedBatch, LedgerError>, bytesConsumed: UInt64)
    /// A line that cannot be read or decoded; `line` names it.
    case refused(LedgerError)
    case end
}

/// The chunks the writer has committed, with their answers, to be freed on the reading thread.
///
/// A chunk is ten thousand events, each with its decoded fields, sealed payload and answer:
/// freeing them was a third of the writer's time in an import (the allocator's and the
/// reference counts' work), while the writer is the thread the import waits on. The reader frees
/// them before it prepares its next chunk instead.
private final class RetiredChunks: Sendable {
    private let chunks = Locked<[(ImportChunk, [AppendResult])]>([])

    /// Hands over a committed chunk and its answers.
    func retire(_ chunk: ImportChunk, _ results: [AppendResult]) {
        chunks.withLock { $0.append((chunk, results)) }
    }

    /// Frees the chunks handed over so far, on the calling thread.
    func free() {
        let taken = chunks.withLock { chunks in
            defer { chunks = [] }
            return chunks
        }
        _ = consume taken
    }
}

/// The import's reading thread: reads lines into chunks, decodes and prepares each, and hands it
/// on, until the end of the input, a refused line, or the handoff closing.
private final class ImportChunkProducer: @unchecked Sendable {
    // Invariant: `reader` is used by the producing thread only, after `init` returns.
    private let ledger: Ledger
    private var reader: LineReader
    private let catalogue: Catalogue
    private let chunks: Handoff<ImportChunk>
    private let retired: RetiredChunks

    init(
        ledger: Ledger,
        reader: consuming LineReader,
        catalogue: Catalogue,
        chunks: Handoff<ImportChunk>,
        retired: RetiredChunks
    ) {
        self.ledger = ledger
        self.reader = reader
        self.catalogue = catalogue
        self.chunks = chunks
        self.retired = retired
    }

    func run() {
        var batch = NDJSONBatch()
        func handOff() -> Bool {
            guard !batch.events.isEmpty else { return true }
            retired.free()
            let prepared = Result { () throws(LedgerError) in try ledger.prepareTyped(batch.events) }
            defer { batch = NDJSONBatch() }
            return chunks.send(.chunk(batch, prepared, bytesConsumed: reader.bytesConsumed))
        }
        do {
            while let line = try reader.next() {
                try batch.add(line: line, number: reader.lineNumber, catalogue: catalogue)
                if batch.isFull, !handOff() { return }
                if chunks.isClosed { return }
            }
        } catch let error as LedgerError {
            // Each error names its line already: the reader's the line it refused, the decoder's its own.
            chunks.send(.refused(error))
            return
        } catch {
            chunks.send(.refused(LedgerError(.internal, "the import's reader failed", line: reader.lineNumber)))
            return
        }
        if handOff() { chunks.send(.end) }
    }
}

extension Ledger {
    /// ``prepare(_:)`` with its one error type stated, for `Result`.
    fileprivate func prepareTyped(_ events: [ClientEvent]) throws(LedgerError) -> PreparedBatch {
        do {
            return try prepare(events)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.internal, "preparing a chunk failed")
        }
    }
}
