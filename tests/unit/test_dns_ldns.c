/* Differential test: the fast reader against ldns, the oracle.
 *
 * Messages are hand-made and generated from a seeded PRNG (random names with
 * compression, random mixes of records, some corrupted by byte flips, truncation or
 * wrong counts). For every message ldns_wire2pkt accepts, dns_parse must accept it too
 * and both must agree on the header, the question and every record; where the fast
 * renderer shows a record's data, ldns (through dns_rdata_text_ldns) must show the same
 * text. Deterministic: the seed is fixed, a failure prints the iteration and the bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "decoders/dns.h"
#include "decoders/dns_present.h"
#include "tests/lib/dnsbuild.h"
#include "tests/lib/ldns_cmp.h"

#define N_MESSAGES 30000

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* splitmix64: small, seedable, good enough to spread test cases */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static unsigned below(unsigned n) { return n ? rnd() % n : 0; }

typedef struct gen {
    dnsb m;
    uint16_t sufs[256]; /* offsets where a complete (sub)name starts */
    unsigned nsufs;
} gen;

static void gen_label(gen *g)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    unsigned l = below(10) == 0 ? 1 + below(63) : 1 + below(12);
    dnsb_u8(&g->m, l);
    for (unsigned i = 0; i < l; i++) {
        if (below(40) == 0)
            dnsb_u8(&g->m, rnd() & 0xff); /* dots, quotes, controls, high bytes */
        else
            dnsb_u8(&g->m, (uint8_t)alpha[below(sizeof alpha - 1)]);
    }
}

/* Pointers go only to label starts of names already complete, so that a generated
 * message is valid unless corrupted afterwards. */
static void gen_name(gen *g)
{
    uint16_t mine[4];
    unsigned nl = below(4), nm = 0;
    for (unsigned i = 0; i < nl; i++) {
        if (g->m.n < 0x3fff)
            mine[nm++] = (uint16_t)g->m.n;
        gen_label(g);
    }
    if (g->nsufs > 0 && below(3) != 0)
        dnsb_ptr(&g->m, g->sufs[below(g->nsufs)]);
    else
        dnsb_u8(&g->m, 0);
    for (unsigned i = 0; i < nm && g->nsufs < 256; i++)
        g->sufs[g->nsufs++] = mine[i];
}

static const uint16_t types[] = {DNS_T_A,   DNS_T_AAAA, DNS_T_CNAME, DNS_T_NS,  DNS_T_MX,
                                 DNS_T_TXT, DNS_T_SOA,  DNS_T_SRV,   DNS_T_PTR, DNS_T_A,
                                 DNS_T_A,   DNS_T_AAAA, DNS_T_CNAME, 65280,     DNS_T_DNAME};

static void gen_rdata(gen *g, uint16_t type)
{
    switch (type) {
    case DNS_T_A:
        dnsb_u32(&g->m, rnd());
        break;
    case DNS_T_AAAA:
        for (int i = 0; i < 4; i++)
            dnsb_u32(&g->m, below(3) ? rnd() : 0);
        break;
    case DNS_T_CNAME:
    case DNS_T_NS:
    case DNS_T_PTR:
    case DNS_T_DNAME:
        gen_name(g);
        break;
    case DNS_T_MX:
        dnsb_u16(&g->m, below(100));
        gen_name(g);
        break;
    case DNS_T_SRV:
        dnsb_u16(&g->m, below(100));
        dnsb_u16(&g->m, below(100));
        dnsb_u16(&g->m, rnd() & 0xffff);
        gen_name(g);
        break;
    case DNS_T_SOA:
        gen_name(g);
        gen_name(g);
        for (int i = 0; i < 5; i++)
            dnsb_u32(&g->m, rnd());
        break;
    case DNS_T_TXT: {
        unsigned n = 1 + below(3);
        for (unsigned i = 0; i < n; i++) {
            unsigned l = below(20);
            dnsb_u8(&g->m, l);
            for (unsigned j = 0; j < l; j++)
                dnsb_u8(&g->m, below(4) ? 0x20 + below(95) : rnd() & 0xff);
        }
        break;
    }
    default: {
        unsigned l = below(12);
        for (unsigned i = 0; i < l; i++)
            dnsb_u8(&g->m, rnd() & 0xff);
    }
    }
}

static void gen_opt(gen *g)
{
    dnsb_u8(&g->m, 0);
    size_t at = dnsb_rr_begin(&g->m, DNS_T_OPT, 512 + below(4000), rnd() & 0xff01ffff);
    unsigned n = below(3);
    for (unsigned i = 0; i < n; i++) {
        dnsb_u16(&g->m, below(2) ? 15 : below(20));
        dnsb_u16(&g->m, 2);
        dnsb_u16(&g->m, below(30));
    }
    dnsb_rr_end(&g->m, at);
}

static void gen_message(gen *g)
{
    unsigned qd = below(20) == 0 ? below(3) : 1;
    unsigned cnt[3] = {below(7), below(4), below(4)};
    bool opt = below(2);
    g->nsufs = 0;
    dnsb_hdr(&g->m, rnd() & 0xffff, rnd() & 0xffff, qd, cnt[0], cnt[1], cnt[2] + opt);
    for (unsigned i = 0; i < qd; i++) {
        gen_name(g);
        dnsb_u16(&g->m, types[below(sizeof types / sizeof types[0])]);
        dnsb_u16(&g->m, below(10) ? 1 : rnd() & 0xffff);
    }
    for (unsigned s = 0; s < 3; s++) {
        for (unsigned i = 0; i < cnt[s]; i++) {
            if (s == 2 && opt && below(cnt[s] + 1) == 0) {
                gen_opt(g);
                opt = false;
            }
            uint16_t type = below(30) ? types[below(sizeof types / sizeof types[0])]
                                      : (uint16_t)(rnd() & 0xffff);
            gen_name(g);
            size_t at = dnsb_rr_begin(&g->m, type, below(10) ? 1 : below(5), rnd());
            gen_rdata(g, type);
            dnsb_rr_end(&g->m, at);
        }
    }
    if (opt)
        gen_opt(g);

    /* Corruption. */
    unsigned how = below(20);
    if (how < 5) {
        unsigned flips = 1 + below(3);
        for (unsigned i = 0; i < flips; i++)
            g->m.b[below((unsigned)g->m.n)] ^= (uint8_t)(1 + below(255));
    } else if (how < 7) {
        g->m.n = below((unsigned)g->m.n + 1);
    } else if (how < 8) {
        g->m.b[4 + 2 * below(4) + 1] += (uint8_t)(1 + below(3));
    } else if (how < 9) {
        for (unsigned i = 0; i < 1 + below(8); i++)
            dnsb_u8(&g->m, rnd() & 0xff); /* trailing garbage */
    }
}

static unsigned n_checked, n_ldns_ok, n_skipped, n_rdata_compared;

static void dump_fail(unsigned iter, const uint8_t *b, size_t n, const char *what)
{
    fprintf(stderr, "disagreement at message %u: %s\n", iter, what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%02x%s", b[i], i % 32 == 31 ? "\n" : "");
    fprintf(stderr, "\n");
    fail_msg("fast reader and ldns disagree (%s)", what);
}

#define CHECK(cond, what)                        \
    do {                                         \
        if (!(cond))                             \
            dump_fail(iter, buf, len, what);     \
    } while (0)

/* Names are case-insensitive in the comparison, the rest exact. */
static void compare_rr(unsigned iter, const uint8_t *buf, size_t len, const dns_msg *m,
                       const dns_rr *rr, const ldns_rr *lr)
{
    CHECK(ldnscmp_same_name(m, rr->name_off, ldns_rr_owner(lr)), "owner");
    CHECK(rr->type == ldns_rr_get_type(lr), "type");
    CHECK(rr->rclass == ldns_rr_get_class(lr), "class");
    CHECK(rr->ttl == ldns_rr_ttl(lr), "ttl");
    uint8_t a[16];
    int an = dns_rr_addr(m, rr, a);
    if (an > 0) {
        const ldns_rdf *r0 = ldns_rr_rdf(lr, 0);
        CHECK(r0 && ldns_rdf_size(r0) == (size_t)an, "address size");
        CHECK(memcmp(ldns_rdf_data(r0), a, (size_t)an) == 0, "address");
    }
    /* Where the fast renderer finds the data well formed, ldns must render the same. */
    switch (rr->type) {
    case DNS_T_A:
    case DNS_T_AAAA:
    case DNS_T_CNAME:
    case DNS_T_NS:
    case DNS_T_PTR:
    case DNS_T_DNAME:
    case DNS_T_MX:
    case DNS_T_SRV:
    case DNS_T_SOA:
    case DNS_T_TXT: {
        static char fast[4096], slow[4096];
        if (dns_rdata_text(m, rr, fast, sizeof fast) >= 0) {
            int lrc = dns_rdata_text_ldns(m, rr, slow, sizeof slow);
            if (lrc < 0 || strcmp(fast, slow) != 0)
                fprintf(stderr, "type %u rdlen %u: fast [%s]\nldns %d [%s]\n", rr->type,
                        rr->rdlen, fast, lrc, slow);
            CHECK(lrc >= 0, "ldns rendering");
            CHECK(strcmp(fast, slow) == 0, "rdata text");
            n_rdata_compared++;
        }
        break;
    }
    default:
        break;
    }
}

static void compare(unsigned iter, const uint8_t *buf, size_t len, dns_msg *m)
{
    ldns_pkt *p = NULL;
    dw_counters c;
    memset(&c, 0, sizeof c);
    int rc = dns_parse(m, buf, len, &c);
    n_checked++;
    ldns_status st = ldns_wire2pkt(&p, buf, len);
    if (st != LDNS_STATUS_OK) {
        if (getenv("DW_DEBUG"))
            fprintf(stderr, "message %u: ldns: %s\n", iter, ldns_get_errorstr_by_id(st));
        ldns_pkt_free(p);
        return;
    }
    n_ldns_ok++;
    /* Framing and TSIG are deliberate differences (see ldnscmp_comparable()). */
    if (!ldnscmp_comparable(m)) {
        n_skipped++;
        ldns_pkt_free(p);
        return;
    }
    if (rc != 0 || (m->problems & (DNS_P_TRUNCATED | DNS_P_BAD_RR))) {
        fprintf(stderr, "rc %d problems %#x an %u ns %u ar %u (header %u %u %u)\n", rc,
                m->problems, m->n_an, m->n_ns, m->n_ar, m->ancount, m->nscount, m->arcount);
        dw_counters_print(&c, stderr);
    }
    CHECK(rc == 0, "dns_parse rejected a message ldns accepts");
    CHECK(!(m->problems & (DNS_P_TRUNCATED | DNS_P_BAD_RR)), "stopped early");
    CHECK(m->id == ldns_pkt_id(p), "id");
    CHECK(!!(m->flags & DNS_F_QR) == ldns_pkt_qr(p), "qr");
    CHECK(!!(m->flags & DNS_F_AA) == ldns_pkt_aa(p), "aa");
    CHECK(!!(m->flags & DNS_F_TC) == ldns_pkt_tc(p), "tc");
    CHECK(!!(m->flags & DNS_F_RD) == ldns_pkt_rd(p), "rd");
    CHECK(!!(m->flags & DNS_F_RA) == ldns_pkt_ra(p), "ra");
    CHECK(!!(m->flags & DNS_F_AD) == ldns_pkt_ad(p), "ad");
    CHECK(!!(m->flags & DNS_F_CD) == ldns_pkt_cd(p), "cd");
    CHECK(DNS_OPCODE(m->flags) == ldns_pkt_get_opcode(p), "opcode");
    CHECK(DNS_RCODE(m->flags) == ldns_pkt_get_rcode(p), "rcode");

    const ldns_rr_list *q = ldns_pkt_question(p);
    CHECK(m->qdcount == ldns_rr_list_rr_count(q), "qdcount");
    CHECK(m->has_question == (m->qdcount > 0), "has_question");
    if (m->has_question) {
        const ldns_rr *lq = ldns_rr_list_rr(q, 0);
        CHECK(ldnscmp_same_name(m, m->qname_off, ldns_rr_owner(lq)), "qname");
        CHECK(m->qtype == ldns_rr_get_type(lq), "qtype");
        CHECK(m->qclass == ldns_rr_get_class(lq), "qclass");
    }

    /* ldns takes every OPT out of the additional section. */
    unsigned n_opt = ldnscmp_additional_count(m, DNS_T_OPT);
    const ldns_rr_list *secs[3] = {ldns_pkt_answer(p), ldns_pkt_authority(p),
                                   ldns_pkt_additional(p)};
    CHECK(m->n_an == ldns_rr_list_rr_count(secs[0]), "answer count");
    CHECK(m->n_ns == ldns_rr_list_rr_count(secs[1]), "authority count");
    CHECK(m->n_ar - n_opt == ldns_rr_list_rr_count(secs[2]), "additional count");
    CHECK(m->has_opt == (n_opt > 0) && m->has_opt == ldns_pkt_edns(p), "edns present");
    if (n_opt == 1) {
        CHECK(m->edns_udp_size == ldns_pkt_edns_udp_size(p), "edns udp size");
        CHECK(m->edns_version == ldns_pkt_edns_version(p), "edns version");
        CHECK(m->edns_do == ldns_pkt_edns_do(p), "edns do");
        CHECK(m->rcode == (ldns_pkt_edns_extended_rcode(p) << 4 | ldns_pkt_get_rcode(p)),
              "extended rcode");
    }

    unsigned idx[3] = {0, 0, 0};
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        unsigned s = rr->section - 1u;
        if (s == 2 && rr->type == DNS_T_OPT)
            continue;
        const ldns_rr *lr = ldns_rr_list_rr(secs[s], idx[s]++);
        CHECK(lr != NULL, "record missing in ldns");
        compare_rr(iter, buf, len, m, rr, lr);
    }
    ldns_pkt_free(p);
}

/* A few fixed messages that the generator might not produce. */
static void hand_made(dns_msg *m)
{
    static dnsb b;
    unsigned iter = 0;
    /* Plain response with OPT, EDE and extended rcode. */
    dnsb_start(&b, 0xbeef, 0x8180, "files.pythonhosted.org", DNS_T_A, 2, 0, 1);
    dnsb_ptr(&b, 12);
    size_t at = dnsb_rr_begin(&b, DNS_T_CNAME, 1, 300);
    dnsb_name(&b, "dualstack.python.map.fastly.net");
    dnsb_rr_end(&b, at);
    dnsb_ptr(&b, (unsigned)at + 2);
    at = dnsb_rr_begin(&b, DNS_T_A, 1, 30);
    dnsb_u32(&b, 0x974e4045);
    dnsb_rr_end(&b, at);
    dnsb_u8(&b, 0);
    at = dnsb_rr_begin(&b, DNS_T_OPT, 1232, 0x01008000);
    dnsb_u16(&b, 15);
    dnsb_u16(&b, 2);
    dnsb_u16(&b, 18);
    dnsb_rr_end(&b, at);
    compare(iter++, b.b, b.n, m);
    assert_true(m->has_opt && m->rcode == 16 && m->n_ede == 1);

    /* OPT in the answer: ldns keeps it as a record there. */
    dnsb_start(&b, 1, 0x8000, "x", DNS_T_A, 1, 0, 0);
    dnsb_u8(&b, 0);
    at = dnsb_rr_begin(&b, DNS_T_OPT, 512, 0);
    dnsb_rr_end(&b, at);
    compare(iter++, b.b, b.n, m);
    assert_true(m->problems & DNS_P_OPT_MISPLACED);

    /* Owners at the end of long pointer chains (64, 70, 500, 5000 pointers, carried in a
     * private-use record): ldns follows up to 65535, resolvers hundreds; so do we. */
    static const unsigned lens[] = {64, 70, 500, 5000};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        dnsb_start(&b, 2, 0x8180, "pypi.org", DNS_T_A, 1, 0, 1);
        size_t owner = b.n;
        dnsb_ptr(&b, 12);
        at = dnsb_rr_begin(&b, DNS_T_A, 1, 300);
        dnsb_u32(&b, 0x2d211405);
        dnsb_rr_end(&b, at);
        dnsb_u8(&b, 0);
        at = dnsb_rr_begin(&b, 65280, 1, 0);
        size_t prev = 12;
        for (unsigned i = 0; i < lens[k]; i++) {
            size_t here = b.n;
            dnsb_ptr(&b, (unsigned)prev);
            prev = here;
        }
        dnsb_rr_end(&b, at);
        b.b[owner] = (uint8_t)(0xc0 | prev >> 8);
        b.b[owner + 1] = (uint8_t)prev;
        unsigned before = n_ldns_ok;
        compare(iter++, b.b, b.n, m);
        assert_int_equal(n_ldns_ok, before + 1); /* ldns accepts it: compared */
        assert_int_equal(m->n_an, 1);
    }
}

static void test_differential(void **state)
{
    (void)state;
    dns_msg *m = malloc(sizeof *m);
    static gen g;
    assert_non_null(m);
    hand_made(m);
    rng_state = 0x646e7377617463ull; /* fixed: the test is deterministic */
    for (unsigned i = 0; i < N_MESSAGES; i++) {
        gen_message(&g);
        compare(i, g.m.b, g.m.n, m);
    }
    free(m);
    printf("differential: %u messages, %u accepted by ldns, %u of them skipped (framing or "
           "TSIG), %u rdata texts compared\n",
           n_checked, n_ldns_ok, n_skipped, n_rdata_compared);
    /* The generator must actually exercise the comparison. */
    assert_true(n_ldns_ok - n_skipped > N_MESSAGES / 2);
    assert_true(n_rdata_compared > N_MESSAGES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
