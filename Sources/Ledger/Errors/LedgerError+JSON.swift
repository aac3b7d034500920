extension LedgerError {
    /// The error object of SPEC §7: `{"error":{"code","message"(,"line")}}`, as the server answers
    /// it and `--json` prints it.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("code", .string(code.rawValue)), ("message", .string(message))]
        if let line { pairs.append(("line", .int(Int64(line)))) }
        return .object([("error", .object(pairs))])
    }
}
