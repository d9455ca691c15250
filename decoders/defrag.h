/* IPv4 and IPv6 fragment reassembly, bounded in every dimension.
 *
 * Limits: datagrams in flight, fragments per datagram, bytes held in total, and a
 * timeout. Under a flood of unfinished datagrams the oldest is evicted (counted), so
 * memory never exceeds the configured total. Buffers are taken from a pool that grows
 * only up to the limits and is reused: no allocation per packet in steady state.
 *
 * Policy: behave as the Linux receiver does (since 2018/2019, IPv4 and IPv6 alike), so
 * that the sensor reassembles exactly what the victim's kernel delivers:
 *  - a fragment lying inside data already held (one run of fragments received in order)
 *    is a duplicate: dropped, the FIRST data is kept. Same bytes: FRAG_DUPLICATE;
 *    different bytes: FRAG_OVERLAP (an evasion attempt, worth alerting on);
 *  - any other overlap drops the whole datagram (FRAG_OVERLAP) (RFC 5722 for IPv6);
 *  - a zero-length fragment, a second last fragment with another end, data past the end
 *    drop the whole datagram (FRAG_BAD); a non-last fragment whose length is not a
 *    multiple of 8 is cut down to one (IPv4) or dropped (IPv6) (FRAG_BAD); a fragment
 *    ending past 65535 is dropped (FRAG_BAD).
 * A sensor stricter than the victim would miss what the victim accepts; a looser one can
 * be fed a datagram the victim never saw. Both were judged worse than mirroring.
 * IPv6 datagrams are keyed without k->proto (RFC 8200: source, destination, id); their
 * protocol is the one in the fragment at offset 0, see defrag_proto().
 * Memory is counted in whole blocks of DEFRAG_BLOCK bytes, so a tiny fragment far into
 * a datagram costs one block, not the datagram's length. */
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
 * complete: *out and *outlen are the reassembled IP payload, owned by the reassembler and
 * valid until the next defrag_add() or defrag_expire(). Returns 0 when the fragment was
 * kept, or a negative errno-style code when it was dropped (counted in c). */
int defrag_add(defrag *d, const defrag_key *k, uint32_t offset, int more, const uint8_t *data,
               size_t len, uint64_t now_us, const uint8_t **out, size_t *outlen, dw_counters *c);

/* Drops datagrams older than the timeout (counted as FRAG_TIMEOUT). */
void defrag_expire(defrag *d, uint64_t now_us, dw_counters *c);

/* Next protocol of the datagram the last defrag_add() returned 1 for: for IPv6 the one
 * the fragment at offset 0 named, as the receiver uses (the completing fragment may say
 * otherwise). Callers pass it to pkt_parse_l4(). */
uint8_t defrag_proto(const defrag *d);

#define DEFRAG_BLOCK 512

/* Payload bytes held now, in whole blocks (for tests and metrics); <= max_bytes. */
size_t defrag_bytes_held(const defrag *d);

#endif
