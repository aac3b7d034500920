internal import CLMDB

/// Wraps a read-only `MDB_txn`, lent to a closure by ``Environment/read(_:)``.
///
/// - Warning: Bytes returned by ``get(_:in:)`` are copies; pointers lent to ``forEach(in:from:_:)``
///   bodies are valid only inside the body.
struct ReadTransaction: ~Copyable {
    let txn: OpaquePointer
}
