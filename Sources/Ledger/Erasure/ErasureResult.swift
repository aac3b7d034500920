/// What executing an erasure answers (SPEC §7 `POST /v1/subjects/erase`).
public struct ErasureResult: Sendable, Equatable {
    /// The seq of the `erasure.completed` event.
    public var seq: UInt64
    /// The erased subject's pseudonym; its events stay in the log under it.
    public var pseudonym: String
    /// The hash of the `erasure.completed` event.
    public var hash: String

    /// `{"seq","pseudonym"}`.
    public var json: JSONValue { .object([("seq", .int(Int64(seq))), ("pseudonym", .string(pseudonym))]) }
}
