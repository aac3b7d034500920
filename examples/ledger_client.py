#!/usr/bin/env python3
"""A small ConsentLedger client for service authors: HTTP/1.1 + JSON over the ledger's Unix
socket, with nothing but the Python standard library.

    python3 examples/ledger_client.py /path/to/ledger/ledger.sock

appends a consent, retries it (same eventId: the same answer), queries the subject's consents and
prints the chain head. Import `LedgerClient` in your own service the same way.
"""
import http.client
import json
import socket
import sys
import uuid


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTPConnection that connects to a Unix domain socket instead of a TCP port."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class LedgerError(Exception):
    """A refused call: `code` is one of SPEC §7's stable codes."""

    def __init__(self, status, code, message, line=None):
        super().__init__(f"{status} {code}: {message}" + (f" (line {line})" if line else ""))
        self.status, self.code, self.message, self.line = status, code, message, line


class LedgerClient:
    """One keep-alive connection to a ConsentLedger server."""

    def __init__(self, socket_path):
        self.connection = UnixHTTPConnection(socket_path)

    def _call(self, method, path, body=None, content_type="application/json"):
        headers = {"Content-Type": content_type} if body is not None else {}
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 400:
            error = json.loads(data)["error"]
            raise LedgerError(response.status, error["code"], error["message"], error.get("line"))
        return data

    def append(self, event):
        """Appends one event; returns the ledger's answer (seq, eventId, hash, recordedAt, subject).
        Give every event an eventId so a retry after a timeout is answered, not duplicated."""
        event.setdefault("eventId", str(uuid.uuid4()))
        return json.loads(self._call("POST", "/v1/events", json.dumps(event)))

    def append_batch(self, events):
        """Appends up to 10,000 events atomically: all of them, or none and the first bad line."""
        body = "\n".join(json.dumps(e) for e in events)
        return json.loads(self._call("POST", "/v1/events", body, "application/x-ndjson"))["events"]

    def consents(self, subject, as_of=None):
        query = {"subject": subject}
        if as_of:
            query["asOf"] = as_of
        return json.loads(self._call("POST", "/v1/consents/query", json.dumps(query)))

    def head(self):
        return json.loads(self._call("GET", "/v1/head"))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: ledger_client.py SOCKET")
    client = LedgerClient(sys.argv[1])
    grant = {"type": "consent.granted", "subject": "alice@example.com", "purpose": "newsletter",
             "notice": "policy-v1", "data": {"source": "footer-form"}}
    first = client.append(dict(grant))
    again = client.append(dict(grant, eventId=first["eventId"]))
    assert again == first, "a retry with the same eventId gets the same answer"
    try:
        client.append({"type": "consent.granted", "subject": "alice@example.com", "purpose": "courses"})
    except LedgerError as error:
        print("refused as expected:", error.code)
    print(json.dumps(client.consents("alice@example.com"), indent=2))
    print("head:", client.head())


if __name__ == "__main__":
    main()
