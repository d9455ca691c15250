#include "rules/track.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

#define PROBE 8 /* slots looked at per key: bounds the work per packet */

typedef struct slot {
    uint64_t key;       /* 0: empty */
    uint64_t ts_us;
    bool do_bit;
} slot;

struct track {
    slot *slots;
    uint32_t mask;
    uint64_t timeout_us;
};

track *track_new(const track_limits *l)
{
    unsigned want = l && l->max_queries ? l->max_queries : 65536;
    uint32_t n = 64;
    while (n < want && n < (1u << 24))
        n <<= 1;
    track *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->slots = calloc(n, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    t->mask = n - 1;
    t->timeout_us = (uint64_t)(l && l->timeout_ms ? l->timeout_ms : 10000) * 1000u;
    return t;
}

void track_free(track *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t);
}

/* The key of an exchange, seen from the client's side: client address and port, server
 * address and port, id, and the question (name case-folded, type, class). A response
 * with a different question does not answer the query, whatever its id. */
static uint64_t exchange_key(const pkt_info *pi, const dns_msg *m, bool response)
{
    const uint8_t *client = response ? pi->dst : pi->src;
    const uint8_t *server = response ? pi->src : pi->dst;
    uint16_t cport = response ? pi->dport : pi->sport;
    uint16_t sport = response ? pi->sport : pi->dport;
    size_t alen = pi->ip_version == 6 ? 16 : 4;
    uint8_t misc[8] = {(uint8_t)(cport >> 8), (uint8_t)cport, (uint8_t)(sport >> 8),
                       (uint8_t)sport, (uint8_t)(m->id >> 8), (uint8_t)m->id, pi->proto,
                       pi->ip_version};
    uint64_t h = HASH_FNV64_OFFSET;
    h = hash_fnv64(h, client, alen);
    h = hash_fnv64(h, server, alen);
    h = hash_fnv64(h, misc, sizeof misc);
    if (m->has_question) {
        uint8_t name[DNS_NAME_MAX];
        int n = dns_msg_name_unpack(m, m->qname_off, name, NULL);
        for (int i = 0; i < n; i++)
            name[i] = (uint8_t)tolower(name[i]);
        if (n > 0)
            h = hash_fnv64(h, name, (size_t)n);
        uint8_t tc[4] = {(uint8_t)(m->qtype >> 8), (uint8_t)m->qtype, (uint8_t)(m->qclass >> 8),
                         (uint8_t)m->qclass};
        h = hash_fnv64(h, tc, sizeof tc);
    }
    return h ? h : 1;
}

void track_query(track *t, const pkt_info *pi, const dns_msg *m)
{
    uint64_t key = exchange_key(pi, m, false);
    slot *victim = NULL;
    for (unsigned i = 0; i < PROBE; i++) {
        slot *s = &t->slots[(key + i) & t->mask];
        if (s->key == key || s->key == 0 || pi->ts_us - s->ts_us > t->timeout_us) {
            victim = s;
            break;
        }
        if (!victim || s->ts_us < victim->ts_us)
            victim = s;
    }
    victim->key = key;
    victim->ts_us = pi->ts_us;
    victim->do_bit = m->has_opt && m->edns_do;
}

track_match track_response(track *t, const pkt_info *pi, const dns_msg *m)
{
    track_match r = {false, false};
    uint64_t key = exchange_key(pi, m, true);
    for (unsigned i = 0; i < PROBE; i++) {
        slot *s = &t->slots[(key + i) & t->mask];
        if (s->key != key)
            continue;
        if (pi->ts_us >= s->ts_us && pi->ts_us - s->ts_us > t->timeout_us)
            break;
        r.found = true;
        r.query_do = s->do_bit;
        break;
    }
    return r;
}
