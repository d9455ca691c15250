/* musl's view of an answer: see dns_musl.h. */
#include "decoders/dns_musl.h"

#include "decoders/wire.h"

/* Skips a name the way musl does. `need` is the room musl asks for at the byte it stops
 * at (6 in a question; 12 before a record's fixed fields: 1.2.3 asks for 6 there and then
 * reads the fixed fields past what it received, which a cursor cannot). false when musl
 * would give up. */
static bool musl_skip_name(wire_ctx *w, size_t need)
{
    wire_skip_ascii_nonzero(w); /* every byte in 1..127, whatever it is in the name */
    size_t at = w->pos;
    if (wire_left(w) < need)
        return false;
    uint8_t b = wire_u8(w);
    if (b > 193 || (b == 193 && wire_u8(w) > 254))
        return false;
    /* 0 ends the name in one byte; 128..193 is taken as a two-byte pointer. */
    wire_seek(w, at + 1 + (b != 0));
    return wire_ok(w);
}

/* The header and the questions as musl reads them: false when it hands over nothing. */
static bool musl_start(wire_ctx *w, unsigned *an)
{
    wire_skip(w, 3);
    uint8_t rcode = wire_u8(w) & 15;
    unsigned qd = wire_u16(w);
    *an = wire_u16(w);
    wire_skip(w, 4);
    if (!wire_ok(w) || rcode != 0 || qd + *an > DNS_MUSL_MAX_RECORDS)
        return false;
    while (qd--) {
        if (!musl_skip_name(w, 6))
            return false;
        wire_skip(w, 4); /* type and class */
    }
    return wire_ok(w);
}

/* One answer record as musl reads it, into *x: false when musl would give up. */
static bool musl_record(wire_ctx *w, dns_musl_rr *x)
{
    if (!musl_skip_name(w, 12))
        return false;
    uint16_t type = wire_u16(w);
    wire_skip(w, 6); /* class and TTL: not looked at */
    uint16_t rdlen = wire_u16(w);
    size_t rdata = w->pos;
    wire_skip(w, rdlen);
    x->type = (uint8_t)(type & 0xff);
    x->rdata_off = (uint16_t)rdata;
    x->rdlen = rdlen;
    return wire_ok(w);
}

unsigned dns_musl_walk(const uint8_t *buf, size_t len, dns_musl_rr out[DNS_MUSL_MAX_RECORDS])
{
    wire_ctx w = wire_init(buf, len > 65535 ? 65535 : len);
    unsigned an, n = 0;
    if (!musl_start(&w, &an))
        return 0;
    while (an-- && musl_record(&w, &out[n]))
        n++;
    return n;
}

/* Whether musl reads m's answer r exactly as dns_parse did, when its walk stands at r's
 * owner: a two-byte pointer musl accepts, and a type below 256. Most answers are such. */
static bool same_at(const dns_msg *m, const dns_rr *r, size_t pos)
{
    if (r->name_off != pos || (size_t)r->name_off + 12 != r->rdata_off || r->type > 0xff)
        return false;
    wire_ctx w = wire_init(m->buf, m->len);
    wire_seek(&w, pos);
    uint8_t b = wire_u8(&w);
    uint8_t b1 = wire_u8(&w);
    return wire_ok(&w) && (b == 192 || (b == 193 && b1 <= 254));
}

dns_musl_diff dns_musl_compare(const dns_msg *m,
                               void (*fn)(void *ctx, int family, const uint8_t *addr),
                               void *ctx)
{
    dns_musl_diff d = {false, 0};
    wire_ctx w = wire_init(m->buf, m->len);
    unsigned an;
    if (!musl_start(&w, &an))
        return d;
    unsigned j = 0; /* m's answers come first in m->rr, in message order, as musl's */
    while (an--) {
        if (j < m->n_an && same_at(m, &m->rr[j], w.pos)) {
            /* the same record: dns_parse's reading of it is judged */
            wire_seek(&w, (size_t)m->rr[j].rdata_off + m->rr[j].rdlen);
            j++;
            continue;
        }
        dns_musl_rr x;
        if (!musl_record(&w, &x))
            break;
        while (j < m->n_an && m->rr[j].rdata_off < x.rdata_off)
            j++;
        const dns_rr *ours = j < m->n_an ? &m->rr[j] : NULL;
        if (ours && ours->rdata_off == x.rdata_off && ours->rdlen == x.rdlen &&
            ours->type == x.type) {
            j++;
            continue;
        }
        d.differs = true;
        size_t alen = x.type == DNS_T_A ? 4 : x.type == DNS_T_AAAA ? 16 : 0;
        if (alen == 0 || x.rdlen != alen)
            continue; /* musl's callback takes an address from no other record */
        uint8_t a[16];
        wire_ctx r = wire_init(m->buf, m->len);
        wire_seek(&r, x.rdata_off);
        wire_bytes(&r, a, alen);
        if (!wire_ok(&r))
            continue;
        d.n_extra++;
        if (fn)
            fn(ctx, alen == 4 ? 4 : 6, a);
    }
    return d;
}
