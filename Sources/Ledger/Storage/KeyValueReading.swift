/// What both transaction kinds offer for reading, so code that only reads works inside either.
protocol KeyValueReading: ~Copyable {
    func get(_ key: [UInt8], in table: Table) throws -> [UInt8]?
    func forEach(
        in table: Table, from start: [UInt8]?, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws
    func forEachReversed(
        in table: Table, from start: [UInt8]?, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws
    func count(of table: Table) throws -> Int
}

extension ReadTransaction: KeyValueReading {}
extension WriteTransaction: KeyValueReading {}
