/* The default capture filter, written out as a pcap-filter(7) expression. */
#include "sensor/capfilter.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "decoders/pkt.h"

/* Appending writer with a sticky overflow flag. */
typedef struct fbuf {
    char *p;
    size_t len, n;
    bool over;
} fbuf;

static void put(fbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(fbuf *b, const char *fmt, ...)
{
    if (b->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->len - b->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= b->len - b->n)
        b->over = true;
    else
        b->n += (size_t)k;
}

typedef struct fctx {
    fbuf b;
    const uint16_t *ports;
    unsigned n_ports;
} fctx;

/* "ether[AT:2] = p or ether[AT+2:2] = p ..." for every DNS port; AT is an expression. */
static void ports_at(fctx *f, const char *at)
{
    for (unsigned i = 0; i < f->n_ports; i++)
        put(&f->b, "%sether[%s:2] = %u or ether[%s + 2:2] = %u", i ? " or " : "", at,
            f->ports[i], at, f->ports[i]);
}

static void tunnel_ports_at(fctx *f, const char *at)
{
    put(&f->b, "ether[%s + 2:2] = 4789 or ether[%s + 2:2] = 8472 or ether[%s + 2:2] = 6081",
        at, at, at);
}

/* IPv4 at byte b, its type field (ethertype or PPP protocol) at t with value v4. */
static void eth_ip4(fctx *f, unsigned t, unsigned v4, unsigned b)
{
    char at[64];
    snprintf(at, sizeof at, "%u + ((ether[%u] & 0xf) << 2)", b, b);
    put(&f->b, "(ether[%u:2] = 0x%04x and (ether[%u:2] & 0x1fff != 0 or ether[%u] = 47"
               " or (ether[%u] = 17 and (", t, v4, b + 6, b + 9, b + 9);
    tunnel_ports_at(f, at);
    put(&f->b, ")) or ((ether[%u] = 17 or ether[%u] = 6) and (", b + 9, b + 9);
    ports_at(f, at);
    put(&f->b, "))))");
}

/* IPv6 at byte b: fragments, extension headers and GRE whole, else UDP/TCP ports. */
static void eth_ip6(fctx *f, unsigned t, unsigned v6, unsigned b)
{
    char at[32];
    snprintf(at, sizeof at, "%u", b + 40);
    unsigned nh = b + 6;
    put(&f->b, "(ether[%u:2] = 0x%04x and (ether[%u] = 44 or ether[%u] = 47 or ether[%u] = 0"
               " or ether[%u] = 43 or ether[%u] = 60 or ether[%u] = 51 or (ether[%u] = 17 and (",
        t, v6, nh, nh, nh, nh, nh, nh, nh);
    tunnel_ports_at(f, at);
    put(&f->b, ")) or ((ether[%u] = 17 or ether[%u] = 6) and (", nh, nh);
    ports_at(f, at);
    put(&f->b, "))))");
}

/* The frame after `tags` VLAN tags: its ethertype is at 12 + 4 * tags. */
static void eth_level(fctx *f, unsigned tags)
{
    unsigned t = 12 + 4 * tags;
    put(&f->b, "(");
    eth_ip4(f, t, 0x0800, t + 2);
    put(&f->b, " or ");
    eth_ip6(f, t, 0x86dd, t + 2);
    /* PPPoE session: 6-byte header, then the PPP protocol, then IP. */
    put(&f->b, " or (ether[%u:2] = 0x8864 and (", t);
    eth_ip4(f, t + 8, 0x0021, t + 10);
    put(&f->b, " or ");
    eth_ip6(f, t + 8, 0x0057, t + 10);
    put(&f->b, "))");
    if (tags < PKT_MAX_VLAN) {
        put(&f->b, " or ((ether[%u:2] = 0x8100 or ether[%u:2] = 0x88a8 or ether[%u:2] = 0x9100)"
                   " and ", t, t, t);
        eth_level(f, tags + 1);
        put(&f->b, ")");
    }
    put(&f->b, ")");
}

/* Other link types: libpcap's keywords find the network header for them. */
static void generic(fctx *f)
{
    put(&f->b, "(");
    for (unsigned i = 0; i < f->n_ports; i++)
        put(&f->b, "%s(udp or tcp) and port %u", i ? " or " : "", f->ports[i]);
    put(&f->b, "%s(ip and ip[6:2] & 0x1fff != 0) or (ip6 and (ip6[6] = 44 or ip6[6] = 0 or"
               " ip6[6] = 43 or ip6[6] = 60 or ip6[6] = 51)) or ip proto 47 or ip6 proto 47"
               " or udp dst port 4789 or udp dst port 8472 or udp dst port 6081)",
        f->n_ports ? " or " : "");
}

int capfilter_default(int dlt, const uint16_t *ports, unsigned n_ports, char *out, size_t len)
{
    fctx f = {{out, len, 0, len == 0}, ports, n_ports};
    if (len)
        out[0] = '\0';
    if (dlt == PKT_DLT_EN10MB)
        eth_level(&f, 0);
    else
        generic(&f);
    if (f.b.over) {
        if (len)
            out[0] = '\0';
        return -ENOSPC;
    }
    return 0;
}
