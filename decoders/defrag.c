/* IP fragment reassembly, mirroring the Linux receiver (see the policy in defrag.h).
 *
 * A datagram in flight keeps its fragment data in fixed-size blocks placed by offset
 * and the list of "runs" Linux keeps: ranges of fragments that arrived in order, each
 * appended right after the previous. Duplicate and overlap decisions are taken against
 * runs exactly as inet_frag_queue_insert() does.
 *
 * Most datagrams in a flood are one tiny fragment: an entry holds one block and one run
 * inline, and takes a map (a block per DEFRAG_BLOCK of the 64 KiB, and max_fragments
 * runs) only when it needs a second of either. Entries, maps and blocks come from three
 * pools that grow in chunks up to the limits and recycle through free lists: nothing is
 * allocated per packet once the high-water mark is reached.
 *
 * The datagrams in flight are on one list per claim (enum dnssrv_claim), each in arrival
 * order (a datagram whose claim rises moves to the end of its new list), so the eviction
 * victim, the oldest of the lowest claim, is found in O(1). */
#include "decoders/defrag.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "decoders/wire.h"

#define DG_MAXLEN 65535u
#define DG_NBLK ((DG_MAXLEN + DEFRAG_BLOCK - 1) / DEFRAG_BLOCK)
#define DG_MAXFRAGS (DG_MAXLEN / 8 + 1) /* more non-overlapping fragments cannot exist */
#define NIL UINT32_MAX

typedef struct dg_run {
    uint32_t off, end;
} dg_run;

/* A fragment as it arrived: where, when, with which TTL. */
typedef struct dg_frec {
    uint64_t us;
    uint16_t off, len; /* offsets end at 65535 */
    uint8_t ttl;
} dg_frec;

typedef struct dg_map {
    pkt_frag_conflict conflict; /* the first one, when dg.conflict */
    uint32_t blk[DG_NBLK]; /* block index per DEFRAG_BLOCK of payload, or NIL */
    dg_run runs[];         /* sorted by offset, max_fragments of them; then max_fragments
                            * dg_frec in arrival order (dg_frecs()) */
} dg_map;
_Static_assert(sizeof(dg_map) % 8 == 0 && sizeof(dg_run) == 8, "dg_frec after the runs is aligned");

typedef struct dg {
    defrag_key key;      /* normalised: unused address bytes and IPv6 proto zero */
    uint64_t created_us; /* the timeout runs from the first fragment, as in Linux */
    uint32_t hnext;      /* hash chain */
    uint32_t older, newer; /* the list of its claim */
    uint32_t len;  /* end of the datagram as known so far */
    uint32_t meat; /* payload bytes received */
    uint32_t map;  /* its dg_map, or NIL: then blk0/run0 hold everything */
    uint32_t blk0; /* without a map: the one block (NIL if none), for block number blk0_no */
    uint16_t blk0_no;
    uint16_t nfrags, nruns;
    uint8_t claim;
    uint8_t proto;
    uint8_t ttl;         /* of the fragment at offset 0 */
    bool first_in, last_in;
    bool conflict; /* a fragment contradicted held bytes (its record in the map) */
    uint8_t ttl0;  /* without a map: the one fragment's TTL (it came at created_us) */
    dg_run run0; /* without a map: the one run */
} dg;

_Static_assert(sizeof(dg) <= DEFRAG_ENTRY_BYTES, "DEFRAG_ENTRY_BYTES must cover an entry");

/* A pool of fixed-size items in chunks of POOL_CHUNK, each allocated when the high-water
 * mark first reaches it (so memory follows the peak in use, not the limit), handed out
 * from a free list first. */
#define POOL_SHIFT 10
#define POOL_CHUNK (1u << POOL_SHIFT)

typedef struct dg_pool {
    uint8_t **chunk;
    size_t size;
    uint32_t cap, hi;
    uint32_t *free;
    uint32_t nfree;
} dg_pool;

/* A datagram reassembled in the last recent_ms (see defrag.h): its payload is
 * arena[aoff, aoff + len). Records live in a ring in completion order; their payloads
 * in the arena in the same order, so the oldest goes first under pressure. */
typedef struct dg_recent {
    defrag_key key;
    uint64_t done_us;
    uint32_t hnext;   /* hash chain, while live */
    uint32_t aoff, len;
    unsigned nconf;   /* conflicting fragments seen since reassembly or before */
    uint8_t proto;
    uint8_t nfrec;
    uint8_t claim;    /* the datagram's (enum dnssrv_claim) */
    bool reported;    /* its conflict was delivered (in flight or late) */
    bool live;        /* in the hash: not replaced by a newer datagram of the same key */
    dg_frec frec[DEFRAG_RECENT_FRAGS];
} dg_recent;

struct defrag {
    defrag_limits lim;
    uint64_t timeout_us;
    uint64_t seed;
    uint32_t nbuckets; /* power of two */
    uint32_t *bucket;
    dg_pool ent, maps, blocks;
    size_t map_bytes;
    size_t charged; /* entries, maps and blocks in use, in bytes */
    uint32_t count;
    uint32_t oldest[DNSSRV_NCLAIMS], newest[DNSSRV_NCLAIMS];
    const dnssrv *srv;
    uint8_t *out;
    uint8_t out_proto;
    uint8_t out_ttl;
    /* what the last defrag_add() found */
    bool has_conflict, has_late;
    pkt_frag_conflict conflict, late;
    const uint8_t *late_out;
    uint32_t late_len;
    uint8_t late_proto;
    /* reassembled datagrams remembered (dg_recent) */
    uint64_t recent_us;
    dg_recent *rec;
    uint32_t rcap, rhead, rcount; /* ring of rcap records, oldest at rhead */
    uint32_t *rbucket;            /* hash of live records, rnbuckets (a power of two) */
    uint32_t rnbuckets;
    uint8_t *arena;
    uint32_t arena_len;
};

void defrag_limits_default(defrag_limits *l)
{
    if (!l->max_datagrams)
        l->max_datagrams = 65536;
    if (!l->max_fragments)
        l->max_fragments = 64;
    if (!l->max_bytes)
        l->max_bytes = 32u << 20;
    if (!l->timeout_ms)
        l->timeout_ms = 30000;
    if (!l->recent_bytes)
        l->recent_bytes = 4u << 20;
    if (!l->recent_ms)
        l->recent_ms = 5000;
}

size_t defrag_map_bytes(unsigned max_fragments)
{
    if (max_fragments > DG_MAXFRAGS)
        max_fragments = DG_MAXFRAGS;
    return sizeof(dg_map) + (size_t)max_fragments * (sizeof(dg_run) + sizeof(dg_frec));
}

static uint64_t dg_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static size_t dg_alen(const defrag_key *k) { return k->ip_version == 4 ? 4 : 16; }

static void dg_key_norm(defrag_key *dst, const defrag_key *k)
{
    memset(dst, 0, sizeof *dst);
    dst->ip_version = k->ip_version;
    memcpy(dst->src, k->src, dg_alen(k));
    memcpy(dst->dst, k->dst, dg_alen(k));
    dst->id = k->id;
    /* RFC 8200 and Linux key IPv6 fragments without the protocol. */
    dst->proto = k->ip_version == 4 ? k->proto : 0;
}

static bool dg_key_eq(const defrag_key *a, const defrag_key *b)
{
    return a->ip_version == b->ip_version && a->id == b->id && a->proto == b->proto &&
           memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0;
}

/* Seeded so that a sender cannot aim all its datagrams at one chain. */
static uint32_t dg_hash(const defrag *d, const defrag_key *k)
{
    uint64_t w[4];
    memcpy(w, k->src, 16);
    memcpy(w + 2, k->dst, 16);
    uint64_t h = d->seed ^ ((uint64_t)k->id << 16 | (uint64_t)k->proto << 8 | k->ip_version);
    for (int i = 0; i < 4; i++)
        h = dg_mix(h ^ w[i]);
    return (uint32_t)h & (d->nbuckets - 1);
}

/* ---- pools ---- */

/* 0, or -ENOMEM (pool_fini frees what was allocated). */
DW_MUST_USE static int pool_init(dg_pool *p, size_t size, uint32_t cap)
{
    p->size = size;
    p->cap = cap;
    p->chunk = calloc(cap / POOL_CHUNK + 1, sizeof *p->chunk);
    p->free = malloc((cap ? cap : 1) * sizeof *p->free);
    return p->chunk && p->free ? 0 : -ENOMEM;
}

static void pool_fini(dg_pool *p)
{
    if (p->chunk)
        for (uint32_t i = 0; i <= p->cap / POOL_CHUNK; i++)
            free(p->chunk[i]);
    free(p->chunk);
    free(p->free);
}

/* An item, or NIL when cap are in use or a chunk cannot be allocated. */
static uint32_t pool_get(dg_pool *p)
{
    if (p->nfree)
        return p->free[--p->nfree];
    if (p->hi == p->cap)
        return NIL;
    uint8_t **c = &p->chunk[p->hi >> POOL_SHIFT];
    uint32_t n = p->cap - (p->hi & ~(POOL_CHUNK - 1)); /* the last chunk may be short */
    if (!*c && !(*c = malloc((n < POOL_CHUNK ? n : POOL_CHUNK) * p->size)))
        return NIL;
    return p->hi++;
}

static void pool_put(dg_pool *p, uint32_t i) { p->free[p->nfree++] = i; }
static uint32_t pool_used(const dg_pool *p) { return p->hi - p->nfree; }
static void *pool_at(const dg_pool *p, uint32_t i)
{
    return p->chunk[i >> POOL_SHIFT] + (size_t)(i & (POOL_CHUNK - 1)) * p->size;
}

static dg *DG(const defrag *d, uint32_t i) { return pool_at(&d->ent, i); }
static dg_map *MAP(const defrag *d, const dg *g) { return pool_at(&d->maps, g->map); }
static uint8_t *BLK(const defrag *d, uint32_t b) { return pool_at(&d->blocks, b); }
static dg_frec *dg_frecs(const defrag *d, const dg *g)
{
    /* aligned: dg_map's size and every item's are multiples of 8 (see dg_map) */
    return (dg_frec *)(void *)(MAP(d, g)->runs + d->lim.max_fragments);
}

/* ---- construction ---- */

defrag *defrag_new(const defrag_limits *l)
{
    defrag *d = calloc(1, sizeof *d), *ret = NULL;
    if (!d)
        goto out;
    d->lim = *l;
    defrag_limits_default(&d->lim);
    if (d->lim.max_fragments > DG_MAXFRAGS)
        d->lim.max_fragments = DG_MAXFRAGS;
    if (d->lim.max_datagrams > (1u << 24))
        d->lim.max_datagrams = 1u << 24;
    d->timeout_us = (uint64_t)d->lim.timeout_ms * 1000;
    d->map_bytes = defrag_map_bytes(d->lim.max_fragments);
    size_t mb = d->lim.max_bytes / DEFRAG_BLOCK, mm = d->lim.max_bytes / d->map_bytes;
    uint32_t max_blocks = mb > (1u << 28) ? 1u << 28 : (uint32_t)mb;
    uint32_t max_maps = mm > d->lim.max_datagrams ? d->lim.max_datagrams : (uint32_t)mm;
    uint32_t max_ent = d->lim.max_datagrams;
    d->nbuckets = 16;
    while (d->nbuckets < d->lim.max_datagrams)
        d->nbuckets <<= 1;
    for (int c = 0; c < DNSSRV_NCLAIMS; c++)
        d->oldest[c] = d->newest[c] = NIL;
    if (getrandom(&d->seed, sizeof d->seed, GRND_NONBLOCK) != (ssize_t)sizeof d->seed)
        d->seed = dg_mix((uint64_t)(uintptr_t)d ^ (uint64_t)time(NULL));

    /* The memory of reassembled datagrams: a record per 2 KiB of the budget (the
     * fragmented DNS answers it is for are larger), the rest for their payloads, never
     * less than one datagram of the largest size. */
    d->recent_us = (uint64_t)d->lim.recent_ms * 1000;
    if (d->lim.recent_bytes < (128u << 10))
        d->lim.recent_bytes = 128u << 10;
    if (d->lim.recent_bytes > ((size_t)1 << 32))
        d->lim.recent_bytes = (size_t)1 << 32;
    d->rcap = (uint32_t)(d->lim.recent_bytes / 2048);
    size_t arena = d->lim.recent_bytes - (size_t)d->rcap * sizeof(dg_recent);
    d->arena_len = arena < DG_MAXLEN ? DG_MAXLEN : (uint32_t)(arena > UINT32_MAX ? UINT32_MAX : arena);
    d->rnbuckets = 16;
    while (d->rnbuckets < d->rcap)
        d->rnbuckets <<= 1;
    d->rec = malloc((size_t)d->rcap * sizeof *d->rec);
    d->rbucket = malloc(d->rnbuckets * sizeof *d->rbucket);
    d->arena = malloc(d->arena_len);

    d->bucket = malloc(d->nbuckets * sizeof *d->bucket);
    d->out = malloc(DG_MAXLEN);
    if (!d->bucket || !d->out || !d->rec || !d->rbucket || !d->arena ||
        pool_init(&d->ent, sizeof(dg), max_ent) != 0 ||
        pool_init(&d->maps, d->map_bytes, max_maps) != 0 ||
        pool_init(&d->blocks, DEFRAG_BLOCK, max_blocks) != 0)
        goto out;
    memset(d->bucket, 0xff, d->nbuckets * sizeof *d->bucket);
    memset(d->rbucket, 0xff, d->rnbuckets * sizeof *d->rbucket);
    ret = d;
    d = NULL;
out:
    defrag_free(d);
    return ret;
}

void defrag_free(defrag *d)
{
    if (!d)
        return;
    pool_fini(&d->ent);
    pool_fini(&d->maps);
    pool_fini(&d->blocks);
    free(d->bucket);
    free(d->out);
    free(d->rec);
    free(d->rbucket);
    free(d->arena);
    free(d);
}

void defrag_set_servers(defrag *d, const dnssrv *s) { d->srv = s; }

size_t defrag_bytes_held(const defrag *d)
{
    return (size_t)pool_used(&d->blocks) * DEFRAG_BLOCK;
}

size_t defrag_mem_charged(const defrag *d) { return d->charged; }
unsigned defrag_datagrams(const defrag *d) { return d->count; }

uint8_t defrag_proto(const defrag *d) { return d->out_proto; }
uint8_t defrag_ttl(const defrag *d) { return d->out_ttl; }

unsigned defrag_recent_count(const defrag *d) { return d->rcount; }
size_t defrag_recent_budget(const defrag *d)
{
    return (size_t)d->rcap * sizeof(dg_recent) + d->arena_len;
}

const pkt_frag_conflict *defrag_conflict(const defrag *d)
{
    return d->has_conflict ? &d->conflict : NULL;
}

const pkt_frag_conflict *defrag_late_conflict(const defrag *d, const uint8_t **out,
                                              size_t *outlen, uint8_t *proto)
{
    if (!d->has_late)
        return NULL;
    *out = d->late_out;
    *outlen = d->late_len;
    *proto = d->late_proto;
    return &d->late;
}

/* ---- reassembled datagrams remembered ---- */

static uint32_t recent_hash(const defrag *d, const defrag_key *k)
{
    return dg_hash(d, k) & (d->rnbuckets - 1);
}

static void recent_unlink(defrag *d, uint32_t i)
{
    dg_recent *r = &d->rec[i];
    if (!r->live)
        return;
    uint32_t *pp = &d->rbucket[recent_hash(d, &r->key)];
    while (*pp != i)
        pp = &d->rec[*pp].hnext;
    *pp = r->hnext;
    r->live = false;
}

static void recent_pop(defrag *d)
{
    recent_unlink(d, d->rhead);
    d->rhead = (d->rhead + 1) % d->rcap;
    d->rcount--;
}

static bool recent_expired(const defrag *d, const dg_recent *r, uint64_t now_us)
{
    return now_us >= r->done_us && now_us - r->done_us >= d->recent_us;
}

static void recent_expire(defrag *d, uint64_t now_us)
{
    while (d->rcount && recent_expired(d, &d->rec[d->rhead], now_us))
        recent_pop(d);
}

static uint32_t recent_lookup(const defrag *d, const defrag_key *k)
{
    for (uint32_t i = d->rbucket[recent_hash(d, k)]; i != NIL; i = d->rec[i].hnext)
        if (dg_key_eq(&d->rec[i].key, k))
            return i;
    return NIL;
}

/* Where len payload bytes can go in the arena without touching a payload held, or
 * UINT32_MAX: payloads are placed in ring order after the newest one. */
static uint32_t recent_room(const defrag *d, uint32_t len)
{
    if (!d->rcount)
        return 0;
    const dg_recent *old = &d->rec[d->rhead];
    const dg_recent *neu = &d->rec[(d->rhead + d->rcount - 1) % d->rcap];
    uint32_t wp = neu->aoff + neu->len;
    if (neu->aoff >= old->aoff) { /* not wrapped: free after the newest and before the oldest */
        if (d->arena_len - wp >= len)
            return wp;
        return old->aoff >= len ? 0 : UINT32_MAX;
    }
    return old->aoff - wp >= len ? wp : UINT32_MAX;
}

/* Remembers a reassembled datagram (the payload in d->out) with its fragments. Room is
 * made by forgetting the oldest, unless the oldest still alive has a higher claim than
 * this one: then this one is not remembered (as in flight, a newcomer never pushes out a
 * higher claim, so datagrams forged from spoofed sources cannot flush the resolver's). */
static void recent_add(defrag *d, const dg *g, uint64_t now_us, dw_counters *c)
{
    uint32_t old = recent_lookup(d, &g->key);
    if (old != NIL)
        recent_unlink(d, old); /* the newer datagram of the key is the one a fragment meets */
    uint32_t at = 0;
    while (d->rcount == d->rcap || (at = recent_room(d, g->len)) == UINT32_MAX) {
        const dg_recent *h = &d->rec[d->rhead];
        if (h->live && !recent_expired(d, h, now_us)) {
            DW_COUNT(c, FRAG_RECENT_EVICTED);
            if (h->claim > g->claim)
                return;
        }
        recent_pop(d);
    }
    uint32_t i = (d->rhead + d->rcount++) % d->rcap;
    dg_recent *r = &d->rec[i];
    r->key = g->key;
    r->done_us = now_us;
    r->aoff = at;
    r->len = g->len;
    r->proto = g->proto;
    r->claim = g->claim;
    r->reported = g->conflict;
    r->nconf = g->conflict ? MAP(d, g)->conflict.count : 0;
    r->nfrec = 0;
    if (g->map != NIL) {
        const dg_frec *f = dg_frecs(d, g);
        for (unsigned k = 0; k < g->nfrags && r->nfrec < DEFRAG_RECENT_FRAGS; k++)
            r->frec[r->nfrec++] = f[k];
    } else if (g->nruns) {
        r->frec[r->nfrec++] = (dg_frec){g->created_us, (uint16_t)g->run0.off,
                                        (uint16_t)(g->run0.end - g->run0.off), g->ttl0};
    }
    memcpy(d->arena + at, d->out, g->len);
    uint32_t h = recent_hash(d, &r->key);
    r->hnext = d->rbucket[h];
    d->rbucket[h] = i;
    r->live = true;
}

/* The first byte at which n bytes differ, or UINT32_MAX. */
static uint32_t first_diff(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    if (memcmp(a, b, n) == 0)
        return UINT32_MAX;
    uint32_t i = 0;
    while (a[i] == b[i])
        i++;
    return i;
}

/* The fragment record covering byte `at`, as evidence. */
static pkt_frag_piece piece_of(const dg_frec *f, unsigned n, uint32_t at)
{
    for (unsigned k = 0; k < n; k++)
        if (at >= f[k].off && at < (uint32_t)f[k].off + f[k].len)
            return (pkt_frag_piece){f[k].off, f[k].len, f[k].us, f[k].ttl};
    return (pkt_frag_piece){0, 0, 0, 0};
}

/* A fragment [off, end) against the datagram of its key reassembled in the last
 * recent_ms, if any: counted, and reported once per datagram (d->late). */
static void recent_check(defrag *d, const defrag_key *nk, uint32_t off, uint32_t end, int more,
                         const uint8_t *data, uint8_t ttl, uint64_t now_us, dw_counters *c)
{
    uint32_t i = recent_lookup(d, nk);
    if (i == NIL)
        return;
    dg_recent *r = &d->rec[i];
    if (recent_expired(d, r, now_us) || off >= r->len)
        return; /* (expired: dropped at the next sweep) */
    uint32_t cmp_end = end < r->len ? end : r->len;
    uint32_t diff = first_diff(d->arena + r->aoff + off, data, cmp_end - off);
    if (diff != UINT32_MAX)
        diff += off;
    else if (end > r->len || (!more && end != r->len)) /* the datagram ended elsewhere */
        diff = cmp_end;
    if (diff == UINT32_MAX) {
        DW_COUNT(c, FRAG_LATE_DUPLICATE);
        return;
    }
    DW_COUNT(c, FRAG_CONFLICT_LATE);
    r->nconf++;
    if (r->reported)
        return;
    r->reported = true;
    d->late = (pkt_frag_conflict){
        .first = piece_of(r->frec, r->nfrec, diff < r->len ? diff : r->len - 1),
        .second = {off, end - off, now_us, ttl},
        .diff_off = diff,
        .count = r->nconf,
        .late = true,
    };
    d->late_out = d->arena + r->aoff;
    d->late_len = r->len;
    d->late_proto = r->proto;
    d->has_late = true;
}

/* ---- lists, release, eviction ---- */

static void list_unlink(defrag *d, uint32_t i)
{
    dg *g = DG(d, i);
    if (g->older != NIL)
        DG(d, g->older)->newer = g->newer;
    else
        d->oldest[g->claim] = g->newer;
    if (g->newer != NIL)
        DG(d, g->newer)->older = g->older;
    else
        d->newest[g->claim] = g->older;
}

static void list_append(defrag *d, uint32_t i)
{
    dg *g = DG(d, i);
    g->older = d->newest[g->claim];
    g->newer = NIL;
    if (g->older != NIL)
        DG(d, g->older)->newer = i;
    else
        d->oldest[g->claim] = i;
    d->newest[g->claim] = i;
}

static uint32_t dg_blk(const defrag *d, const dg *g, uint32_t b)
{
    if (g->map != NIL)
        return MAP(d, g)->blk[b];
    return g->blk0 != NIL && g->blk0_no == b ? g->blk0 : NIL;
}

static dg_run *dg_runs(const defrag *d, dg *g)
{
    return g->map != NIL ? MAP(d, g)->runs : &g->run0;
}

static void dg_release(defrag *d, uint32_t i)
{
    dg *g = DG(d, i);
    uint32_t *pp = &d->bucket[dg_hash(d, &g->key)];
    while (*pp != i)
        pp = &DG(d, *pp)->hnext;
    *pp = g->hnext;
    list_unlink(d, i);
    uint32_t nb = 0;
    if (g->map != NIL) {
        dg_map *m = MAP(d, g);
        uint32_t hi = (g->len + DEFRAG_BLOCK - 1) / DEFRAG_BLOCK; /* nothing is held past len */
        for (uint32_t b = 0; b < hi && b < DG_NBLK; b++)
            if (m->blk[b] != NIL) {
                pool_put(&d->blocks, m->blk[b]);
                nb++;
            }
        pool_put(&d->maps, g->map);
        d->charged -= d->map_bytes;
    } else if (g->blk0 != NIL) {
        pool_put(&d->blocks, g->blk0);
        nb++;
    }
    d->charged -= (size_t)nb * DEFRAG_BLOCK + DEFRAG_ENTRY_BYTES;
    pool_put(&d->ent, i);
    d->count--;
}

static void count_lost(dw_counters *c, unsigned claim)
{
    if (claim == DNSSRV_CLAIM_SERVER)
        DW_COUNT(c, FRAG_EVICT_SERVER);
    else if (claim == DNSSRV_CLAIM_DNS)
        DW_COUNT(c, FRAG_EVICT_DNS);
    else
        DW_COUNT(c, FRAG_EVICT_UNCLAIMED);
}

/* The datagram to give way for one of claim `claim`: the oldest of the lowest claim, not
 * `keep`, and never one of a higher claim. NIL if there is none. */
static uint32_t dg_victim(const defrag *d, uint32_t keep, unsigned claim)
{
    for (unsigned c = 0; c <= claim; c++) {
        uint32_t v = d->oldest[c];
        if (v != NIL && v == keep)
            v = DG(d, v)->newer;
        if (v != NIL)
            return v;
    }
    return NIL;
}

static bool dg_expired(const defrag *d, const dg *g, uint64_t now_us)
{
    return now_us >= g->created_us && now_us - g->created_us >= d->timeout_us;
}

void defrag_expire(defrag *d, uint64_t now_us, dw_counters *c)
{
    recent_expire(d, now_us);
    /* Arrival order per list: the first one still alive ends the walk (one whose claim
     * rose may wait behind younger ones, at most one timeout). Time going backwards in a
     * capture only delays expiry; the lookup checks again. */
    for (int k = 0; k < DNSSRV_NCLAIMS; k++)
        while (d->oldest[k] != NIL && dg_expired(d, DG(d, d->oldest[k]), now_us)) {
            dg_release(d, d->oldest[k]);
            DW_COUNT(c, FRAG_TIMEOUT);
        }
}

static uint32_t dg_lookup(const defrag *d, const defrag_key *k, uint32_t h)
{
    for (uint32_t i = d->bucket[h]; i != NIL; i = DG(d, i)->hnext)
        if (dg_key_eq(&DG(d, i)->key, k))
            return i;
    return NIL;
}

/* Makes `bytes` more chargeable, evicting datagrams of claim <= `claim` other than
 * `keep`, oldest of the lowest claim first. False (nothing evicted beyond what was
 * needed so far) when only datagrams of a higher claim are left. */
static bool dg_reserve(defrag *d, uint32_t keep, unsigned claim, size_t bytes,
                       dw_counters *c)
{
    while (d->charged + bytes > d->lim.max_bytes) {
        uint32_t v = dg_victim(d, keep, claim);
        if (v == NIL)
            return false;
        count_lost(c, DG(d, v)->claim);
        dg_release(d, v);
        DW_COUNT(c, FRAG_MEM_FULL);
    }
    return true;
}

/* A new entry of claim `claim`, making room as dg_reserve() does. NIL (counted as the
 * loss of a datagram of that claim) when only higher claims are left to evict. */
static uint32_t dg_create(defrag *d, const defrag_key *k, uint32_t h, unsigned claim,
                          uint64_t now_us, dw_counters *c)
{
    if (d->count == d->lim.max_datagrams) {
        uint32_t v = dg_victim(d, NIL, claim);
        DW_COUNT(c, FRAG_TABLE_FULL);
        count_lost(c, v == NIL ? claim : DG(d, v)->claim);
        if (v == NIL)
            return NIL;
        dg_release(d, v);
    }
    if (!dg_reserve(d, NIL, claim, DEFRAG_ENTRY_BYTES, c)) {
        DW_COUNT(c, FRAG_MEM_FULL);
        count_lost(c, claim);
        return NIL;
    }
    uint32_t i = pool_get(&d->ent);
    if (i == NIL) { /* malloc failed */
        DW_COUNT(c, FRAG_MEM_FULL);
        return NIL;
    }
    d->charged += DEFRAG_ENTRY_BYTES;
    dg *g = DG(d, i);
    g->key = *k;
    g->created_us = now_us;
    g->len = g->meat = 0;
    g->nfrags = g->nruns = 0;
    g->map = g->blk0 = NIL;
    g->blk0_no = 0;
    g->first_in = g->last_in = false;
    g->conflict = false;
    g->ttl0 = 0;
    g->proto = k->proto;
    g->claim = (uint8_t)claim;
    g->hnext = d->bucket[h];
    d->bucket[h] = i;
    list_append(d, i);
    d->count++;
    return i;
}

/* Gives g its map, moving the inline block and run into it. */
static bool dg_promote(defrag *d, dg *g)
{
    uint32_t mi = pool_get(&d->maps);
    if (mi == NIL)
        return false;
    d->charged += d->map_bytes;
    dg_map *m = pool_at(&d->maps, mi);
    memset(m->blk, 0xff, sizeof m->blk);
    if (g->blk0 != NIL)
        m->blk[g->blk0_no] = g->blk0;
    g->map = mi;
    if (g->nruns) {
        m->runs[0] = g->run0;
        /* the one fragment held so far (an entry without a map holds one) */
        dg_frecs(d, g)[0] = (dg_frec){g->created_us, (uint16_t)g->run0.off,
                                      (uint16_t)(g->run0.end - g->run0.off), g->ttl0};
    }
    return true;
}

/* Stores [off, off + len) in g, taking the blocks it needs (reserved by the caller).
 * False if a block could not be allocated. */
static bool dg_store(defrag *d, dg *g, uint32_t off, const uint8_t *data, uint32_t len)
{
    while (len) {
        uint32_t b = off / DEFRAG_BLOCK, in = off % DEFRAG_BLOCK;
        uint32_t bi = dg_blk(d, g, b);
        if (bi == NIL) {
            bi = pool_get(&d->blocks);
            if (bi == NIL)
                return false;
            d->charged += DEFRAG_BLOCK;
            if (g->map != NIL) {
                MAP(d, g)->blk[b] = bi;
            } else {
                g->blk0 = bi;
                g->blk0_no = (uint16_t)b;
            }
        }
        uint32_t n = DEFRAG_BLOCK - in < len ? DEFRAG_BLOCK - in : len;
        memcpy(BLK(d, bi) + in, data, n);
        off += n;
        data += n;
        len -= n;
    }
    return true;
}

/* Copies [off, off+len) of the datagram out; every byte of it must be held. */
static void dg_load(const defrag *d, const dg *g, uint32_t off, uint8_t *dst, uint32_t len)
{
    while (len) {
        uint32_t b = off / DEFRAG_BLOCK, in = off % DEFRAG_BLOCK;
        uint32_t n = DEFRAG_BLOCK - in < len ? DEFRAG_BLOCK - in : len;
        memcpy(dst, BLK(d, dg_blk(d, g, b)) + in, n);
        off += n;
        dst += n;
        len -= n;
    }
}

/* The offset of the first byte of [off, off + len) that differs from data, or
 * UINT32_MAX when they are the same; every byte of the range must be held. */
static uint32_t dg_diff(const defrag *d, const dg *g, uint32_t off, const uint8_t *data,
                        uint32_t len)
{
    uint8_t tmp[DEFRAG_BLOCK];
    while (len) {
        uint32_t n = len < sizeof tmp ? len : (uint32_t)sizeof tmp;
        dg_load(d, g, off, tmp, n);
        uint32_t k = first_diff(tmp, data, n);
        if (k != UINT32_MAX)
            return off + k;
        off += n;
        data += n;
        len -= n;
    }
    return UINT32_MAX;
}

/* A duplicate fragment with other bytes than those held, the first at diff: the first
 * such one is recorded in the map (given one now if needed and affordable), the others
 * counted. */
static void dg_note_conflict(defrag *d, uint32_t i, uint32_t off, uint32_t end, uint32_t diff,
                             uint8_t ttl, uint64_t now_us, dw_counters *c)
{
    dg *g = DG(d, i);
    if (g->conflict) {
        if (g->map != NIL)
            MAP(d, g)->conflict.count++;
        return;
    }
    if (g->map == NIL &&
        (!dg_reserve(d, i, g->claim, d->map_bytes, c) || !dg_promote(d, g)))
        return; /* counted (FRAG_CONFLICT); the evidence needs memory there is not */
    g->conflict = true;
    MAP(d, g)->conflict = (pkt_frag_conflict){
        .first = piece_of(dg_frecs(d, g), g->nfrags, diff),
        .second = {off, end - off, now_us, ttl},
        .diff_off = diff,
        .count = 1,
        .late = false,
    };
}

enum dg_place { DG_APPEND, DG_INSERT, DG_DUP, DG_OVERLAP };

/* Where [off, end) goes among the runs; *at is the insertion index for DG_INSERT. */
static enum dg_place dg_classify(const dg *g, const dg_run *runs, uint32_t off, uint32_t end,
                                 uint32_t *at)
{
    *at = g->nruns;
    if (g->nruns == 0)
        return DG_INSERT;
    const dg_run *last = &runs[g->nruns - 1];
    if (last->end < end) { /* the common case: past everything held */
        if (off < last->end)
            return DG_OVERLAP;
        return off == last->end ? DG_APPEND : DG_INSERT;
    }
    for (uint32_t j = 0; j < g->nruns; j++) {
        const dg_run *r = &runs[j];
        if (end <= r->off) {
            *at = j;
            return DG_INSERT;
        }
        if (off >= r->end)
            continue;
        return off >= r->off && end <= r->end ? DG_DUP : DG_OVERLAP;
    }
    return DG_INSERT; /* unreachable: the last run ends at or after end */
}

/* The claim of a fragment: from its addresses, and for the first fragment of UDP or TCP
 * its ports. */
static unsigned dg_claim_of(const defrag *d, const defrag_key *k, uint32_t off,
                            const uint8_t *data, size_t len)
{
    enum dnssrv_claim cl = dnssrv_claim_of(d->srv, k->ip_version, k->src, k->dst);
    if (cl == DNSSRV_CLAIM_NONE && d->srv && off == 0 && (k->proto == 17 || k->proto == 6)) {
        wire_ctx w = wire_init(data, len);
        uint16_t sport = wire_u16(&w), dport = wire_u16(&w);
        if (wire_ok(&w) && (dnssrv_port(d->srv, sport) || dnssrv_port(d->srv, dport)))
            cl = DNSSRV_CLAIM_DNS;
    }
    return cl;
}

int defrag_add(defrag *d, const defrag_key *k, uint32_t offset, int more, const uint8_t *data,
               size_t len, uint64_t now_us, const uint8_t **out, size_t *outlen, dw_counters *c)
{
    return defrag_add_ttl(d, k, offset, more, data, len, 0, now_us, out, outlen, c);
}

int defrag_add_ttl(defrag *d, const defrag_key *k, uint32_t offset, int more,
                   const uint8_t *data, size_t len, uint8_t ttl, uint64_t now_us,
                   const uint8_t **out, size_t *outlen, dw_counters *c)
{
    DW_COUNT(c, FRAG_SEEN);
    d->has_conflict = d->has_late = false;
    defrag_expire(d, now_us, c);
    if (offset > DG_MAXLEN || len > DG_MAXLEN - offset) {
        DW_COUNT(c, FRAG_BAD);
        return -EINVAL;
    }
    bool v4 = k->ip_version == 4;
    uint32_t off = offset, end = offset + (uint32_t)len;
    bool trimmed = false; /* counted FRAG_BAD already: one reason per fragment */
    if (more && (end & 7)) {
        DW_COUNT(c, FRAG_BAD);
        if (!v4) /* RFC 8200: parameter problem, the fragment is discarded */
            return -EINVAL;
        end &= ~7u; /* Linux keeps the 8-byte multiple of an IPv4 fragment */
        trimmed = true;
    }

    unsigned claim = dg_claim_of(d, k, off, data, len);
    defrag_key nk;
    dg_key_norm(&nk, k);
    if (end > off)
        recent_check(d, &nk, off, end, more, data, ttl, now_us, c);
    uint32_t h = dg_hash(d, &nk);
    uint32_t i = dg_lookup(d, &nk, h);
    if (i != NIL && dg_expired(d, DG(d, i), now_us)) {
        dg_release(d, i);
        DW_COUNT(c, FRAG_TIMEOUT);
        i = NIL;
    }
    if (i == NIL) {
        if (end == off) { /* would be created and discarded at once */
            if (!trimmed)
                DW_COUNT(c, FRAG_BAD);
            return -EINVAL;
        }
        i = dg_create(d, &nk, h, claim, now_us, c);
        if (i == NIL) /* everything held has a higher claim: this one gives way */
            return -ENOMEM;
    }
    dg *g = DG(d, i);
    if (claim > g->claim) {
        list_unlink(d, i);
        g->claim = (uint8_t)claim;
        list_append(d, i);
    }

    /* The end checks come first and stick even if the fragment turns out a duplicate,
     * as in ip_frag_queue(). */
    uint32_t old_len = g->len;
    bool old_last = g->last_in;
    if (!more) {
        if (end < g->len || (g->last_in && end != g->len))
            goto bad;
        g->last_in = true;
        g->len = end;
    } else if (end > g->len) {
        if (g->last_in)
            goto bad;
        g->len = end;
    }
    if (end == off)
        goto bad;

    uint32_t at;
    enum dg_place place = dg_classify(g, dg_runs(d, g), off, end, &at);
    if (place == DG_DUP) {
        uint32_t diff = dg_diff(d, g, off, data, end - off);
        if (diff == UINT32_MAX) {
            DW_COUNT(c, FRAG_DUPLICATE);
        } else {
            DW_COUNT(c, FRAG_OVERLAP);
            DW_COUNT(c, FRAG_CONFLICT);
            dg_note_conflict(d, i, off, end, diff, ttl, now_us, c);
        }
        return -EEXIST;
    }
    if (place == DG_OVERLAP) {
        DW_COUNT(c, FRAG_OVERLAP);
        dg_release(d, i);
        return -EINVAL;
    }
    if (g->nfrags == d->lim.max_fragments) {
        DW_COUNT(c, FRAG_TOO_MANY);
        dg_release(d, i);
        return -E2BIG;
    }

    /* What the fragment costs: its new blocks, and a map when the entry's inline block
     * and run no longer do. */
    uint32_t need = 0, blo = off / DEFRAG_BLOCK, bhi = (end - 1) / DEFRAG_BLOCK;
    for (uint32_t b = blo; b <= bhi; b++)
        need += dg_blk(d, g, b) == NIL;
    bool promote = g->map == NIL &&
                   (g->nfrags || blo != bhi || (g->blk0 != NIL && g->blk0_no != blo));
    size_t bytes = (size_t)need * DEFRAG_BLOCK + (promote ? d->map_bytes : 0);
    if (!dg_reserve(d, i, g->claim, bytes, c)) {
        DW_COUNT(c, FRAG_MEM_FULL);
        g->len = old_len;
        g->last_in = old_last;
        return -ENOMEM;
    }
    if ((promote && !dg_promote(d, g)) || !dg_store(d, g, off, data, end - off)) {
        DW_COUNT(c, FRAG_MEM_FULL); /* malloc failed: the datagram cannot be completed */
        dg_release(d, i);
        return -ENOMEM;
    }
    dg_run *runs = dg_runs(d, g);
    if (place == DG_APPEND) {
        runs[g->nruns - 1].end = end;
    } else {
        memmove(&runs[at + 1], &runs[at], (g->nruns - at) * sizeof *runs);
        runs[at].off = off;
        runs[at].end = end;
        g->nruns++;
    }
    if (g->map != NIL)
        dg_frecs(d, g)[g->nfrags] = (dg_frec){now_us, (uint16_t)off, (uint16_t)(end - off), ttl};
    else
        g->ttl0 = ttl;
    g->nfrags++;
    g->meat += end - off;
    if (off == 0) {
        g->first_in = true;
        g->ttl = k->ttl;
        if (!v4)
            g->proto = k->proto;
    }

    if (!g->first_in || !g->last_in || g->meat != g->len)
        return 0;
    /* No overlap is ever stored, so meat == len means every byte is here. */
    dg_load(d, g, 0, d->out, g->len);
    *out = d->out;
    *outlen = g->len;
    d->out_proto = g->proto;
    d->out_ttl = g->ttl;
    if (g->conflict) {
        d->conflict = MAP(d, g)->conflict;
        d->has_conflict = true;
    }
    /* Remembered for late conflicts, unless this very fragment also revealed one: the
     * payload handed back for that lives in the memory a new record could take. */
    if (g->claim >= DNSSRV_CLAIM_DNS && !d->has_late)
        recent_add(d, g, now_us, c);
    dg_release(d, i);
    DW_COUNT(c, FRAG_REASSEMBLED);
    return 1;

bad:
    if (!trimmed)
        DW_COUNT(c, FRAG_BAD);
    dg_release(d, i);
    return -EINVAL;
}
