import ArgumentParser
import Foundation
import Ledger
import Projections

/// `ledgerctl prove (--subject S | --pseudonym P) [--as-of T] [--out FILE]`, `ledgerctl prove --seq S
/// [--tree-size N]`, `ledgerctl prove --consistency M [N]`.
struct ProveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract:
            "Write a proof bundle for one subject: its consent state at T, its events and their inclusion proofs.",
        discussion: """
            The bundle holds a signed checkpoint, the export records of the subject's events \
            (pseudonym and ciphertext only — no one else's data), an RFC 9162 inclusion proof of \
            each, and the consent state they give at T. Anyone can check it offline with \
            `ledgerctl verify --proof FILE`, with no ledger. It cannot show that no other event of \
            the subject exists: compare its checkpoint with one published independently.

            With --seq S, prints the RFC 9162 inclusion proof of event S in the tree of the first \
            N events (--tree-size; default the head); --leaf-hash H finds the event by its RFC \
            9162 leaf hash (SHA-256 of 0x00 and the event hash; it reads the log); with --consistency M [N], the consistency \
            proof from the tree of the first M events to that of the first N (default the head). \
            Both print JSON with leafIndex/treeSize/rootHash and the hashes in RFC 9162 order, \
            which standard verifiers check as they are (docs/AUDITING.md, "Proofs").
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var who: SubjectOptions
    @Option(name: .customLong("as-of"), help: "An RFC 3339 time; default now.") var asOf: String?
    @Option(name: .long, help: ArgumentHelp("Write the bundle here instead of standard output.", valueName: "file"))
    var out: String?
    @Option(name: .long, help: ArgumentHelp("Prove the inclusion of the event with this seq.", valueName: "seq"))
    var seq: UInt64?
    @Option(
        name: .customLong("leaf-hash"),
        help: ArgumentHelp("Prove the inclusion of the event with this RFC 9162 leaf hash (hex).", valueName: "hash")
    )
    var leafHash: String?
    @Option(
        name: .customLong("tree-size"),
        help: ArgumentHelp("With --seq or --leaf-hash: the tree to prove it in (default: the head).", valueName: "n")
    )
    var treeSize: UInt64?
    @Option(
        name: .long,
        parsing: .upToNextOption,
        help: ArgumentHelp("Prove that the tree of N events (default: the head) extends that of M.", valueName: "m [n]")
    )
    var consistency: [UInt64] = []

    func validate() throws {
        let modes = [who.isGiven, seq != nil, leafHash != nil, !consistency.isEmpty].filter { $0 }.count
        guard modes == 1 else {
            throw ValidationError("give one of --subject/--pseudonym, --seq, --leaf-hash or --consistency")
        }
        guard consistency.count <= 2 else { throw ValidationError("--consistency takes M and at most one N") }
        guard treeSize == nil || seq != nil || leafHash != nil else {
            throw ValidationError("--tree-size goes with --seq or --leaf-hash")
        }
        guard asOf == nil || who.isGiven else { throw ValidationError("--as-of goes with --subject or --pseudonym") }
    }

    func run() throws {
        try runReporting(json: global.json) {
            let ledger = try global.openLedger()
            if let seq {
                try ProveCommand.write(ledger.proveInclusion(seq: seq, treeSize: treeSize).json.serialized, to: out)
                return
            }
            if let leafHash {
                guard let bytes = Hex.decode(leafHash) else {
                    throw LedgerError(.invalidField, "a leaf hash is 64 hexadecimal characters")
                }
                try ProveCommand.write(
                    ledger.proveInclusion(leafHash: bytes, treeSize: treeSize).json.serialized,
                    to: out
                )
                return
            }
            if let from = consistency.first {
                let proof = try ledger.proveConsistency(from: from, to: consistency.dropFirst().first)
                try ProveCommand.write(proof.json.serialized, to: out)
                return
            }
            let time = try parseTime(asOf, option: "--as-of")
            let pseudonym = try who.resolve(in: ledger) ?? ""
            let bundle = try ProofBundle.subjectState(ledger: ledger, pseudonym: pseudonym, asOf: time)
            try ProveCommand.write(bundle.json.serialized, to: out)
        }
    }

    static func write(_ text: String, to path: String?) throws {
        guard let path else {
            Output.line(text)
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: Data((text + "\n").utf8)) else {
            throw LedgerError(.ioError, "cannot write \(path)")
        }
    }
}
