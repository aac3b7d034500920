import CJemalloc

/// The memory allocator of every process built on this library: jemalloc, from Debian's
/// `libjemalloc-dev`, linked in place of Glibc's malloc.
///
/// Appending allocates and frees many small buffers per event on two threads (the decoding
/// reader and the writer), and with Glibc's allocator its malloc, free and arena locking were a
/// fifth of an import's CPU; jemalloc's per-thread caches make the same work about a tenth faster
/// (docs/BENCHMARKS.md). No Swift package replaces the allocator, so the library is linked here
/// through a system-library target, as LMDB is.
public enum ProcessAllocator {
    /// The allocator's name and version, as jemalloc reports it (`"jemalloc 5.3.0-…"`), or
    /// `"system malloc"` when jemalloc does not answer.
    ///
    /// Reading it also keeps the linker's `--as-needed` from dropping the library as unused,
    /// which would silently bring back Glibc's allocator; the server logs it at start and the
    /// benchmarks print it.
    public static var name: String {
        var version: UnsafePointer<CChar>?
        var length = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &version, &length, nil, 0) == 0, let version else { return "system malloc" }
        return "jemalloc " + String(cString: version)
    }
}
