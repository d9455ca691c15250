/* The DNS message reader: zero-copy, bounds-checked, no allocation.
 *
 * dns_parse() walks header, question and the three record sections of a message in
 * place and fills a caller-owned dns_msg with views (offsets into the message). The
 * message bytes must outlive the dns_msg: every offset points into them.
 *
 * Names are never copied while parsing; they are validated (labels <= 63, names <= 255,
 * compression pointers followed forwards and backwards, as many as the message can hold
 * without a loop, like the stub resolvers we protect: glibc follows 500 and more, musl
 * 70 and more) and later unpacked on demand with dns_name_unpack(). Their text, and the
 * text of everything else parsed here, is dns_present.h's.
 *
 * Consumers read a message through this API only (dns_header_read, the dns_msg fields,
 * dns_rr_owner_is_question, ...), never its bytes: the wire reader is the decoder's. */
#ifndef DW_DNS_H
#define DW_DNS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "decoders/counters.h"
#include "decoders/wire.h"

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX 255         /* wire length of a name, root label included */
#define DNS_LABEL_MAX 63
/* Presentation text of a name: every byte may become "\DDD" (4 chars) + dots + NUL. */
#define DNS_NAME_TEXT_MAX (DNS_NAME_MAX * 4 + 2)
/* The smallest record (root owner, 10 bytes of fixed fields) is 11 bytes, so a 65535-byte
 * message holds at most 5957 records: this cap is never reached by a real message and
 * no record is ever invisible to the sensor because of it. */
#define DNS_MAX_RRS 5960
#define DNS_MAX_EDE 8

enum dns_section { DNS_SEC_ANSWER = 1, DNS_SEC_AUTHORITY = 2, DNS_SEC_ADDITIONAL = 3 };

/* Header flag bits as in the second 16-bit word of the header. */
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_Z 0x0040
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags)&0xf)

enum dns_type {
    DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
    DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33, DNS_T_DNAME = 39,
    DNS_T_OPT = 41, DNS_T_DS = 43, DNS_T_RRSIG = 46, DNS_T_NSEC = 47, DNS_T_DNSKEY = 48,
    DNS_T_NSEC3 = 50, DNS_T_SVCB = 64, DNS_T_HTTPS = 65, DNS_T_ANY = 255
};

/* One resource record, in place. */
typedef struct dns_rr {
    uint16_t name_off; /* owner name offset in the message (may start with a pointer) */
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    uint16_t rdata_off; /* rdata offset in the message */
    uint16_t rdlen;
    uint8_t section;    /* enum dns_section */
} dns_rr;

/* Problems found in a message that still decoded in part (bit set). */
enum dns_msg_problem {
    DNS_P_TRUNCATED = 1u << 0,     /* a section ended early: counts beyond the data */
    DNS_P_BAD_RR = 1u << 1,        /* a record was malformed; parsing stopped there */
    DNS_P_TRAILING = 1u << 2,      /* bytes after the last record */
    DNS_P_OPT_MISPLACED = 1u << 3, /* OPT outside additional, or more than one */
    DNS_P_BAD_RDATA = 1u << 4,     /* a record's data is malformed for its type */
};

/* Runs of compression pointers (a pointer to a pointer to ...), resolved once per
 * message by dns_parse: for a position a pointer leads to, the first position reached
 * that is not a pointer (or that the run loops or leads out of the message). Later walks
 * skip a whole run in one step, so a message whose names all lead through one long chain
 * costs its length, not its length times its names. Pointer targets are 14-bit offsets,
 * hence the size. Internal to dns.c; known[] is cleared only when a message has a run. */
#define DNS_RUN_SLOTS 16384
typedef struct dns_runs {
    bool ready;
    uint8_t known[DNS_RUN_SLOTS / 8];
    uint16_t end[DNS_RUN_SLOTS];
} dns_runs;

typedef struct dns_msg {
    const uint8_t *buf; /* the message; borrowed, must outlive this struct */
    uint16_t len;
    uint16_t id;
    uint16_t flags;     /* the raw flags word: DNS_F_*, DNS_OPCODE(), DNS_RCODE() */
    uint16_t qdcount, ancount, nscount, arcount; /* as the header claims */

    bool has_question;  /* the first question parsed */
    uint16_t qname_off, qtype, qclass; /* qname_off: DNS_HEADER_LEN when has_question */
    /* Non-zero when the question name is stored without compression pointers: its wire
     * length (root label included), already validated, at buf + qname_off. Consumers may
     * copy those bytes instead of unpacking the name again. */
    uint16_t qname_wlen;

    /* Records actually decoded, in message order; an/ns/ar count those per section. */
    uint16_t n_rr, n_an, n_ns, n_ar;
    dns_rr rr[DNS_MAX_RRS];

    /* EDNS (from the first OPT record in the additional section). */
    bool has_opt;
    bool edns_do;
    uint8_t edns_version;
    uint16_t edns_udp_size;
    uint16_t rcode;      /* full RCODE: header 4 bits + OPT extended 8 bits */
    uint8_t n_ede;
    uint16_t ede[DNS_MAX_EDE]; /* Extended DNS Error INFO-CODEs (RFC 8914) */

    uint32_t problems;   /* enum dns_msg_problem bits */
    dns_runs runs;       /* see dns_runs */
} dns_msg;

/* Whether the sensor judges the message as a response: QR set, or answer records
 * whatever QR says. glibc's and musl's stub resolvers match a reply to their query by
 * id (glibc also by question) and never look at QR, so a forged answer with QR clear is
 * used all the same. ANCOUNT as the header claims, so that the header alone decides
 * (the worker's fast path for queries reads only the header). */
static inline bool dns_msg_is_answer(const dns_msg *m)
{
    return (m->flags & DNS_F_QR) != 0 || m->ancount > 0;
}

/* The fixed header of a message, read without parsing anything after it. */
typedef struct dns_header {
    uint16_t id;
    uint16_t flags; /* DNS_F_*, DNS_OPCODE(), DNS_RCODE() */
    uint16_t qdcount, ancount, nscount, arcount;
} dns_header;

/* Reads the header of buf[0..len) into *h: 0, or -EINVAL when len is shorter than a
 * header (*h then unspecified). Inline: the worker reads it for every query it skips. */
DW_MUST_USE static inline int dns_header_read(const uint8_t *buf, size_t len, dns_header *h)
{
    wire_ctx w = wire_init(buf, len);
    h->id = wire_u16(&w);
    h->flags = wire_u16(&w);
    h->qdcount = wire_u16(&w);
    h->ancount = wire_u16(&w);
    h->nscount = wire_u16(&w);
    h->arcount = wire_u16(&w);
    return wire_ok(&w) ? 0 : -EINVAL;
}

/* dns_msg_is_answer from the header alone (same rule). */
static inline bool dns_header_is_answer(const dns_header *h)
{
    return (h->flags & DNS_F_QR) != 0 || h->ancount > 0;
}

/* Parses buf[0..len) into *m (which need not be initialised). Returns 0 when the header
 * and the question were sound, even if a later section was not: what decoded before the
 * damage is kept (m->n_rr records) and the damage is in m->problems and counted in *c.
 * Returns -EINVAL when the message is unusable (header truncated, first question
 * malformed); *m is then unspecified. c may be NULL. Only the DNS message counters are
 * touched (the pipeline's DNS_MESSAGES/QUERIES/RESPONSES are the caller's). A length
 * byte 0b01xxxxxx (a 64..127-byte label) counts DNS_LABEL_TOO_LONG, 0b10xxxxxx counts
 * DNS_BAD_LABEL_TYPE. Bytes past 65535 are ignored (DNS_P_TRAILING). */
DW_MUST_USE
int dns_parse(dns_msg *m, const uint8_t *buf, size_t len, dw_counters *c);

/* Unpacks the name at offset off into uncompressed wire form (length-prefixed labels,
 * root label included) in out[DNS_NAME_MAX]. Follows pointers in either direction, any
 * number of them short of a loop: the walk ends on a pointer it already followed (cycle
 * detection, a few steps per loop) and never takes more jumps than the message has
 * bytes. Returns the wire length (>= 1), or a negative error: -EMSGSIZE name too long,
 * -ELOOP a pointer loop, -EINVAL bad label type or past the end.
 * If end != NULL, *end is the offset just after the name as stored at off (after the
 * first pointer if there is one). */
DW_MUST_USE
int dns_name_unpack(const uint8_t *msg, size_t len, size_t off, uint8_t out[DNS_NAME_MAX],
                    size_t *end);

/* dns_name_unpack on a parsed message: the same result, with the pointer runs that
 * dns_parse resolved skipped in one step. Consumers of a dns_msg use this one. */
DW_MUST_USE
int dns_msg_name_unpack(const dns_msg *m, size_t off, uint8_t out[DNS_NAME_MAX], size_t *end);

/* Address of an A or AAAA record: copies 4 or 16 bytes into out and returns 4 or 16;
 * 0 for another type or a wrong rdlength. */
DW_MUST_USE
int dns_rr_addr(const dns_msg *m, const dns_rr *rr, uint8_t out[16]);

/* Address hints of an SVCB/HTTPS record (SvcParamKeys ipv4hint=4, ipv6hint=6). Calls
 * fn(ctx, family, addr) for each (family 4 or 6); returns the number of hints, or -EINVAL
 * if the record data is malformed. */
int dns_svcb_hints(const dns_msg *m, const dns_rr *rr,
                   void (*fn)(void *ctx, int family, const uint8_t *addr), void *ctx);

/* Whether the name stored at off is a bare compression pointer to the question name, as
 * the owner of most answers is: its wire form and text are then the question's, and
 * consumers reuse what they made of the question instead of unpacking it again. */
static inline bool dns_msg_name_is_question(const dns_msg *m, size_t off)
{
    wire_ctx w = wire_init(m->buf, m->len);
    wire_seek(&w, off);
    uint16_t ptr = wire_u16(&w);
    /* qname_off is DNS_HEADER_LEN whenever has_question (the question follows the
     * header), so it fits the 14 bits of a pointer. */
    return wire_ok(&w) && ptr == (0xc000u | m->qname_off) && m->has_question;
}

/* dns_msg_name_is_question for a record's owner. */
static inline bool dns_rr_owner_is_question(const dns_msg *m, const dns_rr *rr)
{
    return dns_msg_name_is_question(m, rr->name_off);
}

/* Compares two uncompressed wire names, ASCII case-insensitively. */
bool dns_wirename_eq(const uint8_t *a, const uint8_t *b);

#endif
