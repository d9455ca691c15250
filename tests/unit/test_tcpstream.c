/* DNS over TCP reassembly: framing, segmentation, mid-stream pickup, holes, gaps and
 * resync, sequence wraparound, bounded memory and expiry. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decoders/tcpstream.h"

#define MAXMSG 64

typedef struct sink {
    unsigned n;
    uint16_t ids[MAXMSG];
    size_t lens[MAXMSG];
    const uint8_t *ptrs[MAXMSG];
    uint16_t sport[MAXMSG];
} sink;

static void on_msg(void *ctx, const pkt_info *pi, const uint8_t *msg, size_t len)
{
    sink *s = ctx;
    assert_true(len >= 12);
    if (s->n < MAXMSG) {
        s->ids[s->n] = (uint16_t)(msg[0] << 8 | msg[1]);
        s->lens[s->n] = len;
        s->ptrs[s->n] = msg;
        s->sport[s->n] = pi->sport;
    }
    s->n++;
}

/* A query for www.example.com A with the given id, length prefix first; returns bytes. */
static size_t mkmsg(uint8_t *out, uint16_t id)
{
    static const uint8_t body[] = {0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                   3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                   3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
    size_t len = 2 + sizeof body;
    out[0] = 0;
    out[1] = (uint8_t)(len);
    out[2] = (uint8_t)(id >> 8);
    out[3] = (uint8_t)id;
    memcpy(out + 4, body, sizeof body);
    return 2 + len;
}

typedef struct rig {
    tcp_reasm *t;
    dw_counters c;
    sink s;
    uint64_t now;
} rig;

static void rig_init(rig *r, const tcp_limits *lim)
{
    memset(r, 0, sizeof *r);
    tcp_limits l;
    if (lim) {
        l = *lim;
    } else {
        memset(&l, 0, sizeof l);
    }
    tcp_limits_default(&l);
    r->t = tcp_reasm_new(&l);
    assert_non_null(r->t);
    r->now = 1000000000;
}

/* Flow `flow` is from 10.<flow> port 40000+flow to 10.0.0.53:53. */
static void seg_at(rig *r, unsigned flow, uint32_t seq, uint8_t flags, const uint8_t *data,
                   size_t len, uint64_t ts)
{
    pkt_info pi;
    memset(&pi, 0, sizeof pi);
    pi.ts_us = ts;
    pi.ip_version = 4;
    pi.src[0] = 10;
    pi.src[1] = (uint8_t)(flow >> 16);
    pi.src[2] = (uint8_t)(flow >> 8);
    pi.src[3] = (uint8_t)flow;
    pi.dst[0] = 10;
    pi.dst[3] = 53;
    pi.proto = 6;
    pi.sport = (uint16_t)(40000 + flow);
    pi.dport = 53;
    pi.tcp_seq = seq;
    pi.tcp_flags = flags | 0x10;
    pi.payload = data;
    pi.payload_len = len;
    tcp_reasm_segment(r->t, &pi, on_msg, &r->s, &r->c);
}

static void seg(rig *r, uint32_t seq, uint8_t flags, const uint8_t *data, size_t len)
{
    r->now += 1000;
    seg_at(r, 1, seq, flags, data, len, r->now);
}

#define CNT(r, name) ((r)->c.v[DW_C_##name])

static void test_one_per_segment(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t m[3][64];
    size_t ml = 0;
    uint32_t isn = 1000;
    seg(&r, isn, PKT_TCP_SYN, NULL, 0);
    uint32_t seq = isn + 1;
    for (int i = 0; i < 3; i++) {
        ml = mkmsg(m[i], (uint16_t)(0x100 + i));
        seg(&r, seq, 0, m[i], ml);
        seq += (uint32_t)ml;
        /* zero-copy: the message is passed from the segment itself */
        assert_ptr_equal(r.s.ptrs[i], m[i] + 2);
    }
    assert_int_equal(r.s.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r.s.ids[i], 0x100 + i);
        assert_int_equal(r.s.lens[i], ml - 2);
    }
    assert_int_equal(tcp_reasm_bytes_held(r.t), 0);
    assert_int_equal(CNT(&r, TCP_MIDSTREAM), 0);
    assert_int_equal(tcp_reasm_flows(r.t), 1);
    seg(&r, seq, PKT_TCP_FIN, NULL, 0);
    assert_int_equal(tcp_reasm_flows(r.t), 0);
    tcp_reasm_free(r.t);
}

static void test_several_per_segment(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[256];
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        n += mkmsg(buf + n, (uint16_t)(7 + i));
    seg(&r, 50, PKT_TCP_SYN, NULL, 0);
    seg(&r, 51, 0, buf, n);
    assert_int_equal(r.s.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r.s.ids[i], 7 + i);
    assert_int_equal(tcp_reasm_bytes_held(r.t), 0);
    tcp_reasm_free(r.t);
}

static void test_one_over_many(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[256];
    size_t n = mkmsg(buf, 0xabcd);
    n += mkmsg(buf + n, 0xabce);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    /* one byte per segment: each message completes on its last byte, never before */
    for (size_t i = 0; i < n; i++) {
        seg(&r, 1 + (uint32_t)i, 0, buf + i, 1);
        if (i + 1 < n / 2)
            assert_int_equal(r.s.n, 0);
        else if (i + 1 < n)
            assert_int_equal(r.s.n, 1);
    }
    assert_int_equal(r.s.n, 2);
    assert_int_equal(r.s.ids[0], 0xabcd);
    assert_int_equal(r.s.ids[1], 0xabce);
    /* uneven chunks spanning the boundary between the two messages */
    seg(&r, 1 + (uint32_t)n, 0, buf, 10);
    seg(&r, 11 + (uint32_t)n, 0, buf + 10, n - 15);
    seg(&r, 1 + 2 * (uint32_t)n - 5, 0, buf + n - 5, 5);
    assert_int_equal(r.s.n, 4);
    assert_int_equal(r.s.ids[3], 0xabce);
    assert_int_equal(tcp_reasm_bytes_held(r.t) > 0, 1); /* the buffer is pooled */
    tcp_reasm_free(r.t);
}

static void test_length_prefix_split(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[128];
    size_t n = mkmsg(buf, 0x4242);
    n += mkmsg(buf + n, 0x4343);
    seg(&r, 99, PKT_TCP_SYN, NULL, 0);
    seg(&r, 100, 0, buf, 1); /* first byte of the length */
    assert_int_equal(r.s.n, 0);
    seg(&r, 101, 0, buf + 1, n / 2); /* rest of msg 1 and the first byte of msg 2's length */
    assert_int_equal(r.s.n, 1);
    seg(&r, 101 + (uint32_t)n / 2, 0, buf + 1 + n / 2, n - 1 - n / 2);
    assert_int_equal(r.s.n, 2);
    assert_int_equal(r.s.ids[1], 0x4343);
    tcp_reasm_free(r.t);
}

static void test_midstream_valid(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[128];
    size_t n = mkmsg(buf, 0x1111);
    seg(&r, 777, 0, NULL, 0); /* bare ACK: nothing tracked */
    assert_int_equal(tcp_reasm_flows(r.t), 0);
    seg(&r, 777, 0, buf, n);
    seg(&r, 777 + (uint32_t)n, 0, buf, n);
    assert_int_equal(r.s.n, 2);
    assert_int_equal(CNT(&r, TCP_MIDSTREAM), 1);
    /* a first segment too short to judge is kept until it can be */
    seg_at(&r, 2, 5000, 0, buf, 3, r.now);
    assert_int_equal(r.s.n, 2);
    seg_at(&r, 2, 5003, 0, buf + 3, n - 3, r.now);
    assert_int_equal(r.s.n, 3);
    assert_int_equal(CNT(&r, TCP_MIDSTREAM), 2);
    tcp_reasm_free(r.t);
}

static void test_midstream_invalid(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[256];
    size_t a = mkmsg(buf, 0x2222);
    size_t b = mkmsg(buf + a, 0x3333);
    size_t c2 = mkmsg(buf + a + b, 0x4444);
    /* pickup 7 bytes into a message: the tail is skipped, the next message found */
    seg(&r, 10007, 0, buf + 7, a - 7 + b);
    assert_int_equal(r.s.n, 1);
    assert_int_equal(r.s.ids[0], 0x3333);
    seg(&r, 10000 + (uint32_t)(a + b), 0, buf + a + b, c2);
    assert_int_equal(r.s.n, 2);
    assert_int_equal(r.s.ids[1], 0x4444);
    assert_int_equal(CNT(&r, TCP_MIDSTREAM), 1);

    /* The dnscap do1t-nosyn-1nolen case: the first segment is a message without its
     * length (its id read as a length, its ANCOUNT of 0 where QDCOUNT should be), then
     * the next message's length alone, then its body. */
    tcp_reasm_free(r.t);
    rig_init(&r, NULL);
    seg(&r, 20000, 0, buf + 2, a - 2);
    seg(&r, 20000 + (uint32_t)a - 2, 0, buf + a, 2);
    assert_int_equal(r.s.n, 0);
    seg(&r, 20000 + (uint32_t)a, 0, buf + a + 2, b - 2);
    assert_int_equal(r.s.n, 1);
    assert_int_equal(r.s.ids[0], 0x3333);
    tcp_reasm_free(r.t);
}

static void test_too_short(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[128] = {0, 5, 1, 2, 3, 4, 5, 0, 0};
    size_t n = 9; /* a 5-byte message and a 0-byte one */
    n += mkmsg(buf + n, 0x5555);
    seg(&r, 1, PKT_TCP_SYN, NULL, 0);
    seg(&r, 2, 0, buf, n);
    assert_int_equal(r.s.n, 1);
    assert_int_equal(r.s.ids[0], 0x5555);
    assert_int_equal(CNT(&r, TCP_MSG_TOO_SHORT), 2);
    tcp_reasm_free(r.t);
}

static void test_out_of_order_fill(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[256];
    size_t a = mkmsg(buf, 1);
    size_t b = mkmsg(buf + a, 2);
    size_t c2 = mkmsg(buf + a + b, 3);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    /* msg 3, then the second half of msg 2, then msg 1 with the first half of msg 2 */
    seg(&r, 1 + (uint32_t)(a + b), 0, buf + a + b, c2);
    seg(&r, 1 + (uint32_t)(a + 10), 0, buf + a + 10, b - 10);
    assert_int_equal(r.s.n, 0);
    assert_int_equal(CNT(&r, TCP_OUT_OF_ORDER), 2);
    seg(&r, 1, 0, buf, a + 10);
    assert_int_equal(r.s.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r.s.ids[i], i + 1);
    assert_int_equal(CNT(&r, TCP_GAP), 0);
    /* everything consumed: the direction holds nothing, its buffer went to the pool */
    seg(&r, 1 + (uint32_t)(a + b + c2), PKT_TCP_FIN, NULL, 0);
    assert_int_equal(tcp_reasm_flows(r.t), 0);
    tcp_reasm_free(r.t);
}

static void test_retransmission(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[256];
    size_t a = mkmsg(buf, 1);
    size_t b = mkmsg(buf + a, 2);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1, 0, buf, a);
    seg(&r, 1, 0, buf, a); /* duplicate */
    assert_int_equal(r.s.n, 1);
    seg(&r, 1, 0, buf, a + 5); /* overlaps what was consumed, brings 5 new bytes */
    seg(&r, 1 + (uint32_t)a, 0, buf + a, 8); /* overlaps the 5 held bytes */
    assert_int_equal(r.s.n, 1);
    seg(&r, 1 + (uint32_t)a, 0, buf + a, b);
    seg(&r, 1 + (uint32_t)a, 0, buf + a, b);
    assert_int_equal(r.s.n, 2);
    assert_int_equal(r.s.ids[1], 2);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0); /* a retransmitted SYN resets nothing */
    assert_int_equal(r.s.n, 2);
    assert_int_equal(CNT(&r, TCP_GAP), 0);
    tcp_reasm_free(r.t);
}

static void test_fin_mid_message(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[128];
    size_t a = mkmsg(buf, 9);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1, 0, buf, a - 4);
    seg(&r, 1 + (uint32_t)a - 4, PKT_TCP_FIN, NULL, 0);
    assert_int_equal(tcp_reasm_flows(r.t), 0);
    /* the rest, after the FIN: a new mid-stream direction that finds no message start */
    seg(&r, 1 + (uint32_t)a - 4, 0, buf + a - 4, 4);
    assert_int_equal(r.s.n, 0);
    /* FIN and data in one segment: the data counts, then the direction ends */
    tcp_reasm_free(r.t);
    rig_init(&r, NULL);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1, PKT_TCP_FIN, buf, a);
    assert_int_equal(r.s.n, 1);
    assert_int_equal(tcp_reasm_flows(r.t), 0);
    /* RST mid-message: nothing partial delivered */
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1, 0, buf, 10);
    seg(&r, 11, PKT_TCP_RST, NULL, 0);
    assert_int_equal(r.s.n, 1);
    assert_int_equal(tcp_reasm_flows(r.t), 0);
    tcp_reasm_free(r.t);
}

/* Holes: the OOO segment limit makes the hole a gap, the broken message is dropped, the
 * stream resynchronises on the next message start, even when it is not at a segment
 * start. */
static void test_gap_resync(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[1024];
    size_t off[20], n = 0;
    for (int i = 0; i < 20; i++) {
        off[i] = n;
        n += mkmsg(buf + n, (uint16_t)(100 + i));
    }
    size_t ml = off[1];
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1, 0, buf, ml + 10);             /* msg 0 and 10 bytes of msg 1 */
    /* lost: msg 1 bytes 10..19; then segments of 5 bytes + ... starting mid-msg 1 */
    size_t pos = ml + 20;
    unsigned segs = 0;
    while (pos < off[10]) {
        size_t len = ml - 3;
        seg(&r, 1 + (uint32_t)pos, 0, buf + pos, len);
        pos += len;
        segs++;
    }
    assert_true(segs > 8);
    assert_int_equal(CNT(&r, TCP_GAP), 1);
    assert_int_equal(r.s.ids[0], 100);
    /* msg 1 dropped; msgs 2.. delivered in order up to what is complete */
    assert_true(r.s.n >= 8);
    for (unsigned i = 1; i < r.s.n; i++)
        assert_int_equal(r.s.ids[i], 100 + i + 1);
    assert_int_equal(CNT(&r, TCP_OUT_OF_ORDER), 9);
    unsigned before = r.s.n;
    seg(&r, 1 + (uint32_t)pos, 0, buf + pos, off[12] - pos);
    assert_int_equal(before, 9);
    assert_int_equal(r.s.n, 11);
    assert_int_equal(r.s.ids[r.s.n - 1], 111);

    /* far beyond the window: the gap is declared at once */
    tcp_reasm_free(r.t);
    rig_init(&r, NULL);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1, 0, buf, ml + 3);
    seg(&r, 1 + 3 * 65537, 0, buf + 5, ml - 5 + ml); /* starts mid-message */
    assert_int_equal(CNT(&r, TCP_GAP), 1);
    assert_int_equal(r.s.n, 2);
    assert_int_equal(r.s.ids[1], 101);

    /* a hole older than the wait is given up on the next segment */
    tcp_reasm_free(r.t);
    rig_init(&r, NULL);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1 + 4, 0, buf + 4, ml - 4); /* msg 0 without 4 bytes */
    seg(&r, 1 + (uint32_t)ml, 0, buf + ml, ml);
    assert_int_equal(r.s.n, 0);
    r.now += 2000000;
    seg(&r, 1 + 2 * (uint32_t)ml, 0, buf + 2 * ml, ml);
    assert_int_equal(CNT(&r, TCP_GAP), 1);
    assert_int_equal(r.s.n, 2);
    assert_int_equal(r.s.ids[0], 101);
    assert_int_equal(r.s.ids[1], 102);

    /* a resync candidate that would run into a known hole is not taken */
    tcp_reasm_free(r.t);
    rig_init(&r, NULL);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1 + 4, 0, buf + 4, ml - 4 + ml - 6); /* lost: 4 bytes; msg 1 cut short */
    seg(&r, 1 + 3 * (uint32_t)ml, 0, buf + 3 * ml, ml); /* lost: end of 1, all of 2 */
    seg(&r, 1 + 2 * (uint32_t)ml - 6 + 20, 0, buf + 2 * ml + 14, 6);
    tcp_reasm_flush(r.t, on_msg, &r.s, &r.c);
    assert_int_equal(r.s.n, 1);
    assert_int_equal(r.s.ids[0], 103);
    assert_int_equal(tcp_reasm_flows(r.t), 0);
    tcp_reasm_free(r.t);
}

static void test_flush(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[256];
    size_t a = mkmsg(buf, 1);
    size_t b = mkmsg(buf + a, 2);
    size_t c2 = mkmsg(buf + a + b, 3);
    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1, 0, buf, a);
    seg(&r, 1 + (uint32_t)(a + b), 0, buf + a + b, c2 - 1); /* msg 2 lost, msg 3 short */
    seg_at(&r, 7, 1 + (uint32_t)(a + b), 0, buf + a + b, c2, r.now); /* another flow */
    seg_at(&r, 8, 1, 0, buf, 6, r.now);                             /* partial only */
    assert_int_equal(r.s.n, 2);
    tcp_reasm_flush(r.t, on_msg, &r.s, &r.c);
    /* msg 3 of flow 1 is not complete: nothing more */
    assert_int_equal(r.s.n, 2);
    assert_int_equal(tcp_reasm_flows(r.t), 0);

    seg(&r, 0, PKT_TCP_SYN, NULL, 0);
    seg(&r, 1 + (uint32_t)a, 0, buf + a, b + c2);
    assert_int_equal(r.s.n, 2);
    tcp_reasm_flush(r.t, on_msg, &r.s, &r.c);
    assert_int_equal(r.s.n, 4);
    assert_int_equal(r.s.ids[2], 2);
    assert_int_equal(r.s.ids[3], 3);
    assert_int_equal(r.s.sport[3], 40001);
    tcp_reasm_free(r.t);
}

static void test_wraparound(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, NULL);
    uint8_t buf[512];
    size_t a = mkmsg(buf, 1);
    size_t n = a;
    for (int i = 2; i <= 6; i++)
        n += mkmsg(buf + n, (uint16_t)i);
    uint32_t isn = 0xffffffffu - 40; /* stream byte 41 has sequence number 0 */
    seg(&r, isn, PKT_TCP_SYN, NULL, 0);
    uint32_t s0 = isn + 1;
    seg(&r, s0, 0, buf, 30);                         /* before the wrap */
    seg(&r, s0 + 30, 0, buf + 30, 20);               /* across it: msg 1 ends */
    assert_int_equal(r.s.n, 1);
    /* out of order across the wrap: a later piece first */
    seg(&r, s0 + 50 + 40, 0, buf + 90, (uint32_t)a * 3 - 90 + 5);
    seg(&r, s0 + 50, 0, buf + 50, 40);
    assert_int_equal(r.s.n, 3);
    seg(&r, s0, 0, buf, 60); /* an old retransmission from before the wrap */
    assert_int_equal(r.s.n, 3);
    seg(&r, s0 + 3 * (uint32_t)a + 5, 0, buf + 3 * a + 5, n - 3 * a - 5);
    assert_int_equal(r.s.n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(r.s.ids[i], i + 1);
    assert_int_equal(CNT(&r, TCP_GAP), 0);
    tcp_reasm_free(r.t);
}

static void test_flood(void **state)
{
    (void)state;
    tcp_limits l;
    memset(&l, 0, sizeof l);
    l.max_flows = 64;
    l.max_total_bytes = 16 * 1024;
    rig r;
    rig_init(&r, &l);
    uint8_t big[1500];
    size_t a = mkmsg(big, 1);
    memset(big + a, 0x55, sizeof big - a);
    big[a] = 0x05;
    big[a + 1] = 0xdc; /* a 1500-byte message, never completed */
    size_t maxheld = 0;
    for (unsigned i = 0; i < 100000; i++) {
        r.now += 10;
        /* each flow: a SYN, one complete message and the start of a long one */
        seg_at(&r, i, 0, PKT_TCP_SYN, NULL, 0, r.now);
        seg_at(&r, i, 1, 0, big, i % 7 == 0 ? a + 2 + 200 * (i % 5) : a, r.now);
        size_t h = tcp_reasm_bytes_held(r.t);
        if (h > maxheld)
            maxheld = h;
        assert_true(h <= l.max_total_bytes);
        assert_true(tcp_reasm_flows(r.t) <= 64);
    }
    assert_int_equal(r.s.n, 100000);
    assert_true(CNT(&r, TCP_FLOW_EVICTED) >= 100000 - 64);
    assert_true(maxheld > 0);
    tcp_reasm_free(r.t);
}

static void test_mem_full(void **state)
{
    (void)state;
    tcp_limits l;
    memset(&l, 0, sizeof l);
    l.max_flows = 8;
    l.max_total_bytes = 2048;
    rig r;
    rig_init(&r, &l);
    uint8_t big[1500];
    size_t a = mkmsg(big, 1);
    memset(big + a, 0x55, sizeof big - a);
    big[a] = 0x05;
    big[a + 1] = 0x00; /* 1280-byte message */
    /* Three connections (claim DNS: a SYN each) with 1000 bytes of a partial message
     * each: the memory holds two, so the oldest holder of the same claim is evicted for
     * the third. */
    for (unsigned f = 0; f < 3; f++) {
        seg_at(&r, f, 0, PKT_TCP_SYN, NULL, 0, r.now);
        seg_at(&r, f, 1, 0, big, a + 1000, r.now);
    }
    assert_int_equal(CNT(&r, TCP_EVICT_DNS), 1);
    assert_int_equal(CNT(&r, TCP_MEM_FULL), 0);
    assert_true(tcp_reasm_bytes_held(r.t) <= 2048);
    assert_int_equal(r.s.n, 3);
    /* A flow picked up mid-stream (no claim) may not evict them: its partial message is
     * dropped for want of memory. */
    seg_at(&r, 5, 1, 0, big, a + 1000, r.now);
    assert_int_equal(CNT(&r, TCP_MEM_FULL), 1);
    assert_true(CNT(&r, TCP_GAP) >= 1);
    assert_int_equal(CNT(&r, TCP_EVICT_DNS), 1);
    assert_true(tcp_reasm_bytes_held(r.t) <= 2048);
    assert_int_equal(r.s.n, 4);
    tcp_reasm_free(r.t);
}

static void test_expiry(void **state)
{
    (void)state;
    tcp_limits l;
    memset(&l, 0, sizeof l);
    l.timeout_ms = 1000;
    rig r;
    rig_init(&r, &l);
    uint8_t buf[128];
    size_t a = mkmsg(buf, 1);
    uint64_t t0 = r.now;
    seg_at(&r, 1, 0, PKT_TCP_SYN, NULL, 0, t0);
    seg_at(&r, 1, 1, 0, buf, a - 3, t0);
    seg_at(&r, 2, 0, PKT_TCP_SYN, NULL, 0, t0 + 600000);
    assert_int_equal(tcp_reasm_flows(r.t), 2);
    tcp_reasm_expire(r.t, t0 + 1000000, &r.c); /* exactly the timeout: kept */
    assert_int_equal(tcp_reasm_flows(r.t), 2);
    tcp_reasm_expire(r.t, t0 + 1200000, &r.c);
    assert_int_equal(tcp_reasm_flows(r.t), 1);
    assert_int_equal(CNT(&r, TCP_FLOW_EXPIRED), 1);
    /* the rest of the message, too late: a new mid-stream direction, nothing delivered */
    seg_at(&r, 1, 1 + (uint32_t)a - 3, 0, buf + a - 3, 3, t0 + 1300000);
    assert_int_equal(r.s.n, 0);
    /* lazily: flow 2 idle past the timeout is dropped when it is next seen */
    seg_at(&r, 2, 1, 0, buf, a, t0 + 1700000);
    assert_int_equal(CNT(&r, TCP_FLOW_EXPIRED), 2);
    assert_int_equal(CNT(&r, TCP_MIDSTREAM), 2);
    assert_int_equal(r.s.n, 1); /* plausible at the start: taken as a boundary */
    tcp_reasm_free(r.t);
}

/* ---- eviction under a flood of junk flows (issue 9) ---- */

static const uint8_t RESOLVER[4] = {10, 10, 0, 53}, VICTIM[4] = {10, 1, 2, 41};

static dnssrv *mk_servers(void)
{
    static const uint16_t ports[] = {53};
    dnssrv *s = dnssrv_new(0, ports, 1);
    assert_non_null(s);
    for (int i = 0; i < 100; i++)
        dnssrv_note(s, 4, RESOLVER);
    return s;
}

/* One segment from src:sport to dst:dport. */
static void seg_from(rig *r, const uint8_t *src, uint16_t sport, const uint8_t *dst,
                     uint16_t dport, uint32_t seq, uint8_t flags, const uint8_t *data,
                     size_t len)
{
    pkt_info pi;
    memset(&pi, 0, sizeof pi);
    r->now += 50;
    pi.ts_us = r->now;
    pi.ip_version = 4;
    memcpy(pi.src, src, 4);
    memcpy(pi.dst, dst, 4);
    pi.proto = 6;
    pi.sport = sport;
    pi.dport = dport;
    pi.tcp_seq = seq;
    pi.tcp_flags = flags | 0x10;
    pi.payload = data;
    pi.payload_len = len;
    tcp_reasm_segment(r->t, &pi, on_msg, &r->s, &r->c);
}

/* Junk flow i: a bare SYN to the resolver (odd i) or one data segment from port 53 to
 * the victim (even i), from 198.18.0.0/15; or, when spoof_resolver, data from the
 * resolver to a client of 10.2.0.0/15. */
static void junk_flow(rig *r, uint32_t i, bool spoof_resolver)
{
    uint8_t a[4] = {198, (uint8_t)(18 + (i >> 16)), (uint8_t)(i >> 8), (uint8_t)i};
    static const uint8_t data[10] = {0, 40, 1, 2, 0x81, 0x80, 0, 1, 0, 0};
    uint16_t port = (uint16_t)(1024 + i % 60000);
    uint8_t v[4] = {10, (uint8_t)(2 + (i >> 16)), (uint8_t)(i >> 8), (uint8_t)i};
    if (spoof_resolver)
        seg_from(r, RESOLVER, 53, v, port, i, 0, data, sizeof data);
    else if (i % 2)
        seg_from(r, a, port, RESOLVER, 53, i, PKT_TCP_SYN, NULL, 0);
    else
        seg_from(r, a, 53, VICTIM, port, i, 0, data, sizeof data);
}

/* The resolver's answer (id 7) to the victim: the first 20 bytes, njunk junk flows, the
 * rest. Returns the messages delivered. */
static unsigned answer_through_flood(rig *r, uint32_t njunk, bool spoof_resolver)
{
    uint8_t m[64];
    size_t n = mkmsg(m, 7);
    m[4] |= 0x80; /* QR */
    seg_from(r, RESOLVER, 53, VICTIM, 40311, 1000, PKT_TCP_SYN, NULL, 0);
    seg_from(r, RESOLVER, 53, VICTIM, 40311, 1001, 0, m, 20);
    for (uint32_t i = 0; i < njunk; i++)
        junk_flow(r, i, spoof_resolver);
    unsigned before = r->s.n;
    seg_from(r, RESOLVER, 53, VICTIM, 40311, 1021, 0, m + 20, n - 20);
    return r->s.n - before;
}

static void test_claim_protects_server(void **state)
{
    (void)state;
    /* 64 directions, 100 000 junk flows from spoofed sources: the resolver's direction
     * stays, the answer is delivered. */
    dnssrv *srv = mk_servers();
    tcp_limits l;
    memset(&l, 0, sizeof l);
    l.max_flows = 64;
    rig r;
    rig_init(&r, &l);
    tcp_reasm_set_servers(r.t, srv);
    assert_int_equal(answer_through_flood(&r, 100000, false), 1);
    assert_int_equal(r.s.ids[r.s.n - 1], 7);
    assert_int_equal(CNT(&r, TCP_EVICT_SERVER), 0);
    assert_int_equal(CNT(&r, TCP_EVICT_DNS) + CNT(&r, TCP_EVICT_UNCLAIMED), 100000 - 63);
    /* Junk that arrives when only higher claims are held is not tracked at all. */
    assert_true(CNT(&r, TCP_EVICT_UNCLAIMED) > 0 && CNT(&r, TCP_EVICT_DNS) > 0);
    tcp_reasm_free(r.t);

    /* Without the server set: least recently used goes, and so does the answer. */
    rig_init(&r, &l);
    assert_int_equal(answer_through_flood(&r, 100000, false), 0);
    tcp_reasm_free(r.t);
    dnssrv_free(srv);
}

static void test_claim_refusal(void **state)
{
    (void)state;
    dnssrv *srv = mk_servers();
    tcp_limits l;
    memset(&l, 0, sizeof l);
    l.max_flows = 2;
    rig r;
    rig_init(&r, &l);
    tcp_reasm_set_servers(r.t, srv);
    uint8_t m[64];
    size_t n = mkmsg(m, 9);
    /* Two directions from the resolver fill the table, each with half a message. */
    seg_from(&r, RESOLVER, 53, VICTIM, 1, 100, 0, m, 10);
    seg_from(&r, RESOLVER, 53, VICTIM, 2, 100, 0, m, 10);
    /* A SYN from elsewhere (claim DNS) and data from nowhere (no claim) are refused. */
    const uint8_t other[4] = {192, 0, 2, 7};
    seg_from(&r, other, 3333, RESOLVER, 53, 5, PKT_TCP_SYN, NULL, 0);
    seg_from(&r, other, 53, VICTIM, 3, 5, 0, m, 10);
    assert_int_equal(CNT(&r, TCP_EVICT_DNS), 1);
    assert_int_equal(CNT(&r, TCP_EVICT_UNCLAIMED), 1);
    assert_int_equal(CNT(&r, TCP_FLOW_EVICTED), 2);
    assert_int_equal(tcp_reasm_flows(r.t), 2);
    /* Both resolver directions complete. */
    seg_from(&r, RESOLVER, 53, VICTIM, 1, 110, 0, m + 10, n - 10);
    seg_from(&r, RESOLVER, 53, VICTIM, 2, 110, 0, m + 10, n - 10);
    assert_int_equal(r.s.n, 2);
    /* A third from the resolver evicts the least recently used of them. */
    seg_from(&r, RESOLVER, 53, VICTIM, 4, 100, 0, m, 10);
    assert_int_equal(CNT(&r, TCP_EVICT_SERVER), 1);
    tcp_reasm_free(r.t);
    dnssrv_free(srv);
}

static void test_default_table_holds_20000(void **state)
{
    (void)state;
    /* The junk forges the resolver's address too (equal claims): the default table's
     * size alone must hold 20 000 junk directions. */
    dnssrv *srv = mk_servers();
    rig r;
    rig_init(&r, NULL);
    tcp_reasm_set_servers(r.t, srv);
    assert_int_equal(answer_through_flood(&r, 20000, true), 1);
    assert_int_equal(CNT(&r, TCP_FLOW_EVICTED), 0);
    assert_int_equal(tcp_reasm_flows(r.t), 20001);
    tcp_reasm_free(r.t);
    /* 200 000: bounded by the table, losses counted by claim. */
    rig_init(&r, NULL);
    tcp_reasm_set_servers(r.t, srv);
    assert_int_equal(answer_through_flood(&r, 200000, true), 0);
    assert_int_equal(tcp_reasm_flows(r.t), 65536);
    /* the answer's direction, 200 000 junk ones, and the answer's again (mid-stream) */
    assert_int_equal(CNT(&r, TCP_EVICT_SERVER), 200002 - 65536);
    tcp_reasm_free(r.t);
    dnssrv_free(srv);
}

static void test_memory_flood(void **state)
{
    (void)state;
    /* The junk flows each hold 1400 bytes of a partial message, far more than the
     * memory: the resolver's answer, half received, still gets the memory it needs to
     * finish (the junk holders of lower claims are evicted for it). */
    dnssrv *srv = mk_servers();
    tcp_limits l;
    memset(&l, 0, sizeof l);
    l.max_total_bytes = 256 * 1024;
    rig r;
    rig_init(&r, &l);
    tcp_reasm_set_servers(r.t, srv);
    static uint8_t m[3002], junkmsg[1402];
    size_t n = mkmsg(m, 7);
    m[0] = 3000 >> 8;
    m[1] = 3000 & 0xff;
    m[4] |= 0x80;
    memset(m + n, 0, sizeof m - n);
    size_t j = mkmsg(junkmsg, 9);
    junkmsg[0] = 3000 >> 8;
    junkmsg[1] = 3000 & 0xff;
    memset(junkmsg + j, 0, sizeof junkmsg - j);
    seg_from(&r, RESOLVER, 53, VICTIM, 40311, 1000, PKT_TCP_SYN, NULL, 0);
    seg_from(&r, RESOLVER, 53, VICTIM, 40311, 1001, 0, m, 1200);
    for (uint32_t i = 0; i < 1000; i++) {
        uint8_t a[4] = {198, 18, (uint8_t)(i >> 8), (uint8_t)i};
        uint16_t port = (uint16_t)(1024 + i);
        seg_from(&r, a, port, RESOLVER, 53, i, PKT_TCP_SYN, NULL, 0);
        seg_from(&r, a, port, RESOLVER, 53, i + 1, 0, junkmsg, sizeof junkmsg);
        assert_true(tcp_reasm_bytes_held(r.t) <= l.max_total_bytes);
    }
    assert_true(CNT(&r, TCP_EVICT_DNS) > 0);
    seg_from(&r, RESOLVER, 53, VICTIM, 40311, 2201, 0, m + 1200, sizeof m - 1200);
    assert_int_equal(r.s.n, 1);
    assert_int_equal(r.s.ids[0], 7);
    assert_int_equal(r.s.lens[0], 3000);
    assert_int_equal(CNT(&r, TCP_EVICT_SERVER), 0);
    tcp_reasm_free(r.t);
    dnssrv_free(srv);
}

static void test_limits_and_null(void **state)
{
    (void)state;
    tcp_limits l;
    memset(&l, 0, sizeof l);
    tcp_limits_default(&l);
    assert_int_equal(l.max_flows, 65536);
    assert_int_equal(l.max_flow_bytes, 2 * 65537);
    assert_int_equal(l.max_total_bytes, 64u << 20);
    assert_int_equal(l.timeout_ms, 60000);
    l.max_flows = 0;
    assert_null(tcp_reasm_new(&l));
    tcp_reasm_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_per_segment),
        cmocka_unit_test(test_several_per_segment),
        cmocka_unit_test(test_one_over_many),
        cmocka_unit_test(test_length_prefix_split),
        cmocka_unit_test(test_midstream_valid),
        cmocka_unit_test(test_midstream_invalid),
        cmocka_unit_test(test_too_short),
        cmocka_unit_test(test_out_of_order_fill),
        cmocka_unit_test(test_retransmission),
        cmocka_unit_test(test_fin_mid_message),
        cmocka_unit_test(test_gap_resync),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_flood),
        cmocka_unit_test(test_mem_full),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_limits_and_null),
        cmocka_unit_test(test_claim_protects_server),
        cmocka_unit_test(test_claim_refusal),
        cmocka_unit_test(test_default_table_holds_20000),
        cmocka_unit_test(test_memory_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
