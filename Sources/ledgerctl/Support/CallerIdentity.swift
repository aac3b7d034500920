import Foundation
import Ledger

/// Who runs `ledgerctl`: the process's uid, named through the catalogue's `clients` section, as
/// the server names a socket peer (SPEC §7). Without a matching client the actor is `uid:<n>`.
enum CallerIdentity {
    static func actor(catalogue: Catalogue) -> String {
        let uid = getuid()
        let gid = getgid()
        let user = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        let group = getgrgid(gid).flatMap { $0.pointee.gr_name.map { String(cString: $0) } }
        let match = catalogue.clients?.first { client in
            (client.uid.map { $0 == uid } ?? false) || (client.user.map { $0 == user } ?? false)
        } ?? catalogue.clients?.first { client in
            (client.gid.map { $0 == gid } ?? false) || (client.group.map { $0 == group } ?? false)
        }
        return match?.name ?? "uid:\(uid)"
    }
}
