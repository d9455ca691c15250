/* musl's view of an answer: see dns_musl.h. */
#include "decoders/dns_musl.h"

#include "decoders/wire.h"

/* Skips a name the way musl does and the `fixed` bytes after it (4 in a question, none
 * before a record's fixed fields, which the caller reads). `need` is the room musl asks
 * for at the stopping byte (6 for a question, 12 for a record: its own check in 1.2.4;
 * 1.2.3 asks for 6 and then reads the fixed fields past what it received, which a
 * cursor cannot). false when musl would give up. */
static bool musl_skip_name(wire_ctx *w, size_t need)
{
    /* Every byte in 1..127 is stepped over, one at a time. */
    while (wire_left(w) > 0) {
        size_t at = w->pos;
        uint8_t b = wire_u8(w);
        if ((unsigned)b - 1u >= 127u) {
            wire_seek(w, at);
            break;
        }
    }
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

unsigned dns_musl_walk(const uint8_t *buf, size_t len, dns_musl_rr out[DNS_MUSL_MAX_RECORDS])
{
    wire_ctx w = wire_init(buf, len > 65535 ? 65535 : len);
    wire_skip(&w, 3);
    uint8_t rcode = wire_u8(&w) & 15;
    unsigned qd = wire_u16(&w);
    unsigned an = wire_u16(&w);
    wire_skip(&w, 4);
    if (!wire_ok(&w) || rcode != 0 || qd + an > DNS_MUSL_MAX_RECORDS)
        return 0;
    while (qd--) {
        if (!musl_skip_name(&w, 6))
            return 0;
        wire_skip(&w, 4); /* type and class */
    }
    unsigned n = 0;
    while (an-- && wire_ok(&w)) {
        if (!musl_skip_name(&w, 12))
            break;
        uint16_t type = wire_u16(&w);
        wire_skip(&w, 6); /* class and TTL: not looked at */
        uint16_t rdlen = wire_u16(&w);
        size_t rdata = w.pos;
        wire_skip(&w, rdlen);
        if (!wire_ok(&w))
            break;
        out[n].type = (uint8_t)(type & 0xff);
        out[n].rdata_off = (uint16_t)rdata;
        out[n].rdlen = rdlen;
        n++;
    }
    return n;
}

dns_musl_diff dns_musl_compare(const dns_msg *m,
                               void (*fn)(void *ctx, int family, const uint8_t *addr),
                               void *ctx)
{
    dns_musl_diff d = {false, 0};
    dns_musl_rr v[DNS_MUSL_MAX_RECORDS];
    unsigned n = dns_musl_walk(m->buf, m->len, v);
    unsigned j = 0; /* m's answers are in message order, as musl's records */
    for (unsigned i = 0; i < n; i++) {
        const dns_musl_rr *x = &v[i];
        while (j < m->n_rr && m->rr[j].section == DNS_SEC_ANSWER &&
               m->rr[j].rdata_off < x->rdata_off)
            j++;
        const dns_rr *ours = j < m->n_rr && m->rr[j].section == DNS_SEC_ANSWER ? &m->rr[j] : NULL;
        if (ours && ours->rdata_off == x->rdata_off && ours->rdlen == x->rdlen &&
            ours->type == x->type)
            continue; /* the same record: dns_parse's reading of it is judged */
        d.differs = true;
        size_t alen = x->type == DNS_T_A ? 4 : x->type == DNS_T_AAAA ? 16 : 0;
        if (alen == 0 || x->rdlen != alen)
            continue; /* musl's callback uses no other record for an address */
        uint8_t a[16];
        wire_ctx r = wire_init(m->buf, m->len);
        wire_seek(&r, x->rdata_off);
        wire_bytes(&r, a, alen);
        if (!wire_ok(&r))
            continue;
        d.n_extra++;
        if (fn)
            fn(ctx, alen == 4 ? 4 : 6, a);
    }
    return d;
}
