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
    /* The same bytes as a server's redirection (MOVED/ASK) and as a cluster key. */
    redisReply rep = {.type = REDIS_REPLY_ERROR, .str = text, .len = strlen(text)};
    redis_node to;
    bool ask;
    if (redisurl_redirect(&rep, &ask, &to) == 1)
        CHECK(to.host[0] && memchr(to.host, '\0', sizeof to.host) && to.port >= 1 &&
              to.port <= 65535);
    CHECK(redisurl_key_slot((const char *)data, size) < 16384);

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
        CHECK(u.kind == REDISURL_UNIX);
        CHECK(u.path[0] == '/' && u.path[1] != '\0');
    } else {
        CHECK(u.host[0] != '\0');
        CHECK(u.port >= 1 && u.port <= 65535);
    }
    if (u.kind == REDISURL_SENTINEL || u.kind == REDISURL_CLUSTER) {
        CHECK(u.n_nodes >= 1 && u.n_nodes <= REDISURL_MAX_NODES);
        for (unsigned i = 0; i < u.n_nodes; i++)
            CHECK(u.nodes[i].host[0] && memchr(u.nodes[i].host, '\0', sizeof u.nodes[i].host) &&
                  u.nodes[i].port >= 1 && u.nodes[i].port <= 65535);
        CHECK(u.kind == REDISURL_CLUSTER ? u.db == 0 && !u.master[0]
                                         : u.master[0] && memchr(u.master, '\0', sizeof u.master));
    }
    char where[600];
    redisurl_describe(&u, where, sizeof where);
    CHECK(where[0] != '\0');
    return 0;
}
