/// The outcome of recomputing a chain (`ledgerctl verify`, ``ChainVerifier``).
public struct VerificationReport: Sendable, Equatable {
    /// The first event that does not verify.
    public struct Failure: Error, Sendable, Equatable {
        /// What kind of failure it is: a stable code, the same from every verifier (``ChainVerifier``).
        public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
            /// The code as written in reports (`"hash_mismatch"`, …).
            public var rawValue: String
            /// Wraps a code string.
            public init(rawValue: String) { self.rawValue = rawValue }
            /// The raw value.
            public var description: String { rawValue }

            /// The seq expected next is not there: an event was removed, or later ones come early.
            public static let seqGap = Code(rawValue: "seq_gap")
            /// An event carries a seq that is not the one its position gives (repeated,
            /// reordered or renumbered; in the log: not the seq of its key).
            public static let seqOutOfOrder = Code(rawValue: "seq_out_of_order")
            /// The record cannot be read as an event (truncated, malformed, not the export fields).
            public static let recordMalformed = Code(rawValue: "record_malformed")
            /// The event's hash, recomputed by the SPEC §4 rule, is not the one it carries.
            public static let hashMismatch = Code(rawValue: "hash_mismatch")
            /// The event's `prevHash` is not the hash of the event before it.
            public static let prevHashMismatch = Code(rawValue: "prev_hash_mismatch")
            /// The event's `recordedAt` is earlier than the one before it (SPEC §3: never decreases).
            public static let recordedAtDecreased = Code(rawValue: "recorded_at_decreased")
            /// The ledger's head record does not name the last event of the log.
            public static let headMismatch = Code(rawValue: "head_mismatch")
            /// The log holds events after the recorded head.
            public static let eventsAfterHead = Code(rawValue: "events_after_head")
            /// The log cannot be read at this seq.
            public static let unreadable = Code(rawValue: "unreadable")
            /// A subject of the log has neither its key nor its erasure.
            public static let subjectKeyMissing = Code(rawValue: "subject_key_missing")
            /// A checkpoint does not hold for this log (signature, ledger, size, head, root or
            /// consistency proof).
            public static let checkpointMismatch = Code(rawValue: "checkpoint_mismatch")

            /// Every code, in the order above (pinned by a test).
            public static let all: [Code] = [
                seqGap, seqOutOfOrder, recordMalformed, hashMismatch, prevHashMismatch, recordedAtDecreased,
                headMismatch, eventsAfterHead, unreadable, subjectKeyMissing, checkpointMismatch,
            ]
        }

        /// The seq of the first bad event (for an export line whose seq cannot be read: the line number).
        public var seq: UInt64
        /// What kind of failure it is.
        public var code: Code
        /// Why it does not verify.
        public var reason: String

        /// Creates a failure naming the first bad seq, its code and why.
        public init(seq: UInt64, code: Code, reason: String) {
            self.seq = seq
            self.code = code
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

    /// `{"ok","events","headSeq","headHash"}` (+ `"failure":{"seq","code","reason"}`).
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("ok", .bool(isValid)), ("events", .int(Int64(events))), ("headSeq", .int(Int64(headSeq))),
            ("headHash", .string(headHash)),
        ]
        if let failure {
            pairs.append(
                (
                    "failure",
                    .object([
                        ("seq", .int(Int64(failure.seq))), ("code", .string(failure.code.rawValue)),
                        ("reason", .string(failure.reason)),
                    ])
                )
            )
        }
        return .object(pairs)
    }
}
