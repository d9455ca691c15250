/* track: the exchange table (rules/track.h) on messages built here: answers, identical
 * retransmissions, conflicts (once per exchange), 0x20 case, near misses and their
 * threshold, one-way spans, unsolicited responses and lost state, eviction counters, one
 * report per incident, and incidents held back while the capture loses packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decoders/dns.h"
#include "rules/track.h"
#include "rules/violation.h"
#include "tests/lib/dnsbuild.h"

#define T0 1795780800000000ull /* 2026-11-27T10:00:00Z */
#define QFLAGS 0x0100
#define RFLAGS 0x8180

static dnsb g_buf[4];
static dns_msg *g_msg[4];
static unsigned g_next;

/* A parsed message (one of four rotating buffers, valid for the next three calls).
 * ips: NULL for a query; else the answers (A records), n of them; rcode in flags. */
static const dns_msg *msg(unsigned id, unsigned flags, const char *qname, const char *const *ips,
                          unsigned n, uint32_t ttl)
{
    unsigned k = g_next++ % 4;
    dnsb *b = &g_buf[k];
    dnsb_start(b, id, flags, qname, 1, n, 0, 0);
    for (unsigned i = 0; i < n; i++)
        dnsb_rr_addr(b, 12, ttl, ips[i]);
    if (!g_msg[k])
        g_msg[k] = malloc(sizeof *g_msg[k]);
    assert_non_null(g_msg[k]);
    assert_int_equal(dns_parse(g_msg[k], b->b, b->n, NULL), 0);
    return g_msg[k];
}

/* A packet from client (10.1.2.<client>:port) to server 10.10.0.53:53, or back. */
static pkt_info pkt(bool response, unsigned client, uint16_t port, uint64_t ts, uint8_t ttl)
{
    pkt_info pi;
    memset(&pi, 0, sizeof pi);
    uint8_t c[4] = {10, 1, 2, (uint8_t)client}, s[4] = {10, 10, 0, 53};
    pi.ts_us = ts;
    pi.ip_version = 4;
    pi.proto = 17;
    pi.ip_ttl = ttl;
    memcpy(pi.src, response ? s : c, 4);
    memcpy(pi.dst, response ? c : s, 4);
    pi.sport = response ? 53 : port;
    pi.dport = response ? port : 53;
    return pi;
}

static const char *const REAL[] = {"151.101.0.10", "151.101.64.10"};
static const char *const REAL_SWAPPED[] = {"151.101.64.10", "151.101.0.10"};
static const char *const FORGED[] = {"45.33.20.5"};
#define NAME "registry.track.example"

static track *new_track(dw_counters *c, const uint64_t *loss, unsigned max_queries)
{
    track_limits l;
    memset(&l, 0, sizeof l);
    l.loss = loss;
    l.max_queries = max_queries;
    track *t = track_new(&l);
    assert_non_null(t);
    memset(c, 0, sizeof *c);
    track_set_counters(t, c);
    return t;
}

static track_match respond(track *t, unsigned client, uint16_t port, uint64_t ts, uint8_t ttl,
                           const dns_msg *m, bool watched)
{
    pkt_info pi = pkt(true, client, port, ts, ttl);
    track_match r = track_response(t, &pi, m);
    track_unmatched(t, &r, &pi, watched);
    return r;
}

static void ask(track *t, unsigned client, uint16_t port, uint64_t ts, unsigned id,
                const char *qname)
{
    pkt_info pi = pkt(false, client, port, ts, 64);
    track_query(t, &pi, msg(id, QFLAGS, qname, NULL, 0, 0));
}

static void t_answer_retransmit_conflict(void **st)
{
    (void)st;
    dw_counters c;
    track *t = new_track(&c, NULL, 0);
    ask(t, 1, 40000, T0, 0x1234, NAME);
    track_match m = respond(t, 1, 40000, T0 + 1500, 64, msg(0x1234, RFLAGS, NAME, REAL, 2, 300), true);
    assert_int_equal(m.kind, TRACK_ANSWER);
    /* The same set in another order with lower TTLs: a retransmission. */
    m = respond(t, 1, 40000, T0 + 900000, 64, msg(0x1234, RFLAGS, NAME, REAL_SWAPPED, 2, 299), true);
    assert_int_equal(m.kind, TRACK_RETRANSMIT);
    /* Another rcode with no answers: a conflict, with both responses. */
    m = respond(t, 1, 40000, T0 + 2000, 250, msg(0x1234, RFLAGS | 3, NAME, NULL, 0, 0), true);
    assert_int_equal(m.kind, TRACK_CONFLICT);
    assert_true(m.conflict_new);
    assert_int_equal(m.first.ip_ttl, 64);
    assert_int_equal(m.second.ip_ttl, 250);
    assert_int_equal(m.first.ts_us, T0 + 1500);
    assert_int_equal(m.second.rcode, 3);
    assert_int_equal(m.first.family, 4);
    assert_int_equal(m.first.id, 0x1234);
    assert_int_equal(m.first.client_port, 40000);
    /* A third differing answer: counted, not reported again. */
    m = respond(t, 1, 40000, T0 + 3000, 250, msg(0x1234, RFLAGS, NAME, FORGED, 1, 60), true);
    assert_int_equal(m.kind, TRACK_CONFLICT);
    assert_false(m.conflict_new);
    assert_int_equal(c.v[DW_C_TRACK_CONFLICTS], 2);
    assert_int_equal(c.v[DW_C_TRACK_RETRANSMITS], 1);
    track_free(t);
}

/* The question is part of the key as sent: a response that changes the 0x20 case of the
 * name answers nothing (and is a near miss while the query is outstanding). */
static void t_case_exact(void **st)
{
    (void)st;
    dw_counters c;
    track *t = new_track(&c, NULL, 0);
    ask(t, 2, 40001, T0, 0x0101, "ReGiStRy.TrAcK.example");
    track_match m = respond(t, 2, 40001, T0 + 1000, 64, msg(0x0101, RFLAGS, NAME, REAL, 1, 300), true);
    assert_int_equal(m.kind, TRACK_UNMATCHED);
    assert_true(m.near_miss);
    m = respond(t, 2, 40001, T0 + 2000, 64,
                msg(0x0101, RFLAGS, "ReGiStRy.TrAcK.example", REAL, 1, 300), true);
    assert_int_equal(m.kind, TRACK_ANSWER);
    track_free(t);
}

static void t_near_miss_threshold(void **st)
{
    (void)st;
    dw_counters c;
    track *t = new_track(&c, NULL, 0);
    ask(t, 3, 40002, T0, 0x0202, NAME);
    for (unsigned i = 0; i < 5; i++) {
        track_match m = respond(t, 3, (uint16_t)(40002 + i % 2), T0 + 100 + i, 250,
                                msg(0x3000 + i, RFLAGS, NAME, FORGED, 1, 60), false);
        assert_int_equal(m.kind, TRACK_UNMATCHED);
        assert_true(m.near_miss);
        assert_int_equal(m.prior_near, i);
        /* the default threshold is 5 near misses within the query's life */
        assert_int_equal(m.violations, i < 4 ? 0 : DW_V_TXID_MISMATCH_FLOOD);
    }
    assert_int_equal(c.v[DW_C_TRACK_NEAR_MISSES], 5);
    /* The real answer still matches. */
    track_match m = respond(t, 3, 40002, T0 + 2000, 64, msg(0x0202, RFLAGS, NAME, REAL, 1, 300), false);
    assert_int_equal(m.kind, TRACK_ANSWER);
    track_free(t);
}

/* Responses to a client whose queries are never seen: no pair, nothing to count. */
static void t_one_way(void **st)
{
    (void)st;
    dw_counters c;
    track *t = new_track(&c, NULL, 0);
    for (unsigned i = 0; i < 100; i++) {
        track_match m = respond(t, 4, (uint16_t)(40000 + i), T0 + i * 1000, 64,
                                msg(0x4000 + i, RFLAGS, NAME, REAL, 1, 300), true);
        assert_int_equal(m.kind, TRACK_UNMATCHED);
        assert_int_equal(m.pair, 0);
        assert_int_equal(m.violations, 0);
    }
    track_free(t);
}

static void t_late_and_unsolicited(void **st)
{
    (void)st;
    dw_counters c;
    track *t = new_track(&c, NULL, 0);
    ask(t, 5, 40005, T0, 0x0505, NAME);
    track_match m = respond(t, 5, 40005, T0 + 15000000, 64, msg(0x0505, RFLAGS, NAME, REAL, 1, 300), true);
    assert_int_equal(m.kind, TRACK_LATE);
    assert_int_equal(c.v[DW_C_TRACK_LATE], 1);
    /* Nothing outstanding, queries seen 5 s ago: an answer nobody asked for. */
    m = respond(t, 5, 40006, T0 + 20000000, 250, msg(0x0606, RFLAGS, NAME, FORGED, 1, 60), true);
    assert_int_equal(m.kind, TRACK_UNMATCHED);
    assert_false(m.near_miss);
    assert_int_equal(m.violations, DW_V_UNSOLICITED_RESPONSE);
    /* Not for a name no rule watches. */
    m = respond(t, 5, 40007, T0 + 20001000, 250, msg(0x0607, RFLAGS, NAME, FORGED, 1, 60), false);
    assert_int_equal(m.violations, 0);
    /* Past track.seen_s (60 s) the client's queries are no longer seen. */
    m = respond(t, 5, 40008, T0 + 70000000, 250, msg(0x0608, RFLAGS, NAME, FORGED, 1, 60), true);
    assert_int_equal(m.pair, 0);
    assert_int_equal(m.violations, 0);
    track_free(t);
}

/* A table of 64 exchanges and 1000 queries of one pair: evictions are counted, and an
 * unmatched answer afterwards may answer an evicted query: not called unsolicited. */
static void t_eviction_state_lost(void **st)
{
    (void)st;
    dw_counters c;
    track *t = new_track(&c, NULL, 64);
    for (unsigned i = 0; i < 1000; i++)
        ask(t, 6, (uint16_t)(20000 + i), T0 + i, 0x1000 + i, NAME);
    assert_true(c.v[DW_C_TRACK_QUERIES_EVICTED] >= 1000 - 64);
    track_match m = respond(t, 6, 20000, T0 + 11000000, 64, msg(0x1000, RFLAGS, NAME, REAL, 1, 300), true);
    assert_int_equal(m.kind, TRACK_UNMATCHED);
    assert_false(m.near_miss);
    assert_int_equal(m.violations, 0);
    assert_int_equal(c.v[DW_C_TRACK_STATE_LOST], 1);
    track_free(t);
}

typedef struct reports {
    unsigned n;
    track_report last;
} reports;

static void on_report(void *ctx, const track_report *r)
{
    reports *x = ctx;
    x->n++;
    x->last = *r;
}

/* A blind flood of 100 forged answers: one incident, one report with the counts. With
 * the capture losing packets meanwhile, the report is held back. */
static void flood(bool lossy)
{
    dw_counters c;
    uint64_t loss = 0;
    track *t = new_track(&c, &loss, 0);
    ask(t, 7, 40007, T0, 0x0707, "www." NAME);
    track_match m = respond(t, 7, 40007, T0 + 1000, 64, msg(0x0707, RFLAGS, "www." NAME, REAL, 1, 300), true);
    assert_int_equal(m.kind, TRACK_ANSWER);
    for (unsigned i = 0; i < 100; i++) {
        char name[64];
        snprintf(name, sizeof name, "x%u." NAME, i);
        pkt_info pi = pkt(true, 7, (uint16_t)(30000 + i % 50), T0 + 12000000 + i * 100, 250);
        const dns_msg *f = msg(0x8000 + i, RFLAGS, name, FORGED, 1, 60);
        m = track_response(t, &pi, f);
        track_unmatched(t, &m, &pi, true);
        if (lossy && i == 50)
            loss += 3;
        track_note(t, &m, 4, "t-track", &pi, f);
    }
    reports r = {0};
    track_expire(t, T0 + 12000000 + 5000000, on_report, &r); /* within the window */
    assert_int_equal(r.n, 0);
    track_expire(t, T0 + 12000000 + 10000000, on_report, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.last.rule, 4);
    assert_string_equal(r.last.rule_id, "t-track");
    assert_int_equal(r.last.violations, DW_V_TXID_MISMATCH_FLOOD | DW_V_UNSOLICITED_RESPONSE);
    assert_int_equal(r.last.responses, 100);
    assert_int_equal(r.last.distinct_ids, 100);
    assert_int_equal(r.last.distinct_ports, 50);
    assert_int_equal(r.last.n_samples, TRACK_SAMPLES);
    assert_int_equal(r.last.sample[0].ip_ttl, 250);
    assert_int_equal(r.last.held_back, lossy);
    assert_int_equal(r.last.loss, lossy ? 3 : 0);
    assert_int_equal(c.v[DW_C_TRACK_HELD_BACK], lossy);
    track_expire(t, UINT64_MAX, on_report, &r);
    assert_int_equal(r.n, 1);
    track_free(t);
}

static void t_flood_one_report(void **st)
{
    (void)st;
    flood(false);
}

static void t_flood_held_back(void **st)
{
    (void)st;
    flood(true);
}

/* Many clients behind one NAT: one address, many ports, each answered: nothing unmatched. */
static void t_nat(void **st)
{
    (void)st;
    dw_counters c;
    track *t = new_track(&c, NULL, 0);
    for (unsigned i = 0; i < 500; i++)
        ask(t, 8, (uint16_t)(41000 + i), T0 + i * 10, (0x5000 + i * 7919) & 0xffff, NAME);
    for (unsigned i = 0; i < 500; i++) {
        track_match m = respond(t, 8, (uint16_t)(41000 + i), T0 + 10000 + i * 10, 64,
                                msg((0x5000 + i * 7919) & 0xffff, RFLAGS, NAME, REAL, 1, 300), true);
        assert_int_equal(m.kind, TRACK_ANSWER);
    }
    assert_int_equal(c.v[DW_C_TRACK_UNMATCHED], 0);
    track_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_answer_retransmit_conflict),
        cmocka_unit_test(t_case_exact),
        cmocka_unit_test(t_near_miss_threshold),
        cmocka_unit_test(t_one_way),
        cmocka_unit_test(t_late_and_unsolicited),
        cmocka_unit_test(t_eviction_state_lost),
        cmocka_unit_test(t_flood_one_report),
        cmocka_unit_test(t_flood_held_back),
        cmocka_unit_test(t_nat),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (unsigned i = 0; i < 4; i++)
        free(g_msg[i]);
    return rc;
}
