/* Fuzzes redisurl_parse: any input either parses into a URL whose fields hold the limits
 * (terminated strings, port 1-65535 for TCP, absolute socket path, no password), or is
 * refused with a message and *out untouched. An accepted URL must describe itself
 * without overflow. Invariant violations abort. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/redisurl.h"

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c))                                                                         \
            abort();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[1024];
    if (size >= sizeof text)
        size = sizeof text - 1;
    memcpy(text, data, size);
    text[size] = '\0';

    redis_url u, before;
    char err[256];
    memset(&u, 0xa5, sizeof u);
    before = u;
    err[0] = '\0';
    int rc = redisurl_parse(text, &u, err, sizeof err);
    if (rc != 0) {
        CHECK(rc < 0);
        CHECK(err[0] != '\0');
        CHECK(memchr(err, '\0', sizeof err));
        CHECK(memcmp(&u, &before, sizeof u) == 0);
        return 0;
    }
    CHECK(memchr(u.host, '\0', sizeof u.host) && memchr(u.path, '\0', sizeof u.path) &&
          memchr(u.user, '\0', sizeof u.user));
    CHECK(!strchr(u.user, ':') && !strchr(u.user, '@'));
    CHECK(u.db <= 65535);
    if (u.is_unix) {
        CHECK(u.path[0] == '/' && u.path[1] != '\0');
    } else {
        CHECK(u.host[0] != '\0');
        CHECK(u.port >= 1 && u.port <= 65535);
    }
    char where[300];
    redisurl_describe(&u, where, sizeof where);
    CHECK(where[0] != '\0');
    return 0;
}
