#!/usr/bin/env python3
"""Verify a ConsentLedger consent receipt (`ledgerctl receipt`) with the Python standard library
only — no ledger, no key, none of the product's code (docs/RECEIPTS.md).

    python3 examples/verify_receipt.py receipt.json

It checks what `ledgerctl verify --receipt` checks: the checkpoint's Ed25519 signature, the export
record's hash (SPEC §4, by verify_export.py's code), the RFC 9162 inclusion proof against the
checkpoint, the receipt's Ed25519 signature over
"CLrc2" ‖ i64 asOf ms ‖ u32 length ‖ canonical JSON of the @context (none in the JSON form) ‖
canonical JSON of the record ‖ event hash ‖ u64 tree size ‖ root, and that the record's
event fields match the event. Exit 0 and "OK: …" when all hold; exit 1 and "FAILED: reason".

The standard library has no Ed25519, so this carries the reference verification of RFC 8032 §6
(slow, not constant-time: fine for checking public signatures).
"""
import hashlib
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_export import event_hash, millis, s  # noqa: E402  (the SPEC §4 chain rule, one copy)

# --- Ed25519 verification, after RFC 8032 §6 -------------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def point_add(a, b):
    A, B = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    C, Dd = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def point_mul(k, point):
    result = (0, 1, 1, 0)
    while k > 0:
        if k & 1:
            result = point_add(result, point)
        point = point_add(point, point)
        k >>= 1
    return result


def point_equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def point_decompress(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


G_Y = 4 * pow(5, P - 2, P) % P
G = (recover_x(G_Y, 0), G_Y, 1, recover_x(G_Y, 0) * G_Y % P)


def ed25519_verify(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    A = point_decompress(public)
    R = point_decompress(signature[:32])
    if A is None or R is None:
        return False
    S = int.from_bytes(signature[32:], "little")
    if S >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return point_equal(point_mul(S, G), point_add(R, point_mul(h, A)))


# --- The ledger's byte strings ---------------------------------------------------------------


def canonical_string(text):
    """A JSON string as the ledger's canonical writer escapes it."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F or code in (0x2028, 0x2029):
            out.append("\\u%04x" % code)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(value):
    """Compact JSON, object keys sorted by their UTF-8 bytes at every level (the record has no numbers
    but whole ones, which are written as they are)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: key.encode("utf-8"))
        return "{" + ",".join(canonical_string(key) + ":" + canonical(value[key]) for key in keys) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, str):
        return canonical_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    raise ValueError("the record holds a number that is not whole")


def checkpoint_bytes(checkpoint):
    recorded = millis(checkpoint["recordedAt"]) if checkpoint["recordedAt"] else 0
    return (b"CLcp1" + s(checkpoint["ledgerId"]) + struct.pack(">Q", checkpoint["treeSize"])
            + hex32(checkpoint["rootHash"]) + hex32(checkpoint["headHash"]) + struct.pack(">q", recorded))


def hex64(text):
    if not isinstance(text, str) or len(text) != 128 or text != text.lower():
        raise ValueError("a signature is 128 lowercase hexadecimal characters")
    return bytes.fromhex(text)


def no_duplicates(pairs):
    """json's object hook: a key given twice is refused (json itself keeps the last)."""
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("an object names a key twice")
    return dict(pairs)


def hex32(text):
    if not isinstance(text, str) or len(text) != 64 or text != text.lower():
        raise ValueError("a hash is 64 lowercase hexadecimal characters")
    return bytes.fromhex(text)


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


STATES = {"consent.granted": {"ConsentGiven", "RenewedConsentGiven", "ConsentExpired"},
          "consent.withdrawn": {"ConsentWithdrawn"}}


PARTS = {"@context", "kind", "asOf", "record", "exportRecord", "proof", "checkpoint", "signature"}


def whole(value):
    """A JSON whole number (json reads true as 1 where Python compares: refuse it)."""
    if type(value) is not int:
        raise ValueError("a seq or tree size is a whole number")
    return value


def check(receipt):
    """What fails, or None when the receipt verifies."""
    if not isinstance(receipt, dict) or receipt.get("kind") != "consent-receipt":
        return "the receipt is malformed"
    if not set(receipt) <= PARTS:
        return "the receipt holds a part no receipt has"
    record, event, proof = receipt.get("record"), receipt.get("exportRecord"), receipt.get("proof")
    checkpoint = receipt.get("checkpoint")
    if not all(isinstance(part, dict) for part in (record, event, proof, checkpoint)):
        return "the receipt is malformed"
    public = hex32(checkpoint["publicKey"])
    if not ed25519_verify(public, checkpoint_bytes(checkpoint), hex64(checkpoint["signature"])):
        return "the checkpoint's signature is not valid (forged or altered)"
    digest = event_hash(event, hex32(event["prevHash"]))
    if digest.hex() != event["hash"]:
        return "the export record's hash does not match its contents"
    size, root = whole(checkpoint["treeSize"]), hex32(checkpoint["rootHash"])
    whole(event["seq"])
    leaf = hashlib.sha256(b"\x00" + digest).digest()
    if (proof.get("type") != "inclusion" or proof.get("leafIndex") != event["seq"] - 1
            or proof.get("seq", event["seq"]) != event["seq"] or proof.get("treeSize") != size
            or proof.get("rootHash") != checkpoint["rootHash"] or proof.get("eventHash") != event["hash"]
            or proof.get("leafHash", leaf.hex()) != leaf.hex()):
        return "the inclusion proof is malformed or names another leaf, tree or root"
    path = [hex32(item) for item in proof["hashes"]]
    if not verify_inclusion(leaf, event["seq"] - 1, size, path, root):
        return "the event is not in the checkpointed log (its inclusion proof fails)"
    as_of = millis(receipt["asOf"])
    context = canonical(receipt["@context"]).encode("utf-8") if "@context" in receipt else b""
    signed = (b"CLrc2" + struct.pack(">q", as_of) + struct.pack(">I", len(context)) + context
              + canonical(record).encode("utf-8") + digest + struct.pack(">Q", size) + root)
    if not ed25519_verify(public, signed, hex64(receipt["signature"])):
        return "the receipt signature is not valid for this record, date, context, event and checkpoint"
    if millis(event["occurredAt"]) > as_of:
        return "the receipt's asOf lies before its event"
    part = record.get("event") or {}
    for name, got, want in [
        ("schema_version", record.get("schema_version"), "consentledger-27560/1"),
        ("record_id", record.get("record_id"), event["eventId"]),
        ("pii_principal_id", record.get("pii_principal_id"), event["subject"]),
        ("purpose", (record.get("purpose") or {}).get("id"), event["purpose"]),
        ("event_time", part.get("event_time"), event["occurredAt"]),
        ("event_type", part.get("event_type"), event["type"]),
    ]:
        if got != want:
            return f"the record's {name} does not match the event"
    if part.get("event_state") not in STATES.get(event["type"], set()):
        return "the record's event_state does not match the event"
    return None


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: verify_receipt.py RECEIPT.json")
    try:
        with open(sys.argv[1], encoding="utf-8") as handle:
            receipt = json.load(handle, object_pairs_hook=no_duplicates)
        failure = check(receipt)
    except (ValueError, KeyError, TypeError, AttributeError, struct.error) as error:
        failure = f"the receipt cannot be read: {error}"
    if failure:
        print(f"FAILED: {failure}")
        sys.exit(1)
    print(f"OK: event {receipt['exportRecord']['seq']} is in the log of the checkpoint of "
          f"{receipt['checkpoint']['treeSize']} events and the signed record describes it")
    print(f"  signing key {receipt['checkpoint']['publicKey']}: compare it with the one the operator publishes")


if __name__ == "__main__":
    main()
