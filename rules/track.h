/* Query tracking: remembers the queries a worker has seen, so a response can be judged
 * with its query (the DO bit asked for, whether there was a query at all). One table
 * per worker (the capture thread sends a query and its response to the same worker),
 * fixed size, no allocation after track_new(): when full, the oldest slot of a probe
 * window is overwritten. */
#ifndef DW_TRACK_H
#define DW_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "decoders/dns.h"
#include "decoders/pkt.h"

typedef struct track track;

typedef struct track_limits {
    unsigned max_queries; /* remembered at once (default 65536, rounded up to a power of 2) */
    unsigned timeout_ms;  /* a query older than this has no response any more (default 10000) */
} track_limits;

typedef struct track_match {
    bool found;           /* a query with the same addresses, ports, id and question */
    bool query_do;        /* it had EDNS with DO set */
} track_match;

track *track_new(const track_limits *l);
void track_free(track *t); /* accepts NULL */

/* Remembers a query (m->flags has QR clear). */
void track_query(track *t, const pkt_info *pi, const dns_msg *m);

/* Looks up the query a response answers. */
track_match track_response(track *t, const pkt_info *pi, const dns_msg *m);

#endif
