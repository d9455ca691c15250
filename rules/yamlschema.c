#include "rules/yamlschema.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/num.h"
#include "rules/suggest.h"

/* ---- diagnostics ---------------------------------------------------------------------- */

void ys_vdiag_at(ys_ctx *Y, bool err, size_t file, unsigned line, unsigned col, const char *id,
                 const char *fmt, va_list ap)
{
    if (err)
        Y->errors++;
    else
        Y->warnings++;
    if (Y->n_diags >= Y->max_diags) {
        Y->dropped++;
        return;
    }
    if (Y->n_diags == Y->cap_diags) {
        size_t ncap = Y->cap_diags ? Y->cap_diags * 2 : 16;
        struct ys_pending *nv = realloc(Y->diags, ncap * sizeof *nv);
        if (!nv) {
            Y->oom = true;
            return;
        }
        Y->diags = nv;
        Y->cap_diags = ncap;
    }
    struct ys_pending *p = &Y->diags[Y->n_diags++];
    memset(p, 0, sizeof *p);
    p->file = file;
    p->seq = Y->n_diags;
    p->d.line = line;
    p->d.col = col;
    p->d.is_error = err;
    if (id)
        snprintf(p->id, sizeof p->id, "%s", id);
    p->d.rule_id = id ? p->id : NULL;
    vsnprintf(p->d.msg, sizeof p->d.msg, fmt, ap);
}

void ys_diag_at(ys_ctx *Y, bool err, size_t file, unsigned line, unsigned col, const char *id,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ys_vdiag_at(Y, err, file, line, col, id, fmt, ap);
    va_end(ap);
}

void ys_diag(ys_ctx *Y, bool err, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ys_vdiag_at(Y, err, Y->file, (unsigned)n->start_mark.line + 1,
                (unsigned)n->start_mark.column + 1, Y->id, fmt, ap);
    va_end(ap);
}

static int pending_cmp(const void *a, const void *b)
{
    const struct ys_pending *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->d.line != y->d.line)
        return x->d.line < y->d.line ? -1 : 1;
    if (x->d.col != y->d.col)
        return x->d.col < y->d.col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void ys_flush(ys_ctx *Y, const char *(*path_of)(const void *pctx, size_t file),
              const void *pctx, ruleset_diag_fn fn, void *ctx)
{
    struct ys_pending *p = Y->diags;
    if (Y->n_diags)
        qsort(p, Y->n_diags, sizeof *p, pending_cmp);
    for (size_t i = 0; fn && i < Y->n_diags; i++) {
        p[i].d.file = path_of(pctx, p[i].file);
        p[i].d.rule_id = p[i].d.rule_id ? p[i].id : NULL;
        fn(ctx, &p[i].d);
    }
    if (fn && Y->dropped) {
        ruleset_diag d = {.file = path_of(pctx, 0), .is_error = Y->errors > 0};
        snprintf(d.msg, sizeof d.msg, "%zu more diagnostics not shown", Y->dropped);
        fn(ctx, &d);
    }
    ys_free(Y);
}

void ys_free(ys_ctx *Y)
{
    free(Y->diags);
    Y->diags = NULL;
    Y->n_diags = Y->cap_diags = 0;
}

bool ys_spend(ys_ctx *Y, const yaml_node_t *n, size_t units)
{
    if (!Y->budget_max)
        return true;
    if (Y->over_budget)
        return false;
    Y->budget += units;
    if (Y->budget > Y->budget_max) {
        Y->over_budget = true;
        ys_diag(Y, true, n, "document too large: more than %zu items once aliases and sets are "
                            "expanded; split it", Y->budget_max);
        return false;
    }
    return true;
}

/* ---- files ---------------------------------------------------------------------------- */

int ys_read_file(const char *path, size_t max, unsigned char **data, size_t *len,
                 enum ys_read_stage *stage)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    *stage = YS_READ_OPEN;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
        close(fd);
        *stage = YS_READ_TYPE;
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096, n = 0;
    unsigned char *buf = NULL;
    int rc = 0;
    for (;;) {
        if (n >= max) {
            *stage = YS_READ_BIG;
            rc = -EFBIG;
            break;
        }
        if (!buf || n == cap) {
            if (buf)
                cap *= 2;
            if (cap > max + 1)
                cap = max + 1;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *stage = YS_READ_IO;
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    *stage = YS_READ_OK;
    *data = buf;
    *len = n;
    return 0;
}

void ys_syntax_from(ys_syntax *s, const yaml_parser_t *p, const unsigned char *data, size_t len)
{
    s->set = true;
    s->line = (unsigned)p->problem_mark.line + 1;
    s->col = (unsigned)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {
        s->line = s->col = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            if (data[i] == '\n') {
                s->line++;
                s->col = 1;
            } else if ((data[i] & 0xc0) != 0x80) {
                s->col++;
            }
        }
    }
    s->problem = p->problem;
    s->context = p->context;
    s->ctx_line = (unsigned)p->context_mark.line + 1;
}

void ys_syntax_report(ys_ctx *Y, size_t file, const ys_syntax *s)
{
    const char *problem = s->problem ? s->problem : "unknown problem";
    if (s->context)
        ys_diag_at(Y, true, file, s->line, s->col, NULL, "YAML syntax error: %s (%s at line %u)",
                   problem, s->context, s->ctx_line);
    else
        ys_diag_at(Y, true, file, s->line, s->col, NULL, "YAML syntax error: %s", problem);
}

/* ---- mappings -------------------------------------------------------------------------- */

const ys_section *ys_section_of(const ys_schema *S, const char *name)
{
    for (size_t i = 0; i < S->n_sections; i++)
        if (!strcmp(S->sections[i].name, name))
            return &S->sections[i];
    return NULL;
}

static const char *there_of(const ys_schema *S, const char *name)
{
    const ys_section *s = ys_section_of(S, name);
    return s ? s->there : name;
}

void ys_unknown_key(ys_ctx *Y, const ys_schema *S, const ys_section *sec, const yaml_node_t *k)
{
    const char *key = sval(k);
    if (S->unknown_hook && S->unknown_hook(Y, k, sec))
        return;
    for (size_t i = 0; i < S->n_aliases; i++) {
        if (strcasecmp(key, S->aliases[i].alias))
            continue;
        if (!strcmp(S->aliases[i].section, sec->name))
            ys_diag(Y, true, k, "unknown key \"%s\" %s; did you mean \"%s\"?", key, sec->here,
                    S->aliases[i].key);
        else
            ys_diag(Y, true, k, "unknown key \"%s\" %s; did you mean \"%s\" (%s)?", key,
                    sec->here, S->aliases[i].key, there_of(S, S->aliases[i].section));
        return;
    }
    const char *near = suggest_nearest(key, sec->keys, sec->n);
    if (near) {
        ys_diag(Y, true, k, "unknown key \"%s\" %s; did you mean \"%s\"?", key, sec->here, near);
        return;
    }
    /* Right key, wrong level? Or a typo of a key of another level? */
    const char *best = NULL;
    const ys_section *home = NULL;
    unsigned bd = 3;
    for (size_t s = 0; s < S->n_sections; s++) {
        const ys_section *o = &S->sections[s];
        if (!strcmp(o->name, sec->name))
            continue;
        const char *const *hk = o->hint_keys ? o->hint_keys : o->keys;
        size_t nh = o->hint_keys ? o->n_hint : o->n;
        for (size_t i = 0; i < nh; i++) {
            unsigned d = suggest_distance(key, hk[i]);
            if (d < bd && (d == 0 || d < strlen(key))) {
                bd = d;
                best = hk[i];
                home = o;
            }
        }
    }
    if (best && bd == 0) {
        ys_diag(Y, true, k, "unknown key \"%s\" %s; it belongs %s", key, sec->here, home->there);
    } else if (best) {
        ys_diag(Y, true, k, "unknown key \"%s\" %s; did you mean \"%s\" (%s)?", key, sec->here,
                best, home->there);
    } else {
        char list[320];
        suggest_join(list, sizeof list, sec->keys, sec->n);
        ys_diag(Y, true, k, "unknown key \"%s\" %s; valid keys: %s", key, sec->here, list);
    }
}

void ys_map_get(ys_ctx *Y, const ys_schema *S, const ys_section *sec, const yaml_node_t *map,
                yaml_node_t **vals)
{
    const yaml_node_t *kn[YS_MAX_KEYS] = {0};
    size_t nk = sec->n < YS_MAX_KEYS ? sec->n : YS_MAX_KEYS;
    for (size_t i = 0; i < nk; i++)
        vals[i] = NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(Y->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(Y->doc, p->value);
        if (!k || !v || !ys_spend(Y, k, 1))
            continue;
        if (k->type != YAML_SCALAR_NODE) {
            ys_diag(Y, true, k, "a key %s must be text, found %s", sec->here, type_name(k));
            continue;
        }
        size_t i = 0;
        while (i < nk && strcmp(sec->keys[i], sval(k)))
            i++;
        if (i == nk) {
            ys_unknown_key(Y, S, sec, k);
        } else if (kn[i] && S->dup_names_section) {
            ys_diag(Y, true, k, "duplicate key \"%s\" in %s; the first is on line %u",
                    sec->keys[i], sec->name, (unsigned)kn[i]->start_mark.line + 1);
        } else if (kn[i]) {
            ys_diag(Y, true, k, "duplicate key \"%s\"; the first is on line %u", sec->keys[i],
                    (unsigned)kn[i]->start_mark.line + 1);
        } else {
            kn[i] = k;
            vals[i] = S->null_is_absent && is_null(v) ? NULL : v;
        }
    }
}

/* ---- typed values --------------------------------------------------------------------- */

const char *ys_text(ys_ctx *Y, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE || is_null(n)) {
        ys_diag(Y, true, n, "\"%s\" must be text, found %s", what, type_name(n));
        return NULL;
    }
    if (strlen(sval(n)) != n->data.scalar.length) {
        ys_diag(Y, true, n, "\"%s\" contains a NUL character", what);
        return NULL;
    }
    return sval(n);
}

const char *ys_text_nonempty(ys_ctx *Y, const yaml_node_t *n, const char *what)
{
    const char *s = ys_text(Y, n, what);
    if (s && !*s) {
        ys_diag(Y, true, n, "\"%s\" must not be empty", what);
        return NULL;
    }
    return s;
}

bool ys_list(ys_ctx *Y, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_SEQUENCE_NODE)
        return true;
    if (is_null(n))
        return false;
    if (n->type == YAML_SCALAR_NODE)
        ys_diag(Y, true, n, "\"%s\" must be a list, found text; write [%.80s]", what, sval(n));
    else
        ys_diag(Y, true, n, "\"%s\" must be a list, found %s", what, type_name(n));
    return false;
}

bool ys_map(ys_ctx *Y, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_MAPPING_NODE)
        return true;
    if (is_null(n))
        return false;
    ys_diag(Y, true, n, "\"%s\" must be a mapping (key: value), found %s", what, type_name(n));
    return false;
}

int ys_enum(ys_ctx *Y, const yaml_node_t *n, const char *what, const char *const *names,
            size_t nn, bool fold_case)
{
    const char *s = ys_text(Y, n, what);
    if (!s)
        return -1;
    for (size_t i = 0; i < nn; i++)
        if (fold_case ? !strcasecmp(s, names[i]) : !strcmp(s, names[i]))
            return (int)i;
    char list[128];
    suggest_join(list, sizeof list, names, nn);
    const char *near = suggest_nearest(s, names, nn);
    if (near)
        ys_diag(Y, true, n, "bad %s \"%.80s\"; did you mean \"%s\"? (valid: %s)", what, s, near,
                list);
    else
        ys_diag(Y, true, n, "bad %s \"%.80s\"; valid: %s", what, s, list);
    return -1;
}

bool ys_parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v;
    if (num_parse_u64(s, lo, hi, &v) != 0)
        return false;
    *out = v;
    return true;
}

bool ys_parse_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;
    size_t nd = num_digits(s);
    const char *p = s + nd;
    bool ok = num_parse_u64n(s, nd, 0, UINT64_MAX, &v) == 0;
    if (ok && *p) {
        static const char units[] = "KMGT";
        const char *u = strchr(units, toupper((unsigned char)*p));
        if (!u) {
            ok = false;
        } else {
            unsigned shift = 10u * (unsigned)(u - units + 1);
            p++;
            if (!strcasecmp(p, "iB") || !strcasecmp(p, "B"))
                p += strlen(p);
            ok = !*p && v <= (UINT64_MAX >> shift);
            v <<= shift;
        }
    }
    if (!ok || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool ys_uint(ys_ctx *Y, const yaml_node_t *n, const char *what, uint64_t lo, uint64_t hi,
             uint64_t *out)
{
    const char *s = ys_text(Y, n, what);
    if (!s)
        return false;
    if (!ys_parse_uint(s, lo, hi, out)) {
        ys_diag(Y, true, n, "\"%s\" must be a whole number from %llu to %llu, not \"%.80s\"", what,
                (unsigned long long)lo, (unsigned long long)hi, s);
        return false;
    }
    return true;
}

bool ys_size(ys_ctx *Y, const yaml_node_t *n, const char *what, uint64_t lo, uint64_t hi,
             uint64_t *out)
{
    const char *s = ys_text(Y, n, what);
    if (!s)
        return false;
    if (!ys_parse_size(s, lo, hi, out)) {
        ys_diag(Y, true, n, "\"%s\" must be a size from %llu to %llu bytes (a number, optionally "
                            "with K, M, G or T), not \"%.80s\"", what, (unsigned long long)lo,
                (unsigned long long)hi, s);
        return false;
    }
    return true;
}

bool ys_bool(ys_ctx *Y, const yaml_node_t *n, const char *what, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    const char *s = ys_text(Y, n, what);
    if (!s)
        return false;
    for (size_t i = 0; i < 3; i++) {
        if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
            *out = !strcasecmp(s, yes[i]);
            return true;
        }
    }
    ys_diag(Y, true, n, "\"%s\" must be true or false, not \"%.80s\"", what, s);
    return false;
}
