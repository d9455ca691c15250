/* Resolver sampling (resolver_port_predictable, resolver_txid_predictable): the upstream
 * queries a listed resolver sends (queries whose source is the resolver) are sampled in
 * windows of RSAMPLE_WINDOW, and each full window is judged for the randomness a
 * resolver needs against blind forgery (RFC 5452): source ports and query ids that are
 * few, or that step upwards in small increments, are predictable. The thresholds and
 * the reasoning behind them are in docs/rules.md ("Resolver randomness").
 *
 * One table per worker, fixed size after rsample_new(): a resolver's queries are spread
 * over the workers by flow hash, so each worker judges its own sample (a random subset
 * of the resolver's queries: the thresholds hold for it, see the docs). When the table
 * is full the resolver seen least recently in a probe window gives way (counted). */
#ifndef DW_RSAMPLE_H
#define DW_RSAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#define RSAMPLE_WINDOW 64      /* queries per judged window */
#define RSAMPLE_MIN_DISTINCT 32 /* fewer distinct values in a window: predictable */
#define RSAMPLE_MAX_STEP 256   /* an increment of 1..this (mod 2^16) is a sequential step */
#define RSAMPLE_MIN_STEPS 32   /* this many sequential steps of 63: predictable */
#define RSAMPLE_HOLD_S 600     /* one alert per resolver and violation per this, at most */
#define RSAMPLE_SHOW 8         /* last values kept as evidence */

typedef struct rsample rsample;

/* What a window said about one of the two values (ports or ids). */
typedef struct rsample_stat {
    uint16_t distinct;         /* distinct values among RSAMPLE_WINDOW */
    uint16_t steps;            /* increments of 1..RSAMPLE_MAX_STEP among the 63 */
    bool bad;
} rsample_stat;

typedef struct rsample_verdict {
    rsample_stat port, id;
    bool report_port, report_id; /* bad and not reported within RSAMPLE_HOLD_S */
    uint32_t bad_windows_port, bad_windows_id; /* bad windows since the last report, this
                                                * one included */
    uint16_t last_ports[RSAMPLE_SHOW], last_ids[RSAMPLE_SHOW]; /* oldest first */
} rsample_verdict;

/* max_resolvers: table size (rounded up to a power of two, 16..65536; 0: 256).
 * NULL on allocation failure. */
rsample *rsample_new(unsigned max_resolvers);
void rsample_free(rsample *s); /* accepts NULL */

/* One query sent by the resolver at addr (ip_version 4 or 6; 4 or 16 bytes used) from
 * source port `port` with id `id`. Returns true when it closed a window with something to
 * report (*v filled); false otherwise. */
bool rsample_query(rsample *s, int ip_version, const uint8_t *addr, uint16_t port, uint16_t id,
                   uint64_t now_us, rsample_verdict *v);

/* Resolvers that gave way to others in a full table, since rsample_new(). */
uint64_t rsample_evicted(const rsample *s);

/* Judges one window of values (exposed for tests). */
rsample_stat rsample_judge(const uint16_t *v, unsigned n);

#endif
