/// SplitMix64: a tiny, fully specified generator whose whole state is its seed, so one seed makes
/// one run on every machine and no test depends on the standard library's random algorithms.
/// Both test targets use it, through the `TestSupport` target.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    /// A generator that starts from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (0 when `bound` is less than 1).
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
    /// `true` with a chance of `percent` in 100.
    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    /// One of `items`, or `nil` when there are none.
    public mutating func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[below(items.count)] }
}
