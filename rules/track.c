#include "rules/track.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "rules/ruleset.h"
#include "rules/violation.h"

#define PROBE 8 /* slots looked at per key: bounds the work per packet */

#define EX_DO 0x01        /* the query had EDNS with DO */
#define EX_ANSWERED 0x02  /* a response matched: digest, r_* are the first one's */
#define EX_CONFLICT 0x04  /* a conflict was reported already */

/* An outstanding (or answered) exchange. The key is a hash of the whole exchange key;
 * id and the ports are kept besides, so that a hash collision must also match them. */
typedef struct exch {
    uint64_t key;         /* 0: empty */
    uint64_t q_us;        /* the query */
    uint64_t digest;      /* the first response's answer set and rcode */
    uint32_t r_delta_us;  /* the first response's arrival after the query (saturated) */
    uint32_t pair;        /* pair slot + 1, 0: none */
    uint32_t pair_tag;    /* low bits of that pair's key: tells a slot reused since */
    uint16_t id, cport, sport;
    uint8_t r_ttl, r_rcode, r_family, flags;
    uint8_t r_addr[16];
    uint16_t r_answers;
    uint8_t pad[2];
} exch;
_Static_assert(sizeof(exch) <= TRACK_EXCHANGE_BYTES, "TRACK_EXCHANGE_BYTES must cover an exchange");

/* What the sensor knows of one client's traffic with one server. */
typedef struct pair {
    uint64_t key;            /* 0: empty */
    uint64_t last_query_us;  /* the last query from the client to the server */
    uint64_t open_until_us;  /* the last query's timeout */
    uint64_t evict_us;       /* an unanswered exchange of the pair was evicted (state lost) */
    uint64_t blind_start_us; /* the blind-flood rate window */
    uint32_t open;           /* queries outstanding (until open_until_us) */
    uint32_t misses;         /* near misses since the pair last had none outstanding */
    uint32_t blind;          /* unmatched watched responses in the rate window */
    uint32_t pad;
} pair;
_Static_assert(sizeof(pair) <= TRACK_PAIR_BYTES, "TRACK_PAIR_BYTES must cover a pair");

typedef struct incident {
    bool used;
    uint32_t rule;
    uint64_t pair_key;
    uint32_t violations;
    uint64_t first_us, last_us, loss_open;
    uint64_t responses, near_misses, blind, unsolicited;
    uint32_t n_ids, n_ports;
    unsigned n_samples;
    track_response_info sample[TRACK_SAMPLES];
    pkt_info pi;
    size_t msg_len;
    uint8_t msg[TRACK_MSG_MAX];
    char rule_id[RULE_ID_COPY_MAX];
    uint64_t ids[65536 / 64], ports[65536 / 64]; /* distinct ids and client ports seen */
} incident;

struct track {
    track_limits lim;
    uint64_t timeout_us, seen_us, blind_us, window_us;
    exch *ex;
    uint32_t ex_mask;
    pair *pairs;
    uint32_t pair_mask;
    incident *inc;
    unsigned n_inc;
    dw_counters *c;
    uint64_t seed;
    uint64_t loss_seen;      /* the loss counter as last read */
    uint64_t loss_change_us; /* packet time it was seen to grow, 0: never */
};

#define COUNT(t, name)                                                                     \
    do {                                                                                   \
        if ((t)->c)                                                                        \
            DW_COUNT((t)->c, name);                                                        \
    } while (0)

static uint32_t pow2(unsigned want, uint32_t floor, uint32_t cap)
{
    uint32_t n = floor;
    while (n < want && n < cap)
        n <<= 1;
    return n;
}

track *track_new(const track_limits *l)
{
    track *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (l)
        t->lim = *l;
    track_limits *m = &t->lim;
    if (!m->max_queries)
        m->max_queries = 65536;
    if (!m->timeout_ms)
        m->timeout_ms = 10000;
    if (!m->max_pairs)
        m->max_pairs = 16384;
    if (!m->near_miss)
        m->near_miss = 5;
    if (!m->blind_count)
        m->blind_count = 20;
    if (!m->blind_window_ms)
        m->blind_window_ms = 2000;
    if (!m->seen_s)
        m->seen_s = 60;
    if (!m->window_s)
        m->window_s = 10;
    if (!m->max_incidents)
        m->max_incidents = 64;
    uint32_t nx = pow2(m->max_queries, 64, 1u << 24), np = pow2(m->max_pairs, 64, 1u << 22);
    m->max_queries = nx;
    m->max_pairs = np;
    t->ex = calloc(nx, sizeof *t->ex);
    t->pairs = calloc(np, sizeof *t->pairs);
    t->inc = calloc(m->max_incidents, sizeof *t->inc);
    if (!t->ex || !t->pairs || !t->inc) {
        track_free(t);
        return NULL;
    }
    t->ex_mask = nx - 1;
    t->pair_mask = np - 1;
    t->timeout_us = (uint64_t)m->timeout_ms * 1000u;
    t->seen_us = (uint64_t)m->seen_s * 1000000u;
    t->blind_us = (uint64_t)m->blind_window_ms * 1000u;
    t->window_us = (uint64_t)m->window_s * 1000000u;
    /* Fixed, so that runs are reproducible; the tables bound their probes, so colliding
     * keys cost an attacker entries, never unbounded work. */
    t->seed = 0x9e3779b97f4a7c15ull;
    return t;
}

void track_free(track *t)
{
    if (!t)
        return;
    free(t->ex);
    free(t->pairs);
    free(t->inc);
    free(t);
}

void track_set_counters(track *t, dw_counters *c) { t->c = c; }


/* ---- keys ------------------------------------------------------------------------- */

typedef struct side {
    const uint8_t *client, *server;
    uint16_t cport, sport;
} side;

static side side_of(const pkt_info *pi, bool response)
{
    side s = {response ? pi->dst : pi->src, response ? pi->src : pi->dst,
              response ? pi->dport : pi->sport, response ? pi->sport : pi->dport};
    return s;
}

/* Keys are hashed eight bytes at a time (every query and response is keyed twice: FNV's
 * byte loop was most of tracking's cost). */
static uint64_t mix_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    uint64_t w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = hash_mix64(h ^ w);
    }
    if (n) {
        w = 0;
        memcpy(&w, p, n);
        h = hash_mix64(h ^ w ^ (uint64_t)n << 59);
    }
    return h;
}

static uint64_t pair_key(const track *t, const pkt_info *pi, const side *s)
{
    uint8_t k[33];
    size_t alen = pi->ip_version == 6 ? 16 : 4;
    k[0] = pi->ip_version;
    memcpy(k + 1, s->client, alen);
    memcpy(k + 1 + alen, s->server, alen);
    uint64_t h = mix_bytes(t->seed, k, 1 + 2 * alen);
    return h ? h : 1;
}

/* The exchange key: the addresses, the ports, transport, id and the question with the
 * name as sent (case-exact), hashed in one pass. 0 when the message has no usable
 * question. */
static uint64_t exchange_key(const track *t, const dns_msg *m, const pkt_info *pi, const side *s)
{
    uint8_t name[DNS_NAME_MAX];
    const uint8_t *qn = name;
    int n;
    if (!m->has_question)
        return 0;
    if (m->qname_wlen > 0 && m->qname_wlen <= DNS_NAME_MAX &&
        (size_t)m->qname_off + m->qname_wlen <= m->len) {
        qn = m->buf + m->qname_off; /* stored uncompressed, validated by dns_parse */
        n = m->qname_wlen;
    } else if ((n = dns_msg_name_unpack(m, m->qname_off, name, NULL)) <= 0) {
        return 0;
    }
    uint8_t k[48 + DNS_NAME_MAX];
    size_t alen = pi->ip_version == 6 ? 16 : 4, at = 0;
    k[at++] = pi->ip_version;
    memcpy(k + at, s->client, alen);
    memcpy(k + at + alen, s->server, alen);
    at += 2 * alen;
    uint8_t misc[11] = {(uint8_t)(s->cport >> 8), (uint8_t)s->cport, (uint8_t)(s->sport >> 8),
                        (uint8_t)s->sport,       (uint8_t)(m->id >> 8), (uint8_t)m->id,
                        pi->proto,               (uint8_t)(m->qtype >> 8), (uint8_t)m->qtype,
                        (uint8_t)(m->qclass >> 8), (uint8_t)m->qclass};
    memcpy(k + at, misc, sizeof misc);
    at += sizeof misc;
    memcpy(k + at, qn, (size_t)n);
    uint64_t h = mix_bytes(t->seed ^ 0x5bd1e995u, k, at + (size_t)n);
    return h ? h : 1;
}

/* ---- pairs ------------------------------------------------------------------------ */

static pair *pair_find(track *t, uint64_t key, uint32_t *idx)
{
    for (unsigned i = 0; i < PROBE; i++) {
        uint32_t k = (uint32_t)(key + i) & t->pair_mask;
        if (t->pairs[k].key == key) {
            *idx = k + 1;
            return &t->pairs[k];
        }
    }
    return NULL;
}

/* Finds or makes the pair of a query: an empty slot, else the one whose client asked
 * least recently (counted: its history is lost). */
static pair *pair_take(track *t, uint64_t key, uint32_t *idx)
{
    pair *p = pair_find(t, key, idx), *victim = NULL;
    uint32_t vk = 0;
    if (p)
        return p;
    for (unsigned i = 0; i < PROBE; i++) {
        uint32_t k = (uint32_t)(key + i) & t->pair_mask;
        pair *s = &t->pairs[k];
        if (s->key == 0) {
            victim = s;
            vk = k;
            break;
        }
        if (!victim || s->last_query_us < victim->last_query_us) {
            victim = s;
            vk = k;
        }
    }
    if (victim->key)
        COUNT(t, TRACK_PAIRS_EVICTED);
    memset(victim, 0, sizeof *victim);
    victim->key = key;
    *idx = vk + 1;
    return victim;
}

/* The pair an exchange belongs to, if its slot still holds it. */
static pair *pair_of(track *t, const exch *e)
{
    if (!e->pair || e->pair - 1 > t->pair_mask)
        return NULL;
    pair *p = &t->pairs[e->pair - 1];
    return (uint32_t)p->key == e->pair_tag ? p : NULL;
}

static bool outstanding(const pair *p, uint64_t now)
{
    return p->open > 0 && now < p->open_until_us;
}

/* ---- queries ---------------------------------------------------------------------- */

void track_query(track *t, const pkt_info *pi, const dns_msg *m)
{
    side s = side_of(pi, false);
    uint64_t key = exchange_key(t, m, pi, &s);
    if (!key)
        return;
    uint64_t pk = pair_key(t, pi, &s);
    uint64_t now = pi->ts_us;

    uint32_t pidx;
    pair *p = pair_take(t, pk, &pidx);
    if (!outstanding(p, now)) { /* a new query life for near misses */
        p->open = 0;
        p->misses = 0;
    }

    exch *victim = NULL;
    for (unsigned i = 0; i < PROBE; i++) {
        exch *e = &t->ex[(key + i) & t->ex_mask];
        if (e->key == key && e->id == m->id && e->cport == s.cport) {
            victim = e; /* the same query again (a retransmission): a new life */
            break;
        }
        if (e->key == 0) {
            victim = e;
            break;
        }
        /* Oldest first, but an answered exchange before an unanswered one of the same
         * age class: answered ones are kept only to see a conflicting second answer. */
        if (!victim)
            victim = e;
        else if ((e->flags & EX_ANSWERED) != (victim->flags & EX_ANSWERED))
            victim = (e->flags & EX_ANSWERED) ? e : victim;
        else if (e->q_us < victim->q_us)
            victim = e;
    }
    if (victim->key && !(victim->flags & EX_ANSWERED)) {
        pair *vp = pair_of(t, victim);
        if (vp && vp->open)
            vp->open--;
        if (victim->key != key && now - victim->q_us < t->seen_us) {
            COUNT(t, TRACK_QUERIES_EVICTED);
            if (vp)
                vp->evict_us = now;
        }
    }
    memset(victim, 0, sizeof *victim);
    victim->key = key;
    victim->q_us = now;
    victim->pair = pidx;
    victim->pair_tag = (uint32_t)pk;
    victim->id = m->id;
    victim->cport = s.cport;
    victim->sport = s.sport;
    victim->flags = m->has_opt && m->edns_do ? EX_DO : 0;

    p->open++;
    p->last_query_us = now;
    p->open_until_us = now + t->timeout_us;
}

/* ---- responses -------------------------------------------------------------------- */

static unsigned char fold(uint8_t c) { return (unsigned char)((unsigned)c - 'A' < 26u ? c + 32 : c); }

static bool name_rdata(uint16_t type)
{
    return type == DNS_T_CNAME || type == DNS_T_DNAME || type == DNS_T_NS || type == DNS_T_PTR;
}

/* A name's hash, ASCII case folded (the digest's view of an owner or a name in rdata). */
static uint64_t name_hash(const track *t, uint8_t *name, int n)
{
    for (int k = 0; k < n; k++)
        name[k] = fold(name[k]);
    return mix_bytes(t->seed ^ 0x6e616d65u, name, (size_t)n);
}

/* The answer set and rcode, independent of record order and TTLs (a cache answers the
 * same set with lower TTLs) and of name case and compression. An owner that is the
 * question (most point at it) counts as one fixed value: every response of one exchange
 * has the same question bytes (the key is case-exact), so nothing of it is hashed. */
#define OWNER_IS_QUESTION 0x7175657374696f6eull
static uint64_t answer_digest(const track *t, const dns_msg *m)
{
    uint64_t sum = 0;
    uint8_t name[DNS_NAME_MAX], q[DNS_NAME_MAX];
    int qn = -1; /* the question's wire form, fetched when an owner must be compared */
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->section != DNS_SEC_ANSWER)
            continue;
        uint64_t h = hash_mix64(t->seed ^ ((uint64_t)rr->type << 16 | rr->rclass)), ho = 0;
        int n;
        if (m->has_question && dns_rr_owner_is_question(m, rr)) {
            ho = OWNER_IS_QUESTION;
        } else if ((n = dns_msg_name_unpack(m, rr->name_off, name, NULL)) > 0) {
            if (qn < 0)
                qn = m->has_question ? dns_msg_name_unpack(m, m->qname_off, q, NULL) : 0;
            ho = qn > 0 && dns_wirename_eq(name, q) ? OWNER_IS_QUESTION : name_hash(t, name, n);
        }
        h = hash_mix64(h ^ ho);
        if (name_rdata(rr->type) && (n = dns_msg_name_unpack(m, rr->rdata_off, name, NULL)) > 0)
            h = hash_mix64(h ^ name_hash(t, name, n) ^ 1);
        else if ((size_t)rr->rdata_off + rr->rdlen <= m->len)
            h = mix_bytes(h ^ 2, m->buf + rr->rdata_off, rr->rdlen);
        sum += h;
    }
    return hash_mix64(sum ^ ((uint64_t)m->rcode << 48 | m->n_an));
}

static void response_info(const pkt_info *pi, const dns_msg *m, track_response_info *r)
{
    memset(r, 0, sizeof *r);
    r->ts_us = pi->ts_us;
    r->id = m->id;
    r->client_port = pi->dport;
    r->server_port = pi->sport;
    r->ip_ttl = pi->ip_ttl;
    r->rcode = (uint8_t)DNS_RCODE(m->flags);
    r->n_answers = m->n_an;
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        int n;
        if (rr->section == DNS_SEC_ANSWER && (n = dns_rr_addr(m, rr, r->addr)) > 0) {
            r->family = n == 16 ? 6 : 4;
            break;
        }
    }
}

static void note_loss(track *t, uint64_t now)
{
    if (!t->lim.loss)
        return;
    uint64_t l = __atomic_load_n(t->lim.loss, __ATOMIC_RELAXED);
    if (l != t->loss_seen) {
        t->loss_seen = l;
        t->loss_change_us = now ? now : 1;
    }
}

static track_match answered(track *t, exch *e, const pkt_info *pi, const dns_msg *m)
{
    track_match r;
    memset(&r, 0, sizeof r);
    r.found = true;
    r.query_do = (e->flags & EX_DO) != 0;
    uint64_t now = pi->ts_us;
    uint64_t d = answer_digest(t, m);
    if (!(e->flags & EX_ANSWERED)) {
        bool late = now >= e->q_us && now - e->q_us > t->timeout_us;
        r.kind = late ? TRACK_LATE : TRACK_ANSWER;
        if (late)
            COUNT(t, TRACK_LATE);
        pair *p = pair_of(t, e);
        if (p && p->open)
            p->open--;
        track_response_info ri;
        response_info(pi, m, &ri);
        e->flags |= EX_ANSWERED;
        e->digest = d;
        uint64_t delta = now >= e->q_us ? now - e->q_us : 0;
        e->r_delta_us = delta > UINT32_MAX ? UINT32_MAX : (uint32_t)delta;
        e->r_ttl = ri.ip_ttl;
        e->r_rcode = ri.rcode;
        e->r_family = (uint8_t)ri.family;
        memcpy(e->r_addr, ri.addr, sizeof e->r_addr);
        e->r_answers = ri.n_answers;
        return r;
    }
    if (d == e->digest) {
        r.kind = TRACK_RETRANSMIT;
        COUNT(t, TRACK_RETRANSMITS);
        return r;
    }
    r.kind = TRACK_CONFLICT;
    COUNT(t, TRACK_CONFLICTS);
    r.conflict_new = !(e->flags & EX_CONFLICT);
    e->flags |= EX_CONFLICT;
    r.query_us = e->q_us;
    track_response_info *f = &r.first;
    f->ts_us = e->q_us + e->r_delta_us;
    f->id = e->id;
    f->client_port = e->cport;
    f->server_port = e->sport;
    f->ip_ttl = e->r_ttl;
    f->rcode = e->r_rcode;
    f->n_answers = e->r_answers;
    f->family = e->r_family;
    memcpy(f->addr, e->r_addr, sizeof f->addr);
    response_info(pi, m, &r.second);
    return r;
}

track_match track_response(track *t, const pkt_info *pi, const dns_msg *m)
{
    track_match r;
    side s = side_of(pi, true);
    uint64_t key = exchange_key(t, m, pi, &s);
    if (!key) {
        memset(&r, 0, sizeof r);
        return r;
    }
    note_loss(t, pi->ts_us);
    for (unsigned i = 0; i < PROBE; i++) {
        exch *e = &t->ex[(key + i) & t->ex_mask];
        if (e->key == key && e->id == m->id && e->cport == s.cport && e->sport == s.sport)
            return answered(t, e, pi, m);
    }
    memset(&r, 0, sizeof r);
    r.kind = TRACK_UNMATCHED;
    r.pair_key = pair_key(t, pi, &s);
    return r;
}

void track_unmatched(track *t, track_match *tm, const pkt_info *pi, bool watched)
{
    track_match r = *tm;
    uint64_t now = pi->ts_us;
    if (tm->kind != TRACK_UNMATCHED || tm->pair)
        return;
    COUNT(t, TRACK_UNMATCHED);
    uint32_t pidx;
    pair *p = pair_find(t, tm->pair_key, &pidx);
    if (!p || now < p->last_query_us || now - p->last_query_us > t->seen_us)
        return; /* the client's queries to this server are not seen (a one-way span) */
    r.pair = pidx;
    if (outstanding(p, now)) {
        r.near_miss = true;
        COUNT(t, TRACK_NEAR_MISSES);
        r.prior_near = p->misses;
        if (++p->misses >= t->lim.near_miss)
            r.violations |= DW_V_TXID_MISMATCH_FLOOD;
    }
    if (!watched) {
        *tm = r;
        return;
    }
    if (now < p->blind_start_us || now - p->blind_start_us >= t->blind_us) {
        p->blind_start_us = now;
        p->blind = 0;
    }
    r.prior_blind = p->blind;
    if (++p->blind >= t->lim.blind_count)
        r.violations |= DW_V_TXID_MISMATCH_FLOOD;
    if (!r.near_miss) {
        /* An exchange of the pair evicted lately may be what this answers. */
        if (p->evict_us && now >= p->evict_us && now - p->evict_us < t->seen_us)
            COUNT(t, TRACK_STATE_LOST);
        else
            r.violations |= DW_V_UNSOLICITED_RESPONSE;
    }
    *tm = r;
}

/* ---- incidents -------------------------------------------------------------------- */

static bool bit_set(uint64_t *bits, uint16_t v)
{
    uint64_t m = 1ull << (v & 63);
    bool was = (bits[v >> 6] & m) != 0;
    bits[v >> 6] |= m;
    return !was;
}

void track_note(track *t, const track_match *tm, uint32_t rule, const char *rule_id,
                const pkt_info *pi, const dns_msg *m)
{
    if (tm->kind != TRACK_UNMATCHED || !tm->pair)
        return;
    const pair *p = &t->pairs[tm->pair - 1];
    incident *x = NULL, *free_slot = NULL;
    for (unsigned i = 0; i < t->lim.max_incidents; i++) {
        incident *c = &t->inc[i];
        if (!c->used) {
            if (!free_slot)
                free_slot = c;
            continue;
        }
        if (c->pair_key == p->key && c->rule == rule && pi->ts_us < c->first_us + t->window_us) {
            x = c;
            break;
        }
    }
    if (!x) {
        if (!tm->violations)
            return; /* below every threshold, and no incident open */
        if (!free_slot) {
            COUNT(t, TRACK_INCIDENTS_FULL);
            return;
        }
        x = free_slot;
        memset(x, 0, offsetof(incident, ids));
        memset(x->ids, 0, sizeof x->ids);
        memset(x->ports, 0, sizeof x->ports);
        x->used = true;
        x->rule = rule;
        x->pair_key = p->key;
        x->first_us = pi->ts_us;
        x->loss_open = t->loss_seen;
        size_t n = strnlen(rule_id, sizeof x->rule_id - 1);
        memcpy(x->rule_id, rule_id, n);
        x->rule_id[n] = '\0';
        x->pi = *pi;
        x->pi.payload = NULL;
        x->pi.payload_len = 0;
        x->msg_len = m->len <= sizeof x->msg ? m->len : 0;
        memcpy(x->msg, m->buf, x->msg_len);
        t->n_inc++;
        /* What the pair counted before the threshold was reached belongs to the flood. */
        x->near_misses = tm->prior_near;
        x->blind = tm->prior_blind > tm->prior_near ? tm->prior_blind - tm->prior_near : 0;
        x->responses = x->near_misses + x->blind;
    }
    x->violations |= tm->violations;
    x->last_us = pi->ts_us;
    x->responses++;
    x->near_misses += tm->near_miss;
    x->blind += !tm->near_miss;
    x->unsolicited += (tm->violations & DW_V_UNSOLICITED_RESPONSE) != 0;
    x->n_ids += bit_set(x->ids, m->id);
    x->n_ports += bit_set(x->ports, pi->dport);
    if (x->n_samples < TRACK_SAMPLES)
        response_info(pi, m, &x->sample[x->n_samples++]);
}

static void report(track *t, incident *x, void (*fn)(void *ctx, const track_report *r), void *ctx)
{
    track_report r;
    memset(&r, 0, sizeof r);
    r.rule = x->rule;
    r.rule_id = x->rule_id;
    r.violations = x->violations;
    r.first_us = x->first_us;
    r.last_us = x->last_us;
    r.window_us = t->window_us;
    r.responses = x->responses;
    r.near_misses = x->near_misses;
    r.blind = x->blind;
    r.unsolicited = x->unsolicited;
    r.distinct_ids = x->n_ids;
    r.distinct_ports = x->n_ports;
    r.n_samples = x->n_samples;
    memcpy(r.sample, x->sample, sizeof r.sample);
    r.loss = t->loss_seen - x->loss_open;
    /* Loss during the window, or just before it (the rate window it was counted in). */
    r.held_back = t->loss_change_us && t->loss_change_us + t->blind_us >= x->first_us;
    if (r.held_back)
        COUNT(t, TRACK_HELD_BACK);
    r.pi = x->pi;
    r.msg = x->msg;
    r.msg_len = x->msg_len;
    x->used = false;
    t->n_inc--;
    if (fn)
        fn(ctx, &r);
}

void track_expire(track *t, uint64_t now_us, void (*fn)(void *ctx, const track_report *r),
                  void *ctx)
{
    if (!t->n_inc)
        return;
    note_loss(t, now_us == UINT64_MAX ? 0 : now_us);
    for (;;) {
        incident *oldest = NULL;
        for (unsigned i = 0; i < t->lim.max_incidents; i++) {
            incident *x = &t->inc[i];
            if (x->used && (now_us == UINT64_MAX || now_us >= x->first_us + t->window_us) &&
                (!oldest || x->first_us < oldest->first_us))
                oldest = x;
        }
        if (!oldest)
            return;
        report(t, oldest, fn, ctx);
    }
}
