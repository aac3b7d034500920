import Yams

extension Catalogue {
    /// Parses a catalogue file (YAML; JSON is YAML too).
    ///
    /// Unknown keys, a purpose named twice, an unknown basis, a consent purpose without a notice
    /// version's text and every other fault are refused with the line of the fault.
    /// - Throws: ``LedgerError`` `invalid_catalogue`, its message starting `line N: `.
    public static func parse(_ text: String) throws -> Catalogue {
        try parse(text, stored: false)
    }

    /// Parses a catalogue; with `stored`, one the ledger already holds: a number that earlier
    /// versions accepted but that is now out of range (a TTL over 36,500 days, uid 4294967295) is
    /// clamped into its range instead of refused, so such a ledger still opens.
    static func parse(_ text: String, stored: Bool) throws -> Catalogue {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw CatalogueFault(line: 1, "the file is empty") }
            root = node
        } catch let error as YamlError {
            throw LedgerError(.invalidCatalogue, Self.describe(error))
        } catch let fault as CatalogueFault {
            throw fault.ledgerError
        }
        do {
            return try CatalogueReader(source: text, clampsRanges: stored).read(root)
        } catch let fault as CatalogueFault {
            throw fault.ledgerError
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "line \(mark.line): \(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "line \(context.mark.line): duplicate key \(duplicates.joined(separator: ", "))"
        default:
            return "the file is not valid YAML: \(error)"
        }
    }
}

/// A fault in a catalogue file at a line.
struct CatalogueFault: Error {
    let line: Int
    let message: String
    init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }
    var ledgerError: LedgerError { LedgerError(.invalidCatalogue, "line \(line): \(message)") }
}

/// Walks the YAML tree of a catalogue, checking every key and value.
private struct CatalogueReader {
    let source: String
    /// Whether an out-of-range whole number is clamped (a stored catalogue) rather than refused.
    let clampsRanges: Bool

    func read(_ root: Node) throws -> Catalogue {
        let top = try mapping(
            root,
            "the catalogue",
            allowed: [
                "version", "controller", "requestDeadlineDays", "extensionLimitDays", "purposes", "clients",
                "witnesses",
            ]
        )
        if let version = top["version"] {
            guard try integer(version, "version") == 1 else { throw fault(version, "version must be 1") }
        }
        guard let controllerNode = top["controller"] else { throw fault(root, "missing key controller") }
        let controller = try readController(controllerNode)
        let deadline = try top["requestDeadlineDays"].map { try integer($0, "requestDeadlineDays", in: 1...365) } ?? 30
        let extensionLimit =
            try top["extensionLimitDays"].map { try integer($0, "extensionLimitDays", in: 0...365) } ?? 60
        guard let purposesNode = top["purposes"] else { throw fault(root, "missing key purposes") }
        var purposes: [Catalogue.Purpose] = []
        for node in try sequence(purposesNode, "purposes") {
            let purpose = try readPurpose(node)
            if purposes.contains(where: { $0.id == purpose.id }) {
                throw fault(node, "purpose \(purpose.id) is named twice")
            }
            purposes.append(purpose)
        }
        var clients: [Catalogue.Client]?
        if let clientsNode = top["clients"] {
            var names = Set<String>()
            clients = try sequence(clientsNode, "clients").map { node in
                let client = try readClient(node, purposes)
                guard names.insert(client.name).inserted else {
                    throw fault(node, "client \(client.name) is named twice")
                }
                return client
            }
        }
        var catalogue = Catalogue(
            controller: controller,
            purposes: purposes,
            requestDeadlineDays: deadline,
            extensionLimitDays: extensionLimit,
            clients: clients,
            source: source
        )
        if let witnessesNode = top["witnesses"] { catalogue.witnesses = try readWitnesses(witnessesNode) }
        return catalogue
    }

    /// `controller:`: its name and contact, and the optional jurisdiction (ISO 3166-1 alpha-2),
    /// language (BCP 47), withdrawal method and storage locations of a consent record.
    private func readController(_ node: Node) throws -> Catalogue.Controller {
        let map = try mapping(
            node,
            "controller",
            allowed: ["name", "contact", "jurisdiction", "language", "withdrawalMethod", "storageLocations"]
        )
        var controller = Catalogue.Controller(
            name: try requiredString(map, "name", in: node),
            contact: try map["contact"].map { try string($0, "contact") } ?? ""
        )
        if let jurisdictionNode = map["jurisdiction"] {
            let code = try string(jurisdictionNode, "jurisdiction")
            guard code.utf8.count == 2, code.utf8.allSatisfy({ (65...90).contains($0) }) else {
                throw fault(jurisdictionNode, "jurisdiction must be an ISO 3166-1 alpha-2 code such as NO")
            }
            controller.jurisdiction = code
        }
        if let languageNode = map["language"] {
            let tag = try string(languageNode, "language")
            guard isLanguageTag(tag) else {
                throw fault(languageNode, "language must be a BCP 47 tag such as nb or en-GB")
            }
            controller.language = tag
        }
        if let methodNode = map["withdrawalMethod"] {
            controller.withdrawalMethod = try string(methodNode, "withdrawalMethod")
        }
        if let locationsNode = map["storageLocations"] {
            controller.storageLocations = try sequence(locationsNode, "storageLocations").map {
                try string($0, "a storage location")
            }
        }
        return controller
    }

    /// Whether `tag` has the shape of a BCP 47 tag: subtags of 1–8 letters or digits joined by `-`,
    /// the first of 2–8 letters.
    private func isLanguageTag(_ tag: String) -> Bool {
        let subtags = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = subtags.first, (2...8).contains(first.utf8.count),
            first.utf8.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) })
        else { return false }
        return subtags.dropFirst().allSatisfy { subtag in
            (1...8).contains(subtag.utf8.count)
                && subtag.utf8.allSatisfy {
                    (65...90).contains($0) || (97...122).contains($0) || (48...57).contains($0)
                }
        }
    }

    /// `witnesses:`, a list of tlog-cosignature/v1 verifier keys, no name or key twice.
    private func readWitnesses(_ node: Node) throws -> [WitnessKey] {
        var witnesses: [WitnessKey] = []
        for item in try sequence(node, "witnesses") {
            let witness: WitnessKey
            do {
                witness = try WitnessKey(verifierKey: try string(item, "a witness key"))
            } catch let error as LedgerError {
                throw fault(item, error.message)
            }
            guard !witnesses.contains(where: { $0.name == witness.name || $0.publicKey == witness.publicKey }) else {
                throw fault(item, "witness \(witness.name) or its key is named twice")
            }
            witnesses.append(witness)
        }
        return witnesses
    }

    private func readPurpose(_ node: Node) throws -> Catalogue.Purpose {
        let map = try mapping(
            node,
            "a purpose",
            allowed: [
                "id", "title", "basis", "processors", "retention", "consentTTLDays", "notices",
            ]
        )
        let id = try requiredString(map, "id", in: node)
        guard isIdentifier(id) else {
            throw fault(map["id"] ?? node, "purpose id \(id) must be 1–64 characters of a–z, 0–9 and -")
        }
        let basisText = try requiredString(map, "basis", in: node)
        guard let basis = Catalogue.LegalBasis(rawValue: basisText) else {
            throw fault(
                map["basis"] ?? node,
                "unknown basis \(basisText) (one of \(Catalogue.LegalBasis.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        var titles: [String: String] = [:]
        if let titleNode = map["title"] {
            if case .scalar = titleNode {
                titles["en"] = try string(titleNode, "title")
            } else {
                for (key, value) in try mapping(titleNode, "title", allowed: nil) {
                    titles[key] = try string(value, "title")
                }
            }
        }
        let processors =
            try map["processors"].map { try sequence($0, "processors").map { try string($0, "processor") } } ?? []
        let retention = try map["retention"].map { try string($0, "retention") } ?? ""
        let ttl = try map["consentTTLDays"].map { try integer($0, "consentTTLDays", in: Catalogue.dayRange) }
        var notices: [Catalogue.Notice] = []
        if let noticesNode = map["notices"] {
            for noticeNode in try sequence(noticesNode, "notices") {
                let noticeMap = try mapping(noticeNode, "a notice", allowed: ["version", "text"])
                let version = try requiredString(noticeMap, "version", in: noticeNode)
                guard !version.isEmpty, version.utf8.count <= 64, !version.contains(where: { $0.isWhitespace }) else {
                    throw fault(noticeNode, "notice version must be 1–64 characters without spaces")
                }
                guard !notices.contains(where: { $0.version == version }) else {
                    throw fault(noticeNode, "notice version \(version) of purpose \(id) is named twice")
                }
                let text = try requiredString(noticeMap, "text", in: noticeNode)
                guard !text.isEmpty else { throw fault(noticeNode, "notice \(version) has an empty text") }
                notices.append(Catalogue.Notice(version: version, text: text))
            }
        }
        if basis != .consent, !notices.isEmpty {
            throw fault(node, "purpose \(id) has basis \(basis.rawValue); only consent purposes have notices")
        }
        if basis != .consent, ttl != nil {
            throw fault(node, "purpose \(id) has basis \(basis.rawValue); only consent purposes have a consent TTL")
        }
        return Catalogue.Purpose(
            id: id,
            titles: titles,
            basis: basis,
            processors: processors,
            retention: retention,
            consentTTLDays: ttl,
            notices: notices
        )
    }

    private func readClient(_ node: Node, _ purposes: [Catalogue.Purpose]) throws -> Catalogue.Client {
        let map = try mapping(
            node,
            "a client",
            allowed: ["name", "uid", "user", "gid", "group", "roles", "purposes", "types"]
        )
        let name = try requiredString(map, "name", in: node)
        guard isIdentifier(name) else {
            throw fault(node, "client name \(name) must be 1–64 characters of a–z, 0–9 and -")
        }
        // 4294967295 is (uid_t)-1, "no id" to the kernel: no peer can have it.
        let uid = try map["uid"].map { UInt32(try integer($0, "uid", in: 0...4_294_967_294)) }
        let gid = try map["gid"].map { UInt32(try integer($0, "gid", in: 0...4_294_967_294)) }
        let user = try map["user"].map { try string($0, "user") }
        let group = try map["group"].map { try string($0, "group") }
        guard uid != nil || gid != nil || user != nil || group != nil else {
            throw fault(node, "client \(name) names no uid, user, gid or group")
        }
        var roles = Set<Catalogue.Role>()
        for roleNode in try sequence(map["roles"] ?? node, "roles") {
            let text = try string(roleNode, "role")
            guard let role = Catalogue.Role(rawValue: text) else {
                throw fault(roleNode, "unknown role \(text) (one of append, read, erase, audit)")
            }
            roles.insert(role)
        }
        let allowedPurposes = try map["purposes"].map { node in
            Set(
                try sequence(node, "purposes").map { item in
                    let id = try string(item, "purpose")
                    guard purposes.contains(where: { $0.id == id }) else { throw fault(item, "unknown purpose \(id)") }
                    return id
                }
            )
        }
        let allowedTypes = try map["types"].map { node in
            Set(
                try sequence(node, "types").map { item in
                    let text = try string(item, "type")
                    guard let type = EventType(rawValue: text) else { throw fault(item, "unknown event type \(text)") }
                    return type
                }
            )
        }
        return Catalogue.Client(
            name: name,
            uid: uid,
            user: user,
            gid: gid,
            group: group,
            roles: roles,
            purposes: allowedPurposes,
            types: allowedTypes
        )
    }

    // MARK: Typed access

    private func fault(_ node: Node, _ message: String) -> CatalogueFault {
        CatalogueFault(line: node.mark?.line ?? 1, message)
    }

    private func mapping(_ node: Node, _ what: String, allowed: Set<String>?) throws -> [String: Node] {
        guard case .mapping(let mapping) = node else { throw fault(node, "\(what) must be a mapping") }
        var out: [String: Node] = [:]
        for (keyNode, value) in mapping {
            let key = try string(keyNode, "a key")
            if let allowed, !allowed.contains(key) {
                throw fault(
                    keyNode,
                    "unknown key \(key) in \(what) (allowed: \(allowed.sorted().joined(separator: ", ")))"
                )
            }
            guard out[key] == nil else { throw fault(keyNode, "duplicate key \(key)") }
            out[key] = value
        }
        return out
    }

    private func sequence(_ node: Node, _ what: String) throws -> [Node] {
        guard case .sequence(let sequence) = node else { throw fault(node, "\(what) must be a list") }
        return Array(sequence)
    }

    private func string(_ node: Node, _ what: String) throws -> String {
        guard case .scalar(let scalar) = node else { throw fault(node, "\(what) must be text") }
        return scalar.string
    }

    private func integer(_ node: Node, _ what: String) throws -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw fault(node, "\(what) must be a whole number")
        }
        return value
    }

    /// A whole number in `range`; anything else is a fault naming the range and the line.
    private func integer(_ node: Node, _ what: String, in range: ClosedRange<Int>) throws -> Int {
        guard case .scalar(let scalar) = node,
            !scalar.string.isEmpty, scalar.string.utf8.allSatisfy({ (48...57).contains($0) || $0 == UInt8(ascii: "-") })
        else { throw fault(node, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound)") }
        guard let value = Int(scalar.string), range.contains(value) || clampsRanges else {
            throw fault(node, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return min(max(value, range.lowerBound), range.upperBound)
    }

    private func requiredString(_ map: [String: Node], _ key: String, in node: Node) throws -> String {
        guard let value = map[key] else { throw fault(node, "missing key \(key)") }
        return try string(value, key)
    }

    private func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "-") }
    }
}
