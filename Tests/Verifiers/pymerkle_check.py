#!/usr/bin/env python3
"""Checks ConsentLedger's Merkle proofs with pymerkle's own verifier (code the project did not write).

Reads proofs as `ledgerctl prove --seq` / `--consistency` and GET /v1/proofs/... print them
(docs/AUDITING.md), one JSON object per line, and prints OK, INVALID: why or MALFORMED: why per
proof; exits 0 when every proof is OK, 1 otherwise. With --leaves FILE (the log's event hashes,
hex, one per line in seq order, as `ledgerctl export` gives them), every root a proof names must
also be the root pymerkle computes itself from those leaves.

  {"type":"inclusion","leafIndex":i,"treeSize":n,"eventHash":hex,"rootHash":hex,"hashes":[hex...]}
  {"type":"consistency","oldSize":m,"oldRootHash":hex,"treeSize":n,"rootHash":hex,"hashes":[hex...]}

Written for pymerkle 7. Inclusion proofs go to pymerkle.verify_inclusion as they are: pymerkle's
path is [leaf] + RFC 9162's PATH in the same order, with a 1-based index, and a "rule" bit list
(one per hash, 1 where the sibling is on the left, and a last 0) that pymerkle recomputes from
(index, size) and compares; it is derived here with RFC 9162 §2.1.3.2's walk.

pymerkle's consistency proofs are built differently from RFC 9162's SUBPROOF (they always descend
to a leaf of the new part), so an RFC proof cannot be given to pymerkle.verify_consistency. It is
checked as two pymerkle inclusion proofs at the tree level L = the trailing zero bits of m (which
is what RFC 9162 §2.1.4.2 checks): the proof's first node X (the old root when m is a power of
two) is block (m >> L) - 1 of a tree of ceil(n / 2^L) blocks, included in the new root by the rest
of the proof; and the left siblings of that path are X's inclusion path, as the last block, in the
old tree of m >> L blocks.
"""
import hashlib
import json
import sys

from pymerkle import InclusionProof, InmemoryTree, InvalidProof, verify_inclusion

ALG = "sha256"   # pymerkle algorithm name
SECURITY = True  # True = 0x00 leaf / 0x01 node prefixes = RFC 9162


class Malformed(Exception):
    pass


def _hex32(field, s):
    try:
        b = bytes.fromhex(s)
    except (TypeError, ValueError):
        raise Malformed(f"{field}: bad hex")
    if len(b) != 32:
        raise Malformed(f"{field}: want 32 bytes")
    return b


def _int(d, k):
    v = d.get(k)
    if not isinstance(v, int) or isinstance(v, bool):
        raise Malformed(f"missing/invalid integer {k}")
    return v


def rfc_rule(index, size, nhashes):
    """pymerkle 'rule' for a 0-based leaf index in a tree of `size` leaves,
    derived with the RFC 9162 §2.1.3.2 verification walk. None if the proof
    length cannot fit (RFC: sn must reach 0 exactly)."""
    fn, sn, bits = index, size - 1, []
    for _ in range(nhashes):
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            bits.append(1)          # sibling is on the left: H(sibling || r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            bits.append(0)          # sibling is on the right: H(r || sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return bits + [0]


def pm_inclusion(base, root, index0, size, hashes):
    """Run pymerkle.verify_inclusion on an RFC 9162 PATH. Raises InvalidProof."""
    if not 0 <= index0 < size:
        raise InvalidProof("index out of range")
    rule = rfc_rule(index0, size, len(hashes))
    if rule is None:
        raise InvalidProof("proof length does not fit (index, size)")
    proof = InclusionProof(ALG, SECURITY, size, index0 + 1, rule, [base] + list(hashes))
    verify_inclusion(base, root, proof, index=index0 + 1, size=size,
                     algorithm=ALG, security=SECURITY)


def check_inclusion(d):
    event = _hex32("eventHash", d.get("eventHash"))
    leaf = hashlib.sha256(b"\x00" + event).digest()
    if "leafHash" in d and _hex32("leafHash", d["leafHash"]) != leaf:
        raise InvalidProof("leafHash is not SHA-256(0x00 || eventHash)")
    root = _hex32("rootHash", d.get("rootHash"))
    idx, size = _int(d, "leafIndex"), _int(d, "treeSize")
    hashes = [_hex32(f"hashes[{i}]", h) for i, h in enumerate(d.get("hashes", []))]
    pm_inclusion(leaf, root, idx, size, hashes)


def check_consistency(d):
    m, n = _int(d, "oldSize"), _int(d, "treeSize")
    old = _hex32("oldRootHash", d.get("oldRootHash"))
    new = _hex32("rootHash", d.get("rootHash"))
    hashes = [_hex32(f"hashes[{i}]", h) for i, h in enumerate(d.get("hashes", []))]
    if not 0 < m <= n:
        raise InvalidProof("need 0 < oldSize <= newSize")
    if m == n:
        if hashes or old != new:
            raise InvalidProof("m == n needs an empty proof and equal roots")
        return
    if m & (m - 1) == 0:            # m is a power of two: X is the old root itself
        hashes = [old] + hashes
    if not hashes:
        raise InvalidProof("empty proof")
    L = (m & -m).bit_length() - 1   # trailing zero bits of m
    x, rest = hashes[0], hashes[1:]
    blk_index0 = (m >> L) - 1
    new_blocks = ((n - 1) >> L) + 1
    old_blocks = m >> L
    rule = rfc_rule(blk_index0, new_blocks, len(rest))
    if rule is None:
        raise InvalidProof("proof length does not fit (m, n)")
    # new root: X included at block level in the new tree
    pm_inclusion(x, new, blk_index0, new_blocks, rest)
    # old root: left siblings only = path of the last block in the old tree
    left = [h for bit, h in zip(rule, rest) if bit == 1]
    pm_inclusion(x, old, old_blocks - 1, old_blocks, left)


TREE = None  # with --leaves: pymerkle's own tree of the log's event hashes


def check_roots(d):
    """With --leaves, the roots the proof names must be the roots pymerkle computes itself."""
    if TREE is None:
        return
    for size_key, root_key in (("treeSize", "rootHash"), ("oldSize", "oldRootHash")):
        if size_key in d:
            size = _int(d, size_key)
            if not 0 < size <= TREE.get_size():
                raise InvalidProof(f"{size_key} {size} is not in the leaves given")
            if TREE.get_root(size) != _hex32(root_key, d.get(root_key)):
                raise InvalidProof(f"{root_key} is not pymerkle's root of the first {size} leaves")


def check(d):
    if not isinstance(d, dict):
        raise Malformed("want a JSON object")
    check_roots(d)
    t = d.get("type")
    if t == "inclusion":
        check_inclusion(d)
    elif t == "consistency":
        check_consistency(d)
    else:
        raise Malformed(f"unknown type {t!r}")


def run_one(text):
    try:
        check(json.loads(text))
        return 0, "OK"
    except InvalidProof as e:
        return 1, f"INVALID: {e}"
    except (Malformed, ValueError) as e:
        return 2, f"MALFORMED: {e}"


def main():
    global TREE
    args = sys.argv[1:]
    if args[:1] == ["--leaves"] and len(args) == 2:
        # One event hash (hex) per line, in seq order: the leaves' data.
        TREE = InmemoryTree(algorithm=ALG)
        with open(args[1]) as leaves:
            for line in leaves:
                if line.strip():
                    TREE.append_entry(bytes.fromhex(line.strip()))
    elif args:
        sys.exit("usage: pymerkle_check.py [--leaves EVENT_HASHES_FILE] < proofs.jsonl")
    worst = 0
    for line in sys.stdin:
        if line.strip():
            rc, msg = run_one(line)
            worst = max(worst, rc)
            print(msg)
    sys.exit(1 if worst else 0)


if __name__ == "__main__":
    main()
