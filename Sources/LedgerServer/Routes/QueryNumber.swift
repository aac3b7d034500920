import Ledger

/// Range-checked numbers from a query string: only ASCII digits are numbers, so a sign, a space,
/// a fraction or an overflowing value is refused with `invalid_field` instead of wrapping.
enum QueryNumber {
    /// A seq (`after`): 0 through `UInt64.max`; absent means 0.
    static func seq(_ text: String?, name: String) throws -> UInt64 {
        guard let text else { return 0 }
        guard isDigits(text), let value = UInt64(text) else {
            throw LedgerError(.invalidField, "\(name) must be a seq: a whole number from 0 to \(UInt64.max)")
        }
        return value
    }

    /// A seq or tree size that may be absent (`nil` then).
    static func optionalSeq(_ text: String?, name: String) throws -> UInt64? {
        guard let text else { return nil }
        return try seq(text, name: name)
    }

    /// A seq or tree size that must be present: `missing_field` when it is not.
    static func requiredSeq(_ text: String?, name: String) throws -> UInt64 {
        guard let text else { throw LedgerError(.missingField, "\(name) is required") }
        return try seq(text, name: name)
    }

    /// A page size (`limit`): at least 1; absent means `defaultValue`, and a larger value (however
    /// many digits it has) is clamped to `maximum`.
    static func limit(_ text: String?, default defaultValue: Int, maximum: Int) throws -> Int {
        guard let text else { return defaultValue }
        guard isDigits(text), text.contains(where: { $0 != "0" }) else {
            throw LedgerError(.invalidField, "limit must be a whole number from 1 (larger values give \(maximum))")
        }
        guard let value = Int(text) else { return maximum }
        return min(value, maximum)
    }

    private static func isDigits(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
