import FuzzSupport
import Ledger

/// The bundled catalogue, read once.
private let catalogue: Catalogue = {
    do { return try Catalogue.bundled() } catch { fatalError("fuzz harness: the bundled catalogue does not parse") }
}()

/// Target 1: the strict JSON parser and the client event decoder. Any bytes must give a value or
/// `nil` (``JSONValue/parse(_:)``) and an event or a ``LedgerError`` (``ClientEvent/decode(json:catalogue:)``);
/// what parses must serialise to text that parses back to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientEvent(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    if let value = JSONValue.parse(bytes) {
        let again = JSONValue.parse(value.utf8)
        FuzzInput.require(again == value, "the serialised value does not parse back to itself")
        let canonical = value.canonicalUTF8
        FuzzInput.require(
            JSONValue.parse(canonical)?.canonicalUTF8 == canonical,
            "the canonical text is not canonical once parsed again"
        )
    }
    do {
        _ = try ClientEvent.decode(json: bytes, catalogue: catalogue)
    } catch is LedgerError {
        // A clean refusal.
    } catch {
        FuzzInput.require(false, "decode threw \(type(of: error)), not a LedgerError")
    }
    return 0
}
