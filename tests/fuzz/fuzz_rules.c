/* Rule files from untrusted bytes: ruleset_load must report, never crash or leak. The
 * input goes through a memfd so the real file path (read, hash, parse) is exercised; a
 * line "#--next-file" splits it into two files so sets shared across files are too. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rules/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ctx, const ruleset_diag *d)
{
    char line[1024];
    ruleset_diag_format(d, line, sizeof line);
    *(size_t *)ctx += strlen(line);
}

static int to_memfd(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_rules", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char split[] = "\n#--next-file\n";
    size_t first = size;
    for (size_t i = 0; i + sizeof split - 1 <= size; i++)
        if (!memcmp(data + i, split, sizeof split - 1)) {
            first = i;
            break;
        }
    int fds[2] = {-1, -1};
    char paths[2][64];
    const char *pp[2] = {paths[0], paths[1]};
    size_t n = 1;
    fds[0] = to_memfd(data, first);
    if (first < size) {
        size_t rest = first + sizeof split - 1;
        fds[1] = to_memfd(data + rest, size - rest);
        n = 2;
    }
    if (fds[0] >= 0 && (n == 1 || fds[1] >= 0)) {
        for (size_t i = 0; i < n; i++)
            snprintf(paths[i], sizeof paths[i], "/proc/self/fd/%d", fds[i]);
        size_t chars = 0;
        ruleset *rs = NULL;
        if (ruleset_load(pp, n, 1790000000, sink, &chars, &rs) == 0) {
            for (size_t i = 0; i < ruleset_count(rs); i++) {
                const dw_rule *r = ruleset_rule(rs, i);
                chars += strlen(r->id) + strlen(r->title) + r->names.n;
            }
            chars += strlen(ruleset_hash(rs));
            ruleset_free(rs);
        }
    }
    for (size_t i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return 0;
}
