/* Redis connection settings: the URL forms of DESIGN.md ("Redis", "Command line"), parsed
 * strictly, and the one way every part of dnswatch connects: TCP, TLS or unix socket
 * (sensor/rconn.h), a master found through Sentinel, or the node of a Cluster that holds
 * a key; AUTH (ACL user from the URL, password from a file or $DNSWATCH_REDIS_PASSWORD,
 * never argv), SELECT. */
#ifndef DW_REDISURL_H
#define DW_REDISURL_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "sensor/rconn.h"

#include "common/err.h"

#define REDISURL_DEFAULT "redis://127.0.0.1:6379"
/* The stream, list or channel the sensor publishes to and `dnswatch consume` reads. */
#define REDISURL_KEY_DEFAULT "dnswatch:events"
#define REDISURL_PASSWORD_ENV "DNSWATCH_REDIS_PASSWORD"
#define REDISURL_SENTINEL_PASSWORD_ENV "DNSWATCH_SENTINEL_PASSWORD"
#define REDISURL_MAX_NODES 16 /* Sentinels or Cluster seeds in one URL */

enum redisurl_kind {
    REDISURL_SERVER,   /* redis://, rediss:// */
    REDISURL_UNIX,     /* unix:// */
    REDISURL_SENTINEL, /* sentinel://h1:p1,h2:p2/MASTER: the master those Sentinels name */
    REDISURL_CLUSTER,  /* cluster://seed1:p1,seed2:p2: the node that holds a key's slot */
};

typedef struct redis_node {
    char host[256];
    unsigned port;
} redis_node;

typedef struct redis_url {
    enum redisurl_kind kind;
    bool tls;         /* rediss://; the Sentinel and Cluster forms take redis.tls */
    unsigned n_nodes; /* Sentinel or Cluster: the addresses in the URL */
    redis_node nodes[REDISURL_MAX_NODES];
    char master[128]; /* Sentinel: the master's name */
    bool is_unix;
    char host[256];   /* TCP: name or address (IPv6 without the brackets) */
    unsigned port;    /* TCP: default 6379 */
    char path[108];   /* unix: socket path (fits sun_path) */
    char user[128];   /* ACL user, "" = none (AUTH with the password alone) */
    unsigned db;      /* SELECT db when not 0 */
} redis_url;

/* Accepts redis://[user@]host[:port][/db] (host may be [v6addr]), rediss://... (the same,
 * over TLS), unix://[user@]/path[?db=N], sentinel://[user@]h1[:p1],h2[:p2].../MASTER[/db]
 * (Sentinel port 26379 by default; the user is the master's) and
 * cluster://[user@]seed1[:p1][,seed2[:p2]...] (no database in a cluster). A password in the URL is refused: it would show in `ps`.
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

/* What a connection needs besides the URL. */
typedef struct redis_creds {
    const char *password;          /* the server's or master's (""/NULL: none) */
    const char *sentinel_user;     /* Sentinel ACL user (NULL: none) */
    const char *sentinel_password; /* (NULL/"": none) */
    rconn_tls tls;                 /* .enabled is taken from the URL (rediss://, redis.tls) */
} redis_creds;

/* redisurl_password with another variable ($DNSWATCH_SENTINEL_PASSWORD for Sentinels). */
DW_MUST_USE
int redisurl_secret(const char *password_file, const char *env_name, char *buf, size_t len,
                    char *err, size_t errlen);

/* Connects, authenticates and selects the database; checks the server answers (PING).
 * With a Sentinel URL, asks the Sentinels in turn for the master and checks that the
 * server it names says it is the master (ROLE); with a Cluster URL, reads the slot map
 * from a seed and connects to the master of key's slot (key NULL: any seed). timeout_ms
 * bounds connect and every later command. On failure returns NULL and err starts with
 * "authentication failed" (wrong or missing password) or names the TLS failure, with
 * *fatal set (retrying cannot help), or describes the connection error (unreachable,
 * no master yet: *fatal false). */
rconn *redisurl_connect(const redis_url *u, const redis_creds *cr, const char *key,
                        unsigned timeout_ms, bool *fatal, char *err, size_t errlen);

/* The Cluster hash slot of a key (CRC16 of the key, or of its {hash tag}, mod 16384). */
unsigned redisurl_key_slot(const char *key, size_t len);

/* A "MOVED slot host:port" or "ASK slot host:port" error reply: 1 and the address, or 0. */
int redisurl_redirect(const redisReply *r, bool *ask, redis_node *to);

/* "host:port" or the socket path, for messages ("sentinel h1:p1,... master M", "cluster
 * h1:p1,..." for those forms). */
void redisurl_describe(const redis_url *u, char *buf, size_t len);

#endif
