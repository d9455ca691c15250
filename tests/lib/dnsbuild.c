/* The tests' DNS message and packet builder: see dnsbuild.h. */
#include "tests/lib/dnsbuild.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void overflow(const dnsb *m, size_t more) __attribute__((noreturn));

static void overflow(const dnsb *m, size_t more)
{
    fprintf(stderr, "dnsbuild: buffer overflow: %zu bytes written, %zu more do not fit in %u\n",
            m->n, more, (unsigned)DNSB_CAP);
    exit(1);
}

static void bad_literal(const char *what, const char *text) __attribute__((noreturn));

static void bad_literal(const char *what, const char *text)
{
    fprintf(stderr, "dnsbuild: bad %s literal %s\n", what, text);
    exit(1);
}

void dnsb_u8(dnsb *m, unsigned v)
{
    if (m->n >= sizeof m->b)
        overflow(m, 1);
    m->b[m->n++] = (uint8_t)v;
}

void dnsb_u16(dnsb *m, unsigned v)
{
    dnsb_u8(m, (v >> 8) & 0xff);
    dnsb_u8(m, v & 0xff);
}

void dnsb_u32(dnsb *m, uint32_t v)
{
    dnsb_u16(m, v >> 16);
    dnsb_u16(m, v & 0xffff);
}

void dnsb_bytes(dnsb *m, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (n > sizeof m->b - m->n)
        overflow(m, n);
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

void dnsb_zeros(dnsb *m, size_t n)
{
    if (n > sizeof m->b - m->n)
        overflow(m, n);
    memset(m->b + m->n, 0, n);
    m->n += n;
}

void dnsb_set16(dnsb *m, size_t at, unsigned v)
{
    if (at > m->n || m->n - at < 2) {
        fprintf(stderr, "dnsbuild: set16 at %zu past the %zu bytes written\n", at, m->n);
        exit(1);
    }
    m->b[at] = (uint8_t)(v >> 8);
    m->b[at + 1] = (uint8_t)v;
}

void dnsb_ip4(dnsb *m, const char *text)
{
    uint8_t a[4];
    if (inet_pton(AF_INET, text, a) != 1)
        bad_literal("IPv4", text);
    dnsb_bytes(m, a, 4);
}

void dnsb_ip6(dnsb *m, const char *text)
{
    uint8_t a[16];
    if (inet_pton(AF_INET6, text, a) != 1)
        bad_literal("IPv6", text);
    dnsb_bytes(m, a, 16);
}

void dnsb_ip(dnsb *m, const char *text)
{
    if (strchr(text, ':'))
        dnsb_ip6(m, text);
    else
        dnsb_ip4(m, text);
}

/* ---- names ---- */

void dnsb_label(dnsb *m, const void *p, size_t n)
{
    dnsb_u8(m, (unsigned)n);
    dnsb_bytes(m, p, n);
}

void dnsb_labels(dnsb *m, const char *name)
{
    while (*name && strcmp(name, ".") != 0) {
        const char *dot = strchr(name, '.');
        size_t n = dot ? (size_t)(dot - name) : strlen(name);
        dnsb_label(m, name, n);
        name += n + (dot ? 1 : 0);
    }
}

void dnsb_name(dnsb *m, const char *name)
{
    dnsb_labels(m, name);
    dnsb_u8(m, 0);
}

void dnsb_ptr(dnsb *m, unsigned off) { dnsb_u16(m, 0xc000 | off); }

int dnsb_name_from_text(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0, lpos = 0;
    if (cap < 1)
        return -1;
    if (strcmp(s, ".") == 0) {
        out[0] = 0;
        return 1;
    }
    out[n++] = 0;
    for (; *s; s++) {
        if (n + 1 >= cap) /* room for this byte and the root label */
            return -1;
        if (*s == '.') {
            if (n - lpos - 1 > 63)
                return -1;
            out[lpos] = (uint8_t)(n - lpos - 1);
            lpos = n;
            out[n++] = 0;
            continue;
        }
        uint8_t b = (uint8_t)*s;
        if (*s == '\\') {
            if (s[1] >= '0' && s[1] <= '9') {
                if (!(s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9'))
                    return -1;
                b = (uint8_t)((s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'));
                s += 3;
            } else if (s[1]) {
                b = (uint8_t)s[1];
                s++;
            } else {
                return -1;
            }
        }
        out[n++] = b;
    }
    if (n - lpos - 1 > 63)
        return -1;
    out[lpos] = (uint8_t)(n - lpos - 1);
    out[n++] = 0;
    return (int)n;
}

/* ---- messages ---- */

void dnsb_hdr(dnsb *m, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
              unsigned ar)
{
    m->n = 0;
    dnsb_u16(m, id);
    dnsb_u16(m, flags);
    dnsb_u16(m, qd);
    dnsb_u16(m, an);
    dnsb_u16(m, ns);
    dnsb_u16(m, ar);
}

void dnsb_counts(dnsb *m, unsigned an, unsigned ns, unsigned ar)
{
    dnsb_set16(m, 6, an);
    dnsb_set16(m, 8, ns);
    dnsb_set16(m, 10, ar);
}

void dnsb_start(dnsb *m, unsigned id, unsigned flags, const char *qname, unsigned qtype,
                unsigned an, unsigned ns, unsigned ar)
{
    dnsb_hdr(m, id, flags, 1, an, ns, ar);
    dnsb_name(m, qname);
    dnsb_u16(m, qtype);
    dnsb_u16(m, 1);
}

size_t dnsb_rr_begin(dnsb *m, unsigned type, unsigned cls, uint32_t ttl)
{
    dnsb_u16(m, type);
    dnsb_u16(m, cls);
    dnsb_u32(m, ttl);
    size_t at = m->n;
    dnsb_u16(m, 0);
    return at;
}

void dnsb_rr_end(dnsb *m, size_t at) { dnsb_set16(m, at, (unsigned)(m->n - at - 2)); }

void dnsb_rr_addr(dnsb *m, unsigned owner_ptr, uint32_t ttl, const char *ip)
{
    bool v6 = strchr(ip, ':') != NULL;
    dnsb_ptr(m, owner_ptr);
    size_t at = dnsb_rr_begin(m, v6 ? 28 : 1, 1, ttl);
    dnsb_ip(m, ip);
    dnsb_rr_end(m, at);
}

size_t dnsb_opt_begin(dnsb *m, unsigned udp, bool do_bit)
{
    dnsb_u8(m, 0);
    return dnsb_rr_begin(m, 41, udp, do_bit ? 0x8000 : 0);
}

void dnsb_edns_option(dnsb *m, unsigned code, const void *data, size_t len)
{
    dnsb_u16(m, code);
    dnsb_u16(m, (unsigned)len);
    dnsb_bytes(m, data, len);
}

/* ---- packets ---- */

dnsb_ep dnsb_endpoint(const char *ip, uint16_t port)
{
    dnsb_ep e;
    memset(&e, 0, sizeof e);
    e.port = port;
    if (inet_pton(AF_INET, ip, e.a) == 1)
        e.af = 4;
    else if (inet_pton(AF_INET6, ip, e.a) == 1)
        e.af = 6;
    else
        bad_literal("address", ip);
    return e;
}

uint32_t dnsb_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    return sum;
}

uint16_t dnsb_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Fills in the checksum of a UDP or TCP segment in l4 (at byte csum_at). */
static void l4_checksum(dnsb *l4, size_t csum_at, const dnsb_ep *s, const dnsb_ep *d,
                        unsigned proto)
{
    uint32_t sum = 0;
    size_t alen = s->af == 4 ? 4 : 16;
    sum = dnsb_csum_add(sum, s->a, alen);
    sum = dnsb_csum_add(sum, d->a, alen);
    sum += proto;
    sum += (uint32_t)(l4->n & 0xffff) + (uint32_t)(l4->n >> 16);
    dnsb_set16(l4, csum_at, 0);
    sum = dnsb_csum_add(sum, l4->b, l4->n);
    uint16_t c = dnsb_csum_fold(sum);
    if (proto == 17 && c == 0)
        c = 0xffff;
    dnsb_set16(l4, csum_at, c);
}

void dnsb_udp(dnsb *l4, const dnsb_ep *s, const dnsb_ep *d, const uint8_t *pl, size_t n)
{
    l4->n = 0;
    dnsb_u16(l4, s->port);
    dnsb_u16(l4, d->port);
    dnsb_u16(l4, (unsigned)(8 + n));
    dnsb_u16(l4, 0);
    dnsb_bytes(l4, pl, n);
    l4_checksum(l4, 6, s, d, 17);
}

void dnsb_tcp(dnsb *l4, const dnsb_ep *s, const dnsb_ep *d, uint32_t seq, uint32_t ack,
              unsigned flags, const uint8_t *pl, size_t n)
{
    l4->n = 0;
    dnsb_u16(l4, s->port);
    dnsb_u16(l4, d->port);
    dnsb_u32(l4, seq);
    dnsb_u32(l4, (flags & DNSB_TH_ACK) ? ack : 0);
    dnsb_u8(l4, 5 << 4);
    dnsb_u8(l4, flags);
    dnsb_u16(l4, 65535);
    dnsb_u16(l4, 0);
    dnsb_u16(l4, 0);
    dnsb_bytes(l4, pl, n);
    l4_checksum(l4, 16, s, d, 6);
}

void dnsb_ip4_hdr(dnsb *ip, const dnsb_ep *s, const dnsb_ep *d, unsigned proto,
                  size_t paylen, unsigned id, size_t frag_off, bool mf)
{
    size_t at = ip->n;
    dnsb_u8(ip, 0x45);
    dnsb_u8(ip, 0);
    dnsb_u16(ip, (unsigned)(20 + paylen));
    dnsb_u16(ip, id);
    dnsb_u16(ip, (unsigned)(frag_off / 8) | (mf ? 0x2000 : 0) |
                     (frag_off == 0 && !mf ? 0x4000 : 0));
    dnsb_u8(ip, 64);
    dnsb_u8(ip, proto);
    dnsb_u16(ip, 0);
    dnsb_bytes(ip, s->a, 4);
    dnsb_bytes(ip, d->a, 4);
    dnsb_set16(ip, at + 10, dnsb_csum_fold(dnsb_csum_add(0, ip->b + at, 20)));
}

void dnsb_ip6_hdr(dnsb *ip, const dnsb_ep *s, const dnsb_ep *d, unsigned next, size_t paylen)
{
    dnsb_u32(ip, 0x60000000u);
    dnsb_u16(ip, (unsigned)paylen);
    dnsb_u8(ip, next);
    dnsb_u8(ip, 64);
    dnsb_bytes(ip, s->a, 16);
    dnsb_bytes(ip, d->a, 16);
}

void dnsb_eth_addrs(dnsb *f, const uint8_t dst[6], const uint8_t src[6])
{
    dnsb_bytes(f, dst, 6);
    dnsb_bytes(f, src, 6);
}

void dnsb_vlan(dnsb *f, unsigned tpid, unsigned tci)
{
    dnsb_u16(f, tpid);
    dnsb_u16(f, tci);
}

void dnsb_eth(dnsb *f, const uint8_t dst[6], const uint8_t src[6], unsigned type)
{
    dnsb_eth_addrs(f, dst, src);
    dnsb_u16(f, type);
}
