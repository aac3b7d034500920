/// The outcome of recomputing a chain (`ledgerctl verify`).
public struct VerificationReport: Sendable, Equatable {
    /// The first event that does not verify.
    public struct Failure: Error, Sendable, Equatable {
        /// The seq of the first bad event (for an export line whose seq cannot be read: the line number).
        public var seq: UInt64
        /// Why it does not verify.
        public var reason: String

        /// Creates a failure naming the first bad seq and why.
        public init(seq: UInt64, reason: String) {
            self.seq = seq
            self.reason = reason
        }
    }

    /// How many events were checked.
    public var events: UInt64
    /// The last event's seq and hash as verified.
    public var headSeq: UInt64
    /// The last verified event's hash, as hex.
    public var headHash: String
    /// The first failure; `nil` when everything verified.
    public var failure: Failure?

    /// Whether everything verified.
    public var isValid: Bool { failure == nil }

    /// `{"ok","events","headSeq","headHash"}` (+ `"failure":{"seq","reason"}`).
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("ok", .bool(isValid)), ("events", .int(Int64(events))), ("headSeq", .int(Int64(headSeq))),
            ("headHash", .string(headHash)),
        ]
        if let failure {
            pairs.append(
                ("failure", .object([("seq", .int(Int64(failure.seq))), ("reason", .string(failure.reason))]))
            )
        }
        return .object(pairs)
    }
}
