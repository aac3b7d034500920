import Ledger

extension ConsentReceipt {
    /// The inline JSON-LD context of a receipt (`ledgerctl receipt --format jsonld`): it maps the
    /// record's ISO/IEC TS 27560 field names to W3C DPV and Dublin Core terms, so the receipt reads
    /// as RDF with no network fetch. Keys it does not map (the export record, proof, checkpoint and
    /// signature) carry no RDF meaning; the receipt still verifies as it is.
    ///
    /// `event_state` becomes the DPV consent status IRI (`dpv:ConsentGiven`, …) of the record's
    /// `event` node, through `dpv:hasConsentStatus`.
    public static var jsonLDContext: JSONValue {
        func term(_ id: String, type: String? = nil, container: String? = nil) -> JSONValue {
            var pairs: [(String, JSONValue)] = [("@id", .string(id))]
            if let type { pairs.append(("@type", .string(type))) }
            if let container { pairs.append(("@container", .string(container))) }
            return .object(pairs)
        }
        var pairs: [(String, JSONValue)] = [
            ("dpv", .string("https://w3id.org/dpv#")), ("dct", .string("http://purl.org/dc/terms/")),
            ("xsd", .string("http://www.w3.org/2001/XMLSchema#")),
            ("cl", .string("https://consentledger.invalid/receipts#")),
            ("record", term("cl:record")), ("schema_version", term("dct:hasVersion")),
            ("record_id", term("dpv:hasIdentifier")), ("pii_principal_id", term("dpv:hasDataSubject")),
            ("privacy_notice", term("dpv:hasNotice")), ("version", term("dct:hasVersion")),
            ("sha256", term("cl:sha256")), ("language", term("dct:language")),
            ("purpose", term("dpv:hasPurpose")), ("id", term("dct:identifier")),
            ("titles", term("dct:title", container: "@language")), ("lawful_basis", term("dpv:hasLegalBasis")),
            ("pii_controllers", term("dpv:hasDataController")), ("name", term("dpv:hasName")),
            ("contact", term("dpv:hasContact")), ("storage_locations", term("cl:storageLocation")),
            ("retention_period", term("cl:retentionPeriod")), ("jurisdiction", term("dpv:hasJurisdiction")),
            ("recipient_third_parties", term("dpv:hasDataProcessor")),
            ("withdrawal_method", term("dpv:hasWithdrawalMethod")), ("event", term("cl:event")),
            ("event_time", term("dct:date", type: "xsd:dateTime")),
            ("validity_duration", term("dpv:hasDuration", type: "xsd:duration")),
            ("event_type", term("cl:eventType")), ("event_state", term("dpv:hasConsentStatus", type: "@vocab")),
        ]
        pairs += ConsentRecord.State.allCases.map { ($0.rawValue, .string("dpv:" + $0.rawValue)) }
        return .object(pairs)
    }

    /// The receipt as JSON-LD: ``json`` with ``jsonLDContext`` as its `@context`, and the
    /// signature that covers the context too (``jsonLDSignature``).
    public var jsonLD: JSONValue {
        guard case .object(let pairs) = json else { return json }
        return .object(
            [("@context", Self.jsonLDContext)]
                + pairs.map { $0.0 == "signature" ? ($0.0, .string(Hex.encode(jsonLDSignature))) : $0 }
        )
    }
}
