#!/usr/bin/env python3
"""Reads JSON-LD consent receipts (`ledgerctl receipt --format jsonld`) with rdflib (PyPI; code
the project did not write) and prints each one's DPV consent status.

    dpv_status.py RECEIPT.jsonld ...

Prints one line per file: the IRI of its dpv:hasConsentStatus, then its record's identifier and
data subject as RDF gives them. Exits 1 when a file does not parse, or holds no status or more than
one. The context is inline: nothing is fetched.
"""
import sys

import rdflib

DPV = rdflib.Namespace("https://w3id.org/dpv#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")


def main():
    failed = False
    for path in sys.argv[1:]:
        graph = rdflib.Graph()
        with open(path, encoding="utf-8") as handle:
            graph.parse(data=handle.read(), format="json-ld")
        statuses = sorted(str(status) for status in graph.objects(None, DPV.hasConsentStatus))
        subjects = sorted(str(subject) for subject in graph.objects(None, DPV.hasDataSubject))
        if len(statuses) != 1 or len(subjects) != 1:
            print(f"INVALID {path}: statuses {statuses}, subjects {subjects}")
            failed = True
            continue
        purposes = [str(p) for node in graph.objects(None, DPV.hasPurpose) for p in graph.objects(node, DCT.identifier)]
        print(f"{statuses[0]} {subjects[0]} {','.join(purposes)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
