/* One connection to one Redis server: TCP, unix socket or TLS over TCP.
 *
 * hiredis does the protocol (redisFormatCommandArgv writes commands, its redisReader
 * parses replies into redisReply objects); the bytes move here, through a plain socket
 * or an OpenSSL session on it. Debian 12's hiredis 0.14 has no TLS of its own, and a
 * redisContext reads and writes its descriptor itself, so the transport under the
 * protocol is ours. Blocking I/O with a timeout on every step (connect, handshake, each
 * read and write): the users are the publisher's thread and `dnswatch consume`, neither
 * of which is on a packet path.
 *
 * Replies come from a server we do not control: the reader bounds its buffer, and a
 * reply hiredis cannot parse closes the connection with an error instead of going on. */
#ifndef DW_RCONN_H
#define DW_RCONN_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "common/err.h"

/* TLS settings (rediss://, or redis.tls with the Sentinel and Cluster forms). */
typedef struct rconn_tls {
    bool enabled;
    const char *ca_file;     /* CA bundle to verify the server; NULL: the system's */
    const char *cert_file;   /* client certificate (mutual TLS); NULL: none */
    const char *key_file;    /* its key; NULL: in cert_file */
    const char *server_name; /* SNI and the name the certificate must carry; NULL: the host */
} rconn_tls;

typedef struct rconn rconn;

/* Connects to host:port (a name or an address; IPv6 without brackets), with TLS when
 * tls->enabled; or, when path is not NULL, to that unix socket. timeout_ms bounds the
 * connect, the TLS handshake and every later read or write. NULL on failure, with one
 * line in err ("cannot connect to redis at HOST:PORT: ...", "TLS handshake with ...:
 * certificate verify failed ..."); *tls_failed (may be NULL) is set when TLS itself
 * failed (a wrong CA or name: retrying cannot help). */
rconn *rconn_open(const char *host, unsigned port, const char *path, const rconn_tls *tls,
                  unsigned timeout_ms, bool *tls_failed, char *err, size_t errlen);
void rconn_close(rconn *c); /* accepts NULL */

/* Queues one command (sent by the next rconn_reply). 0, or -ENOMEM. lens may be NULL
 * (then every argv[i] is a C string). */
DW_MUST_USE
int rconn_append(rconn *c, int argc, const char **argv, const size_t *lens);

/* Sends what is queued, then reads one reply into *out (free it with freeReplyObject).
 * 0, or a negative code with rconn_error() saying why; after a failure the connection
 * is unusable (the pipeline is out of step) and must be closed. */
DW_MUST_USE
int rconn_reply(rconn *c, redisReply **out);

/* rconn_append + rconn_reply; NULL on failure (rconn_error says why). */
redisReply *rconn_command(rconn *c, int argc, const char **argv, const size_t *lens);

/* The last failure, one line; "" when none. */
const char *rconn_error(const rconn *c);

/* Whether a read or write failed on a TLS alert from the server (TLS 1.3 refuses a
 * missing or unknown client certificate after the handshake): retrying cannot help. */
bool rconn_tls_refused(const rconn *c);

/* "host:port", "[v6]:port" or the socket path, with " (TLS)" after a TLS one. */
const char *rconn_where(const rconn *c);

#endif
