#include "sensor/shed.h"

#include <stdlib.h>
#include <string.h>

#include "rules/ruleset.h"
#include "rules/violation.h"
#include "common/hash.h"

typedef struct cls {
    uint64_t key;      /* 0: free */
    uint32_t admitted; /* since the spool passed the high-water mark */
    uint64_t shed;     /* in all */
    char rule_id[RULE_ID_COPY_MAX];
    char violations[DW_V_NAMES_JSON_MAX];
} cls;

struct shed {
    unsigned quota;
    bool above;        /* the spool is past the high-water mark */
    shed_stats st;
    cls c[SHED_CLASSES];
};

shed *shed_new(unsigned quota)
{
    shed *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->quota = quota ? quota : SHED_QUOTA_DEFAULT;
    return s;
}

void shed_free(shed *s) { free(s); }

/* The text of a JSON string value starting at p (just after its opening quote), up to
 * its closing quote, within end; NULL if it does not close. */
static const char *string_end(const char *p, const char *end)
{
    for (; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p;
    }
    return NULL;
}

static void copy_cut(char *dst, size_t size, const char *src, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* An alert's class: hash of its rule id and violations; 0 for anything else. The kind
 * comes first in every line the encoder writes ({"@timestamp":"...","event":{"kind":). */
static uint64_t classify(const char *line, size_t len, const char **id, size_t *id_len,
                         const char **viol, size_t *viol_len)
{
    static const char kind[] = "\"event\":{\"kind\":\"alert\"";
    static const char rule[] = "\"rule\":{\"id\":\"";
    static const char vio[] = "\"violations\":[";
    const char *end = line + len;
    size_t head = len < 96 ? len : 96;
    if (!memmem(line, head, kind, sizeof kind - 1))
        return 0;
    const char *r = memmem(line, len, rule, sizeof rule - 1);
    if (!r)
        return hash_fnv64(HASH_FNV64_OFFSET, "", 1); /* an alert without a rule */
    *id = r + sizeof rule - 1;
    const char *q = string_end(*id, end);
    if (!q)
        return hash_fnv64(HASH_FNV64_OFFSET, "", 1);
    *id_len = (size_t)(q - *id);
    uint64_t h = hash_fnv64(HASH_FNV64_OFFSET, *id, *id_len + 1);
    const char *v = memmem(q, (size_t)(end - q), vio, sizeof vio - 1);
    if (v) {
        const char *ve = memchr(v, ']', (size_t)(end - v));
        if (ve) { /* violation names are ours: no ']' inside them */
            *viol = v + sizeof vio - 2;
            *viol_len = (size_t)(ve + 1 - *viol);
            h = hash_fnv64(h, *viol, *viol_len);
        }
    }
    return h ? h : 1;
}

static cls *find(shed *s, uint64_t key, bool add)
{
    unsigned start = (unsigned)(key % SHED_CLASSES);
    for (unsigned i = 0; i < SHED_CLASSES; i++) {
        cls *c = &s->c[(start + i) % SHED_CLASSES];
        if (c->key == key)
            return c;
        if (!c->key) {
            if (!add)
                return NULL;
            c->key = key;
            return c;
        }
    }
    return NULL;
}

bool shed_admit(shed *s, const char *line, size_t len, uint64_t used, uint64_t max)
{
    uint64_t high = max - max / 4, half = max / 2;
    if (used + len <= high && s->above) {
        s->above = false; /* back under the mark: the quotas start again */
        for (unsigned i = 0; i < SHED_CLASSES; i++)
            s->c[i].admitted = 0;
    }
    if (used + len <= half)
        return true;
    const char *id = "", *viol = "[]";
    size_t id_len = 0, viol_len = 2;
    uint64_t key = classify(line, len, &id, &id_len, &viol, &viol_len);
    if (!key) {
        s->st.events++;
        return false;
    }
    if (used + len <= high)
        return true;
    s->above = true;
    cls *c = find(s, key, true);
    if (!c) /* more classes than the table holds: admitted while there is room */
        return true;
    if (c->admitted < s->quota) {
        c->admitted++;
        return true;
    }
    if (!c->shed) {
        copy_cut(c->rule_id, sizeof c->rule_id, id, id_len);
        copy_cut(c->violations, sizeof c->violations, viol, viol_len);
    }
    c->shed++;
    s->st.alerts++;
    return false;
}

void shed_get_stats(const shed *s, shed_stats *out) { *out = s->st; }

void shed_each(const shed *s, void (*fn)(void *ctx, const char *rule_id,
                                         const char *violations, uint64_t n),
               void *ctx)
{
    for (unsigned i = 0; i < SHED_CLASSES; i++)
        if (s->c[i].shed)
            fn(ctx, s->c[i].rule_id, s->c[i].violations, s->c[i].shed);
}
