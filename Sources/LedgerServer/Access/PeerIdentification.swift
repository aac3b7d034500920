/// How the server learns the Unix credentials of each request's caller, which the catalogue's
/// `clients` section then names (SPEC §7).
package enum PeerIdentification: Sendable {
    /// Read with `SO_PEERCRED` from the request's Unix-socket connection, once per connection.
    /// What a server on a socket does.
    case socketCredentials
    /// Every request comes from these credentials, whatever its channel.
    /// - Warning: For in-process tests only, whose requests have no socket to ask; a server on a
    ///   socket must use ``socketCredentials``.
    case fixed(PeerCredentials)
}
