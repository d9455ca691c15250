/* The event size bound (event.h): a response with thousands of answers, or with long
 * names and record data, encodes to at most EVENT_MAX_BYTES, shows the answers that matter
 * first, and counts what it leaves out (dnswatch.truncated, event.reason). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decoders/dns.h"
#include "tests/lib/dnsbuild.h"
#include "sensor/event.h"

static dns_msg *M;
static dw_counters C;
static dnsb B;
static event_encoder *E;
static pkt_info PI;

static int setup(void **state)
{
    (void)state;
    M = malloc(sizeof *M);
    event_meta meta = {"test-sensor", NULL, "test-host"};
    E = event_encoder_new(&meta);
    memset(&PI, 0, sizeof PI);
    PI.ts_us = 1795780800000000ull;
    PI.ip_version = 4;
    PI.proto = 17;
    memcpy(PI.src, (uint8_t[]){10, 10, 0, 53}, 4);
    memcpy(PI.dst, (uint8_t[]){10, 1, 2, 3}, 4);
    PI.sport = 53;
    PI.dport = 40000;
    return M && E ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(M);
    event_encoder_free(E);
    return 0;
}

static unsigned count(const char *hay, size_t len, const char *needle)
{
    unsigned n = 0;
    size_t nl = strlen(needle);
    for (const char *p = hay; (p = memmem(p, len - (size_t)(p - hay), needle, nl)); p += nl)
        n++;
    return n;
}

static const char *has(const char *line, size_t len, const char *s)
{
    return memmem(line, len, s, strlen(s));
}

/* n A records 10.<i>.<k/256>.<k%256> for a fresh name. */
static void build_many(unsigned n)
{
    dnsb_start(&B, 0x1234, 0x8180, "n1.amp.attacker.example", DNS_T_A, n, 0, 0);
    for (unsigned k = 0; k < n; k++) {
        dnsb_ptr(&B, 12);
        size_t at = dnsb_rr_begin(&B, 1, 1, 60);
        dnsb_u8(&B, 10);
        dnsb_u8(&B, 1);
        dnsb_u8(&B, k >> 8);
        dnsb_u8(&B, k & 0xff);
        dnsb_rr_end(&B, at);
    }
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
}

static void t_log_event_many_answers(void **state)
{
    (void)state;
    build_many(3990);
    size_t len;
    const char *line = event_encode(E, &PI, M, NULL, &len);
    assert_non_null(line);
    assert_true(len <= EVENT_MAX_BYTES);
    assert_non_null(has(line, len, "\"truncated\":{\"answers\":{\"total\":3990,\"shown\":32}}"));
    assert_int_equal(count(line, len, "\"data\":"), 32);
    assert_null(has(line, len, "10.1.0.32\"")); /* the 33rd address is left out */
}

/* The alert's callbacks: offending addresses are 10.1.15.x (the end of the message). */
typedef struct actx {
    unsigned findings_written;
} actx;

static bool matters(void *ctx, const dns_msg *m, const dns_rr *rr)
{
    (void)ctx;
    uint8_t a[16];
    return dns_rr_addr(m, rr, a) == 4 && a[2] == 15;
}

static void write_dw(void *ctx, json_buf *j)
{
    actx *c = ctx;
    const event_limits *lim = event_encoder_limits(E);
    json_key(j, "findings");
    json_arr_begin(j);
    for (unsigned i = 0; i < 100 && i < lim->findings; i++) {
        json_u64(j, i);
        c->findings_written++;
    }
    json_arr_end(j);
}

static void t_alert_shows_what_matters(void **state)
{
    (void)state;
    build_many(3990); /* 10.1.15.0 .. 10.1.15.149 are the last 150 records */
    actx c = {0};
    event_alert ea = {
        .severity = 73, .reason = "n1 answered 10.1.0.0", .rule_id = "t-rebind",
        .rule_name = "rebinding", .ruleset = "sha256:00", .write_dnswatch = write_dw,
        .answer_matters = matters, .ctx = &c, .findings_total = 3990, .findings_kept = 100,
    };
    size_t len;
    const char *line = event_encode(E, &PI, M, &ea, &len);
    assert_non_null(line);
    assert_true(len <= EVENT_MAX_BYTES);
    assert_int_equal(c.findings_written, EVENT_FINDINGS_SHOWN);
    /* All 32 shown answers are offending ones, in message order. */
    assert_int_equal(count(line, len, "\"data\":\"10.1.15."), 32);
    assert_non_null(has(line, len, "\"data\":\"10.1.15.0\""));
    assert_non_null(has(line, len, "\"findings\":{\"total\":3990,\"shown\":32}"));
    assert_non_null(has(line, len, "(truncated: 3990 offending items, 32 shown; 3990 answers, 32 shown)"));
}

static void t_no_truncation_when_small(void **state)
{
    (void)state;
    build_many(3);
    size_t len;
    const char *line = event_encode(E, &PI, M, NULL, &len);
    assert_non_null(line);
    assert_null(has(line, len, "truncated"));
    assert_int_equal(count(line, len, "\"data\":"), 3);
    /* A logged response is whole while it fits: 300 answers (~25 KB). */
    build_many(300);
    line = event_encode(E, &PI, M, NULL, &len);
    assert_true(len <= EVENT_MAX_BYTES);
    assert_null(has(line, len, "truncated"));
    assert_int_equal(count(line, len, "\"data\":"), 300);
}

/* 40 TXT records of 1100 bytes of \001, owned by a 250-byte name of \001 bytes: at the
 * first limits the line would be ~80 KiB (each byte is "\\001" in JSON), so the encoder
 * tightens its limits and the line still fits; the event id is not consumed twice. */
static void t_long_data_tightens(void **state)
{
    (void)state;
    dnsb_hdr(&B, 0x4321, 0x8180, 1, 40, 0, 0);
    for (int l = 0; l < 4; l++) {
        dnsb_u8(&B, 62);
        for (int i = 0; i < 62; i++)
            dnsb_u8(&B, 1);
    }
    dnsb_u8(&B, 0);
    dnsb_u16(&B, 16);
    dnsb_u16(&B, 1);
    for (int r = 0; r < 40; r++) {
        dnsb_ptr(&B, 12);
        size_t at = dnsb_rr_begin(&B, 16, 1, 60);
        for (int s = 0; s < 5; s++) {
            dnsb_u8(&B, 220);
            for (int i = 0; i < 220; i++)
                dnsb_u8(&B, 1);
        }
        dnsb_rr_end(&B, at);
    }
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    size_t len;
    const char *line = event_encode(E, &PI, M, NULL, &len);
    assert_non_null(line);
    assert_true(len <= EVENT_MAX_BYTES);
    assert_non_null(has(line, len, "\"answers\":{\"total\":40,\"shown\":8}"));
    assert_int_equal(count(line, len, "\"data_length\":"), 8);
    char id1[33], id2[33];
    const char *p = strstr(line, "\"id\":\"");
    memcpy(id1, p + 6, 32);
    id1[32] = '\0';
    build_many(1);
    line = event_encode(E, &PI, M, NULL, &len);
    p = strstr(line, "\"id\":\"");
    memcpy(id2, p + 6, 32);
    id2[32] = '\0';
    assert_memory_equal(id1, id2, 16);
    assert_int_equal(strtoull(id2 + 16, NULL, 16), strtoull(id1 + 16, NULL, 16) + 1);
    assert_string_equal(event_encoder_last_id(E), id2);
}

/* A referral with n_ns NS records (authority) and n_ar glue addresses 10.2.<k/256>.<k%256>
 * (additional), then an OPT record; two answers. */
static void build_sections(unsigned n_ns, unsigned n_ar)
{
    dnsb_start(&B, 0x4321, 0x8180, "www.example.net", DNS_T_A, 2, n_ns, n_ar + 1);
    for (unsigned k = 0; k < 2; k++)
        dnsb_rr_addr(&B, 12, 60, k ? "192.0.2.2" : "192.0.2.1");
    char name[64];
    for (unsigned k = 0; k < n_ns; k++) {
        dnsb_ptr(&B, 12 + 4);
        size_t at = dnsb_rr_begin(&B, DNS_T_NS, 1, 172800);
        snprintf(name, sizeof name, "ns%u.example.net", k);
        dnsb_name(&B, name);
        dnsb_rr_end(&B, at);
    }
    for (unsigned k = 0; k < n_ar; k++) {
        dnsb_ptr(&B, 12 + 4);
        size_t at = dnsb_rr_begin(&B, DNS_T_A, 1, 172800);
        dnsb_u8(&B, 10);
        dnsb_u8(&B, 2);
        dnsb_u8(&B, k >> 8);
        dnsb_u8(&B, k & 0xff);
        dnsb_rr_end(&B, at);
    }
    dnsb_rr_end(&B, dnsb_opt_begin(&B, 1232, false));
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
}

/* Glue 10.2.5.x is the evidence. */
static bool glue_matters(void *ctx, const dns_msg *m, const dns_rr *rr)
{
    (void)ctx;
    uint8_t a[16];
    return rr->section == DNS_SEC_ADDITIONAL && dns_rr_addr(m, rr, a) == 4 && a[2] == 5;
}

/* dns.authorities and dns.additionals: whole when small (no OPT among them); bounded and
 * counted per section like the answers when not, the evidence shown first. */
static void t_sections_bounded(void **state)
{
    (void)state;
    size_t len;
    build_sections(2, 1);
    const char *line = event_encode(E, &PI, M, NULL, &len);
    assert_non_null(line);
    assert_non_null(has(line, len, "\"authorities\":[{\"name\":\"example.net\",\"type\":\"NS\","
                                   "\"class\":\"IN\",\"ttl\":172800,\"data\":\"ns0.example.net\"}"));
    assert_non_null(has(line, len, "\"additionals\":[{\"name\":\"example.net\",\"type\":\"A\","
                                   "\"class\":\"IN\",\"ttl\":172800,\"data\":\"10.2.0.0\"}]"));
    assert_null(has(line, len, "OPT"));
    assert_null(has(line, len, "truncated"));
    build_sections(0, 0); /* only the OPT record: no array at all */
    line = event_encode(E, &PI, M, NULL, &len);
    assert_null(has(line, len, "\"additionals\""));
    assert_null(has(line, len, "\"authorities\""));

    /* 1000 NS records and 2000 glue addresses (~150 KB whole): 32 of each section. */
    build_sections(1000, 2000);
    line = event_encode(E, &PI, M, NULL, &len);
    assert_non_null(line);
    assert_true(len <= EVENT_MAX_BYTES);
    assert_non_null(has(line, len, "\"truncated\":{\"authorities\":{\"total\":1000,\"shown\":32},"
                                   "\"additionals\":{\"total\":2000,\"shown\":32}}"));
    assert_int_equal(count(line, len, "\"type\":\"NS\""), 32);
    assert_int_equal(count(line, len, "\"data\":\"10.2."), 32);
    assert_int_equal(count(line, len, "\"data\":\"192.0.2."), 2); /* answers whole */

    /* An alert shows the glue that is evidence first, and says what it left out. */
    actx c = {0};
    event_alert ea = {
        .severity = 73, .reason = "www.example.net was answered with ...", .rule_id = "t",
        .rule_name = "t", .ruleset = "sha256:00", .write_dnswatch = write_dw,
        .answer_matters = glue_matters, .ctx = &c, .findings_total = 1, .findings_kept = 1,
    };
    line = event_encode(E, &PI, M, &ea, &len);
    assert_non_null(line);
    assert_true(len <= EVENT_MAX_BYTES);
    assert_int_equal(count(line, len, "\"data\":\"10.2.5."), 32);
    assert_non_null(has(line, len, "\"data\":\"10.2.5.0\""));
    assert_non_null(has(line, len, "(truncated: 1000 authority records, 32 shown; "
                                   "2000 additional records, 32 shown)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_log_event_many_answers),
        cmocka_unit_test(t_alert_shows_what_matters),
        cmocka_unit_test(t_no_truncation_when_small),
        cmocka_unit_test(t_long_data_tightens),
        cmocka_unit_test(t_sections_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
