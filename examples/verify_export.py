#!/usr/bin/env python3
"""Verify a ConsentLedger export (NDJSON) by the SPEC §4 hash rule, with the Python standard
library only — no ledger, no key, none of the product's code.

    python3 examples/verify_export.py export.ndjson

Exit 0 and "OK: N events verify; head …" when the whole chain holds; exit 1 and
"FAILED at seq K: reason" at the first event that does not. An auditor can read and run this
instead of trusting ledgerctl.
"""
import base64
import datetime
import hashlib
import json
import re
import struct
import sys

FIELDS = ["seq", "eventId", "type", "subject", "purpose", "notice", "requestId", "occurredAt",
          "recordedAt", "expiresAt", "actor", "payload", "prevHash", "hash"]
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def millis(text):
    """RFC 3339 UTC with exactly three fractional digits and Z, as milliseconds since the epoch."""
    if not TIME.match(text):
        raise ValueError(f"time {text!r} is not in the export's form")
    moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(moment.timestamp() * 1000)


def s(text):
    data = text.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def b(data):
    return struct.pack(">I", len(data)) + data


def event_hash(record, prev_hash):
    payload = base64.b64decode(record["payload"], validate=True)
    if base64.b64encode(payload).decode() != record["payload"]:
        raise ValueError("payload is not canonical base64")
    expires = millis(record["expiresAt"]) if record["expiresAt"] else 0
    data = (b"CLv1" + prev_hash + struct.pack(">Q", record["seq"]) + s(record["eventId"]) + s(record["type"])
            + s(record["subject"]) + s(record["purpose"]) + s(record["notice"]) + s(record["requestId"])
            + struct.pack(">q", millis(record["occurredAt"])) + struct.pack(">q", millis(record["recordedAt"]))
            + struct.pack(">q", expires) + s(record["actor"]) + b(payload))
    return hashlib.sha256(data).digest()


def verify(lines):
    prev = bytes(32)
    seq = 0
    last_recorded = None
    for line in lines:
        if not line.strip():
            continue
        seq += 1
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or sorted(record) != sorted(FIELDS):
                return seq, "the record does not have exactly the export fields", prev
            if record["seq"] != seq or type(record["seq"]) is not int:
                return seq, f"expected seq {seq} here: an event is missing, reordered or renumbered", prev
            if bytes.fromhex(record["prevHash"]) != prev or record["prevHash"] != record["prevHash"].lower():
                return seq, f"prevHash does not match the hash of seq {seq - 1}", prev
            digest = event_hash(record, prev)
            if digest.hex() != record["hash"]:
                return seq, "the hash does not match the record's contents", prev
            recorded = millis(record["recordedAt"])
            if last_recorded is not None and recorded < last_recorded:
                return seq, f"recordedAt is earlier than that of seq {seq - 1}", prev
            last_recorded = recorded
            prev = digest
        except (ValueError, KeyError, TypeError) as error:
            return seq, f"the record cannot be read: {error}", prev
    return None, seq, prev


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: verify_export.py EXPORT.ndjson")
    with open(sys.argv[1], encoding="utf-8") as handle:
        bad, detail, head = verify(handle)
    if bad is not None:
        print(f"FAILED at seq {bad}: {detail}")
        sys.exit(1)
    print(f"OK: {detail} events verify; head {head.hex()}")


if __name__ == "__main__":
    main()
