/* What a worker knows about DNS endpoints, for the reassembly tables' eviction order: the
 * DNS ports, and a small bounded set of addresses recently seen answering on a DNS port
 * (the "DNS servers": the resolvers, and the authoritative servers they ask).
 *
 * The fragment and TCP tables rank each entry by its claim to be kept (enum dnssrv_claim)
 * and evict the entries with the least claim first, so that a flood of junk entries from
 * spoofed sources cannot push out a datagram or a flow coming from a resolver.
 *
 * The set is a heavy-hitters table (Misra-Gries per bucket): 4 ways per bucket, a
 * count per address. A response from a known address raises its count; one from a new
 * address takes a free way, or, when the bucket is full, lowers every count in it by one
 * (an address reaching zero frees its way) and is not recorded. So an attacker who
 * forges responses from many addresses to push the real resolver out has to land, in the
 * resolver's bucket (seeded hash: 1 in n_buckets of its addresses), more responses than
 * the resolver sent (counts saturate at DNSSRV_COUNT_MAX). Nothing is allocated after
 * dnssrv_new(); every call is O(1). One per worker; not thread-safe. */
#ifndef DW_DNSSRV_H
#define DW_DNSSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dnssrv dnssrv;

/* Claim of a reassembly entry to be kept, least first. */
enum dnssrv_claim {
    DNSSRV_CLAIM_NONE = 0,   /* nothing says it is DNS */
    DNSSRV_CLAIM_DNS = 1,    /* a DNS port, a handshake, or sent to a known server: all
                              * cheap for an attacker to forge */
    DNSSRV_CLAIM_SERVER = 2, /* sent by an address seen answering on a DNS port */
};
#define DNSSRV_NCLAIMS 3

#define DNSSRV_WAYS 4
#define DNSSRV_MAX_PORTS 16
#define DNSSRV_COUNT_MAX 65535u

/* entries: addresses remembered (rounded up to a multiple of DNSSRV_WAYS, a power-of-two
 * number of buckets; 0 = the default 1024). ports: the DNS ports (copied). NULL on
 * allocation failure. At most DNSSRV_MAX_PORTS ports are kept. */
dnssrv *dnssrv_new(unsigned entries, const uint16_t *ports, unsigned n_ports);
void dnssrv_free(dnssrv *s); /* accepts NULL */

bool dnssrv_port(const dnssrv *s, uint16_t port);

/* Records one DNS response sent by addr (4 or 16 bytes by ip_version). */
void dnssrv_note(dnssrv *s, uint8_t ip_version, const uint8_t *addr);

/* Whether addr is in the set now. */
bool dnssrv_known(const dnssrv *s, uint8_t ip_version, const uint8_t *addr);

/* The claim of traffic from src to dst: SERVER when src is known, DNS when dst is, NONE
 * otherwise (callers raise NONE to DNS on their own evidence: ports, handshake). A NULL
 * set knows no address. */
enum dnssrv_claim dnssrv_claim_of(const dnssrv *s, uint8_t ip_version, const uint8_t *src,
                                  const uint8_t *dst);

#endif
