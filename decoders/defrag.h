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
 *
 * Eviction (issue 9: a forged answer's first fragment, then thousands of tiny junk first
 * fragments from spoofed sources inside the timeout, then the rest). Two defences:
 *  - Charged in bytes, so junk is cheap: everything a datagram holds counts against
 *    max_bytes: its entry (DEFRAG_ENTRY_BYTES), its payload in whole DEFRAG_BLOCK blocks,
 *    and, once it holds more than one block or more than one fragment, its map
 *    (defrag_map_bytes()). A tiny first fragment costs one entry and one block (360
 *    bytes): the defaults (65536 datagrams, 32 MiB) hold 65536 of them in 23 MiB, so
 *    20 000 junk entries inside the timeout evict nothing, whatever addresses they forge.
 *  - Claims, least first: each datagram has a claim to be kept (enum dnssrv_claim): from
 *    a known DNS server (defrag_set_servers()), DNS by its ports or its destination, or
 *    none. When the table or the memory is full, the oldest datagram of the lowest claim
 *    goes; a newcomer never pushes out a datagram of a higher claim (it is refused). So a
 *    flood from spoofed sources, however large, evicts only its own kind, never a
 *    datagram from the resolver.
 * An attacker who also forges the resolver's address for the junk gets the resolver's
 * claim; then only capacity protects: the forged datagram survives while fewer than
 * min(max_datagrams, max_bytes / 360) - 1 tiny junk entries arrive within its lifetime
 * (65 535 with the defaults; fewer if the junk is larger), and past that the loss is
 * counted (FRAG_EVICT_*: an eviction or a refusal, by the claim of what was lost) and
 * the sensor raises a health event (sensor/run.c): never silent.
 * Per-source quotas were rejected: spoofed sources cost nothing, and a quota on the
 * resolver's address would hand the attacker the eviction of its real datagrams.
 *
 * Conflicts (fragment_conflict, issue 11). Fragmentation poisoning plants a forged
 * fragment before the real one: the receiver keeps the bytes that came first, so the
 * forgery wins and the real fragment is thrown away as a duplicate. Two fragments that
 * cover the same bytes with different contents are reported:
 *  - while the datagram is in flight (a duplicate by the policy above, with other
 *    bytes): the reassembled datagram carries the conflict (defrag_conflict());
 *  - after it was reassembled: the forged last fragment is planted first, the real first
 *    fragment completes the datagram with the forged tail, and the real last fragment
 *    arrives too late to be part of anything. So DNS datagrams (those with a claim,
 *    see above) are remembered for recent_ms after reassembly: their payload as
 *    delivered, and where each of their first DEFRAG_RECENT_FRAGS fragments lay, when it
 *    came and with which TTL. A fragment with the same key whose bytes differ from what
 *    was delivered (or that ends elsewhere) is a late conflict: defrag_late_conflict()
 *    hands back the delivered payload, once per datagram, to be judged for the conflict
 *    alone. The fragment then goes on as the receiver takes it: the start of a new
 *    datagram.
 * Identical bytes (a retransmission, a duplicated span) are no conflict. The memory of
 * reassembled datagrams is its own budget (recent_bytes: payloads and records); when it
 * is full the oldest is forgotten early, unless its claim is higher than the newcomer's,
 * which is then not kept (either way FRAG_RECENT_EVICTED): so a flood of datagrams from
 * spoofed sources cannot flush what the resolver sent (forging the resolver's address
 * too, it can, at recent_bytes per recent_ms, and it is counted). An IPv4 id that a sender
 * reuses within recent_ms for another datagram to the same destination would look like a
 * late conflict: that takes 65 536 datagrams between the pair (or, with Linux's hashed id
 * counters, through one bucket) within recent_ms, which is why recent_ms is short. */
#ifndef DW_DEFRAG_H
#define DW_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "decoders/counters.h"
#include "decoders/dnssrv.h"
#include "decoders/pkt.h"

typedef struct defrag defrag;

typedef struct defrag_limits {
    unsigned max_datagrams;   /* in flight at once (default 65536) */
    unsigned max_fragments;   /* per datagram (default 64) */
    size_t max_bytes;         /* memory charged in total: entries, maps, payload blocks
                               * (default 32 MiB) */
    unsigned timeout_ms;      /* incomplete datagram lifetime (default 30000) */
    size_t recent_bytes;      /* memory of reassembled datagrams, for late conflicts
                               * (default 4 MiB; at least 128 KiB is used) */
    unsigned recent_ms;       /* how long a reassembled datagram is remembered
                               * (default 5000) */
} defrag_limits;

/* Reassembly key: the fields RFC 791 / RFC 8200 identify a datagram by. */
typedef struct defrag_key {
    uint8_t ip_version;
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t proto;
    uint8_t ttl;    /* not part of the key: the fragment's IPv4 TTL / IPv6 hop limit */
} defrag_key;

/* Fills defaults into zero fields. */
void defrag_limits_default(defrag_limits *l);

/* Returns NULL on allocation failure. */
defrag *defrag_new(const defrag_limits *l);
void defrag_free(defrag *d); /* accepts NULL */

/* The DNS servers and ports that rank datagrams' claims (see above); the set is the
 * caller's, read at every defrag_add(), and must outlive d. NULL: every claim is NONE. */
void defrag_set_servers(defrag *d, const dnssrv *s);

/* Feeds one fragment (offset in bytes, more = MF/M flag). Returns 1 when the datagram is
 * complete: *out and *outlen are the reassembled IP payload, owned by the reassembler and
 * valid until the next defrag_add() or defrag_expire(). Returns 0 when the fragment was
 * kept, or a negative errno-style code when it was dropped (counted in c). */
DW_MUST_USE
int defrag_add(defrag *d, const defrag_key *k, uint32_t offset, int more, const uint8_t *data,
               size_t len, uint64_t now_us, const uint8_t **out, size_t *outlen, dw_counters *c);

/* defrag_add() with the fragment's IP TTL (IPv4) or hop limit (IPv6), kept as evidence
 * of conflicts (defrag_add() passes 0: unknown). */
DW_MUST_USE
int defrag_add_ttl(defrag *d, const defrag_key *k, uint32_t offset, int more,
                   const uint8_t *data, size_t len, uint8_t ttl, uint64_t now_us,
                   const uint8_t **out, size_t *outlen, dw_counters *c);

/* After defrag_add() returned 1: the conflict seen while that datagram was in flight
 * (fragments at the same bytes with different contents; the first kept), or NULL.
 * Valid as long as *out. */
const pkt_frag_conflict *defrag_conflict(const defrag *d);

/* After any defrag_add(): non-NULL when that fragment contradicted a datagram reassembled
 * within recent_ms whose conflict was not reported yet (each datagram is reported once,
 * in flight or late). *out and *outlen are then that datagram's payload as it was
 * delivered, *proto its protocol; all valid until the next defrag_add() or
 * defrag_expire(). The same call may also have completed a new datagram (returned 1);
 * that one is then not remembered, so as to keep this payload intact. */
const pkt_frag_conflict *defrag_late_conflict(const defrag *d, const uint8_t **out,
                                              size_t *outlen, uint8_t *proto);

/* Fragment records kept per remembered datagram (its first ones by offset). */
#define DEFRAG_RECENT_FRAGS 8

/* Drops datagrams older than the timeout (counted as FRAG_TIMEOUT). */
void defrag_expire(defrag *d, uint64_t now_us, dw_counters *c);

/* Next protocol of the datagram the last defrag_add() returned 1 for: for IPv6 the one
 * the fragment at offset 0 named, as the receiver uses (the completing fragment may say
 * otherwise). Callers pass it to pkt_parse_l4(). */
uint8_t defrag_proto(const defrag *d);

/* IP TTL (hop limit) of the fragment at offset 0 of the datagram the last defrag_add()
 * returned 1 for: the header a receiver keeps for the reassembled datagram. */
uint8_t defrag_ttl(const defrag *d);

#define DEFRAG_BLOCK 256
#define DEFRAG_ENTRY_BYTES 112

/* Bytes a datagram's map costs (with max_fragments as defrag_new() clamps it): its block
 * index, its runs, and a record (offset, length, time, TTL) per fragment. */
size_t defrag_map_bytes(unsigned max_fragments);

/* Payload bytes held now, in whole blocks (for tests and metrics). */
size_t defrag_bytes_held(const defrag *d);
/* Everything charged against max_bytes now: entries, maps, blocks; <= max_bytes. */
size_t defrag_mem_charged(const defrag *d);
unsigned defrag_datagrams(const defrag *d);
/* Reassembled datagrams remembered now, and the bytes their memory may use in all. */
unsigned defrag_recent_count(const defrag *d);
size_t defrag_recent_budget(const defrag *d);

#endif
