#include <lmdb.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The calling thread's I/O priority (ioprio_get/ioprio_set, which glibc does not wrap; Swift
 * cannot call the variadic syscall()). A thread started afterwards, such as the writer thread of
 * LMDB's compacting copy, inherits it. */
static inline int ledger_ioprio_get(void) { return (int)syscall(SYS_ioprio_get, 1, 0); }
static inline int ledger_ioprio_set(int value) { return (int)syscall(SYS_ioprio_set, 1, 0, value); }
