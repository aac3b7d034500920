/// The outcome of one whole-ledger check — `ledgerctl verify` (the chain) or `ledgerctl rebuild`
/// (everything derived from it) — as `<ledger>/integrity-status.json` keeps it for the dashboard:
/// which check, when it started, how long it took, the head it reached and what it found.
///
/// It holds stable codes and sequence numbers only, never a message, a pseudonym or any data, so
/// the file may be shown to whoever may see the dashboard.
package struct IntegrityRun: Sendable, Equatable {
    /// Which check ran.
    package enum Check: String, Sendable, CaseIterable {
        /// `ledgerctl verify`: every event's hash and link recomputed.
        case verify
        /// `ledgerctl rebuild [--repair]`: every index, Merkle node, snapshot and request record
        /// compared with a refold of the log.
        case rebuild
    }

    /// How many runs of each check the file keeps (the newest).
    package static let kept = 16

    /// Which check ran.
    package var check: Check
    /// Whether everything verified or matched.
    package var ok: Bool
    /// What did not: a verify failure's code (`hash_mismatch`, …), a rebuild difference's
    /// (`snapshot_mismatch`, …) or the ``LedgerError`` code that stopped the check; `nil` when `ok`.
    package var code: String?
    /// The first event that did not verify, when the check names one.
    package var failedSeq: UInt64?
    /// The head the check reached: the last event verified, or the events folded.
    package var headSeq: UInt64
    /// Whether `rebuild --repair` wrote the derived structures again before comparing.
    package var repaired: Bool
    /// When the check started.
    package var startedAt: Timestamp
    /// How long it took, in milliseconds.
    package var milliseconds: Int64

    /// A run from its fields.
    package init(
        check: Check,
        ok: Bool,
        code: String? = nil,
        failedSeq: UInt64? = nil,
        headSeq: UInt64,
        repaired: Bool = false,
        startedAt: Timestamp,
        milliseconds: Int64
    ) {
        self.check = check
        self.ok = ok
        self.code = code
        self.failedSeq = failedSeq
        self.headSeq = headSeq
        self.repaired = repaired
        self.startedAt = startedAt
        self.milliseconds = milliseconds
    }

    /// When the check ended.
    package var finishedAt: Timestamp { Timestamp(milliseconds: startedAt.milliseconds &+ milliseconds) }

    /// `{"check","ok","code"?,"failedSeq"?,"headSeq","repaired","startedAt","milliseconds"}`.
    package var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("check", .string(check.rawValue)), ("ok", .bool(ok))]
        if let code { pairs.append(("code", .string(code))) }
        if let failedSeq { pairs.append(("failedSeq", .int(Int64(clamping: failedSeq)))) }
        pairs += [
            ("headSeq", .int(Int64(clamping: headSeq))), ("repaired", .bool(repaired)),
            ("startedAt", .string(startedAt.rfc3339)), ("milliseconds", .int(milliseconds)),
        ]
        return .object(pairs)
    }

    /// A run read back from ``json``; `nil` when a field is missing or malformed.
    package init?(json: JSONValue) {
        guard let checkText = json["check"]?.stringValue, let check = Check(rawValue: checkText),
            case .bool(let ok)? = json["ok"], case .bool(let repaired)? = json["repaired"],
            let headSeq = json["headSeq"]?.uint64Value, let startText = json["startedAt"]?.stringValue,
            let startedAt = Timestamp(rfc3339: startText), let milliseconds = json["milliseconds"]?.uint64Value
        else { return nil }
        let code = json["code"]
        let failedSeq = json["failedSeq"]
        guard code == nil || code?.stringValue != nil, failedSeq == nil || failedSeq?.uint64Value != nil else {
            return nil
        }
        self.init(
            check: check,
            ok: ok,
            code: code?.stringValue,
            failedSeq: failedSeq?.uint64Value,
            headSeq: headSeq,
            repaired: repaired,
            startedAt: startedAt,
            milliseconds: Int64(clamping: milliseconds)
        )
    }
}
