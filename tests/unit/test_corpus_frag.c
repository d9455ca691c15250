/* pkt + defrag against captures from other projects' test suites (the conformance corpus,
 * DNSWATCH_TEST_CORPUS in CMake):
 * DNS-OARC pcap-thread's fragment edge cases, whose .gold hexdumps hold the payloads its
 * reassembler produced, and dnscap's captures (frags.pcap: 41 exchanges, IPv4-fragmented).
 * Without the corpus the program exits 77 (ctest: skipped), or fails under DW_NO_SKIP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "decoders/defrag.h"
#include "decoders/pkt.h"
#include "decoders/wire.h"
#include "tests/lib/dw_test.h"

#define MAX_MSGS 256

typedef struct stats {
    unsigned udp;           /* UDP payloads delivered */
    unsigned reassembled;   /* of which from fragments */
    unsigned queries, responses;
    size_t bytes;           /* payload bytes delivered */
    unsigned vlan_tagged;
    uint16_t vlan;
    size_t len[MAX_MSGS];
    uint8_t *data[MAX_MSGS];
    dw_counters c;
} stats;

static char corpus[4096];

static int group_setup(void **st)
{
    (void)st;
    snprintf(corpus, sizeof corpus, "%s", dw_corpus_dir());
    return 0;
}

static void record(stats *s, const pkt_info *pi)
{
    if (s->udp < MAX_MSGS) {
        s->len[s->udp] = pi->payload_len;
        s->data[s->udp] = malloc(pi->payload_len + 1);
        assert_non_null(s->data[s->udp]);
        memcpy(s->data[s->udp], pi->payload, pi->payload_len);
    }
    s->udp++;
    s->reassembled += pi->reassembled;
    s->bytes += pi->payload_len;
    if (pi->n_vlan) {
        s->vlan_tagged++;
        s->vlan = pi->vlan[0];
    }
    if (pi->sport == 53 || pi->dport == 53) {
        wire_ctx w = wire_init(pi->payload, pi->payload_len);
        wire_skip(&w, 2);
        uint8_t flags = wire_u8(&w);
        if (wire_ok(&w)) {
            if (flags & 0x80)
                s->responses++;
            else
                s->queries++;
        }
    }
}

static void stats_free(stats *s)
{
    for (unsigned i = 0; i < s->udp && i < MAX_MSGS; i++)
        free(s->data[i]);
}

/* Reads a capture the way the decoder will: pkt_parse, fragments into defrag, and the
 * reassembled payload through pkt_parse_l4 with the protocol defrag reports. */
static void run(const char *rel, stats *s)
{
    char path[8192], err[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/%s", corpus, rel);
    memset(s, 0, sizeof *s);
    pcap_t *p = pcap_open_offline(path, err);
    if (!p)
        fail_msg("%s: %s", path, err);
    int dlt = pcap_datalink(p);
    assert_true(pkt_dlt_supported(dlt));
    defrag_limits lim = {0};
    defrag_limits_default(&lim);
    defrag *d = defrag_new(&lim);
    assert_non_null(d);
    struct pcap_pkthdr *h;
    const u_char *bytes;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &bytes)) == 1) {
        pkt_info pi;
        pkt_frag fr;
        pi.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        enum pkt_result r = pkt_parse(dlt, bytes, h->caplen, &pi, &fr, &s->c);
        if (r == PKT_OK && pi.proto == 17) {
            record(s, &pi);
        } else if (r == PKT_FRAGMENT) {
            defrag_key k;
            memset(&k, 0, sizeof k);
            k.ip_version = pi.ip_version;
            memcpy(k.src, pi.src, 16);
            memcpy(k.dst, pi.dst, 16);
            k.id = fr.id;
            k.proto = fr.next_proto;
            const uint8_t *out;
            size_t len;
            if (defrag_add(d, &k, fr.offset, fr.more, fr.data, fr.len, pi.ts_us, &out, &len,
                           &s->c) == 1) {
                pi.reassembled = true;
                if (pkt_parse_l4(defrag_proto(d), out, len, &pi, &s->c) == PKT_OK &&
                    pi.proto == 17)
                    record(s, &pi);
            }
        }
    }
    assert_int_equal(rc, PCAP_ERROR_BREAK);
    pcap_close(p);
    defrag_free(d);
}

/* The payloads pcap-thread's reassembler wrote for one capture, from its .gold files:
 * lines "name:<file>-dist ... data:<hex>" that are neither single fragments nor marked
 * invalid. Returns how many; each is compared in order. */
static unsigned gold(const char *file, uint8_t **out, size_t *outlen, unsigned max)
{
    static const char *golds[] = {"test2.gold", "test4.gold"};
    char want[256];
    snprintf(want, sizeof want, "name:%s-dist ", file);
    unsigned n = 0;
    for (int g = 0; g < 2; g++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/pcap-thread/hexdump/test/%s", corpus, golds[g]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
            if (strncmp(line, want, strlen(want)) != 0 || strstr(line, " fragment data:"))
                continue;
            const char *hex = strstr(line, "data:");
            assert_non_null(hex);
            hex += 5;
            size_t hl = strcspn(hex, "\r\n");
            assert_true(n < max);
            out[n] = malloc(hl / 2 + 1);
            assert_non_null(out[n]);
            for (size_t i = 0; i < hl / 2; i++) {
                unsigned v;
                assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
                out[n][i] = (uint8_t)v;
            }
            outlen[n++] = hl / 2;
        }
        free(line);
        fclose(f);
    }
    return n;
}

/* Expected UDP datagrams per pcap-thread capture, under the Linux policy of defrag.h
 * (the same counts hold for v4 and v6: the files mirror each other).
 *  order: 5 datagrams in order, reversed and interleaved: 5.
 *  dup: one fragment sent twice: 1 (pcap-thread rejects the datagram as invalid; Linux,
 *       whose receiver the victim runs, drops the copy and delivers: so do we).
 *  empty: one fragment replaced by an empty one (IPv4: zero-length fragment, which drops
 *       the datagram; IPv6: a bare header with payload length 0): its bytes never come: 0.
 *  nomf: a middle fragment without MF: the datagram ends there, complete, with a UDP
 *       length past its end (payload cut to what is there, as pcap-thread's gold shows);
 *       the later fragments never get a first one: 1.
 *  offset_offbyone1/2: one fragment shifted by 8 bytes: a hole before it and a partial
 *       overlap after it (or the reverse): the datagram is dropped: 0.
 *  skip_first/middle/last: 0.  timeout: the last fragment comes 100 s later: 0. */
static const struct {
    const char *name;
    unsigned udp;
    bool check_gold;
} frag_cases[] = {
    {"order", 5, true},       {"dup", 1, false},        {"empty", 0, true},
    {"nomf", 1, true},        {"offset_offbyone1", 0, true}, {"offset_offbyone2", 0, true},
    {"skip_first", 0, true},  {"skip_middle", 0, true}, {"skip_last", 0, true},
    {"timeout", 0, true},
};

static void test_pcap_thread(void **st)
{
    (void)st;
    for (int v = 4; v <= 6; v += 2) {
        for (size_t i = 0; i < sizeof frag_cases / sizeof frag_cases[0]; i++) {
            char file[128], rel[256];
            snprintf(file, sizeof file, "v%d_frag_%s_udp.pcap", v, frag_cases[i].name);
            snprintf(rel, sizeof rel, "pcap-thread/hexdump/test/%s", file);
            stats s;
            run(rel, &s);
            if (s.udp != frag_cases[i].udp)
                fail_msg("%s: %u UDP datagrams, expected %u", file, s.udp, frag_cases[i].udp);
            assert_int_equal(s.reassembled, s.udp);
            if (frag_cases[i].check_gold) {
                uint8_t *g[16];
                size_t gl[16];
                unsigned n = gold(file, g, gl, 16);
                if (n != s.udp)
                    fail_msg("%s: %u datagrams, gold has %u", file, s.udp, n);
                for (unsigned j = 0; j < n; j++) {
                    assert_int_equal(s.len[j], gl[j]);
                    assert_memory_equal(s.data[j], g[j], gl[j]);
                    free(g[j]);
                }
            }
            /* The one thing pcap-thread and Linux disagree on. */
            if (strcmp(frag_cases[i].name, "dup") == 0)
                assert_int_equal(s.c.v[DW_C_FRAG_DUPLICATE], 1);
            if (strncmp(frag_cases[i].name, "offset", 6) == 0)
                assert_int_equal(s.c.v[DW_C_FRAG_OVERLAP], 1);
            if (strcmp(frag_cases[i].name, "timeout") == 0)
                assert_int_equal(s.c.v[DW_C_FRAG_TIMEOUT], 1);
            if (strcmp(frag_cases[i].name, "nomf") == 0)
                assert_int_equal(s.c.v[DW_C_UDP_SHORT_CAPTURE], 1);
            stats_free(&s);
        }
    }
}

/* dnscap's frags.pcap: the 41 exchanges of dns.pcap, every message IPv4-fragmented on a
 * raw-IP link: 82 messages (tshark -Y dns agrees), 41 each way, the same 10194 payload
 * bytes as the unfragmented capture, and byte for byte the same messages. */
static void test_dnscap_frags(void **st)
{
    (void)st;
    stats f, u;
    run("dnscap/frags.pcap", &f);
    assert_int_equal(f.udp, 82);
    assert_int_equal(f.reassembled, 82);
    assert_int_equal(f.queries, 41);
    assert_int_equal(f.responses, 41);
    assert_int_equal(f.bytes, 10194);
    assert_int_equal(f.c.v[DW_C_FRAG_REASSEMBLED], 82);
    assert_int_equal(f.c.v[DW_C_FRAG_OVERLAP] + f.c.v[DW_C_FRAG_BAD] + f.c.v[DW_C_FRAG_TIMEOUT], 0);
    run("dnscap/dns.pcap", &u);
    assert_int_equal(u.udp, 82);
    assert_int_equal(u.reassembled, 0);
    for (unsigned i = 0; i < 82; i++) {
        assert_int_equal(f.len[i], u.len[i]);
        assert_memory_equal(f.data[i], u.data[i], u.len[i]);
    }
    stats_free(&f);
    stats_free(&u);
}

/* dnscap's other captures through the link layers; counts and byte totals from
 * tshark -Y 'udp && dns' -T fields -e udp.length. */
static void test_dnscap_links(void **st)
{
    (void)st;
    static const struct {
        const char *file;
        unsigned udp, queries;
        size_t bytes;
        uint16_t vlan;
    } cases[] = {
        {"dns.pcap", 82, 41, 10194, 0},
        {"vlan11.pcap", 82, 41, 10194, 11},
        {"sll2.pcap", 2, 1, 775, 0},
        {"dns6.pcap", 2, 1, 94, 0},
        {"ipv6-with-ethernet-padding.pcap", 1, 1, 17, 0},
        {"dnspad.pcap", 1, 1, 31, 0},
        {"edns.pcap", 14, 7, 1955, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "dnscap/%s", cases[i].file);
        stats s;
        run(rel, &s);
        if (s.udp != cases[i].udp || s.bytes != cases[i].bytes)
            fail_msg("%s: %u messages, %zu bytes; expected %u, %zu", cases[i].file, s.udp,
                     s.bytes, cases[i].udp, cases[i].bytes);
        assert_int_equal(s.queries, cases[i].queries);
        assert_int_equal(s.responses, cases[i].udp - cases[i].queries);
        assert_int_equal(s.vlan_tagged, cases[i].vlan ? s.udp : 0);
        assert_int_equal(s.vlan, cases[i].vlan);
        stats_free(&s);
    }
}

int main(void)
{
    if (!dw_corpus_has("dnscap") || !dw_corpus_has("pcap-thread")) {
        char why[4200];
        snprintf(why, sizeof why, "conformance corpus %s (dnscap, pcap-thread) not found",
                 dw_corpus_dir());
        return dw_unavailable(why);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcap_thread),
        cmocka_unit_test(test_dnscap_frags),
        cmocka_unit_test(test_dnscap_links),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
