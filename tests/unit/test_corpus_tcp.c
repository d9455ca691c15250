/* Conformance of the TCP reassembler over dnscap's TCP captures (DNS-OARC dnscap,
 * src/test; see the corpus's README.md). Frames are parsed here by a tiny local
 * Ethernet/IPv4/IPv6/TCP reader (the project's pkt.c is written separately), fed to
 * tcp_reasm_segment(), and the DNS messages delivered are counted and their ids checked.
 *
 * Where the expected numbers come from (see each test for the detail):
 *   - tshark -r FILE -Y dns -T fields -e dns.id: one line per frame holding DNS, several
 *     ids when a frame holds several messages; tshark does not reassemble across the
 *     missing segments of the hole captures, so there it under-counts;
 *   - dnscap's test7.gold / test8.gold (`dnscap -g`, second run of test7 with
 *     parse_ongoing_tcp=yes), which give per-file message counts;
 *   - the sequence numbers of the captures themselves (tshark -T fields -e tcp.seq_raw
 *     -e tcp.len), which show which bytes are missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "decoders/tcpstream.h"
#include "decoders/wire.h"
#include "tests/lib/dw_test.h"

#define MAXIDS 256

typedef struct seen {
    unsigned n;
    uint16_t id[MAXIDS];
    bool from_server[MAXIDS]; /* sport 53 */
} seen;

static void on_msg(void *ctx, const pkt_info *pi, const uint8_t *msg, size_t len)
{
    seen *s = ctx;
    assert_true(len >= 12);
    wire_ctx w = wire_init(msg, len);
    uint16_t id = wire_u16(&w);
    if (s->n < MAXIDS) {
        s->id[s->n] = id;
        s->from_server[s->n] = pi->sport == 53;
    }
    s->n++;
}

/* Ethernet (with 802.1Q tags), IPv4 or IPv6 (no extension headers), TCP: enough for
 * these captures. The IP length bounds the payload (1qtcppadd.pcap has Ethernet padding). */
static bool parse_frame(const uint8_t *data, size_t caplen, uint64_t ts, pkt_info *pi)
{
    memset(pi, 0, sizeof *pi);
    pi->ts_us = ts;
    wire_ctx w = wire_init(data, caplen);
    wire_skip(&w, 12);
    uint16_t et = wire_u16(&w);
    while (et == 0x8100 || et == 0x88a8) {
        wire_skip(&w, 2);
        et = wire_u16(&w);
    }
    if (!wire_ok(&w))
        return false;
    wire_ctx l4;
    if (et == 0x0800) {
        size_t start = w.pos;
        uint8_t vihl = wire_u8(&w);
        wire_skip(&w, 1);
        uint16_t tot = wire_u16(&w);
        wire_skip(&w, 4);
        wire_skip(&w, 1);
        pi->proto = wire_u8(&w);
        wire_skip(&w, 2);
        wire_bytes(&w, pi->src, 4);
        wire_bytes(&w, pi->dst, 4);
        size_t ihl = (size_t)(vihl & 0xf) * 4;
        if (!wire_ok(&w) || vihl >> 4 != 4 || ihl < 20 || tot < ihl)
            return false;
        wire_seek(&w, start + ihl);
        l4 = wire_sub(&w, tot - ihl);
        pi->ip_version = 4;
    } else if (et == 0x86dd) {
        uint32_t vtc = wire_u32(&w);
        uint16_t plen = wire_u16(&w);
        pi->proto = wire_u8(&w);
        wire_skip(&w, 1);
        wire_bytes(&w, pi->src, 16);
        wire_bytes(&w, pi->dst, 16);
        if (vtc >> 28 != 6)
            return false;
        l4 = wire_sub(&w, plen);
        pi->ip_version = 6;
    } else {
        return false;
    }
    if (!wire_ok(&w) || pi->proto != 6)
        return false;
    pi->sport = wire_u16(&l4);
    pi->dport = wire_u16(&l4);
    pi->tcp_seq = wire_u32(&l4);
    wire_skip(&l4, 4); /* ack */
    uint8_t off = wire_u8(&l4);
    pi->tcp_flags = wire_u8(&l4);
    wire_seek(&l4, (size_t)(off >> 4) * 4);
    if (!wire_ok(&l4))
        return false;
    pi->payload = wire_ptr(&l4);
    pi->payload_len = wire_left(&l4);
    return true;
}

static const char *corpus_dir(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/dnscap", dw_corpus_dir());
    return dir;
}

/* Feeds every frame of FILE; delivered messages go to *before_flush, then
 * tcp_reasm_flush() (the end of an offline capture) adds what it delivers to *all. */
static void run_file(const char *name, seen *before_flush, seen *all, dw_counters *c)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", corpus_dir(), name);
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) {
        print_message("%s\n", err);
        fail();
    }
    assert_int_equal(pcap_datalink(p), DLT_EN10MB);
    tcp_limits l;
    memset(&l, 0, sizeof l);
    tcp_limits_default(&l);
    tcp_reasm *t = tcp_reasm_new(&l);
    assert_non_null(t);
    memset(before_flush, 0, sizeof *before_flush);
    memset(c, 0, sizeof *c);
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(p, &h, &data) == 1) {
        pkt_info pi;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        if (parse_frame(data, h->caplen, ts, &pi))
            tcp_reasm_segment(t, &pi, on_msg, before_flush, c);
    }
    *all = *before_flush;
    tcp_reasm_flush(t, on_msg, all, c);
    assert_int_equal(tcp_reasm_flows(t), 0);
    if (getenv("DW_TCP_DEBUG")) {
        for (unsigned i = 0; i < all->n && i < MAXIDS; i++)
            fprintf(stderr, "%s %c %04x%s\n", name, all->from_server[i] ? 'R' : 'Q', all->id[i],
                    i >= before_flush->n ? " (flush)" : "");
    }
    tcp_reasm_free(t);
    pcap_close(p);
}

static void assert_ids(const seen *s, const char *dirs, const uint16_t *ids, unsigned n)
{
    assert_int_equal(s->n, n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(s->id[i], ids[i]);
        assert_int_equal(s->from_server[i], dirs[i] == 'R');
    }
}

#define CNT(c, name) ((c).v[DW_C_##name])

/* dnso1tcp.pcap: 41 queries and their responses over one connection, each message as a
 * length segment then a body segment. tshark: 82 frames with one id each; dnscap test7
 * (both runs): 82. */
static void test_dnso1tcp(void **state)
{
    (void)state;
    seen a, all;
    dw_counters c;
    run_file("dnso1tcp.pcap", &a, &all, &c);
    assert_int_equal(a.n, 82);
    assert_int_equal(all.n, 82);
    unsigned q = 0;
    for (unsigned i = 0; i < a.n; i++) {
        /* strict alternation: query, then its response with the same id */
        assert_int_equal(a.from_server[i], i % 2 == 1);
        if (i % 2 == 1)
            assert_int_equal(a.id[i], a.id[i - 1]);
        q += !a.from_server[i];
    }
    assert_int_equal(q, 41);
    assert_int_equal(a.id[0], 0xe7af);
    assert_int_equal(a.id[2], 0x8b51);
    assert_int_equal(CNT(c, TCP_GAP), 0);
    assert_int_equal(CNT(c, TCP_MIDSTREAM), 0);
    assert_int_equal(CNT(c, TCP_OUT_OF_ORDER), 0);
}

/* dnsotcp-many1pkt.pcap: three queries in one segment (tshark: one frame, three ids
 * e7af), one response 12cf. dnscap test8: 4. */
static void test_many1pkt(void **state)
{
    (void)state;
    seen a, all;
    dw_counters c;
    run_file("dnsotcp-many1pkt.pcap", &a, &all, &c);
    static const uint16_t ids[] = {0xe7af, 0xe7af, 0xe7af, 0x12cf};
    assert_ids(&a, "QQQR", ids, 4);
}

/* dnsotcp-manyopkts.pcap: three 30-byte queries over two 45-byte segments (the middle one
 * split in half). tshark: e7af, then e7af,e7af. dnscap test8: 3. */
static void test_manyopkts(void **state)
{
    (void)state;
    seen a, all;
    dw_counters c;
    run_file("dnsotcp-manyopkts.pcap", &a, &all, &c);
    static const uint16_t ids[] = {0xe7af, 0xe7af, 0xe7af};
    assert_ids(&a, "QQQ", ids, 3);
}

/* 1qtcpnosyn.pcap: no SYN in either direction; both first data segments start on a
 * message boundary. tshark: 12cf, 12cf; dnscap test7 with parse_ongoing_tcp: 2. */
static void test_1qtcpnosyn(void **state)
{
    (void)state;
    seen a, all;
    dw_counters c;
    run_file("1qtcpnosyn.pcap", &a, &all, &c);
    static const uint16_t ids[] = {0x12cf, 0x12cf};
    assert_ids(&a, "QR", ids, 2);
    assert_int_equal(CNT(c, TCP_MIDSTREAM), 2);
}

/* 1qtcppadd.pcap: one exchange in Ethernet frames with trailing padding (the IP length is
 * what bounds the segment). tshark: 12cf, 12cf. */
static void test_1qtcppadd(void **state)
{
    (void)state;
    seen a, all;
    dw_counters c;
    run_file("1qtcppadd.pcap", &a, &all, &c);
    static const uint16_t ids[] = {0x12cf, 0x12cf};
    assert_ids(&a, "QR", ids, 2);
    assert_int_equal(CNT(c, TCP_MIDSTREAM), 0);
}

/* do1t-nosyn-1nolen.pcap: no SYN; the client's first segment is a query body whose
 * length prefix was not captured (seq 1599198943, 28 bytes), then the length of the next
 * query (2 bytes) and its body (45 bytes); the server sends two responses. The first
 * client segment must not be taken for a message start (its id e7af would read as a
 * 59311-byte length and swallow the stream), so resync skips it and finds 8b51.
 * tshark shows only e7af (response) and 8b51 (response): it does not join the 2-byte
 * length to the query body; dnscap test7 with parse_ongoing_tcp: 3, as here. */
static void test_nosyn_nolen(void **state)
{
    (void)state;
    seen a, all;
    dw_counters c;
    run_file("do1t-nosyn-1nolen.pcap", &a, &all, &c);
    static const uint16_t ids[] = {0xe7af, 0x8b51, 0x8b51};
    assert_ids(&a, "RQR", ids, 3);
    assert_int_equal(CNT(c, TCP_MIDSTREAM), 2);
}

/* dnso1tcp-midmiss.pcap: the start of dnso1tcp.pcap with one query (30 bytes at client
 * seq 1599199018) and one response (145 bytes at server seq 1528700896) missing; each
 * direction then carries one or two more messages and the capture ends without FIN.
 * While the file is read, the messages behind the holes are held waiting for a
 * retransmission (fewer than 8 segments and less than 1 s follow the holes): 3 delivered
 * (client e7af, server e7af, client 8b51) and TCP_GAP 0, which is what dnscap's first
 * test7 run (without parse_ongoing_tcp) prints too. At end of file, tcp_reasm_flush()
 * declares both holes gaps and delivers the 3 complete messages behind them (server 14d9,
 * client 59c6, server 59c6): 6 in all, the count of dnscap's parse_ongoing_tcp run and of
 * tshark's frames with ids. */
static void test_midmiss(void **state)
{
    (void)state;
    seen a, all;
    dw_counters c;
    run_file("dnso1tcp-midmiss.pcap", &a, &all, &c);
    static const uint16_t ids[] = {0xe7af, 0xe7af, 0x8b51};
    assert_ids(&a, "QRQ", ids, 3);
    assert_int_equal(all.n, 6);
    unsigned q59 = 0, r59 = 0, r14 = 0;
    for (unsigned i = 3; i < 6; i++) {
        q59 += all.id[i] == 0x59c6 && !all.from_server[i];
        r59 += all.id[i] == 0x59c6 && all.from_server[i];
        r14 += all.id[i] == 0x14d9 && all.from_server[i];
    }
    assert_int_equal(q59 + r59 + r14, 3);
    assert_true(q59 == 1 && r59 == 1 && r14 == 1);
    assert_int_equal(CNT(c, TCP_GAP), 2);
}

/* dnso1tcp-bighole.pcap: dnso1tcp.pcap with 79 client bytes missing at seq 1599199048
 * (two whole queries and the length of a third, whose body at 1599199127 is then
 * unusable) and 237 server bytes at 1528701041 (three whole responses). So 82 - 3 - 3 =
 * 76 messages are complete on the wire. After each hole more than 8 segments follow,
 * so both holes become gaps while the file is read, and resync skips the orphan query
 * body. tshark shows 41 frames with ids (it loses the stream after the hole); dnscap
 * test8 prints 63 (it does not reassemble, and stops at misaligned segments). Every
 * message delivered must be one of dnso1tcp.pcap's, in the same order per direction. */
static void test_bighole(void **state)
{
    (void)state;
    seen full, fall, a, all;
    dw_counters c;
    run_file("dnso1tcp.pcap", &full, &fall, &c);
    run_file("dnso1tcp-bighole.pcap", &a, &all, &c);
    assert_int_equal(a.n, 76);
    assert_int_equal(all.n, 76);
    assert_int_equal(CNT(c, TCP_GAP), 2);
    for (int dir = 0; dir < 2; dir++) {
        /* a.ids of this direction must be a subsequence of full's, skipping exactly 3 */
        unsigned j = 0, skipped = 0;
        for (unsigned i = 0; i < a.n; i++) {
            if (a.from_server[i] != dir)
                continue;
            while (j < full.n && (full.from_server[j] != dir || full.id[j] != a.id[i])) {
                skipped += full.from_server[j] == dir;
                j++;
            }
            assert_true(j < full.n);
            j++;
        }
        assert_int_equal(skipped, 3);
    }
}

int main(void)
{
    if (!dw_corpus_has("dnscap")) {
        char why[4200];
        snprintf(why, sizeof why, "conformance corpus %s/dnscap not found", dw_corpus_dir());
        return dw_unavailable(why);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dnso1tcp),   cmocka_unit_test(test_many1pkt),
        cmocka_unit_test(test_manyopkts),  cmocka_unit_test(test_1qtcpnosyn),
        cmocka_unit_test(test_1qtcppadd),  cmocka_unit_test(test_nosyn_nolen),
        cmocka_unit_test(test_midmiss),    cmocka_unit_test(test_bighole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
