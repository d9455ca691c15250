/* --output redis (DESIGN.md "Redis"): the settings, and the Redis transport the publisher
 * (publish.h) sends through: connect with AUTH and SELECT (redisurl.h), then each batch
 * pipelined as XADD, LPUSH/RPUSH or PUBLISH. */
#ifndef DW_OUTPUT_REDIS_H
#define DW_OUTPUT_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "sensor/publish.h"

enum publish_mode { PUB_STREAM = 0, PUB_LIST = 1, PUB_CHANNEL = 2 };

typedef struct publish_config {
    const char *url;            /* redis://[user@]host[:port][/db] or unix:///path[?db=N];
                                 * default redis://127.0.0.1:6379 */
    enum publish_mode mode;     /* default stream */
    const char *key;            /* stream/list key or channel; default "dnswatch:events" */
    unsigned long maxlen;       /* stream: XADD MAXLEN ~ N (default 1000000; 0 = no trim) */
    bool list_rpush;            /* list: RPUSH instead of LPUSH */
    const char *password_file;  /* else $DNSWATCH_REDIS_PASSWORD; never argv */
    /* TLS (rediss://, or redis.tls for sentinel:// and cluster://). */
    bool tls;
    const char *tls_ca_file, *tls_cert_file, *tls_key_file, *tls_server_name;
    /* Sentinel credentials, apart from the master's. */
    const char *sentinel_user;
    const char *sentinel_password_file; /* else $DNSWATCH_SENTINEL_PASSWORD */
    /* An event counts as delivered only once WAIT says this many replicas have it. */
    unsigned wait_replicas;
    unsigned wait_timeout_ms;   /* WAIT's timeout (default 1000) */
    /* Cluster: the sensor's name, the hash tag of its stream key (KEY:{NAME}). */
    const char *sensor_name;
    /* The publisher's bounds (publish_queue_config). */
    const char *spool_dir;      /* default /var/lib/dnswatch/spool */
    uint64_t spool_max_bytes;   /* default 256 MiB */
    unsigned batch_max;         /* events per pipelined batch (default 256) */
    unsigned queue_max;         /* events waiting in memory (default 65536) */
    uint64_t queue_max_bytes;   /* memory the queue holds, event buffers included
                                 * (default 64 MiB); beyond either bound events go to
                                 * the spool */
} publish_config;

void publish_config_default(publish_config *c);

/* The publisher's part of c, named "redis" in messages. Points into c. */
void publish_config_queue(const publish_config *c, publish_queue_config *q);

/* The transport for c: checks the key, parses the URL and reads the password, without
 * connecting (the publisher does). Returns 0, or a negative code with one line in err. */
DW_MUST_USE
int redis_transport_new(const publish_config *c, publish_transport **out, char *err,
                        size_t errlen);

#endif
