/// The ``Failpoint`` names a paired commit passes: before the first commit, between the two, and
/// after both.
struct CommitFailpoints {
    let beforeFirst: StaticString
    let between: StaticString
    let afterBoth: StaticString
}

/// A write transaction on the key store and one on the log, begun together by
/// ``Environment/writePaired(keys:failpoints:_:)`` and committed key store first.
///
/// LMDB commits one environment at a time, so a crash can fall between the two commits. The key
/// store commits first because paired writes create what the log will reference (a new subject's
/// key): a crash between the commits leaves a key no event references yet, which is harmless (the
/// key store's subject count may run ahead of the log's, never behind it); never an event whose
/// subject key was lost. (An erasure, which destroys a key, writes the log first, in steps of its
/// own: ``Ledger/erase(subject:requestId:actor:)``.)
///
/// - Warning: Use it on the thread that began it, inside the body it was lent to.
struct PairedWriteTransaction: ~Copyable {
    let keysEnvironment: Environment
    let logEnvironment: Environment
    /// The key store's transaction.
    let keys: WriteTransaction
    /// The log's transaction.
    let log: WriteTransaction

    /// Runs `body` in transactions nested in both: when it returns, its changes join these
    /// transactions; when it throws, they are rolled back in both and the error rethrown.
    func nested<T>(_ body: (borrowing PairedWriteTransaction) throws -> T) throws -> T {
        let child = PairedWriteTransaction(
            keysEnvironment: keysEnvironment,
            logEnvironment: logEnvironment,
            keys: try keysEnvironment.beginWrite(parent: keys),
            log: try logEnvironment.beginWrite(parent: log)
        )
        let result = try body(child)
        // A child's commit only merges into its parent; nothing reaches the disk yet.
        try child.commit(failpoints: nil)
        return result
    }

    /// Commits both, durably, the key store first. When the first commit fails, the second
    /// transaction is aborted; when the second fails, the first stands (which the order makes safe).
    consuming func commit(failpoints: CommitFailpoints?) throws {
        let keys = self.keys
        let log = self.log
        if let failpoints { Failpoint.hit(failpoints.beforeFirst) }
        try keys.commit()
        if let failpoints { Failpoint.hit(failpoints.between) }
        try log.commit()
        if let failpoints { Failpoint.hit(failpoints.afterBoth) }
    }
}

extension Environment {
    /// Runs `body` with a write transaction on `keys` and one on this environment (the log), then
    /// commits both, the key store first; when `body` throws, both are aborted. Like ``write(_:)``,
    /// a full map grows and `body` runs again from the start.
    func writePaired<T>(
        keys: Environment,
        failpoints: CommitFailpoints,
        _ body: (borrowing PairedWriteTransaction) throws -> T
    ) throws -> T {
        try withTransactions(also: [keys]) {
            let pair = PairedWriteTransaction(
                keysEnvironment: keys,
                logEnvironment: self,
                keys: try keys.beginWrite(),
                log: try beginWrite()
            )
            let result = try body(pair)
            try pair.commit(failpoints: failpoints)
            return result
        }
    }
}
