import Testing

@testable import Ledger

/// The hex readers of stored records: pseudonyms (32 digits) and event ids (canonical UUIDs) are
/// decoded without a branch per digit, and must still refuse every byte that is not a digit.
@Suite struct HexTests {
    @Test func pseudonymsRoundTripAndAcceptEitherCase() throws {
        let bytes: [UInt8] = (0..<16).map { UInt8($0 * 17) }
        let pseudonym = try #require(Pseudonym(bytes))
        #expect(Pseudonym(hex: pseudonym.hex) == pseudonym)
        #expect(Pseudonym(hex: pseudonym.hex.uppercased()) == pseudonym)
        #expect(
            Pseudonym(hex: "0123456789abcdefFEDCBA9876543210")?.bytes == Hex.decode("0123456789abcdefFEDCBA9876543210")
        )
    }

    @Test func pseudonymsRefuseEveryNonDigitInEveryPosition() {
        let valid = Array("0123456789abcdef0123456789abcdef".utf8)
        // Bytes next to the digit ranges, and ones that share their low bits.
        let hostile: [UInt8] = [
            0x2F, 0x3A, 0x40, 0x47, 0x60, 0x67, 0x00, 0x20, 0x7F, 0x80, 0xC1, 0xE1, 0xFF, 0x10, 0x11,
        ]
        for position in valid.indices {
            for byte in hostile {
                var text = valid
                text[position] = byte
                #expect(text.withUnsafeBytes { Pseudonym(hexBytes: $0) } == nil, "byte \(byte) at \(position)")
            }
        }
        #expect(Pseudonym(hex: String(repeating: "a", count: 31)) == nil)
        #expect(Pseudonym(hex: String(repeating: "a", count: 33)) == nil)
    }

    @Test func eventIdsDecodeInPlaceAsFromText() {
        let id = "0192f1a3-7b4c-7d5e-8f60-a1b2c3d4e5f6"
        let expected = Hex.decode(id.replacingOccurrences(of: "-", with: ""))
        #expect(UUIDText.bytes(id) == expected)
        #expect(UUIDText.bytes(id.uppercased()) == expected)
        var broken = Array(id.utf8)
        for position in broken.indices where ![8, 13, 18, 23].contains(position) {
            let kept = broken[position]
            broken[position] = UInt8(ascii: "g")
            #expect(broken.withUnsafeBytes { UUIDText.bytes(utf8: $0) }.isEmpty, "position \(position)")
            broken[position] = kept
        }
        #expect(UUIDText.bytes("0192f1a37b4c7d5e8f60a1b2c3d4e5f6") == expected)
        #expect(UUIDText.bytes("0192f1a3-7b4c-7d5e-8f60-a1b2c3d4e5").isEmpty)
    }
}
