/// A subject's pseudonym as a dictionary key: its 16 bytes held as two integers, so hashing and
/// comparing cost two words instead of sixteen bytes one by one.
struct Pseudonym: Hashable, Sendable {
    let high: UInt64
    let low: UInt64

    /// Creates a pseudonym from its 16 bytes; `nil` for any other length.
    init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 {
            high = high << 8 | UInt64(bytes[i])
            low = low << 8 | UInt64(bytes[i + 8])
        }
        self.high = high
        self.low = low
    }
}
