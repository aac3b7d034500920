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
            let stride = ProcessInfo.processInfo.activeProcessorCount * 4
            DispatchQueue.concurrentPerform(iterations: stride) { start in
                var index = start
                while index < input.count {
                    shared[index] = Result { try transform(input[index]) }
                    index += stride
                }
            }
        }
        return try results.map { result in
            guard let result else { throw LedgerError(.internal, "a parallel task produced no result") }
            return try result.get()
        }
    }
}
