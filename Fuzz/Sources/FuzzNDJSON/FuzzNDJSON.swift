import FuzzSupport
import Ledger

/// The bundled catalogue, read once.
private let catalogue: Catalogue = {
    do { return try Catalogue.bundled() } catch { fatalError("fuzz harness: the bundled catalogue does not parse") }
}()

/// Target 2: the NDJSON paths. `ledgerctl import`'s: ``LineReader`` over a file, then
/// ``ClientEvent/decode(json:catalogue:)`` for each line that is not blank. The first byte picks
/// the line limit (small limits reach the refusal of long lines); the rest is the file. Then the
/// socket's: ``NDJSONBatch/decode(body:catalogue:check:)`` over the same bytes as a request body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNDJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = FuzzInput.bytes(data, size)
    let limit = bytes[0] < 0x80 ? Int(bytes[0]) : LineReader.defaultMaxLineBytes
    let file = Array(bytes.dropFirst())
    do {
        var reader = try LineReader(path: FuzzInput.file(file), maxLineBytes: limit)
        var lines = 0
        while let line = try reader.next() {
            lines += 1
            FuzzInput.require(reader.lineNumber == lines, "lineNumber \(reader.lineNumber) after \(lines) lines")
            FuzzInput.require(line.count <= reader.maxLineBytes, "a line longer than the limit was returned")
            FuzzInput.require(!line.contains(UInt8(ascii: "\n")), "a line holds a newline")
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
            do {
                _ = try ClientEvent.decode(json: line, catalogue: catalogue)
            } catch is LedgerError {
                // A refused line: import names it and stops; the fuzzer reads on.
            }
        }
        FuzzInput.require(reader.bytesConsumed == UInt64(file.count), "the lines do not add up to the file")
    } catch is LedgerError {
        // A line over the limit, cleanly refused.
    } catch {
        FuzzInput.require(false, "threw \(type(of: error)), not a LedgerError")
    }
    do {
        let batch = try NDJSONBatch.decode(body: file, catalogue: catalogue)
        FuzzInput.require(batch.events.count == batch.lineNumbers.count, "events and line numbers differ")
        FuzzInput.require(zip(batch.lineNumbers, batch.lineNumbers.dropFirst()).allSatisfy(<), "lines not in order")
    } catch is LedgerError {
        // A refused batch names its line; nothing more to check.
    } catch {
        FuzzInput.require(false, "the batch decoder threw \(type(of: error)), not a LedgerError")
    }
    return 0
}
