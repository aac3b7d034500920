import ServiceLifecycle

/// Runs the writer for the life of the server; stops it, after the HTTP server, on shutdown.
struct WriterService: Service {
    let writer: GroupCommitWriter

    func run() async throws {
        writer.start()
        try? await gracefulShutdown()
        writer.stop()
    }
}
