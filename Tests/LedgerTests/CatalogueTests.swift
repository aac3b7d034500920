import Foundation
import Testing

@testable import Ledger

struct CatalogueTests {
    @Test func bundledCatalogueHasTheSeedPurposesAndBases() throws {
        let catalogue = try Catalogue.bundled()
        let bases = Dictionary(uniqueKeysWithValues: catalogue.purposes.map { ($0.id, $0.basis.rawValue) })
        #expect(
            bases == [
                "newsletter": "consent", "web-analytics": "consent", "facebook-pixel": "consent",
                "ads-remarketing": "consent", "orders-quotes": "contract", "customer-accounting": "legal_obligation",
                "courses": "contract", "surveys": "consent", "job-applicants": "contract",
                "personality-tests": "consent", "employees-payroll": "legal_obligation",
            ]
        )
        #expect(catalogue.requestDeadlineDays == 30)
        #expect(catalogue.extensionLimitDays == 60)
        #expect(catalogue.clients == nil)
        for purpose in catalogue.purposes {
            #expect(purpose.titles["nb"] != nil && purpose.titles["en"] != nil)
            #expect(!purpose.processors.isEmpty)
            #expect(!purpose.retention.isEmpty)
            if purpose.basis == .consent {
                #expect(purpose.notices.map(\.version) == ["policy-v1"])
            } else {
                #expect(purpose.notices.isEmpty)
            }
        }
    }

    @Test func bundledNoticesAreVerbatimPolicyParagraphs() throws {
        let policyPath = Fixture.file("personvernerklaering.txt").path
        let policy = try #require(
            FileManager.default.contents(atPath: policyPath).flatMap { String(data: $0, encoding: .utf8) }
        )
        let paragraphs = Set(policy.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for purpose in try Catalogue.bundled().purposes {
            for notice in purpose.notices {
                #expect(paragraphs.contains(notice.text), "notice of \(purpose.id) is not a policy paragraph")
                #expect(notice.sha256.count == 64)
            }
        }
    }

    @Test func duplicatePurposeIsRefusedWithItsLine() {
        let text = """
            controller: {name: X}
            purposes:
              - id: a
                basis: contract
              - id: a
                basis: contract
            """
        let error = #expect(throws: LedgerError.self) { try Catalogue.parse(text) }
        #expect(error?.code == .invalidCatalogue)
        #expect(error?.message.hasPrefix("line 5:") == true)
    }

    @Test func unknownBasisIsRefusedWithItsLine() {
        let text = "controller: {name: X}\npurposes:\n  - id: a\n    basis: whim\n"
        let error = #expect(throws: LedgerError.self) { try Catalogue.parse(text) }
        #expect(error?.message.hasPrefix("line 4:") == true)
        #expect(error?.message.contains("whim") == true)
    }

    @Test func malformedYAMLIsRefusedWithItsLine() {
        let text = "controller: {name: X}\npurposes:\n  - id: a\n   basis: [\n"
        let error = #expect(throws: LedgerError.self) { try Catalogue.parse(text) }
        #expect(error?.code == .invalidCatalogue)
        #expect(error?.message.hasPrefix("line ") == true)
    }

    @Test func unknownKeyIsRefused() {
        let text = "controller: {name: X}\npurposes:\n  - id: a\n    basis: contract\n    basys: consent\n"
        let error = #expect(throws: LedgerError.self) { try Catalogue.parse(text) }
        #expect(error?.message.hasPrefix("line 5:") == true)
    }

    @Test func controllerRecordFieldsAreParsedAndOptional() throws {
        let bundled = try Catalogue.bundled().controller
        #expect(bundled.jurisdiction == "NO")
        #expect(bundled.language == "nb")
        #expect(bundled.withdrawalMethod.contains("post@activepeople.no"))
        #expect(bundled.storageLocations.count == 2)
        let bare = try Catalogue.parse("controller: {name: X}\npurposes: []\n").controller
        #expect(bare.jurisdiction.isEmpty && bare.language.isEmpty && bare.withdrawalMethod.isEmpty)
        #expect(bare.storageLocations.isEmpty)
        let full = try Catalogue.parse(
            """
            controller:
              name: X
              jurisdiction: SE
              language: sv-SE
              withdrawalMethod: "Write to us"
              storageLocations: ["Stockholm", "Oslo"]
            purposes: []
            """
        ).controller
        #expect(full.jurisdiction == "SE" && full.language == "sv-SE" && full.withdrawalMethod == "Write to us")
        #expect(full.storageLocations == ["Stockholm", "Oslo"])
    }

    @Test(arguments: [
        ("controller:\n  name: X\n  jurisdiction: Norway\npurposes: []\n", "line 3:"),
        ("controller:\n  name: X\n  language: \"n b\"\npurposes: []\n", "line 3:"),
        ("controller:\n  name: X\n  storageLocations: here\npurposes: []\n", "line 3:"),
        ("controller:\n  name: X\n  withdrawalMethod: [a]\npurposes: []\n", "line 3:"),
        ("controller:\n  name: X\n  storage: [a]\npurposes: []\n", "line 3:"),
    ])
    func badControllerRecordFieldsAreRefusedWithTheirLine(text: String, line: String) {
        let error = #expect(throws: LedgerError.self) { try Catalogue.parse(text) }
        #expect(error?.code == .invalidCatalogue)
        #expect(error?.message.hasPrefix(line) == true, "\(error?.message ?? "")")
    }

    @Test func clientsSectionIsParsed() throws {
        let text = """
            controller: {name: X}
            purposes:
              - id: news
                basis: consent
            clients:
              - name: web-signup
                uid: 1001
                roles: [append, read]
                purposes: [news]
                types: [consent.granted]
            """
        let client = try #require(try Catalogue.parse(text).clients?.first)
        #expect(client.uid == 1001)
        #expect(client.roles == [.append, .read])
        #expect(client.types == [.consentGranted])
    }

    @Test func noticeTextCannotChangeOnceLoaded() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let changed = Catalogue.bundledSource.replacingOccurrences(
            of: "Activepeople sender av og til ut nyhetsbrev",
            with: "Activepeople sender ofte ut nyhetsbrev"
        )
        let error = #expect(throws: LedgerError.self) { try ledger.loadCatalogue(try Catalogue.parse(changed)) }
        #expect(error?.code == .invalidCatalogue)
        #expect(
            try ledger.catalogue().purpose("newsletter")?.notices.first?.text.hasPrefix("Activepeople sender av")
                == true
        )
        // A new version with the new text is accepted.
        let added = Catalogue.bundledSource.replacingOccurrences(
            of: "      - version: policy-v1\n        text: \"Activepeople sender av",
            with:
                "      - version: policy-v2\n        text: \"Ny tekst.\"\n      - version: policy-v1\n        text: \"Activepeople sender av"
        )
        try ledger.loadCatalogue(try Catalogue.parse(added))
        #expect(try ledger.catalogue().purpose("newsletter")?.notice("policy-v2") != nil)
    }
}
