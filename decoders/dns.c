/* The DNS message reader: see dns.h for the contract. Every byte of the message is read
 * through a wire_ctx; nothing here allocates. */
#include "decoders/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decoders/wire.h"

/* Counters are optional so that tools and tests can parse without keeping any. */
#define CNT(c, name)               \
    do {                           \
        if (c)                     \
            DW_COUNT((c), name);   \
    } while (0)

/* Why a name did not decode; mapped to counters in dns_parse and to errno codes in the
 * public functions. */
enum name_err {
    NAME_OK = 0,
    NAME_TRUNCATED,  /* the name's own bytes (before any pointer) run past the end */
    NAME_BAD_PTR,    /* a pointer, or the labels it leads to, lie past the end */
    NAME_LABEL_LONG, /* length byte 0b01xxxxxx: what a 64..127-byte label encodes to */
    NAME_LABEL_TYPE, /* length byte 0b10xxxxxx: reserved label type */
    NAME_TOO_LONG,   /* more than DNS_NAME_MAX bytes uncompressed */
    NAME_LOOP,       /* a pointer loop: the walk came back to a pointer it had followed */
};

static int name_errno(enum name_err e)
{
    switch (e) {
    case NAME_OK:
        return 0;
    case NAME_TOO_LONG:
        return -EMSGSIZE;
    case NAME_LOOP:
        return -ELOOP;
    default:
        return -EINVAL;
    }
}

static void name_count(dw_counters *c, enum name_err e)
{
    switch (e) {
    case NAME_OK:
        break;
    case NAME_TRUNCATED:
    case NAME_BAD_PTR:
        CNT(c, DNS_BAD_NAME);
        break;
    case NAME_LABEL_LONG:
        CNT(c, DNS_LABEL_TOO_LONG);
        break;
    case NAME_LABEL_TYPE:
        CNT(c, DNS_BAD_LABEL_TYPE);
        break;
    case NAME_TOO_LONG:
        CNT(c, DNS_NAME_TOO_LONG);
        break;
    case NAME_LOOP:
        CNT(c, DNS_NAME_LOOP);
        break;
    }
}

/* Names dns_parse has already validated, by start offset: most owner names are a pointer
 * to the question or to a CNAME target, so one lookup replaces a walk. Only ever used
 * to finish a walk that is certain to succeed, so results do not depend on it. */
#define NAME_CACHE_SIZE 16
typedef struct name_cache {
    uint16_t off[NAME_CACHE_SIZE];
    uint8_t wlen[NAME_CACHE_SIZE];  /* uncompressed wire length from off, <= 255 */
    uint16_t jumps[NAME_CACHE_SIZE]; /* pointers followed from off, < message length */
    unsigned n, next;
} name_cache;

static int cache_find(const name_cache *nc, size_t off)
{
    for (unsigned i = 0; i < nc->n; i++)
        if (nc->off[i] == off)
            return (int)i;
    return -1;
}

static void cache_add(name_cache *nc, size_t off, size_t wlen, size_t jumps)
{
    if (cache_find(nc, off) >= 0)
        return;
    unsigned i = nc->n < NAME_CACHE_SIZE ? nc->n++ : nc->next++ % NAME_CACHE_SIZE;
    nc->off[i] = (uint16_t)off;
    nc->wlen[i] = (uint8_t)wlen;
    nc->jumps[i] = (uint16_t)jumps;
}

#define RUN_LOOP 0xffffu /* run outcomes besides a position (< DNS_RUN_SLOTS) */
#define RUN_BAD 0xfffeu

static bool run_known(const dns_runs *rs, size_t p)
{
    return rs->ready && (rs->known[p >> 3] >> (p & 7) & 1);
}

/* Resolves the run of pointers at p (a position a pointer led to, so p < DNS_RUN_SLOTS,
 * holding a pointer): follows it to the first position that is not a pointer, with
 * Brent's cycle detection, then records that outcome for every position of the run. */
static uint16_t run_resolve(const uint8_t *msg, size_t len, dns_runs *rs, size_t p)
{
    wire_ctx w = wire_init(msg, len);
    size_t q = p, saved = SIZE_MAX, lam = 0, power = 1;
    uint16_t res;

    if (!rs->ready) {
        memset(rs->known, 0, sizeof rs->known);
        rs->ready = true;
    }
    for (;;) {
        if (run_known(rs, q)) {
            res = rs->end[q];
            break;
        }
        wire_seek(&w, q);
        uint8_t b = wire_u8(&w);
        if (!wire_ok(&w)) {
            res = RUN_BAD;
            break;
        }
        if (b < 0xc0) {
            res = (uint16_t)q;
            break;
        }
        uint8_t lo = wire_u8(&w);
        if (!wire_ok(&w)) {
            res = RUN_BAD;
            break;
        }
        if (q == saved) {
            res = RUN_LOOP;
            break;
        }
        if (++lam >= power) {
            saved = q;
            power <<= 1;
            lam = 0;
        }
        q = (size_t)(b & 0x3f) << 8 | lo;
    }
    /* Again from p, recording: up to the end, a known position, or (a loop) back to a
     * position recorded on this pass. */
    for (q = p; !run_known(rs, q);) {
        wire_seek(&w, q);
        uint8_t b = wire_u8(&w);
        uint8_t lo = wire_u8(&w);
        if (!wire_ok(&w) || b < 0xc0)
            break;
        rs->known[q >> 3] |= (uint8_t)(1u << (q & 7));
        rs->end[q] = res;
        q = (size_t)(b & 0x3f) << 8 | lo;
    }
    return res;
}

/* Walks the name at off in msg[0..len). Pointers may go forwards or backwards, and no
 * small count of them is imposed: the stub resolvers we protect follow hundreds (glibc
 * stops when the bytes checked reach the message length, musl when its steps reach half
 * of it), so an owner at the end of a 500-pointer chain is still the victim's name.
 * What ends a walk instead:
 *  - a name that does not loop visits each pointer position at most once, and a message
 *    of len bytes has fewer than len of them: more jumps than that is a loop. This bound
 *    rejects no name that any resolver (or ldns, which allows 65535 jumps) accepts.
 *  - Brent's cycle detection on the positions of the pointers followed: the walk is a
 *    function of the position, so coming back to a pointer is a loop; it is seen within
 *    about twice the loop's length, so a loop costs a few steps, not the message length.
 *  - the output length (DNS_NAME_MAX): labels add at most 255 bytes.
 * What keeps it cheap: a pointer that leads to a pointer starts a run (dns_runs); with
 * rw the run is resolved and recorded, with ro a recorded run is skipped in one step.
 * Between runs a name has labels, at most 127 of them.
 * out (may be NULL) receives the uncompressed wire name; *wlen its length; *end the
 * offset after the name as stored at off. nc (may be NULL, only when out is NULL) holds
 * names known to be valid, and learns this one. */
static enum name_err name_walk_c(const uint8_t *msg, size_t len, size_t off, uint8_t *out,
                                 size_t *wlen, size_t *end, name_cache *nc, dns_runs *rw,
                                 const dns_runs *ro)
{
    wire_ctx w = wire_init(msg, len);
    size_t n = 0, stop = 0;
    size_t jumps = 0;
    bool jumped = false; /* the position was reached by a pointer */
    /* Brent: the pointer position saved, and steps since it was saved (< power). */
    size_t saved = SIZE_MAX, lam = 0, power = 1;

    if (rw)
        ro = rw;
    wire_seek(&w, off);
    for (;;) {
        uint8_t b = wire_u8(&w);
        if (!wire_ok(&w))
            return jumps ? NAME_BAD_PTR : NAME_TRUNCATED;
        if (b == 0)
            break;
        if (b >= 0xc0) {
            uint8_t lo = wire_u8(&w);
            if (!wire_ok(&w))
                return jumps ? NAME_BAD_PTR : NAME_TRUNCATED;
            if (jumps == 0)
                stop = w.pos;
            size_t at = w.pos - 2;
            if (at == saved || ++jumps >= len)
                return NAME_LOOP;
            if (++lam >= power) {
                saved = at;
                power <<= 1;
                lam = 0;
            }
            size_t target = (size_t)(b & 0x3f) << 8 | lo;
            if (jumped && ro) { /* a pointer to a pointer: a run from at */
                uint16_t res = run_known(ro, at) ? ro->end[at]
                               : rw              ? run_resolve(msg, len, rw, at)
                                                 : (uint16_t)target;
                if (res == RUN_LOOP)
                    return NAME_LOOP;
                if (res == RUN_BAD)
                    return NAME_BAD_PTR;
                target = res;
            }
            jumped = true;
            int hit = nc ? cache_find(nc, target) : -1;
            if (hit >= 0 && n + nc->wlen[hit] <= DNS_NAME_MAX &&
                jumps + nc->jumps[hit] < len) {
                n += nc->wlen[hit] - 1u; /* the root label is added below */
                jumps += nc->jumps[hit];
                break;
            }
            wire_seek(&w, target);
            if (!wire_ok(&w))
                return NAME_BAD_PTR;
            continue;
        }
        jumped = false;
        if (b >= 0x80)
            return NAME_LABEL_TYPE;
        if (b > DNS_LABEL_MAX)
            return NAME_LABEL_LONG;
        if (n + 1 + b + 1 > DNS_NAME_MAX)
            return NAME_TOO_LONG;
        if (out) {
            out[n] = b;
            wire_bytes(&w, out + n + 1, b);
        } else {
            wire_skip(&w, b);
        }
        if (!wire_ok(&w))
            return jumps ? NAME_BAD_PTR : NAME_TRUNCATED;
        n += 1 + (size_t)b;
    }
    if (out)
        out[n] = 0;
    if (wlen)
        *wlen = n + 1;
    if (end)
        *end = jumps ? stop : w.pos;
    if (nc)
        cache_add(nc, off, n + 1, jumps);
    return NAME_OK;
}

static enum name_err name_walk(const uint8_t *msg, size_t len, size_t off, uint8_t *out,
                               size_t *wlen, size_t *end)
{
    return name_walk_c(msg, len, off, out, wlen, end, NULL, NULL, NULL);
}

/* A name inside record data: its stored bytes must end within the record (pointers may
 * lead anywhere in the message). Moves r past it. */
static enum name_err rdata_name_c(const dns_msg *m, wire_ctx *r, uint8_t *out, size_t *wlen,
                                  name_cache *nc, dns_runs *rw)
{
    size_t end;
    if (!wire_ok(r))
        return NAME_TRUNCATED;
    enum name_err e = name_walk_c(m->buf, m->len, r->pos, out, wlen, &end, nc, rw, &m->runs);
    if (e != NAME_OK)
        return e;
    if (end > r->len) {
        wire_fail(r);
        return NAME_TRUNCATED;
    }
    wire_seek(r, end);
    return NAME_OK;
}

static enum name_err rdata_name(const dns_msg *m, wire_ctx *r, uint8_t *out, size_t *wlen)
{
    return rdata_name_c(m, r, out, wlen, NULL, NULL);
}

/* A cursor over exactly one record's data, positioned at its start (offsets stay those
 * of the message). Failed if the record lies outside the message. */
static wire_ctx rdata_ctx(const dns_msg *m, const dns_rr *rr)
{
    size_t end = (size_t)rr->rdata_off + rr->rdlen;
    wire_ctx r = wire_init(m->buf, end <= m->len ? end : 0);
    if (end > m->len)
        wire_fail(&r);
    else
        wire_seek(&r, rr->rdata_off);
    return r;
}

/* Checks the data of the types whose names and sizes the rules rely on. */
static enum name_err check_rdata(const dns_msg *m, const dns_rr *rr, bool *bad, name_cache *nc,
                                 dns_runs *rw)
{
    wire_ctx r = rdata_ctx(m, rr);
    enum name_err e = NAME_OK;

    switch (rr->type) {
    case DNS_T_A:
        wire_skip(&r, 4);
        break;
    case DNS_T_AAAA:
        wire_skip(&r, 16);
        break;
    case DNS_T_CNAME:
    case DNS_T_DNAME:
    case DNS_T_NS:
    case DNS_T_PTR:
        e = rdata_name_c(m, &r, NULL, NULL, nc, rw);
        break;
    case DNS_T_MX:
        wire_skip(&r, 2);
        e = rdata_name_c(m, &r, NULL, NULL, nc, rw);
        break;
    case DNS_T_SRV:
        wire_skip(&r, 6);
        e = rdata_name_c(m, &r, NULL, NULL, nc, rw);
        break;
    case DNS_T_SOA:
        e = rdata_name_c(m, &r, NULL, NULL, nc, rw);
        if (e == NAME_OK)
            e = rdata_name_c(m, &r, NULL, NULL, nc, rw);
        wire_skip(&r, 20);
        break;
    case DNS_T_TXT:
        if (wire_left(&r) == 0)
            wire_fail(&r);
        while (wire_ok(&r) && wire_left(&r) > 0)
            wire_skip(&r, wire_u8(&r));
        break;
    case DNS_T_SVCB:
    case DNS_T_HTTPS:
        /* Not judged here (dns_svcb_hints is), but its target name is walked once so
         * that the pointer runs it leads through are recorded for the readers after. */
        wire_skip(&r, 2);
        rdata_name_c(m, &r, NULL, NULL, NULL, rw);
        return NAME_OK;
    default:
        return NAME_OK;
    }
    *bad = e != NAME_OK || !wire_ok(&r) || wire_left(&r) != 0;
    return e == NAME_TRUNCATED ? NAME_OK : e; /* truncation inside rdata is no name fault */
}

static void parse_opt(dns_msg *m, const dns_rr *rr, dw_counters *c)
{
    wire_ctx r = rdata_ctx(m, rr);
    wire_ctx o = wire_init(m->buf, m->len);
    bool bad = false;

    m->has_opt = true;
    m->edns_udp_size = rr->rclass;
    m->edns_version = (uint8_t)(rr->ttl >> 16);
    m->edns_do = (rr->ttl & 0x8000) != 0;
    m->rcode = (uint16_t)((rr->ttl >> 24) << 4 | DNS_RCODE(m->flags));

    wire_seek(&o, rr->name_off);
    if (wire_u8(&o) != 0)
        bad = true; /* RFC 6891: the owner is the root */
    while (wire_ok(&r) && wire_left(&r) > 0) {
        uint16_t code = wire_u16(&r);
        uint16_t olen = wire_u16(&r);
        wire_ctx v = wire_sub(&r, olen);
        if (!wire_ok(&r))
            break;
        if (code == 15) { /* Extended DNS Error, RFC 8914 */
            uint16_t info = wire_u16(&v);
            if (!wire_ok(&v))
                bad = true;
            else if (m->n_ede < DNS_MAX_EDE)
                m->ede[m->n_ede++] = info;
        }
    }
    if (bad || !wire_ok(&r)) {
        m->problems |= DNS_P_BAD_RDATA;
        CNT(c, DNS_OPT_BAD);
    }
}

int dns_parse(dns_msg *m, const uint8_t *buf, size_t len, dw_counters *c)
{
    /* Offsets are 16-bit; no DNS transport carries more, so the rest is trailing. */
    size_t over = len > 65535 ? len - 65535 : 0;
    wire_ctx w = wire_init(buf, len - over);
    uint16_t counts[3];
    name_cache nc;

    nc.n = nc.next = 0;
    m->runs.ready = false;
    m->buf = buf;
    m->len = (uint16_t)(len - over);
    m->id = wire_u16(&w);
    m->flags = wire_u16(&w);
    m->qdcount = wire_u16(&w);
    m->ancount = wire_u16(&w);
    m->nscount = wire_u16(&w);
    m->arcount = wire_u16(&w);
    if (!wire_ok(&w)) {
        CNT(c, DNS_TRUNCATED_HEADER);
        return -EINVAL;
    }
    m->has_question = false;
    m->qname_off = m->qtype = m->qclass = m->qname_wlen = 0;
    m->n_rr = m->n_an = m->n_ns = m->n_ar = 0;
    m->has_opt = m->edns_do = false;
    m->edns_version = 0;
    m->edns_udp_size = 0;
    m->rcode = DNS_RCODE(m->flags);
    m->n_ede = 0;
    m->problems = 0;

    if (m->qdcount != 1)
        CNT(c, DNS_QDCOUNT_NOT_ONE);
    for (unsigned i = 0; i < m->qdcount; i++) {
        size_t off = w.pos, end = 0, wl = 0;
        enum name_err e = name_walk_c(buf, m->len, off, NULL, &wl, &end, &nc, &m->runs, NULL);
        if (e == NAME_OK) {
            wire_seek(&w, end);
            uint16_t qtype = wire_u16(&w);
            uint16_t qclass = wire_u16(&w);
            if (wire_ok(&w) && i == 0) {
                m->has_question = true;
                m->qname_off = (uint16_t)off;
                m->qtype = qtype;
                m->qclass = qclass;
                /* Stored whole when the bytes it spans are exactly its wire length. */
                m->qname_wlen = end - off == wl ? (uint16_t)wl : 0;
            }
        }
        if (e != NAME_OK || !wire_ok(&w)) {
            name_count(c, e);
            CNT(c, DNS_BAD_QUESTION);
            if (i == 0)
                return -EINVAL;
            /* A later question: the first is usable, where the answers start is not. */
            m->problems |= e == NAME_OK || e == NAME_TRUNCATED ? DNS_P_TRUNCATED : DNS_P_BAD_RR;
            return 0;
        }
    }

    counts[0] = m->ancount;
    counts[1] = m->nscount;
    counts[2] = m->arcount;
    for (unsigned s = 0; s < 3; s++) {
        for (unsigned i = 0; i < counts[s]; i++) {
            if (wire_left(&w) == 0 || m->n_rr >= DNS_MAX_RRS) {
                m->problems |= DNS_P_TRUNCATED;
                CNT(c, DNS_COUNT_OVERRUN);
                goto done;
            }
            size_t off = w.pos, end = 0;
            enum name_err e = name_walk_c(buf, m->len, off, NULL, NULL, &end, &nc, &m->runs, NULL);
            if (e == NAME_TRUNCATED) {
                m->problems |= DNS_P_TRUNCATED;
                CNT(c, DNS_RR_TRUNCATED);
                goto done;
            }
            if (e != NAME_OK) {
                m->problems |= DNS_P_BAD_RR;
                name_count(c, e);
                goto done;
            }
            wire_seek(&w, end);
            dns_rr *rr = &m->rr[m->n_rr];
            rr->name_off = (uint16_t)off;
            rr->type = wire_u16(&w);
            rr->rclass = wire_u16(&w);
            rr->ttl = wire_u32(&w);
            rr->rdlen = wire_u16(&w);
            if (!wire_ok(&w)) {
                m->problems |= DNS_P_TRUNCATED;
                CNT(c, DNS_RR_TRUNCATED);
                goto done;
            }
            if (rr->rdlen > wire_left(&w)) {
                m->problems |= DNS_P_TRUNCATED;
                CNT(c, DNS_RDLEN_OVERRUN);
                goto done;
            }
            rr->rdata_off = (uint16_t)w.pos;
            rr->section = (uint8_t)(s + 1);
            wire_skip(&w, rr->rdlen);
            m->n_rr++;
            if (s == 0)
                m->n_an++;
            else if (s == 1)
                m->n_ns++;
            else
                m->n_ar++;

            bool bad = false;
            e = check_rdata(m, rr, &bad, &nc, &m->runs);
            if (bad) {
                m->problems |= DNS_P_BAD_RDATA;
                CNT(c, DNS_RDATA_BAD);
                name_count(c, e);
            }
            if (rr->type == DNS_T_OPT) {
                if (rr->section != DNS_SEC_ADDITIONAL || m->has_opt) {
                    m->problems |= DNS_P_OPT_MISPLACED;
                    CNT(c, DNS_OPT_MISPLACED);
                } else {
                    parse_opt(m, rr, c);
                }
            }
        }
    }
done:
    if ((!(m->problems & (DNS_P_TRUNCATED | DNS_P_BAD_RR)) && wire_left(&w) > 0) || over) {
        m->problems |= DNS_P_TRAILING;
        CNT(c, DNS_TRAILING_BYTES);
    }
    return 0;
}

int dns_name_unpack(const uint8_t *msg, size_t len, size_t off, uint8_t out[DNS_NAME_MAX],
                    size_t *end)
{
    size_t wlen = 0, e_off = 0;
    enum name_err e = name_walk(msg, len, off, out, &wlen, &e_off);
    if (e != NAME_OK)
        return name_errno(e);
    if (end)
        *end = e_off;
    return (int)wlen;
}

/* Bytes written as themselves in names; all else is escaped. */

static size_t put_ddd(char *o, uint8_t b)
{
    o[0] = '\\';
    o[1] = (char)('0' + b / 100);
    o[2] = (char)('0' + b / 10 % 10);
    o[3] = (char)('0' + b % 10);
    return 4;
}

/* How each byte of a label is written in presentation text: 1 as it is, 2 behind a
 * backslash ('.' and '\\'), 0 as \DDD: [0-9A-Za-z_*-] are plain (dns.h). A table for the
 * hot loop of dns_wirename_text (rows of 16 from 0x00). */
static const unsigned char name_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

int dns_wirename_text(const uint8_t *wire, size_t wlen, char out[DNS_NAME_TEXT_MAX], bool lower)
{
    wire_ctx w = wire_init(wire, wlen < DNS_NAME_MAX ? wlen : DNS_NAME_MAX);
    size_t n = 0;

    for (;;) {
        uint8_t l = wire_u8(&w);
        if (!wire_ok(&w))
            return -EINVAL;
        if (l == 0)
            break;
        if (l > DNS_LABEL_MAX || wire_left(&w) < l)
            return -EINVAL;
        /* The label's bytes are in range (checked just above): a run of plain bytes is
         * copied in a tight loop, the hot case of every chain name of every response. */
        const uint8_t *lab = wire_ptr(&w);
        wire_skip(&w, l);
        if (n > 0)
            out[n++] = '.';
        for (unsigned i = 0; i < l; i++) {
            uint8_t b = lab[i];
            switch (name_class[b]) {
            case 1:
                out[n++] = (char)(lower && (unsigned)(b - 'A') < 26u ? b + 32 : b);
                break;
            case 2:
                out[n++] = '\\';
                out[n++] = (char)b;
                break;
            default:
                n += put_ddd(out + n, b);
                break;
            }
        }
    }
    if (n == 0)
        out[n++] = '.';
    out[n] = '\0';
    return (int)n;
}

int dns_msg_name_unpack(const dns_msg *m, size_t off, uint8_t out[DNS_NAME_MAX], size_t *end)
{
    size_t wlen = 0, e_off = 0;
    enum name_err e = name_walk_c(m->buf, m->len, off, out, &wlen, &e_off, NULL, NULL, &m->runs);
    if (e != NAME_OK)
        return name_errno(e);
    if (end)
        *end = e_off;
    return (int)wlen;
}

int dns_msg_name_text(const dns_msg *m, size_t off, char out[DNS_NAME_TEXT_MAX], bool lower)
{
    uint8_t wire[DNS_NAME_MAX];
    int wlen = dns_msg_name_unpack(m, off, wire, NULL);
    if (wlen < 0)
        return wlen;
    return dns_wirename_text(wire, (size_t)wlen, out, lower);
}

int dns_name_text(const uint8_t *msg, size_t len, size_t off, char out[DNS_NAME_TEXT_MAX],
                  bool lower)
{
    uint8_t wire[DNS_NAME_MAX];
    int wlen = dns_name_unpack(msg, len, off, wire, NULL);
    if (wlen < 0)
        return wlen;
    return dns_wirename_text(wire, (size_t)wlen, out, lower);
}

bool dns_wirename_eq(const uint8_t *a, const uint8_t *b)
{
    /* Both names are uncompressed wire names in buffers of DNS_NAME_MAX bytes: every index
     * below stays under that bound. A hot path of rule evaluation, hence the plain loop. */
    size_t i = 0;
    while (i < DNS_NAME_MAX) {
        uint8_t la = a[i];
        if (la != b[i] || la > DNS_LABEL_MAX)
            return false;
        if (la == 0)
            return true;
        if (i + 1 + la >= DNS_NAME_MAX)
            return false;
        for (size_t k = i + 1; k <= i + la; k++) {
            uint8_t x = a[k], y = b[k];
            if (x != y) {
                x = (uint8_t)((unsigned)(x - 'A') < 26u ? x + 32 : x);
                y = (uint8_t)((unsigned)(y - 'A') < 26u ? y + 32 : y);
                if (x != y)
                    return false;
            }
        }
        i += (size_t)la + 1;
    }
    return false;
}

/* ---- record data text ---- */

/* An output buffer that is always NUL-terminated and remembers overflowing. */
typedef struct tbuf {
    char *p;
    size_t cap, n;
    bool full;
} tbuf;

static void tb_putc(tbuf *t, char ch)
{
    if (t->n + 1 < t->cap) {
        t->p[t->n++] = ch;
        t->p[t->n] = '\0';
    } else {
        t->full = true;
    }
}

static void tb_puts(tbuf *t, const char *s)
{
    while (*s)
        tb_putc(t, *s++);
}

__attribute__((format(printf, 2, 3))) static void tb_printf(tbuf *t, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    tb_puts(t, tmp);
}

static void tb_ddd(tbuf *t, uint8_t b)
{
    char d[4];
    put_ddd(d, b);
    for (int i = 0; i < 4; i++)
        tb_putc(t, d[i]);
}

/* Character-string bytes, escaped for a double-quoted master-file string. */
static void tb_chars(tbuf *t, wire_ctx *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = wire_u8(r);
        if (b == '"' || b == '\\') {
            tb_putc(t, '\\');
            tb_putc(t, (char)b);
        } else if (b < 0x20 || b >= 0x7f) {
            tb_ddd(t, b);
        } else {
            tb_putc(t, (char)b);
        }
    }
}

static void tb_hex(tbuf *t, wire_ctx *r, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        uint8_t b = wire_u8(r);
        tb_putc(t, hex[b >> 4]);
        tb_putc(t, hex[b & 15]);
    }
}

static enum name_err tb_name(tbuf *t, const dns_msg *m, wire_ctx *r)
{
    uint8_t wire[DNS_NAME_MAX];
    char text[DNS_NAME_TEXT_MAX];
    size_t wlen = 0;
    enum name_err e = rdata_name(m, r, wire, &wlen);
    if (e == NAME_OK && dns_wirename_text(wire, wlen, text, false) >= 0)
        tb_puts(t, text);
    return e;
}

/* Decimal octet without printf: the A record is the hot case of event output. */
static void tb_octet(tbuf *t, uint8_t v)
{
    if (v >= 100)
        tb_putc(t, (char)('0' + v / 100));
    if (v >= 10)
        tb_putc(t, (char)('0' + v / 10 % 10));
    tb_putc(t, (char)('0' + v % 10));
}

static void tb_ipv4(tbuf *t, wire_ctx *r)
{
    uint8_t a[4];
    wire_bytes(r, a, 4);
    for (int i = 0; i < 4; i++) {
        if (i)
            tb_putc(t, '.');
        tb_octet(t, a[i]);
    }
}

static void tb_ipv6(tbuf *t, wire_ctx *r)
{
    uint8_t a[16];
    char s[DNS_IPV6_TEXT_MAX];
    wire_bytes(r, a, 16);
    dns_format_ipv6(a, s);
    tb_puts(t, s);
}

static void tb_base64(tbuf *t, wire_ctx *r, size_t n)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while (n > 0) {
        size_t k = n < 3 ? n : 3;
        uint32_t v = 0;
        for (size_t i = 0; i < 3; i++)
            v = v << 8 | (i < k ? wire_u8(r) : 0);
        tb_putc(t, b64[v >> 18 & 63]);
        tb_putc(t, b64[v >> 12 & 63]);
        tb_putc(t, k > 1 ? b64[v >> 6 & 63] : '=');
        tb_putc(t, k > 2 ? b64[v & 63] : '=');
        n -= k;
    }
}

static const char *svc_key_name(uint16_t key)
{
    static const char *const names[] = {"mandatory", "alpn", "no-default-alpn", "port",
                                        "ipv4hint", "ech", "ipv6hint", "dohpath"};
    return key < sizeof names / sizeof names[0] ? names[key] : NULL;
}

static void tb_svc_key(tbuf *t, uint16_t key)
{
    const char *name = svc_key_name(key);
    if (name)
        tb_puts(t, name);
    else
        tb_printf(t, "key%u", key);
}

/* One SvcParam value (RFC 9460 presentation); false if malformed for its key. */
static bool tb_svc_value(tbuf *t, uint16_t key, wire_ctx v)
{
    size_t n = wire_left(&v);
    switch (key) {
    case 0: /* mandatory */
        if (n == 0 || n % 2)
            return false;
        tb_putc(t, '=');
        for (size_t i = 0; i < n / 2; i++) {
            if (i)
                tb_putc(t, ',');
            tb_svc_key(t, wire_u16(&v));
        }
        return true;
    case 1: /* alpn: a list of length-prefixed ids, commas inside an id escaped */
        if (n == 0)
            return false;
        tb_puts(t, "=\"");
        for (bool first = true; wire_left(&v) > 0; first = false) {
            uint8_t l = wire_u8(&v);
            if (l == 0 || l > wire_left(&v))
                return false;
            if (!first)
                tb_putc(t, ',');
            for (unsigned i = 0; i < l; i++) {
                uint8_t b = wire_u8(&v);
                if (b == ',' || b == '\\') {
                    tb_puts(t, "\\\\");
                    if (b == '\\')
                        tb_puts(t, "\\\\");
                    else
                        tb_putc(t, ',');
                } else if (b == '"') {
                    tb_puts(t, "\\\"");
                } else if (b < 0x20 || b >= 0x7f) {
                    tb_ddd(t, b);
                } else {
                    tb_putc(t, (char)b);
                }
            }
        }
        tb_putc(t, '"');
        return true;
    case 2: /* no-default-alpn */
        return n == 0;
    case 3: /* port */
        if (n != 2)
            return false;
        tb_printf(t, "=%u", wire_u16(&v));
        return true;
    case 4: /* ipv4hint */
    case 6: /* ipv6hint */
        if (n == 0 || n % (key == 4 ? 4 : 16))
            return false;
        tb_putc(t, '=');
        for (bool first = true; wire_left(&v) > 0; first = false) {
            if (!first)
                tb_putc(t, ',');
            if (key == 4)
                tb_ipv4(t, &v);
            else
                tb_ipv6(t, &v);
        }
        return true;
    case 5: /* ech: base64 */
        tb_putc(t, '=');
        tb_base64(t, &v, n);
        return true;
    default: /* dohpath and unknown keys: a quoted character-string */
        if (n > 0) {
            tb_puts(t, "=\"");
            tb_chars(t, &v, n);
            tb_putc(t, '"');
        }
        return true;
    }
}

static bool text_svcb(tbuf *t, const dns_msg *m, wire_ctx *r)
{
    tb_printf(t, "%u ", wire_u16(r));
    if (!wire_ok(r) || tb_name(t, m, r) != NAME_OK)
        return false;
    while (wire_ok(r) && wire_left(r) > 0) {
        uint16_t key = wire_u16(r);
        uint16_t vlen = wire_u16(r);
        wire_ctx v = wire_sub(r, vlen);
        if (!wire_ok(r))
            return false;
        tb_putc(t, ' ');
        tb_svc_key(t, key);
        if (!tb_svc_value(t, key, v))
            return false;
    }
    return wire_ok(r);
}

/* RFC 3597 generic form; the hex is cut to what fits. */
static void text_generic(tbuf *t, const dns_msg *m, const dns_rr *rr)
{
    wire_ctx r = rdata_ctx(m, rr);
    size_t n = wire_left(&r);
    t->n = 0;
    t->full = false;
    if (t->cap > 0)
        t->p[0] = '\0';
    tb_printf(t, "\\# %zu", n);
    if (n > 0) {
        tb_putc(t, ' ');
        for (size_t i = 0; i < n && t->n + 3 <= t->cap; i++)
            tb_hex(t, &r, 1);
    }
}

int dns_rdata_text(const dns_msg *m, const dns_rr *rr, char *out, size_t outlen)
{
    tbuf t = {out, outlen, 0, false};
    wire_ctx r = rdata_ctx(m, rr);
    bool ok = wire_ok(&r);

    if (outlen == 0)
        return -ENOSPC;
    out[0] = '\0';
    if (!ok)
        return -EINVAL; /* the record is not inside the message: nothing to show */

    switch (rr->type) {
    case DNS_T_A:
        tb_ipv4(&t, &r);
        break;
    case DNS_T_AAAA:
        tb_ipv6(&t, &r);
        break;
    case DNS_T_CNAME:
    case DNS_T_DNAME:
    case DNS_T_NS:
    case DNS_T_PTR:
        ok = tb_name(&t, m, &r) == NAME_OK;
        break;
    case DNS_T_MX:
        tb_printf(&t, "%u ", wire_u16(&r));
        ok = wire_ok(&r) && tb_name(&t, m, &r) == NAME_OK;
        break;
    case DNS_T_SRV: {
        uint16_t prio = wire_u16(&r), weight = wire_u16(&r), port = wire_u16(&r);
        tb_printf(&t, "%u %u %u ", prio, weight, port);
        ok = wire_ok(&r) && tb_name(&t, m, &r) == NAME_OK;
        break;
    }
    case DNS_T_SOA:
        ok = tb_name(&t, m, &r) == NAME_OK;
        tb_putc(&t, ' ');
        ok = ok && tb_name(&t, m, &r) == NAME_OK;
        for (int i = 0; i < 5 && ok; i++)
            tb_printf(&t, " %u", wire_u32(&r));
        break;
    case DNS_T_TXT:
        ok = wire_left(&r) > 0;
        for (bool first = true; ok && wire_left(&r) > 0; first = false) {
            uint8_t l = wire_u8(&r);
            if (l > wire_left(&r)) {
                ok = false;
                break;
            }
            if (!first)
                tb_putc(&t, ' ');
            tb_putc(&t, '"');
            tb_chars(&t, &r, l);
            tb_putc(&t, '"');
        }
        break;
    case DNS_T_SVCB:
    case DNS_T_HTTPS:
        ok = text_svcb(&t, m, &r);
        break;
    default:
        return dns_rdata_text_ldns(m, rr, out, outlen);
    }
    if (!ok || !wire_ok(&r) || wire_left(&r) != 0) {
        text_generic(&t, m, rr);
        return -EINVAL;
    }
    return t.full ? -ENOSPC : (int)t.n;
}

int dns_rdata_generic(const dns_msg *m, const dns_rr *rr, char *out, size_t outlen)
{
    tbuf t = {out, outlen, 0, false};
    if (outlen == 0)
        return -ENOSPC;
    text_generic(&t, m, rr);
    return t.full ? -ENOSPC : (int)t.n;
}

int dns_rr_addr(const dns_msg *m, const dns_rr *rr, uint8_t out[16])
{
    wire_ctx r = rdata_ctx(m, rr);
    size_t n = rr->type == DNS_T_A ? 4 : rr->type == DNS_T_AAAA ? 16 : 0;
    if (n == 0 || rr->rdlen != n || !wire_ok(&r))
        return 0;
    wire_bytes(&r, out, n);
    return wire_ok(&r) ? (int)n : 0;
}

/* Walks the SvcParams; calls fn for each hint when fn != NULL. Hints must be whole
 * addresses; key order is not checked, since the sensor must not drop what a client
 * might still use. */
static int svcb_walk(const dns_msg *m, const dns_rr *rr,
                     void (*fn)(void *ctx, int family, const uint8_t *addr), void *ctx)
{
    wire_ctx r = rdata_ctx(m, rr);
    int n = 0;

    if (rr->type != DNS_T_SVCB && rr->type != DNS_T_HTTPS)
        return -EINVAL;
    wire_skip(&r, 2);
    if (rdata_name(m, &r, NULL, NULL) != NAME_OK)
        return -EINVAL;
    while (wire_ok(&r) && wire_left(&r) > 0) {
        uint16_t key = wire_u16(&r);
        uint16_t vlen = wire_u16(&r);
        wire_ctx v = wire_sub(&r, vlen);
        size_t alen = key == 4 ? 4 : key == 6 ? 16 : 0;
        if (!wire_ok(&r))
            return -EINVAL;
        if (alen == 0)
            continue;
        if (vlen == 0 || vlen % alen)
            return -EINVAL;
        while (wire_left(&v) > 0) {
            uint8_t a[16];
            wire_bytes(&v, a, alen);
            if (fn)
                fn(ctx, key == 4 ? 4 : 6, a);
            n++;
        }
    }
    return wire_ok(&r) ? n : -EINVAL;
}

int dns_svcb_hints(const dns_msg *m, const dns_rr *rr,
                   void (*fn)(void *ctx, int family, const uint8_t *addr), void *ctx)
{
    /* Validate first, so that fn never sees hints of a record that turns out malformed. */
    int n = svcb_walk(m, rr, NULL, NULL);
    if (n <= 0 || !fn)
        return n;
    return svcb_walk(m, rr, fn, ctx);
}

/* ---- mnemonics ---- */

static const char *type_mnemonic(uint16_t type)
{
    switch (type) {
    case 1: return "A";
    case 2: return "NS";
    case 3: return "MD";
    case 4: return "MF";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 7: return "MB";
    case 8: return "MG";
    case 9: return "MR";
    case 10: return "NULL";
    case 11: return "WKS";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 14: return "MINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 17: return "RP";
    case 18: return "AFSDB";
    case 19: return "X25";
    case 20: return "ISDN";
    case 21: return "RT";
    case 22: return "NSAP";
    case 23: return "NSAP-PTR";
    case 24: return "SIG";
    case 25: return "KEY";
    case 26: return "PX";
    case 27: return "GPOS";
    case 28: return "AAAA";
    case 29: return "LOC";
    case 30: return "NXT";
    case 31: return "EID";
    case 32: return "NIMLOC";
    case 33: return "SRV";
    case 34: return "ATMA";
    case 35: return "NAPTR";
    case 36: return "KX";
    case 37: return "CERT";
    case 38: return "A6";
    case 39: return "DNAME";
    case 40: return "SINK";
    case 41: return "OPT";
    case 42: return "APL";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 45: return "IPSECKEY";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 49: return "DHCID";
    case 50: return "NSEC3";
    case 51: return "NSEC3PARAM";
    case 52: return "TLSA";
    case 53: return "SMIMEA";
    case 55: return "HIP";
    case 56: return "NINFO";
    case 57: return "RKEY";
    case 58: return "TALINK";
    case 59: return "CDS";
    case 60: return "CDNSKEY";
    case 61: return "OPENPGPKEY";
    case 62: return "CSYNC";
    case 63: return "ZONEMD";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 99: return "SPF";
    case 104: return "NID";
    case 105: return "L32";
    case 106: return "L64";
    case 107: return "LP";
    case 108: return "EUI48";
    case 109: return "EUI64";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 253: return "MAILB";
    case 254: return "MAILA";
    case 255: return "ANY";
    case 256: return "URI";
    case 257: return "CAA";
    case 258: return "AVC";
    case 259: return "DOA";
    case 260: return "AMTRELAY";
    case 261: return "RESINFO";
    case 32768: return "TA";
    case 32769: return "DLV";
    default: return NULL;
    }
}

const char *dns_type_name(uint16_t type, char buf[16])
{
    const char *s = type_mnemonic(type);
    if (s)
        return s;
    snprintf(buf, 16, "TYPE%u", type);
    return buf;
}

const char *dns_class_name(uint16_t rclass, char buf[16])
{
    switch (rclass) {
    case 1: return "IN";
    case 3: return "CH";
    case 4: return "HS";
    case 254: return "NONE";
    case 255: return "ANY";
    default:
        snprintf(buf, 16, "CLASS%u", rclass);
        return buf;
    }
}

const char *dns_rcode_name(uint16_t rcode, char buf[16])
{
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
        "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
        NULL, NULL, NULL, NULL,
        "BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC",
        "BADCOOKIE"};
    if (rcode < sizeof names / sizeof names[0] && names[rcode])
        return names[rcode];
    snprintf(buf, 16, "RCODE%u", rcode);
    return buf;
}

const char *dns_opcode_name(uint8_t opcode, char buf[16])
{
    static const char *const names[] = {"QUERY", "IQUERY", "STATUS", NULL,
                                        "NOTIFY", "UPDATE", "DSO"};
    if (opcode < sizeof names / sizeof names[0] && names[opcode])
        return names[opcode];
    snprintf(buf, 16, "OPCODE%u", opcode);
    return buf;
}

/* Decimal text of every octet value, NUL-padded to 4 bytes: one fixed-size copy each. */
static const char octet_text[256][4] = {
    "0\0\0", "1\0\0", "2\0\0", "3\0\0", "4\0\0", "5\0\0", "6\0\0", "7\0\0",
    "8\0\0", "9\0\0", "10\0", "11\0", "12\0", "13\0", "14\0", "15\0",
    "16\0", "17\0", "18\0", "19\0", "20\0", "21\0", "22\0", "23\0",
    "24\0", "25\0", "26\0", "27\0", "28\0", "29\0", "30\0", "31\0",
    "32\0", "33\0", "34\0", "35\0", "36\0", "37\0", "38\0", "39\0",
    "40\0", "41\0", "42\0", "43\0", "44\0", "45\0", "46\0", "47\0",
    "48\0", "49\0", "50\0", "51\0", "52\0", "53\0", "54\0", "55\0",
    "56\0", "57\0", "58\0", "59\0", "60\0", "61\0", "62\0", "63\0",
    "64\0", "65\0", "66\0", "67\0", "68\0", "69\0", "70\0", "71\0",
    "72\0", "73\0", "74\0", "75\0", "76\0", "77\0", "78\0", "79\0",
    "80\0", "81\0", "82\0", "83\0", "84\0", "85\0", "86\0", "87\0",
    "88\0", "89\0", "90\0", "91\0", "92\0", "93\0", "94\0", "95\0",
    "96\0", "97\0", "98\0", "99\0", "100", "101", "102", "103",
    "104", "105", "106", "107", "108", "109", "110", "111",
    "112", "113", "114", "115", "116", "117", "118", "119",
    "120", "121", "122", "123", "124", "125", "126", "127",
    "128", "129", "130", "131", "132", "133", "134", "135",
    "136", "137", "138", "139", "140", "141", "142", "143",
    "144", "145", "146", "147", "148", "149", "150", "151",
    "152", "153", "154", "155", "156", "157", "158", "159",
    "160", "161", "162", "163", "164", "165", "166", "167",
    "168", "169", "170", "171", "172", "173", "174", "175",
    "176", "177", "178", "179", "180", "181", "182", "183",
    "184", "185", "186", "187", "188", "189", "190", "191",
    "192", "193", "194", "195", "196", "197", "198", "199",
    "200", "201", "202", "203", "204", "205", "206", "207",
    "208", "209", "210", "211", "212", "213", "214", "215",
    "216", "217", "218", "219", "220", "221", "222", "223",
    "224", "225", "226", "227", "228", "229", "230", "231",
    "232", "233", "234", "235", "236", "237", "238", "239",
    "240", "241", "242", "243", "244", "245", "246", "247",
    "248", "249", "250", "251", "252", "253", "254", "255",
};

void dns_format_ip(int family, const uint8_t *a, char out[DNS_IPV6_TEXT_MAX])
{
    if (family == 6) {
        dns_format_ipv6(a, out);
        return;
    }
    char *p = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        memcpy(p, octet_text[v], 4);
        p += v >= 100 ? 3 : v >= 10 ? 2 : 1;
        *p++ = '.';
    }
    p[-1] = '\0';
}

/* RFC 5952 text, as inet_ntop writes it (same output, checked by test_dns), without
 * glibc's sprintf: AAAA answers are a hot path of event output. */
void dns_format_ipv6(const uint8_t a[16], char out[DNS_IPV6_TEXT_MAX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    /* The longest run of two or more zero words, the first of equal ones, becomes "::". */
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (w[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    char *p = out;
    /* IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, not ::1 or ::) keep
     * the dotted tail, as inet_ntop does. */
    bool v4tail = best == 0 && ((best_len == 5 && w[5] == 0xffff) ||
                                (best_len == 6 && (w[6] != 0 || w[7] > 1)));
    int end = v4tail ? 6 : 8;
    for (int i = 0; i < end; i++) {
        if (i == best) {
            *p++ = ':';
            if (i == 0)
                *p++ = ':';
            i += best_len - 1;
            continue;
        }
        bool started = false;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned d = (w[i] >> sh) & 0xf;
            if (d || started || sh == 0) {
                *p++ = hex[d];
                started = true;
            }
        }
        if (i < 7)
            *p++ = ':';
    }
    if (v4tail) {
        if (best_len == 6 && p[-1] != ':')
            *p++ = ':';
        for (int i = 12; i < 16; i++) {
            unsigned v = a[i];
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
            if (i < 15)
                *p++ = '.';
        }
    }
    *p = '\0';
}
