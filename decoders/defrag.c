/* IP fragment reassembly, mirroring the Linux receiver (see the policy in defrag.h).
 *
 * A datagram in flight keeps its fragment data in fixed-size blocks placed by offset
 * (a 128-entry block map covers 64 KiB) and the list of "runs" Linux keeps: ranges of
 * fragments that arrived in order, each appended right after the previous. Duplicate and
 * overlap decisions are taken against runs exactly as inet_frag_queue_insert() does.
 * Datagram records and blocks are allocated on first need, never freed before
 * defrag_free(), and recycled through free lists. */
#include "decoders/defrag.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define DG_MAXLEN 65535u
#define DG_NBLK ((DG_MAXLEN + DEFRAG_BLOCK - 1) / DEFRAG_BLOCK)
#define DG_MAXFRAGS (DG_MAXLEN / 8 + 1) /* more non-overlapping fragments cannot exist */
#define NIL UINT32_MAX

typedef struct dg_run {
    uint32_t off, end;
} dg_run;

typedef struct dg {
    defrag_key key;      /* normalised: unused address bytes and IPv6 proto zero */
    uint64_t created_us; /* the timeout runs from the first fragment, as in Linux */
    uint32_t hnext;      /* hash chain */
    uint32_t older, newer;
    uint32_t len;  /* end of the datagram as known so far */
    uint32_t meat; /* payload bytes received */
    uint32_t nfrags, nruns;
    uint32_t blk_hi; /* 1 + the highest block map entry in use */
    bool first_in, last_in;
    uint8_t proto;
    uint32_t blk[DG_NBLK]; /* block index per DEFRAG_BLOCK of payload, or NIL */
    dg_run runs[];         /* sorted by offset, max_fragments of them */
} dg;

struct defrag {
    defrag_limits lim;
    uint64_t timeout_us;
    uint64_t seed;
    uint32_t nbuckets; /* power of two */
    uint32_t *bucket;
    dg **slot; /* max_datagrams, allocated on first need */
    uint32_t nslots;
    uint32_t *free_slot;
    uint32_t nfree_slot;
    uint32_t count;
    uint32_t oldest, newest;
    uint8_t **blk; /* max_blocks, allocated on first need */
    uint32_t max_blocks, nblk;
    uint32_t *free_blk;
    uint32_t nfree_blk;
    uint8_t *out;
    uint8_t out_proto;
};

void defrag_limits_default(defrag_limits *l)
{
    if (!l->max_datagrams)
        l->max_datagrams = 1024;
    if (!l->max_fragments)
        l->max_fragments = 64;
    if (!l->max_bytes)
        l->max_bytes = 16u << 20;
    if (!l->timeout_ms)
        l->timeout_ms = 30000;
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

defrag *defrag_new(const defrag_limits *l)
{
    defrag *d = calloc(1, sizeof *d), *ret = NULL;
    if (!d)
        goto out;
    d->lim = *l;
    defrag_limits_default(&d->lim);
    if (d->lim.max_fragments > DG_MAXFRAGS)
        d->lim.max_fragments = DG_MAXFRAGS;
    if (d->lim.max_datagrams > UINT32_MAX / 2)
        d->lim.max_datagrams = UINT32_MAX / 2;
    d->timeout_us = (uint64_t)d->lim.timeout_ms * 1000;
    size_t mb = d->lim.max_bytes / DEFRAG_BLOCK;
    d->max_blocks = mb > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)mb;
    d->nbuckets = 16;
    while (d->nbuckets < d->lim.max_datagrams)
        d->nbuckets <<= 1;
    d->oldest = d->newest = NIL;
    if (getrandom(&d->seed, sizeof d->seed, GRND_NONBLOCK) != (ssize_t)sizeof d->seed)
        d->seed = dg_mix((uint64_t)(uintptr_t)d ^ (uint64_t)time(NULL));

    d->bucket = malloc(d->nbuckets * sizeof *d->bucket);
    d->slot = calloc(d->lim.max_datagrams, sizeof *d->slot);
    d->free_slot = malloc(d->lim.max_datagrams * sizeof *d->free_slot);
    d->blk = calloc(d->max_blocks ? d->max_blocks : 1, sizeof *d->blk);
    d->free_blk = malloc((d->max_blocks ? d->max_blocks : 1) * sizeof *d->free_blk);
    d->out = malloc(DG_MAXLEN);
    if (!d->bucket || !d->slot || !d->free_slot || !d->blk || !d->free_blk || !d->out)
        goto out;
    memset(d->bucket, 0xff, d->nbuckets * sizeof *d->bucket);
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
    if (d->slot)
        for (uint32_t i = 0; i < d->nslots; i++)
            free(d->slot[i]);
    if (d->blk)
        for (uint32_t i = 0; i < d->nblk; i++)
            free(d->blk[i]);
    free(d->bucket);
    free(d->slot);
    free(d->free_slot);
    free(d->blk);
    free(d->free_blk);
    free(d->out);
    free(d);
}

size_t defrag_bytes_held(const defrag *d)
{
    return (size_t)(d->nblk - d->nfree_blk) * DEFRAG_BLOCK;
}

uint8_t defrag_proto(const defrag *d) { return d->out_proto; }

static void dg_release(defrag *d, uint32_t i)
{
    dg *g = d->slot[i];
    uint32_t *pp = &d->bucket[dg_hash(d, &g->key)];
    while (*pp != i)
        pp = &d->slot[*pp]->hnext;
    *pp = g->hnext;
    if (g->older != NIL)
        d->slot[g->older]->newer = g->newer;
    else
        d->oldest = g->newer;
    if (g->newer != NIL)
        d->slot[g->newer]->older = g->older;
    else
        d->newest = g->older;
    for (uint32_t b = 0; b < g->blk_hi; b++)
        if (g->blk[b] != NIL) {
            d->free_blk[d->nfree_blk++] = g->blk[b];
            g->blk[b] = NIL;
        }
    d->free_slot[d->nfree_slot++] = i;
    d->count--;
}

static bool dg_expired(const defrag *d, const dg *g, uint64_t now_us)
{
    return now_us >= g->created_us && now_us - g->created_us >= d->timeout_us;
}

void defrag_expire(defrag *d, uint64_t now_us, dw_counters *c)
{
    /* Creation order: the first one still alive ends the walk. Time going backwards in
     * a capture only delays expiry; the lookup checks again. */
    while (d->oldest != NIL && dg_expired(d, d->slot[d->oldest], now_us)) {
        dg_release(d, d->oldest);
        DW_COUNT(c, FRAG_TIMEOUT);
    }
}

static uint32_t dg_lookup(const defrag *d, const defrag_key *k, uint32_t h)
{
    for (uint32_t i = d->bucket[h]; i != NIL; i = d->slot[i]->hnext)
        if (dg_key_eq(&d->slot[i]->key, k))
            return i;
    return NIL;
}

static uint32_t dg_create(defrag *d, const defrag_key *k, uint32_t h, uint64_t now_us,
                          dw_counters *c)
{
    if (d->count == d->lim.max_datagrams) {
        dg_release(d, d->oldest);
        DW_COUNT(c, FRAG_TABLE_FULL);
    }
    uint32_t i;
    if (d->nfree_slot) {
        i = d->free_slot[--d->nfree_slot];
    } else {
        dg *g = malloc(sizeof *g + d->lim.max_fragments * sizeof(dg_run));
        if (!g)
            return NIL;
        memset(g->blk, 0xff, sizeof g->blk);
        i = d->nslots;
        d->slot[d->nslots++] = g;
    }
    dg *g = d->slot[i];
    g->key = *k;
    g->created_us = now_us;
    g->len = g->meat = g->nfrags = g->nruns = g->blk_hi = 0;
    g->first_in = g->last_in = false;
    g->proto = k->proto;
    g->hnext = d->bucket[h];
    d->bucket[h] = i;
    g->older = d->newest;
    g->newer = NIL;
    if (d->newest != NIL)
        d->slot[d->newest]->newer = i;
    else
        d->oldest = i;
    d->newest = i;
    d->count++;
    return i;
}

/* Makes `need` blocks available, evicting the oldest other datagrams if memory is full. */
static bool dg_reserve(defrag *d, uint32_t keep, uint32_t need, dw_counters *c)
{
    while ((d->max_blocks - d->nblk) + d->nfree_blk < need) {
        uint32_t v = d->oldest;
        if (v == keep)
            v = d->slot[v]->newer;
        if (v == NIL)
            return false;
        dg_release(d, v);
        DW_COUNT(c, FRAG_MEM_FULL);
    }
    return true;
}

static bool dg_store(defrag *d, dg *g, uint32_t off, const uint8_t *data, uint32_t len)
{
    while (len) {
        uint32_t b = off / DEFRAG_BLOCK, in = off % DEFRAG_BLOCK;
        if (g->blk[b] == NIL) {
            if (d->nfree_blk) {
                g->blk[b] = d->free_blk[--d->nfree_blk];
            } else {
                uint8_t *p = malloc(DEFRAG_BLOCK);
                if (!p)
                    return false;
                d->blk[d->nblk] = p;
                g->blk[b] = d->nblk++;
            }
            if (b >= g->blk_hi)
                g->blk_hi = b + 1;
        }
        uint32_t n = DEFRAG_BLOCK - in < len ? DEFRAG_BLOCK - in : len;
        memcpy(d->blk[g->blk[b]] + in, data, n);
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
        memcpy(dst, d->blk[g->blk[b]] + in, n);
        off += n;
        dst += n;
        len -= n;
    }
}

static bool dg_same(const defrag *d, const dg *g, uint32_t off, const uint8_t *data,
                    uint32_t len)
{
    uint8_t tmp[DEFRAG_BLOCK];
    while (len) {
        uint32_t n = len < sizeof tmp ? len : (uint32_t)sizeof tmp;
        dg_load(d, g, off, tmp, n);
        if (memcmp(tmp, data, n) != 0)
            return false;
        off += n;
        data += n;
        len -= n;
    }
    return true;
}

enum dg_place { DG_APPEND, DG_INSERT, DG_DUP, DG_OVERLAP };

/* Where [off, end) goes among the runs; *at is the insertion index for DG_INSERT. */
static enum dg_place dg_classify(const dg *g, uint32_t off, uint32_t end, uint32_t *at)
{
    *at = g->nruns;
    if (g->nruns == 0)
        return DG_INSERT;
    const dg_run *last = &g->runs[g->nruns - 1];
    if (last->end < end) { /* the common case: past everything held */
        if (off < last->end)
            return DG_OVERLAP;
        return off == last->end ? DG_APPEND : DG_INSERT;
    }
    for (uint32_t j = 0; j < g->nruns; j++) {
        const dg_run *r = &g->runs[j];
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

int defrag_add(defrag *d, const defrag_key *k, uint32_t offset, int more, const uint8_t *data,
               size_t len, uint64_t now_us, const uint8_t **out, size_t *outlen, dw_counters *c)
{
    DW_COUNT(c, FRAG_SEEN);
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

    defrag_key nk;
    dg_key_norm(&nk, k);
    uint32_t h = dg_hash(d, &nk);
    uint32_t i = dg_lookup(d, &nk, h);
    if (i != NIL && dg_expired(d, d->slot[i], now_us)) {
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
        i = dg_create(d, &nk, h, now_us, c);
        if (i == NIL) {
            DW_COUNT(c, FRAG_MEM_FULL);
            return -ENOMEM;
        }
    }
    dg *g = d->slot[i];

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
    enum dg_place place = dg_classify(g, off, end, &at);
    if (place == DG_DUP) {
        if (dg_same(d, g, off, data, end - off)) {
            DW_COUNT(c, FRAG_DUPLICATE);
        } else {
            DW_COUNT(c, FRAG_OVERLAP);
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

    uint32_t need = 0;
    for (uint32_t b = off / DEFRAG_BLOCK; b <= (end - 1) / DEFRAG_BLOCK; b++)
        need += g->blk[b] == NIL;
    if (!dg_reserve(d, i, need, c) || !dg_store(d, g, off, data, end - off)) {
        DW_COUNT(c, FRAG_MEM_FULL);
        g->len = old_len;
        g->last_in = old_last;
        return -ENOMEM;
    }
    if (place == DG_APPEND) {
        g->runs[g->nruns - 1].end = end;
    } else {
        memmove(&g->runs[at + 1], &g->runs[at], (g->nruns - at) * sizeof *g->runs);
        g->runs[at].off = off;
        g->runs[at].end = end;
        g->nruns++;
    }
    g->nfrags++;
    g->meat += end - off;
    if (off == 0) {
        g->first_in = true;
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
    dg_release(d, i);
    DW_COUNT(c, FRAG_REASSEMBLED);
    return 1;

bad:
    if (!trimmed)
        DW_COUNT(c, FRAG_BAD);
    dg_release(d, i);
    return -EINVAL;
}
