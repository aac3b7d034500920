internal import CLMDB
import Foundation

/// Lends `bytes` to LMDB as an `MDB_val` for the duration of `body`.
///
/// - Warning: The `MDB_val` must not escape `body`.
@inline(__always)
func withValue<T>(_ bytes: some ContiguousBytes, _ body: (inout MDB_val) throws -> T) rethrows -> T {
    try bytes.withUnsafeBytes { raw in
        var value = MDB_val(mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
        return try body(&value)
    }
}

extension MDB_val {
    /// The bytes LMDB returned, valid only until the transaction ends or the next write.
    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: mv_data, count: mv_size) }
}
