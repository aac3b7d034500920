import Foundation
import Ledger
import Metrics
import Prometheus

/// The server's Prometheus metrics (`GET /metrics`): appends, batch sizes, commit latency, queue
/// depth, ledger size and errors by code. Labels carry codes and routes, never personal data.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let appendedEvents: Metrics.Counter
    let commitRounds: Metrics.Counter
    let batchSize: Metrics.Recorder
    let commitLatency: Metrics.Timer
    let queueDepth: Metrics.Gauge
    /// Requests that found the queue full and waited for room (back-pressure).
    let queueWaits: Metrics.Counter
    /// Rounds that waited, before they began, for the few requests the previous round answered.
    let gatheredRounds: Metrics.Counter
    let ledgerBytes: Metrics.Gauge

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // A round commits and fsyncs in well under a millisecond to a few tens of milliseconds;
        // the default buckets start at 5 ms and would put every round in the first.
        factory.durationHistogramBuckets["ledger_commit_seconds"] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.valueHistogramBuckets["ledger_commit_round_events"] = [
            1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 20_000,
        ]
        appendedEvents = Metrics.Counter(label: "ledger_appended_events_total", factory: factory)
        commitRounds = Metrics.Counter(label: "ledger_commit_rounds_total", factory: factory)
        batchSize = Metrics.Recorder(label: "ledger_commit_round_events", factory: factory)
        commitLatency = Metrics.Timer(label: "ledger_commit_seconds", factory: factory)
        queueDepth = Metrics.Gauge(label: "ledger_queue_depth_events", factory: factory)
        queueWaits = Metrics.Counter(label: "ledger_queue_waits_total", factory: factory)
        gatheredRounds = Metrics.Counter(label: "ledger_gathered_rounds_total", factory: factory)
        ledgerBytes = Metrics.Gauge(label: "ledger_size_bytes", factory: factory)
        self.factory = factory
    }

    private let factory: PrometheusMetricsFactory

    /// Counts a refused request by its error code.
    func countError(_ code: LedgerError.Code) {
        Metrics.Counter(label: "ledger_errors_total", dimensions: [("code", code.rawValue)], factory: factory)
            .increment()
    }

    /// The Prometheus text exposition.
    func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
