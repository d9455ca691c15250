#include "rules/rsample.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

#define PROBE 8 /* slots looked at per resolver: bounds the work per query */

typedef struct rs_slot {
    uint8_t addr[16];
    uint8_t family;           /* 0: empty */
    uint8_t n;                /* values in the current window */
    uint64_t last_us;
    uint64_t reported_us[2];  /* last report, per violation (0: never) */
    uint32_t bad_windows[2];  /* since the last report */
    uint16_t port[RSAMPLE_WINDOW], id[RSAMPLE_WINDOW];
} rs_slot;

struct rsample {
    rs_slot *slots;
    uint32_t mask;
    uint64_t evicted;
};

rsample *rsample_new(unsigned max_resolvers)
{
    unsigned want = max_resolvers ? max_resolvers : 256;
    uint32_t n = 16;
    while (n < want && n < 65536)
        n <<= 1;
    rsample *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->slots = calloc(n, sizeof *s->slots);
    if (!s->slots) {
        free(s);
        return NULL;
    }
    s->mask = n - 1;
    return s;
}

void rsample_free(rsample *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s);
}

uint64_t rsample_evicted(const rsample *s) { return s->evicted; }

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

rsample_stat rsample_judge(const uint16_t *v, unsigned n)
{
    rsample_stat st = {0, 0, false};
    if (n == 0 || n > RSAMPLE_WINDOW)
        return st;
    uint16_t sorted[RSAMPLE_WINDOW];
    memcpy(sorted, v, n * sizeof *v);
    qsort(sorted, n, sizeof *sorted, cmp_u16);
    st.distinct = 1;
    for (unsigned i = 1; i < n; i++)
        st.distinct += sorted[i] != sorted[i - 1];
    for (unsigned i = 1; i < n; i++) {
        uint16_t step = (uint16_t)(v[i] - v[i - 1]);
        st.steps += step >= 1 && step <= RSAMPLE_MAX_STEP;
    }
    st.bad = n == RSAMPLE_WINDOW &&
             (st.distinct < RSAMPLE_MIN_DISTINCT || st.steps >= RSAMPLE_MIN_STEPS);
    return st;
}

static rs_slot *slot_of(rsample *s, int family, const uint8_t *a, uint64_t now_us)
{
    uint64_t h = hash_fnv64(HASH_FNV64_OFFSET, a, 16) ^ (uint64_t)family;
    rs_slot *victim = NULL;
    for (unsigned i = 0; i < PROBE; i++) {
        rs_slot *x = &s->slots[(h + i) & s->mask];
        if (x->family == family && memcmp(x->addr, a, 16) == 0)
            return x;
        if (x->family == 0) {
            if (!victim || victim->family != 0)
                victim = x;
            continue;
        }
        if (!victim || (victim->family != 0 && x->last_us < victim->last_us))
            victim = x;
    }
    if (victim->family != 0)
        s->evicted++;
    memset(victim, 0, sizeof *victim);
    victim->family = (uint8_t)family;
    memcpy(victim->addr, a, 16);
    (void)now_us;
    return victim;
}

/* Whether a bad verdict is reported now: once per RSAMPLE_HOLD_S per violation. */
static bool due(rs_slot *x, int k, bool bad, uint64_t now_us, uint32_t *bad_windows)
{
    if (!bad)
        return false;
    x->bad_windows[k]++;
    *bad_windows = x->bad_windows[k];
    if (x->reported_us[k] && now_us >= x->reported_us[k] &&
        now_us - x->reported_us[k] < (uint64_t)RSAMPLE_HOLD_S * 1000000u)
        return false;
    x->reported_us[k] = now_us ? now_us : 1;
    x->bad_windows[k] = 0;
    return true;
}

bool rsample_query(rsample *s, int ip_version, const uint8_t *addr, uint16_t port, uint16_t id,
                   uint64_t now_us, rsample_verdict *v)
{
    uint8_t a[16] = {0};
    memcpy(a, addr, ip_version == 6 ? 16 : 4);
    rs_slot *x = slot_of(s, ip_version == 6 ? 6 : 4, a, now_us);
    x->last_us = now_us;
    x->port[x->n] = port;
    x->id[x->n] = id;
    if (++x->n < RSAMPLE_WINDOW)
        return false;
    x->n = 0; /* windows do not overlap: one verdict per RSAMPLE_WINDOW queries */
    memset(v, 0, sizeof *v);
    v->port = rsample_judge(x->port, RSAMPLE_WINDOW);
    v->id = rsample_judge(x->id, RSAMPLE_WINDOW);
    v->report_port = due(x, 0, v->port.bad, now_us, &v->bad_windows_port);
    v->report_id = due(x, 1, v->id.bad, now_us, &v->bad_windows_id);
    memcpy(v->last_ports, x->port + RSAMPLE_WINDOW - RSAMPLE_SHOW, sizeof v->last_ports);
    memcpy(v->last_ids, x->id + RSAMPLE_WINDOW - RSAMPLE_SHOW, sizeof v->last_ids);
    return v->report_port || v->report_id;
}
