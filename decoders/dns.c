/* The DNS message reader: see dns.h for the contract. Every byte of the message is read
 * through a wire_ctx; nothing here allocates. */
#include "decoders/dns.h"

#include <errno.h>
#include <string.h>

#include "decoders/dns_internal.h"
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

wire_ctx dns_rdata_cursor(const dns_msg *m, const dns_rr *rr)
{
    return rdata_ctx(m, rr);
}

int dns_rdata_name(const dns_msg *m, wire_ctx *r, uint8_t out[DNS_NAME_MAX], size_t *wlen)
{
    return name_errno(rdata_name(m, r, out, wlen));
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
