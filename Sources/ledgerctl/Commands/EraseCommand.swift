import ArgumentParser
import Foundation
import Ledger
import LedgerClient
import LedgerServer
import Projections

/// `ledgerctl erase --subject S [--request-id R]`.
struct EraseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase a subject by crypto-shredding: destroy their key, keep the log verifiable.",
        discussion: """
            Appends erasure.completed (closing --request-id, an open erasure request), then \
            overwrites the subject's key slot and lookup entry in place and flushes them, so no file \
            keeps them (docs/ERASURE.md). The subject's events stay in the log under the pseudonym and still verify, but their \
            payloads can never be decrypted again. The same external id later is a new subject.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The subject's external id.") var subject: String
    @Option(name: .customLong("request-id"), help: "The open erasure request this executes.") var requestId: String?
    @Option(name: .long, help: ArgumentHelp("Write a signed erasure receipt here.", valueName: "file")) var receipt:
        String?

    private func writeReceipt(seq: UInt64) throws {
        guard let receipt else { return }
        let bundle = try ProofBundle.erasureReceipt(ledger: try global.openLedger(), seq: seq)
        try ProveCommand.write(bundle.json.serialized, to: receipt)
    }

    func run() throws {
        try runReporting(json: global.json) {
            let server = UnixHTTPClient(path: global.directory + "/ledger.sock")
            if server.isAnswering() {
                // The running server owns the key store: let it erase (SPEC §6).
                var body: [(String, JSONValue)] = [("subject", .string(subject))]
                if let requestId { body.append(("requestId", .string(requestId))) }
                let reply = try server.call("POST", "/v1/subjects/erase", json: JSONValue.object(body).serialized)
                if let error = reply.error { throw error }
                Output.line(global.json ? reply.text : "Erased through the running server: \(reply.text)")
                if let seq = JSONValue.parse(reply.body)?["seq"]?.uint64Value {
                    try writeReceipt(seq: seq)
                }
                return
            }
            let ledger = try global.openLedger()
            let actor = CallerIdentity.actor(catalogue: try ledger.catalogue())
            let result = try ledger.erase(subject: subject, requestId: requestId, actor: actor)
            try writeReceipt(seq: result.seq)
            if global.json {
                Output.line(result.json.serialized)
            } else {
                Output.line(
                    "Erased subject \(result.pseudonym): erasure.completed is seq \(result.seq); key slot overwritten"
                )
            }
        }
    }
}
