/// The two bodies `POST /v1/events` takes, told apart by the request's `Content-Type`.
enum AppendMediaType: Equatable {
    /// `application/json`, an empty header or none: one event.
    case event
    /// `application/x-ndjson`: a batch, one event a line.
    case batch

    /// The media type of `header` without its parameters (`; charset=utf-8`), compared without
    /// regard to case and with the optional white space of RFC 9110 (spaces and tabs) around it;
    /// `nil` for any other type.
    ///
    /// Works on the header's bytes: this runs for every append, and Foundation's trimming
    /// bridged each header through `NSString`, a few per cent of the request tasks' time.
    init?(contentType header: String?) {
        guard let header else {
            self = .event
            return
        }
        var bytes = header.utf8[...]
        if let semicolon = bytes.firstIndex(of: UInt8(ascii: ";")) { bytes = bytes[..<semicolon] }
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while let first = bytes.first, isSpace(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, isSpace(last) { bytes = bytes.dropLast() }
        if bytes.isEmpty {
            self = .event
        } else if Self.equalsIgnoringCase(bytes, "application/json") {
            self = .event
        } else if Self.equalsIgnoringCase(bytes, "application/x-ndjson") {
            self = .batch
        } else {
            return nil
        }
    }

    /// Whether `bytes` spell `lowercase` (ASCII, lower case) in any case.
    private static func equalsIgnoringCase(_ bytes: Substring.UTF8View, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, wanted in
                let lowered = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
                return lowered == wanted
            }
        }
    }
}
