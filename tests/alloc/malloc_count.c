/* LD_PRELOAD shim counting heap allocations, for the "no allocation per packet in steady
 * state" test: at exit it prints the number of malloc/calloc/realloc/aligned_alloc calls
 * to the file named by $DW_MALLOC_COUNT_FILE. It forwards to glibc's allocator through
 * the __libc_* entry points, so it needs no dlsym (which itself allocates). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static unsigned long long calls;

void *malloc(size_t n)
{
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}

void *aligned_alloc(size_t al, size_t n)
{
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __libc_memalign(al, n);
}

int posix_memalign(void **out, size_t al, size_t n)
{
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    void *p = __libc_memalign(al, n);
    if (!p)
        return 12;
    *out = p;
    return 0;
}

void free(void *p) { __libc_free(p); }

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("DW_MALLOC_COUNT_FILE");
    if (!path)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%llu\n", calls);
    if (write(fd, buf, (size_t)n) != n)
        n = 0;
    close(fd);
}
