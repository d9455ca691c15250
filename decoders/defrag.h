/* IPv4 and IPv6 fragment reassembly, bounded in every dimension.
 *
 * Limits: datagrams in flight, fragments per datagram, bytes held in total, and a
 * timeout. Under a flood of unfinished datagrams the oldest is evicted (counted), so
 * memory never exceeds the configured total. Buffers are taken from a pool that grows
 * only up to the limits and is reused: no allocation per packet in steady state. */
#ifndef DW_DEFRAG_H
#define DW_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "decoders/counters.h"

typedef struct defrag defrag;

typedef struct defrag_limits {
    unsigned max_datagrams;   /* in flight at once (default 1024) */
    unsigned max_fragments;   /* per datagram (default 64) */
    size_t max_bytes;         /* payload bytes held in total (default 16 MiB) */
    unsigned timeout_ms;      /* incomplete datagram lifetime (default 30000) */
} defrag_limits;

/* Reassembly key: the fields RFC 791 / RFC 8200 identify a datagram by. */
typedef struct defrag_key {
    uint8_t ip_version;
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t proto;
} defrag_key;

/* Fills defaults into zero fields. */
void defrag_limits_default(defrag_limits *l);

/* Returns NULL on allocation failure. */
defrag *defrag_new(const defrag_limits *l);
void defrag_free(defrag *d); /* accepts NULL */

/* Feeds one fragment (offset in bytes, more = MF/M flag). Returns 1 when the datagram is
 * complete: *out/*outlen are the reassembled IP payload, owned by the reassembler and
 * valid until the next defrag_add() or defrag_expire(). Returns 0 when the fragment was
 * kept, or a negative errno-style code when it was dropped (counted in c). */
int defrag_add(defrag *d, const defrag_key *k, uint32_t offset, int more, const uint8_t *data,
               size_t len, uint64_t now_us, const uint8_t **out, size_t *outlen, dw_counters *c);

/* Drops datagrams older than the timeout (counted as FRAG_TIMEOUT). */
void defrag_expire(defrag *d, uint64_t now_us, dw_counters *c);

/* Payload bytes held now (for tests and metrics). */
size_t defrag_bytes_held(const defrag *d);

#endif
