/* What the tests that hold the DNS reader against ldns share (tests/unit/test_dns_ldns.c
 * and the fuzz harness tests/fuzz/fuzz_dns.c): which messages the two can be compared
 * on, and how a name of ours is compared with an ldns one. */
#ifndef DW_TESTS_LIB_LDNS_CMP_H
#define DW_TESTS_LIB_LDNS_CMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "decoders/dns.h"

#define LDNSCMP_T_TSIG 250

/* Whether ldns, record by record, ends each record where its rdlength says. ldns reads
 * the fields its type descriptor lists and goes on from there even when rdlength says
 * the data is longer, where we (like resolvers) trust rdlength: a deliberate difference. */
bool ldnscmp_frames_like_us(const dns_msg *m);

/* Records of TYPE in the additional section of m. */
unsigned ldnscmp_additional_count(const dns_msg *m, uint16_t type);

/* Whether ldns and we can be held to the same reading of m (parsed without error):
 * every record framed by rdlength, and no TSIG (ldns_wire2pkt lowers arcount inside its
 * loop over the additional section when it meets a TSIG, so it skips as many records at
 * the end, and it leaks all TSIGs but the last). */
bool ldnscmp_comparable(const dns_msg *m);

/* Whether the name at off in m is the ldns name rdf (case-insensitively). */
bool ldnscmp_same_name(const dns_msg *m, size_t off, const ldns_rdf *rdf);

#endif
