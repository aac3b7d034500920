import FuzzSupport
import Ledger
import Projections

/// The rules of the bundled catalogue, read once.
private let rules: ProjectionRules = {
    do { return ProjectionRules(catalogue: try Catalogue.bundled()) } catch {
        fatalError("fuzz harness: the bundled catalogue does not parse")
    }
}()

/// Target 5: the proof and checkpoint readers. ``Checkpoint/init(json:)-([UInt8])`` must give a
/// checkpoint or a ``LedgerError``; ``ProofBundle/failure(ofJSON:rules:)`` (`verify --proof`) must
/// answer, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProof(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    do {
        let checkpoint = try Checkpoint(json: bytes)
        _ = checkpoint.hasValidSignature
        let again = try Checkpoint(json: checkpoint.json.utf8)
        FuzzInput.require(again == checkpoint, "a checkpoint does not read back from its own JSON")
    } catch is LedgerError {
        // A clean refusal.
    } catch {
        FuzzInput.require(false, "threw \(type(of: error)), not a LedgerError")
    }
    _ = ProofBundle.failure(ofJSON: bytes, rules: rules)
    return 0
}
