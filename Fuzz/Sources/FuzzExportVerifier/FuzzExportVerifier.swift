import FuzzSupport
import Ledger

/// Target 4: `verify --export`: ``ExportVerifier/verify(path:_:)`` over any bytes as an export
/// file must give a report (the chain verifies or names the first bad seq) or a ``LedgerError``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExportVerifier(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    do {
        var seen: UInt64 = 0
        let report = try ExportVerifier.verify(path: FuzzInput.file(bytes)) { event in
            seen += 1
            FuzzInput.require(event.seq == seen, "verified seq \(event.seq) as event \(seen)")
        }
        FuzzInput.require(report.events == seen, "the report counts \(report.events), the body saw \(seen)")
    } catch is LedgerError {
        // A clean refusal.
    } catch {
        FuzzInput.require(false, "threw \(type(of: error)), not a LedgerError")
    }
    return 0
}
