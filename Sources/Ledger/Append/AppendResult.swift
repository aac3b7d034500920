/// What an append answers for one event (SPEC §7 `POST /v1/events`).
public struct AppendResult: Sendable, Equatable {
    /// The event's position in the log.
    public var seq: UInt64
    /// The event's UUID.
    public var eventId: String
    /// The event's hash, 64 hex characters.
    public var hash: String { Hex.encode(hashBytes) }
    /// The event's hash (written out only when asked for: an import never asks).
    var hashBytes: [UInt8]
    /// When the ledger appended it.
    public var recordedAt: Timestamp
    /// The subject's pseudonym.
    public var subject: String
    /// For `*.requested`: the request's id (its event id).
    public var requestId: String?
    /// For `*.requested`: the original due date.
    public var dueAt: Timestamp?
    /// `true` when the event was appended before (an idempotent retry answered 200).
    public var replayed: Bool

    /// `{"seq","eventId","hash","recordedAt","subject"}` (+ `requestId`, `dueAt`).
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("seq", .int(Int64(seq))), ("eventId", .string(eventId)), ("hash", .string(hash)),
            ("recordedAt", .string(recordedAt.rfc3339)), ("subject", .string(subject)),
        ]
        if let requestId { pairs.append(("requestId", .string(requestId))) }
        if let dueAt { pairs.append(("dueAt", .string(dueAt.rfc3339))) }
        return .object(pairs)
    }
}
