/* DNS over TCP reassembly, one state per direction.
 *
 * Each direction keeps a window of the stream: buf[0] is the byte at sequence number
 * `base`, the first byte not yet consumed. The first `len` bytes are in order (they start
 * at a message boundary, or, while resynchronising, at an unknown position); out-of-order
 * segments are written at their place further in the window and remembered as a short
 * sorted list of [start, end) ranges, so the hole fills by simply writing the missing
 * bytes and merging. The window never exceeds max_flow_bytes.
 *
 * A hole that does not fill becomes a gap when one of these happens (there is no ACK
 * number in pkt_info, so the sensor cannot see that the receiver already has the bytes
 * the capture lost; it has to guess):
 *   - more than TCP_OOO_MAX_SEGS segments arrived behind it, or the ranges list is full;
 *   - a segment lands beyond the window (more than max_flow_bytes past the hole);
 *   - the hole is older than TCP_HOLE_WAIT_US of packet time when the direction next
 *     sees a segment (a real retransmission comes after one RTO, 200 ms to 1 s);
 *   - memory is short (the segment's data is dropped, TCP_MEM_FULL);
 *   - FIN or RST ends the direction, or tcp_reasm_flush() ends them all.
 * On a gap, the message in progress is dropped (TCP_GAP) and the stream resumes at the
 * first byte after the hole, in resync mode.
 *
 * Resync (also used for a flow picked up without its SYN): scan forward, byte by byte,
 * for a position where a plausible message starts (see msg_plausible()); when the
 * message at that position would run into a known hole, the position is rejected, since
 * the hole could not be filled any more and the guess could not be checked. When the
 * stream is simply not here yet, the guess is accepted and the message awaited.
 *
 * Buffers: a direction holds one only while it has bytes it cannot consume yet (a
 * partial message, out-of-order data). The common one-message-per-segment exchange never
 * takes one: messages are passed straight from the segment. Released buffers go to a
 * pool and are reused; every allocated byte, pooled or in use, counts against
 * max_total_bytes, and pooled buffers are freed first when memory is short.
 *
 * The table (issue 9: junk flows opened between two segments of a forged answer used
 * to push its direction out). Two defences, as for fragments (defrag.h):
 *  - size: a direction without a buffer costs one tcp_dir (~200 bytes) and nothing else,
 *    so the default table holds 65536 of them (13 MiB, reserved as address space and
 *    touched as used): 20 000 junk flows inside the timeout evict nothing;
 *  - claims: each direction has a claim to be kept (enum dnssrv_claim: sent by a known
 *    DNS server; a SYN seen or sent to a known server; none), one LRU list per claim.
 *    A full table evicts the least recently used direction of the lowest claim, and a
 *    newcomer never pushes out a direction of a higher claim (it is not tracked). When
 *    buffer memory (max_total_bytes) is short, the same order applies to the directions
 *    holding buffers (buf_reserve()). So junk from spoofed sources, however much, never
 *    evicts the resolver's answers nor starves them of memory.
 * Junk forged from the resolver's own address has its claim: then only the size
 * protects, and a loss is counted (TCP_EVICT_*) and raised as a health event. */
#include "decoders/tcpstream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/hash.h"
#include "decoders/wire.h"

#define TCP_OOO_MAX 8          /* disjoint out-of-order ranges per direction */
#define TCP_OOO_MAX_SEGS 8     /* segments behind the first hole before it is a gap */
#define TCP_HOLE_WAIT_US 1000000u
#define TCP_MIN_BUF 512
#define TCP_MAX_WINDOW (1u << 30) /* keeps window offsets far from sequence wrap */
#define NIL UINT32_MAX

typedef struct tcp_range {
    uint32_t start, end; /* offsets from base */
} tcp_range;

typedef struct tcp_dir {
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint8_t ip_version;
    bool resync;          /* alignment unknown: scan for a plausible message start */
    bool syn_seen;
    uint32_t syn_seq;     /* sequence number of the SYN, to know its retransmissions */
    uint8_t n_ooo;
    uint8_t ooo_segs;     /* segments stored behind the current first hole */
    uint32_t base;        /* sequence number of buf[0] */
    uint32_t len;         /* in-order bytes at buf[0..len) */
    tcp_range ooo[TCP_OOO_MAX + 1]; /* sorted, disjoint, each start > len */
    uint64_t last_us;     /* last segment seen */
    uint64_t hole_us;     /* when the first hole appeared */
    uint8_t *buf;
    size_t cap;
    uint32_t hnext;       /* hash chain */
    uint32_t lprev, lnext; /* LRU list of its claim, most recent at head; free slots
                            * chained on lnext */
    uint32_t bprev, bnext; /* while it holds a buffer: the holders of its claim, oldest
                            * first (the victims when memory is short) */
    uint32_t bucket;
    uint8_t claim;        /* enum dnssrv_claim */
} tcp_dir;

typedef struct tcp_pooled {
    uint8_t *p;
    size_t cap;
} tcp_pooled;

struct tcp_reasm {
    tcp_limits lim;
    uint64_t timeout_us;
    tcp_dir *dirs;
    uint32_t *buckets;
    uint32_t mask;
    uint32_t lru_head[DNSSRV_NCLAIMS], lru_tail[DNSSRV_NCLAIMS];
    uint32_t buf_head[DNSSRV_NCLAIMS], buf_tail[DNSSRV_NCLAIMS]; /* buffer holders */
    uint32_t free_head;   /* released slots */
    uint32_t hi;          /* slots [hi, max_flows) never used yet */
    unsigned n_dirs;
    const dnssrv *srv;
    tcp_pooled *pool;     /* LIFO of idle buffers, at most max_flows */
    unsigned n_pool;
    size_t held;          /* bytes allocated for buffers, pooled or in use */
    uint64_t seed;
};

/* ---- sequence numbers (RFC 1982 style, modulo 2^32) ---- */

static bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

/* ---- limits, construction ---- */

/* Fills defaults into zero fields, as defrag_limits_default() does. */
void tcp_limits_default(tcp_limits *l)
{
    if (!l->max_flows)
        l->max_flows = 65536;
    if (!l->max_flow_bytes)
        l->max_flow_bytes = 2 * 65537;
    if (!l->max_total_bytes)
        l->max_total_bytes = (size_t)64 << 20;
    if (!l->timeout_ms)
        l->timeout_ms = 60000;
}


/* Returns NULL on allocation failure or when max_flows is 0 or absurd. */
tcp_reasm *tcp_reasm_new(const tcp_limits *l)
{
    tcp_reasm *t = NULL;
    if (!l || l->max_flows == 0 || l->max_flows > (1u << 24))
        return NULL;
    t = calloc(1, sizeof *t);
    if (!t)
        goto fail;
    t->lim = *l;
    if (t->lim.max_flow_bytes > TCP_MAX_WINDOW)
        t->lim.max_flow_bytes = TCP_MAX_WINDOW;
    t->timeout_us = (uint64_t)l->timeout_ms * 1000;
    uint32_t nb = 1;
    while (nb < l->max_flows * 2u)
        nb <<= 1;
    t->mask = nb - 1;
    t->dirs = calloc(l->max_flows, sizeof *t->dirs);
    t->buckets = malloc(nb * sizeof *t->buckets);
    t->pool = calloc(l->max_flows, sizeof *t->pool);
    if (!t->dirs || !t->buckets || !t->pool)
        goto fail;
    for (uint32_t i = 0; i < nb; i++)
        t->buckets[i] = NIL;
    /* Slots are taken from hi upwards, so untouched pages of dirs cost no memory. */
    t->free_head = NIL;
    for (int k = 0; k < DNSSRV_NCLAIMS; k++)
        t->lru_head[k] = t->lru_tail[k] = t->buf_head[k] = t->buf_tail[k] = NIL;
    /* A seed the peers cannot guess keeps them from piling flows into one bucket. */
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = (uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ULL;
    t->seed = seed;
    return t;
fail:
    tcp_reasm_free(t);
    return NULL;
}

void tcp_reasm_free(tcp_reasm *t)
{
    if (!t)
        return;
    if (t->dirs)
        for (unsigned i = 0; i < t->hi; i++)
            free(t->dirs[i].buf);
    if (t->pool)
        for (unsigned i = 0; i < t->n_pool; i++)
            free(t->pool[i].p);
    free(t->dirs);
    free(t->buckets);
    free(t->pool);
    free(t);
}

size_t tcp_reasm_bytes_held(const tcp_reasm *t) { return t->held; }
void tcp_reasm_set_servers(tcp_reasm *t, const dnssrv *s) { t->srv = s; }
unsigned tcp_reasm_flows(const tcp_reasm *t) { return t->n_dirs; }

/* ---- buffers ---- */

static void dir_remove(tcp_reasm *t, uint32_t i);
static void count_lost(dw_counters *c, unsigned claim);

static void blist_unlink(tcp_reasm *t, tcp_dir *d)
{
    if (d->bprev != NIL)
        t->dirs[d->bprev].bnext = d->bnext;
    else
        t->buf_head[d->claim] = d->bnext;
    if (d->bnext != NIL)
        t->dirs[d->bnext].bprev = d->bprev;
    else
        t->buf_tail[d->claim] = d->bprev;
}

static void blist_append(tcp_reasm *t, tcp_dir *d)
{
    uint32_t i = (uint32_t)(d - t->dirs);
    d->bnext = NIL;
    d->bprev = t->buf_tail[d->claim];
    if (d->bprev != NIL)
        t->dirs[d->bprev].bnext = i;
    else
        t->buf_head[d->claim] = i;
    t->buf_tail[d->claim] = i;
}

static void buf_release(tcp_reasm *t, tcp_dir *d)
{
    if (!d->buf)
        return;
    blist_unlink(t, d);
    if (t->n_pool < t->lim.max_flows) {
        t->pool[t->n_pool].p = d->buf;
        t->pool[t->n_pool].cap = d->cap;
        t->n_pool++;
    } else {
        free(d->buf);
        t->held -= d->cap;
    }
    d->buf = NULL;
    d->cap = 0;
}

/* The direction to give up its buffer for d: the oldest holder of the lowest claim not
 * above d's, not d; NIL if none. */
static uint32_t buf_victim(const tcp_reasm *t, const tcp_dir *d)
{
    for (unsigned k = 0; k <= d->claim; k++) {
        uint32_t v = t->buf_head[k];
        if (v != NIL && &t->dirs[v] == d)
            v = d->bnext;
        if (v != NIL)
            return v;
    }
    return NIL;
}

/* Makes d->buf hold at least need bytes, keeping its contents. 0, -E2BIG (over the
 * per-direction limit) or -ENOMEM (over the total, or malloc failed). When the total is
 * reached, idle pooled buffers are freed first, then other directions holding buffers
 * are evicted, least claim and oldest holder first, never one of a higher claim than d
 * (counted as TCP_EVICT_*): junk flows that each hold a partial message cannot starve
 * the resolver's answer of memory. */
static int buf_reserve(tcp_reasm *t, tcp_dir *d, size_t need, dw_counters *c)
{
    if (need > t->lim.max_flow_bytes)
        return -E2BIG;
    if (d->cap >= need)
        return 0;
    if (!d->buf && t->n_pool) {
        t->n_pool--;
        d->buf = t->pool[t->n_pool].p;
        d->cap = t->pool[t->n_pool].cap;
        blist_append(t, d);
        if (d->cap >= need)
            return 0;
    }
    size_t ncap = d->cap ? d->cap * 2 : TCP_MIN_BUF;
    if (ncap < need)
        ncap = need;
    if (ncap > t->lim.max_flow_bytes)
        ncap = t->lim.max_flow_bytes;
    /* Idle pooled buffers give way to a direction that has data to keep. */
    while (t->held - d->cap + ncap > t->lim.max_total_bytes && t->n_pool) {
        t->n_pool--;
        free(t->pool[t->n_pool].p);
        t->held -= t->pool[t->n_pool].cap;
    }
    if (t->held - d->cap + ncap > t->lim.max_total_bytes)
        ncap = need;
    /* Then other directions' buffers (each eviction returns its buffer to the pool,
     * freed on the next turn). */
    while (t->held - d->cap + ncap > t->lim.max_total_bytes) {
        if (t->n_pool) {
            t->n_pool--;
            free(t->pool[t->n_pool].p);
            t->held -= t->pool[t->n_pool].cap;
            continue;
        }
        uint32_t v = buf_victim(t, d);
        if (v == NIL)
            return -ENOMEM;
        count_lost(c, t->dirs[v].claim);
        dir_remove(t, v);
    }
    uint8_t *nb = realloc(d->buf, ncap);
    if (!nb)
        return -ENOMEM;
    if (!d->buf)
        blist_append(t, d);
    t->held = t->held - d->cap + ncap;
    d->buf = nb;
    d->cap = ncap;
    return 0;
}

/* ---- table ---- */

static void key_of(const pkt_info *pi, uint8_t *src, uint8_t *dst)
{
    size_t n = pi->ip_version == 4 ? 4 : 16;
    memset(src, 0, 16);
    memset(dst, 0, 16);
    memcpy(src, pi->src, n);
    memcpy(dst, pi->dst, n);
}

static uint32_t key_hash(const tcp_reasm *t, uint8_t ipv, const uint8_t *src,
                         const uint8_t *dst, uint16_t sport, uint16_t dport)
{
    /* Mixed before each word is folded in: XORing words first would let addresses and
     * ports chosen to cancel out collide whatever the seed. */
    uint64_t h = hash_mix64(t->seed ^ ((uint64_t)ipv << 32 | (uint64_t)sport << 16 | dport));
    for (int i = 0; i < 16; i += 8) {
        uint64_t a, b;
        memcpy(&a, src + i, 8);
        memcpy(&b, dst + i, 8);
        h = hash_mix64(h ^ a);
        h = hash_mix64(h ^ b);
    }
    return (uint32_t)h & t->mask;
}

static void lru_unlink(tcp_reasm *t, tcp_dir *d)
{
    if (d->lprev != NIL)
        t->dirs[d->lprev].lnext = d->lnext;
    else
        t->lru_head[d->claim] = d->lnext;
    if (d->lnext != NIL)
        t->dirs[d->lnext].lprev = d->lprev;
    else
        t->lru_tail[d->claim] = d->lprev;
}

static void lru_push_head(tcp_reasm *t, uint32_t i)
{
    tcp_dir *d = &t->dirs[i];
    d->lprev = NIL;
    d->lnext = t->lru_head[d->claim];
    if (d->lnext != NIL)
        t->dirs[d->lnext].lprev = i;
    t->lru_head[d->claim] = i;
    if (t->lru_tail[d->claim] == NIL)
        t->lru_tail[d->claim] = i;
}

/* The longest idle direction of all (tails of the lists), NIL when empty. */
static uint32_t lru_oldest(const tcp_reasm *t)
{
    uint32_t best = NIL;
    for (int k = 0; k < DNSSRV_NCLAIMS; k++) {
        uint32_t v = t->lru_tail[k];
        if (v != NIL && (best == NIL || t->dirs[v].last_us < t->dirs[best].last_us))
            best = v;
    }
    return best;
}

static void count_lost(dw_counters *c, unsigned claim)
{
    if (claim == DNSSRV_CLAIM_SERVER)
        DW_COUNT(c, TCP_EVICT_SERVER);
    else if (claim == DNSSRV_CLAIM_DNS)
        DW_COUNT(c, TCP_EVICT_DNS);
    else
        DW_COUNT(c, TCP_EVICT_UNCLAIMED);
}

static void dir_remove(tcp_reasm *t, uint32_t i)
{
    tcp_dir *d = &t->dirs[i];
    uint32_t *pp = &t->buckets[d->bucket];
    while (*pp != i)
        pp = &t->dirs[*pp].hnext;
    *pp = d->hnext;
    lru_unlink(t, d);
    buf_release(t, d);
    d->lnext = t->free_head;
    t->free_head = i;
    t->n_dirs--;
}

/* Forgets everything buffered; the direction continues at sequence number base. */
static void dir_reset(tcp_reasm *t, tcp_dir *d, uint32_t base, bool resync)
{
    buf_release(t, d);
    d->base = base;
    d->len = 0;
    d->n_ooo = 0;
    d->ooo_segs = 0;
    d->resync = resync;
}

static bool expired(const tcp_reasm *t, const tcp_dir *d, uint64_t now)
{
    return now > d->last_us && now - d->last_us > t->timeout_us;
}

static uint32_t dir_find(tcp_reasm *t, const pkt_info *pi, uint32_t h, const uint8_t *src,
                         const uint8_t *dst)
{
    for (uint32_t i = t->buckets[h]; i != NIL; i = t->dirs[i].hnext) {
        const tcp_dir *d = &t->dirs[i];
        if (d->sport == pi->sport && d->dport == pi->dport &&
            d->ip_version == pi->ip_version && memcmp(d->src, src, 16) == 0 &&
            memcmp(d->dst, dst, 16) == 0)
            return i;
    }
    return NIL;
}

/* A new direction of claim `claim`; when the table is full, the expired go first, then
 * the least recently used of the lowest claim not above `claim`. NIL (counted) when
 * only higher claims are left. */
static uint32_t dir_insert(tcp_reasm *t, const pkt_info *pi, uint32_t h, const uint8_t *src,
                           const uint8_t *dst, unsigned claim, dw_counters *c)
{
    if (t->free_head == NIL && t->hi == t->lim.max_flows) {
        uint32_t victim = lru_oldest(t);
        if (expired(t, &t->dirs[victim], pi->ts_us)) {
            DW_COUNT(c, TCP_FLOW_EXPIRED);
        } else {
            victim = NIL;
            for (unsigned k = 0; k <= claim && victim == NIL; k++)
                victim = t->lru_tail[k];
            DW_COUNT(c, TCP_FLOW_EVICTED);
            count_lost(c, victim == NIL ? claim : t->dirs[victim].claim);
            if (victim == NIL)
                return NIL;
        }
        dir_remove(t, victim);
    }
    uint32_t i;
    if (t->free_head != NIL) {
        i = t->free_head;
        t->free_head = t->dirs[i].lnext;
    } else {
        i = t->hi++;
    }
    tcp_dir *d = &t->dirs[i];
    memset(d, 0, sizeof *d);
    d->claim = (uint8_t)claim;
    memcpy(d->src, src, 16);
    memcpy(d->dst, dst, 16);
    d->sport = pi->sport;
    d->dport = pi->dport;
    d->ip_version = pi->ip_version;
    d->bucket = h;
    d->hnext = t->buckets[h];
    t->buckets[h] = i;
    lru_push_head(t, i);
    t->n_dirs++;
    return i;
}

/* ---- window ---- */

/* Merges ranges that the in-order data now reaches. */
static void win_normalize(tcp_dir *d)
{
    while (d->n_ooo && d->ooo[0].start <= d->len) {
        if (d->ooo[0].end > d->len)
            d->len = d->ooo[0].end;
        memmove(&d->ooo[0], &d->ooo[1], (size_t)(d->n_ooo - 1) * sizeof d->ooo[0]);
        d->n_ooo--;
    }
    if (!d->n_ooo)
        d->ooo_segs = 0;
}

static uint32_t win_end(const tcp_dir *d)
{
    return d->n_ooo ? d->ooo[d->n_ooo - 1].end : d->len;
}

/* Moves base forward by k bytes (k may pass everything held: the bytes skipped are
 * lost), keeping what lies beyond. Releases the buffer when nothing is left. */
static void win_skip(tcp_reasm *t, tcp_dir *d, uint32_t k)
{
    uint32_t hi = win_end(d);
    if (k < hi && d->buf)
        memmove(d->buf, d->buf + k, hi - k);
    d->base += k;
    d->len = d->len > k ? d->len - k : 0;
    unsigned w = 0;
    for (unsigned r = 0; r < d->n_ooo; r++) {
        if (d->ooo[r].end <= k)
            continue;
        d->ooo[w].start = d->ooo[r].start > k ? d->ooo[r].start - k : 0;
        d->ooo[w].end = d->ooo[r].end - k;
        w++;
    }
    d->n_ooo = (uint8_t)w;
    win_normalize(d);
    if (win_end(d) == 0)
        buf_release(t, d);
}

/* Records [s, e) as held out of order; returns false when the list overflows. */
static bool win_add_range(tcp_dir *d, uint32_t s, uint32_t e)
{
    unsigned i = 0;
    while (i < d->n_ooo && d->ooo[i].end < s)
        i++;
    unsigned j = i;
    while (j < d->n_ooo && d->ooo[j].start <= e) {
        if (d->ooo[j].start < s)
            s = d->ooo[j].start;
        if (d->ooo[j].end > e)
            e = d->ooo[j].end;
        j++;
    }
    /* ranges i..j-1 merge into [s, e) */
    unsigned n_after = d->n_ooo - j;
    unsigned n_new = i + 1 + n_after;
    if (n_new > TCP_OOO_MAX)
        return false;
    memmove(&d->ooo[i + 1], &d->ooo[j], n_after * sizeof d->ooo[0]);
    d->ooo[i].start = s;
    d->ooo[i].end = e;
    d->n_ooo = (uint8_t)n_new;
    return true;
}

/* ---- messages ---- */

/* Whether a DNS message plausibly starts at data (length prefix first): 1 yes, 0 no, -1
 * cannot tell yet (the data ends before the question does). Used where the alignment is
 * unknown: mid-stream pickup and resync after a gap. The test reads the header and the
 * question, which every query and response a resolver sends has:
 *   length >= 17 (header, root name, type and class);
 *   QDCOUNT == 1, OPCODE is QUERY, IQUERY, STATUS, NOTIFY or UPDATE;
 *   the other counts fit the length at 11 bytes or more per record;
 *   the question name is plain labels (<= 63, no compression: there is nothing before
 *     it to point to), at most 255 bytes, and the question ends within the message;
 *   QTYPE is not 0, QCLASS is IN, CH, HS, NONE or ANY.
 * A misaligned position passes all of these rarely; when one does, the stream stays
 * misaligned until the next gap, FIN or expiry. */
static int msg_plausible(const uint8_t *data, size_t avail)
{
    wire_ctx w = wire_init(data, avail);
    uint32_t len = wire_u16(&w);
    wire_skip(&w, 2); /* id */
    uint8_t flags = wire_u8(&w);
    wire_skip(&w, 1);
    uint16_t qd = wire_u16(&w);
    uint32_t rr = (uint32_t)wire_u16(&w) + wire_u16(&w) + wire_u16(&w);
    if (!wire_ok(&w))
        return -1;
    unsigned opcode = (flags >> 3) & 0xf;
    if (len < 17 || qd != 1 || opcode > 5 || opcode == 3 || 17 + rr * 11 > len)
        return 0;
    size_t name = 0;
    for (;;) {
        uint8_t l = wire_u8(&w);
        if (!wire_ok(&w))
            return -1;
        name += 1u + l;
        if (l > 63 || name > 255)
            return 0;
        if (l == 0)
            break;
        wire_skip(&w, l);
    }
    uint16_t qtype = wire_u16(&w);
    uint16_t qclass = wire_u16(&w);
    if (!wire_ok(&w))
        return -1;
    if (12 + name + 4 > len || qtype == 0)
        return 0;
    return qclass == 1 || qclass == 3 || qclass == 4 || qclass == 254 || qclass == 255;
}

/* Delivers the complete messages at the front of data; returns the bytes consumed.
 * hole_after: the bytes after data are missing (a known hole), not just not here yet. */
static size_t consume(tcp_dir *d, const uint8_t *data, size_t avail, bool hole_after,
                      const pkt_info *pi, tcp_msg_fn fn, void *ctx, dw_counters *c)
{
    size_t p = 0;
    while (avail - p >= 2) {
        wire_ctx w = wire_init(data + p, avail - p);
        size_t mlen = wire_u16(&w);
        if (d->resync) {
            int pl = msg_plausible(data + p, avail - p);
            if (pl < 0 && !hole_after)
                break; /* judge it when more of the stream is here */
            if (pl > 0 && (!hole_after || 2 + mlen <= avail - p)) {
                d->resync = false;
                continue;
            }
            p++;
            continue;
        }
        if (avail - p < 2 + mlen)
            break;
        if (mlen < 12)
            DW_COUNT(c, TCP_MSG_TOO_SHORT);
        else
            fn(ctx, pi, data + p + 2, mlen);
        p += 2 + mlen;
    }
    return p;
}

/* Consumes what the in-order part of the window holds. */
static void win_consume(tcp_reasm *t, tcp_dir *d, const pkt_info *pi, tcp_msg_fn fn,
                        void *ctx, dw_counters *c)
{
    if (!d->len)
        return;
    size_t k = consume(d, d->buf, d->len, d->n_ooo > 0, pi, fn, ctx, c);
    if (k)
        win_skip(t, d, (uint32_t)k);
}

/* Declares the first hole lost: drops the message in progress and resumes after the
 * hole (or, with nothing held beyond it, at the in-order end), in resync mode. */
static void win_gap(tcp_reasm *t, tcp_dir *d, const pkt_info *pi, tcp_msg_fn fn, void *ctx,
                    dw_counters *c)
{
    DW_COUNT(c, TCP_GAP);
    win_skip(t, d, d->n_ooo ? d->ooo[0].start : d->len);
    d->resync = true;
    d->ooo_segs = 0;
    d->hole_us = pi->ts_us;
    win_consume(t, d, pi, fn, ctx, c);
}

/* Stores the payload of one segment (already trimmed to start at or after the in-order
 * end) and delivers what it completes. */
static void dir_data(tcp_reasm *t, tcp_dir *d, const pkt_info *pi, uint32_t seq,
                     const uint8_t *data, size_t n, tcp_msg_fn fn, void *ctx, dw_counters *c)
{
    bool gapped = false; /* one lost stretch is one TCP_GAP, however it is resolved */
    for (;;) {
        uint32_t next = d->base + d->len;
        if (seq_lt(seq, next)) {
            uint32_t old = next - seq; /* retransmitted or overlapping: we have it */
            if (old >= n)
                return;
            seq += old;
            data += old;
            n -= old;
        }
        if (seq == next && d->len == 0 && d->n_ooo == 0) {
            /* Fast path: nothing held, so messages whole in the segment are passed from
             * it in place; only a trailing partial message is copied. */
            size_t k = consume(d, data, n, false, pi, fn, ctx, c);
            d->base = seq + (uint32_t)k;
            if (k == n) {
                buf_release(t, d);
                return;
            }
            int rc = buf_reserve(t, d, n - k, c);
            if (rc == 0) {
                memcpy(d->buf, data + k, n - k);
                d->len = (uint32_t)(n - k);
                return;
            }
            if (rc == -ENOMEM)
                DW_COUNT(c, TCP_MEM_FULL);
            DW_COUNT(c, TCP_GAP);
            dir_reset(t, d, seq + (uint32_t)n, true);
            return;
        }
        uint32_t pos = seq - d->base;
        bool fits = (uint64_t)pos + n <= t->lim.max_flow_bytes;
        int rc = fits ? buf_reserve(t, d, pos + n, c) : -E2BIG;
        if (rc == -ENOMEM) {
            DW_COUNT(c, TCP_MEM_FULL);
            if (seq == next) {
                /* The in-order stream loses these bytes: a gap right here. */
                DW_COUNT(c, TCP_GAP);
                win_skip(t, d, pos + (uint32_t)n);
                d->resync = true;
                win_consume(t, d, pi, fn, ctx, c);
            }
            /* Out of order: the hole just grew; it resolves as any other. */
            return;
        }
        if (rc != 0) {
            /* Beyond the window: the hole before it cannot be waited for. */
            if (d->len || d->n_ooo) {
                win_gap(t, d, pi, fn, ctx, c);
            } else {
                if (!gapped)
                    DW_COUNT(c, TCP_GAP);
                dir_reset(t, d, seq, true);
            }
            gapped = true;
            continue;
        }
        memcpy(d->buf + pos, data, n);
        if (pos == d->len) {
            d->len = pos + (uint32_t)n;
            win_normalize(d);
        } else {
            DW_COUNT(c, TCP_OUT_OF_ORDER);
            if (!d->n_ooo)
                d->hole_us = pi->ts_us;
            if (d->ooo_segs < UINT8_MAX)
                d->ooo_segs++;
            if (!win_add_range(d, pos, pos + (uint32_t)n)) {
                /* No room to remember it: give up on the first hole and retry. */
                win_gap(t, d, pi, fn, ctx, c);
                continue;
            }
            if (d->ooo_segs > TCP_OOO_MAX_SEGS)
                win_gap(t, d, pi, fn, ctx, c);
        }
        win_consume(t, d, pi, fn, ctx, c);
        return;
    }
}

/* Ends a direction: holes become gaps so that complete messages behind them are still
 * delivered; a partial message is dropped. */
static void dir_finish(tcp_reasm *t, uint32_t i, const pkt_info *pi, tcp_msg_fn fn,
                       void *ctx, dw_counters *c)
{
    tcp_dir *d = &t->dirs[i];
    while (d->n_ooo)
        win_gap(t, d, pi, fn, ctx, c);
    dir_remove(t, i);
}

void tcp_reasm_segment(tcp_reasm *t, const pkt_info *pi, tcp_msg_fn fn, void *ctx,
                       dw_counters *c)
{
    uint8_t src[16], dst[16];
    bool syn = pi->tcp_flags & PKT_TCP_SYN;
    bool fin = pi->tcp_flags & PKT_TCP_FIN;
    bool rst = pi->tcp_flags & PKT_TCP_RST;
    size_t n = rst ? 0 : pi->payload_len; /* data on a RST is not stream data */
    uint32_t seq = pi->tcp_seq + (syn ? 1u : 0u); /* data on a SYN (TFO) follows the ISN */

    key_of(pi, src, dst);
    uint32_t h = key_hash(t, pi->ip_version, src, dst, pi->sport, pi->dport);
    uint32_t i = dir_find(t, pi, h, src, dst);
    if (i != NIL && expired(t, &t->dirs[i], pi->ts_us)) {
        DW_COUNT(c, TCP_FLOW_EXPIRED);
        dir_remove(t, i);
        i = NIL;
    }
    unsigned claim = dnssrv_claim_of(t->srv, pi->ip_version, src, dst);
    if (claim == DNSSRV_CLAIM_NONE && (syn || (i != NIL && t->dirs[i].syn_seen)))
        claim = DNSSRV_CLAIM_DNS;
    if (i == NIL) {
        /* A bare ACK, FIN or RST tells nothing worth a table entry. */
        if (!syn && n == 0)
            return;
        i = dir_insert(t, pi, h, src, dst, claim, c);
        if (i == NIL)
            return;
        tcp_dir *d = &t->dirs[i];
        d->base = seq;
        d->resync = !syn;
        d->syn_seen = syn;
        d->syn_seq = pi->tcp_seq;
        if (!syn)
            DW_COUNT(c, TCP_MIDSTREAM);
    } else {
        /* A claim only rises: a server pushed out of the set keeps its directions. */
        tcp_dir *d = &t->dirs[i];
        lru_unlink(t, d);
        if (claim > d->claim) {
            if (d->buf)
                blist_unlink(t, d);
            d->claim = (uint8_t)claim;
            if (d->buf)
                blist_append(t, d);
        }
        lru_push_head(t, i);
        /* A SYN that does not repeat the one we saw starts a new connection. */
        if (syn && !(d->syn_seen && d->syn_seq == pi->tcp_seq)) {
            dir_reset(t, d, seq, false);
            d->syn_seen = true;
            d->syn_seq = pi->tcp_seq;
        }
    }
    tcp_dir *d = &t->dirs[i];
    d->last_us = pi->ts_us;
    if (d->n_ooo && pi->ts_us > d->hole_us && pi->ts_us - d->hole_us > TCP_HOLE_WAIT_US)
        win_gap(t, d, pi, fn, ctx, c);
    if (n)
        dir_data(t, d, pi, seq, pi->payload, n, fn, ctx, c);
    if (fin || rst)
        dir_finish(t, i, pi, fn, ctx, c);
}

void tcp_reasm_expire(tcp_reasm *t, uint64_t now_us, dw_counters *c)
{
    /* Each LRU tail is its list's longest idle (packet time is close enough to
     * monotonic). */
    for (int k = 0; k < DNSSRV_NCLAIMS; k++)
        while (t->lru_tail[k] != NIL && expired(t, &t->dirs[t->lru_tail[k]], now_us)) {
            DW_COUNT(c, TCP_FLOW_EXPIRED);
            dir_remove(t, t->lru_tail[k]);
        }
}

void tcp_reasm_flush(tcp_reasm *t, tcp_msg_fn fn, void *ctx, dw_counters *c)
{
    uint32_t i;
    while ((i = lru_oldest(t)) != NIL) {
        const tcp_dir *d = &t->dirs[i];
        pkt_info pi;
        memset(&pi, 0, sizeof pi);
        pi.ts_us = d->last_us;
        pi.ip_version = d->ip_version;
        memcpy(pi.src, d->src, 16);
        memcpy(pi.dst, d->dst, 16);
        pi.proto = 6;
        pi.sport = d->sport;
        pi.dport = d->dport;
        pi.tcp_seq = d->base;
        dir_finish(t, i, &pi, fn, ctx, c);
    }
}
