import Foundation

/// Writes a parsed JSON value (as `JSONSerialization` returns it) in one canonical form: compact,
/// object keys in UTF-8 byte order, strings with only the escapes JSON requires, numbers in Swift's
/// shortest round-trip form.
///
/// The ledger owns this form instead of using `JSONSerialization`'s `.sortedKeys` (locale-aware and
/// slow): idempotency compares `data` in this form, so it must not change with a Foundation upgrade.
enum CanonicalJSON {
    /// The canonical bytes of `value`, or `nil` when it is not a JSON value.
    static func serialize(_ value: Any) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        return write(value, to: &out) ? out : nil
    }

    private static func write(_ value: Any, to out: inout [UInt8]) -> Bool {
        switch value {
        case let string as String:
            writeString(string, to: &out)
        case let number as NSNumber:
            writeNumber(number, to: &out)
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            let keys = object.keys.map { ($0, Array($0.utf8)) }.sorted { $0.1.lexicographicallyPrecedes($1.1) }
            for (index, key) in keys.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key.0, to: &out)
                out.append(UInt8(ascii: ":"))
                guard let item = object[key.0], write(item, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, item) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard write(item, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case is NSNull:
            out.append(contentsOf: "null".utf8)
        default:
            return false
        }
        return true
    }

    private static func writeNumber(_ number: NSNumber, to out: inout [UInt8]) {
        let type = String(cString: number.objCType)
        switch type {
        case "c", "B":
            out.append(contentsOf: (number.boolValue ? "true" : "false").utf8)
        case "d", "f":
            let double = number.doubleValue
            if double == double.rounded(), abs(double) < 1e15 {
                out.append(contentsOf: String(Int64(double)).utf8)
            } else {
                out.append(contentsOf: "\(double)".utf8)
            }
        case "Q", "L", "I", "S", "C":
            out.append(contentsOf: String(number.uint64Value).utf8)
        default:
            out.append(contentsOf: String(number.int64Value).utf8)
        }
    }

    /// Writes `string` as a JSON string literal.
    static func writeString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them in one piece (the same bytes the loop would write).
        let plain = string.utf8.withContiguousStorageIfAvailable { utf8 in
            utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        }
        if plain == true {
            out.append(contentsOf: string.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                    hex[Int(byte & 0xF)],
                ])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
