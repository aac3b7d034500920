import Foundation

/// Pure work spread over every core. Only computations that touch no LMDB handle run here; the
/// transaction stays on its own thread.
enum Parallel {
    /// `items.map(transform)`, on every core when there are at least `threshold` items.
    static func map<T, R>(_ items: [T], threshold: Int = 64, _ transform: @Sendable (T) throws -> R) throws -> [R] {
        guard items.count >= threshold else { return try items.map(transform) }
        var results = [Result<R, any Error>?](repeating: nil, count: items.count)
        results.withUnsafeMutableBufferPointer { buffer in
            // Each index is written by exactly one iteration, so iterations never share an element.
            nonisolated(unsafe) let shared = buffer
            nonisolated(unsafe) let input = items
            // Contiguous blocks, a few per core so a preempted thread delays little: neighbouring
            // results are written by one thread, never two sharing a cache line.
            let blocks = min(input.count, ProcessInfo.processInfo.activeProcessorCount * 4)
            DispatchQueue.concurrentPerform(iterations: blocks) { block in
                let end = input.count * (block + 1) / blocks
                for index in (input.count * block / blocks)..<end {
                    shared[index] = Result { try transform(input[index]) }
                }
            }
        }
        return try results.map { result in
            guard let result else { throw LedgerError(.internal, "a parallel task produced no result") }
            return try result.get()
        }
    }
}
