/* The publisher (DESIGN.md "Redis"), transport-neutral: events go out from a thread of
 * their own fed by a bounded queue, in batches handed to a transport (output_redis.c);
 * while the far end is unreachable they go to a bounded on-disk spool and are replayed in
 * order, before newer events, when it returns. Only a full spool (or its admission policy,
 * shed.h) drops events, and those are counted. */
#ifndef DW_PUBLISH_H
#define DW_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct publisher publisher;

/* The queue and spool bounds, the same for every transport. */
typedef struct publish_queue_config {
    const char *name;           /* the transport, in messages: "redis" */
    const char *spool_dir;      /* required */
    uint64_t spool_max_bytes;   /* the spool's bound on disk */
    unsigned batch_max;         /* events per batch (default 256) */
    unsigned queue_max;         /* events waiting in memory (default 65536) */
    uint64_t queue_max_bytes;   /* memory the queue holds, event buffers included
                                 * (default 64 MiB); beyond either bound events go to
                                 * the spool */
    dw_diag_fn diag;            /* the publisher's messages (an outage and its end, a full
                                 * or failing spool, shed alerts), from its thread and
                                 * the caller's; NULL: not said (the stats still count) */
    void *diag_ctx;
} publish_queue_config;

/* Where the events go: a transport is used by the publisher's thread alone once
 * publisher_new has returned, so it needs no lock of its own. */
typedef struct publish_transport publish_transport;
typedef struct publish_transport_ops {
    /* Connects (and authenticates). 0; or a negative code with one line in err, and
     * *fatal set when retrying cannot help (a wrong password). */
    int (*connect)(publish_transport *t, bool *fatal, char *err, size_t errlen);
    /* Sends n events, event i being len[i] bytes at buf + off[i], and waits for them to be
     * acknowledged. Returns how many leading events were; fewer than n: err says why and
     * the publisher disconnects. */
    size_t (*send)(publish_transport *t, const char *buf, const size_t *off, const size_t *len,
                   size_t n, char *err, size_t errlen);
    void (*disconnect)(publish_transport *t); /* accepts a transport not connected */
    void (*free)(publish_transport *t);
} publish_transport_ops;

struct publish_transport {
    const publish_transport_ops *ops;
    char where[300];            /* "host:port" or the like, for messages */
    uint64_t unheard;           /* events the far end took and handed to nobody (PUBLISH
                                 * answered 0 receivers); counted by send, read by the
                                 * publisher's thread after it */
};

typedef struct publish_stats {
    uint64_t published;         /* acknowledged by the far end */
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
    uint64_t unheard;           /* of published: taken by a channel nobody subscribed to */
    uint64_t spool_events;      /* waiting in the spool now */
    uint64_t spool_bytes, spool_max_bytes; /* the spool's size on disk now, and its bound */
} publish_stats;

/* Takes t over (freed with the publisher, or at once on failure). Opens the spool and
 * connects once before returning, so a wrong password fails at start: returns a negative
 * code and one line in err naming the cause ("authentication failed", ...). The
 * transport's far end being unreachable at start is not an error: the publisher spools
 * and keeps retrying (err then holds a warning, return 1). 0 on success. */
DW_MUST_USE
int publisher_new(const publish_queue_config *c, publish_transport *t, publisher **out,
                  char *err, size_t errlen);

/* Hands one event (a JSON line, with or without its newline) to the publisher; copies it.
 * Thread-safe, never waits for the transport: when the queue is full the event goes straight to
 * the spool, and only a full spool drops it (counted). */
void publisher_submit(publisher *p, const char *line, size_t len);

void publisher_stats(publisher *p, publish_stats *out);

/* Events this publisher has lost so far: dropped, spool_lost, and one (at least) for each
 * damaged stretch found at start, whose records nobody counted. */
uint64_t publish_stats_lost(const publish_stats *s);

/* A second stop signal: stop waiting for the far end, put what is queued into the spool and
 * finish (publisher_close then returns at once). Async-signal-safe: only sets a flag. */
void publisher_hurry(publisher *p);

/* Stops: delivers what is queued, or puts it in the spool if the far end does not take it
 * within timeout_ms; then frees. Returns the number of events left in the spool (0: all
 * delivered). Accepts NULL. */
uint64_t publisher_close(publisher *p, unsigned timeout_ms);

/* publisher_close that also hands back the final counters (when final is not NULL), for
 * the summary a run prints at its end (to which it adds one line on stderr per alert
 * class the spool shed, shed.h). timeout_ms counts from the last batch the far end
 * took: a long replay is not cut short while it keeps up. */
uint64_t publisher_close_stats(publisher *p, unsigned timeout_ms, publish_stats *final);

#endif
