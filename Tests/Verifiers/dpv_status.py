#!/usr/bin/env python3
"""Reads JSON-LD consent records (`ledgerctl receipt --format jsonld`, `ledgerctl state --format
dpv`) with rdflib (PyPI; code the project did not write) and prints each record's DPV consent
status.

    dpv_status.py FILE.jsonld ...

Prints one line per record — file by file, by purpose within a file — with the IRI of its
dpv:hasConsentStatus, its dpv:hasDataSubject and its purpose's dct:identifier, as RDF gives them.
Exits 1 when a file does not parse, holds no record, or a record has no status or more than one.
The context is inline: nothing is fetched.
"""
import sys

import rdflib

DPV = rdflib.Namespace("https://w3id.org/dpv#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
CL = rdflib.Namespace("https://consentledger.invalid/receipts#")


def main():
    failed = False
    for path in sys.argv[1:]:
        graph = rdflib.Graph()
        with open(path, encoding="utf-8") as handle:
            graph.parse(data=handle.read(), format="json-ld")
        lines = []
        for record in set(graph.subjects(DPV.hasDataSubject, None)):
            statuses = [str(s) for event in graph.objects(record, CL.event)
                        for s in graph.objects(event, DPV.hasConsentStatus)]
            subjects = [str(s) for s in graph.objects(record, DPV.hasDataSubject)]
            purposes = [str(p) for node in graph.objects(record, DPV.hasPurpose)
                        for p in graph.objects(node, DCT.identifier)]
            if len(statuses) != 1 or len(subjects) != 1 or len(purposes) != 1:
                print(f"INVALID {path}: statuses {statuses}, subjects {subjects}, purposes {purposes}")
                failed = True
                continue
            lines.append((purposes[0], f"{statuses[0]} {subjects[0]} {purposes[0]}"))
        if not lines:
            print(f"INVALID {path}: no record")
            failed = True
        for _, line in sorted(lines):
            print(line)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
