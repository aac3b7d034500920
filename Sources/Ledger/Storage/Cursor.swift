internal import CLMDB

/// Walks a table with a cursor; shared by every reading transaction.
func walk(
    _ txn: OpaquePointer,
    _ table: Table,
    _ start: [UInt8]?,
    reverse: Bool,
    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
) throws {
    var cursor: OpaquePointer?
    try check(mdb_cursor_open(txn, table.dbi, &cursor), "mdb_cursor_open", environment: mdb_txn_env(txn))
    guard let cursor else { return }
    defer { mdb_cursor_close(cursor) }
    var key = MDB_val()
    var value = MDB_val()
    var rc: Int32
    if let start {
        rc = withValue(start) { k -> Int32 in
            key = k
            return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
        }
        if reverse {
            if rc == MDB_NOTFOUND {
                rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST)
            } else if rc == MDB_SUCCESS, !key.buffer.elementsEqual(start) {
                rc = mdb_cursor_get(cursor, &key, &value, MDB_PREV)
            }
        }
    } else {
        rc = mdb_cursor_get(cursor, &key, &value, reverse ? MDB_LAST : MDB_FIRST)
    }
    let step = reverse ? MDB_PREV : MDB_NEXT
    while rc == MDB_SUCCESS {
        guard try body(key.buffer, value.buffer) else { return }
        rc = mdb_cursor_get(cursor, &key, &value, step)
    }
    if rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get", environment: mdb_txn_env(txn)) }
}
