import Foundation

/// The baseline the benchmarks compare the ledger with: durable LMDB puts of opaque records of the
/// same size and batching, with no encryption, hashing or indexing.
package enum BareLMDBBaseline {
    /// Writes `count` records of `recordSize` bytes in transactions of `batch` puts each, every
    /// commit durable, and returns puts per second.
    package static func durablePuts(directory: String, count: Int, batch: Int, recordSize: Int) throws -> Double {
        let environment = try Environment(
            path: directory,
            tables: ["bare"],
            configuration: .init(initialMapSize: 1 << 32, mapCeiling: 1 << 36)
        )
        let table = environment.table("bare")
        let record = [UInt8](repeating: 0xAB, count: recordSize)
        let start = DispatchTime.now().uptimeNanoseconds
        var written = 0
        while written < count {
            let size = min(batch, count - written)
            let first = written
            try environment.write { txn in
                for i in first..<(first + size) {
                    _ = try txn.insert(record, forKey: EventsSchema.seqKey(UInt64(i + 1)), in: table, append: true)
                }
            }
            written += size
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(count) / seconds
    }
}
