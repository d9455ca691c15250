/* pkt: every link type, IPv4/IPv6 (options, extension headers, fragments), UDP and TCP
 * length rules, and every truncation of every frame. Frames are built here byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decoders/pkt.h"
#include "tests/lib/dnsbuild.h"

/* Frames are built with tests/lib/dnsbuild.h (bounds-checked); the headers below are
 * written field by field, without checksums, so each test can set any field. */
typedef dnsb buf;

static const uint8_t SRC4[4] = {192, 0, 2, 1}, DST4[4] = {10, 40, 0, 53};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0xfd, 0x12, 0x34, 0x56, [15] = 0x53};
static const char MSG[] = "\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x03pkt\x00\x00\x01\x00\x01";
#define MSG_LEN (sizeof MSG - 1)

static void udp(buf *f, unsigned sport, unsigned dport, const void *pl, size_t n)
{
    dnsb_u16(f, sport);
    dnsb_u16(f, dport);
    dnsb_u16(f, (unsigned)(8 + n));
    dnsb_u16(f, 0);
    dnsb_bytes(f, pl, n);
}

/* IPv4 header with ihl_words (>= 5; options are NOPs), then the l4 bytes of l. */
static void ipv4(buf *f, unsigned ihl_words, unsigned proto, unsigned id, unsigned ff,
                 const buf *l)
{
    dnsb_u8(f, 0x40 | ihl_words);
    dnsb_u8(f, 0);
    dnsb_u16(f, ihl_words * 4 + (unsigned)l->n);
    dnsb_u16(f, id);
    dnsb_u16(f, ff);
    dnsb_u8(f, 64);
    dnsb_u8(f, proto);
    dnsb_u16(f, 0);
    dnsb_bytes(f, SRC4, 4);
    dnsb_bytes(f, DST4, 4);
    for (unsigned i = 5; i < ihl_words; i++)
        dnsb_u32(f, 0x01010101);
    dnsb_bytes(f, l->b, l->n);
}

static void ipv6(buf *f, unsigned nh, const buf *l)
{
    dnsb_u32(f, 0x60000000);
    dnsb_u16(f, (unsigned)l->n);
    dnsb_u8(f, nh);
    dnsb_u8(f, 63); /* hop limit: not the IPv4 TTL, so each is seen read from its place */
    dnsb_bytes(f, SRC6, 16);
    dnsb_bytes(f, DST6, 16);
    dnsb_bytes(f, l->b, l->n);
}

static void udp4(buf *f)
{
    buf l = {0};
    udp(&l, 53, 40000, MSG, MSG_LEN);
    ipv4(f, 5, 17, 7, 0, &l);
}

static void udp6(buf *f)
{
    buf l = {0};
    udp(&l, 53, 40000, MSG, MSG_LEN);
    ipv6(f, 17, &l);
}

static void eth(buf *f, unsigned type)
{
    dnsb_zeros(f, 12);
    dnsb_u16(f, type);
}

static uint64_t total(const dw_counters *c)
{
    uint64_t t = 0;
    for (int i = 0; i < DW_C__COUNT; i++)
        t += c->v[i];
    return t;
}

static void assert_udp_msg(const pkt_info *pi, int ver)
{
    assert_int_equal(pi->ip_version, ver);
    assert_int_equal(pi->proto, 17);
    assert_int_equal(pi->sport, 53);
    assert_int_equal(pi->dport, 40000);
    assert_int_equal(pi->payload_len, MSG_LEN);
    assert_memory_equal(pi->payload, MSG, MSG_LEN);
    assert_int_equal(pi->ip_ttl, ver == 4 ? 64 : 63);
    if (ver == 4) {
        assert_memory_equal(pi->src, SRC4, 4);
        assert_memory_equal(pi->dst, DST4, 4);
    } else {
        assert_memory_equal(pi->src, SRC6, 16);
        assert_memory_equal(pi->dst, DST6, 16);
    }
}

static enum pkt_result parse(int dlt, const buf *f, pkt_info *pi, pkt_frag *fr, dw_counters *c)
{
    memset(c, 0, sizeof *c);
    return pkt_parse(dlt, f->b, f->n, pi, fr, c);
}

static void test_ethernet(void **st)
{
    (void)st;
    buf f = {0};
    eth(&f, 0x0800);
    udp4(&f);
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    pi.ts_us = 1234;
    pi.n_vlan = 3; /* stale fields must be cleared */
    pi.reassembled = true;
    assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(pi.ts_us, 1234);
    assert_int_equal(pi.n_vlan, 0);
    assert_false(pi.reassembled);
    assert_false(fr.is_fragment);
    assert_int_equal(total(&c), 0);

    buf g = {0};
    eth(&g, 0x86dd);
    udp6(&g);
    assert_int_equal(parse(PKT_DLT_EN10MB, &g, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 6);

    buf h = {0};
    eth(&h, 0x0806); /* ARP */
    dnsb_zeros(&h, 28);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_ETHERTYPE_OTHER], 1);

    /* The ethertype says IPv4, the header says 6. */
    buf k = {0};
    eth(&k, 0x0800);
    udp6(&k);
    assert_int_equal(parse(PKT_DLT_EN10MB, &k, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_BAD_VERSION], 1);
}

static void test_ethernet_padding(void **st)
{
    (void)st;
    /* A short datagram padded to the 60-byte minimum with non-zero bytes. */
    buf f = {0}, l = {0};
    eth(&f, 0x0800);
    udp(&l, 53, 1000, "ab", 2);
    ipv4(&f, 5, 17, 1, 0, &l);
    while (f.n < 60)
        dnsb_u8(&f, 0xee);
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.payload_len, 2);
    assert_memory_equal(pi.payload, "ab", 2);
    assert_int_equal(total(&c), 0);

    /* Same with a UDP length that claims the padding: the IP length bounds it. */
    dnsb_set16(&f, 14 + 20 + 4, 8 + 10);
    assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.payload_len, 2);
    assert_int_equal(c.v[DW_C_UDP_SHORT_CAPTURE], 1);
}

static void test_vlan(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    static const unsigned tpids[] = {0x8100, 0x88a8, 0x9100};
    for (unsigned t = 0; t < 3; t++) {
        buf f = {0};
        dnsb_zeros(&f, 12);
        dnsb_u16(&f, tpids[t]);
        dnsb_u16(&f, 0x2000 | 100); /* priority bits must not leak into the id */
        dnsb_u16(&f, 0x8100);
        dnsb_u16(&f, 200);
        dnsb_u16(&f, 0x0800);
        udp4(&f);
        assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_OK);
        assert_int_equal(pi.n_vlan, 2);
        assert_int_equal(pi.vlan[0], 100);
        assert_int_equal(pi.vlan[1], 200);
        assert_udp_msg(&pi, 4);
    }
    /* PKT_MAX_VLAN tags are fine, one more is not. */
    for (unsigned depth = PKT_MAX_VLAN; depth <= PKT_MAX_VLAN + 1; depth++) {
        buf f = {0};
        dnsb_zeros(&f, 12);
        for (unsigned i = 0; i < depth; i++) {
            dnsb_u16(&f, 0x8100);
            dnsb_u16(&f, 10 + i);
        }
        dnsb_u16(&f, 0x86dd);
        udp6(&f);
        enum pkt_result r = parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c);
        if (depth == PKT_MAX_VLAN) {
            assert_int_equal(r, PKT_OK);
            assert_int_equal(pi.n_vlan, PKT_MAX_VLAN);
            assert_int_equal(pi.vlan[PKT_MAX_VLAN - 1], 10 + PKT_MAX_VLAN - 1);
        } else {
            assert_int_equal(r, PKT_SKIP);
            assert_int_equal(c.v[DW_C_VLAN_TOO_DEEP], 1);
        }
    }
}

static void sll(buf *f, unsigned proto)
{
    dnsb_u16(f, 0);    /* to us */
    dnsb_u16(f, 1);    /* ARPHRD_ETHER */
    dnsb_u16(f, 6);    /* address length */
    dnsb_zeros(f, 8);     /* address */
    dnsb_u16(f, proto);
}

static void sll2(buf *f, unsigned proto)
{
    dnsb_u16(f, proto);
    dnsb_u16(f, 0);
    dnsb_u32(f, 3); /* ifindex */
    dnsb_u16(f, 1);
    dnsb_u8(f, 0);
    dnsb_u8(f, 6);
    dnsb_zeros(f, 8);
}

static void test_sll(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf f = {0};
    sll(&f, 0x0800);
    assert_int_equal(f.n, 16);
    udp4(&f);
    assert_int_equal(parse(PKT_DLT_LINUX_SLL, &f, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);

    buf g = {0};
    sll2(&g, 0x86dd);
    assert_int_equal(g.n, 20);
    udp6(&g);
    assert_int_equal(parse(PKT_DLT_LINUX_SLL2, &g, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 6);

    buf h = {0};
    sll(&h, 0x8100); /* a tag left in the data */
    dnsb_u16(&h, 42);
    dnsb_u16(&h, 0x0800);
    udp4(&h);
    assert_int_equal(parse(PKT_DLT_LINUX_SLL, &h, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.n_vlan, 1);
    assert_int_equal(pi.vlan[0], 42);
}

static void test_null_loop(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    struct {
        uint8_t hdr[4];
        int dlt, ver;
    } cases[] = {
        {{2, 0, 0, 0}, PKT_DLT_NULL, 4},  /* little-endian writer */
        {{0, 0, 0, 2}, PKT_DLT_NULL, 4},  /* big-endian writer */
        {{24, 0, 0, 0}, PKT_DLT_NULL, 6}, /* NetBSD/OpenBSD */
        {{0, 0, 0, 28}, PKT_DLT_NULL, 6}, /* FreeBSD, big-endian */
        {{30, 0, 0, 0}, PKT_DLT_NULL, 6}, /* macOS */
        {{0, 0, 0, 2}, PKT_DLT_LOOP, 4},
        {{0, 0, 0, 24}, PKT_DLT_LOOP, 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf f = {0};
        dnsb_bytes(&f, cases[i].hdr, 4);
        if (cases[i].ver == 4)
            udp4(&f);
        else
            udp6(&f);
        assert_int_equal(parse(cases[i].dlt, &f, &pi, &fr, &c), PKT_OK);
        assert_udp_msg(&pi, cases[i].ver);
    }
    /* DLT_LOOP is network order only; AF 7 is not IP. */
    buf f = {0};
    dnsb_bytes(&f, "\x02\x00\x00\x00", 4);
    udp4(&f);
    assert_int_equal(parse(PKT_DLT_LOOP, &f, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_ETHERTYPE_OTHER], 1);
    f.b[0] = 7;
    assert_int_equal(parse(PKT_DLT_NULL, &f, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_ETHERTYPE_OTHER], 1);
}

static void test_raw(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf f4 = {0}, f6 = {0};
    udp4(&f4);
    udp6(&f6);
    assert_int_equal(parse(PKT_DLT_RAW, &f4, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(parse(PKT_DLT_RAW, &f6, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 6);
    assert_int_equal(parse(PKT_DLT_RAW_BSD, &f6, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 6);
    assert_int_equal(parse(PKT_DLT_IPV4, &f4, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(parse(PKT_DLT_IPV6, &f6, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 6);
    assert_int_equal(parse(PKT_DLT_IPV4, &f6, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_BAD_VERSION], 1);
    assert_int_equal(parse(PKT_DLT_IPV6, &f4, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_BAD_VERSION], 1);
    f4.b[0] = 0x55;
    assert_int_equal(parse(PKT_DLT_RAW, &f4, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_BAD_VERSION], 1);
}

static void test_dlt_supported(void **st)
{
    (void)st;
    static const int ok[] = {0, 1, 12, 14, 108, 113, 228, 229, 276};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_true(pkt_dlt_supported(ok[i]));
    assert_false(pkt_dlt_supported(105)); /* 802.11 */
    assert_false(pkt_dlt_supported(-1));
    buf f = {0};
    udp4(&f);
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    assert_int_equal(parse(105, &f, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_LINK_UNSUPPORTED], 1);
}

static void test_ipv4_header(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf l = {0}, f = {0};
    udp(&l, 53, 40000, MSG, MSG_LEN);
    ipv4(&f, 7, 17, 1, 0x4000 /* DF */, &l);
    assert_int_equal(parse(PKT_DLT_RAW, &f, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);

    buf g = f;
    g.b[0] = 0x44; /* IHL 4 */
    assert_int_equal(parse(PKT_DLT_RAW, &g, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_BAD_HDRLEN], 1);

    g = f;
    dnsb_set16(&g, 2, 27); /* total length inside the header */
    assert_int_equal(parse(PKT_DLT_RAW, &g, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_BAD_TOTLEN], 1);

    /* A total length shorter than the UDP length: the UDP length loses to what the IP
     * datagram holds. */
    g = f;
    dnsb_set16(&g, 2, 28 + 8 + 5);
    assert_int_equal(parse(PKT_DLT_RAW, &g, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.payload_len, 5);
    assert_int_equal(c.v[DW_C_UDP_SHORT_CAPTURE], 1);

    buf icmp = {0}, h = {0};
    dnsb_zeros(&icmp, 8);
    ipv4(&h, 5, 1, 1, 0, &icmp);
    assert_int_equal(parse(PKT_DLT_RAW, &h, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_PROTO_OTHER], 1);
}

static void test_udp_len(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf f = {0};
    udp4(&f);
    size_t ulen_at = 20 + 4;

    buf g = f; /* UDP length shorter than the IP payload: trusted */
    dnsb_set16(&g, ulen_at, 8 + 4);
    assert_int_equal(parse(PKT_DLT_RAW, &g, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.payload_len, 4);
    assert_int_equal(total(&c), 0);

    g = f; /* exactly the header: an empty payload */
    dnsb_set16(&g, ulen_at, 8);
    assert_int_equal(parse(PKT_DLT_RAW, &g, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.payload_len, 0);

    g = f;
    dnsb_set16(&g, ulen_at, 7);
    assert_int_equal(parse(PKT_DLT_RAW, &g, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_UDP_BAD_LEN], 1);

    g = f; /* longer than captured: what is there, counted */
    dnsb_set16(&g, ulen_at, 1000);
    dnsb_set16(&g, 2, 20 + 1000);
    assert_int_equal(parse(PKT_DLT_RAW, &g, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.payload_len, MSG_LEN);
    assert_int_equal(c.v[DW_C_UDP_SHORT_CAPTURE], 1);

    /* pkt_parse_l4 on its own, as after reassembly. */
    buf l = {0};
    udp(&l, 5353, 53, MSG, MSG_LEN);
    memset(&pi, 0, sizeof pi);
    memset(&c, 0, sizeof c);
    pi.ip_version = 4;
    assert_int_equal(pkt_parse_l4(17, l.b, l.n, &pi, &c), PKT_OK);
    assert_int_equal(pi.sport, 5353);
    assert_int_equal(pi.payload_len, MSG_LEN);
    assert_int_equal(pkt_parse_l4(17, l.b, 7, &pi, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_UDP_TRUNCATED], 1);
    assert_int_equal(pkt_parse_l4(1, l.b, l.n, &pi, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_PROTO_OTHER], 1);
}

static void tcp(buf *f, unsigned doff_words, unsigned flags, const void *pl, size_t n)
{
    dnsb_u16(f, 40001);
    dnsb_u16(f, 53);
    dnsb_u32(f, 0xdeadbeef);
    dnsb_u32(f, 0);
    dnsb_u16(f, doff_words << 12 | flags);
    dnsb_u16(f, 65535);
    dnsb_u32(f, 0);
    for (unsigned i = 5; i < doff_words; i++)
        dnsb_u32(f, 0x01010101);
    dnsb_bytes(f, pl, n);
}

static void test_tcp(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf l = {0}, f = {0};
    tcp(&l, 8, 0x18, "\x00\x05hello", 7);
    ipv4(&f, 5, 6, 1, 0, &l);
    assert_int_equal(parse(PKT_DLT_RAW, &f, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.proto, 6);
    assert_int_equal(pi.sport, 40001);
    assert_int_equal(pi.dport, 53);
    assert_int_equal(pi.tcp_seq, 0xdeadbeef);
    assert_int_equal(pi.tcp_flags, 0x18);
    assert_int_equal(pi.payload_len, 7);
    assert_memory_equal(pi.payload, "\x00\x05hello", 7);

    buf l2 = {0}, g = {0};
    tcp(&l2, 4, PKT_TCP_SYN, "", 0);
    ipv6(&g, 6, &l2);
    assert_int_equal(parse(PKT_DLT_RAW, &g, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TCP_BAD_HDRLEN], 1);

    buf l3 = {0}, h = {0};
    tcp(&l3, 15, 0, "", 0);
    l3.n = 30; /* options cut short */
    ipv6(&h, 6, &l3);
    assert_int_equal(parse(PKT_DLT_RAW, &h, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TCP_TRUNCATED], 1);

    /* Cut by the snaplen inside the payload: what is there, counted. */
    buf k = f;
    k.n -= 3;
    assert_int_equal(parse(PKT_DLT_RAW, &k, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.payload_len, 4);
    assert_int_equal(c.v[DW_C_TCP_SHORT_CAPTURE], 1);
}

static void ext(buf *f, unsigned nh, unsigned type)
{
    if (type == 51) { /* AH: 12 bytes header + 4 ICV = 16 bytes, length field 2 */
        dnsb_u8(f, nh);
        dnsb_u8(f, 2);
        dnsb_zeros(f, 14);
    } else { /* 16 bytes: length field 1 */
        dnsb_u8(f, nh);
        dnsb_u8(f, 1);
        dnsb_zeros(f, 14);
    }
}

static void test_ipv6_ext(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    /* hop-by-hop, routing, AH, destination options, then UDP. */
    buf l = {0}, f = {0};
    ext(&l, 43, 0);
    ext(&l, 51, 43);
    ext(&l, 60, 51);
    ext(&l, 17, 60);
    udp(&l, 53, 40000, MSG, MSG_LEN);
    ipv6(&f, 0, &l);
    assert_int_equal(parse(PKT_DLT_RAW, &f, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 6);
    assert_int_equal(total(&c), 0);

    /* An atomic fragment (offset 0, M clear) is just its payload. */
    buf l2 = {0}, g = {0};
    dnsb_u8(&l2, 17);
    dnsb_u8(&l2, 0);
    dnsb_u16(&l2, 0);
    dnsb_u32(&l2, 0xabcdef01);
    udp(&l2, 53, 40000, MSG, MSG_LEN);
    ipv6(&g, 44, &l2);
    assert_int_equal(parse(PKT_DLT_RAW, &g, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 6);
    assert_false(fr.is_fragment);

    /* Nine extension headers: over the bound. */
    buf l3 = {0}, h = {0};
    for (int i = 0; i < 8; i++)
        ext(&l3, 60, 60);
    ext(&l3, 17, 60);
    udp(&l3, 53, 40000, MSG, MSG_LEN);
    ipv6(&h, 60, &l3);
    assert_int_equal(parse(PKT_DLT_RAW, &h, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP6_EXTHDR_TOO_MANY], 1);

    /* A header claiming more than the payload length. */
    buf l4 = {0}, k = {0};
    dnsb_u8(&l4, 17);
    dnsb_u8(&l4, 200);
    dnsb_zeros(&l4, 30);
    ipv6(&k, 0, &l4);
    assert_int_equal(parse(PKT_DLT_RAW, &k, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP6_EXTHDR_TRUNCATED], 1);

    /* Jumbogram / empty payload length. */
    buf m = f;
    dnsb_set16(&m, 4, 0);
    assert_int_equal(parse(PKT_DLT_RAW, &m, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_BAD_TOTLEN], 1);

    /* No next header. */
    buf empty = {0}, n = {0};
    dnsb_zeros(&empty, 8);
    ipv6(&n, 59, &empty);
    assert_int_equal(parse(PKT_DLT_RAW, &n, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_PROTO_OTHER], 1);

    /* After reassembly, extension headers that followed the fragment header. */
    buf r = {0};
    ext(&r, 17, 60);
    udp(&r, 53, 40000, MSG, MSG_LEN);
    memset(&pi, 0, sizeof pi);
    memset(&c, 0, sizeof c);
    pi.ip_version = 6;
    assert_int_equal(pkt_parse_l4(60, r.b, r.n, &pi, &c), PKT_OK);
    assert_int_equal(pi.proto, 17);
    assert_int_equal(pi.payload_len, MSG_LEN);
}

static void test_fragments(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf l = {0}, f = {0};
    dnsb_bytes(&l, "0123456789abcdef", 16);
    ipv4(&f, 6, 17, 0x4242, 0x2000 | 3, &l); /* MF, offset 24, with options */
    assert_int_equal(parse(PKT_DLT_RAW, &f, &pi, &fr, &c), PKT_FRAGMENT);
    assert_true(fr.is_fragment);
    assert_int_equal(fr.id, 0x4242);
    assert_int_equal(fr.offset, 24);
    assert_true(fr.more);
    assert_int_equal(fr.next_proto, 17);
    assert_int_equal(fr.len, 16);
    assert_memory_equal(fr.data, "0123456789abcdef", 16);
    assert_int_equal(pi.ip_version, 4);
    assert_memory_equal(pi.src, SRC4, 4);
    assert_int_equal(pi.sport, 0); /* no transport parse on fragments */

    /* Last fragment, padded by Ethernet: the padding is not fragment data. */
    buf g = {0}, l2 = {0};
    eth(&g, 0x0800);
    dnsb_bytes(&l2, "xyz", 3);
    ipv4(&g, 5, 17, 9, 2, &l2);
    while (g.n < 60)
        dnsb_u8(&g, 0xee);
    assert_int_equal(parse(PKT_DLT_EN10MB, &g, &pi, &fr, &c), PKT_FRAGMENT);
    assert_false(fr.more);
    assert_int_equal(fr.offset, 16);
    assert_int_equal(fr.len, 3);

    /* A fragment cut by the snaplen is useless for reassembly. */
    buf k = f;
    k.n -= 2;
    assert_int_equal(parse(PKT_DLT_RAW, &k, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_FRAG_BAD], 1);

    /* ICMP fragments are not ours. */
    buf h = {0};
    ipv4(&h, 5, 1, 9, 0x2000, &l);
    assert_int_equal(parse(PKT_DLT_RAW, &h, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_PROTO_OTHER], 1);

    /* IPv6, after a destination options header. */
    buf l6 = {0}, f6 = {0};
    ext(&l6, 44, 60);
    dnsb_u8(&l6, 17);
    dnsb_u8(&l6, 0);
    dnsb_u16(&l6, 1280 | 1);
    dnsb_u32(&l6, 0x80000001);
    dnsb_bytes(&l6, "0123456789abcdef", 16);
    ipv6(&f6, 60, &l6);
    assert_int_equal(parse(PKT_DLT_RAW, &f6, &pi, &fr, &c), PKT_FRAGMENT);
    assert_int_equal(fr.id, 0x80000001);
    assert_int_equal(fr.offset, 1280);
    assert_true(fr.more);
    assert_int_equal(fr.next_proto, 17);
    assert_int_equal(fr.len, 16);
    assert_memory_equal(fr.data, "0123456789abcdef", 16);
    assert_int_equal(pi.ip_version, 6);
    assert_memory_equal(pi.dst, DST6, 16);
}

typedef void (*frame_fn)(buf *f);
static void fr_eth4(buf *f) { eth(f, 0x0800); udp4(f); }
static void fr_eth6(buf *f) { eth(f, 0x86dd); udp6(f); }
static void fr_qinq(buf *f)
{
    dnsb_zeros(f, 12);
    dnsb_u16(f, 0x88a8);
    dnsb_u16(f, 5);
    dnsb_u16(f, 0x8100);
    dnsb_u16(f, 6);
    dnsb_u16(f, 0x0800);
    udp4(f);
}
static void fr_sll(buf *f) { sll(f, 0x0800); udp4(f); }
static void fr_sll2(buf *f) { sll2(f, 0x86dd); udp6(f); }
static void fr_null(buf *f) { dnsb_bytes(f, "\x1e\x00\x00\x00", 4); udp6(f); }
static void fr_loop(buf *f) { dnsb_bytes(f, "\0\0\0\x02", 4); udp4(f); }
static void fr_raw4opt(buf *f)
{
    buf l = {0};
    udp(&l, 53, 40000, MSG, MSG_LEN);
    ipv4(f, 8, 17, 1, 0, &l);
}
static void fr_raw6ext(buf *f)
{
    buf l = {0};
    ext(&l, 51, 0);
    ext(&l, 17, 51);
    udp(&l, 53, 40000, MSG, MSG_LEN);
    ipv6(f, 0, &l);
}
static void fr_tcp4(buf *f)
{
    buf l = {0};
    tcp(&l, 6, 0x18, "\x00\x03" "abc", 5);
    ipv4(f, 5, 6, 1, 0, &l);
}
static void fr_frag6(buf *f)
{
    buf l = {0};
    dnsb_u8(&l, 17);
    dnsb_u8(&l, 0);
    dnsb_u16(&l, 8 | 1);
    dnsb_u32(&l, 77);
    dnsb_bytes(&l, "0123456789abcdef", 16);
    ipv6(f, 44, &l);
}

/* Every prefix of every valid frame: never a crash, never silent. A cut inside the
 * transport payload still delivers what is there, counted as a short capture. */
static void test_truncation(void **st)
{
    (void)st;
    static const struct {
        frame_fn fn;
        int dlt;
        enum pkt_result full;
    } frames[] = {
        {fr_eth4, PKT_DLT_EN10MB, PKT_OK},     {fr_eth6, PKT_DLT_EN10MB, PKT_OK},
        {fr_qinq, PKT_DLT_EN10MB, PKT_OK},     {fr_sll, PKT_DLT_LINUX_SLL, PKT_OK},
        {fr_sll2, PKT_DLT_LINUX_SLL2, PKT_OK}, {fr_null, PKT_DLT_NULL, PKT_OK},
        {fr_loop, PKT_DLT_LOOP, PKT_OK},       {fr_raw4opt, PKT_DLT_RAW, PKT_OK},
        {fr_raw6ext, PKT_DLT_IPV6, PKT_OK},    {fr_tcp4, PKT_DLT_IPV4, PKT_OK},
        {fr_frag6, PKT_DLT_RAW, PKT_FRAGMENT},
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        buf f = {0};
        frames[i].fn(&f);
        pkt_info pi;
        pkt_frag fr;
        dw_counters c;
        assert_int_equal(parse(frames[i].dlt, &f, &pi, &fr, &c), frames[i].full);
        assert_int_equal(total(&c), 0);
        for (size_t n = 0; n < f.n; n++) {
            /* A copy of exactly n bytes, so a read past it is an ASan error. */
            uint8_t *p = test_malloc(n ? n : 1);
            memcpy(p, f.b, n);
            memset(&c, 0, sizeof c);
            enum pkt_result r = pkt_parse(frames[i].dlt, p, n, &pi, &fr, &c);
            if (r == PKT_OK) {
                assert_true(c.v[DW_C_UDP_SHORT_CAPTURE] + c.v[DW_C_TCP_SHORT_CAPTURE] == 1);
                assert_true(pi.payload + pi.payload_len <= p + n);
            } else {
                if (r != PKT_SKIP)
                    fail_msg("frame %zu prefix %zu: result %d", i, n, r);
                if (total(&c) != 1)
                    fail_msg("frame %zu prefix %zu: %llu counters", i, n,
                             (unsigned long long)total(&c));
            }
            test_free(p);
        }
    }
    pkt_info pi;
    pkt_frag fr;
    dw_counters c = {0};
    assert_int_equal(pkt_parse(PKT_DLT_RAW, NULL, 0, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_IP_TRUNCATED], 1);
}

/* ---- tunnels ---- */

static const uint8_t OUT4S[4] = {198, 51, 100, 1}, OUT4D[4] = {203, 0, 113, 1};

/* An outer IPv4 header with documentation addresses around l. */
static void outer4(buf *f, unsigned proto, unsigned ff, const buf *l)
{
    dnsb_u8(f, 0x45);
    dnsb_u8(f, 0);
    dnsb_u16(f, 20 + (unsigned)l->n);
    dnsb_u16(f, 99);
    dnsb_u16(f, ff);
    dnsb_u8(f, 64);
    dnsb_u8(f, proto);
    dnsb_u16(f, 0);
    dnsb_bytes(f, OUT4S, 4);
    dnsb_bytes(f, OUT4D, 4);
    dnsb_bytes(f, l->b, l->n);
}

/* An inner Ethernet frame (tagged vlan when non-zero) carrying udp4(). */
static void inner_eth4(buf *f, unsigned vlan)
{
    dnsb_zeros(f, 12);
    if (vlan) {
        dnsb_u16(f, 0x8100);
        dnsb_u16(f, vlan);
    }
    dnsb_u16(f, 0x0800);
    udp4(f);
}

/* Ethernet / outer IPv4 / UDP to dport / hdr / payload. */
static void udp_tunnel(buf *f, unsigned dport, const buf *hdr_and_payload)
{
    buf u = {0};
    udp(&u, 49152, dport, hdr_and_payload->b, hdr_and_payload->n);
    eth(f, 0x0800);
    outer4(f, 17, 0, &u);
}

/* Ethernet / outer IPv4 / GRE (given flags word, fields, protocol) / payload. */
static void gre_frame(buf *f, const buf *gre_and_payload)
{
    eth(f, 0x0800);
    outer4(f, 47, 0, gre_and_payload);
}

static uint64_t info_free_total(const dw_counters *c)
{
    static const int info[] = {DW_C_TUNNEL_VXLAN,   DW_C_TUNNEL_GENEVE,  DW_C_TUNNEL_GRE,
                               DW_C_TUNNEL_ERSPAN1, DW_C_TUNNEL_ERSPAN2, DW_C_TUNNEL_ERSPAN3,
                               DW_C_TUNNEL_PPPOE,   DW_C_TUNNEL_OUTER_FRAG};
    uint64_t t = total(c);
    for (size_t i = 0; i < sizeof info / sizeof info[0]; i++)
        t -= c->v[info[i]];
    return t;
}

static void fr_vxlan(buf *f)
{
    buf v = {0};
    dnsb_u32(&v, 0x08000000);
    dnsb_u32(&v, 0x00123400);
    inner_eth4(&v, 30);
    udp_tunnel(f, 4789, &v);
}

static void fr_geneve(buf *f)
{
    buf v = {0};
    dnsb_u8(&v, 2); /* two words of options */
    dnsb_u8(&v, 0);
    dnsb_u16(&v, 0x6558);
    dnsb_u32(&v, 0x00000100);
    dnsb_u32(&v, 0x01028001);
    dnsb_u32(&v, 0xdeadbeef);
    inner_eth4(&v, 0);
    udp_tunnel(f, 6081, &v);
}

static void fr_gre_cks(buf *f)
{
    buf g = {0};
    dnsb_u16(&g, 0xb000); /* C K S */
    dnsb_u16(&g, 0x0800);
    dnsb_u32(&g, 0);
    dnsb_u32(&g, 7);
    dnsb_u32(&g, 8);
    udp4(&g);
    gre_frame(f, &g);
}

static void fr_erspan3(buf *f)
{
    buf g = {0};
    dnsb_u16(&g, 0x1000);
    dnsb_u16(&g, 0x22eb);
    dnsb_u32(&g, 1);
    dnsb_u32(&g, 0x20280001); /* version 2, VLAN 40 */
    dnsb_u32(&g, 0x11223344);
    dnsb_u16(&g, 0);
    dnsb_u16(&g, 0x0001); /* Ethernet, O: 8-byte subheader */
    dnsb_u32(&g, 0);
    dnsb_u32(&g, 0);
    inner_eth4(&g, 0);
    gre_frame(f, &g);
}

static void fr_pppoe6(buf *f)
{
    eth(f, 0x8864);
    dnsb_u8(f, 0x11);
    dnsb_u8(f, 0);
    dnsb_u16(f, 1);
    dnsb_u16(f, 0);
    dnsb_u16(f, 0x0057);
    udp6(f);
}

/* Wraps f's IP packet (from byte 14 on) in one more IP-in-GRE layer, in place. */
static void wrap_gre(buf *f)
{
    buf g = {0}, out = {0};
    dnsb_u16(&g, 0);
    dnsb_u16(&g, 0x0800);
    dnsb_bytes(&g, f->b + 14, f->n - 14);
    gre_frame(&out, &g);
    *f = out;
}

static void test_vxlan_geneve(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf f = {0};
    fr_vxlan(&f);
    assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4); /* the inner addresses and ports, not the outer ones */
    assert_int_equal(pi.tunnels, 1);
    assert_int_equal(pi.n_vlan, 1);
    assert_int_equal(pi.vlan[0], 30);
    assert_int_equal(c.v[DW_C_TUNNEL_VXLAN], 1);
    assert_int_equal(total(&c), 1);

    /* A DNS response from port 53 to a client port that is a tunnel's: DNS, not VXLAN. */
    buf r = {0}, ru = {0};
    uint8_t m[MSG_LEN];
    memcpy(m, MSG, MSG_LEN);
    m[0] = 0x08; /* an id whose first byte has VXLAN's I flag */
    udp(&ru, 53, 4789, m, MSG_LEN);
    eth(&r, 0x0800);
    outer4(&r, 17, 0, &ru);
    assert_int_equal(parse(PKT_DLT_EN10MB, &r, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.tunnels, 0);
    assert_int_equal(pi.payload_len, MSG_LEN);
    assert_int_equal(total(&c), 0);

    /* Linux's old port. */
    f.b[14 + 20 + 2] = 8472 >> 8, f.b[14 + 20 + 3] = 8472 & 0xff;
    assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.tunnels, 1);

    /* No I flag: not VXLAN, the datagram stays plain UDP (counted). */
    buf g = {0};
    fr_vxlan(&g);
    g.b[14 + 20 + 8] = 0x00;
    assert_int_equal(parse(PKT_DLT_EN10MB, &g, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.tunnels, 0);
    assert_int_equal(pi.dport, 4789);
    assert_memory_equal(pi.src, OUT4S, 4);
    assert_int_equal(c.v[DW_C_TUNNEL_MALFORMED], 1);

    /* Geneve with options, Ethernet inside. */
    buf h = {0};
    fr_geneve(&h);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(c.v[DW_C_TUNNEL_GENEVE], 1);
    assert_int_equal(total(&c), 1);

    /* Version 1: not Geneve as we know it; plain UDP, counted. */
    buf h1 = h;
    h1.b[14 + 28] = 0x42;
    assert_int_equal(parse(PKT_DLT_EN10MB, &h1, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.tunnels, 0);
    assert_int_equal(c.v[DW_C_TUNNEL_MALFORMED], 1);

    /* Options longer than the datagram. */
    buf h2 = h;
    h2.b[14 + 28] = 0x3f;
    dnsb_set16(&h2, 14 + 24, 8 + 8 + 8 + 20); /* UDP length: header, Geneve, 2 words, a bit */
    assert_int_equal(parse(PKT_DLT_EN10MB, &h2, &pi, &fr, &c), PKT_OK);
    assert_int_equal(pi.tunnels, 0);
    assert_int_equal(c.v[DW_C_TUNNEL_MALFORMED], 1);

    /* IPv4 directly inside; ARP inside is counted as not for us. */
    buf v = {0}, h3 = {0};
    dnsb_u8(&v, 0);
    dnsb_u8(&v, 0);
    dnsb_u16(&v, 0x0800);
    dnsb_u32(&v, 0x100);
    udp4(&v);
    udp_tunnel(&h3, 6081, &v);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h3, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    dnsb_set16(&h3, 14 + 28 + 2, 0x0806);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h3, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_PROTO_OTHER], 1);
}

static void test_gre(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf f = {0};
    fr_gre_cks(&f);
    assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(pi.tunnels, 1);
    assert_int_equal(c.v[DW_C_TUNNEL_GRE], 1);
    assert_int_equal(total(&c), 1);

    static const struct {
        unsigned flags, proto;
        int counter;
    } bad[] = {
        {0x0001, 0x0800, DW_C_TUNNEL_GRE_VERSION}, /* PPTP's enhanced GRE */
        {0x4000, 0x0800, DW_C_TUNNEL_MALFORMED},   /* routing present */
        {0x0000, 0x0806, DW_C_TUNNEL_PROTO_OTHER}, /* ARP */
        {0x0000, 0x880b, DW_C_TUNNEL_PROTO_OTHER}, /* PPP */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf g = {0}, h = {0};
        dnsb_u16(&g, bad[i].flags);
        dnsb_u16(&g, bad[i].proto);
        udp4(&g);
        gre_frame(&h, &g);
        assert_int_equal(parse(PKT_DLT_EN10MB, &h, &pi, &fr, &c), PKT_SKIP);
        assert_int_equal(c.v[bad[i].counter], 1);
        assert_int_equal(total(&c), 1);
    }
    /* K and S set, but the datagram ends inside the optional fields. */
    buf g = {0}, h = {0};
    dnsb_u16(&g, 0x3000);
    dnsb_u16(&g, 0x0800);
    dnsb_u32(&g, 1);
    gre_frame(&h, &g);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_MALFORMED], 1);

    /* IPv6 in GRE over IPv6, and transparent Ethernet bridging. */
    buf g6 = {0}, l6 = {0}, h6 = {0};
    dnsb_u16(&g6, 0x2000);
    dnsb_u16(&g6, 0x86dd);
    dnsb_u32(&g6, 42);
    udp6(&g6);
    ipv6(&l6, 47, &g6);
    eth(&h6, 0x86dd);
    dnsb_bytes(&h6, l6.b, l6.n);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h6, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 6);
    buf gt = {0}, ht = {0};
    dnsb_u16(&gt, 0);
    dnsb_u16(&gt, 0x6558);
    inner_eth4(&gt, 50);
    gre_frame(&ht, &gt);
    assert_int_equal(parse(PKT_DLT_EN10MB, &ht, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(pi.vlan[0], 50);
}

static void test_erspan(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    /* Type I: 0x88BE without a sequence number, the frame right after GRE. */
    buf g = {0}, h = {0};
    dnsb_u16(&g, 0);
    dnsb_u16(&g, 0x88be);
    inner_eth4(&g, 0);
    gre_frame(&h, &g);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(c.v[DW_C_TUNNEL_ERSPAN1], 1);

    /* Type II; then with a wrong version. */
    buf g2 = {0}, h2 = {0};
    dnsb_u16(&g2, 0x1000);
    dnsb_u16(&g2, 0x88be);
    dnsb_u32(&g2, 5);
    dnsb_u32(&g2, 0x10280001);
    dnsb_u32(&g2, 0);
    inner_eth4(&g2, 40);
    gre_frame(&h2, &g2);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h2, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(c.v[DW_C_TUNNEL_ERSPAN2], 1);
    h2.b[14 + 20 + 8] = 0x20;
    assert_int_equal(parse(PKT_DLT_EN10MB, &h2, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_MALFORMED], 1);

    /* Type III with the platform subheader; the O bit clear would misread the frame. */
    buf h3 = {0};
    fr_erspan3(&h3);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h3, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(c.v[DW_C_TUNNEL_ERSPAN3], 1);
    assert_int_equal(total(&c), 1);
    buf h4 = h3;
    h4.b[14 + 20 + 8 + 11] = 0x00; /* O clear: the subheader is read as Ethernet */
    assert_int_not_equal(parse(PKT_DLT_EN10MB, &h4, &pi, &fr, &c), PKT_OK);
    /* Frame type 2: IP straight after the header. */
    buf g5 = {0}, h5 = {0};
    dnsb_u16(&g5, 0x1000);
    dnsb_u16(&g5, 0x22eb);
    dnsb_u32(&g5, 1);
    dnsb_u32(&g5, 0x20000001);
    dnsb_u32(&g5, 0);
    dnsb_u16(&g5, 0);
    dnsb_u16(&g5, 2 << 10);
    udp4(&g5);
    gre_frame(&h5, &g5);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h5, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    /* Frame type 5: unknown. */
    dnsb_set16(&h5, 14 + 20 + 8 + 10, 5 << 10);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h5, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_PROTO_OTHER], 1);
    /* Subheader announced, datagram ends first. */
    buf g6 = {0}, h6 = {0};
    dnsb_u16(&g6, 0x1000);
    dnsb_u16(&g6, 0x22eb);
    dnsb_u32(&g6, 1);
    dnsb_u32(&g6, 0x20000001);
    dnsb_u32(&g6, 0);
    dnsb_u16(&g6, 0);
    dnsb_u16(&g6, 1);
    dnsb_u32(&g6, 0);
    gre_frame(&h6, &g6);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h6, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_MALFORMED], 1);
}

static void test_pppoe(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf f = {0};
    fr_pppoe6(&f);
    assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 6);
    assert_int_equal(c.v[DW_C_TUNNEL_PPPOE], 1);
    assert_int_equal(pi.tunnels, 0); /* a link layer, not a tunnel */

    /* Protocol field compression: one byte, 0x21 = IPv4; under a VLAN tag. */
    buf g = {0};
    dnsb_zeros(&g, 12);
    dnsb_u16(&g, 0x8100);
    dnsb_u16(&g, 12);
    dnsb_u16(&g, 0x8864);
    dnsb_u8(&g, 0x11), dnsb_u8(&g, 0), dnsb_u16(&g, 1), dnsb_u16(&g, 0);
    dnsb_u8(&g, 0x21);
    udp4(&g);
    assert_int_equal(parse(PKT_DLT_EN10MB, &g, &pi, &fr, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(pi.vlan[0], 12);

    buf h = f;
    h.b[14] = 0x12; /* version/type */
    assert_int_equal(parse(PKT_DLT_EN10MB, &h, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_MALFORMED], 1);
    h = f;
    h.b[15] = 0x09; /* a discovery code (PADI) on the session ethertype */
    assert_int_equal(parse(PKT_DLT_EN10MB, &h, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_MALFORMED], 1);
    h = f;
    dnsb_set16(&h, 20, 0xc021); /* LCP */
    assert_int_equal(parse(PKT_DLT_EN10MB, &h, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_PROTO_OTHER], 1);
}

static void test_tunnel_depth_and_fragments(void **st)
{
    (void)st;
    pkt_info pi;
    pkt_frag fr;
    dw_counters c;
    buf f = {0};
    eth(&f, 0x0800);
    udp4(&f);
    for (int d = 1; d <= PKT_MAX_TUNNEL; d++) {
        wrap_gre(&f);
        assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_OK);
        assert_int_equal(pi.tunnels, d);
        assert_udp_msg(&pi, 4);
    }
    wrap_gre(&f);
    assert_int_equal(parse(PKT_DLT_EN10MB, &f, &pi, &fr, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_TOO_DEEP], 1);
    assert_int_equal(c.v[DW_C_TUNNEL_GRE], PKT_MAX_TUNNEL);

    /* An inner fragment: its addresses are the inner ones (the reassembly key). */
    buf l = {0}, in = {0}, g = {0}, h = {0};
    udp(&l, 53, 40000, MSG, MSG_LEN);
    ipv4(&in, 5, 17, 0x77, 0x2000, &l); /* MF, offset 0 */
    dnsb_u16(&g, 0);
    dnsb_u16(&g, 0x0800);
    dnsb_bytes(&g, in.b, in.n);
    gre_frame(&h, &g);
    assert_int_equal(parse(PKT_DLT_EN10MB, &h, &pi, &fr, &c), PKT_FRAGMENT);
    assert_memory_equal(pi.src, SRC4, 4);
    assert_int_equal(fr.id, 0x77);
    assert_int_equal(fr.next_proto, 17);

    /* An outer GRE fragment goes to reassembly (it was "not UDP/TCP" before)... */
    buf gg = {0}, o = {0};
    dnsb_u16(&gg, 0);
    dnsb_u16(&gg, 0x0800);
    udp4(&gg);
    eth(&o, 0x0800);
    outer4(&o, 47, 0x2000, &gg);
    assert_int_equal(parse(PKT_DLT_EN10MB, &o, &pi, &fr, &c), PKT_FRAGMENT);
    assert_int_equal(fr.next_proto, 47);
    assert_memory_equal(pi.src, OUT4S, 4);
    /* ...and the reassembled payload is opened. */
    assert_int_equal(pkt_parse_l4(47, gg.b, gg.n, &pi, &c), PKT_OK);
    assert_udp_msg(&pi, 4);
    assert_int_equal(c.v[DW_C_TUNNEL_OUTER_FRAG], 1);
    /* A fragment inside a reassembled tunnel is dropped, counted. */
    memset(&c, 0, sizeof c);
    memset(&pi, 0, sizeof pi);
    assert_int_equal(pkt_parse_l4(47, g.b, g.n, &pi, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_TUNNEL_FRAG_IN_FRAG], 1);
}

/* Every prefix of every tunnel frame: no read past the end (ASan), a result that is
 * either a payload inside the bytes or a skip with one reason counted (beside the outer
 * UDP's "cut by snaplen", which the inner packet's cut implies). */
static void test_tunnel_truncation(void **st)
{
    (void)st;
    static const frame_fn fns[] = {fr_vxlan, fr_geneve, fr_gre_cks, fr_erspan3, fr_pppoe6};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        buf f = {0};
        fns[i](&f);
        for (size_t n = 0; n < f.n; n++) {
            uint8_t *p = test_malloc(n ? n : 1);
            memcpy(p, f.b, n);
            pkt_info pi;
            pkt_frag fr;
            dw_counters c;
            memset(&c, 0, sizeof c);
            enum pkt_result r = pkt_parse(PKT_DLT_EN10MB, p, n, &pi, &fr, &c);
            if (r == PKT_OK)
                assert_true(pi.payload + pi.payload_len <= p + n);
            else if (r != PKT_SKIP)
                fail_msg("frame %zu prefix %zu: result %d", i, n, r);
            else if (info_free_total(&c) - c.v[DW_C_UDP_SHORT_CAPTURE] != 1)
                fail_msg("frame %zu prefix %zu: %llu reasons", i, n,
                         (unsigned long long)info_free_total(&c));
            test_free(p);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet),     cmocka_unit_test(test_ethernet_padding),
        cmocka_unit_test(test_vlan),         cmocka_unit_test(test_sll),
        cmocka_unit_test(test_null_loop),    cmocka_unit_test(test_raw),
        cmocka_unit_test(test_dlt_supported), cmocka_unit_test(test_ipv4_header),
        cmocka_unit_test(test_udp_len),      cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_ipv6_ext),     cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_vxlan_geneve), cmocka_unit_test(test_gre),
        cmocka_unit_test(test_erspan),       cmocka_unit_test(test_pppoe),
        cmocka_unit_test(test_tunnel_depth_and_fragments),
        cmocka_unit_test(test_tunnel_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
