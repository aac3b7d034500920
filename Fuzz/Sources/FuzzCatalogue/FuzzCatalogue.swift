import FuzzSupport
import Ledger

/// Target 3: the catalogue parser (YAML through Yams). Any text must give a catalogue or a
/// ``LedgerError`` `invalid_catalogue`; a catalogue parsed from its own source is the same again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCatalogue(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let catalogue = try Catalogue.parse(text)
        let again = try Catalogue.parse(catalogue.source)
        FuzzInput.require(again.purposes.map(\.id) == catalogue.purposes.map(\.id), "a reparse differs")
    } catch let error as LedgerError {
        FuzzInput.require(error.code == .invalidCatalogue, "refused with \(error.code), not invalid_catalogue")
    } catch {
        FuzzInput.require(false, "threw \(type(of: error)), not a LedgerError")
    }
    return 0
}
