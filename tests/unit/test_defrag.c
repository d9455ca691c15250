/* defrag: orders, duplicates, overlaps (the Linux policy of defrag.h), bounds, timeouts,
 * and the memory and table limits under a flood. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decoders/defrag.h"

#define SEC 1000000ull
/* What a datagram costs beyond its blocks once it holds more than one (defrag.h). */
#define DG_OVERHEAD (DEFRAG_ENTRY_BYTES + defrag_map_bytes(64))

typedef struct fspec {
    uint32_t off, len;
    int more;
} fspec;

static uint8_t PAY[65536];

static int group_setup(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof PAY; i++)
        PAY[i] = (uint8_t)(i * 7 + (i >> 8));
    return 0;
}

static defrag_key key4(uint32_t id)
{
    defrag_key k;
    memset(&k, 0, sizeof k);
    k.ip_version = 4;
    memcpy(k.src, "\xc0\x00\x02\x01", 4);
    memcpy(k.dst, "\x0a\x28\x00\x35", 4);
    k.id = id;
    k.proto = 17;
    return k;
}

static defrag_key key6(uint32_t id)
{
    defrag_key k;
    memset(&k, 0, sizeof k);
    k.ip_version = 6;
    k.src[0] = 0x20;
    k.src[15] = 1;
    k.dst[0] = 0xfd;
    k.dst[15] = 0x53;
    k.id = id;
    k.proto = 17;
    return k;
}

/* Splits total bytes into fragments of step bytes (a multiple of 8). */
static size_t split(uint32_t total, uint32_t step, fspec *f)
{
    size_t n = 0;
    for (uint32_t off = 0; off < total; off += step) {
        f[n].off = off;
        f[n].len = total - off < step ? total - off : step;
        f[n].more = off + step < total;
        n++;
    }
    return n;
}

static defrag *mk(unsigned dgs, unsigned frags, size_t bytes, unsigned timeout_ms)
{
    defrag_limits l = {dgs, frags, bytes, timeout_ms, 0, 0};
    defrag *d = defrag_new(&l);
    assert_non_null(d);
    return d;
}

typedef struct res {
    int completed;
    const uint8_t *out;
    size_t len;
} res;

/* Feeds fragments in the order given by idx (NULL: as listed); returns completions. */
static res feed(defrag *d, const defrag_key *k, const fspec *f, const size_t *idx, size_t n,
                const uint8_t *pay, uint64_t t, dw_counters *c)
{
    res r = {0, NULL, 0};
    for (size_t i = 0; i < n; i++) {
        const fspec *s = &f[idx ? idx[i] : i];
        const uint8_t *out = NULL;
        size_t len = 0;
        int rc = defrag_add(d, k, s->off, s->more, pay + s->off, s->len, t, &out, &len, c);
        if (rc == 1) {
            r.completed++;
            r.out = out;
            r.len = len;
        }
    }
    return r;
}

static void assert_payload(const res *r, uint32_t total)
{
    assert_int_equal(r->completed, 1);
    assert_int_equal(r->len, total);
    assert_memory_equal(r->out, PAY, total);
}

static void test_orders(void **st)
{
    (void)st;
    fspec f[64];
    size_t n = split(1000, 128, f), idx[64];
    for (int order = 0; order < 12; order++) {
        defrag *d = mk(0, 0, 0, 0);
        dw_counters c = {0};
        for (size_t i = 0; i < n; i++)
            idx[i] = order == 0 ? i : order == 1 ? n - 1 - i : i;
        if (order >= 2) { /* deterministic shuffles */
            srand((unsigned)order);
            for (size_t i = n - 1; i > 0; i--) {
                size_t j = (size_t)rand() % (i + 1), t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
        }
        defrag_key k = key4(100 + (uint32_t)order);
        res r = feed(d, &k, f, idx, n, PAY, 0, &c);
        assert_payload(&r, 1000);
        assert_int_equal(c.v[DW_C_FRAG_SEEN], n);
        assert_int_equal(c.v[DW_C_FRAG_REASSEMBLED], 1);
        assert_int_equal(c.v[DW_C_FRAG_DUPLICATE] + c.v[DW_C_FRAG_OVERLAP] + c.v[DW_C_FRAG_BAD], 0);
        assert_int_equal(defrag_bytes_held(d), 0);
        assert_int_equal(defrag_proto(d), 17);
        defrag_free(d);
    }
}

static void test_duplicate(void **st)
{
    (void)st;
    defrag *d = mk(0, 0, 0, 0);
    dw_counters c = {0};
    fspec f[] = {{0, 256, 1}, {256, 256, 1}, {256, 256, 1}, {512, 100, 0}};
    defrag_key k = key4(1);
    res r = feed(d, &k, f, NULL, 4, PAY, 0, &c);
    assert_payload(&r, 612);
    assert_int_equal(c.v[DW_C_FRAG_DUPLICATE], 1);
    assert_int_equal(c.v[DW_C_FRAG_OVERLAP], 0);

    /* The same data again after completion starts a new datagram, never completed. */
    r = feed(d, &k, f, NULL, 2, PAY, 0, &c);
    assert_int_equal(r.completed, 0);
    defrag_free(d);
}

static void test_overlap_contained(void **st)
{
    (void)st;
    /* [0,256) and [256,512) arrive in order: one run. [64,320) lies inside it. */
    uint8_t forged[65536];
    memcpy(forged, PAY, sizeof forged);
    memset(forged + 64, 'X', 256);
    fspec a[] = {{0, 256, 1}, {256, 256, 1}};
    fspec mid = {64, 256, 1}, last = {512, 88, 0};

    for (int bad = 0; bad < 2; bad++) {
        defrag *d = mk(0, 0, 0, 0);
        dw_counters c = {0};
        defrag_key k = key4(2);
        res r = feed(d, &k, a, NULL, 2, PAY, 0, &c);
        r = feed(d, &k, &mid, NULL, 1, bad ? forged : PAY, 0, &c);
        assert_int_equal(r.completed, 0);
        r = feed(d, &k, &last, NULL, 1, PAY, 0, &c);
        /* First data wins, as in Linux; a conflict is counted as an overlap. */
        assert_payload(&r, 600);
        assert_int_equal(c.v[DW_C_FRAG_DUPLICATE], bad ? 0 : 1);
        assert_int_equal(c.v[DW_C_FRAG_OVERLAP], bad ? 1 : 0);
        defrag_free(d);
    }
}

static void test_overlap_partial(void **st)
{
    (void)st;
    /* A fragment reaching past the data held: the datagram is dropped, same bytes or not. */
    for (int v6 = 0; v6 < 2; v6++) {
        defrag *d = mk(0, 0, 0, 0);
        dw_counters c = {0};
        defrag_key k = v6 ? key6(3) : key4(3);
        fspec f[] = {{0, 256, 1}, {128, 256, 1}, {256, 256, 1}, {512, 88, 0}};
        res r = feed(d, &k, f, NULL, 4, PAY, 0, &c);
        assert_int_equal(r.completed, 0);
        assert_int_equal(c.v[DW_C_FRAG_OVERLAP], 1);
        /* What came after the drop formed a new datagram without its first fragment. */
        assert_int_equal(defrag_bytes_held(d) > 0, 1);
        defrag_expire(d, 3600 * SEC, &c);
        assert_int_equal(c.v[DW_C_FRAG_TIMEOUT], 1);
        assert_int_equal(defrag_bytes_held(d), 0);
        defrag_free(d);
    }
    /* Adjacent fragments received out of order are separate runs (as in Linux): one
     * spanning both is an overlap, not a duplicate. */
    defrag *d = mk(0, 0, 0, 0);
    dw_counters c = {0};
    defrag_key k = key4(4);
    fspec g[] = {{256, 256, 1}, {0, 256, 1}, {128, 256, 1}, {512, 88, 0}};
    res r = feed(d, &k, g, NULL, 4, PAY, 0, &c);
    assert_int_equal(r.completed, 0);
    assert_int_equal(c.v[DW_C_FRAG_OVERLAP], 1);
    assert_int_equal(c.v[DW_C_FRAG_DUPLICATE], 0);
    defrag_free(d);
}

static void test_missing(void **st)
{
    (void)st;
    fspec f[64];
    size_t n = split(2000, 256, f);
    for (int which = 0; which < 3; which++) { /* first, middle, last */
        defrag *d = mk(0, 0, 0, 1000);
        dw_counters c = {0};
        defrag_key k = key4(5);
        size_t skip = which == 0 ? 0 : which == 1 ? n / 2 : n - 1;
        for (size_t i = 0; i < n; i++)
            if (i != skip)
                assert_int_equal(feed(d, &k, &f[i], NULL, 1, PAY, i, &c).completed, 0);
        assert_true(defrag_bytes_held(d) >= 2000 - 256);
        defrag_expire(d, 999 * 1000, &c); /* not yet */
        assert_int_equal(c.v[DW_C_FRAG_TIMEOUT], 0);
        defrag_expire(d, 1001 * 1000, &c);
        assert_int_equal(c.v[DW_C_FRAG_TIMEOUT], 1);
        assert_int_equal(defrag_bytes_held(d), 0);
        /* The missing piece alone, late, completes nothing. */
        assert_int_equal(feed(d, &k, &f[skip], NULL, 1, PAY, 2 * SEC, &c).completed, 0);
        defrag_free(d);
    }
}

static void test_timeout_lazy(void **st)
{
    (void)st;
    defrag *d = mk(0, 0, 0, 30000);
    dw_counters c = {0};
    fspec f[64];
    size_t n = split(1500, 512, f);
    defrag_key k = key6(6);
    assert_int_equal(feed(d, &k, f, NULL, n - 1, PAY, 10 * SEC, &c).completed, 0);
    /* Within the timeout it completes; past it the old parts are gone. */
    res r = feed(d, &k, &f[n - 1], NULL, 1, PAY, 10 * SEC + 30 * SEC, &c);
    assert_int_equal(r.completed, 0);
    assert_int_equal(c.v[DW_C_FRAG_TIMEOUT], 1);

    /* Time going backwards (unordered capture) does not expire anything. */
    defrag_key k2 = key6(7);
    assert_int_equal(feed(d, &k2, f, NULL, n - 1, PAY, 100 * SEC, &c).completed, 0);
    r = feed(d, &k2, &f[n - 1], NULL, 1, PAY, 50 * SEC, &c);
    assert_payload(&r, 1500);
    defrag_free(d);
}

static void test_flood(void **st)
{
    (void)st;
    const unsigned maxd = 256;
    const size_t maxb = 256 * 1024;
    defrag *d = mk(maxd, 8, maxb, 30000);
    dw_counters c = {0};
    /* 100k unfinished datagrams: tiny ones fill the table, then larger ones the memory. */
    for (uint32_t i = 0; i < 100000; i++) {
        defrag_key k = key4(i);
        k.src[3] = (uint8_t)(i >> 16);
        fspec f = {(i % 3) * 8192, i < 50000 ? 8 : 8 + (i % 4) * 1024, 1};
        const uint8_t *out;
        size_t len;
        int rc = defrag_add(d, &k, f.off, f.more, PAY, f.len, i, &out, &len, &c);
        assert_int_equal(rc, 0);
        if (defrag_bytes_held(d) > maxb)
            fail_msg("held %zu > %zu after %u", defrag_bytes_held(d), maxb, i);
    }
    uint64_t evicted = c.v[DW_C_FRAG_TABLE_FULL] + c.v[DW_C_FRAG_MEM_FULL];
    assert_true(evicted >= 100000 - maxd);
    assert_true(c.v[DW_C_FRAG_TABLE_FULL] > 0);
    assert_true(c.v[DW_C_FRAG_MEM_FULL] > 0);
    /* What is left in the table: expire everything and count it. */
    dw_counters e = {0};
    defrag_expire(d, 1000 * SEC, &e);
    assert_true(e.v[DW_C_FRAG_TIMEOUT] <= maxd);
    assert_int_equal(e.v[DW_C_FRAG_TIMEOUT], 100000 - evicted);
    assert_int_equal(defrag_bytes_held(d), 0);

    /* And it still works. */
    fspec f[64];
    size_t n = split(4000, 1024, f);
    defrag_key k = key4(424242);
    res r = feed(d, &k, f, NULL, n, PAY, 1001 * SEC, &c);
    assert_payload(&r, 4000);
    defrag_free(d);
}

static void test_mem_evicts_oldest(void **st)
{
    (void)st;
    const size_t budget = 4 * DEFRAG_BLOCK + 2 * DG_OVERHEAD;
    defrag *d = mk(16, 0, budget, 0);
    dw_counters c = {0};
    defrag_key a = key4(1), b = key4(2);
    fspec f1 = {0, 3 * DEFRAG_BLOCK, 1};
    assert_int_equal(feed(d, &a, &f1, NULL, 1, PAY, 0, &c).completed, 0);
    assert_int_equal(defrag_bytes_held(d), 3 * DEFRAG_BLOCK);
    fspec g[] = {{0, 2 * DEFRAG_BLOCK, 1}, {2 * DEFRAG_BLOCK, 16, 0}};
    res r = feed(d, &b, g, NULL, 2, PAY, 1, &c);
    assert_payload(&r, 2 * DEFRAG_BLOCK + 16);
    assert_int_equal(c.v[DW_C_FRAG_MEM_FULL], 1); /* a was evicted */
    assert_int_equal(defrag_bytes_held(d), 0);

    /* One datagram larger than the whole budget: its fragment is refused. */
    fspec big = {0, (uint32_t)(budget & ~(size_t)7), 1};
    assert_true(defrag_add(d, &a, 0, 1, PAY, big.len, 2, &r.out, &r.len, &c) < 0);
    assert_int_equal(c.v[DW_C_FRAG_MEM_FULL], 2);
    assert_true(defrag_mem_charged(d) <= budget);

    /* A far, tiny fragment costs one block, not its offset. */
    defrag_key z = key4(3);
    assert_int_equal(defrag_add(d, &z, 60000, 1, PAY, 8, 3, &r.out, &r.len, &c), 0);
    assert_int_equal(defrag_bytes_held(d), DEFRAG_BLOCK);
    defrag_free(d);
}

static void test_too_many(void **st)
{
    (void)st;
    defrag *d = mk(0, 4, 0, 0);
    dw_counters c = {0};
    fspec f[64];
    size_t n = split(1000, 128, f);
    defrag_key k = key4(9);
    res r = feed(d, &k, f, NULL, n, PAY, 0, &c);
    assert_int_equal(r.completed, 0);
    assert_int_equal(c.v[DW_C_FRAG_TOO_MANY], 1);
    /* Exactly the limit is fine. */
    n = split(1000, 256, f);
    k = key4(10);
    r = feed(d, &k, f, NULL, n, PAY, 0, &c);
    assert_payload(&r, 1000);
    defrag_free(d);
}

static void test_bad(void **st)
{
    (void)st;
    defrag *d = mk(0, 0, 0, 0);
    dw_counters c = {0};
    const uint8_t *out;
    size_t len;
    defrag_key k = key4(11);
    /* Past 65535. */
    assert_true(defrag_add(d, &k, 65520, 0, PAY, 15, 0, &out, &len, &c) == 0);
    assert_true(defrag_add(d, &k, 65520, 0, PAY, 16, 0, &out, &len, &c) < 0);
    assert_int_equal(c.v[DW_C_FRAG_BAD], 1);
    defrag_free(d);

    /* Zero length: nothing to keep, and an existing datagram is dropped (Linux). */
    d = mk(0, 0, 0, 0);
    memset(&c, 0, sizeof c);
    assert_true(defrag_add(d, &k, 0, 1, PAY, 0, 0, &out, &len, &c) < 0);
    assert_int_equal(defrag_bytes_held(d), 0);
    assert_int_equal(defrag_add(d, &k, 0, 1, PAY, 64, 0, &out, &len, &c), 0);
    assert_true(defrag_add(d, &k, 64, 1, PAY + 64, 0, 0, &out, &len, &c) < 0);
    assert_int_equal(defrag_add(d, &k, 64, 0, PAY + 64, 8, 0, &out, &len, &c), 0);
    assert_int_equal(c.v[DW_C_FRAG_BAD], 2);

    /* Two last fragments with different ends. */
    defrag_key k2 = key4(12);
    assert_int_equal(defrag_add(d, &k2, 64, 0, PAY + 64, 16, 0, &out, &len, &c), 0);
    assert_true(defrag_add(d, &k2, 128, 0, PAY + 128, 16, 0, &out, &len, &c) < 0);
    assert_int_equal(c.v[DW_C_FRAG_BAD], 3);
    assert_int_equal(defrag_add(d, &k2, 0, 1, PAY, 64, 0, &out, &len, &c), 0); /* new one */

    /* Data past a known end. */
    defrag_key k3 = key4(13);
    assert_int_equal(defrag_add(d, &k3, 64, 0, PAY + 64, 16, 0, &out, &len, &c), 0);
    assert_true(defrag_add(d, &k3, 80, 1, PAY + 80, 16, 0, &out, &len, &c) < 0);
    assert_int_equal(c.v[DW_C_FRAG_BAD], 4);

    /* IPv4 non-last fragment not a multiple of 8: cut down and kept, as Linux does. */
    defrag_key k4 = key4(14);
    assert_int_equal(defrag_add(d, &k4, 0, 1, PAY, 67, 0, &out, &len, &c), 0);
    assert_int_equal(c.v[DW_C_FRAG_BAD], 5);
    assert_int_equal(defrag_add(d, &k4, 64, 0, PAY + 64, 10, 0, &out, &len, &c), 1);
    assert_int_equal(len, 74);
    assert_memory_equal(out, PAY, 74);

    /* Cut down to nothing: dropped, counted once. */
    defrag_key k5 = key4(15);
    assert_true(defrag_add(d, &k5, 0, 1, PAY, 5, 0, &out, &len, &c) < 0);
    assert_int_equal(c.v[DW_C_FRAG_BAD], 6);
    c.v[DW_C_FRAG_BAD]--;

    /* IPv6: dropped (RFC 8200). */
    defrag_key k6 = key6(14);
    assert_true(defrag_add(d, &k6, 0, 1, PAY, 67, 0, &out, &len, &c) < 0);
    assert_int_equal(c.v[DW_C_FRAG_BAD], 6);
    assert_int_equal(defrag_add(d, &k6, 64, 0, PAY + 64, 10, 0, &out, &len, &c), 0);
    defrag_free(d);
}

static void test_ipv6(void **st)
{
    (void)st;
    defrag *d = mk(0, 0, 0, 0);
    dw_counters c = {0};
    fspec f[64];
    size_t n = split(3000, 1232, f), idx[64];
    for (size_t i = 0; i < n; i++)
        idx[i] = n - 1 - i;
    /* The protocol of a later fragment is ignored: the first one's counts (Linux). */
    const uint8_t *out;
    size_t len;
    int done = 0;
    for (size_t i = 0; i < n; i++) {
        defrag_key k = key6(0xdeadbeef);
        k.proto = idx[i] == 0 ? 17 : 6;
        done += defrag_add(d, &k, f[idx[i]].off, f[idx[i]].more, PAY + f[idx[i]].off,
                           f[idx[i]].len, 0, &out, &len, &c) == 1;
    }
    assert_int_equal(done, 1);
    assert_int_equal(len, 3000);
    assert_memory_equal(out, PAY, 3000);
    assert_int_equal(defrag_proto(d), 17);

    /* Keys: another source or id is another datagram; IPv4 keeps the protocol in it. */
    defrag_key a = key6(1), b = key6(1);
    b.src[15] = 2;
    assert_int_equal(defrag_add(d, &a, 0, 1, PAY, 8, 0, &out, &len, &c), 0);
    assert_int_equal(defrag_add(d, &b, 8, 0, PAY, 8, 0, &out, &len, &c), 0);
    defrag_key p = key4(1), q = key4(1);
    q.proto = 6;
    assert_int_equal(defrag_add(d, &p, 0, 1, PAY, 8, 0, &out, &len, &c), 0);
    assert_int_equal(defrag_add(d, &q, 8, 0, PAY, 8, 0, &out, &len, &c), 0);
    /* Garbage in the unused address bytes of an IPv4 key does not split a datagram. */
    defrag_key r = key4(1);
    memset(r.src + 4, 0xaa, 12);
    assert_int_equal(defrag_add(d, &r, 8, 0, PAY + 8, 8, 0, &out, &len, &c), 1);
    assert_int_equal(defrag_proto(d), 17);
    defrag_free(d);
}

static void test_steady_state_reuse(void **st)
{
    (void)st;
    /* Many datagrams one after the other: the held memory returns to zero each time
     * and the pool never needs more than one datagram's blocks. */
    defrag *d = mk(4, 0, 16 * DEFRAG_BLOCK + DG_OVERHEAD, 0);
    dw_counters c = {0};
    fspec f[64];
    size_t n = split(4096, 1024, f);
    for (uint32_t i = 0; i < 10000; i++) {
        defrag_key k = key4(i);
        res r = feed(d, &k, f, NULL, n, PAY, i, &c);
        assert_int_equal(r.completed, 1);
        assert_int_equal(defrag_bytes_held(d), 0);
    }
    assert_int_equal(c.v[DW_C_FRAG_REASSEMBLED], 10000);
    assert_int_equal(c.v[DW_C_FRAG_MEM_FULL] + c.v[DW_C_FRAG_TABLE_FULL], 0);
    defrag_free(d);
    defrag_free(NULL);
}

/* ---- eviction under a flood of junk (issue 9) ---- */

static const uint8_t RESOLVER[4] = {10, 10, 0, 53}, VICTIM[4] = {10, 1, 2, 40};

/* A DNS server set that knows the resolver (it answered 100 times), port 53. */
static dnssrv *mk_servers(void)
{
    static const uint16_t ports[] = {53};
    dnssrv *s = dnssrv_new(0, ports, 1);
    assert_non_null(s);
    for (int i = 0; i < 100; i++)
        dnssrv_note(s, 4, RESOLVER);
    return s;
}

/* The forged answer: resolver -> victim, 3000 bytes in fragments of 1480. */
static defrag_key forged_key(void)
{
    defrag_key k = key4(0x4242);
    memcpy(k.src, RESOLVER, 4);
    memcpy(k.dst, VICTIM, 4);
    return k;
}

/* Junk number i: an 8-byte first fragment (a UDP header from port 53) to the victim,
 * from 198.18.0.0/15, or from the resolver itself when spoof_resolver. */
static int junk(defrag *d, uint32_t i, bool spoof_resolver, uint64_t t, dw_counters *c)
{
    defrag_key k = key4(0x10000 + i);
    if (spoof_resolver) {
        memcpy(k.src, RESOLVER, 4);
    } else {
        k.src[0] = 198;
        k.src[1] = (uint8_t)(18 + (i >> 16));
        k.src[2] = (uint8_t)(i >> 8);
        k.src[3] = (uint8_t)i;
    }
    memcpy(k.dst, VICTIM, 4);
    static const uint8_t udp[8] = {0, 53, 0x9c, 0x40, 0x02, 0x08, 0, 0};
    const uint8_t *out;
    size_t len;
    return defrag_add(d, &k, 0, 1, udp, sizeof udp, t, &out, &len, c);
}

/* First fragment of the forged answer, `njunk` junk fragments 50 us apart, the rest;
 * returns the completions (1: the answer survived). */
static int forged_through_flood(defrag *d, uint32_t njunk, bool spoof_resolver,
                                dw_counters *c, size_t *peak)
{
    fspec f[8];
    size_t n = split(3000, 1480, f);
    defrag_key k = forged_key();
    uint64_t t = 100 * SEC;
    int done = feed(d, &k, f, NULL, 1, PAY, t, c).completed;
    for (uint32_t i = 0; i < njunk; i++) {
        t += 50;
        assert_true(junk(d, i, spoof_resolver, t, c) <= 0);
        if (peak && defrag_mem_charged(d) > *peak)
            *peak = defrag_mem_charged(d);
    }
    res r = feed(d, &k, f + 1, NULL, n - 1, PAY, t + 50, c);
    if (r.completed)
        assert_payload(&r, 3000);
    return done + r.completed;
}

static void test_claim_protects_server(void **st)
{
    (void)st;
    /* A table of 64 and 100 000 junk first fragments from spoofed sources: the junk
     * evicts only junk, and the answer from the known resolver is reassembled. */
    dnssrv *srv = mk_servers();
    defrag *d = mk(64, 0, 1u << 20, 30000);
    defrag_set_servers(d, srv);
    dw_counters c = {0};
    assert_int_equal(forged_through_flood(d, 100000, false, &c, NULL), 1);
    assert_int_equal(c.v[DW_C_FRAG_EVICT_SERVER], 0);
    assert_int_equal(c.v[DW_C_FRAG_EVICT_DNS], 100000 - 63);
    assert_int_equal(c.v[DW_C_FRAG_TABLE_FULL], 100000 - 63);
    assert_int_equal(c.v[DW_C_FRAG_REASSEMBLED], 1);
    defrag_free(d);

    /* Without the server set, the claims are equal and the oldest goes: the answer is
     * lost (what happened before, and what the set is for). */
    d = mk(64, 0, 1u << 20, 30000);
    memset(&c, 0, sizeof c);
    assert_int_equal(forged_through_flood(d, 100000, false, &c, NULL), 0);
    defrag_free(d);
    dnssrv_free(srv);
}

static void test_claim_order_and_refusal(void **st)
{
    (void)st;
    dnssrv *srv = mk_servers();
    defrag *d = mk(4, 0, 1u << 20, 30000);
    defrag_set_servers(d, srv);
    dw_counters c = {0};
    const uint8_t *out;
    size_t len;
    static const uint8_t udp[8] = {0, 53, 0x9c, 0x40, 0x02, 0x08, 0, 0};
    static const uint8_t other[8] = {0x30, 0x39, 0x9c, 0x40, 0x02, 0x08, 0, 0};
    /* Four from the resolver fill the table. */
    for (uint32_t i = 0; i < 4; i++) {
        defrag_key k = forged_key();
        k.id = i;
        assert_int_equal(defrag_add(d, &k, 0, 1, udp, 8, i, &out, &len, &c), 0);
    }
    /* A newcomer of a lower claim (a DNS port from elsewhere, or nothing) is refused,
     * counted as the loss of its own claim, and nothing held is touched. */
    defrag_key j = key4(99);
    assert_int_equal(defrag_add(d, &j, 0, 1, udp, 8, 10, &out, &len, &c), -ENOMEM);
    assert_int_equal(c.v[DW_C_FRAG_EVICT_DNS], 1);
    j.id = 100;
    assert_int_equal(defrag_add(d, &j, 0, 1, other, 8, 11, &out, &len, &c), -ENOMEM);
    assert_int_equal(c.v[DW_C_FRAG_EVICT_UNCLAIMED], 1);
    assert_int_equal(defrag_datagrams(d), 4);
    /* One more from the resolver evicts the resolver's oldest (id 0). */
    defrag_key k = forged_key();
    k.id = 4;
    assert_int_equal(defrag_add(d, &k, 0, 1, udp, 8, 12, &out, &len, &c), 0);
    assert_int_equal(c.v[DW_C_FRAG_EVICT_SERVER], 1);
    k.id = 1;
    assert_int_equal(defrag_add(d, &k, 8, 0, PAY, 8, 13, &out, &len, &c), 1);
    k.id = 0;
    assert_int_equal(defrag_add(d, &k, 8, 0, PAY, 8, 14, &out, &len, &c), 0); /* a new one */
    defrag_free(d);

    /* Mixed claims: the lowest goes first, oldest first within it; a datagram whose
     * claim rises (its first fragment shows port 53) moves up. */
    d = mk(3, 0, 1u << 20, 30000);
    defrag_set_servers(d, srv);
    memset(&c, 0, sizeof c);
    defrag_key a = key4(1), b = key4(2), e = key4(3);
    assert_int_equal(defrag_add(d, &a, 8, 1, PAY, 8, 1, &out, &len, &c), 0); /* none */
    assert_int_equal(defrag_add(d, &b, 8, 1, PAY, 8, 2, &out, &len, &c), 0); /* none */
    assert_int_equal(defrag_add(d, &a, 0, 1, udp, 8, 3, &out, &len, &c), 0); /* a: DNS */
    assert_int_equal(defrag_add(d, &e, 8, 1, PAY, 8, 4, &out, &len, &c), 0); /* none */
    defrag_key f = key4(4);
    assert_int_equal(defrag_add(d, &f, 0, 1, udp, 8, 5, &out, &len, &c), 0); /* evicts b */
    assert_int_equal(c.v[DW_C_FRAG_EVICT_UNCLAIMED], 1);
    assert_int_equal(defrag_add(d, &b, 0, 1, udp, 8, 6, &out, &len, &c), 0); /* new: evicts e */
    assert_int_equal(c.v[DW_C_FRAG_EVICT_UNCLAIMED], 2);
    defrag_key g = key4(5);
    assert_int_equal(defrag_add(d, &g, 0, 1, udp, 8, 7, &out, &len, &c), 0); /* evicts a */
    assert_int_equal(c.v[DW_C_FRAG_EVICT_DNS], 1);
    /* a is gone: its last fragment would start a claimless datagram, refused. */
    assert_int_equal(defrag_add(d, &a, 16, 0, PAY, 8, 8, &out, &len, &c), -ENOMEM);
    assert_int_equal(c.v[DW_C_FRAG_EVICT_UNCLAIMED], 3);
    assert_int_equal(c.v[DW_C_FRAG_REASSEMBLED], 0);
    defrag_free(d);
    dnssrv_free(srv);
}

static void test_junk_is_cheap(void **st)
{
    (void)st;
    /* The worst case for claims: the junk forges the resolver's address too. With the
     * default limits 20 000 tiny entries fit (capacity, not claims, protects), at a
     * charge of one entry and one block each. */
    dnssrv *srv = mk_servers();
    defrag_limits l = {0, 0, 0, 0, 0, 0};
    defrag_limits_default(&l);
    assert_int_equal(l.max_datagrams, 65536);
    assert_int_equal(l.max_bytes, 32u << 20);
    defrag *d = defrag_new(&l);
    assert_non_null(d);
    defrag_set_servers(d, srv);
    dw_counters c = {0};
    size_t peak = 0;
    assert_int_equal(forged_through_flood(d, 20000, true, &c, &peak), 1);
    assert_int_equal(c.v[DW_C_FRAG_TABLE_FULL] + c.v[DW_C_FRAG_MEM_FULL], 0);
    assert_true(peak <= (size_t)20001 * (DEFRAG_ENTRY_BYTES + DEFRAG_BLOCK) + 2 * DG_OVERHEAD);
    print_message("20 000 junk entries: %zu bytes charged at the peak\n", peak);
    defrag_free(d);

    /* 200 000 of them: the memory stays within max_bytes, the losses are counted by
     * claim, and the forged answer (older than all the junk) is among them. */
    d = defrag_new(&l);
    defrag_set_servers(d, srv);
    memset(&c, 0, sizeof c);
    peak = 0;
    assert_int_equal(forged_through_flood(d, 200000, true, &c, &peak), 0);
    assert_true(peak <= l.max_bytes);
    assert_true(c.v[DW_C_FRAG_EVICT_SERVER] > 100000);
    print_message("200 000 junk entries: %zu bytes charged at the peak, %llu evicted\n", peak,
                  (unsigned long long)c.v[DW_C_FRAG_EVICT_SERVER]);
    defrag_free(d);
    dnssrv_free(srv);
}

static void test_servers_heavy_hitters(void **st)
{
    (void)st;
    /* 1 000 000 forged responses from distinct addresses cannot push out a resolver
     * that answered 65535 times; a one-off address can. */
    dnssrv *srv = mk_servers();
    for (int i = 0; i < 65535; i++)
        dnssrv_note(srv, 4, RESOLVER);
    uint8_t once[4] = {192, 0, 2, 1};
    dnssrv_note(srv, 4, once);
    assert_true(dnssrv_known(srv, 4, once));
    for (uint32_t i = 0; i < 1000000; i++) {
        uint8_t a[4] = {100, (uint8_t)(64 + (i >> 16)), (uint8_t)(i >> 8), (uint8_t)i};
        dnssrv_note(srv, 4, a);
    }
    assert_true(dnssrv_known(srv, 4, RESOLVER));
    assert_false(dnssrv_known(srv, 4, once));
    assert_int_equal(dnssrv_claim_of(srv, 4, RESOLVER, VICTIM), DNSSRV_CLAIM_SERVER);
    assert_int_equal(dnssrv_claim_of(srv, 4, VICTIM, RESOLVER), DNSSRV_CLAIM_DNS);
    /* The same bytes as an IPv6 address are another address. */
    uint8_t r6[16] = {10, 10, 0, 53}, v6[16] = {10, 1, 2, 40};
    assert_int_equal(dnssrv_claim_of(srv, 6, r6, v6), DNSSRV_CLAIM_NONE);
    assert_int_equal(dnssrv_claim_of(NULL, 4, RESOLVER, VICTIM), DNSSRV_CLAIM_NONE);
    assert_true(dnssrv_port(srv, 53));
    assert_false(dnssrv_port(srv, 5353));
    dnssrv_free(srv);
    dnssrv_free(NULL);
}

/* The reassembled datagram carries the IP TTL of its fragment at offset 0 (the header a
 * receiver keeps), whatever order the fragments come in: a forged last fragment planted
 * first does not lend the datagram its TTL. */
static void test_first_fragment_ttl(void **st)
{
    (void)st;
    defrag *d = mk(0, 0, 0, 0);
    dw_counters c = {0};
    const uint8_t *out;
    size_t len;
    defrag_key tail = key4(9), head = key4(9);
    tail.ttl = 250;
    head.ttl = 57;
    assert_int_equal(defrag_add(d, &tail, 256, 0, PAY + 256, 100, 0, &out, &len, &c), 0);
    assert_int_equal(defrag_add(d, &head, 0, 1, PAY, 256, 1, &out, &len, &c), 1);
    assert_int_equal(len, 356);
    assert_int_equal(defrag_ttl(d), 57);
    /* and when the tail completes the datagram */
    head.id = tail.id = 10;
    assert_int_equal(defrag_add(d, &head, 0, 1, PAY, 256, 2, &out, &len, &c), 0);
    assert_int_equal(defrag_add(d, &tail, 256, 0, PAY + 256, 100, 3, &out, &len, &c), 1);
    assert_int_equal(defrag_ttl(d), 57);
    defrag_free(d);
}

/* ---- conflicts (fragment_conflict) ---- */

static uint8_t FORGED[3000];

/* The 3000-byte datagram of forged_key() in fragments [0,1480) [1480,2960) [2960,3000);
 * FORGED is the same with bytes 2970.. and 1600.. changed (in the last and the middle
 * fragment). */
static void mk_forged(void)
{
    memcpy(FORGED, PAY, sizeof FORGED);
    for (int i = 2970; i < 2980; i++)
        FORGED[i] ^= 0x5a;
    for (int i = 1600; i < 1604; i++)
        FORGED[i] ^= 0xa5;
}

typedef struct frag_run {
    defrag *d;
    dnssrv *srv;
    dw_counters c;
    const uint8_t *out;
    size_t outlen;
} frag_run;

static void fr_open(frag_run *r, size_t recent_bytes, unsigned recent_ms)
{
    memset(r, 0, sizeof *r);
    r->srv = mk_servers();
    defrag_limits l = {0, 0, 0, 0, recent_bytes, recent_ms};
    r->d = defrag_new(&l);
    assert_non_null(r->d);
    defrag_set_servers(r->d, r->srv);
    mk_forged();
}

static void fr_close(frag_run *r)
{
    defrag_free(r->d);
    dnssrv_free(r->srv);
}

/* Fragment i (0, 1, 2) of forged_key() with id `id`, its bytes from src. */
static int fr_add(frag_run *r, uint32_t id, int i, const uint8_t *src, uint8_t ttl, uint64_t t)
{
    static const uint32_t off[] = {0, 1480, 2960}, len[] = {1480, 1480, 40};
    defrag_key k = forged_key();
    k.id = id;
    return defrag_add_ttl(r->d, &k, off[i], i < 2, src + off[i], len[i], ttl, t, &r->out,
                          &r->outlen, &r->c);
}

/* In flight: the forged middle fragment first, then the real one: a duplicate with other
 * bytes, dropped (the first kept, as Linux does) and recorded; the datagram carries it. */
static void test_conflict_in_flight(void **st)
{
    (void)st;
    frag_run r;
    fr_open(&r, 0, 0);
    assert_int_equal(fr_add(&r, 1, 0, PAY, 64, 1 * SEC), 0);
    assert_int_equal(fr_add(&r, 1, 1, FORGED, 50, 1 * SEC + 100), 0);
    assert_int_equal(fr_add(&r, 1, 1, PAY, 64, 1 * SEC + 300), -EEXIST);
    assert_int_equal(fr_add(&r, 1, 1, PAY, 63, 1 * SEC + 400), -EEXIST); /* counted only */
    assert_int_equal(fr_add(&r, 1, 2, PAY, 64, 1 * SEC + 500), 1);
    assert_int_equal(r.outlen, 3000);
    assert_memory_equal(r.out + 1480, FORGED + 1480, 1480); /* the forgery won */
    const pkt_frag_conflict *cf = defrag_conflict(r.d);
    assert_non_null(cf);
    assert_false(cf->late);
    assert_int_equal(cf->diff_off, 1600);
    assert_int_equal(cf->count, 2);
    assert_int_equal(cf->first.off, 1480);
    assert_int_equal(cf->first.len, 1480);
    assert_int_equal(cf->first.ttl, 50);
    assert_int_equal(cf->first.ts_us, 1 * SEC + 100);
    assert_int_equal(cf->second.ttl, 64);
    assert_int_equal(cf->second.ts_us, 1 * SEC + 300);
    assert_int_equal(r.c.v[DW_C_FRAG_CONFLICT], 2);
    assert_int_equal(r.c.v[DW_C_FRAG_OVERLAP], 2);
    /* Reported in flight: a later contradiction of the same datagram is counted, not
     * reported again. */
    assert_int_equal(fr_add(&r, 1, 1, PAY, 64, 1 * SEC + 600), 0);
    const uint8_t *o;
    size_t ol;
    uint8_t proto;
    assert_null(defrag_late_conflict(r.d, &o, &ol, &proto));
    assert_int_equal(r.c.v[DW_C_FRAG_CONFLICT_LATE], 1);
    fr_close(&r);
}

/* A retransmitted fragment (same bytes) is no conflict, in flight or after. */
static void test_conflict_identical(void **st)
{
    (void)st;
    frag_run r;
    const uint8_t *o;
    size_t ol;
    uint8_t proto;
    fr_open(&r, 0, 0);
    assert_int_equal(fr_add(&r, 2, 0, PAY, 64, 1 * SEC), 0);
    assert_int_equal(fr_add(&r, 2, 1, PAY, 64, 1 * SEC + 1), 0);
    assert_int_equal(fr_add(&r, 2, 1, PAY, 64, 1 * SEC + 2), -EEXIST);
    assert_int_equal(fr_add(&r, 2, 2, PAY, 64, 1 * SEC + 3), 1);
    assert_null(defrag_conflict(r.d));
    assert_int_equal(fr_add(&r, 2, 2, PAY, 64, 1 * SEC + 4), 0);
    assert_null(defrag_late_conflict(r.d, &o, &ol, &proto));
    assert_int_equal(fr_add(&r, 2, 0, PAY, 64, 1 * SEC + 5), 0);
    assert_null(defrag_late_conflict(r.d, &o, &ol, &proto));
    assert_int_equal(r.c.v[DW_C_FRAG_DUPLICATE], 1);
    assert_int_equal(r.c.v[DW_C_FRAG_LATE_DUPLICATE], 2);
    assert_int_equal(r.c.v[DW_C_FRAG_CONFLICT] + r.c.v[DW_C_FRAG_CONFLICT_LATE], 0);
    fr_close(&r);
}

/* The forged last fragment planted first; the real first two complete the datagram with
 * it; the real last comes after: reported once, with the delivered payload. */
static void test_conflict_late(void **st)
{
    (void)st;
    frag_run r;
    const uint8_t *o;
    size_t ol;
    uint8_t proto;
    fr_open(&r, 0, 0);
    assert_int_equal(fr_add(&r, 3, 2, FORGED, 50, 1 * SEC), 0);
    assert_int_equal(fr_add(&r, 3, 0, PAY, 64, 2 * SEC), 0);
    assert_int_equal(fr_add(&r, 3, 1, PAY, 64, 2 * SEC + 10), 1);
    assert_null(defrag_conflict(r.d));
    assert_memory_equal(r.out + 2960, FORGED + 2960, 40);
    assert_int_equal(defrag_recent_count(r.d), 1);

    assert_int_equal(fr_add(&r, 3, 2, PAY, 64, 2 * SEC + 20), 0); /* a new datagram's start */
    const pkt_frag_conflict *cf = defrag_late_conflict(r.d, &o, &ol, &proto);
    assert_non_null(cf);
    assert_true(cf->late);
    assert_int_equal(ol, 3000);
    assert_int_equal(proto, 17);
    assert_memory_equal(o, PAY, 2960);
    assert_memory_equal(o + 2960, FORGED + 2960, 40); /* what the victim got */
    assert_int_equal(cf->diff_off, 2970);
    assert_int_equal(cf->first.off, 2960);
    assert_int_equal(cf->first.len, 40);
    assert_int_equal(cf->first.ttl, 50);
    assert_int_equal(cf->first.ts_us, 1 * SEC);
    assert_int_equal(cf->second.off, 2960);
    assert_int_equal(cf->second.ttl, 64);
    assert_int_equal(cf->second.ts_us, 2 * SEC + 20);
    assert_int_equal(cf->count, 1);

    /* Once per datagram: the next contradiction is counted only. */
    assert_int_equal(fr_add(&r, 3, 2, PAY, 64, 2 * SEC + 30), -EEXIST);
    assert_null(defrag_late_conflict(r.d, &o, &ol, &proto));
    assert_int_equal(r.c.v[DW_C_FRAG_CONFLICT_LATE], 2);
    /* Nothing is reported from other keys. */
    assert_int_equal(fr_add(&r, 4, 2, PAY, 64, 2 * SEC + 40), 0);
    assert_null(defrag_late_conflict(r.d, &o, &ol, &proto));
    fr_close(&r);
}

/* A datagram is remembered recent_ms, and only with a claim (DNS): after that, or for a
 * datagram nothing says is DNS, a late fragment is just the start of a new datagram. */
static void test_conflict_late_window(void **st)
{
    (void)st;
    frag_run r;
    const uint8_t *o;
    size_t ol;
    uint8_t proto;
    fr_open(&r, 0, 1000);
    assert_int_equal(fr_add(&r, 5, 2, FORGED, 50, 1 * SEC), 0);
    assert_int_equal(fr_add(&r, 5, 0, PAY, 64, 1 * SEC), 0);
    assert_int_equal(fr_add(&r, 5, 1, PAY, 64, 1 * SEC), 1);
    assert_int_equal(fr_add(&r, 5, 2, PAY, 64, 2 * SEC), 0); /* 1 s later: forgotten */
    assert_null(defrag_late_conflict(r.d, &o, &ol, &proto));
    assert_int_equal(defrag_recent_count(r.d), 0);
    fr_close(&r);

    /* No claim: not remembered. */
    defrag *d = mk(0, 0, 0, 0);
    dw_counters c = {0};
    defrag_key k = key4(6);
    assert_int_equal(defrag_add(d, &k, 2960, 0, FORGED + 2960, 40, 1 * SEC, &o, &ol, &c), 0);
    assert_int_equal(defrag_add(d, &k, 0, 1, PAY, 1480, 1 * SEC, &o, &ol, &c), 0);
    assert_int_equal(defrag_add(d, &k, 1480, 1, PAY + 1480, 1480, 1 * SEC, &o, &ol, &c), 1);
    assert_int_equal(defrag_recent_count(d), 0);
    assert_int_equal(defrag_add(d, &k, 2960, 0, PAY + 2960, 40, 1 * SEC, &o, &ol, &c), 0);
    assert_null(defrag_late_conflict(d, &o, &ol, &proto));
    defrag_free(d);
}

/* IPv6: the same attack, keyed without the protocol. */
static void test_conflict_late_v6(void **st)
{
    (void)st;
    static const uint16_t ports[] = {53};
    dnssrv *srv = dnssrv_new(0, ports, 1);
    assert_non_null(srv);
    defrag_key k = key6(0x77);
    for (int i = 0; i < 10; i++)
        dnssrv_note(srv, 6, k.src);
    defrag *d = mk(0, 0, 0, 0);
    defrag_set_servers(d, srv);
    mk_forged();
    dw_counters c = {0};
    const uint8_t *o;
    size_t ol;
    uint8_t proto;
    assert_int_equal(defrag_add_ttl(d, &k, 2896, 0, FORGED + 2896, 104, 40, 1 * SEC, &o, &ol, &c), 0);
    assert_int_equal(defrag_add_ttl(d, &k, 0, 1, PAY, 1448, 60, 1 * SEC + 1, &o, &ol, &c), 0);
    assert_int_equal(defrag_add_ttl(d, &k, 1448, 1, PAY + 1448, 1448, 60, 1 * SEC + 2, &o, &ol, &c), 1);
    k.proto = 0; /* (a later fragment's next header does not matter for IPv6) */
    assert_int_equal(defrag_add_ttl(d, &k, 2896, 0, PAY + 2896, 104, 60, 1 * SEC + 3, &o, &ol, &c), 0);
    const pkt_frag_conflict *cf = defrag_late_conflict(d, &o, &ol, &proto);
    assert_non_null(cf);
    assert_int_equal(proto, 17);
    assert_int_equal(cf->diff_off, 2970);
    assert_int_equal(cf->first.ttl, 40);
    assert_int_equal(cf->second.ttl, 60);
    defrag_free(d);
    dnssrv_free(srv);
}

/* The memory of reassembled datagrams stays in its budget under a stream of them: the
 * oldest are forgotten early (counted), the newest still reveal a late conflict. */
static void test_conflict_recent_bounded(void **st)
{
    (void)st;
    frag_run r;
    const uint8_t *o;
    size_t ol;
    uint8_t proto;
    fr_open(&r, 128u << 10, 0);
    size_t budget = defrag_recent_budget(r.d);
    assert_true(budget <= (128u << 10) + 65535);
    unsigned cap = 0;
    for (uint32_t id = 100; id < 1100; id++) {
        assert_int_equal(fr_add(&r, id, 0, PAY, 64, 1 * SEC + id), 0);
        assert_int_equal(fr_add(&r, id, 1, PAY, 64, 1 * SEC + id), 0);
        assert_int_equal(fr_add(&r, id, 2, PAY, 64, 1 * SEC + id), 1);
        if (defrag_recent_count(r.d) > cap)
            cap = defrag_recent_count(r.d);
    }
    /* 3000 bytes each in a ~115 KiB arena: 38 fit, 64 records at most */
    assert_true(cap >= 30 && cap <= 64);
    assert_int_equal(r.c.v[DW_C_FRAG_RECENT_EVICTED], 1000 - defrag_recent_count(r.d));
    assert_int_equal(fr_add(&r, 1099, 2, FORGED, 64, 2 * SEC), 0);
    assert_non_null(defrag_late_conflict(r.d, &o, &ol, &proto));
    assert_int_equal(fr_add(&r, 100, 2, FORGED, 64, 2 * SEC), 0); /* long forgotten */
    assert_null(defrag_late_conflict(r.d, &o, &ol, &proto));
    fr_close(&r);
}

/* A flood of reassembled datagrams from spoofed sources (DNS by their port only) cannot
 * push the resolver's out of the memory of reassembled datagrams: they are not kept
 * instead (counted), and the late conflict is still seen. */
static void test_conflict_recent_claims(void **st)
{
    (void)st;
    frag_run r;
    const uint8_t *o;
    size_t ol;
    uint8_t proto;
    fr_open(&r, 128u << 10, 0);
    assert_int_equal(fr_add(&r, 7, 2, FORGED, 50, 1 * SEC), 0);
    assert_int_equal(fr_add(&r, 7, 0, PAY, 64, 1 * SEC), 0);
    assert_int_equal(fr_add(&r, 7, 1, PAY, 64, 1 * SEC), 1);
    static uint8_t junk[3000];
    memcpy(junk, PAY, sizeof junk);
    junk[0] = 0;
    junk[1] = 53; /* source port 53: claim DNS */
    for (uint32_t i = 0; i < 1000; i++) {
        defrag_key k = key4(i);
        k.src[2] = (uint8_t)(i >> 8);
        k.src[3] = (uint8_t)i;
        uint64_t t = 1 * SEC + 10 + i;
        assert_int_equal(defrag_add(r.d, &k, 0, 1, junk, 1480, t, &o, &ol, &r.c), 0);
        assert_int_equal(defrag_add(r.d, &k, 1480, 1, junk + 1480, 1480, t, &o, &ol, &r.c), 0);
        assert_int_equal(defrag_add(r.d, &k, 2960, 0, junk + 2960, 40, t, &o, &ol, &r.c), 1);
    }
    assert_true(r.c.v[DW_C_FRAG_RECENT_EVICTED] >= 1000 - 64);
    assert_int_equal(fr_add(&r, 7, 2, PAY, 64, 2 * SEC), 0);
    assert_non_null(defrag_late_conflict(r.d, &o, &ol, &proto));
    fr_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders),          cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_overlap_contained), cmocka_unit_test(test_overlap_partial),
        cmocka_unit_test(test_missing),         cmocka_unit_test(test_timeout_lazy),
        cmocka_unit_test(test_flood),           cmocka_unit_test(test_mem_evicts_oldest),
        cmocka_unit_test(test_too_many),        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_ipv6),            cmocka_unit_test(test_steady_state_reuse),
        cmocka_unit_test(test_claim_protects_server),
        cmocka_unit_test(test_claim_order_and_refusal),
        cmocka_unit_test(test_junk_is_cheap),
        cmocka_unit_test(test_servers_heavy_hitters),
        cmocka_unit_test(test_first_fragment_ttl),
        cmocka_unit_test(test_conflict_in_flight),
        cmocka_unit_test(test_conflict_identical),
        cmocka_unit_test(test_conflict_late),
        cmocka_unit_test(test_conflict_late_window),
        cmocka_unit_test(test_conflict_late_v6),
        cmocka_unit_test(test_conflict_recent_bounded),
        cmocka_unit_test(test_conflict_recent_claims),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
