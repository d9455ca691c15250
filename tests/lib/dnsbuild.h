/* The one builder the tests use for DNS messages and for the packets that carry them
 * (Ethernet, IPv4/IPv6, UDP, TCP): unit tests, fuzz seeds and tests/tools/gen_pcap.c.
 *
 * Every write is bounds-checked: a buffer that would overflow ends the program with a
 * message (test code; a scenario too large is a bug in the test). Writers put exactly
 * the bytes asked for, in network order, so a test can build any oddity (forward
 * compression pointers, wrong counts, bad lengths) by hand with the low-level calls. */
#ifndef DW_TESTS_LIB_DNSBUILD_H
#define DW_TESTS_LIB_DNSBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Large enough for any IP packet plus a link header and tunnel headers. */
#define DNSB_CAP 70000

typedef struct dnsb {
    size_t n;
    uint8_t b[DNSB_CAP];
} dnsb;

/* ---- bytes ---- */
void dnsb_u8(dnsb *m, unsigned v);
void dnsb_u16(dnsb *m, unsigned v);
void dnsb_u32(dnsb *m, uint32_t v);
void dnsb_bytes(dnsb *m, const void *p, size_t n); /* p may be NULL when n is 0 */
void dnsb_zeros(dnsb *m, size_t n);
void dnsb_set16(dnsb *m, size_t at, unsigned v);   /* overwrite two bytes already written */
/* An IPv4 or IPv6 literal as 4 or 16 bytes (which one by the text); exits on a bad one. */
void dnsb_ip(dnsb *m, const char *text);
void dnsb_ip4(dnsb *m, const char *text);
void dnsb_ip6(dnsb *m, const char *text);

/* ---- names ---- */
void dnsb_label(dnsb *m, const void *p, size_t n);
/* Plain dotted name without the root label ("" or "." writes nothing); no escapes. */
void dnsb_labels(dnsb *m, const char *name);
/* Plain dotted name and the root label. */
void dnsb_name(dnsb *m, const char *name);
/* Compression pointer to offset off. */
void dnsb_ptr(dnsb *m, unsigned off);
/* Presentation form (with \. and \DDD escapes) to wire form in out[cap]: the length, or
 * -1 when it does not fit or a label is longer than 63. Inverse of dns_name_text(). */
int dnsb_name_from_text(const char *text, uint8_t *out, size_t cap);

/* ---- messages ---- */
/* Starts the message over: the 12-byte header. */
void dnsb_hdr(dnsb *m, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
              unsigned ar);
/* Rewrites the answer, authority and additional counts of the header. */
void dnsb_counts(dnsb *m, unsigned an, unsigned ns, unsigned ar);
/* Header with one question (its name at offset 12), class IN. */
void dnsb_start(dnsb *m, unsigned id, unsigned flags, const char *qname, unsigned qtype,
                unsigned an, unsigned ns, unsigned ar);
/* The owner is written already: type, class, TTL and a placeholder rdlength. Returns
 * where rdlength goes, for dnsb_rr_end() to fill in once the rdata is written. */
size_t dnsb_rr_begin(dnsb *m, unsigned type, unsigned cls, uint32_t ttl);
void dnsb_rr_end(dnsb *m, size_t at);
/* An A or AAAA record (by the literal) owned by a pointer to owner_ptr, class IN. */
void dnsb_rr_addr(dnsb *m, unsigned owner_ptr, uint32_t ttl, const char *ip);
/* OPT pseudo-record at the root: payload size udp, the DO bit; options follow with
 * dnsb_edns_option() before dnsb_rr_end(). */
size_t dnsb_opt_begin(dnsb *m, unsigned udp, bool do_bit);
void dnsb_edns_option(dnsb *m, unsigned code, const void *data, size_t len);

/* ---- packets ---- */
typedef struct dnsb_ep {
    int af; /* 4 or 6 */
    uint8_t a[16];
    uint16_t port;
} dnsb_ep;

/* Endpoint from an address literal; exits on a bad one. */
dnsb_ep dnsb_endpoint(const char *ip, uint16_t port);

/* Internet checksum: add bytes to a running sum, then fold and complement. */
uint32_t dnsb_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t dnsb_csum_fold(uint32_t sum);

#define DNSB_TH_FIN 0x01
#define DNSB_TH_SYN 0x02
#define DNSB_TH_RST 0x04
#define DNSB_TH_PSH 0x08
#define DNSB_TH_ACK 0x10

/* UDP or TCP segment with payload into l4 (started over), checksum over the
 * pseudo-header of s and d. TCP: a 20-byte header, window 65535, ack only with ACK. */
void dnsb_udp(dnsb *l4, const dnsb_ep *s, const dnsb_ep *d, const uint8_t *pl, size_t n);
void dnsb_tcp(dnsb *l4, const dnsb_ep *s, const dnsb_ep *d, uint32_t seq, uint32_t ack,
              unsigned flags, const uint8_t *pl, size_t n);
/* IPv4 header (20 bytes, TTL 64, checksum filled in) appended for paylen bytes of
 * payload; frag_off in bytes (a multiple of 8), mf = more fragments; DF on whole ones. */
void dnsb_ip4_hdr(dnsb *ip, const dnsb_ep *s, const dnsb_ep *d, unsigned proto,
                  size_t paylen, unsigned id, size_t frag_off, bool mf);
/* IPv6 header (40 bytes, hop limit 64) appended. */
void dnsb_ip6_hdr(dnsb *ip, const dnsb_ep *s, const dnsb_ep *d, unsigned next,
                  size_t paylen);
/* Ethernet header appended: destination, source, EtherType. A tagged frame writes the
 * addresses, its tags (outermost first) and then the type or what else follows. */
void dnsb_eth(dnsb *f, const uint8_t dst[6], const uint8_t src[6], unsigned type);
void dnsb_eth_addrs(dnsb *f, const uint8_t dst[6], const uint8_t src[6]);
void dnsb_vlan(dnsb *f, unsigned tpid, unsigned tci);

#endif
