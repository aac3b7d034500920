import Foundation
import LedgerClient
import TestSupport
import Testing

/// `ledgerctl serve` against real clients (SPEC §7, §10).
@Suite(.serialized)
struct ServerTests {
    private func newServer(
        _ scratch: Scratch,
        catalogue: String? = nil,
        extra: [String] = [],
        initArguments more: [String] = []
    ) throws -> TestServer {
        let ledger = scratch.path + "/ledger"
        var initArguments = ["init"] + more
        if let catalogue {
            let path = scratch.path + "/catalogue.yaml"
            try catalogue.write(toFile: path, atomically: true, encoding: .utf8)
            initArguments += ["--policy", path]
        }
        #expect(try LedgerctlRunner(ledger: ledger).run(initArguments).status == 0)
        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        return try TestServer(ledger: ledger, socket: scratch.path + "/run/ledger.sock", extraArguments: extra)
    }

    static func grant(_ subject: String, id: String? = nil) -> String {
        let eventId = id.map { #","eventId":"\#($0)""# } ?? ""
        return
            #"{"type":"consent.granted","subject":"\#(subject)","purpose":"newsletter","notice":"policy-v1"\#(eventId)}"#
    }

    @Test func everyCallAndItsErrorCodes() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        let id = "a1000000-0000-4000-8000-000000000001"
        var reply = try server.call("POST", "/v1/events", Self.grant("alice@example.com", id: id))
        #expect(reply.status == 201)
        #expect(reply.json?["seq"] as? Int == 1)
        #expect(try server.call("POST", "/v1/events", Self.grant("alice@example.com", id: id)).status == 200)
        reply = try server.call(
            "POST",
            "/v1/events",
            #"{"type":"consent.withdrawn","subject":"alice@example.com","purpose":"newsletter","eventId":"\#(id)"}"#
        )
        #expect(reply.status == 409 && errorCode(reply.json) == "event_id_conflict")

        let refusals: [(String, Int, String)] = [
            ("{oops", 400, "invalid_json"),
            (#"{"type":"access.requested","subject":"a","actor":"mallory"}"#, 400, "unknown_field"),
            (#"{"type":"access.requested"}"#, 400, "missing_field"),
            (#"{"type":"access.requested","subject":"a","eventId":"x"}"#, 400, "invalid_field"),
            (#"{"type":"consent.revoked","subject":"a"}"#, 400, "unknown_type"),
            (#"{"type":"erasure.completed","subject":"a"}"#, 403, "forbidden"),
            (
                #"{"type":"consent.granted","subject":"a","purpose":"telepathy","notice":"policy-v1"}"#, 422,
                "unknown_purpose"
            ),
            (#"{"type":"consent.granted","subject":"a","purpose":"courses"}"#, 422, "purpose_not_consent_based"),
            (#"{"type":"consent.granted","subject":"a","purpose":"newsletter","notice":"v9"}"#, 422, "unknown_notice"),
            (
                #"{"type":"access.requested","subject":"a","occurredAt":"2099-01-01T00:00:00Z"}"#, 422,
                "occurred_in_future"
            ),
            (
                #"{"type":"access.completed","subject":"alice@example.com","requestId":"\#(id)"}"#, 422,
                "request_not_open"
            ),
        ]
        for (body, status, code) in refusals {
            let refused = try server.call("POST", "/v1/events", body)
            #expect(refused.status == status && errorCode(refused.json) == code, "\(body)")
            #expect((refused.json?["error"] as? [String: Any])?["line"] == nil)
        }
        let big = #"{"type":"access.requested","subject":"a","data":{"x":"\#(String(repeating: "y", count: 17_000))"}}"#
        #expect(errorCode(try server.call("POST", "/v1/events", big).json) == "payload_too_large")
        let huge = String(repeating: "x", count: (1 << 20) + 10)
        let tooBig = try server.call("POST", "/v1/events", huge)
        #expect(tooBig.status == 413 && errorCode(tooBig.json) == "payload_too_large")
        let manyLines = Array(repeating: #"{"type":"access.requested","subject":"a"}"#, count: 10_001).joined(
            separator: "\n"
        )
        let tooMany = try server.call("POST", "/v1/events", manyLines, contentType: "application/x-ndjson")
        #expect(tooMany.status == 413 && errorCode(tooMany.json) == "batch_too_large")

        // A batch with a bad line appends nothing and names the line.
        let batch = [
            Self.grant("bob@example.com"), "", #"{"type":"access.requested","subject":"bob@example.com","colour":1}"#,
        ]
        .joined(separator: "\n")
        reply = try server.call("POST", "/v1/events", batch, contentType: "application/x-ndjson")
        #expect(reply.status == 400 && errorCode(reply.json) == "unknown_field")
        #expect((reply.json?["error"] as? [String: Any])?["line"] as? Int == 3)
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == 1)
        let good = [
            Self.grant("bob@example.com"),
            #"{"type":"access.requested","subject":"bob@example.com","eventId":"b1000000-0000-4000-8000-000000000001"}"#,
            #"{"type":"access.completed","subject":"bob@example.com","requestId":"b1000000-0000-4000-8000-000000000001"}"#,
        ]
        reply = try server.call("POST", "/v1/events", good.joined(separator: "\n"), contentType: "application/x-ndjson")
        #expect(reply.status == 201)
        #expect((reply.json?["events"] as? [[String: Any]])?.map { $0["seq"] as? Int } == [2, 3, 4])

        // Reads.
        reply = try server.call("POST", "/v1/consents/query", #"{"subject":"alice@example.com"}"#)
        #expect((reply.json?["consents"] as? [[String: Any]])?.first?["status"] as? String == "granted")
        #expect(
            errorCode(try server.call("POST", "/v1/consents/query", #"{"subject":"nobody"}"#).json)
                == "subject_not_found"
        )
        #expect(
            errorCode(try server.call("POST", "/v1/consents/query", #"{"subject":"a","extra":1}"#).json)
                == "unknown_field"
        )
        reply = try server.call("POST", "/v1/subjects/history", #"{"subject":"bob@example.com"}"#)
        #expect((reply.json?["events"] as? [Any])?.count == 3)
        reply = try server.call("GET", "/v1/requests?status=all")
        #expect((reply.json?["requests"] as? [[String: Any]])?.first?["status"] as? String == "completed")
        #expect((reply.json?["requests"] as? [[String: Any]])?.first?["overdue"] as? Bool == false)
        #expect(errorCode(try server.call("GET", "/v1/requests?status=maybe").json) == "invalid_field")
        #expect((try server.call("GET", "/v1/purposes").json?["purposes"] as? [Any])?.count == 11)
        reply = try server.call("GET", "/v1/log?after=1&limit=2")
        #expect(reply.text.split(separator: "\n").count == 2)
        #expect(try server.call("GET", "/healthz").status == 200)
        let checkpoint = try server.call("GET", "/v1/checkpoint")
        #expect(checkpoint.json?["treeSize"] as? Int == 4)
        #expect((checkpoint.json?["signature"] as? String)?.count == 128)
        #expect(try server.call("GET", "/metrics").text.contains("ledger_appended_events_total 4"))
        reply = try server.call("GET", "/v1/nowhere")
        #expect(reply.status == 404 && errorCode(reply.json) == "not_found")
        reply = try server.call("DELETE", "/v1/head")
        #expect(reply.status == 405 && errorCode(reply.json) == "method_not_allowed")

        // Erasure.
        reply = try server.call("POST", "/v1/subjects/erase", #"{"subject":"alice@example.com"}"#)
        #expect(reply.status == 200 && reply.json?["seq"] as? Int == 5)
        #expect(
            errorCode(try server.call("POST", "/v1/subjects/erase", #"{"subject":"alice@example.com"}"#).json)
                == "subject_not_found"
        )
        #expect(server.stop() == 0)
        #expect(Fixtures.filesContaining("alice@example.com", under: scratch.path + "/ledger").isEmpty)
    }

    @Test func anOverdueRequestOverTheSocketIsOpenAndFlaggedOverdue() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        let opened = #"{"type":"access.requested","subject":"late@example.com","occurredAt":"2025-01-05T10:00:00Z"}"#
        #expect(try server.call("POST", "/v1/events", opened).status == 201)
        let reply = try server.call("GET", "/v1/requests?status=overdue")
        #expect(reply.status == 200)
        let rows = try #require(reply.json?["requests"] as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["status"] as? String == "open")
        #expect(rows.first?["overdue"] as? Bool == true)
        #expect(server.stop() == 0)
    }

    @Test func sixteenClientsAppendingAtOnceGetContiguousSeqs() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        let failures = Counter()
        onThreads(16) { client in
            for n in 0..<100 {
                let reply = try? server.call("POST", "/v1/events", Self.grant("c\(client)-\(n)@example.com"))
                if reply?.status != 201 { failures.add() }
            }
        }
        #expect(failures.value == 0)
        let export = try LedgerctlRunner(ledger: server.ledger).run(["export"]).stdout
        let seqs = export.split(separator: "\n").compactMap { jsonObject(String($0))?["seq"] as? Int }
        #expect(seqs == Array(1...1_600))
        #expect(try LedgerctlRunner(ledger: server.ledger).run(["verify"]).status == 0)
        #expect(server.stop() == 0)
    }

    @Test func aFullQueueMakesAppendsWaitAndDropsNothing() throws {
        let scratch = Scratch()
        // Room for 4 waiting events: most requests find the queue full and wait their turn; a
        // batch of 10 is more than the whole queue and is let in when the queue is empty.
        let server = try newServer(scratch, extra: ["--queue-capacity", "4"])
        let failures = Counter()
        onThreads(20) { client in
            for n in 0..<25 {
                let status: Int?
                if client < 4 {
                    let batch = (0..<10).map { Self.grant("q\(client)-\(n)-\($0)@example.com") }.joined(separator: "\n")
                    status = try? server.call("POST", "/v1/events", batch, contentType: "application/x-ndjson").status
                } else {
                    status = try? server.call("POST", "/v1/events", Self.grant("q\(client)-\(n)@example.com")).status
                }
                if status != 201 { failures.add() }
            }
        }
        #expect(failures.value == 0)
        let total = 4 * 25 * 10 + 16 * 25
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == total)
        let verify = try LedgerctlRunner(ledger: server.ledger).run(["verify", "--json"])
        #expect(jsonObject(verify.stdout)?["headSeq"] as? Int == total)
        let metrics = try server.call("GET", "/metrics").text
        let waits = metrics.split(separator: "\n").first { $0.hasPrefix("ledger_queue_waits_total ") }
        #expect(Double(waits?.split(separator: " ").last ?? "") ?? 0 > 0, "no request waited: the queue never filled")
        #expect(server.stop() == 0)
    }

    @Test func retriesRacingTheirOriginalGetTheOriginalsAnswer() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        for round in 0..<5 {
            let id = String(format: "e%07d-0000-4000-8000-000000000001", round)
            let statuses = Collected()
            let seqs = Collected()
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                if let reply = try? server.call("POST", "/v1/events", Self.grant("r\(round)@example.com", id: id)) {
                    statuses.add(String(reply.status))
                    seqs.add(String(reply.json?["seq"] as? Int ?? -1))
                }
            }
            #expect(statuses.values.filter { $0 == "201" }.count == 1)
            #expect(statuses.values.filter { $0 == "200" }.count == 7)
            #expect(Set(seqs.values).count == 1)
        }
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == 5)
        #expect(server.stop() == 0)
    }

    @Test func everyAcknowledgedAppendSurvivesSIGKILL() throws {
        let scratch = Scratch()
        let first = try newServer(scratch)
        let acknowledged = Collected()
        let running = Flag()
        let group = DispatchGroup()
        for client in 0..<4 {
            DispatchQueue.global().async(group: group) {
                var n = 0
                while running.isSet {
                    let id = String(format: "d%07d-0000-4000-8000-%012d", client, n)
                    if let reply = try? first.call("POST", "/v1/events", Self.grant("k\(client)@example.com", id: id)),
                        reply.status == 201
                    {
                        acknowledged.add(id)
                    }
                    n += 1
                }
            }
        }
        // Kill it while appends flow, however loaded the machine is.
        let deadline = Date().addingTimeInterval(30)
        while acknowledged.values.count < 20, Date() < deadline { usleep(20_000) }
        first.stop(SIGKILL)
        running.clear()
        group.wait()
        #expect(!acknowledged.values.isEmpty)
        #expect(FileManager.default.fileExists(atPath: first.socket), "a killed server leaves its socket")
        // The stale socket is replaced; every acknowledged event is there; the chain verifies.
        let server = try TestServer(ledger: first.ledger, socket: first.socket)
        let ctl = LedgerctlRunner(ledger: server.ledger)
        #expect(try ctl.run(["verify"]).status == 0)
        let ids = Set(
            try ctl.run(["export"]).stdout.split(separator: "\n").compactMap {
                jsonObject(String($0))?["eventId"] as? String
            }
        )
        #expect(acknowledged.values.allSatisfy { ids.contains($0) })
        #expect(server.stop() == 0)
    }

    @Test func theExamplePythonClientWorks() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../examples/ledger_client.py"
        )
        .standardized.path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, server.socket]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains("refused as expected: purpose_not_consent_based"))
        #expect(text.contains("\"status\": \"granted\""))
        #expect(server.stop() == 0)
    }

    /// The background writer stores the snapshots; once it has stored one whole, the boundaries
    /// at which few subjects changed are stored as deltas of it (`stats` counts them). Runs with
    /// nothing due keeping the fold is `SnapshotDeltaTests`' to check.
    @Test func theServerWritesProjectionSnapshotsInTheBackground() throws {
        let scratch = Scratch()
        let server = try newServer(scratch, initArguments: ["--snapshot-interval", "10"])
        for n in 0..<35 {
            #expect(try server.call("POST", "/v1/events", Self.grant("s\(n)@example.com")).status == 201)
        }
        #expect(try server.call("POST", "/v1/subjects/erase", #"{"subject":"s34@example.com"}"#).status == 200)
        for n in 0..<74 {
            #expect(try server.call("POST", "/v1/events", Self.grant("s\(n % 4)@example.com")).status == 201)
        }
        #expect(server.stop() == 0)
        let ctl = LedgerctlRunner(ledger: server.ledger)
        let rebuild = try ctl.run(["rebuild", "--json"])
        #expect(rebuild.status == 0, "\(rebuild.stdout)")
        #expect(jsonObject(rebuild.stdout)?["snapshots"] as? Int == 11)
        let stats = try #require(jsonObject(try ctl.run(["stats", "--json"]).stdout))
        #expect(stats["snapshots"] as? Int == 11)
        #expect((stats["snapshotDeltas"] as? Int ?? 0) >= 5, "\(stats)")
    }

    /// Sends raw bytes on a new connection and returns all the server answers before closing.
    private func raw(_ socketPath: String, _ bytes: [UInt8]) -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in socketPath.utf8.enumerated() { raw[i] = b }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        // A bound on the wait, so a server that never answers fails the test instead of hanging it.
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            reply += chunk[0..<n]
        }
        return String(decoding: reply, as: UTF8.self)
    }

    @Test func malformedHTTPIsAnswered400AndClosedWhileOthersAreServed() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        do {
            // A slow client holds a connection open with half a request; others are still served.
            let slow = try KeepAliveConnectionHolder(path: server.socket)
            #expect(raw(server.socket, Array("GARBAGE\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 400"))
            let bigHeader =
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 100_000) + "\r\n\r\n"
            #expect(raw(server.socket, Array(bigHeader.utf8)).hasPrefix("HTTP/1.1 400"))
            #expect(try server.call("POST", "/v1/events", Self.grant("x@example.com")).status == 201)
            withExtendedLifetime(slow) {}
        }
        // (A connection still holding half a request delays a graceful stop until its request timeout.)
        #expect(server.stop() == 0)
    }

    @Test func aClientThatTricklesItsBodyIsCutOffAtTheRequestTimeout() throws {
        let scratch = Scratch()
        let server = try newServer(scratch, extra: ["--request-timeout", "1"])
        // Headers, then the 100-byte body one byte every 100 ms: each byte resets the idle timeout,
        // so only the request timeout can end this. Sending it all would take 10 s.
        let trickler = try KeepAliveConnectionHolder(path: server.socket)
        var sent = 1
        var closedByServer = false
        while sent < 100 {
            usleep(100_000)
            if trickler.isClosedByPeer() {
                closedByServer = true
                break
            }
            guard trickler.send(Array(" ".utf8)) else {
                closedByServer = true
                break
            }
            sent += 1
        }
        #expect(closedByServer, "the server waited for the whole trickled body")
        #expect(sent < 100)
        #expect(try server.call("POST", "/v1/events", Self.grant("t@example.com")).status == 201)
        #expect(server.stop() == 0)
    }

    @Test func gracefulStopRemovesTheSocketAndLosesNothing() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        for n in 0..<20 {
            #expect(try server.call("POST", "/v1/events", Self.grant("g\(n)@example.com")).status == 201)
        }
        #expect(server.stop(SIGTERM) == 0)
        #expect(!FileManager.default.fileExists(atPath: server.socket))
        let verify = try LedgerctlRunner(ledger: server.ledger).run(["verify", "--json"])
        #expect(jsonObject(verify.stdout)?["headSeq"] as? Int == 20)
    }

    @Test func aSecondServerOnTheSameLedgerRefusesToStart() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        let second = try LedgerctlRunner(ledger: server.ledger).run([
            "serve", "--socket", scratch.path + "/run/other.sock",
        ])
        #expect(second.status == 3)
        #expect(second.stderr.contains("ledger_locked"))
        #expect(server.stop() == 0)
    }

    @Test func peersAreIdentifiedByCredentialsAndRefusedWithoutTheRole() throws {
        let scratch = Scratch()
        let catalogue =
            try LedgerctlRunner(ledger: scratch.path + "/none").run(["catalogue", "--bundled"], withLedger: false)
            .stdout
                + """
                clients:
                  - name: operator
                    uid: 0
                    roles: [append, read, erase, audit]
                  - name: dashboard
                    uid: 65534
                    roles: [read]
                """
        let server = try newServer(scratch, catalogue: catalogue, extra: ["--socket-group", "nogroup"])
        // The socket is created 0600 and opened to the group (0660) once the server runs.
        var mode = 0
        let deadline = Date().addingTimeInterval(10)
        repeat {
            mode =
                ((try FileManager.default.attributesOfItem(atPath: server.socket))[.posixPermissions] as? NSNumber)?
                .intValue ?? 0
            if mode != 0o660 { usleep(20_000) }
        } while mode != 0o660 && Date() < deadline
        #expect(mode == 0o660)
        chmod(scratch.path, 0o755)
        chmod(scratch.path + "/run", 0o755)
        // The actor comes from the peer's credentials, never from the body.
        let reply = try server.call("POST", "/v1/events", Self.grant("h@example.com"))
        #expect(reply.status == 201)
        let export = try LedgerctlRunner(ledger: server.ledger).run(["export"]).stdout
        #expect(export.contains(#""actor":"operator""#))
        // uid 65534 may read but not append.
        func asNobody(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments =
                [
                    "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/curl", "-s", "-w", "\n%{http_code}",
                    "--unix-socket", server.socket,
                ] + arguments
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let refused = try asNobody([
            "-H", "Content-Type: application/json", "-d", Self.grant("n@example.com"), "http://localhost/v1/events",
        ])
        #expect(refused.hasSuffix("403"))
        #expect(refused.contains("forbidden"))
        let read = try asNobody(["http://localhost/v1/head"])
        #expect(read.hasSuffix("200"))
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == 1)
        #expect(server.stop() == 0)
    }

    /// The head and the parsed JSON body of a raw reply.
    private func split(_ reply: String) -> (head: String, json: [String: Any]?) {
        guard let end = reply.range(of: "\r\n\r\n") else { return (reply, nil) }
        let body = Data(reply[end.upperBound...].utf8)
        return (String(reply[..<end.lowerBound]), try? JSONSerialization.jsonObject(with: body) as? [String: Any])
    }

    @Test func malformedHTTPIsAnsweredWithTheErrorObject() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        let bigHeader =
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 100_000) + "\r\n\r\n"
        for request in ["GARBAGE\r\n\r\n", "GET /healthz HTTP/9\r\n\r\n", bigHeader] {
            let (head, json) = split(raw(server.socket, Array(request.utf8)))
            #expect(head.hasPrefix("HTTP/1.1 400"), "\(head)")
            #expect(head.lowercased().contains("content-type: application/json"), "\(head)")
            #expect(errorCode(json) == "bad_request", "\(head)")
            #expect(((json?["error"] as? [String: Any])?["message"] as? String)?.isEmpty == false)
        }
        // Chunked framing that breaks in the middle of the body: bad HTTP too, not bad JSON.
        let badChunks =
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\nZZ\r\n\r\n"
        let (chunkHead, chunkJSON) = split(raw(server.socket, Array(badChunks.utf8)))
        #expect(chunkHead.hasPrefix("HTTP/1.1 400"), "\(chunkHead)")
        #expect(errorCode(chunkJSON) == "bad_request")
        // A well-formed request, then garbage on the same connection: the first is answered, then the garbage.
        let pipelined = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n"
        let reply = raw(server.socket, Array(pipelined.utf8))
        #expect(reply.hasPrefix("HTTP/1.1 200"))
        #expect(reply.contains("HTTP/1.1 400") && reply.contains("bad_request"))
        #expect(try server.call("POST", "/v1/events", Self.grant("m@example.com")).status == 201)
        #expect(server.stop() == 0)
    }

    /// A raw POST of one event with `contentType` (no header when `nil`).
    private func postEvent(_ socketPath: String, contentType: String?, subject: String) -> String {
        let body = Self.grant(subject)
        var request =
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n"
        if let contentType { request += "Content-Type: \(contentType)\r\n" }
        return raw(socketPath, Array((request + "\r\n" + body).utf8))
    }

    @Test func anEventWithoutAContentTypeIsTakenAsJSON() throws {
        let scratch = Scratch()
        let server = try newServer(scratch)
        #expect(postEvent(server.socket, contentType: nil, subject: "n1@example.com").hasPrefix("HTTP/1.1 201"))
        // An empty header is no content type either (curl -H 'Content-Type;' sends one).
        #expect(postEvent(server.socket, contentType: "", subject: "n2@example.com").hasPrefix("HTTP/1.1 201"))
        #expect(
            postEvent(server.socket, contentType: "Application/JSON; charset=utf-8", subject: "n3@example.com")
                .hasPrefix("HTTP/1.1 201")
        )
        for wrong in ["text/plain", "application/x-www-form-urlencoded", "application/jsonp"] {
            let (head, json) = split(postEvent(server.socket, contentType: wrong, subject: "w@example.com"))
            #expect(head.hasPrefix("HTTP/1.1 400"), "\(wrong)")
            #expect(errorCode(json) == "invalid_json", "\(wrong)")
        }
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == 3)
        #expect(server.stop() == 0)
    }

    @Test func atTheConnectionCapTheOldestIdleConnectionGivesWay() throws {
        let scratch = Scratch()
        let server = try newServer(scratch, extra: ["--max-connections", "8", "--idle-timeout", "30"])
        // Twelve keep-alive connections that each made a request and now sit idle.
        var idle: [IdleConnection] = []
        for _ in 0..<12 { idle.append(try IdleConnection(path: server.socket)) }
        // Before the fix a new client waited for one of them to reach the idle timeout.
        let start = Date()
        let reply = raw(server.socket, Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply.prefix(200))")
        #expect(Date().timeIntervalSince(start) < 10, "answered only after an idle connection timed out")
        // The oldest idle connections were closed to make room; the newest are still open.
        #expect(idle.prefix(4).allSatisfy { $0.isClosedByPeer() })
        #expect(!(idle.last?.isClosedByPeer(within: 0.2) ?? true))
        idle.removeAll()
        #expect(server.stop() == 0)
    }

    @Test func atTheConnectionCapWithEveryConnectionBusyANewcomerIsRefusedAtOnce() throws {
        let scratch = Scratch()
        let server = try newServer(
            scratch,
            extra: ["--max-connections", "4", "--idle-timeout", "30", "--request-timeout", "30"]
        )
        // Four connections each in the middle of a request (half a body sent).
        var busy = try (0..<4).map { _ in try KeepAliveConnectionHolder(path: server.socket) }
        let probe = Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        var refusal: (head: String, json: [String: Any]?)?
        // On a loaded machine the server may take a while to read the half requests: give it time
        // before each probe, however long that takes, and as many tries as it needs.
        usleep(500_000)
        for _ in 0..<100 where refusal == nil {
            let start = Date()
            let reply = split(raw(server.socket, probe))
            // Each answer comes at once: before the fix a newcomer waited for a slot to free up.
            guard Date().timeIntervalSince(start) < 10 else { break }
            if reply.head.hasPrefix("HTTP/1.1 503") {
                refusal = reply
                break
            }
            // A holder whose half request the server had not read yet was idle, and gave way to
            // the probe: replace it and try again.
            for index in busy.indices where busy[index].isClosedByPeer() {
                busy[index] = try KeepAliveConnectionHolder(path: server.socket)
            }
            usleep(300_000)
        }
        #expect(refusal?.head.hasPrefix("HTTP/1.1 503") == true, "\(String(describing: refusal?.head))")
        #expect(errorCode(refusal?.json) == "too_many_connections")
        // Once they are gone, clients are served again.
        #expect(busy.count == 4)
        busy.removeAll()
        var served = false
        for _ in 0..<50 where !served {
            served = raw(server.socket, probe).hasPrefix("HTTP/1.1 200")
            if !served { usleep(100_000) }
        }
        #expect(served)
        #expect(server.stop() == 0)
    }

    /// A raw POST of an NDJSON batch of `count` new subjects' grants; the status and the error code.
    private func postBatch(_ server: TestServer, count: Int, tag: String) throws -> (status: Int, code: String?) {
        let lines = (0..<count).map { Self.grant("\(tag)-\($0)@example.com") }.joined(separator: "\n")
        let reply = try server.call("POST", "/v1/events", lines, contentType: "application/x-ndjson")
        return (reply.status, errorCode(reply.json))
    }

    @Test(.enabled(if: TmpfsMount.isPermitted, "mounting a tmpfs is not permitted here"))
    func aFullDiskIsAnswered507AndAppendsResumeOnceThereIsRoom() throws {
        let scratch = Scratch()
        let disk = try #require(TmpfsMount(size: "20m"))
        let ledger = disk.path + "/ledger"
        #expect(try LedgerctlRunner(ledger: ledger).run(["init"]).status == 0)
        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        let server = try TestServer(ledger: ledger, socket: scratch.path + "/run/ledger.sock")
        let filler = disk.path + "/filler"
        TmpfsMount.fill(filler, leaving: 2 << 20)
        var acknowledged = 0
        var refusal: (status: Int, code: String?)?
        for round in 0..<50 {
            let reply = try postBatch(server, count: 2_000, tag: "d\(round)")
            guard reply.status == 201 else {
                refusal = reply
                break
            }
            acknowledged += 2_000
        }
        #expect(refusal?.status == 507 && refusal?.code == "ledger_full", "\(String(describing: refusal))")
        #expect(server.process.isRunning)
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == acknowledged)
        try FileManager.default.removeItem(atPath: filler)
        #expect(try postBatch(server, count: 10, tag: "after").status == 201)
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == acknowledged + 10)
        #expect(server.stop() == 0)
        let verify = try LedgerctlRunner(ledger: ledger).run(["verify", "--json"])
        #expect(jsonObject(verify.stdout)?["headSeq"] as? Int == acknowledged + 10)
    }

    /// Sets the server's address-space limit (`ulimit -v`), soft, in bytes; `nil` lifts it.
    private func limitAddressSpace(of server: TestServer, to bytes: Int?) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = [
            "--pid", "\(server.process.processIdentifier)", "--as=\(bytes.map(String.init) ?? "unlimited"):unlimited",
        ]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// The server's virtual size now, in bytes.
    private func virtualSize(of server: TestServer) -> Int {
        let status =
            (try? String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmSize:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit")))
    func whenTheMapCannotGrowAppendsAre507AndResumeOnceItCan() throws {
        let scratch = Scratch()
        // A 16 MiB map, so growth comes soon.
        let server = try newServer(scratch, extra: ["--initial-map-size", "16"])
        // Warm up: the threads and buffers appends use exist before the limit is set.
        for round in 0..<2 { #expect(try postBatch(server, count: 2_000, tag: "w\(round)").status == 201) }
        #expect(try server.call("GET", "/v1/head").status == 200)
        // Room for the process as it is and 20 MiB more: less than a larger map plus the 64 MiB
        // the ledger keeps free for the rest of the process, so the map stays at 16 MiB. (Before
        // the fix the map grew to 32 MiB, then mdb_env_set_mapsize failed with ENOMEM at the next
        // growth, left the environment unmapped, and the next transaction crashed the server.)
        try limitAddressSpace(of: server, to: virtualSize(of: server) + (20 << 20))
        var acknowledged = 4_000
        var refusals: [(status: Int, code: String?)] = []
        for round in 0..<40 where refusals.count < 3 {
            let reply = try postBatch(server, count: 2_000, tag: "m\(round)")
            if reply.status == 201 {
                acknowledged += 2_000
            } else {
                refusals.append(reply)
            }
        }
        #expect(refusals.count == 3)
        #expect(refusals.allSatisfy { $0.status == 507 && $0.code == "ledger_full" }, "\(refusals)")
        #expect(server.process.isRunning)
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == acknowledged)
        // Room again: the map grows and appends succeed.
        try limitAddressSpace(of: server, to: nil)
        #expect(try postBatch(server, count: 2_000, tag: "after").status == 201)
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == acknowledged + 2_000)
        #expect(server.stop() == 0)
        let verify = try LedgerctlRunner(ledger: server.ledger).run(["verify", "--json"])
        #expect(jsonObject(verify.stdout)?["headSeq"] as? Int == acknowledged + 2_000)
    }

}

/// A thread-safe counter for the concurrency tests.
/// Runs `body` on `count` threads at once and waits for all of them. (`concurrentPerform` would
/// run only as many at once as there are cores.)
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

final class Counter: @unchecked Sendable {
    // Invariant: `count` is only touched under `lock`.
    private var count = 0
    private let lock = NSLock()
    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

/// A thread-safe list of strings.
final class Collected: @unchecked Sendable {
    // Invariant: `items` is only touched under `lock`.
    private var items: [String] = []
    private let lock = NSLock()
    func add(_ item: String) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }
    var values: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

enum Fixtures {
    /// Every regular file below `path` whose bytes contain `needle`.
    static func filesContaining(_ needle: String, under path: String) -> [String] {
        filesContaining(bytes: Array(needle.utf8), under: path)
    }

    /// Every regular file below `path` whose bytes contain `bytes`.
    static func filesContaining(bytes: [UInt8], under path: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { relative in
            guard let data = FileManager.default.contents(atPath: path + "/" + relative) else { return false }
            return Array(data).firstRange(of: bytes) != nil
        }
    }
}

/// A connection that sends half a request and then nothing, like a slow client.
final class KeepAliveConnectionHolder {
    private let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw UnixHTTPClient.Failure(description: "cannot connect") }
        let half = Array(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{".utf8
        )
        _ = half.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Sends more of the body; `false` once the server has closed the connection.
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Whether the server has closed the connection (a read without waiting sees end of file).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    deinit { close(fd) }
}

/// A keep-alive connection that made one request, read its answer, and now sits idle.
final class IdleConnection {
    private let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw UnixHTTPClient.Failure(description: "cannot connect") }
        // A bound on the wait, so a server that never answers fails the test instead of hanging it.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        // The answer's body is one line of JSON.
        while !String(decoding: reply, as: UTF8.self).hasSuffix("}\n") {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw UnixHTTPClient.Failure(description: "no answer on an idle connection") }
            reply += chunk[0..<n]
        }
    }

    /// Whether the server has closed the connection, waiting up to `seconds` for it.
    func isClosedByPeer(within seconds: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
            usleep(20_000)
        } while Date() < deadline
        return false
    }

    deinit { close(fd) }
}
