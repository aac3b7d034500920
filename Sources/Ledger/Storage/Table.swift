internal import CLMDB

/// Wraps `MDB_dbi`: one named database inside an ``Environment``.
///
/// Handles are opened once at start-up and are valid for the environment's lifetime.
struct Table: Sendable {
    let dbi: MDB_dbi
    let name: String
}
