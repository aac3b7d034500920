import Foundation

/// Where the dashboard listens: a loopback IP address (127.0.0.0/8 or `::1`) and a TCP port.
///
/// Only numeric loopback addresses are taken, never a host name, so the listener can never end up
/// on a network interface: `127.0.0.1:8080`, `127.0.0.2:8443`, `[::1]:8080`; port 0 asks the
/// system for a free port.
package struct LoopbackAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address as the listener binds it: dotted IPv4, or `::1`.
    package let host: String
    /// The TCP port; 0 for one the system chooses.
    package let port: Int

    /// Parses `HOST:PORT`, with an IPv6 host in brackets.
    /// - Throws: ``DashboardError`` `invalid_field` for anything that is not a loopback address and
    ///   a port from 0 to 65535.
    package init(parsing text: String) throws(DashboardError) {
        guard let colon = text.lastIndex(of: ":") else { throw Self.refusal }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText),
            (0...65_535).contains(port)
        else { throw Self.refusal }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            guard Self.isIPv6Loopback(host) else { throw Self.refusal }
            host = "::1"
        } else {
            guard Self.isIPv4Loopback(host) else { throw Self.refusal }
        }
        self.host = host
        self.port = port
    }

    /// An address from its parts, which must already be a loopback address and a port.
    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:8080` or `[::1]:8080`, as a URL names it.
    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The same host with another port (the one the system chose for port 0).
    package func with(port: Int) -> LoopbackAddress { LoopbackAddress(host: host, port: port) }

    /// Whether `host` (a `Host` header's name, without the port) names this machine's loopback:
    /// `localhost`, an address in 127.0.0.0/8, or `::1` (bracketed or not).
    package static func isLoopbackName(_ host: String) -> Bool {
        let name = host.lowercased()
        if name == "localhost" { return true }
        if name.hasPrefix("[") && name.hasSuffix("]") { return isIPv6Loopback(String(name.dropFirst().dropLast())) }
        return isIPv4Loopback(name) || isIPv6Loopback(name)
    }

    private static let refusal = DashboardError(
        .invalidField,
        "--dashboard takes a loopback address and a port, such as 127.0.0.1:8080 or [::1]:8080"
    )

    private static func isIPv4Loopback(_ text: String) -> Bool {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return false }
        // s_addr is in network byte order: its first byte in memory is the first octet.
        return withUnsafeBytes(of: &address) { $0.first == 127 }
    }

    private static func isIPv6Loopback(_ text: String) -> Bool {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return false }
        return withUnsafeBytes(of: &address) { bytes in bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1 }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
