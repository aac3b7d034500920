/// The last event of the log: its seq, hash and recordedAt (SPEC §7 `GET /v1/head`).
public struct ChainHead: Sendable, Equatable {
    /// The last event's seq; 0 for an empty ledger.
    public var seq: UInt64
    /// The last event's hash; 32 zero bytes for an empty ledger.
    public var hash: [UInt8]
    /// `nil` for an empty ledger.
    public var recordedAt: Timestamp?

    /// The head of an empty ledger: seq 0, 32 zero bytes.
    public static let empty = ChainHead(seq: 0, hash: ChainHash.genesis, recordedAt: nil)

    var encoded: [UInt8] {
        var writer = ByteWriter(capacity: 48)
        writer.write(u64: seq)
        writer.write(hash)
        writer.write(i64: recordedAt?.milliseconds ?? 0)
        return writer.bytes
    }

    init(seq: UInt64, hash: [UInt8], recordedAt: Timestamp?) {
        self.seq = seq
        self.hash = hash
        self.recordedAt = recordedAt
    }

    init?(encoded: [UInt8]) {
        let decoded: ChainHead? = encoded.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            guard let seq = reader.readU64(), let hash = reader.read(count: 32), let time = reader.readI64(),
                reader.isAtEnd
            else { return nil }
            return ChainHead(seq: seq, hash: hash, recordedAt: seq == 0 ? nil : Timestamp(milliseconds: time))
        }
        guard let decoded else { return nil }
        self = decoded
    }

    /// `{"seq","hash","recordedAt"}` with `""` for an empty ledger's time.
    public var json: JSONValue {
        .object([
            ("seq", .int(Int64(seq))), ("hash", .string(Hex.encode(hash))),
            ("recordedAt", .string(recordedAt?.rfc3339 ?? "")),
        ])
    }
}
