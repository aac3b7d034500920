import Foundation
import TestSupport
import Testing

@testable import Ledger

/// Shared pieces of the model-based tests (issue 10): each suite drives a real ledger with a
/// seeded sequence of operations and checks it after every commit against a plain in-memory
/// model. Every suite runs the seeds below and names the seed (and the round) in each failure;
/// the runs are fully deterministic (seeded ids, keys, nonces and a manual clock), so setting
/// `all` to that one seed and running `swift test --filter <Suite>` reproduces it.
enum ModelSeeds {
    /// The seeds every model-based test runs.
    static let all: [UInt64] = [1, 2, 3]
}

/// One client event as the tests write it: its fields in order, each value raw JSON.
struct ModelEvent: Equatable {
    var fields: [(key: String, json: String)]

    static func == (lhs: ModelEvent, rhs: ModelEvent) -> Bool {
        lhs.fields.map(\.key) == rhs.fields.map(\.key) && lhs.fields.map(\.json) == rhs.fields.map(\.json)
    }

    /// An event of `type` about `subject` with the string fields `strings` and raw `data`.
    init(_ type: String, subject: String, _ strings: [(String, String)] = [], data: String? = nil) {
        fields = [("type", Self.quoted(type)), ("subject", Self.quoted(subject))]
        fields += strings.map { ($0.0, Self.quoted($0.1)) }
        if let data { fields.append(("data", data)) }
    }

    static func quoted(_ text: String) -> String { "\"" + text + "\"" }

    /// The value of a string field, unquoted.
    func string(_ key: String) -> String? {
        fields.first { $0.key == key }.map { String($0.json.dropFirst().dropLast()) }
    }

    /// The JSON text, with the fields in their order.
    var json: String { "{" + fields.map { "\"\($0.key)\":\($0.json)" }.joined(separator: ",") + "}" }

    /// The same event with its fields in a seeded random order: the same content (SPEC §7).
    func reordered(by random: inout SplitMix64) -> ModelEvent {
        var order = self
        for index in order.fields.indices.reversed() where index > 0 {
            order.fields.swapAt(index, random.below(index + 1))
        }
        return order
    }

    /// Decoded against the bundled catalogue (parsed once: parsing it per event costs more than
    /// appending the event).
    func decoded() throws -> ClientEvent { try Fixture.event(json, catalogue: try Self.catalogue.get()) }

    private static let catalogue = Result { try Catalogue.bundled() }
}

extension SplitMix64 {
    /// A random (version 4) UUID, lower case.
    mutating func uuid() -> String {
        let raw = withUnsafeBytes(of: next()) { Array($0) } + withUnsafeBytes(of: next()) { Array($0) }
        return UUIDText.random(from: raw)
    }

    /// A number in `range`.
    mutating func inRange(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }
}

/// Runs `body` and returns the ``LedgerError`` it throws (`nil` when it returns).
func ledgerError(_ body: () throws -> Void) -> LedgerError? {
    do {
        try body()
        return nil
    } catch let error as LedgerError {
        return error
    } catch {
        return LedgerError(.internal, "unexpected: \(error)")
    }
}

/// The consent purposes of the bundled catalogue (each with notice `policy-v1`).
let modelConsentPurposes = ["newsletter", "web-analytics", "facebook-pixel", "ads-remarketing"]
