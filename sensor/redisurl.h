/* Redis connection settings: the URL form of DESIGN.md ("Redis"), parsed strictly, and the
 * one way every part of dnswatch connects: TCP or unix socket, AUTH (ACL user from the
 * URL, password from a file or $DNSWATCH_REDIS_PASSWORD, never argv), SELECT. */
#ifndef DW_REDISURL_H
#define DW_REDISURL_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "common/err.h"

#define REDISURL_DEFAULT "redis://127.0.0.1:6379"
/* The stream, list or channel the sensor publishes to and `dnswatch consume` reads. */
#define REDISURL_KEY_DEFAULT "dnswatch:events"
#define REDISURL_PASSWORD_ENV "DNSWATCH_REDIS_PASSWORD"

typedef struct redis_url {
    bool is_unix;
    char host[256];   /* TCP: name or address (IPv6 without the brackets) */
    unsigned port;    /* TCP: default 6379 */
    char path[108];   /* unix: socket path (fits sun_path) */
    char user[128];   /* ACL user, "" = none (AUTH with the password alone) */
    unsigned db;      /* SELECT db when not 0 */
} redis_url;

/* Accepts redis://[user@]host[:port][/db] (host may be [v6addr]) and
 * unix://[user@]/path[?db=N]. A password in the URL is refused: it would show in `ps`.
 * Returns 0, or -EINVAL with one line in err saying what is wrong and the accepted form.
 * *out is written only on success. NULL url means REDISURL_DEFAULT. */
DW_MUST_USE
int redisurl_parse(const char *url, redis_url *out, char *err, size_t errlen);

/* The systemd credential holding the password: $CREDENTIALS_DIRECTORY/redis-password. */
#define REDISURL_CREDENTIAL "redis-password"

/* The password: the first line of password_file (trailing CR/LF stripped) when it is not
 * NULL, else of $CREDENTIALS_DIRECTORY/redis-password when that exists (systemd's
 * LoadCredential), else $DNSWATCH_REDIS_PASSWORD, else "" (none). Returns 0, or a negative code with
 * err naming the file (never the password). */
DW_MUST_USE
int redisurl_password(const char *password_file, char *buf, size_t len, char *err,
                      size_t errlen);

/* Connects, authenticates and selects the database; checks the server answers (PING).
 * timeout_ms bounds connect and every later command. On failure returns NULL and err
 * starts with "authentication failed" (wrong or missing password: *auth_failed set),
 * or describes the connection/SELECT error (Redis unreachable: *auth_failed false). */
redisContext *redisurl_connect(const redis_url *u, const char *password, unsigned timeout_ms,
                               bool *auth_failed, char *err, size_t errlen);

/* "host:port" or the socket path, for messages. */
void redisurl_describe(const redis_url *u, char *buf, size_t len);

#endif
