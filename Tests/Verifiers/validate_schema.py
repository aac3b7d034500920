#!/usr/bin/env python3
"""Validates JSON documents against one of docs/schemas/*.schema.json with the jsonschema package
(PyPI; code the project did not write).

    validate_schema.py SCHEMA < documents.jsonl

Reads one JSON document per line and prints OK or INVALID: why per line; exits 0 when every
document is valid, 1 otherwise. The schema itself is checked against its metaschema first; the
other schemas in its directory are registered under their "$id", so references between them
("$ref": "checkpoint.schema.json") resolve with no network.
"""
import json
import pathlib
import sys

import jsonschema
from referencing import Registry, Resource


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: validate_schema.py SCHEMA < documents.jsonl")
    path = pathlib.Path(sys.argv[1])
    schema = json.loads(path.read_text())
    registry = Registry()
    for sibling in sorted(path.parent.glob("*.schema.json")):
        document = json.loads(sibling.read_text())
        registry = registry.with_resource(document["$id"], Resource.from_contents(document))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, registry=registry, format_checker=validator_class.FORMAT_CHECKER)
    failed = False
    for line in sys.stdin:
        if not line.strip():
            continue
        errors = sorted(validator.iter_errors(json.loads(line)), key=lambda e: list(e.path))
        if errors:
            failed = True
            print("INVALID: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:3]))
        else:
            print("OK")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
