import Foundation

/// Where the ledger gets random bytes: pseudonyms, subject keys, nonces, event ids.
///
/// Production code uses ``SystemRandomSource``; tests inject a seeded source to make golden files
/// reproducible.
public protocol RandomSource: Sendable {
    /// Returns `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's cryptographically secure generator: the kernel's `/dev/urandom`, read
/// through one descriptor held for the process (one `read` per request, however large), with the
/// standard library's generator as the fallback.
public struct SystemRandomSource: RandomSource {
    /// Opened once; `read(2)` on it is thread-safe.
    private static let descriptor: Int32 = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    /// The system's random source.
    public init() {}

    /// `count` random bytes.
    public func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        if Self.descriptor >= 0 {
            out.withUnsafeMutableBytes { buffer in
                guard let base = buffer.baseAddress else { return }
                while filled < count {
                    let got = read(Self.descriptor, base + filled, count - filled)
                    if got > 0 { filled += got } else if got < 0, errno == EINTR { continue } else { break }
                }
            }
        }
        if filled == count { return out }
        var generator = SystemRandomNumberGenerator()
        var index = 0
        while index < count {
            var word = generator.next()
            for _ in 0..<8 where index < count {
                out[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return out
    }
}
