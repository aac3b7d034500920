#include <stddef.h>

/* jemalloc's control interface (Debian's libjemalloc-dev builds it without a symbol prefix, so
 * linking the library replaces malloc and free for the whole process). Only mallctl is declared:
 * jemalloc.h would also declare malloc and free, which Glibc declares already. */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
