/* Config files from untrusted bytes: config_load must report, never crash or leak, and a
 * failed load must leave the options untouched. The input goes through a memfd so the
 * real file path is exercised. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sensor/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ctx, const config_diag *d)
{
    char line[1024];
    ruleset_diag_format(d, line, sizeof line);
    *(size_t *)ctx += strlen(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_config", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return 0;
        }
        off += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    dw_options o, before;
    options_default(&o);
    before = o;
    size_t chars = 0;
    if (config_load(path, &o, sink, &chars) == 0) {
        /* Touch every string the load stored, so a dangling one shows under ASan. */
        const char *s[] = {o.iface, o.asn_db, o.redis.url, o.redis.key, o.redis.password_file,
                           o.redis.spool_dir, o.user, o.observer_name, o.bpf, o.metrics.listen,
                           o.metrics.textfile};
        for (size_t i = 0; i < sizeof s / sizeof *s; i++)
            chars += s[i] ? strlen(s[i]) : 0;
        for (size_t i = 0; i < o.n_rule_paths; i++)
            chars += strlen(o.rule_paths[i]);
    } else if (memcmp(&o, &before, sizeof o) != 0) {
        abort(); /* a failed load changed the options */
    }
    options_free(&o);
    close(fd);
    return 0;
}
