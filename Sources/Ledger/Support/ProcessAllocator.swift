import CJemalloc

#if canImport(Glibc)
import Glibc
#endif

/// The memory allocator of every process built on this library: jemalloc, from Debian's
/// `libjemalloc-dev`, linked in place of Glibc's malloc.
///
/// Appending allocates and frees many small buffers per event on two threads (the decoding
/// reader and the writer), and with Glibc's allocator its malloc, free and arena locking were a
/// fifth of an import's CPU; jemalloc's per-thread caches make the same work about a fifth faster
/// (docs/BENCHMARKS.md). No Swift package replaces the allocator, so the library is linked here
/// through a system-library target, as LMDB is.
public enum ProcessAllocator {
    /// What serves `malloc` in this process: `"jemalloc 5.3.0-…"` when jemalloc does, otherwise
    /// a name saying that it does not (a sanitizer's or a preloaded allocator took its place).
    ///
    /// Reading jemalloc's version also keeps the linker's `--as-needed` from dropping the
    /// library as unused, which would silently bring back Glibc's allocator; the server logs this
    /// at start and the benchmarks print it.
    public static var name: String {
        var version: UnsafePointer<CChar>?
        var length = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &version, &length, nil, 0) == 0, let version else { return "system malloc" }
        let jemalloc = "jemalloc " + String(cString: version)
        return jemallocServesMalloc ? jemalloc : "another allocator (\(jemalloc) is loaded but does not serve malloc)"
    }

    /// Whether the `malloc` every library of the process calls is jemalloc's: the symbol the
    /// dynamic linker resolves for the whole process is the one the jemalloc library defines.
    static var jemallocServesMalloc: Bool {
        guard let library = dlopen("libjemalloc.so.2", RTLD_LAZY | RTLD_NOLOAD) else { return false }
        defer { dlclose(library) }
        guard let own = dlsym(library, "malloc"), let used = dlsym(nil, "malloc") else { return false }
        return own == used
    }
}
