#include "sensor/suppress.h"

#include <stdlib.h>
#include <string.h>

#include "rules/ruleset.h"
#include "common/hash.h"

typedef struct entry {
    uint64_t key;        /* 0: free */
    uint64_t first_us, last_us;
    uint32_t folded;
    uint32_t violations;
    uint8_t severity;
    char rule_id[RULE_ID_COPY_MAX];
    char reason[512];
    suppress_note note;
} entry;

struct suppress {
    entry *e;
    entry *last;
    unsigned n;
    uint64_t window_us;
};

uint64_t suppress_hash(uint64_t h, const void *data, size_t len)
{
    return hash_fnv64(h ? h : HASH_FNV64_OFFSET, data, len);
}

suppress *suppress_new(unsigned max_entries, unsigned window_ms)
{
    suppress *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n = max_entries ? max_entries : 1;
    s->window_us = (uint64_t)window_ms * 1000u;
    s->e = calloc(s->n, sizeof *s->e);
    if (!s->e) {
        free(s);
        return NULL;
    }
    return s;
}

void suppress_free(suppress *s)
{
    if (!s)
        return;
    free(s->e);
    free(s);
}

static void report(entry *x, suppress_fn fn, void *ctx)
{
    if (x->folded && fn) {
        suppress_summary sum = {x->rule_id, x->reason,   x->severity, x->violations,
                                x->folded,  x->first_us, x->last_us, &x->note};
        fn(ctx, &sum);
    }
    x->key = 0;
}

void suppress_expire(suppress *s, uint64_t now_us, suppress_fn fn, void *ctx)
{
    for (unsigned i = 0; i < s->n; i++) {
        entry *x = &s->e[i];
        if (x->key && (now_us == UINT64_MAX || now_us - x->first_us >= s->window_us))
            report(x, fn, ctx);
    }
}

/* snprintf(dst, size, "%s", src) without printf's machinery: cut to fit, terminated. */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

bool suppress_check(suppress *s, uint64_t key, uint64_t now_us, const char *rule_id,
                    const char *reason, uint8_t severity, uint32_t violations, suppress_fn fn,
                    void *ctx)
{
    s->last = NULL;
    if (s->window_us == 0)
        return true;
    key = key ? key : 1;
    /* Linear probing over a short window keeps the work per alert bounded. */
    entry *free_slot = NULL, *oldest = NULL;
    unsigned start = (unsigned)(key % s->n);
    for (unsigned i = 0; i < 8 && i < s->n; i++) {
        entry *x = &s->e[(start + i) % s->n];
        if (x->key && now_us - x->first_us >= s->window_us)
            report(x, fn, ctx); /* closed: report its count and free the slot */
        if (x->key == key) {
            x->folded++;
            x->last_us = now_us;
            s->last = x;
            return false;
        }
        if (!x->key && !free_slot)
            free_slot = x;
        if (x->key && (!oldest || x->first_us < oldest->first_us))
            oldest = x;
    }
    entry *slot = free_slot ? free_slot : oldest;
    if (slot->key)
        report(slot, fn, ctx); /* table full here: the oldest gives way */
    slot->key = key;
    slot->first_us = slot->last_us = now_us;
    slot->folded = 0;
    slot->violations = violations;
    slot->severity = severity;
    copy_cut(slot->rule_id, sizeof slot->rule_id, rule_id);
    copy_cut(slot->reason, sizeof slot->reason, reason);
    memset(&slot->note, 0, sizeof slot->note);
    s->last = slot;
    return true;
}

suppress_note *suppress_last(suppress *s) { return s->last ? &s->last->note : NULL; }

void suppress_note_client(suppress_note *n, int family, const uint8_t *addr)
{
    size_t alen = family == 6 ? 16 : 4;
    for (unsigned i = 0; i < n->n_clients; i++)
        if (n->clients[i].family == family && memcmp(n->clients[i].addr, addr, alen) == 0)
            return;
    if (n->n_clients == SUPPRESS_CLIENTS) {
        n->clients_unlisted++;
        return;
    }
    n->clients[n->n_clients].family = (uint8_t)family;
    memcpy(n->clients[n->n_clients].addr, addr, alen);
    n->n_clients++;
}
