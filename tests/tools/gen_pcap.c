/* gen_pcap: writes the deterministic captures that the pcap tests and the benchmark read.
 *
 *   gen_pcap --list                  scenario names, one a line
 *   gen_pcap --list-rules            rule cases: CASE SCENARIO RULES [ARGS] (test_rules.sh)
 *   gen_pcap --list-learn            learn scenarios (tests/cli/test_learn.sh)
 *   gen_pcap SCENARIO OUT.pcap       one small scenario (see the table at the end)
 *   gen_pcap bench N OUT.pcap [SEED] N packets of query/response pairs
 *
 * Every byte is built here by hand (no capture library other than libpcap's file writer),
 * so a scenario can hold exactly the oddity it tests: forward compression pointers,
 * fragments out of order, one DNS-over-TCP message over three segments, broken records.
 * Output depends on nothing but the arguments: fixed addresses, ports, ids and timestamps
 * starting at 2026-11-27T10:00:00Z, and a seeded PRNG for the benchmark. The expected
 * events live in tests/pcap/<scenario>.expect; change both together. */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/dnsbuild.h"

#define T0_SEC 1795773600L /* 2026-11-27T10:00:00Z */
#define SNAPLEN 262144

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_8021Q 0x8100
#define ETH_8021AD 0x88a8

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_PSH 0x08
#define TH_ACK 0x10

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_TXT = 16, T_AAAA = 28,
       T_OPT = 41, T_DS = 43, T_RRSIG = 46, T_HTTPS = 65 };

#define F_QUERY 0x0100 /* RD */
#define F_RESP 0x8180  /* QR RD RA, NOERROR */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gen_pcap: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Messages and packets are built with tests/lib/dnsbuild.h: buf is its bounds-checked
 * buffer, ep an address and port. */
typedef dnsb buf;
typedef dnsb_ep ep;

/* OPT pseudo-record; ede < 0 means no Extended DNS Error option. */
static void rr_opt(buf *m, unsigned udp, bool do_bit, int ede)
{
    size_t at = dnsb_opt_begin(m, udp, do_bit);
    if (ede >= 0) {
        uint8_t info[2] = {(uint8_t)(ede >> 8), (uint8_t)ede};
        dnsb_edns_option(m, 15, info, sizeof info); /* Extended DNS Error */
    }
    dnsb_rr_end(m, at);
}

static void dns_query(buf *m, unsigned id, const char *qname, unsigned qtype, int edns_udp,
                      bool do_bit)
{
    dnsb_start(m, id, F_QUERY, qname, qtype, 0, 0, edns_udp > 0 ? 1 : 0);
    if (edns_udp > 0)
        rr_opt(m, (unsigned)edns_udp, do_bit, -1);
}

/* ---- capture writing, link layers, IP, UDP, TCP ---- */

enum link_kind { L_ETH, L_SLL, L_SLL2, L_RAW, L_NULL, L_LOOP };

/* Encapsulations a mirror adds (tunnels), and what they carry: an Ethernet frame (with
 * inner_vlan as its tag when non-zero) or, for E_GRE_IP, the IP packet itself. */
enum enc_kind { E_VXLAN, E_VXLAN_LINUX, E_GENEVE, E_GENEVE_IP, E_GRE_IP, E_GRE_TEB, E_ERSPAN2,
                E_ERSPAN3 };

typedef struct enc {
    enum enc_kind kind;
    int af;              /* outer IP version: documentation addresses only */
    uint16_t inner_vlan; /* tag of the carried Ethernet frame, 0 for none */
} enc_t;

#define MAX_ENC 6

typedef struct link {
    enum link_kind kind;
    int nvlan;            /* Ethernet only: tags, outermost first */
    uint16_t tpid[2];
    uint16_t tci[2];
    bool pppoe;           /* Ethernet only: IP in a PPPoE session (after the tags) */
    int nenc;             /* tunnels around the IP packet, enc[0] outermost */
    enc_t enc[MAX_ENC];
    size_t outer_frag;    /* > 0: the outermost IPv4 packet goes out in fragments of this */
} link_t;

/* One conversation: client, server, how frames are wrapped, TCP sequence numbers. */
typedef struct conv {
    ep cli, srv;
    link_t lk;
    uint32_t seq[2]; /* next sequence number: [0] client, [1] server */
} conv;

typedef struct gen {
    pcap_t *p;
    pcap_dumper_t *d;
    uint64_t now_us; /* offset from T0 of the next packet */
    uint16_t ipid;
    uint32_t fragid;
    uint64_t npkts;
} gen;

static buf g_frame, g_ip, g_l4; /* scratch; one packet is in flight at a time */

static conv mkconv(const char *cli, uint16_t cport, const char *srv, uint16_t sport,
                   enum link_kind kind)
{
    conv c;
    memset(&c, 0, sizeof c);
    c.cli = dnsb_endpoint(cli, cport);
    c.srv = dnsb_endpoint(srv, sport);
    c.lk.kind = kind;
    c.seq[0] = 0x10000000u;
    c.seq[1] = 0x50000000u;
    return c;
}

static void emit(gen *g, const uint8_t *frame, size_t len)
{
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof h);
    h.ts.tv_sec = (time_t)(T0_SEC + (long)(g->now_us / 1000000u));
    h.ts.tv_usec = (suseconds_t)(g->now_us % 1000000u);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)g->d, &h, frame);
    g->npkts++;
}

static const uint8_t MAC_CLIENT[6] = {0x02, 0, 0, 0, 0, 0x03};
static const uint8_t MAC_GW[6] = {0x02, 0, 0, 0, 0, 0x53};

/* Wraps an IP packet in the conversation's link layer and writes it. */
static void send_frame(gen *g, const link_t *lk, bool to_client, int af, const buf *ip)
{
    buf *f = &g_frame;
    unsigned etype = af == 4 ? ETH_IPV4 : ETH_IPV6;
    const uint8_t *src = to_client ? MAC_GW : MAC_CLIENT;
    const uint8_t *dst = to_client ? MAC_CLIENT : MAC_GW;
    f->n = 0;
    switch (lk->kind) {
    case L_ETH:
        dnsb_eth_addrs(f, dst, src);
        for (int i = 0; i < lk->nvlan; i++)
            dnsb_vlan(f, lk->tpid[i], lk->tci[i]);
        if (lk->pppoe) {
            dnsb_u16(f, 0x8864);
            dnsb_u8(f, 0x11);                     /* version 1, type 1 */
            dnsb_u8(f, 0);                        /* code: session data */
            dnsb_u16(f, 0x2a2a);                  /* session id */
            dnsb_u16(f, (unsigned)(ip->n + 2));   /* PPP protocol + payload */
            dnsb_u16(f, af == 4 ? 0x0021 : 0x0057);
        } else {
            dnsb_u16(f, etype);
        }
        break;
    case L_SLL:
        dnsb_u16(f, to_client ? 0 : 4); /* packet type: to us / outgoing */
        dnsb_u16(f, 1);                 /* ARPHRD_ETHER */
        dnsb_u16(f, 6);
        dnsb_bytes(f, src, 6);
        dnsb_u16(f, 0);
        dnsb_u16(f, etype);
        break;
    case L_SLL2:
        dnsb_u16(f, etype);
        dnsb_u16(f, 0);
        dnsb_u32(f, 2); /* interface index */
        dnsb_u16(f, 1); /* ARPHRD_ETHER */
        dnsb_u8(f, to_client ? 0 : 4);
        dnsb_u8(f, 6);
        dnsb_bytes(f, src, 6);
        dnsb_u16(f, 0);
        break;
    case L_RAW:
        break;
    case L_NULL: { /* host byte order of the capturing machine: little-endian here */
        uint32_t fam = af == 4 ? 2 : 24;
        dnsb_u8(f, fam & 0xff);
        dnsb_u8(f, (fam >> 8) & 0xff);
        dnsb_u8(f, (fam >> 16) & 0xff);
        dnsb_u8(f, fam >> 24);
        break;
    }
    case L_LOOP:
        dnsb_u32(f, af == 4 ? 2 : 24);
        break;
    }
    dnsb_bytes(f, ip->b, ip->n);
    emit(g, f->b, f->n);
}



/* Wrapping scratch: the packet so far, the tunnel payload, the result, the outer UDP
 * (not g_l4: udp_send_frag slices one g_l4 over several send_ip calls). */
static buf g_enc[4];

/* Outer endpoints of tunnel layer i: RFC 5737 / RFC 3849 documentation addresses. */
static void enc_eps(int af, int i, ep *s, ep *d)
{
    char a[64];
    if (af == 4) {
        snprintf(a, sizeof a, "192.0.2.%d", 10 + i);
        *s = dnsb_endpoint(a, (uint16_t)(49152 + i));
        snprintf(a, sizeof a, "198.51.100.%d", 10 + i);
        *d = dnsb_endpoint(a, 0);
    } else {
        snprintf(a, sizeof a, "2001:db8:%d::1", 10 + i);
        *s = dnsb_endpoint(a, (uint16_t)(49152 + i));
        snprintf(a, sizeof a, "2001:db8:%d::2", 10 + i);
        *d = dnsb_endpoint(a, 0);
    }
}

/* One tunnel layer around the IP packet in (version *af): out becomes the outer IP packet. */
static void enc_wrap(gen *g, const enc_t *e, int i, bool to_client, int *af, const buf *in, buf *out)
{
    buf *pl = &g_enc[1];
    pl->n = 0;
    unsigned etype = *af == 4 ? 0x0800 : 0x86dd;
    ep s, d;
    enc_eps(e->af, i, &s, &d);
    unsigned proto = 47;
    size_t gre_at = 0;
    switch (e->kind) {
    case E_VXLAN:
    case E_VXLAN_LINUX:
        d.port = e->kind == E_VXLAN ? 4789 : 8472;
        proto = 17;
        dnsb_u8(pl, 0x08);
        dnsb_u8(pl, 0), dnsb_u16(pl, 0);
        dnsb_u32(pl, (uint32_t)(4242 + i) << 8);
        break;
    case E_GENEVE:
    case E_GENEVE_IP:
        d.port = 6081;
        proto = 17;
        dnsb_u8(pl, 2); /* version 0, two words of options */
        dnsb_u8(pl, 0);
        dnsb_u16(pl, e->kind == E_GENEVE ? 0x6558 : etype);
        dnsb_u32(pl, (uint32_t)(77 + i) << 8);
        dnsb_u16(pl, 0x0102); /* option class */
        dnsb_u8(pl, 0x80);    /* type (critical bit) */
        dnsb_u8(pl, 1);       /* one word of data */
        dnsb_u32(pl, 0xdeadbeef);
        break;
    case E_GRE_IP:
        gre_at = pl->n;
        dnsb_u16(pl, 0x8000 | 0x2000 | 0x1000); /* checksum, key, sequence number */
        dnsb_u16(pl, etype);
        dnsb_u32(pl, 0);       /* checksum, reserved: filled in below */
        dnsb_u32(pl, 0x1234);  /* key */
        dnsb_u32(pl, g->npkts); /* sequence */
        break;
    case E_GRE_TEB:
        dnsb_u16(pl, 0x2000); /* key */
        dnsb_u16(pl, 0x6558);
        dnsb_u32(pl, 0x4321);
        break;
    case E_ERSPAN2:
        dnsb_u16(pl, 0x1000);
        dnsb_u16(pl, 0x88be);
        dnsb_u32(pl, g->npkts);
        dnsb_u32(pl, 1u << 28 | (uint32_t)e->inner_vlan << 16 | 3u << 11 | 0x55); /* session 0x55 */
        dnsb_u32(pl, 0x00000007); /* index */
        break;
    case E_ERSPAN3:
        dnsb_u16(pl, 0x1000);
        dnsb_u16(pl, 0x22eb);
        dnsb_u32(pl, g->npkts);
        dnsb_u32(pl, 2u << 28 | (uint32_t)e->inner_vlan << 16 | 0x66);
        dnsb_u32(pl, (uint32_t)g->now_us); /* timestamp */
        dnsb_u16(pl, 0);                    /* security group tag */
        dnsb_u16(pl, 0x0001);               /* frame type 0 (Ethernet), O: subheader follows */
        dnsb_u32(pl, 0x12345678);           /* platform-specific subheader */
        dnsb_u32(pl, 0x9abcdef0);
        break;
    }
    if (e->kind != E_GRE_IP && e->kind != E_GENEVE_IP) { /* an Ethernet frame inside */
        dnsb_eth_addrs(pl, to_client ? MAC_CLIENT : MAC_GW, to_client ? MAC_GW : MAC_CLIENT);
        if (e->inner_vlan) {
            dnsb_u16(pl, ETH_8021Q);
            dnsb_u16(pl, e->inner_vlan);
        }
        dnsb_u16(pl, etype);
    }
    dnsb_bytes(pl, in->b, in->n);
    if (e->kind == E_GRE_IP)
        dnsb_set16(pl, gre_at + 4,
                   dnsb_csum_fold(dnsb_csum_add(0, pl->b + gre_at, pl->n - gre_at)));

    const buf *l4 = pl;
    if (proto == 17) {
        dnsb_udp(&g_enc[3], &s, &d, pl->b, pl->n);
        l4 = &g_enc[3];
    }
    out->n = 0;
    if (e->af == 4)
        dnsb_ip4_hdr(out, &s, &d, proto, l4->n, g->ipid++, 0, false);
    else
        dnsb_ip6_hdr(out, &s, &d, proto, l4->n);
    dnsb_bytes(out, l4->b, l4->n);
    *af = e->af;
}

/* Wraps an IP packet in the conversation's tunnels (if any) and link layer, and writes
 * it: as IPv4 fragments of the outermost packet when lk->outer_frag asks for that. */
static void send_ip(gen *g, const link_t *lk, bool to_client, int af, const buf *ip)
{
    if (lk->nenc == 0) {
        send_frame(g, lk, to_client, af, ip);
        return;
    }
    buf *cur = &g_enc[0], *out = &g_enc[2];
    cur->n = 0;
    dnsb_bytes(cur, ip->b, ip->n);
    for (int i = lk->nenc - 1; i >= 0; i--) {
        enc_wrap(g, &lk->enc[i], i, to_client, &af, cur, out);
        buf *t = cur;
        cur = out;
        out = t;
    }
    if (!lk->outer_frag) {
        send_frame(g, lk, to_client, af, cur);
        return;
    }
    if (af != 4 || lk->outer_frag % 8)
        die("outer fragments: IPv4 outer header and a multiple of 8 only");
    size_t plen = cur->n - 20; /* enc_wrap writes 20-byte IPv4 headers */
    ep s, d;
    memset(&s, 0, sizeof s);
    memset(&d, 0, sizeof d);
    s.af = d.af = 4;
    memcpy(s.a, cur->b + 12, 4);
    memcpy(d.a, cur->b + 16, 4);
    unsigned proto = cur->b[9], id = g->ipid++;
    for (size_t off = 0; off < plen; off += lk->outer_frag) {
        size_t n = plen - off < lk->outer_frag ? plen - off : lk->outer_frag;
        out->n = 0;
        dnsb_ip4_hdr(out, &s, &d, proto, n, id, off, off + n < plen);
        dnsb_bytes(out, cur->b + 20 + off, n);
        send_frame(g, lk, to_client, 4, out);
    }
}

static void send_l4(gen *g, const conv *c, bool from_cli, unsigned proto, const buf *l4)
{
    const ep *s = from_cli ? &c->cli : &c->srv;
    const ep *d = from_cli ? &c->srv : &c->cli;
    buf *ip = &g_ip;
    ip->n = 0;
    if (s->af == 4)
        dnsb_ip4_hdr(ip, s, d, proto, l4->n, g->ipid++, 0, false);
    else
        dnsb_ip6_hdr(ip, s, d, proto, l4->n);
    dnsb_bytes(ip, l4->b, l4->n);
    send_ip(g, &c->lk, !from_cli, s->af, ip);
}

static void udp_send(gen *g, const conv *c, bool from_cli, const buf *dns)
{
    dnsb_udp(&g_l4, from_cli ? &c->cli : &c->srv, from_cli ? &c->srv : &c->cli, dns->b, dns->n);
    send_l4(g, c, from_cli, 17, &g_l4);
}

/* Sends a UDP datagram as IP fragments of fragsz payload bytes (a multiple of 8), in the
 * order given by order[0..nfrag) (fragment indices). */
static void udp_send_frag(gen *g, const conv *c, bool from_cli, const buf *dns, size_t fragsz,
                          const int *order, int nfrag)
{
    const ep *s = from_cli ? &c->cli : &c->srv;
    const ep *d = from_cli ? &c->srv : &c->cli;
    dnsb_udp(&g_l4, s, d, dns->b, dns->n);
    if ((g_l4.n + fragsz - 1) / fragsz != (size_t)nfrag)
        die("fragment plan does not match the datagram size (%zu bytes)", g_l4.n);
    unsigned id4 = g->ipid++;
    uint32_t id6 = g->fragid++;
    for (int i = 0; i < nfrag; i++) {
        size_t off = (size_t)order[i] * fragsz;
        size_t n = g_l4.n - off < fragsz ? g_l4.n - off : fragsz;
        bool mf = off + n < g_l4.n;
        buf *ip = &g_ip;
        ip->n = 0;
        if (s->af == 4) {
            dnsb_ip4_hdr(ip, s, d, 17, n, id4, off, mf);
        } else {
            dnsb_ip6_hdr(ip, s, d, 44, 8 + n);
            dnsb_u8(ip, 17);
            dnsb_u8(ip, 0);
            dnsb_u16(ip, (unsigned)off | (mf ? 1 : 0));
            dnsb_u32(ip, id6);
        }
        dnsb_bytes(ip, g_l4.b + off, n);
        send_ip(g, &c->lk, !from_cli, s->af, ip);
    }
}

static void tcp_send(gen *g, conv *c, bool from_cli, unsigned flags, const uint8_t *pl, size_t n)
{
    int me = from_cli ? 0 : 1;
    dnsb_tcp(&g_l4, from_cli ? &c->cli : &c->srv, from_cli ? &c->srv : &c->cli, c->seq[me],
              c->seq[1 - me], flags, pl, n);
    c->seq[me] += (uint32_t)n + ((flags & (TH_SYN | TH_FIN)) ? 1u : 0u);
    send_l4(g, c, from_cli, 6, &g_l4);
}

/* A DNS message with its 2-byte length prefix, for DNS over TCP. */
static void tcp_frame(buf *out, const buf *dns)
{
    dnsb_u16(out, (unsigned)dns->n);
    dnsb_bytes(out, dns->b, dns->n);
}

/* ---- scenarios ---- */

static buf g_q, g_r, g_tmp;

/* Query pypi.org-style name, then a response with one A (or AAAA) record, 1.5 ms later. */
static void exchange_addr(gen *g, const conv *c, unsigned id, const char *name, const char *addr,
                          uint32_t ttl)
{
    bool v6 = strchr(addr, ':') != NULL;
    unsigned type = v6 ? T_AAAA : T_A;
    dns_query(&g_q, id, name, type, 0, false);
    udp_send(g, c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, id, F_RESP, name, type, 1, 0, 0);
    if (v6)
        dnsb_rr_addr(&g_r, 12, ttl, addr);
    else
        dnsb_rr_addr(&g_r, 12, ttl, addr);
    udp_send(g, c, false, &g_r);
    g->now_us += 10000;
}

static void sc_link(gen *g, enum link_kind kind)
{
    conv c = mkconv("10.1.2.3", 53211, "10.10.0.53", 53, kind);
    exchange_addr(g, &c, 0x1a2b, "pypi.org", "151.101.0.223", 300);
}

static void sc_udp4_a(gen *g) { sc_link(g, L_ETH); }
static void sc_sll(gen *g) { sc_link(g, L_SLL); }
static void sc_sll2(gen *g) { sc_link(g, L_SLL2); }
static void sc_null(gen *g) { sc_link(g, L_NULL); }
static void sc_loop(gen *g) { sc_link(g, L_LOOP); }

static void sc_udp6_aaaa(gen *g)
{
    conv c = mkconv("fd00::3", 53212, "fd00::53", 53, L_ETH);
    exchange_addr(g, &c, 0x1a2c, "pypi.org", "2a04:4e40::223", 300);
}

/* Raw IP: the version nibble alone tells IPv4 from IPv6. */
static void sc_raw(gen *g)
{
    conv c4 = mkconv("10.1.2.3", 53213, "10.10.0.53", 53, L_RAW);
    conv c6 = mkconv("fd00::3", 53214, "fd00::53", 53, L_RAW);
    exchange_addr(g, &c4, 0x2001, "pypi.org", "151.101.0.223", 300);
    exchange_addr(g, &c6, 0x2002, "pypi.org", "2a04:4e40::223", 300);
}

static void sc_vlan(gen *g)
{
    conv c = mkconv("10.1.2.3", 53215, "10.10.0.53", 53, L_ETH);
    c.lk.nvlan = 1;
    c.lk.tpid[0] = ETH_8021Q;
    c.lk.tci[0] = (5u << 13) | 10; /* priority bits set: the id is the low 12 bits only */
    exchange_addr(g, &c, 0x1a2d, "pypi.org", "151.101.0.223", 300);
}

static void sc_qinq(gen *g)
{
    conv c = mkconv("10.1.2.3", 53216, "10.10.0.53", 53, L_ETH);
    c.lk.nvlan = 2;
    c.lk.tpid[0] = ETH_8021AD;
    c.lk.tci[0] = 100;
    c.lk.tpid[1] = ETH_8021Q;
    c.lk.tci[1] = 20;
    exchange_addr(g, &c, 0x1a2e, "pypi.org", "151.101.0.223", 300);
}

static void sc_cname_chain(gen *g)
{
    conv c = mkconv("10.1.2.3", 53217, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x3001, "files.pythonhosted.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x3001, F_RESP, "files.pythonhosted.org", T_A, 2, 0, 0);
    dnsb_ptr(&g_r, 12);
    size_t at = dnsb_rr_begin(&g_r, T_CNAME, 1, 3600);
    size_t target = g_r.n;
    dnsb_name(&g_r, "dualstack.python.map.fastly.net");
    dnsb_rr_end(&g_r, at);
    dnsb_rr_addr(&g_r, (unsigned)target, 60, "151.101.64.223");
    udp_send(g, &c, false, &g_r);
}

/* Three messages on one connection: the first response in three segments (the first holds
 * the 2-byte length and 5 header bytes, the second ends inside the question name), then two
 * queries in one segment answered by two responses in one segment. */
static void sc_tcp(gen *g)
{
    conv c = mkconv("10.1.2.3", 53300, "10.10.0.53", 53, L_ETH);
    tcp_send(g, &c, true, TH_SYN, NULL, 0);
    g->now_us += 200;
    tcp_send(g, &c, false, TH_SYN | TH_ACK, NULL, 0);
    g->now_us += 200;
    tcp_send(g, &c, true, TH_ACK, NULL, 0);
    g->now_us += 100;

    g_tmp.n = 0;
    dns_query(&g_q, 0x7001, "pypi.org", T_A, 0, false);
    tcp_frame(&g_tmp, &g_q);
    tcp_send(g, &c, true, TH_PSH | TH_ACK, g_tmp.b, g_tmp.n);
    g->now_us += 1500;

    dnsb_start(&g_r, 0x7001, F_RESP, "pypi.org", T_A, 2, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, "151.101.0.223");
    dnsb_rr_addr(&g_r, 12, 300, "151.101.64.223");
    g_tmp.n = 0;
    tcp_frame(&g_tmp, &g_r);
    size_t cut1 = 7, cut2 = 27;
    tcp_send(g, &c, false, TH_ACK, g_tmp.b, cut1);
    g->now_us += 100;
    tcp_send(g, &c, false, TH_ACK, g_tmp.b + cut1, cut2 - cut1);
    g->now_us += 100;
    tcp_send(g, &c, false, TH_PSH | TH_ACK, g_tmp.b + cut2, g_tmp.n - cut2);
    g->now_us += 100;
    tcp_send(g, &c, true, TH_ACK, NULL, 0);
    g->now_us += 1000;

    g_tmp.n = 0;
    dns_query(&g_q, 0x7002, "registry.npmjs.org", T_A, 0, false);
    tcp_frame(&g_tmp, &g_q);
    dns_query(&g_q, 0x7003, "files.pythonhosted.org", T_AAAA, 0, false);
    tcp_frame(&g_tmp, &g_q);
    tcp_send(g, &c, true, TH_PSH | TH_ACK, g_tmp.b, g_tmp.n);
    g->now_us += 1500;

    g_tmp.n = 0;
    dnsb_start(&g_r, 0x7002, F_RESP, "registry.npmjs.org", T_A, 1, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, "104.16.0.35");
    tcp_frame(&g_tmp, &g_r);
    dnsb_start(&g_r, 0x7003, F_RESP, "files.pythonhosted.org", T_AAAA, 1, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, "2a04:4e42::223");
    tcp_frame(&g_tmp, &g_r);
    tcp_send(g, &c, false, TH_PSH | TH_ACK, g_tmp.b, g_tmp.n);
    g->now_us += 100;
    tcp_send(g, &c, true, TH_ACK, NULL, 0);
    g->now_us += 500;

    tcp_send(g, &c, true, TH_FIN | TH_ACK, NULL, 0);
    g->now_us += 100;
    tcp_send(g, &c, false, TH_FIN | TH_ACK, NULL, 0);
    g->now_us += 100;
    tcp_send(g, &c, true, TH_ACK, NULL, 0);
}

/* 185 A records + OPT: a 2997-byte message, 3005 bytes of UDP, three fragments. */
static void frag_response(buf *r, unsigned id)
{
    dnsb_start(r, id, F_RESP, "pypi.org", T_A, 185, 0, 1);
    char ip[32];
    for (int i = 0; i < 185; i++) {
        snprintf(ip, sizeof ip, "151.101.%d.223", i);
        dnsb_rr_addr(r, 12, 300, ip);
    }
    rr_opt(r, 4096, false, -1);
}

static void sc_frag4(gen *g)
{
    conv c = mkconv("10.1.2.3", 53218, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x4001, "pypi.org", T_A, 4096, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    frag_response(&g_r, 0x4001);
    static const int order[] = {1, 2, 0};
    udp_send_frag(g, &c, false, &g_r, 1480, order, 3);
}

static void sc_frag6(gen *g)
{
    conv c = mkconv("fd00::3", 53219, "fd00::53", 53, L_ETH);
    dns_query(&g_q, 0x4002, "pypi.org", T_A, 4096, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    frag_response(&g_r, 0x4002);
    static const int order[] = {2, 0, 1};
    udp_send_frag(g, &c, false, &g_r, 1448, order, 3);
}

static void sc_edns_dnssec(gen *g)
{
    conv c = mkconv("10.1.2.3", 53220, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x5001, "pythonhosted.org", T_DS, 1232, true);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x5001, F_RESP | 0x0020 /* AD */, "pythonhosted.org", T_DS, 2, 0, 1);

    dnsb_ptr(&g_r, 12);
    size_t at = dnsb_rr_begin(&g_r, T_DS, 1, 3600);
    dnsb_u16(&g_r, 2371);
    dnsb_u8(&g_r, 13);
    dnsb_u8(&g_r, 2);
    for (unsigned i = 0; i < 32; i++)
        dnsb_u8(&g_r, 0xa0 + i);
    dnsb_rr_end(&g_r, at);

    dnsb_ptr(&g_r, 12);
    at = dnsb_rr_begin(&g_r, T_RRSIG, 1, 3600);
    dnsb_u16(&g_r, T_DS);
    dnsb_u8(&g_r, 13);
    dnsb_u8(&g_r, 2);
    dnsb_u32(&g_r, 3600);
    dnsb_u32(&g_r, 1796947200u); /* 2026-12-11T00:00:00Z expiration */
    dnsb_u32(&g_r, 1795737600u); /* 2026-11-27T00:00:00Z inception */
    dnsb_u16(&g_r, 12345);
    dnsb_name(&g_r, "org"); /* RFC 4034: the signer name is never compressed */
    for (unsigned i = 0; i < 64; i++)
        dnsb_u8(&g_r, i * 3);
    dnsb_rr_end(&g_r, at);

    rr_opt(&g_r, 1232, true, 18);
    udp_send(g, &c, false, &g_r);
}

static void sc_svcb(gen *g)
{
    conv c = mkconv("10.1.2.3", 53221, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x5002, "pypi.org", T_HTTPS, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x5002, F_RESP, "pypi.org", T_HTTPS, 1, 0, 0);
    dnsb_ptr(&g_r, 12);
    size_t at = dnsb_rr_begin(&g_r, T_HTTPS, 1, 300);
    dnsb_u16(&g_r, 1); /* SvcPriority */
    dnsb_u8(&g_r, 0);  /* TargetName "." */
    dnsb_u16(&g_r, 1); /* alpn */
    dnsb_u16(&g_r, 3);
    dnsb_label(&g_r, "h2", 2);
    dnsb_u16(&g_r, 4); /* ipv4hint */
    dnsb_u16(&g_r, 4);
    dnsb_ip4(&g_r, "151.101.0.223");
    dnsb_u16(&g_r, 6); /* ipv6hint */
    dnsb_u16(&g_r, 16);
    dnsb_ip6(&g_r, "2a04:4e40::223");
    dnsb_rr_end(&g_r, at);
    udp_send(g, &c, false, &g_r);
}

/* Labels holding bytes that must be escaped in presentation form and in JSON. */
static void sc_weird_names(gen *g)
{
    conv c = mkconv("10.1.2.3", 53222, "10.10.0.53", 53, L_ETH);
    /* question: label "a.b" then "example" -> a\.b.example */
    g_q.n = 0;
    dnsb_hdr(&g_q, 0x6001, F_QUERY, 1, 0, 0, 0);
    dnsb_label(&g_q, "a.b", 3);
    dnsb_name(&g_q, "example");
    dnsb_u16(&g_q, T_A);
    dnsb_u16(&g_q, 1);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;

    dnsb_hdr(&g_r, 0x6001, F_RESP, 1, 3, 0, 0);
    dnsb_label(&g_r, "a.b", 3);
    dnsb_name(&g_r, "example");
    dnsb_u16(&g_r, T_A);
    dnsb_u16(&g_r, 1);
    /* a\.b.example CNAME q\034uote.back\\slash.example */
    dnsb_ptr(&g_r, 12);
    size_t at = dnsb_rr_begin(&g_r, T_CNAME, 1, 300);
    size_t t1 = g_r.n;
    dnsb_label(&g_r, "q\"uote", 6);
    dnsb_label(&g_r, "back\\slash", 10);
    dnsb_ptr(&g_r, 16); /* "example" of the question */
    dnsb_rr_end(&g_r, at);
    /* ... CNAME ctl\001.\255\195.example */
    dnsb_ptr(&g_r, (unsigned)t1);
    at = dnsb_rr_begin(&g_r, T_CNAME, 1, 300);
    size_t t2 = g_r.n;
    dnsb_label(&g_r, "ctl\x01", 4);
    dnsb_label(&g_r, "\xff\xc3", 2);
    dnsb_ptr(&g_r, 16);
    dnsb_rr_end(&g_r, at);
    dnsb_rr_addr(&g_r, (unsigned)t2, 300, "151.101.0.223");
    udp_send(g, &c, false, &g_r);
}

/* Broken responses, each on its own client port and id, with one sound response. */
static void sc_malformed(gen *g)
{
    conv c;
    /* 1: header truncated to 7 bytes: no event. */
    c = mkconv("10.1.2.3", 54001, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x0101, "pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_hdr(&g_r, 0x0101, F_RESP, 1, 1, 0, 0);
    g_r.n = 7;
    udp_send(g, &c, false, &g_r);
    g->now_us += 10000;

    /* 2: answer count 3, one sound answer then the end of the message. */
    c = mkconv("10.1.2.3", 54002, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x0102, "pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x0102, F_RESP, "pypi.org", T_A, 3, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, "151.101.0.223");
    udp_send(g, &c, false, &g_r);
    g->now_us += 10000;

    /* 3: a sound answer, then one whose owner name is a pointer to itself. */
    c = mkconv("10.1.2.3", 54003, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x0103, "pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x0103, F_RESP, "pypi.org", T_A, 2, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, "151.101.64.223");
    dnsb_rr_addr(&g_r, (unsigned)g_r.n, 300, "6.6.6.6");
    udp_send(g, &c, false, &g_r);
    g->now_us += 10000;

    /* 4: a sound answer, then one whose rdlength runs past the end. */
    c = mkconv("10.1.2.3", 54004, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x0104, "pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x0104, F_RESP, "pypi.org", T_A, 2, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, "151.101.128.223");
    dnsb_ptr(&g_r, 12);
    size_t at = dnsb_rr_begin(&g_r, T_A, 1, 300);
    dnsb_ip4(&g_r, "6.6.6.6");
    dnsb_set16(&g_r, at, 200);
    udp_send(g, &c, false, &g_r);
    g->now_us += 10000;

    /* 5: a 64-byte label in the question: the message is unusable, no event. */
    c = mkconv("10.1.2.3", 54005, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x0105, "pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_hdr(&g_r, 0x0105, F_RESP, 1, 1, 0, 0);
    dnsb_u8(&g_r, 64);
    for (int i = 0; i < 64; i++)
        dnsb_u8(&g_r, 'x');
    dnsb_name(&g_r, "pypi.org");
    dnsb_u16(&g_r, T_A);
    dnsb_u16(&g_r, 1);
    dnsb_rr_addr(&g_r, 12, 300, "6.6.6.6");
    udp_send(g, &c, false, &g_r);
    g->now_us += 10000;

    /* 6: a sound answer, then one whose owner has a 64-byte label. */
    c = mkconv("10.1.2.3", 54006, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x0106, "pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x0106, F_RESP, "pypi.org", T_A, 2, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, "151.101.192.223");
    dnsb_u8(&g_r, 64);
    for (int i = 0; i < 64; i++)
        dnsb_u8(&g_r, 'y');
    dnsb_ptr(&g_r, 12);
    at = dnsb_rr_begin(&g_r, T_A, 1, 300);
    dnsb_ip4(&g_r, "6.6.6.6");
    dnsb_rr_end(&g_r, at);
    udp_send(g, &c, false, &g_r);
    g->now_us += 10000;

    /* 7: the question name is a pointer to itself: unusable, no event. */
    c = mkconv("10.1.2.3", 54007, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x0107, "pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_hdr(&g_r, 0x0107, F_RESP, 1, 1, 0, 0);
    dnsb_ptr(&g_r, 12);
    dnsb_u16(&g_r, T_A);
    dnsb_u16(&g_r, 1);
    dnsb_rr_addr(&g_r, 12, 300, "6.6.6.6");
    udp_send(g, &c, false, &g_r);
    g->now_us += 10000;

    /* 8: sound. */
    c = mkconv("10.1.2.3", 54008, "10.10.0.53", 53, L_ETH);
    exchange_addr(g, &c, 0x0108, "pypi.org", "151.101.0.223", 300);
}

/* Answer owner names stored as pointers FORWARD into the message. */
static void sc_forward_ptr(gen *g)
{
    /* 1: owner of answer 1 -> owner of answer 2, spelled out in full. */
    conv c = mkconv("10.1.2.3", 53223, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x6101, "pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x6101, F_RESP, "pypi.org", T_A, 2, 0, 0);
    size_t fwd = g_r.n;
    dnsb_ptr(&g_r, 0);
    size_t at = dnsb_rr_begin(&g_r, T_A, 1, 300);
    dnsb_ip4(&g_r, "151.101.0.223");
    dnsb_rr_end(&g_r, at);
    dnsb_set16(&g_r, fwd, 0xc000 | (unsigned)g_r.n);
    dnsb_name(&g_r, "pypi.org");
    at = dnsb_rr_begin(&g_r, T_A, 1, 300);
    dnsb_ip4(&g_r, "151.101.64.223");
    dnsb_rr_end(&g_r, at);
    udp_send(g, &c, false, &g_r);
    g->now_us += 10000;

    /* 2: owner of the answer -> inside the rdata of a PTR record in the additional section. */
    c = mkconv("10.1.2.3", 53224, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x6102, "pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x6102, F_RESP, "pypi.org", T_A, 1, 0, 1);
    fwd = g_r.n;
    dnsb_ptr(&g_r, 0);
    at = dnsb_rr_begin(&g_r, T_A, 1, 300);
    dnsb_ip4(&g_r, "151.101.128.223");
    dnsb_rr_end(&g_r, at);
    dnsb_name(&g_r, "223.0.101.151.in-addr.arpa");
    at = dnsb_rr_begin(&g_r, T_PTR, 1, 300);
    dnsb_set16(&g_r, fwd, 0xc000 | (unsigned)g_r.n);
    dnsb_name(&g_r, "pypi.org");
    dnsb_rr_end(&g_r, at);
    udp_send(g, &c, false, &g_r);
}

static void sc_nxdomain(gen *g)
{
    conv c = mkconv("10.1.2.3", 53225, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x6201, "nosuch.pypi.org", T_A, 0, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x6201, F_RESP | 3, "nosuch.pypi.org", T_A, 0, 1, 0);
    dnsb_ptr(&g_r, 12 + 7); /* "pypi.org" inside the question */
    size_t at = dnsb_rr_begin(&g_r, T_SOA, 1, 300);
    dnsb_name(&g_r, "ns1.fastly.net");
    dnsb_name(&g_r, "hostmaster.fastly.com");
    dnsb_u32(&g_r, 2026112701);
    dnsb_u32(&g_r, 3600);
    dnsb_u32(&g_r, 600);
    dnsb_u32(&g_r, 604800);
    dnsb_u32(&g_r, 300);
    dnsb_rr_end(&g_r, at);
    udp_send(g, &c, false, &g_r);
}

static void sc_servfail(gen *g)
{
    conv c = mkconv("10.1.2.3", 53226, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x6202, "pypi.org", T_A, 1232, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x6202, F_RESP | 2, "pypi.org", T_A, 0, 0, 1);
    rr_opt(&g_r, 1232, false, 22); /* EDE 22: No Reachable Authority */
    udp_send(g, &c, false, &g_r);
}

/* A referral: no answer, the delegation's NS records in the authority section, their
 * glue (A and AAAA) and an OPT record in the additional section. */
static void sc_sections(gen *g)
{
    conv c = mkconv("10.1.2.3", 53228, "10.10.0.53", 53, L_ETH);
    dns_query(&g_q, 0x6203, "www.example.net", T_A, 1232, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x6203, F_RESP, "www.example.net", T_A, 0, 2, 3);
    dnsb_ptr(&g_r, 12 + 4); /* "example.net" inside the question */
    size_t at = dnsb_rr_begin(&g_r, T_NS, 1, 172800);
    dnsb_name(&g_r, "ns1.example.net");
    dnsb_rr_end(&g_r, at);
    dnsb_ptr(&g_r, 12 + 4);
    at = dnsb_rr_begin(&g_r, T_NS, 1, 172800);
    dnsb_name(&g_r, "ns2.example.net");
    dnsb_rr_end(&g_r, at);
    dnsb_name(&g_r, "ns1.example.net");
    at = dnsb_rr_begin(&g_r, T_A, 1, 172800);
    dnsb_ip4(&g_r, "192.0.2.1");
    dnsb_rr_end(&g_r, at);
    rr_opt(&g_r, 1232, false, -1); /* between the glue records: still not listed */
    dnsb_name(&g_r, "ns2.example.net");
    at = dnsb_rr_begin(&g_r, T_AAAA, 1, 172800);
    dnsb_ip6(&g_r, "2001:db8::2");
    dnsb_rr_end(&g_r, at);
    udp_send(g, &c, false, &g_r);
}

/* An exchange with a server on port 5353 (not DNS by default), then one on 53. */
static void sc_port5353(gen *g)
{
    conv c = mkconv("10.1.2.3", 53227, "10.10.0.53", 5353, L_ETH);
    exchange_addr(g, &c, 0x5353, "pypi.org", "151.101.0.223", 300);
    c = mkconv("10.1.2.3", 53228, "10.10.0.53", 53, L_ETH);
    exchange_addr(g, &c, 0x0053, "pypi.org", "151.101.64.223", 300);
}

/* ---- tunnels (mirrored traffic) and IPv6 extension headers ---- */

static void enc_push(conv *c, enum enc_kind kind, int af, uint16_t inner_vlan)
{
    if (c->lk.nenc == MAX_ENC)
        die("too many encapsulations");
    enc_t *e = &c->lk.enc[c->lk.nenc++];
    e->kind = kind;
    e->af = af;
    e->inner_vlan = inner_vlan;
}

/* AWS VPC traffic mirroring: VXLAN to UDP 4789 (here under an outer VLAN tag 7 on the
 * sensor's link; the event carries the mirrored frame's own tag 30), then the Linux
 * kernel's old VXLAN port 8472 around IPv6. */
static void sc_vxlan(gen *g)
{
    conv c = mkconv("10.1.2.3", 53230, "10.10.0.53", 53, L_ETH);
    c.lk.nvlan = 1;
    c.lk.tpid[0] = ETH_8021Q;
    c.lk.tci[0] = 7;
    enc_push(&c, E_VXLAN, 4, 30);
    exchange_addr(g, &c, 0x7801, "pypi.org", "151.101.0.223", 300);
    conv c6 = mkconv("fd00::3", 53231, "fd00::53", 53, L_ETH);
    enc_push(&c6, E_VXLAN_LINUX, 4, 0);
    exchange_addr(g, &c6, 0x7802, "pypi.org", "2a04:4e40::223", 300);
}

/* Geneve over IPv6 with an option: Ethernet inside, then IPv4 directly inside. */
static void sc_geneve(gen *g)
{
    conv c = mkconv("10.1.2.3", 53232, "10.10.0.53", 53, L_ETH);
    enc_push(&c, E_GENEVE, 6, 0);
    exchange_addr(g, &c, 0x6081, "pypi.org", "151.101.0.223", 300);
    c = mkconv("10.1.2.4", 53233, "10.10.0.53", 53, L_ETH);
    enc_push(&c, E_GENEVE_IP, 4, 0);
    exchange_addr(g, &c, 0x6082, "pypi.org", "151.101.64.223", 300);
}

/* GRE with checksum, key and sequence number: IPv4 in IPv4, IPv6 in IPv6 (and a TCP
 * exchange, which the tunnel must not disturb). */
static void sc_gre_ip(gen *g)
{
    conv c = mkconv("10.1.2.3", 53234, "10.10.0.53", 53, L_ETH);
    enc_push(&c, E_GRE_IP, 4, 0);
    exchange_addr(g, &c, 0x4701, "pypi.org", "151.101.0.223", 300);
    conv c6 = mkconv("fd00::3", 53235, "fd00::53", 53, L_ETH);
    enc_push(&c6, E_GRE_IP, 6, 0);
    exchange_addr(g, &c6, 0x4702, "pypi.org", "2a04:4e40::223", 300);
    conv t = mkconv("10.1.2.5", 53236, "10.10.0.53", 53, L_ETH);
    enc_push(&t, E_GRE_IP, 4, 0);
    tcp_send(g, &t, true, TH_SYN, NULL, 0);
    tcp_send(g, &t, false, TH_SYN | TH_ACK, NULL, 0);
    tcp_send(g, &t, true, TH_ACK, NULL, 0);
    dns_query(&g_q, 0x4703, "pypi.org", T_A, 0, false);
    g_tmp.n = 0;
    tcp_frame(&g_tmp, &g_q);
    tcp_send(g, &t, true, TH_PSH | TH_ACK, g_tmp.b, g_tmp.n);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x4703, F_RESP, "pypi.org", T_A, 1, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, "151.101.128.223");
    g_tmp.n = 0;
    tcp_frame(&g_tmp, &g_r);
    tcp_send(g, &t, false, TH_PSH | TH_ACK, g_tmp.b, g_tmp.n);
    tcp_send(g, &t, true, TH_FIN | TH_ACK, NULL, 0);
    tcp_send(g, &t, false, TH_FIN | TH_ACK, NULL, 0);
}

/* GRE transparent Ethernet bridging (a Linux gretap mirror), inner VLAN 50. */
static void sc_gre_teb(gen *g)
{
    conv c = mkconv("10.1.2.3", 53237, "10.10.0.53", 53, L_ETH);
    enc_push(&c, E_GRE_TEB, 4, 50);
    exchange_addr(g, &c, 0x6558, "pypi.org", "151.101.0.223", 300);
}

/* Remote span, ERSPAN type II over IPv4: the mirrored frame carries VLAN 40. */
static void sc_erspan2(gen *g)
{
    conv c = mkconv("10.1.2.3", 53238, "10.10.0.53", 53, L_ETH);
    enc_push(&c, E_ERSPAN2, 4, 40);
    exchange_addr(g, &c, 0x88be, "pypi.org", "151.101.0.223", 300);
}

/* ERSPAN type III over IPv6 with the platform-specific subheader (O bit). */
static void sc_erspan3(gen *g)
{
    conv c = mkconv("fd00::3", 53239, "fd00::53", 53, L_ETH);
    enc_push(&c, E_ERSPAN3, 6, 41);
    exchange_addr(g, &c, 0x22eb, "pypi.org", "2a04:4e40::223", 300);
}

/* PPPoE sessions under a VLAN tag (a broadband access link): IPv4 and IPv6. */
static void sc_pppoe(gen *g)
{
    conv c = mkconv("10.1.2.3", 53240, "10.10.0.53", 53, L_ETH);
    c.lk.nvlan = 1;
    c.lk.tpid[0] = ETH_8021Q;
    c.lk.tci[0] = 12;
    c.lk.pppoe = true;
    exchange_addr(g, &c, 0x8864, "pypi.org", "151.101.0.223", 300);
    conv c6 = mkconv("fd00::3", 53241, "fd00::53", 53, L_ETH);
    c6.lk.pppoe = true;
    exchange_addr(g, &c6, 0x8865, "pypi.org", "2a04:4e40::223", 300);
}

/* Four tunnels deep, the most the decoder opens: ERSPAN II around VXLAN around IP-in-GRE
 * around Geneve. Then inner IPv4 fragments inside VXLAN, reassembled by inner addresses. */
static void sc_tunnel_nested(gen *g)
{
    conv c = mkconv("10.1.2.3", 53242, "10.10.0.53", 53, L_ETH);
    enc_push(&c, E_ERSPAN2, 4, 0);
    enc_push(&c, E_VXLAN, 6, 0);
    enc_push(&c, E_GRE_IP, 4, 0);
    enc_push(&c, E_GENEVE, 6, 60);
    exchange_addr(g, &c, 0x4444, "pypi.org", "151.101.0.223", 300);

    conv f = mkconv("10.1.2.6", 53243, "10.10.0.53", 53, L_ETH);
    enc_push(&f, E_VXLAN, 4, 0);
    dns_query(&g_q, 0x4445, "pypi.org", T_A, 4096, false);
    udp_send(g, &f, true, &g_q);
    g->now_us += 1500;
    frag_response(&g_r, 0x4445);
    static const int order[] = {2, 0, 1};
    udp_send_frag(g, &f, false, &g_r, 1480, order, 3);
}

/* Five tunnels deep: counted and dropped (no event); a plain exchange after it shows the
 * capture is read on. */
static void sc_tunnel_too_deep(gen *g)
{
    conv c = mkconv("10.1.2.3", 53244, "10.10.0.53", 53, L_ETH);
    enc_push(&c, E_VXLAN, 4, 0);
    enc_push(&c, E_GRE_TEB, 4, 0);
    enc_push(&c, E_GRE_IP, 6, 0);
    enc_push(&c, E_GENEVE, 4, 0);
    enc_push(&c, E_ERSPAN3, 4, 0);
    exchange_addr(g, &c, 0x5555, "pypi.org", "45.33.20.5", 300);
    c = mkconv("10.1.2.3", 53245, "10.10.0.53", 53, L_ETH);
    enc_push(&c, E_VXLAN, 4, 0);
    enc_push(&c, E_GRE_TEB, 4, 0);
    enc_push(&c, E_GRE_IP, 6, 0);
    enc_push(&c, E_GENEVE, 4, 0);
    exchange_addr(g, &c, 0x4444, "pypi.org", "151.101.0.223", 300);
}

/* A GRE mirror whose outer IPv4 packets were fragmented on the way (a 3 KB response in
 * one inner datagram): reassembled by the outer addresses, then opened. */
static void sc_gre_outer_frag(gen *g)
{
    conv c = mkconv("10.1.2.3", 53246, "10.10.0.53", 53, L_ETH);
    enc_push(&c, E_GRE_IP, 4, 0);
    dns_query(&g_q, 0x4746, "pypi.org", T_A, 4096, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    c.lk.outer_frag = 1480;
    frag_response(&g_r, 0x4746);
    udp_send(g, &c, false, &g_r);
}

/* IPv6 with extension headers before UDP: hop-by-hop and destination options on the
 * query, a destination options header and a routing header (segments left 0) on the
 * response. */
static void udp6_ext_send(gen *g, const conv *c, bool from_cli, const buf *dns, bool routing)
{
    const ep *s = from_cli ? &c->cli : &c->srv;
    const ep *d = from_cli ? &c->srv : &c->cli;
    dnsb_udp(&g_l4, s, d, dns->b, dns->n);
    buf *ip = &g_ip;
    ip->n = 0;
    dnsb_ip6_hdr(ip, s, d, routing ? 60 : 0, 8 + 8 + g_l4.n);
    static const uint8_t padn[6] = {0x01, 0x04, 0, 0, 0, 0};
    dnsb_u8(ip, routing ? 43 : 60); /* first: destination options / hop-by-hop */
    dnsb_u8(ip, 0);
    dnsb_bytes(ip, padn, 6);
    if (routing) { /* routing header type 2 style, segments left 0: 8 bytes */
        dnsb_u8(ip, 17);
        dnsb_u8(ip, 0);
        dnsb_u8(ip, 4);
        dnsb_u8(ip, 0);
        dnsb_u32(ip, 0);
    } else {
        dnsb_u8(ip, 17);
        dnsb_u8(ip, 0);
        dnsb_bytes(ip, padn, 6);
    }
    dnsb_bytes(ip, g_l4.b, g_l4.n);
    send_ip(g, &c->lk, !from_cli, 6, ip);
}

static void sc_ip6_exthdr(gen *g)
{
    conv c = mkconv("fd00::3", 53247, "fd00::53", 53, L_ETH);
    dns_query(&g_q, 0x6060, "pypi.org", T_AAAA, 0, false);
    udp6_ext_send(g, &c, true, &g_q, false);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x6060, F_RESP, "pypi.org", T_AAAA, 1, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, "2a04:4e40::223");
    udp6_ext_send(g, &c, false, &g_r, true);
}

/* ---- benchmark capture ---- */

static const char *const BENCH_NAMES[] = {
    "pypi.org", "files.pythonhosted.org", "upload.pypi.org", "test.pypi.org",
    "test-files.pythonhosted.org", "registry.npmjs.org", "registry.yarnpkg.com",
    "npm.pkg.github.com", "registry-1.docker.io", "auth.docker.io", "index.docker.io",
    "production.cloudflare.docker.com", "hub.docker.com", "ghcr.io", "pkg-containers.githubusercontent.com",
    "quay.io", "cdn.quay.io", "gcr.io", "us-docker.pkg.dev", "europe-docker.pkg.dev",
    "mcr.microsoft.com", "public.ecr.aws", "registry.k8s.io", "k8s.gcr.io", "registry.gitlab.com",
    "deb.debian.org", "security.debian.org", "ftp.debian.org", "cdn-fastly.deb.debian.org",
    "archive.ubuntu.com", "security.ubuntu.com", "ports.ubuntu.com", "ppa.launchpadcontent.net",
    "dl-cdn.alpinelinux.org", "mirrors.fedoraproject.org", "download.fedoraproject.org",
    "mirror.centos.org", "vault.centos.org", "dl.rockylinux.org", "repo.almalinux.org",
    "download.opensuse.org", "mirror.archlinux.org", "geo.mirror.pkgbuild.com",
    "github.com", "api.github.com", "codeload.github.com", "objects.githubusercontent.com",
    "raw.githubusercontent.com", "github-releases.githubusercontent.com", "uploads.github.com",
    "gitlab.com", "bitbucket.org", "proxy.golang.org", "sum.golang.org", "index.golang.org",
    "go.dev", "storage.googleapis.com", "crates.io", "static.crates.io", "index.crates.io",
    "static.rust-lang.org", "sh.rustup.rs", "rubygems.org", "index.rubygems.org",
    "api.rubygems.org", "repo.maven.apache.org", "repo1.maven.org", "central.sonatype.com",
    "oss.sonatype.org", "s01.oss.sonatype.org", "plugins.gradle.org", "services.gradle.org",
    "downloads.gradle.org", "jcenter.bintray.com", "maven.google.com", "dl.google.com",
    "api.nuget.org", "www.nuget.org", "globalcdn.nuget.org", "packagist.org", "repo.packagist.org",
    "hex.pm", "repo.hex.pm", "cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com",
    "conda.anaconda.org", "repo.anaconda.com", "conda-forge.org", "pub.dev", "pub.dartlang.org",
    "cocoapods.org", "cdn.cocoapods.org", "swiftpackageindex.com", "hackage.haskell.org",
    "cran.r-project.org", "cloud.r-project.org", "cpan.metacpan.org", "fastapi.metacpan.org",
    "opam.ocaml.org", "packages.erlang-solutions.com", "nodejs.org", "deb.nodesource.com",
    "rpm.nodesource.com", "download.docker.com", "apt.releases.hashicorp.com",
    "releases.hashicorp.com", "registry.terraform.io", "checkpoint-api.hashicorp.com",
    "packages.microsoft.com", "aka.ms", "dotnetcli.azureedge.net", "builds.dotnet.microsoft.com",
    "vscode.download.prss.microsoft.com", "marketplace.visualstudio.com", "open-vsx.org",
    "apt.llvm.org", "download.java.net", "download.oracle.com", "cdn.azul.com",
    "api.adoptium.net", "github.com.cdn.cloudflare.net", "pkg.jenkins.io", "updates.jenkins.io",
    "get.jenkins.io", "artifactory.corp.example", "mirror.artifactory.corp.example",
    "pypi.artifactory.corp.example", "npm.artifactory.corp.example", "docker.artifactory.corp.example",
    "nexus.corp.example", "proxy.nexus.corp.example", "git.corp.example", "ci.corp.example",
    "cache.corp.example", "sccache.corp.example", "bazel-cache.corp.example", "ntp.corp.example",
    "ldap.corp.example", "vault.corp.example", "s3.amazonaws.com", "s3.us-east-1.amazonaws.com",
    "s3.eu-west-1.amazonaws.com", "sts.amazonaws.com", "ecr.us-east-1.amazonaws.com",
    "api.ecr.us-east-1.amazonaws.com", "d1.awsstatic.com", "d2glxqk2uabbnd.cloudfront.net",
    "dkr.ecr.eu-west-1.amazonaws.com", "login.microsoftonline.com", "management.azure.com",
    "blob.core.windows.net", "azurecr.io", "mcr.azureedge.net", "pkgs.dev.azure.com",
    "dev.azure.com", "oauth2.googleapis.com", "www.googleapis.com", "artifactregistry.googleapis.com",
    "pkg.go.dev", "golang.org", "gopkg.in", "gocenter.io", "sourceforge.net", "downloads.sourceforge.net",
    "ftp.gnu.org", "ftpmirror.gnu.org", "mirrors.kernel.org", "cdn.kernel.org", "git.kernel.org",
    "www.python.org", "bootstrap.pypa.io", "docs.python.org", "readthedocs.org",
    "files.readthedocs.io", "huggingface.co", "cdn-lfs.huggingface.co", "download.pytorch.org",
    "developer.download.nvidia.com", "nvcr.io", "ngc.nvidia.com", "registry.redhat.io",
    "cdn.redhat.com", "subscription.rhsm.redhat.com", "registry.access.redhat.com",
    "mirror.openshift.com", "charts.helm.sh", "get.helm.sh", "artifacthub.io", "kubernetes.io",
    "dl.k8s.io", "cdn.dl.k8s.io", "packages.cloud.google.com", "apt.kubernetes.io",
    "sentry.io", "o0.ingest.sentry.io", "api.snyk.io", "registry.bower.io", "jitpack.io",
};
#define N_BENCH_NAMES (sizeof BENCH_NAMES / sizeof BENCH_NAMES[0])

static const char *const BENCH_CDN[] = {
    "dualstack.python.map.fastly.net", "registry.npmjs.org.cdn.cloudflare.net",
    "prod.dockerhub.map.fastly.net", "d2glxqk2uabbnd.cloudfront.net", "github.map.fastly.net",
    "edge-star-mini-shv.akamaiedge.net", "e1234.dscb.akamaiedge.net", "azureedge.afd.azureedge.net",
};
#define N_BENCH_CDN (sizeof BENCH_CDN / sizeof BENCH_CDN[0])

static uint64_t rng_state;

/* splitmix64: tiny, fast and the same everywhere. */
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned rnd(unsigned n) { return (unsigned)(rng() % n); }

static void put_a_raw(buf *m, unsigned owner_ptr, uint32_t ttl, const uint8_t *a, int len)
{
    dnsb_ptr(m, owner_ptr);
    size_t at = dnsb_rr_begin(m, len == 4 ? T_A : T_AAAA, 1, ttl);
    dnsb_bytes(m, a, (size_t)len);
    dnsb_rr_end(m, at);
}

static void bench(gen *g, uint64_t npkts, uint64_t seed)
{
    rng_state = seed;
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char name[300];
    uint64_t sent = 0;
    while (sent < npkts) {
        unsigned idx = rnd(N_BENCH_NAMES);
        if (rnd(10) < 3) {
            char sub[9];
            unsigned sl = 4 + rnd(5);
            for (unsigned i = 0; i < sl; i++)
                sub[i] = alnum[rnd(36)];
            sub[sl] = 0;
            snprintf(name, sizeof name, "%s.%s", sub, BENCH_NAMES[idx]);
        } else {
            snprintf(name, sizeof name, "%s", BENCH_NAMES[idx]);
        }
        bool v6 = rnd(10) == 0;
        bool vlan = rnd(10) == 0;
        unsigned kind = rnd(100); /* <60 A, <80 AAAA, <95 CNAME+A, else NXDOMAIN */
        unsigned id = rnd(65536);

        conv c;
        memset(&c, 0, sizeof c);
        c.lk.kind = L_ETH;
        if (vlan) {
            c.lk.nvlan = 1;
            c.lk.tpid[0] = ETH_8021Q;
            c.lk.tci[0] = (uint16_t)(10 + rnd(4));
        }
        uint32_t r = (uint32_t)rng();
        c.cli.port = (uint16_t)(1024 + r % 64000);
        c.srv.port = 53;
        if (v6) {
            c.cli.af = c.srv.af = 6;
            c.cli.a[0] = c.srv.a[0] = 0xfd;
            c.cli.a[13] = 1;
            c.cli.a[14] = (uint8_t)(r >> 16);
            c.cli.a[15] = (uint8_t)(r >> 24);
            c.srv.a[15] = (r & 0x100000) ? 0x54 : 0x53;
        } else {
            c.cli.af = c.srv.af = 4;
            static const uint8_t cli[4] = {10, 1, 0, 0}, srv[4] = {10, 10, 0, 53};
            memcpy(c.cli.a, cli, 4);
            memcpy(c.srv.a, srv, 4);
            c.cli.a[2] = (uint8_t)(r >> 16);
            c.cli.a[3] = (uint8_t)(r >> 24);
            if (r & 0x100000)
                c.srv.a[3] = 54;
        }

        unsigned qtype = kind >= 60 && kind < 80 ? T_AAAA : T_A;
        dns_query(&g_q, id, name, qtype, 0, false);
        udp_send(g, &c, true, &g_q);
        g->now_us += 7;
        if (++sent >= npkts)
            break;

        /* Addresses stable per name: a /16 chosen by the name index. */
        uint8_t a4[4] = {(uint8_t)(100 + idx % 100), (uint8_t)(idx * 7), 0, 0};
        uint8_t a6[16] = {0x2a, 0x04, 0x4e, 0x40, (uint8_t)idx, 0};
        a4[2] = (uint8_t)rnd(4);
        a4[3] = (uint8_t)(1 + rnd(250));
        a6[15] = a4[3];
        if (kind < 60) {
            unsigned n = 1 + rnd(4);
            dnsb_start(&g_r, id, F_RESP, name, T_A, n, 0, 0);
            for (unsigned i = 0; i < n; i++, a4[3]++)
                put_a_raw(&g_r, 12, 300, a4, 4);
        } else if (kind < 80) {
            unsigned n = 1 + rnd(2);
            dnsb_start(&g_r, id, F_RESP, name, T_AAAA, n, 0, 0);
            for (unsigned i = 0; i < n; i++, a6[15]++)
                put_a_raw(&g_r, 12, 300, a6, 16);
        } else if (kind < 95) {
            dnsb_start(&g_r, id, F_RESP, name, T_A, 3, 0, 0);
            dnsb_ptr(&g_r, 12);
            size_t at = dnsb_rr_begin(&g_r, T_CNAME, 1, 3600);
            size_t target = g_r.n;
            dnsb_name(&g_r, BENCH_CDN[idx % N_BENCH_CDN]);
            dnsb_rr_end(&g_r, at);
            put_a_raw(&g_r, (unsigned)target, 60, a4, 4);
            a4[3]++;
            put_a_raw(&g_r, (unsigned)target, 60, a4, 4);
        } else {
            dnsb_start(&g_r, id, F_RESP | 3, name, T_A, 0, 0, 0);
        }
        udp_send(g, &c, false, &g_r);
        g->now_us += 13;
        sent++;
    }
}

/* ---- rule scenarios (tests/pcap/test_rules.sh, deploy/demo) ----
 *
 * Captures for the rule evaluator: each r_X raises one kind of finding under the test
 * rules of tests/rules/, and r_X_ok is its benign twin (same names, sound answers). They
 * are listed by --list-rules, not --list: their expectations are alerts under a ruleset
 * (tests/rules/<case>.expect), not the events test_pcap.sh checks. */

#define R_T_DNAME 39
#define R_F_AD 0x0020

/* One answer record. owner NULL: the question name (compressed). data: an address for A
 * and AAAA, a name for CNAME, DNAME, PTR and NS, the ipv4hint/ipv6hint address for HTTPS,
 * the signer name for RRSIG (a fake signature over type A), the primary server for SOA
 * (the rest fixed). */
typedef struct r_rr {
    const char *owner;
    unsigned type;
    uint32_t ttl;
    const char *data;
} r_rr;

static void r_put_rr(buf *m, const r_rr *x)
{
    if (x->owner)
        dnsb_name(m, x->owner);
    else
        dnsb_ptr(m, 12);
    size_t at = dnsb_rr_begin(m, x->type, 1, x->ttl);
    switch (x->type) {
    case T_A:
        dnsb_ip4(m, x->data);
        break;
    case T_AAAA:
        dnsb_ip6(m, x->data);
        break;
    case T_CNAME:
    case T_PTR:
    case T_NS:
    case R_T_DNAME:
        dnsb_name(m, x->data);
        break;
    case T_SOA:
        dnsb_name(m, x->data);
        dnsb_name(m, "hostmaster.example");
        dnsb_u32(m, 2026112701);
        dnsb_u32(m, 3600);
        dnsb_u32(m, 600);
        dnsb_u32(m, 604800);
        dnsb_u32(m, 300);
        break;
    case T_HTTPS: {
        bool v6 = strchr(x->data, ':') != NULL;
        dnsb_u16(m, 1); /* SvcPriority: service form */
        dnsb_u8(m, 0);  /* TargetName "." = the owner */
        dnsb_u16(m, 1); /* alpn h2 */
        dnsb_u16(m, 3);
        dnsb_label(m, "h2", 2);
        dnsb_u16(m, v6 ? 6 : 4);
        dnsb_u16(m, v6 ? 16 : 4);
        if (v6)
            dnsb_ip6(m, x->data);
        else
            dnsb_ip4(m, x->data);
        break;
    }
    case T_RRSIG:
        dnsb_u16(m, T_A);
        dnsb_u8(m, 13);
        dnsb_u8(m, 2);
        dnsb_u32(m, x->ttl);
        dnsb_u32(m, 1796947200u); /* 2026-12-11T00:00:00Z */
        dnsb_u32(m, 1795737600u); /* 2026-11-27T00:00:00Z */
        dnsb_u16(m, 4242);
        dnsb_name(m, x->data);
        for (unsigned i = 0; i < 64; i++)
            dnsb_u8(m, 0x40 + i);
        break;
    default:
        die("r_put_rr: type %u not supported", x->type);
    }
    dnsb_rr_end(m, at);
}

/* A query (with EDNS when edns > 0, DO as asked) and its response, 1.5 ms later, carrying
 * the answers an[0..n) (and an OPT echoing DO when the query had EDNS). rflags: extra
 * response flags (AD) or an RCODE. */
static void r_exchange(gen *g, const conv *c, unsigned id, const char *qname, unsigned qtype,
                       unsigned rflags, int edns, bool do_bit, const r_rr *an, unsigned n)
{
    dns_query(&g_q, id, qname, qtype, edns, do_bit);
    udp_send(g, c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, id, F_RESP | rflags, qname, qtype, n, 0, edns > 0 ? 1 : 0);
    for (unsigned i = 0; i < n; i++)
        r_put_rr(&g_r, &an[i]);
    if (edns > 0)
        rr_opt(&g_r, (unsigned)edns, do_bit, -1);
    udp_send(g, c, false, &g_r);
    g->now_us += 10000;
}

#define R_N(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))

/* A client of the build farm (10.1.2.<host>) asking our resolver 10.10.0.53. */
static conv r_conv(unsigned host, uint16_t port)
{
    char cli[32];
    snprintf(cli, sizeof cli, "10.1.2.%u", host);
    return mkconv(cli, port, "10.10.0.53", 53, L_ETH);
}

static conv r_conv6(uint16_t port) { return mkconv("fd00::3", port, "fd00::53", 53, L_ETH); }

/* asn_mismatch: pypi.org answered from Linode (AS63949) instead of Fastly. */
static void r_asn_mismatch_x(gen *g, bool bad)
{
    conv c = r_conv(3, 40001);
    r_rr a[] = {{NULL, T_A, 300, bad ? "45.33.20.5" : "151.101.0.223"},
                {NULL, T_A, 300, "151.101.64.223"}};
    r_exchange(g, &c, 0xa001, "pypi.org", T_A, 0, 0, false, a, R_N(a));
    c = r_conv6(40002);
    r_rr b[] = {{NULL, T_AAAA, 300, "2a04:4e40::223"}};
    r_exchange(g, &c, 0xa002, "pypi.org", T_AAAA, 0, 0, false, b, R_N(b));
}
static void sc_r_asn_mismatch(gen *g) { r_asn_mismatch_x(g, true); }
static void sc_r_asn_mismatch_ok(gen *g) { r_asn_mismatch_x(g, false); }

/* asn_mismatch seen through a VPC traffic mirror: the forged pypi.org answer inside
 * VXLAN, under an outer VLAN tag. */
static void r_vxlan_asn_x(gen *g, bool bad)
{
    conv c = r_conv(3, 40051);
    c.lk.nvlan = 1;
    c.lk.tpid[0] = ETH_8021AD;
    c.lk.tci[0] = 9;
    c.lk.nenc = 1;
    c.lk.enc[0].kind = E_VXLAN;
    c.lk.enc[0].af = 4;
    r_rr a[] = {{NULL, T_A, 300, bad ? "45.33.20.5" : "151.101.0.223"}};
    r_exchange(g, &c, 0xa051, "pypi.org", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_vxlan_asn(gen *g) { r_vxlan_asn_x(g, true); }
static void sc_r_vxlan_asn_ok(gen *g) { r_vxlan_asn_x(g, false); }

/* asn_unknown: files.pythonhosted.org answered 9.9.9.9, in no AS of the test database. */
static void r_asn_unknown_x(gen *g, bool bad)
{
    conv c = r_conv(4, 40011);
    r_rr a[] = {{NULL, T_A, 300, bad ? "9.9.9.9" : "146.75.36.223"}};
    r_exchange(g, &c, 0xa011, "files.pythonhosted.org", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_asn_unknown(gen *g) { r_asn_unknown_x(g, true); }
static void sc_r_asn_unknown_ok(gen *g) { r_asn_unknown_x(g, false); }

/* prefix_mismatch: the internal Artifactory answered a public (AWS) address. */
static void r_prefix_mismatch_x(gen *g, bool bad)
{
    conv c = r_conv(5, 40021);
    r_rr a[] = {{NULL, T_A, 60, bad ? "52.1.2.3" : "10.40.7.20"}};
    r_exchange(g, &c, 0xa021, "artifactory.corp.example", T_A, 0, 0, false, a, R_N(a));
    c = r_conv6(40022);
    r_rr b[] = {{NULL, T_AAAA, 60, "fd12:3456:789a::20"}};
    r_exchange(g, &c, 0xa022, "artifactory.corp.example", T_AAAA, 0, 0, false, b, R_N(b));
}
static void sc_r_prefix_mismatch(gen *g) { r_prefix_mismatch_x(g, true); }
static void sc_r_prefix_mismatch_ok(gen *g) { r_prefix_mismatch_x(g, false); }

/* cname_unexpected: registry.npmjs.org through a CNAME outside *.cdn.cloudflare.net (the
 * final address is Cloudflare's, so the CNAME is the only finding). */
static void r_cname_unexpected_x(gen *g, bool bad)
{
    const char *t = bad ? "registry.npmjs.org.edge-cache.example" : "registry.npmjs.org.cdn.cloudflare.net";
    conv c = r_conv(6, 40031);
    r_rr a[] = {{NULL, T_CNAME, 300, t}, {t, T_A, 300, "104.16.1.35"}, {t, T_A, 300, "104.16.2.35"}};
    r_exchange(g, &c, 0xa031, "registry.npmjs.org", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_cname_unexpected(gen *g) { r_cname_unexpected_x(g, true); }
static void sc_r_cname_unexpected_ok(gen *g) { r_cname_unexpected_x(g, false); }

/* unexpected_resolver: registry-1.docker.io answered by 10.66.6.6, not our resolvers. */
static void r_resolver_x(gen *g, bool bad)
{
    conv c = mkconv("10.1.2.7", 40041, bad ? "10.66.6.6" : "10.10.0.54", 53, L_ETH);
    r_rr a[] = {{NULL, T_A, 60, "52.4.5.6"}};
    r_exchange(g, &c, 0xa041, "registry-1.docker.io", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_resolver(gen *g) { r_resolver_x(g, true); }
static void sc_r_resolver_ok(gen *g) { r_resolver_x(g, false); }

/* rebinding: a public name answered 192.168.1.10 (plus a public address beside it). */
static void r_rebinding_x(gen *g, bool bad)
{
    conv c = r_conv(8, 40051);
    r_rr a[] = {{NULL, T_A, 5, "93.184.215.14"}, {NULL, T_A, 5, bad ? "192.168.1.10" : "93.184.215.15"}};
    r_exchange(g, &c, 0xa051, "dashboard.attacker.example", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_rebinding(gen *g) { r_rebinding_x(g, true); }
static void sc_r_rebinding_ok(gen *g) { r_rebinding_x(g, false); }

/* rebinding disguised as IPv6: IPv4-mapped, NAT64 /96, NAT64 /48 (RFC 6052: the IPv4
 * bytes around the u octet), 6to4; each judged by the IPv4 address inside. The twin
 * wraps public addresses the same ways. */
static void r_rebind_disguise_x(gen *g, bool bad)
{
    static const char *const bad6[] = {"::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
                                       "64:ff9b:1:7f00:0:100::", "2002:c0a8:10a::1"};
    static const char *const ok6[] = {"::ffff:93.184.215.14", "64:ff9b::5db8:d70e",
                                      "64:ff9b:1:5db8:d7:e00::", "2002:5db8:d70e::1"};
    static const char *const names[] = {"mapped.attacker.example", "nat64.attacker.example",
                                        "nat64-local.attacker.example", "sixtofour.attacker.example"};
    for (unsigned i = 0; i < 4; i++) {
        conv c = r_conv6((uint16_t)(40061 + i));
        r_rr a[] = {{NULL, T_AAAA, 5, bad ? bad6[i] : ok6[i]}};
        r_exchange(g, &c, 0xa061 + i, names[i], T_AAAA, 0, 0, false, a, R_N(a));
    }
}
static void sc_r_rebind_disguise(gen *g) { r_rebind_disguise_x(g, true); }
static void sc_r_rebind_disguise_ok(gen *g) { r_rebind_disguise_x(g, false); }

/* rebinding through an HTTPS record's ipv4hint (no A record at all). */
static void r_rebind_svcb_x(gen *g, bool bad)
{
    conv c = r_conv(9, 40071);
    r_rr a[] = {{NULL, T_HTTPS, 300, bad ? "10.1.1.1" : "93.184.215.14"}};
    r_exchange(g, &c, 0xa071, "svc.attacker.example", T_HTTPS, 0, 0, false, a, R_N(a));
}
static void sc_r_rebind_svcb(gen *g) { r_rebind_svcb_x(g, true); }
static void sc_r_rebind_svcb_ok(gen *g) { r_rebind_svcb_x(g, false); }

/* sinkhole: a blocklisting resolver answers 0.0.0.0 (A) and :: (AAAA). */
static void r_sinkhole_x(gen *g, bool bad)
{
    conv c = r_conv(10, 40081);
    r_rr a[] = {{NULL, T_A, 60, bad ? "0.0.0.0" : "93.184.215.20"}};
    r_exchange(g, &c, 0xa081, "ads.tracker.example", T_A, 0, 0, false, a, R_N(a));
    c = r_conv6(40082);
    r_rr b[] = {{NULL, T_AAAA, 60, bad ? "::" : "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}};
    r_exchange(g, &c, 0xa082, "ads.tracker.example", T_AAAA, 0, 0, false, b, R_N(b));
}
static void sc_r_sinkhole(gen *g) { r_sinkhole_x(g, true); }
static void sc_r_sinkhole_ok(gen *g) { r_sinkhole_x(g, false); }

/* dnssec_missing, first cause: our validating resolver answered a signed zone without AD. */
static void r_dnssec_ad_x(gen *g, bool bad)
{
    conv c = r_conv(11, 40091);
    r_rr a[] = {{NULL, T_CNAME, 300, "debian.map.fastly.net"},
                {"debian.map.fastly.net", T_A, 60, "151.101.2.132"}};
    r_exchange(g, &c, 0xa091, "deb.debian.org", T_A, bad ? 0 : R_F_AD, 0, false, a, R_N(a));
}
static void sc_r_dnssec_ad(gen *g) { r_dnssec_ad_x(g, true); }
static void sc_r_dnssec_ad_ok(gen *g) { r_dnssec_ad_x(g, false); }

/* dnssec_missing, second cause: the query set DO and the answer carries no RRSIG. The
 * twin has the RRSIG, plus an unsigned answer to a query without DO (nothing to judge). */
static void r_dnssec_do_x(gen *g, bool bad)
{
    conv c = r_conv(12, 40101);
    r_rr signed_a[] = {{NULL, T_A, 300, "142.250.1.141"}, {NULL, T_RRSIG, 300, "golang.org"}};
    r_exchange(g, &c, 0xa101, "sum.golang.org", T_A, 0, 1232, true, signed_a, bad ? 1 : 2);
    if (!bad) {
        c = r_conv(12, 40102);
        r_exchange(g, &c, 0xa102, "sum.golang.org", T_A, 0, 1232, false, signed_a, 1);
    }
}
static void sc_r_dnssec_do(gen *g) { r_dnssec_do_x(g, true); }
static void sc_r_dnssec_do_ok(gen *g) { r_dnssec_do_x(g, false); }

/* ttl_exceeded: a week-long TTL, what a cache poisoner uses to make a forgery stick. */
static void r_ttl_x(gen *g, bool bad)
{
    conv c = r_conv(13, 40111);
    r_rr a[] = {{NULL, T_A, bad ? 604800 : 300, "142.250.1.141"}};
    r_exchange(g, &c, 0xa111, "proxy.golang.org", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_ttl(gen *g) { r_ttl_x(g, true); }
static void sc_r_ttl_ok(gen *g) { r_ttl_x(g, false); }

/* crates.io answered from AWS 52.10.1.1 and 2600:1f18::1 (AWS, not in the test DB): run
 * under a rule whose exception covers them (live, or expired). */
static void sc_r_exception(gen *g)
{
    conv c = r_conv(14, 40121);
    r_rr a[] = {{NULL, T_A, 60, "52.10.1.1"}};
    r_exchange(g, &c, 0xa121, "crates.io", T_A, 0, 0, false, a, R_N(a));
}

/* rebinding.allow: nexus.corp.example on the build DC (allowed) and, on its own port and
 * id, on another private range (not allowed). */
static void sc_r_rebind_allow(gen *g)
{
    conv c = r_conv(15, 40131);
    r_rr a[] = {{NULL, T_A, 60, "10.40.3.3"}};
    r_exchange(g, &c, 0xa131, "nexus.corp.example", T_A, 0, 0, false, a, R_N(a));
    c = r_conv6(40132);
    r_rr b[] = {{NULL, T_AAAA, 60, "fd12:3456:789a::33"}};
    r_exchange(g, &c, 0xa132, "nexus.corp.example", T_AAAA, 0, 0, false, b, R_N(b));
    c = r_conv(15, 40133);
    r_rr d[] = {{NULL, T_A, 60, "172.20.0.9"}};
    r_exchange(g, &c, 0xa133, "nexus.corp.example", T_A, 0, 0, false, d, R_N(d));
}

/* match.except: private answers for excepted names (no alert), for a name that only looks
 * like one (evilcorp.example is not below corp.example: alert), and for a public name
 * CNAMEd into an excepted one (alert). */
static void sc_r_match_except(gen *g)
{
    conv c = r_conv(16, 40141);
    r_rr a[] = {{NULL, T_A, 60, "192.168.5.5"}};
    r_exchange(g, &c, 0xa141, "printer.corp.example", T_A, 0, 0, false, a, R_N(a));
    c = r_conv(16, 40142);
    r_rr b[] = {{NULL, T_A, 0, "127.0.0.1"}};
    r_exchange(g, &c, 0xa142, "localhost", T_A, 0, 0, false, b, R_N(b));
    c = r_conv(16, 40143);
    r_rr d[] = {{NULL, T_A, 60, "192.168.5.6"}};
    r_exchange(g, &c, 0xa143, "printer.evilcorp.example", T_A, 0, 0, false, d, R_N(d));
    /* A public name CNAMEd into an excepted one: the question still matches, so it counts. */
    c = r_conv(16, 40144);
    r_rr e[] = {{NULL, T_CNAME, 60, "printer.corp.example"},
                {"printer.corp.example", T_A, 60, "192.168.5.5"}};
    r_exchange(g, &c, 0xa144, "cdn.attacker.example", T_A, 0, 0, false, e, R_N(e));
}

/* CNAME chain: the question matches no rule, but its CNAME target files.pythonhosted.org
 * does, so that rule judges the address at the end of the chain. */
static void r_chain_x(gen *g, bool bad)
{
    conv c = r_conv(17, 40151);
    r_rr a[] = {{NULL, T_CNAME, 300, "files.pythonhosted.org"},
                {"files.pythonhosted.org", T_CNAME, 300, "dualstack.python.map.fastly.net"},
                {"dualstack.python.map.fastly.net", T_A, 60, bad ? "45.33.20.9" : "151.101.64.223"}};
    r_exchange(g, &c, 0xa151, "pkgs.mirror.example", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_chain(gen *g) { r_chain_x(g, true); }
static void sc_r_chain_ok(gen *g) { r_chain_x(g, false); }

/* DNAME: pythonhosted-mirror.example DNAME pythonhosted.org, so files.pythonhosted-mirror.
 * example becomes files.pythonhosted.org (no synthesised CNAME: the chain comes from the
 * DNAME alone). */
static void r_dname_x(gen *g, bool bad)
{
    conv c = r_conv(18, 40161);
    r_rr a[] = {{"pythonhosted-mirror.example", R_T_DNAME, 300, "pythonhosted.org"},
                {"files.pythonhosted.org", T_A, 60, bad ? "45.33.20.10" : "151.101.128.223"}};
    r_exchange(g, &c, 0xa161, "files.pythonhosted-mirror.example", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_dname(gen *g) { r_dname_x(g, true); }
static void sc_r_dname_ok(gen *g) { r_dname_x(g, false); }

/* An internal alias in front of the registry: npm.corp.example CNAME registry.npmjs.org
 * CNAME registry.npmjs.org.cdn.cloudflare.net, all sound. */
static void sc_r_cname_alias(gen *g)
{
    conv c = r_conv(19, 40171);
    r_rr a[] = {{NULL, T_CNAME, 300, "registry.npmjs.org"},
                {"registry.npmjs.org", T_CNAME, 300, "registry.npmjs.org.cdn.cloudflare.net"},
                {"registry.npmjs.org.cdn.cloudflare.net", T_A, 300, "104.16.3.35"}};
    r_exchange(g, &c, 0xa171, "npm.corp.example", T_A, 0, 0, false, a, R_N(a));
}

/* Ordinary build-farm traffic: registries answering from their own networks (as
 * tests/data/asn-sample.txt has them), internal names on private ranges, reverse lookups,
 * unrelated public names, an NXDOMAIN. Clients 10.1.3.<n> and fd00::<n>, ids from id0. */
static void r_ordinary(gen *g, unsigned id0)
{
    static const struct {
        const char *q;
        unsigned qtype;
        r_rr an[4];
    } ex[] = {
        {"pypi.org", T_A, {{NULL, T_A, 300, "151.101.0.223"}, {NULL, T_A, 300, "151.101.64.223"}}},
        {"pypi.org", T_AAAA, {{NULL, T_AAAA, 300, "2a04:4e40::223"}}},
        {"files.pythonhosted.org", T_A,
         {{NULL, T_CNAME, 3600, "dualstack.python.map.fastly.net"},
          {"dualstack.python.map.fastly.net", T_A, 60, "151.101.128.223"}}},
        {"files.pythonhosted.org", T_AAAA,
         {{NULL, T_CNAME, 3600, "dualstack.python.map.fastly.net"},
          {"dualstack.python.map.fastly.net", T_AAAA, 60, "2a04:4e42:200::223"}}},
        {"registry.npmjs.org", T_A, {{NULL, T_A, 300, "104.16.1.34"}, {NULL, T_A, 300, "104.16.2.34"}}},
        {"registry.npmjs.org", T_AAAA, {{NULL, T_AAAA, 300, "2606:4700::6810:122"}}},
        {"registry-1.docker.io", T_A, {{NULL, T_A, 60, "54.227.20.253"}, {NULL, T_A, 60, "3.216.34.172"}}},
        {"auth.docker.io", T_A, {{NULL, T_A, 60, "52.1.184.176"}}},
        {"production.cloudflare.docker.com", T_A, {{NULL, T_A, 300, "104.18.121.25"}}},
        {"deb.debian.org", T_A,
         {{NULL, T_CNAME, 300, "debian.map.fastly.net"}, {"debian.map.fastly.net", T_A, 30, "151.101.2.132"}}},
        {"github.com", T_A, {{NULL, T_A, 60, "140.82.121.3"}}},
        {"api.github.com", T_A, {{NULL, T_A, 60, "140.82.121.6"}}},
        {"codeload.github.com", T_A, {{NULL, T_A, 60, "140.82.121.9"}}},
        {"objects.githubusercontent.com", T_A,
         {{NULL, T_A, 300, "185.199.108.133"}, {NULL, T_A, 300, "185.199.111.133"}}},
        {"crates.io", T_A, {{NULL, T_A, 60, "18.160.10.81"}}},
        {"static.crates.io", T_A,
         {{NULL, T_CNAME, 300, "d19xqa3lc3clo8.cloudfront.net"},
          {"d19xqa3lc3clo8.cloudfront.net", T_A, 60, "18.161.97.20"}}},
        {"index.crates.io", T_A, {{NULL, T_A, 60, "151.101.66.137"}}},
        {"rubygems.org", T_A, {{NULL, T_A, 60, "151.101.1.227"}, {NULL, T_A, 60, "151.101.65.227"}}},
        {"proxy.golang.org", T_A, {{NULL, T_A, 300, "142.250.185.81"}}},
        {"proxy.golang.org", T_AAAA, {{NULL, T_AAAA, 300, "2a00:1450:4001:82b::2011"}}},
        {"sum.golang.org", T_A, {{NULL, T_A, 300, "142.251.36.17"}}},
        {"repo.maven.apache.org", T_A, {{NULL, T_A, 300, "146.75.116.215"}}},
        {"repo1.maven.org", T_A, {{NULL, T_A, 300, "146.75.116.209"}}},
        {"artifactory.corp.example", T_A, {{NULL, T_A, 60, "10.40.1.10"}}},
        {"git.corp.example", T_AAAA, {{NULL, T_AAAA, 60, "fd12:3456:789a::2"}}},
        {"nas.local", T_A, {{NULL, T_A, 60, "192.168.1.20"}}},
        {"printer.office.home.arpa", T_A, {{NULL, T_A, 60, "192.168.1.50"}}},
        {"vault.internal", T_A, {{NULL, T_A, 60, "10.0.0.5"}}},
        {"localhost", T_A, {{NULL, T_A, 0, "127.0.0.1"}}},
        {"10.1.40.10.in-addr.arpa", T_PTR, {{NULL, T_PTR, 300, "artifactory.corp.example"}}},
        {"www.example.com", T_A, {{NULL, T_A, 300, "93.184.215.14"}}},
        {"www.wikipedia.org", T_A,
         {{NULL, T_CNAME, 3600, "dyna.wikimedia.org"}, {"dyna.wikimedia.org", T_A, 600, "185.15.59.224"}}},
        {"nosuch.pypi.org", T_A, {{NULL, 0, 0, NULL}}}, /* NXDOMAIN, no answer */
    };
    for (unsigned i = 0; i < R_N(ex); i++) {
        char cli[32];
        bool v6 = ex[i].qtype == T_AAAA;
        if (v6)
            snprintf(cli, sizeof cli, "fd00::%x", 0x100 + i);
        else
            snprintf(cli, sizeof cli, "10.1.3.%u", 10 + i);
        conv c = mkconv(cli, (uint16_t)(41000 + i), v6 ? "fd00::53" : "10.10.0.53", 53, L_ETH);
        unsigned n = 0;
        while (n < 4 && ex[i].an[n].type)
            n++;
        r_exchange(g, &c, id0 + i, ex[i].q, ex[i].qtype, n ? 0 : 3, 0, false, ex[i].an, n);
    }
}

static void sc_r_benign(gen *g) { r_ordinary(g, 0xb000); }

/* ---- answers a stub resolver uses in shapes the sensor once skipped ----
 * Each attack answers pypi.org with Linode's 45.33.20.5 (AS63949, not Fastly's AS54113)
 * in a form glibc 2.36 or musl 1.2.3 accepts and uses; the _ok twin is the same shape
 * with Fastly's 151.101.0.223. The query is an ordinary one for pypi.org. */

static const char *r_pypi_addr(bool bad) { return bad ? "45.33.20.5" : "151.101.0.223"; }

/* The query for pypi.org, then the hand-built response in g_r 1.5 ms later. */
static void r_pypi_pair(gen *g, const conv *c, unsigned id)
{
    dns_query(&g_q, id, "pypi.org", T_A, 0, false);
    udp_send(g, c, true, &g_q);
    g->now_us += 1500;
    udp_send(g, c, false, &g_r);
    g->now_us += 10000;
}

/* QR clear: the reply carries the flags of a query (RD only) and the answer. Neither
 * resolver looks at QR. */
static void r_qr_clear_x(gen *g, bool bad)
{
    conv c = r_conv(20, 40201);
    dnsb_start(&g_r, 0xa201, 0x0100, "pypi.org", T_A, 1, 0, 0);
    dnsb_rr_addr(&g_r, 12, 300, r_pypi_addr(bad));
    r_pypi_pair(g, &c, 0xa201);
}
static void sc_r_qr_clear(gen *g) { r_qr_clear_x(g, true); }
static void sc_r_qr_clear_ok(gen *g) { r_qr_clear_x(g, false); }

/* BADVERS: a NOERROR header with an OPT record whose extended RCODE is 1 (full RCODE
 * 16). Stub resolvers read only the header's four bits. */
static void r_badvers_x(gen *g, bool bad)
{
    conv c = r_conv(21, 40211);
    dnsb_start(&g_r, 0xa211, F_RESP, "pypi.org", T_A, 1, 0, 1);
    dnsb_rr_addr(&g_r, 12, 300, r_pypi_addr(bad));
    dnsb_u8(&g_r, 0);
    size_t at = dnsb_rr_begin(&g_r, T_OPT, 1232, 0x01000000u);
    dnsb_rr_end(&g_r, at);
    r_pypi_pair(g, &c, 0xa211);
}
static void sc_r_badvers(gen *g) { r_badvers_x(g, true); }
static void sc_r_badvers_ok(gen *g) { r_badvers_x(g, false); }

/* The answer's owner is a pointer to the last of n pointers, each pointing to the one
 * before it, the first to the question name: n + 1 jumps to "pypi.org". The chain rides
 * in the data of a private-use record (type 65280) of the additional section. glibc
 * follows such chains while the bytes it checked stay under the message length, musl
 * while its steps stay under half of it. */
static void r_ptr_chain_x(gen *g, unsigned n, unsigned host, bool bad)
{
    conv c = r_conv(host, (uint16_t)(40200 + host));
    unsigned id = 0xa200 + host;
    dnsb_start(&g_r, id, F_RESP, "pypi.org", T_A, 1, 0, 1);
    size_t owner = g_r.n;
    dnsb_ptr(&g_r, 12); /* set below */
    size_t at = dnsb_rr_begin(&g_r, T_A, 1, 300);
    dnsb_ip4(&g_r, r_pypi_addr(bad));
    dnsb_rr_end(&g_r, at);
    dnsb_u8(&g_r, 0);
    at = dnsb_rr_begin(&g_r, 65280, 1, 0);
    size_t prev = 12;
    for (unsigned i = 0; i < n; i++) {
        size_t here = g_r.n;
        dnsb_ptr(&g_r, (unsigned)prev);
        prev = here;
    }
    dnsb_rr_end(&g_r, at);
    dnsb_set16(&g_r, owner, 0xc000 | (unsigned)prev);
    r_pypi_pair(g, &c, id);
}
static void sc_r_ptr64(gen *g) { r_ptr_chain_x(g, 64, 22, true); }
static void sc_r_ptr64_ok(gen *g) { r_ptr_chain_x(g, 64, 22, false); }
static void sc_r_ptr70(gen *g) { r_ptr_chain_x(g, 70, 23, true); }
static void sc_r_ptr70_ok(gen *g) { r_ptr_chain_x(g, 70, 23, false); }
static void sc_r_ptr500(gen *g) { r_ptr_chain_x(g, 500, 24, true); }
static void sc_r_ptr500_ok(gen *g) { r_ptr_chain_x(g, 500, 24, false); }

/* No question (QDCOUNT=0): musl matches the reply to its query by id alone and takes the
 * A record owned by pypi.org. */
static void r_no_question_x(gen *g, bool bad)
{
    conv c = r_conv(25, 40225);
    dnsb_hdr(&g_r, 0xa225, F_RESP, 0, 1, 0, 0);
    dnsb_name(&g_r, "pypi.org");
    size_t at = dnsb_rr_begin(&g_r, T_A, 1, 300);
    dnsb_ip4(&g_r, r_pypi_addr(bad));
    dnsb_rr_end(&g_r, at);
    r_pypi_pair(g, &c, 0xa225);
}
static void sc_r_no_question(gen *g) { r_no_question_x(g, true); }
static void sc_r_no_question_ok(gen *g) { r_no_question_x(g, false); }

/* The answer to pypi.org is an A record owned by another name entirely: musl uses every
 * address of the answer section for the name it asked. */
static void r_foreign_owner_x(gen *g, bool bad)
{
    conv c = r_conv(26, 40226);
    dnsb_start(&g_r, 0xa226, F_RESP, "pypi.org", T_A, 1, 0, 0);
    dnsb_name(&g_r, "cdn.mirror-pypi.example");
    size_t at = dnsb_rr_begin(&g_r, T_A, 1, 300);
    dnsb_ip4(&g_r, r_pypi_addr(bad));
    dnsb_rr_end(&g_r, at);
    r_pypi_pair(g, &c, 0xa226);
}
static void sc_r_foreign_owner(gen *g) { r_foreign_owner_x(g, true); }
static void sc_r_foreign_owner_ok(gen *g) { r_foreign_owner_x(g, false); }

/* An A record only musl sees: musl skips a name byte by byte (any byte 1..127) and ends
 * it at the first 0. The first answer's owner, to a DNS parser, is one 15-byte label
 * followed by a pointer to pypi.org; its label holds a 0 and then the fixed fields and
 * data of an A record, which musl reads as its first answer. musl's second answer is the
 * parser's first (its owner is the pointer), so with ANCOUNT=2 musl stops where the
 * parser's first record ends; the parser's second answer is the address again. */
static void r_musl_view_x(gen *g, bool bad)
{
    conv c = r_conv(27, 40227);
    dnsb_start(&g_r, 0xa227, F_RESP, "pypi.org", T_A, 2, 0, 0);
    /* musl: the owner ends at the 0, then type, class, TTL, rdlength and address */
    uint8_t hide[15] = {0, 0, T_A, 0, 1, 0, 0, 300 >> 8, 300 & 0xff, 0, 4};
    static const uint8_t bad_a[4] = {45, 33, 20, 5}, ok_a[4] = {151, 101, 64, 223};
    memcpy(hide + 11, bad ? bad_a : ok_a, 4);
    dnsb_label(&g_r, hide, sizeof hide);
    dnsb_ptr(&g_r, 12);
    size_t at = dnsb_rr_begin(&g_r, T_A, 1, 300);
    dnsb_ip4(&g_r, "151.101.0.223");
    dnsb_rr_end(&g_r, at);
    dnsb_rr_addr(&g_r, 12, 300, "151.101.0.223");
    r_pypi_pair(g, &c, 0xa227);
}
/* A question dns_parse refuses (a length byte 0x44: reserved label type 0x40) that musl
 * steps over: musl takes the A record after it. Nothing to judge it by; counted. */
static void sc_r_musl_question(gen *g)
{
    conv c = r_conv(28, 40228);
    dnsb_hdr(&g_r, 0xa228, F_RESP, 1, 1, 0, 0);
    dnsb_u8(&g_r, 0x44);
    dnsb_bytes(&g_r, "pypi", 4);
    dnsb_labels(&g_r, "org");
    dnsb_u8(&g_r, 0);
    dnsb_u16(&g_r, T_A);
    dnsb_u16(&g_r, 1);
    dnsb_rr_addr(&g_r, 12, 300, r_pypi_addr(true));
    r_pypi_pair(g, &c, 0xa228);
}
static void sc_r_musl_view(gen *g) { r_musl_view_x(g, true); }
static void sc_r_musl_view_ok(gen *g) { r_musl_view_x(g, false); }

/* ---- out_of_bailiwick ----
 * Records for names t-asn watches (pypi.org, files.pythonhosted.org and the names below
 * them) in a response to a question about another name: what a resolver without
 * bailiwick checks caches. Each _ok twin carries the same kind of records where they
 * belong. */

/* A query for qname (EDNS 1232) and a response with rcode, the records an[], ns[] and
 * ar[] in the answer, authority and additional sections, and an OPT record. */
static void r_sections_exchange(gen *g, const conv *c, unsigned id, const char *qname,
                                unsigned rcode, const r_rr *an, unsigned nan, const r_rr *ns,
                                unsigned nns, const r_rr *ar, unsigned nar)
{
    dns_query(&g_q, id, qname, T_A, 1232, false);
    udp_send(g, c, true, &g_q);
    g->now_us += 1500;
    dnsb_start(&g_r, id, F_RESP | rcode, qname, T_A, nan, nns, nar + 1);
    for (unsigned i = 0; i < nan; i++)
        r_put_rr(&g_r, &an[i]);
    for (unsigned i = 0; i < nns; i++)
        r_put_rr(&g_r, &ns[i]);
    for (unsigned i = 0; i < nar; i++)
        r_put_rr(&g_r, &ar[i]);
    rr_opt(&g_r, 1232, false, -1);
    udp_send(g, c, false, &g_r);
    g->now_us += 10000;
}

/* The Kaminsky injection of 2008, in its out-of-bailiwick form: a question for a random
 * name of the attacker's zone, answered with an NS record for pypi.org in the authority
 * section and pypi.org's address (Linode) in the additional section. The twin is a real
 * delegation: a question below the zone cut (r4nd0m-7f3a.pypi.org), pypi.org's NS and the
 * glue of its server. */
static void r_bailiwick_kaminsky_x(gen *g, bool bad)
{
    conv c = r_conv(30, 40230);
    if (bad) {
        r_rr an[] = {{NULL, T_A, 60, "93.184.216.34"}};
        r_rr ns[] = {{"pypi.org", T_NS, 86400, "ns.attacker-chosen.example"}};
        r_rr ar[] = {{"pypi.org", T_A, 86400, "45.33.20.5"},
                     {"ns.attacker-chosen.example", T_A, 86400, "45.33.20.6"}};
        r_sections_exchange(g, &c, 0xa230, "r4nd0m-7f3a.attacker-chosen.example", 0, an,
                            R_N(an), ns, R_N(ns), ar, R_N(ar));
    } else {
        r_rr ns[] = {{"pypi.org", T_NS, 86400, "ns1.pypi.org"}};
        r_rr ar[] = {{"ns1.pypi.org", T_A, 86400, "151.101.0.1"}};
        r_sections_exchange(g, &c, 0xa230, "r4nd0m-7f3a.pypi.org", 0, NULL, 0, ns, R_N(ns),
                            ar, R_N(ar));
    }
}
static void sc_r_bailiwick_kaminsky(gen *g) { r_bailiwick_kaminsky_x(g, true); }
static void sc_r_bailiwick_kaminsky_ok(gen *g) { r_bailiwick_kaminsky_x(g, false); }

/* An address for files.pythonhosted.org in the additional section of an answer about an
 * unrelated name. The twin reaches files.pythonhosted.org through the answer's CNAME
 * chain (its address may then come in the additional section too), then a delegation of
 * a name no rule but the catch-all matches, with its glue: silent, the catch-all watches
 * nothing for poisoning. */
static void r_bailiwick_glue_x(gen *g, bool bad)
{
    conv c = r_conv(31, 40231);
    if (bad) {
        r_rr an[] = {{NULL, T_A, 300, "93.184.216.34"}};
        r_rr ar[] = {{"files.pythonhosted.org", T_A, 3600, "45.33.20.5"}};
        r_sections_exchange(g, &c, 0xa231, "cdn.example-mirror.net", 0, an, R_N(an), NULL, 0,
                            ar, R_N(ar));
        return;
    }
    r_rr an[] = {{NULL, T_CNAME, 300, "files.pythonhosted.org"},
                 {"files.pythonhosted.org", T_A, 300, "151.101.0.223"}};
    r_rr ar[] = {{"files.pythonhosted.org", T_A, 300, "151.101.64.223"}};
    r_sections_exchange(g, &c, 0xa231, "cdn.example-mirror.net", 0, an, R_N(an), NULL, 0, ar,
                        R_N(ar));
    conv d = r_conv(32, 40232);
    r_rr an2[] = {{NULL, T_A, 300, "93.184.216.34"}};
    r_rr ns2[] = {{"example.net", T_NS, 172800, "ns1.example.net"}};
    r_rr ar2[] = {{"ns1.example.net", T_A, 172800, "93.184.216.10"}};
    r_sections_exchange(g, &d, 0xa232, "www.example.net", 0, an2, R_N(an2), ns2, R_N(ns2),
                        ar2, R_N(ar2));
}
static void sc_r_bailiwick_glue(gen *g) { r_bailiwick_glue_x(g, true); }
static void sc_r_bailiwick_glue_ok(gen *g) { r_bailiwick_glue_x(g, false); }

/* An NXDOMAIN for a random name of the attacker's zone carrying an SOA record owned by
 * pypi.org (negative caching planted for the registry's zone). The twin is the ordinary
 * NXDOMAIN for a name below pypi.org with pypi.org's SOA. */
static void r_bailiwick_soa_x(gen *g, bool bad)
{
    conv c = r_conv(33, 40233);
    r_rr ns[] = {{"pypi.org", T_SOA, 300, bad ? "ns.attacker-chosen.example" : "ns1.pypi.org"}};
    r_sections_exchange(g, &c, 0xa233,
                        bad ? "r4nd0m-9c1e.attacker-chosen.example" : "nosuch.pypi.org", 3,
                        NULL, 0, ns, R_N(ns), NULL, 0);
}
static void sc_r_bailiwick_soa(gen *g) { r_bailiwick_soa_x(g, true); }
static void sc_r_bailiwick_soa_ok(gen *g) { r_bailiwick_soa_x(g, false); }

/* An injection flood: 50 forged responses to one victim, each for a fresh random name of
 * the attacker's zone, all carrying the same pypi.org NS and address: one alert and one
 * folded summary, not 50 alerts. The twin: 50 fresh names that reach pypi.org through a
 * CNAME, with pypi.org's NS in the authority section. */
static void r_bailiwick_flood_x(gen *g, bool bad)
{
    conv c = r_conv(34, 40234);
    char q[64];
    for (unsigned i = 0; i < 50; i++) {
        snprintf(q, sizeof q, bad ? "r%04x.attacker-chosen.example" : "w%04x.mirror.example",
                 0x9100 + i * 7919 % 4096);
        r_rr an_bad[] = {{NULL, T_A, 60, "93.184.216.34"}};
        r_rr an_ok[] = {{NULL, T_CNAME, 300, "pypi.org"}, {"pypi.org", T_A, 300, "151.101.0.223"}};
        r_rr ns[] = {{"pypi.org", T_NS, 86400, bad ? "ns.attacker-chosen.example" : "ns1.pypi.org"}};
        r_rr ar[] = {{"pypi.org", T_A, 86400, "45.33.20.5"}};
        r_sections_exchange(g, &c, 0xb000 + i, q, 0, bad ? an_bad : an_ok, bad ? 1 : 2, ns,
                            R_N(ns), ar, bad ? 1 : 0);
        g->now_us += 20000;
    }
}
static void sc_r_bailiwick_flood(gen *g) { r_bailiwick_flood_x(g, true); }
static void sc_r_bailiwick_flood_ok(gen *g) { r_bailiwick_flood_x(g, false); }

/* deploy/demo/demo.pcap: ordinary traffic with four attacks among it (see its README). */
static void sc_demo(gen *g)
{
    r_ordinary(g, 0xd000);

    /* 1. pypi.org hijacked to a Linode host (AS63949). */
    conv c = mkconv("10.1.3.101", 42001, "10.10.0.53", 53, L_ETH);
    r_rr a[] = {{NULL, T_A, 300, "45.33.20.5"}};
    r_exchange(g, &c, 0xd101, "pypi.org", T_A, 0, 0, false, a, R_N(a));

    /* 2. registry.npmjs.org through a CNAME to an attacker's host. */
    c = mkconv("10.1.3.102", 42002, "10.10.0.53", 53, L_ETH);
    r_rr b[] = {{NULL, T_CNAME, 300, "npm-mirror.attacker.example"},
                {"npm-mirror.attacker.example", T_A, 300, "45.33.20.7"}};
    r_exchange(g, &c, 0xd102, "registry.npmjs.org", T_A, 0, 0, false, b, R_N(b));

    /* 3. DNS rebinding: a public name answers a private address of the build network. */
    c = mkconv("10.1.3.103", 42003, "10.10.0.53", 53, L_ETH);
    r_rr d[] = {{NULL, T_A, 1, "192.168.1.10"}};
    r_exchange(g, &c, 0xd103, "status.build-telemetry.example", T_A, 0, 0, false, d, R_N(d));

    /* 4. Docker Hub answered by a server that is not one of our resolvers (an off-path
     * forgery or a hard-coded public resolver); the address itself is sound. */
    c = mkconv("10.1.3.104", 42004, "203.0.113.53", 53, L_ETH);
    r_rr e[] = {{NULL, T_A, 60, "54.227.20.253"}};
    r_exchange(g, &c, 0xd104, "registry-1.docker.io", T_A, 0, 0, false, e, R_N(e));
}

/* DNS64: the resolver synthesises pypi.org's AAAA from its Fastly A record inside the
 * NAT64 prefix 64:ff9b::/96, as IPv6-only build networks do for every name. */
static void sc_r_dns64(gen *g)
{
    conv c = r_conv6(40181);
    r_rr a[] = {{NULL, T_AAAA, 300, "64:ff9b::9765:df"}};
    r_exchange(g, &c, 0xa181, "pypi.org", T_AAAA, 0, 0, false, a, R_N(a));
}

/* Reassembly eviction (issue 9): the forged answer is held back by the reassembler
 * (its first fragment, or its first TCP segment), then a flood of junk entries from
 * spoofed sources arrives inside the timeout, then the rest. The resolver 10.10.0.53
 * has answered before, as it does all day. The junk is what costs an attacker least:
 * 8-byte first fragments (a UDP header from port 53, nothing else) and bare SYNs or
 * one-segment midstream flows. */
#ifndef R_FLOOD_JUNK
#define R_FLOOD_JUNK 20000 /* -DR_FLOOD_JUNK=200000 for the memory measurement in README */
#endif

/* Ordinary answers from the resolver to 64 clients, as all day long: what makes it a
 * known DNS server to every worker (each worker learns from the responses it sees, and
 * the workers split the traffic by address pair). */
static void r_flood_warmup(gen *g)
{
    for (unsigned i = 0; i < 64; i++) {
        conv c = r_conv(100 + i, (uint16_t)(40200 + i));
        r_rr a[] = {{NULL, T_A, 300, "151.101.0.223"}};
        r_exchange(g, &c, 0xa200 + i, "pypi.org", T_A, 0, 0, false, a, R_N(a));
    }
}

/* The forged (or sound) answer: 185 A records, the first one the forgery. */
static void r_flood_answer(buf *r, unsigned id, bool bad)
{
    dnsb_start(r, id, F_RESP, "pypi.org", T_A, 185, 0, 1);
    dnsb_rr_addr(r, 12, 300, bad ? "45.33.20.5" : "151.101.64.223");
    char ip[32];
    for (int i = 1; i < 185; i++) {
        snprintf(ip, sizeof ip, "151.101.%d.223", i);
        dnsb_rr_addr(r, 12, 300, ip);
    }
    rr_opt(r, 4096, false, -1);
}

/* Junk source number i: 198.18.0.0/15, one address each. */
static ep r_junk_src(unsigned i, uint16_t port)
{
    char a[32];
    snprintf(a, sizeof a, "198.%u.%u.%u", 18 + (i >> 16), (i >> 8) & 255, i & 255);
    return dnsb_endpoint(a, port);
}

static void r_frag_flood_x(gen *g, bool bad)
{
    r_flood_warmup(g);
    conv c = r_conv(40, 40301);
    dns_query(&g_q, 0xa301, "pypi.org", T_A, 4096, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;

    /* The answer's three fragments, as udp_send_frag() cuts them; the first goes now. */
    r_flood_answer(&g_r, 0xa301, bad);
    dnsb_udp(&g_l4, &c.srv, &c.cli, g_r.b, g_r.n);
    const size_t fragsz = 1480;
    unsigned id = g->ipid++;
    static buf whole;
    whole = g_l4;
    for (size_t off = 0; off < whole.n; off += fragsz) {
        size_t n = whole.n - off < fragsz ? whole.n - off : fragsz;
        g_ip.n = 0;
        dnsb_ip4_hdr(&g_ip, &c.srv, &c.cli, 17, n, id, off, off + n < whole.n);
        dnsb_bytes(&g_ip, whole.b + off, n);
        send_ip(g, &c.lk, true, 4, &g_ip);
        g->now_us += 100;
        if (off)
            continue;
        /* The flood: first fragments of datagrams that never finish, to the victim. */
        for (unsigned i = 0; i < R_FLOOD_JUNK; i++) {
            ep js = r_junk_src(i, 53), jd = c.cli;
            jd.port = (uint16_t)(1024 + i % 60000);
            g_l4.n = 0;
            dnsb_u16(&g_l4, js.port);
            dnsb_u16(&g_l4, jd.port);
            dnsb_u16(&g_l4, 8 + 512);
            dnsb_u16(&g_l4, 0);
            g_ip.n = 0;
            dnsb_ip4_hdr(&g_ip, &js, &jd, 17, g_l4.n, 0x7000 + i % 4096, 0, true);
            dnsb_bytes(&g_ip, g_l4.b, g_l4.n);
            send_ip(g, &c.lk, true, 4, &g_ip);
            g->now_us += 50; /* 20 000 in 1 s, well inside the 30 s timeout */
        }
    }
}
static void sc_r_frag_flood(gen *g) { r_frag_flood_x(g, true); }
static void sc_r_frag_flood_ok(gen *g) { r_frag_flood_x(g, false); }

static void r_tcp_flood_x(gen *g, bool bad)
{
    r_flood_warmup(g);
    conv c = r_conv(41, 40311);
    tcp_send(g, &c, true, TH_SYN, NULL, 0);
    g->now_us += 200;
    tcp_send(g, &c, false, TH_SYN | TH_ACK, NULL, 0);
    g->now_us += 200;
    tcp_send(g, &c, true, TH_ACK, NULL, 0);
    g->now_us += 100;
    g_tmp.n = 0;
    dns_query(&g_q, 0xa311, "pypi.org", T_A, 0, false);
    tcp_frame(&g_tmp, &g_q);
    tcp_send(g, &c, true, TH_PSH | TH_ACK, g_tmp.b, g_tmp.n);
    g->now_us += 1500;

    r_flood_answer(&g_r, 0xa311, bad);
    g_tmp.n = 0;
    tcp_frame(&g_tmp, &g_r);
    const size_t cut = 1200; /* the first segment: header, question, the forged record */
    tcp_send(g, &c, false, TH_ACK, g_tmp.b, cut);
    g->now_us += 100;

    /* The flood: half bare SYNs to the resolver, half one-segment flows from port 53
     * to the victim, each from its own spoofed source. */
    static const uint8_t junk[10] = {0, 40, 1, 2, 0x81, 0x80, 0, 1, 0, 0};
    for (unsigned i = 0; i < R_FLOOD_JUNK; i++) {
        conv j;
        if (i % 2) {
            j = c;
            j.cli = r_junk_src(i, (uint16_t)(1024 + i % 60000));
        } else {
            j = c;
            j.srv = r_junk_src(i, 53);
            j.cli.port = (uint16_t)(1024 + i % 60000);
        }
        j.seq[0] = 0x20000000u + i;
        j.seq[1] = 0x60000000u + i;
        if (i % 2)
            tcp_send(g, &j, true, TH_SYN, NULL, 0);
        else
            tcp_send(g, &j, false, TH_PSH | TH_ACK, junk, sizeof junk);
        g->now_us += 50;
    }

    tcp_send(g, &c, false, TH_PSH | TH_ACK, g_tmp.b + cut, g_tmp.n - cut);
    g->now_us += 100;
    tcp_send(g, &c, true, TH_ACK, NULL, 0);
    g->now_us += 500;
    tcp_send(g, &c, true, TH_FIN | TH_ACK, NULL, 0);
    g->now_us += 100;
    tcp_send(g, &c, false, TH_FIN | TH_ACK, NULL, 0);
}
static void sc_r_tcp_flood(gen *g) { r_tcp_flood_x(g, true); }
static void sc_r_tcp_flood_ok(gen *g) { r_tcp_flood_x(g, false); }

/* ---- learn: a week of a build farm's lookups, and what comes after it ----
 *
 * tests/cli/test_learn.sh learns a rule pack from l_week (7 days, two resolvers, several
 * registries on CDNs with several ASNs and prefixes and CNAME chains, an internal name on
 * private prefixes, names nobody watches), then replays it with that pack: l_week and
 * l_drift (new addresses inside the same /24s and ASes, a new CDN target under the
 * learned wildcard) must stay silent, each l_hijack_* must alert. */

#define L_HOUR_US 3600000000ull
#define L_DAY_US (24 * L_HOUR_US)

static unsigned l_id = 0x3000;

/* One exchange from a build agent through resolver srv ("10.10.0.53"). */
static void l_ask(gen *g, const char *srv, unsigned host, const char *qname, unsigned qtype,
                  const r_rr *an, unsigned n)
{
    char cli[32];
    snprintf(cli, sizeof cli, "10.1.%u.%u", 2 + host / 200, 10 + host % 200);
    conv c = mkconv(cli, (uint16_t)(20000 + (l_id % 40000)), srv, 53, L_ETH);
    r_exchange(g, &c, (l_id++) & 0xffff, qname, qtype, 0, 0, false, an, n);
}

/* The lookups of one hour (slot counts the hours of the week). */
static void l_hour(gen *g, unsigned slot)
{
    const char *srv = slot % 2 ? "10.10.0.54" : "10.10.0.53";
    unsigned h = slot % 24;
    char a1[32], a2[32], a3[32], cn1[64];
    uint32_t ttl = 300 - (slot % 5) * 30; /* caches count down; 300 is the highest */

    /* PyPI on Fastly: four /24s of 151.101.0.0/16, two at a time, and IPv6. */
    snprintf(a1, sizeof a1, "151.101.%u.223", (slot % 2) * 128);
    snprintf(a2, sizeof a2, "151.101.%u.223", (slot % 2) * 128 + 64);
    r_rr pypi[] = {{NULL, T_A, ttl, a1}, {NULL, T_A, ttl, a2}};
    l_ask(g, srv, slot, "pypi.org", T_A, pypi, R_N(pypi));
    if (slot % 3 == 0) {
        r_rr pypi6[] = {{NULL, T_AAAA, ttl, slot % 2 ? "2a04:4e42:200::223" : "2a04:4e42::223"}};
        l_ask(g, srv, slot + 1, "pypi.org", T_AAAA, pypi6, R_N(pypi6));
    }
    /* files.pythonhosted.org: a CNAME into Fastly's map, two Fastly networks. */
    r_rr files[] = {{NULL, T_CNAME, 3600, "dualstack.python.map.fastly.net"},
                    {"dualstack.python.map.fastly.net", T_A, 30,
                     slot % 2 ? "146.75.36.223" : "151.101.0.223"}};
    l_ask(g, srv, slot + 2, "files.pythonhosted.org", T_A, files, R_N(files));
    /* npm and Docker Hub's layer CDN on Cloudflare: one operator, one rule. */
    snprintf(a1, sizeof a1, "104.16.%u.34", slot % 4);
    r_rr npm[] = {{NULL, T_A, 300, a1}, {NULL, T_A, 300, "104.16.4.34"}};
    l_ask(g, srv, slot + 3, "registry.npmjs.org", T_A, npm, R_N(npm));
    r_rr blobs[] = {{NULL, T_A, 120, slot % 2 ? "104.18.120.5" : "104.18.121.5"}};
    l_ask(g, srv, slot + 4, "production.cloudflare.docker.com", T_A, blobs, R_N(blobs));
    /* Docker Hub's registry and auth service on AWS: two ASes, several prefixes. */
    snprintf(a1, sizeof a1, "52.%u.10.20", 1 + slot % 3);
    snprintf(a2, sizeof a2, "54.224.%u.6", slot % 2);
    r_rr reg[] = {{NULL, T_A, 60, a1}, {NULL, T_A, 60, a2}};
    l_ask(g, srv, slot + 5, "registry-1.docker.io", T_A, reg, R_N(reg));
    snprintf(a3, sizeof a3, "3.208.%u.2", slot % 2);
    r_rr auth[] = {{NULL, T_A, 60, a3}, {NULL, T_A, 60, "18.161.7.4"}};
    l_ask(g, srv, slot + 6, "auth.docker.io", T_A, auth, R_N(auth));
    /* GitHub's own network. */
    snprintf(a1, sizeof a1, "140.82.%u.3", 112 + slot % 3);
    r_rr gh[] = {{NULL, T_A, 60, a1}};
    l_ask(g, srv, slot + 7, "github.com", T_A, gh, R_N(gh));
    /* crates.io's static host: a two-step chain into a CDN that spreads it over four
     * edge names (the learned pack generalises them) on CloudFront addresses. */
    snprintf(cn1, sizeof cn1, "d%u.edge.cdn-example.net", 1 + h % 4);
    snprintf(a1, sizeof a1, "18.160.%u.10", 1 + h % 4);
    r_rr crates[] = {{NULL, T_CNAME, 300, "crates.cdn-example.net"},
                     {"crates.cdn-example.net", T_CNAME, 300, cn1},
                     {cn1, T_A, 60, a1}};
    l_ask(g, srv, slot + 8, "static.crates.io", T_A, crates, R_N(crates));
    /* The internal Artifactory: private prefixes no AS announces, and IPv6 ULA. */
    snprintf(a1, sizeof a1, "10.40.%u.10", 1 + slot % 3);
    r_rr art[] = {{NULL, T_A, 600, a1}};
    l_ask(g, "10.10.0.53", slot + 9, "artifactory.corp.example", T_A, art, R_N(art));
    if (slot % 6 == 0) {
        r_rr art6[] = {{NULL, T_AAAA, 600, "fd12:3456:789a:1::10"}};
        l_ask(g, "10.10.0.54", slot + 10, "artifactory.corp.example", T_AAAA, art6, R_N(art6));
    }
    /* Names nobody asked to learn: counted, never kept. */
    for (unsigned k = 0; k < 8; k++) {
        char name[64];
        snprintf(name, sizeof name, "n%u-%u.noise-example.net", slot, k);
        snprintf(a2, sizeof a2, "198.51.100.%u", 1 + (slot * 8 + k) % 250);
        r_rr x[] = {{NULL, T_A, 30, a2}};
        l_ask(g, srv, slot + 11 + k, name, T_A, x, R_N(x));
    }
}

static void sc_l_week(gen *g)
{
    l_id = 0x3000;
    for (unsigned slot = 0; slot < 7 * 24; slot++) {
        g->now_us = slot * L_HOUR_US + (slot % 7) * 60000000ull;
        l_hour(g, slot);
        /* once in the week, a third resolver answered (a failover test): rare evidence */
        if (slot == 3 * 24 + 12) {
            r_rr pypi[] = {{NULL, T_A, 300, "151.101.0.223"}};
            l_ask(g, "10.10.0.55", 7, "pypi.org", T_A, pypi, R_N(pypi));
        }
    }
}

/* The day after: new addresses inside the networks seen, a new edge name under the
 * learned wildcard. Silent under the learned pack, with or without the ASN database. */
static void sc_l_drift(gen *g)
{
    l_id = 0x5000;
    g->now_us = 8 * L_DAY_US;
    const char *srv[2] = {"10.10.0.53", "10.10.0.54"};
    for (unsigned i = 0; i < 2; i++) {
        r_rr pypi[] = {{NULL, T_A, 200, "151.101.0.99"}, {NULL, T_A, 200, "151.101.192.7"}};
        l_ask(g, srv[i], 1, "pypi.org", T_A, pypi, R_N(pypi));
        r_rr files[] = {{NULL, T_CNAME, 3600, "dualstack.python.map.fastly.net"},
                        {"dualstack.python.map.fastly.net", T_A, 30, "146.75.36.99"}};
        l_ask(g, srv[i], 2, "files.pythonhosted.org", T_A, files, R_N(files));
        r_rr npm[] = {{NULL, T_A, 300, "104.16.2.77"}};
        l_ask(g, srv[i], 3, "registry.npmjs.org", T_A, npm, R_N(npm));
        r_rr reg[] = {{NULL, T_A, 60, "52.2.10.99"}, {NULL, T_A, 60, "54.224.1.99"}};
        l_ask(g, srv[i], 4, "registry-1.docker.io", T_A, reg, R_N(reg));
        r_rr gh[] = {{NULL, T_A, 60, "140.82.113.99"}};
        l_ask(g, srv[i], 5, "github.com", T_A, gh, R_N(gh));
        r_rr crates[] = {{NULL, T_CNAME, 300, "crates.cdn-example.net"},
                         {"crates.cdn-example.net", T_CNAME, 300, "d9.edge.cdn-example.net"},
                         {"d9.edge.cdn-example.net", T_A, 60, "18.160.3.99"}};
        l_ask(g, srv[i], 6, "static.crates.io", T_A, crates, R_N(crates));
    }
    r_rr art[] = {{NULL, T_A, 600, "10.40.3.99"}};
    l_ask(g, "10.10.0.53", 7, "artifactory.corp.example", T_A, art, R_N(art));
}

/* pypi.org answered from Linode: a new ASN (and, without the database, a new prefix). */
static void sc_l_hijack_asn(gen *g)
{
    g->now_us = 8 * L_DAY_US;
    r_rr a[] = {{NULL, T_A, 300, "45.33.20.5"}};
    l_ask(g, "10.10.0.53", 1, "pypi.org", T_A, a, R_N(a));
}

/* registry.npmjs.org, never a CNAME in the week, now one; static.crates.io through a
 * CDN name outside the learned targets. The addresses are the usual ones. */
static void sc_l_hijack_cname(gen *g)
{
    g->now_us = 8 * L_DAY_US;
    r_rr npm[] = {{NULL, T_CNAME, 300, "npm.evil-cdn.example.net"},
                  {"npm.evil-cdn.example.net", T_A, 300, "104.16.0.34"}};
    l_ask(g, "10.10.0.53", 1, "registry.npmjs.org", T_A, npm, R_N(npm));
    r_rr crates[] = {{NULL, T_CNAME, 300, "crates.cdn-example.net"},
                     {"crates.cdn-example.net", T_CNAME, 300, "d1.edge.evil-cdn.example.net"},
                     {"d1.edge.evil-cdn.example.net", T_A, 60, "18.160.1.10"}};
    l_ask(g, "10.10.0.54", 2, "static.crates.io", T_A, crates, R_N(crates));
}

/* github.com, the usual address, from a server that never answered in the week. */
static void sc_l_hijack_resolver(gen *g)
{
    g->now_us = 8 * L_DAY_US;
    r_rr a[] = {{NULL, T_A, 60, "140.82.112.3"}};
    l_ask(g, "10.99.0.53", 1, "github.com", T_A, a, R_N(a));
}

/* The internal name pointed at a private network it never used (rebinding too). */
static void sc_l_hijack_prefix(gen *g)
{
    g->now_us = 8 * L_DAY_US;
    r_rr a[] = {{NULL, T_A, 600, "10.41.0.5"}};
    l_ask(g, "10.10.0.53", 1, "artifactory.corp.example", T_A, a, R_N(a));
}

/* A flood against the learner's memory: pypi.org answered from addresses all over the
 * space, files.pythonhosted.org through random CNAME targets, from random servers. The
 * learner must keep at most --max-entries of each and count the rest. */
static void l_flood_x(gen *g, unsigned n)
{
    rng_state = 1313;
    for (unsigned i = 0; i < n; i++) {
        char a[8][32], srv[32], tgt[64];
        r_rr an[8];
        g->now_us = (uint64_t)i * 1000000u;
        for (unsigned k = 0; k < 8; k++) {
            uint32_t r = (uint32_t)rng();
            snprintf(a[k], sizeof a[k], "%u.%u.%u.1", 1 + r % 223, (r >> 8) & 0xff,
                     (r >> 16) & 0xff);
            an[k] = (r_rr){NULL, T_A, 300, a[k]};
        }
        uint32_t r = (uint32_t)rng();
        snprintf(srv, sizeof srv, "10.200.%u.%u", (r >> 8) & 0xff, 1 + r % 250);
        l_ask(g, srv, i, "pypi.org", T_A, an, 8);
        snprintf(tgt, sizeof tgt, "r%u.flood-example.net", (unsigned)(rng() % 1000000u));
        r_rr cn[] = {{NULL, T_CNAME, 300, tgt}, {tgt, T_A, 300, a[0]}};
        l_ask(g, srv, i, "files.pythonhosted.org", T_A, cn, R_N(cn));
    }
}
static void sc_l_flood_small(gen *g) { l_flood_x(g, 2000); }
static void sc_l_flood(gen *g) { l_flood_x(g, 20000); }

/* Names YAML would read as something else than text ("null", "10.20") and a TTL beyond
 * what ttl.max holds: the learned pack must quote the names and leave the TTL out. */
static void sc_l_odd(gen *g)
{
    r_rr a[] = {{NULL, T_A, 3000000000u, "151.101.0.1"}};
    l_ask(g, "10.10.0.53", 1, "null", T_A, a, R_N(a));
    r_rr b[] = {{NULL, T_A, 300, "151.101.0.2"}};
    l_ask(g, "10.10.0.53", 2, "10.20", T_A, b, R_N(b));
}

/* Learn scenarios: `gen_pcap --list-learn` names them; tests/cli/test_learn.sh uses them. */
static const struct {
    const char *name;
    void (*fn)(gen *);
} LEARN_SCENARIOS[] = {
    {"l_week", sc_l_week},
    {"l_drift", sc_l_drift},
    {"l_hijack_asn", sc_l_hijack_asn},
    {"l_hijack_cname", sc_l_hijack_cname},
    {"l_hijack_resolver", sc_l_hijack_resolver},
    {"l_hijack_prefix", sc_l_hijack_prefix},
    {"l_flood_small", sc_l_flood_small},
    {"l_flood", sc_l_flood},
    {"l_odd", sc_l_odd},
};
#define N_LEARN_SCENARIOS (sizeof LEARN_SCENARIOS / sizeof LEARN_SCENARIOS[0])

/* ---- driver ---- */

typedef struct scenario {
    const char *name;
    int dlt;
    void (*fn)(gen *);
} scenario;

static const scenario SCENARIOS[] = {
    {"udp4_a", DLT_EN10MB, sc_udp4_a},
    {"udp6_aaaa", DLT_EN10MB, sc_udp6_aaaa},
    {"cname_chain", DLT_EN10MB, sc_cname_chain},
    {"vlan", DLT_EN10MB, sc_vlan},
    {"qinq", DLT_EN10MB, sc_qinq},
    {"sll", DLT_LINUX_SLL, sc_sll},
    {"sll2", DLT_LINUX_SLL2, sc_sll2},
    {"raw", DLT_RAW, sc_raw},
    {"null", DLT_NULL, sc_null},
    {"loop", DLT_LOOP, sc_loop},
    {"tcp", DLT_EN10MB, sc_tcp},
    {"frag4", DLT_EN10MB, sc_frag4},
    {"frag6", DLT_EN10MB, sc_frag6},
    {"edns_dnssec", DLT_EN10MB, sc_edns_dnssec},
    {"svcb", DLT_EN10MB, sc_svcb},
    {"weird_names", DLT_EN10MB, sc_weird_names},
    {"malformed", DLT_EN10MB, sc_malformed},
    {"forward_ptr", DLT_EN10MB, sc_forward_ptr},
    {"nxdomain", DLT_EN10MB, sc_nxdomain},
    {"servfail", DLT_EN10MB, sc_servfail},
    {"port5353", DLT_EN10MB, sc_port5353},
    {"vxlan", DLT_EN10MB, sc_vxlan},
    {"geneve", DLT_EN10MB, sc_geneve},
    {"gre_ip", DLT_EN10MB, sc_gre_ip},
    {"gre_teb", DLT_EN10MB, sc_gre_teb},
    {"erspan2", DLT_EN10MB, sc_erspan2},
    {"erspan3", DLT_EN10MB, sc_erspan3},
    {"pppoe", DLT_EN10MB, sc_pppoe},
    {"tunnel_nested", DLT_EN10MB, sc_tunnel_nested},
    {"tunnel_too_deep", DLT_EN10MB, sc_tunnel_too_deep},
    {"gre_outer_frag", DLT_EN10MB, sc_gre_outer_frag},
    {"ip6_exthdr", DLT_EN10MB, sc_ip6_exthdr},
    {"sections", DLT_EN10MB, sc_sections},
};
#define N_SCENARIOS (sizeof SCENARIOS / sizeof SCENARIOS[0])

/* amplify: 200 responses for fresh names (folding cannot merge them), each 3990 private
 * addresses in one 63.9 KB datagram (44 IPv4 fragments), then the real attack: pypi.org
 * answered from Linode. Each flood alert must stay under the event size bound, and the
 * flood must not crowd the real alert out of the queue, the spool or Redis. The twin
 * floods with public addresses and answers pypi.org from Fastly: no alert at all. */
#define AMP_RESPONSES 200
#define AMP_ADDRS 3990
static void r_amplify_x(gen *g, bool bad)
{
    conv c = mkconv("10.1.2.90", 40090, "10.10.0.53", 53, L_ETH);
    int order[64];
    for (int i = 0; i < 64; i++)
        order[i] = i;
    for (unsigned i = 0; i < AMP_RESPONSES; i++) {
        char name[64];
        snprintf(name, sizeof name, "n%u.amp.attacker.example", i);
        dnsb_start(&g_r, 0xd000 + i, F_RESP, name, T_A, AMP_ADDRS, 0, 0);
        for (unsigned k = 0; k < AMP_ADDRS; k++) {
            uint8_t a[4] = {bad ? 10 : 93, (uint8_t)(bad ? i : 184), (uint8_t)(k >> 8),
                            (uint8_t)k};
            put_a_raw(&g_r, 12, 60, a, 4);
        }
        size_t nfrag = (g_r.n + 8 + 1479) / 1480;
        udp_send_frag(g, &c, false, &g_r, 1480, order, (int)nfrag);
        g->now_us += 1000;
    }
    /* 64 addresses: the real alert is larger than a flood alert, so it cannot slip into
     * the room a full spool has left (the flood class must give way to it). */
    conv v = r_conv(3, 40001);
    static char ips[64][32];
    r_rr a[64];
    for (unsigned k = 0; k < 64; k++) {
        if (bad)
            snprintf(ips[k], sizeof ips[k], "45.33.20.%u", 5 + k);
        else
            snprintf(ips[k], sizeof ips[k], "151.101.%u.223", k);
        a[k] = (r_rr){NULL, T_A, 300, ips[k]};
    }
    r_exchange(g, &v, 0xa001, "pypi.org", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_amplify(gen *g) { r_amplify_x(g, true); }
static void sc_r_amplify_ok(gen *g) { r_amplify_x(g, false); }

/* fold_victim: the same forged answer (pypi.org from Linode) to a decoy client, then, 2 s
 * later inside the fold window, to the real victim. The first raises the alert; the
 * second is folded into it, and the summary must name the victim. The twin answers both
 * from Fastly. */
static void r_fold_victim_x(gen *g, bool bad)
{
    r_rr a[] = {{NULL, T_A, 300, bad ? "45.33.20.5" : "151.101.0.223"}};
    conv decoy = r_conv(66, 40066);
    r_exchange(g, &decoy, 0xa066, "pypi.org", T_A, 0, 0, false, a, R_N(a));
    g->now_us += 2000000;
    conv victim = r_conv(77, 40077);
    r_exchange(g, &victim, 0xa077, "pypi.org", T_A, 0, 0, false, a, R_N(a));
}
static void sc_r_fold_victim(gen *g) { r_fold_victim_x(g, true); }
static void sc_r_fold_victim_ok(gen *g) { r_fold_victim_x(g, false); }

/* ---- fragment_conflict (issue 11) ----
 * The answer to pypi.org is 185 Fastly addresses and OPT, 3005 bytes of UDP: three IP
 * fragments. A forged fragment is the same bytes with one address of its range replaced
 * by 45.33.20.5 (Linode), and arrives with another IP TTL (the attacker's path) than the
 * resolver's fragments (64). */

/* The answer with address number `forged` (-1: none) replaced. */
static void cf_answer(buf *r, unsigned id, int forged)
{
    dnsb_start(r, id, F_RESP, "pypi.org", T_A, 185, 0, 1);
    char ip[32];
    for (int i = 0; i < 185; i++) {
        if (i == forged)
            snprintf(ip, sizeof ip, "45.33.20.5");
        else
            snprintf(ip, sizeof ip, "151.101.%d.223", i);
        dnsb_rr_addr(r, 12, 300, ip);
    }
    rr_opt(r, 4096, false, -1);
}

/* Bytes [off, off + n) of the UDP datagram l4, as one fragment from the server to the
 * client with IP id (IPv4) or identification (IPv6) `id` and TTL / hop limit `ttl`. */
static void cf_fragment(gen *g, const conv *c, const buf *l4, size_t off, size_t n, unsigned id,
                        unsigned ttl)
{
    bool mf = off + n < l4->n;
    buf *ip = &g_ip;
    ip->n = 0;
    if (c->srv.af == 4) {
        dnsb_ip4_hdr(ip, &c->srv, &c->cli, 17, n, id, off, mf);
        ip->b[8] = (uint8_t)ttl;
        ip->b[10] = ip->b[11] = 0;
        uint32_t sum = 0;
        for (int i = 0; i < 20; i += 2)
            sum += (uint32_t)ip->b[i] << 8 | ip->b[i + 1];
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        ip->b[10] = (uint8_t)(~sum >> 8);
        ip->b[11] = (uint8_t)~sum;
    } else {
        dnsb_ip6_hdr(ip, &c->srv, &c->cli, 44, 8 + n);
        ip->b[7] = (uint8_t)ttl;
        dnsb_u8(ip, 17);
        dnsb_u8(ip, 0);
        dnsb_u16(ip, (unsigned)off | (mf ? 1 : 0));
        dnsb_u32(ip, id);
    }
    dnsb_bytes(ip, l4->b + off, n);
    send_ip(g, &c->lk, true, c->srv.af, ip);
    g->now_us += 200;
}

static buf g_real, g_forged;

/* The forged last fragment planted first (before the query even: it waits in the
 * victim's reassembly queue); the real first and middle fragments complete the datagram
 * with the forged tail; the real last fragment comes after and is left over, twice. The twin
 * plants a copy of the real last fragment (a duplicate that came early): no conflict. */
static void r_frag_forged_first_x(gen *g, conv c, size_t fragsz, bool bad)
{
    unsigned id = c.srv.af == 4 ? 0x6a01u : 0x6a010001u;
    cf_answer(&g_r, 0xa401, -1);
    dnsb_udp(&g_real, &c.srv, &c.cli, g_r.b, g_r.n);
    cf_answer(&g_r, 0xa401, bad ? 184 : -1); /* the last address lies in the last fragment */
    dnsb_udp(&g_forged, &c.srv, &c.cli, g_r.b, g_r.n);
    size_t last = (g_real.n - 1) / fragsz * fragsz;
    if (bad && memcmp(g_real.b + last, g_forged.b + last, g_real.n - last) == 0)
        die("the forged address is not in the last fragment");
    cf_fragment(g, &c, &g_forged, last, g_forged.n - last, id, bad ? 50 : 64);
    g->now_us += 300000;
    dns_query(&g_q, 0xa401, "pypi.org", T_A, 4096, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    for (size_t off = 0; off < last; off += fragsz)
        cf_fragment(g, &c, &g_real, off, fragsz, id, 64);
    cf_fragment(g, &c, &g_real, last, g_real.n - last, id, 64);
    /* and once more (the server retransmits, or the span duplicates): still one alert */
    cf_fragment(g, &c, &g_real, last, g_real.n - last, id, 64);
}
static void sc_r_frag_forged_first(gen *g)
{
    r_frag_forged_first_x(g, r_conv(44, 40401), 1480, true);
}
static void sc_r_frag_forged_first_ok(gen *g)
{
    r_frag_forged_first_x(g, r_conv(44, 40401), 1480, false);
}
static void sc_r_frag_v6(gen *g) { r_frag_forged_first_x(g, r_conv6(40402), 1448, true); }
static void sc_r_frag_v6_ok(gen *g) { r_frag_forged_first_x(g, r_conv6(40402), 1448, false); }

/* In flight: the real first fragment, then a forged middle fragment, then the real
 * middle one (a duplicate with other bytes: the forged one is kept, as the receiver
 * does), then the last: the datagram is reassembled with the forgery and carries the
 * conflict. The twin sends the real middle fragment twice (a retransmission). */
static void r_frag_overlap_x(gen *g, bool bad)
{
    conv c = r_conv(45, 40403);
    const size_t fragsz = 1480;
    unsigned id = 0x6b01;
    cf_answer(&g_r, 0xa403, -1);
    dnsb_udp(&g_real, &c.srv, &c.cli, g_r.b, g_r.n);
    cf_answer(&g_r, 0xa403, bad ? 100 : -1); /* address 100 lies in the middle fragment */
    dnsb_udp(&g_forged, &c.srv, &c.cli, g_r.b, g_r.n);
    if (bad && memcmp(g_real.b + fragsz, g_forged.b + fragsz, fragsz) == 0)
        die("the forged address is not in the middle fragment");
    dns_query(&g_q, 0xa403, "pypi.org", T_A, 4096, false);
    udp_send(g, &c, true, &g_q);
    g->now_us += 1500;
    cf_fragment(g, &c, &g_real, 0, fragsz, id, 64);
    cf_fragment(g, &c, &g_forged, fragsz, fragsz, id, bad ? 50 : 64);
    cf_fragment(g, &c, &g_real, fragsz, fragsz, id, 64);
    cf_fragment(g, &c, &g_real, 2 * fragsz, g_real.n - 2 * fragsz, id, 64);
}
static void sc_r_frag_overlap(gen *g) { r_frag_overlap_x(g, true); }
static void sc_r_frag_overlap_ok(gen *g) { r_frag_overlap_x(g, false); }

/* ---- resolver_port_predictable, resolver_txid_predictable (issue 11) ----
 * The resolver 10.10.0.53 (in expect.resolvers of t-resolver) sends its own queries
 * upstream to 192.0.2.1: 128 of them (two windows of 64; one alert per resolver and
 * violation, not one per window). */
enum rq_kind { RQ_RANDOM, RQ_FIXED_PORT, RQ_SEQ_PORT, RQ_SEQ_ID };

static void r_resolver_queries(gen *g, enum rq_kind kind, unsigned n, uint64_t seed)
{
    rng_state = seed;
    for (unsigned i = 0; i < n; i++) {
        uint16_t port = (uint16_t)(1024 + rnd(64512));
        uint16_t id = (uint16_t)rnd(65536);
        if (kind == RQ_FIXED_PORT)
            port = 40000;
        else if (kind == RQ_SEQ_PORT)
            port = (uint16_t)(30000 + i);
        else if (kind == RQ_SEQ_ID)
            id = (uint16_t)(1000 + i);
        char name[64];
        snprintf(name, sizeof name, "n%u.example.net", i);
        conv c = mkconv("10.10.0.53", port, "192.0.2.1", 53, L_ETH);
        dns_query(&g_q, id, name, T_A, 1232, false);
        udp_send(g, &c, true, &g_q);
        g->now_us += 2000;
    }
}
static void sc_r_resolver_port_fixed(gen *g) { r_resolver_queries(g, RQ_FIXED_PORT, 128, 11); }
/* 63 queries from one port: below a window, nothing is judged. */
static void sc_r_resolver_port_fixed_ok(gen *g) { r_resolver_queries(g, RQ_FIXED_PORT, 63, 11); }
static void sc_r_resolver_port_seq(gen *g) { r_resolver_queries(g, RQ_SEQ_PORT, 128, 12); }
static void sc_r_resolver_port_seq_ok(gen *g) { r_resolver_queries(g, RQ_RANDOM, 128, 12); }
static void sc_r_resolver_txid_seq(gen *g) { r_resolver_queries(g, RQ_SEQ_ID, 128, 13); }
static void sc_r_resolver_txid_seq_ok(gen *g) { r_resolver_queries(g, RQ_RANDOM, 128, 13); }

/* Rule cases, the one list of them: `gen_pcap --list-rules` prints a line per case,
 * "CASE SCENARIO RULES [ARGS...]", and tests/pcap/test_rules.sh runs `dnswatch run -r` over
 * the capture of SCENARIO with --rules for each of the comma-separated RULES (paths in the
 * source tree) and ARGS, and checks the alerts against tests/rules/CASE.expect. A case
 * named X_ok is the benign twin of X: its expectation must also fail on X's capture.
 * Several cases may share a scenario (one capture under different rule files). */
typedef struct rule_case {
    const char *name;
    const char *scenario;
    int dlt;
    void (*fn)(gen *);
    const char *rules;
    const char *args;
} rule_case;

/* Allow documents (tests/rules/allow_pe.yaml) against the shipped catch-all rebinding
 * rule: an Azure private endpoint reached through its privatelink CNAME, in the allowed
 * prefix (no alert); the same chain into another private range, and a private answer for
 * a name with no privatelink in its chain, while a privatelink CNAME sits elsewhere in
 * the same response (alerts). */
static void r_allow_pe_x(gen *g, bool bad)
{
    conv c = r_conv(60, 40601);
    r_rr a[] = {{NULL, T_CNAME, 300, "x.privatelink.blob.core.windows.net"},
                {"x.privatelink.blob.core.windows.net", T_A, 60, "10.30.1.5"}};
    r_exchange(g, &c, 0xa601, "x.blob.core.windows.net", T_A, 0, 0, false, a, R_N(a));
    if (!bad)
        return;
    r_rr b[] = {{NULL, T_CNAME, 300, "y.privatelink.blob.core.windows.net"},
                {"y.privatelink.blob.core.windows.net", T_A, 60, "10.31.9.9"}};
    r_exchange(g, &c, 0xa602, "y.blob.core.windows.net", T_A, 0, 0, false, b, R_N(b));
    r_rr d[] = {{NULL, T_A, 60, "10.30.1.6"},
                {"z.blob.core.windows.net", T_CNAME, 300, "z.privatelink.blob.core.windows.net"}};
    r_exchange(g, &c, 0xa603, "intranet.attacker.example", T_A, 0, 0, false, d, R_N(d));
}
static void sc_r_allow_pe(gen *g) { r_allow_pe_x(g, true); }
static void sc_r_allow_pe_ok(gen *g) { r_allow_pe_x(g, false); }

/* Rule status (tests/rules/status.yaml): a rule on test alerts at low severity tagged
 * test; a disabled rule never alerts. The benign twin answers within the expectation. */
static void r_status_x(gen *g, bool bad)
{
    conv c = r_conv(61, 40611);
    r_rr a[] = {{NULL, T_A, 300, bad ? "45.33.20.5" : "151.101.0.223"}};
    r_exchange(g, &c, 0xa611, "status-test.example", T_A, 0, 0, false, a, R_N(a));
    r_rr b[] = {{NULL, T_A, 300, "45.33.20.6"}};
    r_exchange(g, &c, 0xa612, "status-off.example", T_A, 0, 0, false, b, R_N(b));
}
static void sc_r_status(gen *g) { r_status_x(g, true); }
static void sc_r_status_ok(gen *g) { r_status_x(g, false); }

/* ---- exchange tracking (rules/track.h, tests/rules/track.yaml) ----
 *
 * The rule t-track watches registry.track.example and every name below it. Forged
 * responses come from the real server's address and port with an IP TTL of 250 (the
 * attacker is farther away, or closer, than the server: the TTL differs); the real ones
 * keep the default 64. */

#define TRK_FORGED_TTL 250
#define TRK_NAME "registry.track.example"

/* A UDP datagram like udp_send, with the IPv4 TTL / IPv6 hop limit set. */
static void udp_send_ttl(gen *g, const conv *c, bool from_cli, const buf *dns, unsigned ttl)
{
    const ep *s = from_cli ? &c->cli : &c->srv;
    const ep *d = from_cli ? &c->srv : &c->cli;
    dnsb_udp(&g_l4, s, d, dns->b, dns->n);
    buf *ip = &g_ip;
    ip->n = 0;
    if (s->af == 4) {
        dnsb_ip4_hdr(ip, s, d, 17, g_l4.n, g->ipid++, 0, false);
        ip->b[8] = (uint8_t)ttl;
        dnsb_set16(ip, 10, 0);
        dnsb_set16(ip, 10, dnsb_csum_fold(dnsb_csum_add(0, ip->b, 20)));
    } else {
        dnsb_ip6_hdr(ip, s, d, 17, g_l4.n);
        ip->b[7] = (uint8_t)ttl;
    }
    dnsb_bytes(ip, g_l4.b, g_l4.n);
    send_ip(g, &c->lk, !from_cli, s->af, ip);
}

static void trk_query(gen *g, const conv *c, unsigned id, const char *qname)
{
    dns_query(&g_q, id, qname, T_A, 0, false);
    udp_send(g, c, true, &g_q);
}

/* A response to c's client: answers an[0..n) (none: NXDOMAIN), from IP TTL ttl. */
static void trk_answer(gen *g, const conv *c, unsigned id, const char *qname, const r_rr *an,
                       unsigned n, unsigned ttl)
{
    dnsb_start(&g_r, id, F_RESP | (n ? 0 : 3), qname, T_A, n, 0, 0);
    for (unsigned i = 0; i < n; i++)
        r_put_rr(&g_r, &an[i]);
    udp_send_ttl(g, c, false, &g_r, ttl);
}

static const r_rr trk_real[] = {{NULL, T_A, 300, "151.101.0.10"}};
static const r_rr trk_forged[] = {{NULL, T_A, 86400, "45.33.20.5"}};

/* txid_mismatch_flood, near miss: while the client's query is outstanding, 40 responses
 * for it with guessed ids (and some guessed ports) race the real answer. */
static void sc_r_txid_flood(gen *g)
{
    conv c = r_conv(41, 40301);
    trk_query(g, &c, 0x1111, TRK_NAME);
    g->now_us += 200;
    for (unsigned i = 0; i < 40; i++) {
        conv f = r_conv(41, (uint16_t)(i % 4 ? 40301 : 40302 + i));
        trk_answer(g, &f, 0x2000 + i * 7, TRK_NAME, trk_forged, 1, TRK_FORGED_TTL);
        g->now_us += 20;
    }
    g->now_us += 1000;
    trk_answer(g, &c, 0x1111, TRK_NAME, trk_real, 1, 64);
}

/* Its twin: a resolver's retries with new ids (and a new port), the first query's answer
 * arriving after the retries, and a late answer long after its query's timeout: every
 * response answers a query, none is a near miss. */
static void sc_r_txid_flood_ok(gen *g)
{
    conv a = r_conv(41, 40301), b = r_conv(41, 40310);
    trk_query(g, &a, 0x1111, TRK_NAME);
    g->now_us += 2000000;
    trk_query(g, &a, 0x1112, TRK_NAME);
    g->now_us += 2000000;
    trk_query(g, &b, 0x1113, TRK_NAME);
    g->now_us += 300000;
    trk_answer(g, &a, 0x1111, TRK_NAME, trk_real, 1, 64);
    g->now_us += 100;
    trk_answer(g, &a, 0x1112, TRK_NAME, trk_real, 1, 64);
    g->now_us += 100;
    trk_answer(g, &b, 0x1113, TRK_NAME, trk_real, 1, 64);
    g->now_us += 1000000;
    conv l = r_conv(41, 40320);
    trk_query(g, &l, 0x1114, "cdn." TRK_NAME);
    g->now_us += 14000000; /* past track.timeout_ms: late, not a near miss */
    trk_answer(g, &l, 0x1114, "cdn." TRK_NAME, trk_real, 1, 64);
}

/* txid_mismatch_flood, blind (Kaminsky through random subdomains): our resolver
 * (10.10.0.53) asked the zone's server earlier; now, with nothing outstanding, 120 forged
 * responses for random names below the watched one arrive, each with a guessed id and
 * port: one alert (blind flood and unsolicited responses), not 120. */
static void sc_r_kaminsky(gen *g)
{
    conv c = mkconv("10.10.0.53", 33001, "198.51.100.53", 53, L_ETH);
    trk_query(g, &c, 0x3001, "www." TRK_NAME);
    g->now_us += 20000;
    trk_answer(g, &c, 0x3001, "www." TRK_NAME, trk_real, 1, 64);
    g->now_us += 12000000;
    for (unsigned i = 0; i < 120; i++) {
        char name[64];
        snprintf(name, sizeof name, "x%04u.%s", 1000 + i * 37 % 997, TRK_NAME);
        conv f = mkconv("10.10.0.53", (uint16_t)(33000 + i * 131 % 2000), "198.51.100.53", 53,
                        L_ETH);
        trk_answer(g, &f, (0x4000 + i * 7919) & 0xffff, name, trk_forged, 1, TRK_FORGED_TTL);
        g->now_us += 500;
    }
}

/* Its twin: many clients behind one NAT (one address, 200 ports) asking random names below
 * the watched one, 200 answers within 0.2 s, each to its own port and id. */
static void sc_r_kaminsky_ok(gen *g)
{
    for (unsigned i = 0; i < 200; i++) {
        char name[64];
        snprintf(name, sizeof name, "x%04u.%s", 1000 + i * 37 % 997, TRK_NAME);
        conv c = mkconv("10.1.2.50", (uint16_t)(41000 + i), "10.10.0.53", 53, L_ETH);
        trk_query(g, &c, (0x5000 + i * 7919) & 0xffff, name);
        g->now_us += 500;
    }
    for (unsigned i = 0; i < 200; i++) {
        char name[64];
        snprintf(name, sizeof name, "x%04u.%s", 1000 + i * 37 % 997, TRK_NAME);
        conv c = mkconv("10.1.2.50", (uint16_t)(41000 + i), "10.10.0.53", 53, L_ETH);
        trk_answer(g, &c, (0x5000 + i * 7919) & 0xffff, name, i % 2 ? trk_real : NULL,
                   i % 2, 64);
        g->now_us += 500;
    }
}

/* conflicting_answers: an injected answer (IP TTL 250) wins the race; the real one
 * (IP TTL 64) follows with the same id and ports and another address. */
static void sc_r_conflict(gen *g)
{
    conv c = r_conv(42, 40401);
    trk_query(g, &c, 0x4242, TRK_NAME);
    g->now_us += 500;
    trk_answer(g, &c, 0x4242, TRK_NAME, trk_forged, 1, TRK_FORGED_TTL);
    g->now_us += 1000;
    trk_answer(g, &c, 0x4242, TRK_NAME, trk_real, 1, 64);
}

/* Its twin: an answer retransmitted with its records in another order and lower TTLs (the
 * same set), and a TCP retry after a truncated UDP answer (the UDP answer has no records,
 * the TCP one has them: two exchanges, not a conflict). */
static void sc_r_conflict_ok(gen *g)
{
    conv c = r_conv(42, 40401);
    r_rr two[] = {{NULL, T_A, 300, "151.101.0.10"}, {NULL, T_A, 300, "151.101.64.10"}};
    r_rr owt[] = {{NULL, T_A, 299, "151.101.64.10"}, {NULL, T_A, 299, "151.101.0.10"}};
    trk_query(g, &c, 0x4242, TRK_NAME);
    g->now_us += 1500;
    trk_answer(g, &c, 0x4242, TRK_NAME, two, 2, 64);
    g->now_us += 1000000;
    trk_answer(g, &c, 0x4242, TRK_NAME, owt, 2, 64);
    g->now_us += 10000;

    conv u = r_conv(42, 40402);
    trk_query(g, &u, 0x4343, TRK_NAME);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x4343, F_RESP | 0x0200 /* TC */, TRK_NAME, T_A, 0, 0, 0);
    udp_send(g, &u, false, &g_r);
    g->now_us += 1000;
    conv t = mkconv("10.1.2.42", 40403, "10.10.0.53", 53, L_ETH);
    tcp_send(g, &t, true, TH_SYN, NULL, 0);
    g->now_us += 200;
    tcp_send(g, &t, false, TH_SYN | TH_ACK, NULL, 0);
    g->now_us += 200;
    tcp_send(g, &t, true, TH_ACK, NULL, 0);
    g->now_us += 100;
    g_tmp.n = 0;
    dns_query(&g_q, 0x4343, TRK_NAME, T_A, 0, false);
    tcp_frame(&g_tmp, &g_q);
    tcp_send(g, &t, true, TH_PSH | TH_ACK, g_tmp.b, g_tmp.n);
    g->now_us += 1500;
    dnsb_start(&g_r, 0x4343, F_RESP, TRK_NAME, T_A, 2, 0, 0);
    for (unsigned i = 0; i < 2; i++)
        r_put_rr(&g_r, &two[i]);
    g_tmp.n = 0;
    tcp_frame(&g_tmp, &g_r);
    tcp_send(g, &t, false, TH_PSH | TH_ACK, g_tmp.b, g_tmp.n);
    g->now_us += 100;
    tcp_send(g, &t, true, TH_FIN | TH_ACK, NULL, 0);
}

/* unsolicited_response: the client's queries to our resolver are seen (one answered),
 * then an answer for the watched name arrives that no query asked for. */
static void sc_r_unsolicited(gen *g)
{
    conv c = r_conv(43, 40501);
    trk_query(g, &c, 0x5151, TRK_NAME);
    g->now_us += 1500;
    trk_answer(g, &c, 0x5151, TRK_NAME, trk_real, 1, 64);
    g->now_us += 20000000;
    conv f = r_conv(43, 40502);
    trk_answer(g, &f, 0x5252, TRK_NAME, trk_forged, 1, TRK_FORGED_TTL);
}

/* Its twin: a one-way span (only responses to 10.1.2.44 are seen, never its queries), and
 * the client whose queries are seen gets an answer 15 s after its query, past the
 * timeout: late, but asked for. */
static void sc_r_unsolicited_ok(gen *g)
{
    conv o = r_conv(44, 40601);
    for (unsigned i = 0; i < 30; i++) {
        trk_answer(g, &o, 0x6000 + i, TRK_NAME, trk_real, 1, 64);
        g->now_us += 1000;
    }
    conv c = r_conv(43, 40501);
    trk_query(g, &c, 0x5151, TRK_NAME);
    g->now_us += 1500;
    trk_answer(g, &c, 0x5151, TRK_NAME, trk_real, 1, 64);
    g->now_us += 20000000;
    conv l = r_conv(43, 40502);
    trk_query(g, &l, 0x5252, TRK_NAME);
    g->now_us += 15000000;
    trk_answer(g, &l, 0x5252, TRK_NAME, trk_real, 1, 64);
}

/* The tracking memory test (tests/pcap/test_track_memory.sh): 250 000 queries nobody
 * answers, from 65 536 clients (10.9.0.0/16, any port) to our resolver, and 250 000
 * forged responses for names no rule watches (half to those clients with guessed ids,
 * half to clients never seen), 20 us apart; in the middle of it, the near-miss flood of
 * r_txid_flood against 10.1.2.41, which must still raise its one alert. */
static void trackflood(gen *g)
{
    rng_state = 20261203;
    for (unsigned i = 0; i < 500000; i++) {
        if (i == 250000)
            sc_r_txid_flood(g);
        uint64_t r = rng();
        char cli[32], name[64];
        unsigned host = (unsigned)(r >> 16) & 0xffff;
        bool seen = i % 2 == 0 || (r & 1);
        snprintf(cli, sizeof cli, "10.%u.%u.%u", seen ? 9 : 8, host >> 8, host & 0xff);
        conv c = mkconv(cli, (uint16_t)(1024 + (r >> 32) % 64000), "10.10.0.53", 53, L_ETH);
        snprintf(name, sizeof name, "q%u.flood.example", i);
        unsigned id = (unsigned)(r >> 48);
        if (i % 2 == 0) {
            dns_query(&g_q, id, name, T_A, 0, false);
            udp_send(g, &c, true, &g_q);
        } else {
            dnsb_start(&g_r, id ^ 0x5555, F_RESP, name, T_A, 1, 0, 0);
            dnsb_rr_addr(&g_r, 12, 60, "45.33.20.5");
            udp_send(g, &c, false, &g_r);
        }
        g->now_us += 20;
    }
}

static const rule_case RULE_SCENARIOS[] = {
    {"asn_mismatch", "r_asn_mismatch", DLT_EN10MB, sc_r_asn_mismatch, "tests/rules/violations.yaml", ""},
    {"asn_mismatch_ok", "r_asn_mismatch_ok", DLT_EN10MB, sc_r_asn_mismatch_ok, "tests/rules/violations.yaml", ""},
    {"asn_unknown", "r_asn_unknown", DLT_EN10MB, sc_r_asn_unknown, "tests/rules/violations.yaml", ""},
    {"asn_unknown_ok", "r_asn_unknown_ok", DLT_EN10MB, sc_r_asn_unknown_ok, "tests/rules/violations.yaml", ""},
    {"prefix_mismatch", "r_prefix_mismatch", DLT_EN10MB, sc_r_prefix_mismatch, "tests/rules/violations.yaml", ""},
    {"prefix_mismatch_ok", "r_prefix_mismatch_ok", DLT_EN10MB, sc_r_prefix_mismatch_ok, "tests/rules/violations.yaml", ""},
    {"cname_unexpected", "r_cname_unexpected", DLT_EN10MB, sc_r_cname_unexpected, "tests/rules/violations.yaml", ""},
    {"cname_unexpected_ok", "r_cname_unexpected_ok", DLT_EN10MB, sc_r_cname_unexpected_ok, "tests/rules/violations.yaml", ""},
    {"resolver", "r_resolver", DLT_EN10MB, sc_r_resolver, "tests/rules/violations.yaml", ""},
    {"resolver_ok", "r_resolver_ok", DLT_EN10MB, sc_r_resolver_ok, "tests/rules/violations.yaml", ""},
    {"rebinding", "r_rebinding", DLT_EN10MB, sc_r_rebinding, "tests/rules/violations.yaml", ""},
    {"rebinding_ok", "r_rebinding_ok", DLT_EN10MB, sc_r_rebinding_ok, "tests/rules/violations.yaml", ""},
    {"rebind_disguise", "r_rebind_disguise", DLT_EN10MB, sc_r_rebind_disguise, "tests/rules/violations.yaml", ""},
    {"rebind_disguise_ok", "r_rebind_disguise_ok", DLT_EN10MB, sc_r_rebind_disguise_ok, "tests/rules/violations.yaml", ""},
    {"rebind_svcb", "r_rebind_svcb", DLT_EN10MB, sc_r_rebind_svcb, "tests/rules/violations.yaml", ""},
    {"rebind_svcb_ok", "r_rebind_svcb_ok", DLT_EN10MB, sc_r_rebind_svcb_ok, "tests/rules/violations.yaml", ""},
    {"sinkhole", "r_sinkhole", DLT_EN10MB, sc_r_sinkhole, "tests/rules/violations.yaml", ""},
    {"sinkhole_ok", "r_sinkhole_ok", DLT_EN10MB, sc_r_sinkhole_ok, "tests/rules/violations.yaml", ""},
    {"dnssec_ad", "r_dnssec_ad", DLT_EN10MB, sc_r_dnssec_ad, "tests/rules/violations.yaml", ""},
    {"dnssec_ad_ok", "r_dnssec_ad_ok", DLT_EN10MB, sc_r_dnssec_ad_ok, "tests/rules/violations.yaml", ""},
    {"dnssec_do", "r_dnssec_do", DLT_EN10MB, sc_r_dnssec_do, "tests/rules/violations.yaml", ""},
    {"dnssec_do_ok", "r_dnssec_do_ok", DLT_EN10MB, sc_r_dnssec_do_ok, "tests/rules/violations.yaml", ""},
    {"ttl", "r_ttl", DLT_EN10MB, sc_r_ttl, "tests/rules/violations.yaml", ""},
    {"ttl_ok", "r_ttl_ok", DLT_EN10MB, sc_r_ttl_ok, "tests/rules/violations.yaml", ""},
    {"exception_live", "r_exception", DLT_EN10MB, sc_r_exception, "tests/rules/exception_live.yaml", ""},
    {"exception_expired", "r_exception", DLT_EN10MB, sc_r_exception, "tests/rules/exception_expired.yaml", ""},
    {"rebind_allow", "r_rebind_allow", DLT_EN10MB, sc_r_rebind_allow, "tests/rules/violations.yaml", ""},
    {"match_except", "r_match_except", DLT_EN10MB, sc_r_match_except, "tests/rules/violations.yaml", ""},
    {"chain", "r_chain", DLT_EN10MB, sc_r_chain, "tests/rules/violations.yaml", ""},
    {"chain_ok", "r_chain_ok", DLT_EN10MB, sc_r_chain_ok, "tests/rules/violations.yaml", ""},
    {"dname", "r_dname", DLT_EN10MB, sc_r_dname, "tests/rules/violations.yaml", ""},
    {"dname_ok", "r_dname_ok", DLT_EN10MB, sc_r_dname_ok, "tests/rules/violations.yaml", ""},
    {"cname_alias", "r_cname_alias", DLT_EN10MB, sc_r_cname_alias, "tests/rules/violations.yaml", ""},
    {"dns64", "r_dns64", DLT_EN10MB, sc_r_dns64, "tests/rules/violations.yaml", ""},
    {"benign", "r_benign", DLT_EN10MB, sc_r_benign, "deploy/rules", ""},
    {"demo", "demo", DLT_EN10MB, sc_demo, "deploy/rules", ""},
    {"amplify", "r_amplify", DLT_EN10MB, sc_r_amplify, "tests/rules/violations.yaml", ""},
    {"amplify_ok", "r_amplify_ok", DLT_EN10MB, sc_r_amplify_ok, "tests/rules/violations.yaml", ""},
    {"fold_victim", "r_fold_victim", DLT_EN10MB, sc_r_fold_victim, "tests/rules/violations.yaml", "--workers 1"},
    {"fold_victim_ok", "r_fold_victim_ok", DLT_EN10MB, sc_r_fold_victim_ok, "tests/rules/violations.yaml", "--workers 1"},
    {"frag_flood", "r_frag_flood", DLT_EN10MB, sc_r_frag_flood, "tests/rules/violations.yaml", ""},
    {"frag_flood_ok", "r_frag_flood_ok", DLT_EN10MB, sc_r_frag_flood_ok, "tests/rules/violations.yaml", ""},
    {"tcp_flood", "r_tcp_flood", DLT_EN10MB, sc_r_tcp_flood, "tests/rules/violations.yaml", ""},
    {"tcp_flood_ok", "r_tcp_flood_ok", DLT_EN10MB, sc_r_tcp_flood_ok, "tests/rules/violations.yaml", ""},
    {"vxlan_asn", "r_vxlan_asn", DLT_EN10MB, sc_r_vxlan_asn, "tests/rules/violations.yaml", ""},
    {"vxlan_asn_ok", "r_vxlan_asn_ok", DLT_EN10MB, sc_r_vxlan_asn_ok, "tests/rules/violations.yaml", ""},
    {"qr_clear", "r_qr_clear", DLT_EN10MB, sc_r_qr_clear, "tests/rules/violations.yaml", ""},
    {"qr_clear_ok", "r_qr_clear_ok", DLT_EN10MB, sc_r_qr_clear_ok, "tests/rules/violations.yaml", ""},
    {"badvers", "r_badvers", DLT_EN10MB, sc_r_badvers, "tests/rules/violations.yaml", ""},
    {"badvers_ok", "r_badvers_ok", DLT_EN10MB, sc_r_badvers_ok, "tests/rules/violations.yaml", ""},
    {"ptr64", "r_ptr64", DLT_EN10MB, sc_r_ptr64, "tests/rules/violations.yaml", ""},
    {"ptr64_ok", "r_ptr64_ok", DLT_EN10MB, sc_r_ptr64_ok, "tests/rules/violations.yaml", ""},
    {"ptr70", "r_ptr70", DLT_EN10MB, sc_r_ptr70, "tests/rules/violations.yaml", ""},
    {"ptr70_ok", "r_ptr70_ok", DLT_EN10MB, sc_r_ptr70_ok, "tests/rules/violations.yaml", ""},
    {"ptr500", "r_ptr500", DLT_EN10MB, sc_r_ptr500, "tests/rules/violations.yaml", ""},
    {"ptr500_ok", "r_ptr500_ok", DLT_EN10MB, sc_r_ptr500_ok, "tests/rules/violations.yaml", ""},
    {"no_question", "r_no_question", DLT_EN10MB, sc_r_no_question, "tests/rules/violations.yaml", ""},
    {"no_question_ok", "r_no_question_ok", DLT_EN10MB, sc_r_no_question_ok, "tests/rules/violations.yaml", ""},
    {"foreign_owner", "r_foreign_owner", DLT_EN10MB, sc_r_foreign_owner, "tests/rules/violations.yaml", ""},
    {"foreign_owner_ok", "r_foreign_owner_ok", DLT_EN10MB, sc_r_foreign_owner_ok, "tests/rules/violations.yaml", ""},
    {"musl_view", "r_musl_view", DLT_EN10MB, sc_r_musl_view, "tests/rules/violations.yaml", ""},
    {"musl_view_ok", "r_musl_view_ok", DLT_EN10MB, sc_r_musl_view_ok, "tests/rules/violations.yaml", ""},
    {"musl_question", "r_musl_question", DLT_EN10MB, sc_r_musl_question, "tests/rules/violations.yaml", ""},
    {"allow_pe", "r_allow_pe", DLT_EN10MB, sc_r_allow_pe, "deploy/rules,tests/rules/allow_pe.yaml", ""},
    {"allow_pe_ok", "r_allow_pe_ok", DLT_EN10MB, sc_r_allow_pe_ok, "deploy/rules,tests/rules/allow_pe.yaml", ""},
    {"allow_expired", "r_allow_pe_ok", DLT_EN10MB, sc_r_allow_pe_ok, "deploy/rules,tests/rules/allow_expired.yaml", ""},
    {"status", "r_status", DLT_EN10MB, sc_r_status, "tests/rules/status.yaml", ""},
    {"status_ok", "r_status_ok", DLT_EN10MB, sc_r_status_ok, "tests/rules/status.yaml", ""},
    {"bailiwick_kaminsky", "r_bailiwick_kaminsky", DLT_EN10MB, sc_r_bailiwick_kaminsky, "tests/rules/violations.yaml", ""},
    {"bailiwick_kaminsky_ok", "r_bailiwick_kaminsky_ok", DLT_EN10MB, sc_r_bailiwick_kaminsky_ok, "tests/rules/violations.yaml", ""},
    {"bailiwick_glue", "r_bailiwick_glue", DLT_EN10MB, sc_r_bailiwick_glue, "tests/rules/violations.yaml", ""},
    {"bailiwick_glue_ok", "r_bailiwick_glue_ok", DLT_EN10MB, sc_r_bailiwick_glue_ok, "tests/rules/violations.yaml", ""},
    {"bailiwick_soa", "r_bailiwick_soa", DLT_EN10MB, sc_r_bailiwick_soa, "tests/rules/violations.yaml", ""},
    {"bailiwick_soa_ok", "r_bailiwick_soa_ok", DLT_EN10MB, sc_r_bailiwick_soa_ok, "tests/rules/violations.yaml", ""},
    {"bailiwick_flood", "r_bailiwick_flood", DLT_EN10MB, sc_r_bailiwick_flood, "tests/rules/violations.yaml", "--workers 1"},
    {"bailiwick_flood_ok", "r_bailiwick_flood_ok", DLT_EN10MB, sc_r_bailiwick_flood_ok, "tests/rules/violations.yaml", "--workers 1"},
    {"txid_flood", "r_txid_flood", DLT_EN10MB, sc_r_txid_flood, "tests/rules/track.yaml", ""},
    {"txid_flood_ok", "r_txid_flood_ok", DLT_EN10MB, sc_r_txid_flood_ok, "tests/rules/track.yaml", ""},
    {"kaminsky", "r_kaminsky", DLT_EN10MB, sc_r_kaminsky, "tests/rules/track.yaml", ""},
    {"kaminsky_ok", "r_kaminsky_ok", DLT_EN10MB, sc_r_kaminsky_ok, "tests/rules/track.yaml", ""},
    {"conflict", "r_conflict", DLT_EN10MB, sc_r_conflict, "tests/rules/track.yaml", ""},
    {"conflict_ok", "r_conflict_ok", DLT_EN10MB, sc_r_conflict_ok, "tests/rules/track.yaml", ""},
    {"unsolicited", "r_unsolicited", DLT_EN10MB, sc_r_unsolicited, "tests/rules/track.yaml", ""},
    {"unsolicited_ok", "r_unsolicited_ok", DLT_EN10MB, sc_r_unsolicited_ok, "tests/rules/track.yaml", ""},
    {"frag_forged_first", "r_frag_forged_first", DLT_EN10MB, sc_r_frag_forged_first, "tests/rules/violations.yaml", ""},
    {"frag_forged_first_ok", "r_frag_forged_first_ok", DLT_EN10MB, sc_r_frag_forged_first_ok, "tests/rules/violations.yaml", ""},
    {"frag_overlap", "r_frag_overlap", DLT_EN10MB, sc_r_frag_overlap, "tests/rules/violations.yaml", ""},
    {"frag_overlap_ok", "r_frag_overlap_ok", DLT_EN10MB, sc_r_frag_overlap_ok, "tests/rules/violations.yaml", ""},
    {"frag_v6", "r_frag_v6", DLT_EN10MB, sc_r_frag_v6, "tests/rules/violations.yaml", ""},
    {"frag_v6_ok", "r_frag_v6_ok", DLT_EN10MB, sc_r_frag_v6_ok, "tests/rules/violations.yaml", ""},
    {"resolver_port_fixed", "r_resolver_port_fixed", DLT_EN10MB, sc_r_resolver_port_fixed, "tests/rules/violations.yaml", "--workers 1"},
    {"resolver_port_fixed_ok", "r_resolver_port_fixed_ok", DLT_EN10MB, sc_r_resolver_port_fixed_ok, "tests/rules/violations.yaml", "--workers 1"},
    {"resolver_port_seq", "r_resolver_port_seq", DLT_EN10MB, sc_r_resolver_port_seq, "tests/rules/violations.yaml", "--workers 1"},
    {"resolver_port_seq_ok", "r_resolver_port_seq_ok", DLT_EN10MB, sc_r_resolver_port_seq_ok, "tests/rules/violations.yaml", "--workers 1"},
    {"resolver_txid_seq", "r_resolver_txid_seq", DLT_EN10MB, sc_r_resolver_txid_seq, "tests/rules/violations.yaml", "--workers 1"},
    {"resolver_txid_seq_ok", "r_resolver_txid_seq_ok", DLT_EN10MB, sc_r_resolver_txid_seq_ok, "tests/rules/violations.yaml", "--workers 1"},
};
#define N_RULE_SCENARIOS (sizeof RULE_SCENARIOS / sizeof RULE_SCENARIOS[0])

static void usage(void)
{
    fputs("usage: gen_pcap SCENARIO OUT.pcap\n"
          "       gen_pcap bench NPACKETS OUT.pcap [SEED]\n"
          "       gen_pcap trackflood OUT.pcap\n"
          "       gen_pcap --list | --list-rules | --list-learn\n",
          stderr);
    exit(2);
}

static int open_out(gen *g, int dlt, const char *path)
{
    memset(g, 0, sizeof *g);
    g->ipid = 0x1000;
    g->fragid = 0x00c0ffee;
    g->p = pcap_open_dead(dlt, SNAPLEN);
    if (!g->p)
        die("pcap_open_dead failed");
    g->d = pcap_dump_open(g->p, path);
    if (!g->d)
        die("%s: %s", path, pcap_geterr(g->p));
    return 0;
}

static int close_out(gen *g)
{
    int rc = 0;
    if (pcap_dump_flush(g->d) != 0)
        rc = -1;
    pcap_dump_close(g->d);
    pcap_close(g->p);
    return rc;
}

int main(int argc, char **argv)
{
    gen g;
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < N_SCENARIOS; i++)
            puts(SCENARIOS[i].name);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--list-learn") == 0) {
        for (size_t i = 0; i < N_LEARN_SCENARIOS; i++)
            puts(LEARN_SCENARIOS[i].name);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--list-rules") == 0) {
        for (size_t i = 0; i < N_RULE_SCENARIOS; i++) {
            const rule_case *c = &RULE_SCENARIOS[i];
            printf("%s %s %s%s%s\n", c->name, c->scenario, c->rules, *c->args ? " " : "",
                   c->args);
        }
        return 0;
    }
    if (argc >= 4 && argc <= 5 && strcmp(argv[1], "bench") == 0) {
        char *end;
        unsigned long long n = strtoull(argv[2], &end, 10);
        if (*end || n == 0)
            usage();
        uint64_t seed = 20261127;
        if (argc == 5) {
            seed = strtoull(argv[4], &end, 0);
            if (*end)
                usage();
        }
        open_out(&g, DLT_EN10MB, argv[3]);
        bench(&g, n, seed);
        if (close_out(&g) != 0)
            die("%s: write failed", argv[3]);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "trackflood") == 0) {
        open_out(&g, DLT_EN10MB, argv[2]);
        trackflood(&g);
        if (close_out(&g) != 0)
            die("%s: write failed", argv[2]);
        return 0;
    }
    if (argc != 3)
        usage();
    for (size_t i = 0; i < N_SCENARIOS; i++) {
        if (strcmp(argv[1], SCENARIOS[i].name) == 0) {
            open_out(&g, SCENARIOS[i].dlt, argv[2]);
            SCENARIOS[i].fn(&g);
            if (close_out(&g) != 0)
                die("%s: write failed", argv[2]);
            return 0;
        }
    }
    for (size_t i = 0; i < N_RULE_SCENARIOS; i++) {
        if (strcmp(argv[1], RULE_SCENARIOS[i].scenario) == 0) {
            open_out(&g, RULE_SCENARIOS[i].dlt, argv[2]);
            RULE_SCENARIOS[i].fn(&g);
            if (close_out(&g) != 0)
                die("%s: write failed", argv[2]);
            return 0;
        }
    }
    for (size_t i = 0; i < N_LEARN_SCENARIOS; i++) {
        if (strcmp(argv[1], LEARN_SCENARIOS[i].name) == 0) {
            open_out(&g, DLT_EN10MB, argv[2]);
            LEARN_SCENARIOS[i].fn(&g);
            if (close_out(&g) != 0)
                die("%s: write failed", argv[2]);
            return 0;
        }
    }
    fprintf(stderr, "gen_pcap: unknown scenario '%s' (try --list)\n", argv[1]);
    return 2;
}
