/* The Redis publisher (DESIGN.md "Redis"): events go to Redis from a thread of their own
 * fed by a bounded queue, in pipelined batches; while Redis is unreachable they go to a
 * bounded on-disk spool and are replayed in order, before newer events, when it returns.
 * Only a full spool drops events, and those are counted. */
#ifndef DW_PUBLISH_H
#define DW_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct publisher publisher;

enum publish_mode { PUB_STREAM = 0, PUB_LIST = 1, PUB_CHANNEL = 2 };

typedef struct publish_config {
    const char *url;            /* redis://[user@]host[:port][/db] or unix:///path[?db=N];
                                 * default redis://127.0.0.1:6379 */
    enum publish_mode mode;     /* default stream */
    const char *key;            /* stream/list key or channel; default "dnswatch:events" */
    unsigned long maxlen;       /* stream: XADD MAXLEN ~ N (default 1000000; 0 = no trim) */
    bool list_rpush;            /* list: RPUSH instead of LPUSH */
    const char *password_file;  /* else $DNSWATCH_REDIS_PASSWORD; never argv */
    const char *spool_dir;      /* default /var/lib/dnswatch/spool */
    uint64_t spool_max_bytes;   /* default 256 MiB */
    unsigned batch_max;         /* events per pipelined batch (default 256) */
    unsigned queue_max;         /* events waiting in memory (default 65536) */
    uint64_t queue_max_bytes;   /* memory the queue holds, event buffers included
                                 * (default 64 MiB); beyond either bound events go to
                                 * the spool */
} publish_config;

typedef struct publish_stats {
    uint64_t published;         /* acknowledged by Redis */
    uint64_t spooled;           /* written to the spool */
    uint64_t replayed;          /* sent from the spool after an outage */
    uint64_t dropped;           /* lost: spool full, shed, or the disk refused them */
    uint64_t shed_alerts;       /* of dropped: refused by the spool's flood quota (shed.h) */
    uint64_t shed_events;       /* of dropped: non-alert events refused past half the spool */
    uint64_t dropped_disk;      /* of dropped: the disk refused them (full, I/O error) */
    uint64_t spool_lost;        /* lost: in the spool, then found damaged */
    uint64_t spool_damaged;     /* damaged stretches of the spool skipped (this run's and
                                 * those found at start); their events are lost */
    uint64_t spool_damaged_at_start; /* of spool_damaged: left by an earlier run, whose
                                 * records were never counted */
    bool connected;
    double last_batch_ms;       /* latency of the last batch */
} publish_stats;

void publish_config_default(publish_config *c);

/* Connects (and authenticates) once before returning, so a wrong password or a bad URL
 * fails at start: returns a negative code and one line in err naming the cause
 * ("authentication failed", ...). Redis being unreachable at start is not an error: the
 * publisher spools and keeps retrying (err then holds a warning, return 1). 0 on success. */
int publisher_new(const publish_config *c, publisher **out, char *err, size_t errlen);

/* Hands one event (a JSON line, with or without its newline) to the publisher; copies it.
 * Thread-safe, never waits for Redis: when the queue is full the event goes straight to
 * the spool, and only a full spool drops it (counted). */
void publisher_submit(publisher *p, const char *line, size_t len);

void publisher_stats(publisher *p, publish_stats *out);

/* Events this publisher has lost so far: dropped, spool_lost, and one (at least) for each
 * damaged stretch found at start, whose records nobody counted. */
uint64_t publish_stats_lost(const publish_stats *s);

/* A second stop signal: stop waiting for Redis, put what is queued into the spool and
 * finish (publisher_close then returns at once). Async-signal-safe: only sets a flag. */
void publisher_hurry(publisher *p);

/* Stops: delivers what is queued to Redis, or to the spool if Redis does not take it
 * within timeout_ms; then frees. Returns the number of events left in the spool (0: all
 * in Redis). Accepts NULL. */
uint64_t publisher_close(publisher *p, unsigned timeout_ms);

/* publisher_close that also hands back the final counters (when final is not NULL), for
 * the summary a run prints at its end (to which it adds one line on stderr per alert
 * class the spool shed, shed.h). timeout_ms counts from the last batch Redis took:
 * a long replay is not cut short while Redis keeps up. */
uint64_t publisher_close_stats(publisher *p, unsigned timeout_ms, publish_stats *final);

#endif
