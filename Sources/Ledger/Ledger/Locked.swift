import Foundation

/// A value behind an `NSLock`, reachable only inside closures.
final class Locked<Value>: @unchecked Sendable {
    // Invariant: `value` is read and written only while `lock` is held.
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
