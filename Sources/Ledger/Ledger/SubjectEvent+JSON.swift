extension SubjectEvent {
    /// One event as SPEC §7's history answer lists it (and `ledgerctl history --json` prints it).
    public var json: JSONValue {
        .object([
            ("seq", .int(Int64(event.seq))), ("type", .string(event.type.rawValue)),
            ("purpose", .string(event.purpose)), ("requestId", .string(event.requestId)),
            ("occurredAt", .string(event.occurredAt.rfc3339)),
            ("recordedAt", .string(event.recordedAt.rfc3339)),
            ("actor", .string(event.actor)), ("data", data.map { .raw($0) } ?? .null),
            ("erased", .bool(erased)),
        ])
    }
}
