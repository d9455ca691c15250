/* A worker thread: frames from its ring to events. It owns everything it touches per
 * packet (decoder with its fragment and TCP tables, DNS message, evaluator with its query
 * table, alert folding, event encoder), so workers share nothing but the read-only
 * sources and the output it is given. */
#ifndef DW_WORKER_H
#define DW_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "decoders/counters.h"
#include "decoders/decode.h"
#include "rules/track.h"
#include "sensor/options.h"
#include "sensor/output.h"
#include "sensor/ring.h"
#include "sensor/sources.h"

typedef struct worker worker;

/* What a worker needs, and nothing more. The pointers must outlive the worker. */
typedef struct worker_config {
    const dw_decoder_config *decoder;
    enum dw_log log;              /* which responses get an event besides alerts */
    unsigned fold_seconds;        /* identical alerts folded within */
    track_limits track;           /* exchange tracking (rules/track.h); zeros: defaults.
                                   * .loss: the capture's loss counter, read-only here */
    int dlt;                      /* link type of the frames */
    bool live;                    /* expire folds and flush by wall clock when idle */
    const char *iface;            /* observer.ingress.interface.name */
    const char *observer_name;
    dw_out *out;                  /* where events go; thread-safe */
    dw_sources *const *sources;   /* the pipeline's current sources, read atomically */
    size_t ring_bytes;
} worker_config;

/* Starts the thread. NULL on failure. */
worker *worker_start(const worker_config *cfg);

/* The capture side of the ring (single producer). */
ring *worker_ring(worker *w);

/* Asks the worker to finish what its ring holds, flush, and stop; joins it. */
void worker_stop(worker *w);
void worker_free(worker *w); /* after worker_stop; accepts NULL */

/* Generation of the sources the worker uses now (for freeing old ones after reload). */
unsigned worker_sources_gen(const worker *w);

/* Counters: readable from any thread (relaxed atomics). */
const dw_counters *worker_counters(const worker *w);
uint64_t worker_alerts(const worker *w);
uint64_t worker_events(const worker *w);
/* Moves on at every turn of the worker's loop, busy or idle (the watchdog reads it). */
uint64_t worker_beat(const worker *w);

#endif
