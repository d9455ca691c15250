/* filtercheck: proves a capture filter keeps every DNS message of a capture.
 *
 *   filtercheck [--filter EXPR] [--port N]... FILE...
 *   filtercheck --self-test [--port N]...
 *
 * For each capture, one decoder reads every frame and another only the frames the filter
 * (compiled with pcap_open_dead + pcap_compile, run with pcap_offline_filter, as the
 * kernel would) lets through; both must yield the same DNS messages with the same
 * addresses, ports and VLAN. Without --filter the sensor's default filter for the file's
 * link type is used (sensor/capfilter.h). --self-test checks that the default filter
 * drops ordinary non-DNS frames (plain, tagged, PPPoE) and fits the kernel's 4096
 * instructions. Exit 0 when all hold, 1 otherwise, 2 on usage errors. */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "decoders/decode.h"
#include "sensor/capfilter.h"

#define BPF_MAXINSNS_LINUX 4096

typedef struct seen {
    uint64_t *h;
    size_t n, cap;
} seen;

/* One DNS message: its bytes and the facts an event takes from the packet. */
static void on_dns(void *ctx, const pkt_info *pi, const uint8_t *msg, size_t len)
{
    seen *s = ctx;
    uint64_t h = HASH_FNV64_OFFSET;
    h = hash_fnv64(h, msg, len);
    h = hash_fnv64(h, &pi->ip_version, 1);
    h = hash_fnv64(h, pi->src, sizeof pi->src);
    h = hash_fnv64(h, pi->dst, sizeof pi->dst);
    h = hash_fnv64(h, &pi->sport, 2);
    h = hash_fnv64(h, &pi->dport, 2);
    h = hash_fnv64(h, &pi->proto, 1);
    h = hash_fnv64(h, &pi->n_vlan, 1);
    h = hash_fnv64(h, pi->vlan, sizeof pi->vlan[0] * pi->n_vlan);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->h = realloc(s->h, s->cap * sizeof *s->h);
        if (!s->h) {
            perror("filtercheck");
            exit(2);
        }
    }
    s->h[s->n++] = h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint16_t g_ports[DW_MAX_PORTS];
static unsigned g_nports;

static int compile(int dlt, const char *expr, struct bpf_program *prog, char *used, size_t ulen)
{
    const char *e = expr;
    if (!e) {
        if (capfilter_default(dlt, g_ports, g_nports, used, ulen) != 0) {
            fprintf(stderr, "FAIL: default filter does not fit %zu bytes\n", ulen);
            return -1;
        }
        e = used;
    }
    pcap_t *dead = pcap_open_dead(dlt, 262144);
    if (!dead)
        return -1;
    int rc = pcap_compile(dead, prog, e, 1, PCAP_NETMASK_UNKNOWN);
    if (rc != 0)
        fprintf(stderr, "FAIL: link type %d: filter does not compile: %s\n", dlt, pcap_geterr(dead));
    pcap_close(dead);
    return rc;
}

static char g_expr[CAPFILTER_MAX];

/* 0: every DNS message passed; 1: some were lost; -1: the file could not be checked. */
static int check_file(const char *path, const char *expr)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) {
        fprintf(stderr, "FAIL: %s: %s\n", path, err);
        return -1;
    }
    int dlt = pcap_datalink(p);
    if (!pkt_dlt_supported(dlt)) {
        printf("skip: %s: link type %d not decoded\n", path, dlt);
        pcap_close(p);
        return 0;
    }
    struct bpf_program prog;
    if (compile(dlt, expr, &prog, g_expr, sizeof g_expr) != 0) {
        pcap_close(p);
        return -1;
    }
    dw_decoder_config cfg;
    dw_decoder_config_default(&cfg);
    memcpy(cfg.ports, g_ports, sizeof g_ports[0] * g_nports);
    cfg.n_ports = g_nports;
    dw_counters ca, cb;
    memset(&ca, 0, sizeof ca);
    memset(&cb, 0, sizeof cb);
    dw_decoder *all = dw_decoder_new(&cfg, &ca), *kept = dw_decoder_new(&cfg, &cb);
    seen sa = {0}, sb = {0};
    if (!all || !kept) {
        perror("filtercheck");
        exit(2);
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    unsigned long npk = 0, npass = 0;
    int r;
    while ((r = pcap_next_ex(p, &h, &data)) == 1) {
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        npk++;
        dw_decoder_packet(all, dlt, ts, data, h->caplen, on_dns, &sa);
        if (pcap_offline_filter(&prog, h, data)) {
            npass++;
            dw_decoder_packet(kept, dlt, ts, data, h->caplen, on_dns, &sb);
        }
    }
    dw_decoder_flush(all, on_dns, &sa);
    dw_decoder_flush(kept, on_dns, &sb);
    if (sa.n) /* qsort's base must not be NULL, even for no elements */
        qsort(sa.h, sa.n, sizeof *sa.h, cmp_u64);
    if (sb.n)
        qsort(sb.h, sb.n, sizeof *sb.h, cmp_u64);
    size_t lost = 0;
    for (size_t i = 0, j = 0; i < sa.n; i++) { /* sb is a sub-multiset of sa or lost */
        while (j < sb.n && sb.h[j] < sa.h[i])
            j++;
        if (j < sb.n && sb.h[j] == sa.h[i])
            j++;
        else
            lost++;
    }
    int rc = lost || sb.n != sa.n ? 1 : 0;
    if (rc)
        printf("FAIL: %s: %zu of %zu DNS messages lost to the filter (%zu through it)\n",
               path, lost, sa.n, sb.n);
    else
        printf("ok: %s: %zu DNS messages, %lu of %lu frames passed, %u BPF instructions\n",
               path, sa.n, npass, npk, prog.bf_len);
    free(sa.h);
    free(sb.h);
    dw_decoder_free(all);
    dw_decoder_free(kept);
    pcap_freecode(&prog);
    pcap_close(p);
    return rc;
}

/* ---- self-test: ordinary traffic must be dropped ---- */

typedef struct frame {
    uint8_t b[256];
    size_t n;
} frame;

static void f8(frame *f, unsigned v) { f->b[f->n++] = (uint8_t)v; }
static void f16(frame *f, unsigned v)
{
    f8(f, v >> 8);
    f8(f, v & 0xff);
}

/* Ethernet with ntags 802.1Q tags (pppoe: in a PPPoE session), IPv4 or IPv6, then a
 * UDP or TCP header with the given ports and a few bytes. */
static void mkframe(frame *f, int ntags, bool pppoe, int af, unsigned proto, unsigned sport,
                    unsigned dport)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 12; i++)
        f8(f, 2);
    for (int i = 0; i < ntags; i++) {
        f16(f, i == 0 && ntags > 1 ? 0x88a8 : 0x8100);
        f16(f, 10 + (unsigned)i);
    }
    unsigned l4 = proto == 6 ? 20 : 8;
    if (pppoe) {
        f16(f, 0x8864);
        f8(f, 0x11), f8(f, 0), f16(f, 1), f16(f, 0);
        f16(f, af == 4 ? 0x0021 : 0x0057);
    } else {
        f16(f, af == 4 ? 0x0800 : 0x86dd);
    }
    if (af == 4) {
        f8(f, 0x45), f8(f, 0), f16(f, 20 + l4 + 8), f16(f, 1), f16(f, 0x4000);
        f8(f, 64), f8(f, proto), f16(f, 0);
        for (int i = 0; i < 8; i++)
            f8(f, 10);
    } else {
        f16(f, 0x6000), f16(f, 0), f16(f, l4 + 8), f8(f, proto), f8(f, 64);
        for (int i = 0; i < 32; i++)
            f8(f, 0xfd);
    }
    f16(f, sport);
    f16(f, dport);
    for (unsigned i = 4; i < l4 + 8; i++)
        f8(f, proto == 6 && i == 12 ? 0x50 : 0);
}

static int self_test(void)
{
    struct bpf_program prog;
    int fails = 0;
    if (compile(DLT_EN10MB, NULL, &prog, g_expr, sizeof g_expr) != 0)
        return 1;
    printf("default filter on Ethernet, %u port(s): %zu characters, %u BPF instructions\n",
           g_nports, strlen(g_expr), prog.bf_len);
    if (prog.bf_len > BPF_MAXINSNS_LINUX) {
        printf("FAIL: %u instructions, more than the kernel takes (%d)\n", prog.bf_len,
               BPF_MAXINSNS_LINUX);
        fails++;
    }
    static const struct {
        const char *what;
        int tags;
        bool pppoe;
        int af;
        unsigned proto, sport, dport;
        bool pass;
    } cases[] = {
        {"IPv4 TCP 443", 0, false, 4, 6, 40000, 443, false},
        {"IPv4 UDP 123 tagged", 1, false, 4, 17, 123, 123, false},
        {"IPv6 TCP 22 in QinQ", 2, false, 6, 6, 40000, 22, false},
        {"IPv4 TCP 80 in PPPoE", 0, true, 4, 6, 40000, 80, false},
        {"IPv6 UDP 443 in PPPoE, tagged", 1, true, 6, 17, 40000, 443, false},
        {"IPv4 UDP 4790 (not a tunnel port)", 0, false, 4, 17, 40000, 4790, false},
        {"IPv4 UDP to the first DNS port", 0, false, 4, 17, 40000, 0, true},
        {"IPv6 TCP from the first DNS port, 3 tags", 3, false, 6, 6, 0, 40000, true},
        {"IPv4 UDP to the first DNS port in PPPoE, tagged", 1, true, 4, 17, 40000, 0, true},
        {"IPv4 UDP to VXLAN 4789", 1, false, 4, 17, 40000, 4789, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        frame f;
        unsigned sp = cases[i].sport ? cases[i].sport : g_ports[0];
        unsigned dp = cases[i].dport ? cases[i].dport : g_ports[0];
        mkframe(&f, cases[i].tags, cases[i].pppoe, cases[i].af, cases[i].proto, sp, dp);
        struct pcap_pkthdr h;
        memset(&h, 0, sizeof h);
        h.caplen = h.len = (bpf_u_int32)f.n;
        bool passed = pcap_offline_filter(&prog, &h, f.b) != 0;
        if (passed != cases[i].pass) {
            printf("FAIL: %s: %s, expected %s\n", cases[i].what, passed ? "passed" : "dropped",
                   cases[i].pass ? "to pass" : "to be dropped");
            fails++;
        } else {
            printf("ok: %s %s\n", cases[i].what, passed ? "passes" : "is dropped");
        }
    }
    pcap_freecode(&prog);
    return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *expr = NULL;
    bool self = false;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            expr = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            long v = strtol(argv[++i], NULL, 10);
            if (v < 1 || v > 65535 || g_nports == DW_MAX_PORTS) {
                fprintf(stderr, "filtercheck: bad or too many --port\n");
                return 2;
            }
            g_ports[g_nports++] = (uint16_t)v;
        } else if (strcmp(argv[i], "--self-test") == 0) {
            self = true;
        } else {
            fprintf(stderr, "usage: filtercheck [--filter EXPR] [--port N]... FILE...\n"
                            "       filtercheck --self-test [--port N]...\n");
            return 2;
        }
    }
    if (g_nports == 0) {
        dw_decoder_config cfg;
        dw_decoder_config_default(&cfg);
        memcpy(g_ports, cfg.ports, sizeof g_ports[0] * cfg.n_ports);
        g_nports = cfg.n_ports;
    }
    if (self)
        return self_test();
    if (i == argc) {
        fprintf(stderr, "filtercheck: no capture given\n");
        return 2;
    }
    int fails = 0;
    for (; i < argc; i++)
        if (check_file(argv[i], expr) != 0)
            fails++;
    if (fails)
        printf("%d capture(s) lost DNS messages or could not be checked\n", fails);
    return fails ? 1 : 0;
}
