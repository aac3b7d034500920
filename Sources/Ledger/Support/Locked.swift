import Foundation

/// A value behind an `NSLock`, reachable only inside closures.
package final class Locked<Value>: @unchecked Sendable {
    // Invariant: `value` is read and written only while `lock` is held.
    private var value: Value
    private let lock = NSLock()

    package init(_ value: Value) { self.value = value }

    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
