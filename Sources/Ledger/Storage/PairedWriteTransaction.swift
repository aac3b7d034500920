/// Which of the two environments of a ledger commits first when one operation writes both.
///
/// LMDB commits one environment at a time, so a crash can fall between the two commits. The
/// order decides what such a crash leaves, and it follows from what the operation does, so it is
/// named here once instead of being kept by each caller by hand.
enum CommitOrder {
    /// The key store first: for writes that create what the log will reference (a new subject's
    /// key). A crash between the commits leaves a key no event references yet, which is harmless
    /// (the key store's subject count may run ahead of the log's, never behind it); never an
    /// event whose subject key was lost.
    case keysBeforeLog
    /// The log first: for writes that destroy what the log records as destroyed (an erasure's key
    /// deletion). A crash between the commits leaves the erasure recorded with its pending marker,
    /// which the next open completes; never a subject whose key is gone without its erasure in the
    /// log.
    case logBeforeKeys
}

/// The ``Failpoint`` names a paired commit passes: before the first commit, between the two, and
/// after both.
struct CommitFailpoints {
    let beforeFirst: StaticString
    let between: StaticString
    let afterBoth: StaticString
}

/// A write transaction on the key store and one on the log, begun together by
/// ``Environment/writePaired(keys:order:failpoints:_:)`` and committed in its ``CommitOrder``.
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
        try child.commit(.keysBeforeLog, failpoints: nil)
        return result
    }

    /// Commits both, durably, in `order`, running `between` with the second transaction once the
    /// first has committed. When the first commit fails, the second transaction is aborted; when
    /// `between` or the second commit fails, the first stands (which `order` makes safe).
    consuming func commit(
        _ order: CommitOrder,
        failpoints: CommitFailpoints?,
        between: (borrowing WriteTransaction) throws -> Void = { _ in }
    ) throws {
        let keys = self.keys
        let log = self.log
        if let failpoints { Failpoint.hit(failpoints.beforeFirst) }
        switch order {
        case .keysBeforeLog:
            try keys.commit()
            if let failpoints { Failpoint.hit(failpoints.between) }
            try between(log)
            try log.commit()
        case .logBeforeKeys:
            try log.commit()
            if let failpoints { Failpoint.hit(failpoints.between) }
            try between(keys)
            try keys.commit()
        }
        if let failpoints { Failpoint.hit(failpoints.afterBoth) }
    }

    /// Commits only the transaction `order` commits first and aborts the other, as a crash
    /// between the two commits would leave them (tests of the repair at open only).
    consuming func commitFirstOnly(_ order: CommitOrder) throws {
        let keys = self.keys
        let log = self.log
        switch order {
        case .keysBeforeLog:
            log.abort()
            try keys.commit()
        case .logBeforeKeys:
            keys.abort()
            try log.commit()
        }
    }
}

extension Environment {
    /// Runs `body` with a write transaction on `keys` and one on this environment (the log), then
    /// commits both in `order`; when `body` throws, both are aborted. Like ``write(_:)``, a full
    /// map grows and `body` runs again from the start.
    ///
    /// - Parameters:
    ///   - interruptingBetweenCommits: Commit only the first of the two, as a crash between them
    ///     would (tests only).
    ///   - betweenCommits: Runs with the second transaction once the first has committed (an
    ///     erasure overwrites the key's slot there, once its event is durable).
    func writePaired<T>(
        keys: Environment,
        order: CommitOrder,
        failpoints: CommitFailpoints,
        interruptingBetweenCommits: Bool = false,
        betweenCommits: (borrowing WriteTransaction) throws -> Void = { _ in },
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
            if interruptingBetweenCommits {
                try pair.commitFirstOnly(order)
            } else {
                try pair.commit(order, failpoints: failpoints, between: betweenCommits)
            }
            return result
        }
    }
}
