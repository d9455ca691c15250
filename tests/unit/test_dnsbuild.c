/* tests/lib/dnsbuild.c, the builder every other test writes its messages and packets
 * with: exact bytes for a known message, checksums that verify, names from text, and a
 * buffer that refuses to overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "decoders/dns.h"
#include "decoders/pkt.h"
#include "tests/lib/dnsbuild.h"

static dnsb B, L, P;

static void t_message_bytes(void **state)
{
    (void)state;
    dnsb_start(&B, 0x1234, 0x8180, "ab.c", DNS_T_A, 1, 0, 1);
    dnsb_rr_addr(&B, 12, 300, "192.0.2.1");
    size_t at = dnsb_opt_begin(&B, 1232, true);
    dnsb_edns_option(&B, 15, "\x00\x03", 2);
    dnsb_rr_end(&B, at);
    static const uint8_t want[] = {
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 1,              /* header */
        2, 'a', 'b', 1, 'c', 0, 0, 1, 0, 1,                          /* question */
        0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 1,     /* answer */
        0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 6, 0, 15, 0, 2, 0, 3, /* OPT, EDE 3 */
    };
    assert_int_equal(B.n, sizeof want);
    assert_memory_equal(B.b, want, sizeof want);

    dns_msg *m = malloc(sizeof *m);
    assert_non_null(m);
    assert_int_equal(dns_parse(m, B.b, B.n, NULL), 0);
    assert_int_equal(m->n_an, 1);
    assert_true(m->has_opt && m->edns_do);
    assert_int_equal(m->n_ede, 1);
    dnsb_counts(&B, 0, 0, 1);
    assert_int_equal(B.b[7], 0);
    free(m);
}

static void t_names_from_text(void **state)
{
    (void)state;
    uint8_t w[DNS_NAME_MAX + 1];
    assert_int_equal(dnsb_name_from_text(".", w, sizeof w), 1);
    assert_int_equal(dnsb_name_from_text("a\\.b.\\099", w, sizeof w), 7);
    assert_memory_equal(w, "\x03" "a.b" "\x01" "c" "\x00", 7);
    char label[70];
    memset(label, 'x', 64);
    label[64] = '\0';
    assert_int_equal(dnsb_name_from_text(label, w, sizeof w), -1); /* label > 63 */
    label[63] = '\0';
    assert_int_equal(dnsb_name_from_text(label, w, sizeof w), 65);
    assert_int_equal(dnsb_name_from_text(label, w, 64), -1);      /* does not fit */
    assert_int_equal(dnsb_name_from_text("a\\1", w, sizeof w), -1); /* cut escape */
}

static void t_packets_verify(void **state)
{
    (void)state;
    static const char *pairs[][2] = {{"192.0.2.1", "10.0.0.53"}, {"2001:db8::1", "fd00::53"}};
    for (int v = 0; v < 2; v++) {
        dnsb_ep s = dnsb_endpoint(pairs[v][0], 40000), d = dnsb_endpoint(pairs[v][1], 53);
        dnsb_start(&B, 7, 0x0100, "q.example", DNS_T_A, 0, 0, 0);
        for (int tcp = 0; tcp < 2; tcp++) {
            if (tcp)
                dnsb_tcp(&L, &s, &d, 1000, 0, DNSB_TH_PSH | DNSB_TH_ACK, B.b, B.n);
            else
                dnsb_udp(&L, &s, &d, B.b, B.n);
            unsigned proto = tcp ? 6 : 17;
            /* The pseudo-header sum plus the segment folds to 0 when the checksum is right. */
            uint32_t sum = dnsb_csum_add(0, s.a, s.af == 4 ? 4 : 16);
            sum = dnsb_csum_add(sum, d.a, s.af == 4 ? 4 : 16);
            sum += proto + (uint32_t)L.n;
            assert_int_equal(dnsb_csum_fold(dnsb_csum_add(sum, L.b, L.n)), 0);

            static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
            P.n = 0;
            dnsb_eth(&P, mac1, mac2, s.af == 4 ? 0x0800 : 0x86dd);
            if (s.af == 4) {
                dnsb_ip4_hdr(&P, &s, &d, proto, L.n, 1, 0, false);
                assert_int_equal(dnsb_csum_fold(dnsb_csum_add(0, P.b + 14, 20)), 0);
            } else {
                dnsb_ip6_hdr(&P, &s, &d, proto, L.n);
            }
            dnsb_bytes(&P, L.b, L.n);
            pkt_info pi;
            pkt_frag fr;
            dw_counters c;
            memset(&c, 0, sizeof c);
            assert_int_equal(pkt_parse(1, P.b, P.n, &pi, &fr, &c), PKT_OK);
            assert_int_equal(pi.payload_len, B.n);
            assert_memory_equal(pi.payload, B.b, B.n);
        }
    }
}

/* Runs fn in a child: the builder must end it with status 1, not write past the buffer. */
static void must_exit_1(void (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
}

static void fill_u8(void)
{
    B.n = 0;
    for (size_t i = 0; i <= DNSB_CAP; i++)
        dnsb_u8(&B, 0);
}
static void fill_bytes(void)
{
    B.n = DNSB_CAP - 3;
    dnsb_bytes(&B, "abcd", 4);
}
static void set16_past_end(void)
{
    B.n = 5;
    dnsb_set16(&B, 4, 1);
}
static void bad_literal(void) { dnsb_ip4(&B, "192.0.2"); }

static void t_refuses_overflow(void **state)
{
    (void)state;
    must_exit_1(fill_u8);
    must_exit_1(fill_bytes);
    must_exit_1(set16_past_end);
    must_exit_1(bad_literal);
    B.n = DNSB_CAP - 4;
    dnsb_bytes(&B, "abcd", 4); /* exactly full is fine */
    assert_int_equal(B.n, DNSB_CAP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_message_bytes),
        cmocka_unit_test(t_names_from_text),
        cmocka_unit_test(t_packets_verify),
        cmocka_unit_test(t_refuses_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
