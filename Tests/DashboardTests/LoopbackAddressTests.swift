import Dashboard
import Testing

/// `--dashboard` takes loopback addresses only.
struct LoopbackAddressTests {
    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080), ("127.1.2.3:0", "127.1.2.3", 0), ("[::1]:65535", "::1", 65535),
        ("[0:0:0:0:0:0:0:1]:443", "::1", 443),
    ])
    func loopbackAddressesAreTaken(text: String, host: String, port: Int) throws {
        let address = try LoopbackAddress(parsing: text)
        #expect(address.host == host && address.port == port)
    }

    @Test(arguments: [
        "0.0.0.0:8080", "192.168.1.10:8080", "10.0.0.1:80", "[::]:8080", "[fe80::1]:80", "::1:8080",
        "localhost:8080", "example.com:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:80a", "128.0.0.1:80", "[::ffff:127.0.0.1]:80", ":8080", "", "127.0.0.1:8080 ",
    ])
    func anythingElseIsRefused(text: String) {
        #expect(throws: DashboardError.self) { try LoopbackAddress(parsing: text) }
    }

    @Test func urlsBracketIPv6() throws {
        #expect(try LoopbackAddress(parsing: "[::1]:8080").description == "[::1]:8080")
        #expect(try LoopbackAddress(parsing: "127.0.0.1:8080").with(port: 9).description == "127.0.0.1:9")
    }

    @Test func hostHeadersNameTheLoopbackOrNot() {
        for name in ["localhost", "LOCALHOST", "127.0.0.1", "127.9.9.9", "[::1]", "::1"] {
            #expect(LoopbackAddress.isLoopbackName(name), "\(name)")
        }
        for name in ["evil.example", "localhost.evil.example", "0.0.0.0", "192.168.0.1", "[::2]", ""] {
            #expect(!LoopbackAddress.isLoopbackName(name), "\(name)")
        }
    }
}

/// The `Host` a request must name: the loopback, with a numeric port or none; anything else —
/// no `Host` at all, another name, text after an IPv6 literal — is answered 421 (a rebinding
/// page's requests name its own host).
struct DashboardHostTests {
    @Test func onlyLoopbackHostsWithNumericPortsAreAnswered() {
        let taken = ["127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8080", "localhost:8080", "127.9.9.9:1"]
        for authority in taken {
            #expect(DashboardHostCheck.names(authority: authority), "\(authority)")
        }
        let refused = [
            "", "example.com", "example.com:8080", "[::1]evil", "[::1]:80x", "[::1]:", "127.0.0.1:", "[::1",
            "127.0.0.1.example.com", "localhost.evil:80",
        ]
        for authority in refused {
            #expect(!DashboardHostCheck.names(authority: authority), "\(authority)")
        }
        #expect(!DashboardHostCheck.names(authority: nil))
    }
}
