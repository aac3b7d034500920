import Foundation
import Ledger

/// Who a caller is: a socket peer (by SO_PEERCRED) or the user running `ledgerctl`, named through
/// the catalogue's `clients` section (SPEC §7). Authorisation is by uid and gid, never pid.
package struct CallerIdentity: Sendable {
    /// The actor recorded on events: the client's name, or `uid:<n>` for a peer without one.
    package var actor: String
    /// The roles the caller holds.
    package var roles: Set<Catalogue.Role>
    /// When set, the purposes this caller may append for.
    package var purposes: Set<String>?
    /// When set, the event types this caller may append.
    package var types: Set<EventType>?

    /// Every role, built once rather than for each request.
    private static let everyRole = Set(Catalogue.Role.allCases)

    /// Resolves `uid`/`gid` through `catalogue`. Without a `clients` section only `trustedUID`
    /// (the server's own user) and root are let in, with every role.
    package static func resolve(uid: UInt32, gid: UInt32, catalogue: Catalogue, trustedUID: UInt32) -> CallerIdentity {
        guard let clients = catalogue.clients else {
            let trusted = uid == 0 || uid == trustedUID
            return CallerIdentity(
                actor: "uid:\(uid)",
                roles: trusted ? everyRole : [],
                purposes: nil,
                types: nil
            )
        }
        let user = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        let group = getgrgid(gid).flatMap { $0.pointee.gr_name.map { String(cString: $0) } }
        let match =
            clients.first { client in
                (client.uid.map { $0 == uid } ?? false) || (client.user.map { $0 == user } ?? false)
            }
            ?? clients.first { client in
                (client.gid.map { $0 == gid } ?? false) || (client.group.map { $0 == group } ?? false)
            }
        guard let match else { return CallerIdentity(actor: "uid:\(uid)", roles: [], purposes: nil, types: nil) }
        return CallerIdentity(actor: match.name, roles: match.roles, purposes: match.purposes, types: match.types)
    }

    /// The identity of the user running this process.
    package static func current(catalogue: Catalogue) -> CallerIdentity {
        resolve(uid: getuid(), gid: getgid(), catalogue: catalogue, trustedUID: getuid())
    }

    /// The actor for events appended from the command line.
    package static func actor(catalogue: Catalogue) -> String { current(catalogue: catalogue).actor }

    /// Throws `forbidden` unless the caller holds `role`.
    package func require(_ role: Catalogue.Role) throws {
        guard roles.contains(role) else {
            throw LedgerError(.forbidden, "this client does not hold the \(role.rawValue) role")
        }
    }

    /// Throws `forbidden` when the caller may not append `event`.
    package func checkAppend(_ event: ClientEvent) throws {
        try require(.append)
        if let types, !types.contains(event.type) {
            throw LedgerError(.forbidden, "this client may not append \(event.type.rawValue) events")
        }
        if let purposes, let purpose = event.purpose, !purposes.contains(purpose) {
            throw LedgerError(.forbidden, "this client may not append events for purpose \(purpose)")
        }
    }
}
