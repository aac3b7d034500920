import Logging

/// Wraps another log handler and keeps metadata set on the logger to itself until a message is
/// actually logged, when it hands it over with the message.
///
/// Hummingbird gives every request a logger with its own `hb.request.id`. swift-log's
/// `StreamLogHandler` renders its metadata into a string whenever metadata is set, so each request
/// paid for a rendering that the server, logging at `info`, almost never used.
struct DeferredMetadataLogHandler: LogHandler {
    private var wrapped: any LogHandler
    /// The metadata set through this handler, added to each message it logs.
    var metadata: Logger.Metadata = [:]

    /// Wraps `handler`; its own metadata stays where it is.
    init(wrapping handler: any LogHandler) { wrapped = handler }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard !metadata.isEmpty else { return wrapped.log(event: event) }
        var event = event
        // A message's own metadata wins over the logger's, as in swift-log's handlers.
        event.metadata = metadata.merging(event.metadata ?? [:]) { _, own in own }
        wrapped.log(event: event)
    }
}
