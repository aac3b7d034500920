import Testing

@testable import LedgerServer

/// `POST /v1/events` tells one event from a batch by its media type, parameters and case aside.
struct AppendMediaTypeTests {
    @Test func jsonNoneAndEmptyAreOneEvent() {
        for header in [nil, "", "  ", "application/json", "Application/JSON", " application/json ; charset=utf-8"] {
            #expect(AppendMediaType(contentType: header) == .event, "\(header.debugDescription)")
        }
    }

    @Test func ndjsonIsABatch() {
        for header in ["application/x-ndjson", "APPLICATION/X-NDJSON", "\tapplication/x-ndjson;charset=utf-8"] {
            #expect(AppendMediaType(contentType: header) == .batch, "\(header)")
        }
    }

    @Test func otherTypesAreRefused() {
        for header in ["text/plain", "application/jsonx", "application/json-seq", "application/x-ndjso", "json"] {
            #expect(AppendMediaType(contentType: header) == nil, "\(header)")
        }
    }
}
