/* A second view of a DNS answer: the records musl's stub resolver would hand to its
 * callback (musl 1.2.3, src/network/dns_parse.c).
 *
 * musl does not decode names while it reads a reply: to skip a name it steps over every
 * byte in 1..127, whatever it is (label length, label content, a reserved label type
 * 0x40..0x7f), and stops at the first byte that is 0 (the name ends there) or 128 and
 * above (taken as a two-byte pointer when 128..193, the message refused above that). It
 * takes only the low byte of a record's type and ignores its class. A message a correct
 * parser splits one way is therefore split another way by musl, and an A/AAAA record can
 * hide inside what dns_parse reads as a label or another record's data. musl uses every
 * address of the answer section for the name it asked.
 *
 * The walk is bounded (at most 64 records, as musl: it refuses a message whose QDCOUNT +
 * ANCOUNT exceeds 64; each byte visited once), reads through wire.h only and allocates
 * nothing. Where musl would read past what it received, the walk stops. */
#ifndef DW_DNS_MUSL_H
#define DW_DNS_MUSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoders/dns.h"

/* musl refuses a reply whose QDCOUNT + ANCOUNT exceeds this. */
#define DNS_MUSL_MAX_RECORDS 64

/* One record as musl hands it over: the low byte of its type, its data in place. */
typedef struct dns_musl_rr {
    uint8_t type;       /* low byte of the type field: 1 is A, 28 is AAAA to musl */
    uint16_t rdata_off; /* offset of the data in the message */
    uint16_t rdlen;
} dns_musl_rr;

/* Walks buf[0..len) as musl does and stores the answer records it would hand to its
 * callback in out[DNS_MUSL_MAX_RECORDS]. Returns their number: 0 when the header is
 * short, its RCODE (the header's four bits) is not 0, or QDCOUNT + ANCOUNT > 64. The
 * walk ends where musl's would give up (a byte above 193, a pointer 0xc1ff, data past
 * the end); the records before that are kept, as musl keeps the addresses it had.
 * Bytes past 65535 are ignored, as dns_parse ignores them. */
unsigned dns_musl_walk(const uint8_t *buf, size_t len, dns_musl_rr out[DNS_MUSL_MAX_RECORDS]);

/* The difference between musl's view and m's (m parsed from the same bytes). */
typedef struct dns_musl_diff {
    bool differs;     /* musl hands over a record that is not one of m's answers (same
                       * data offset, length and type) */
    unsigned n_extra; /* A (4 bytes) and AAAA (16 bytes) addresses musl would use that
                       * are not the address of an A/AAAA answer of m */
} dns_musl_diff;

/* Compares musl's view of m's bytes with m's answer section; calls fn(ctx, family, addr)
 * (family 4 or 6) for each address only musl's view holds. fn may be NULL. */
dns_musl_diff dns_musl_compare(const dns_msg *m,
                               void (*fn)(void *ctx, int family, const uint8_t *addr),
                               void *ctx);

#endif
