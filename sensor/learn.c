#include "sensor/learn.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arr.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/num.h"
#include "decoders/decode.h"
#include "decoders/dns.h"
#include "decoders/dns_musl.h"
#include "decoders/dns_present.h"
#include "rules/asn.h"
#include "rules/eval.h"
#include "rules/nameset.h"
#include "rules/ruleset.h"
#include "rules/special.h"
#include "sensor/input.h"
#include "sensor/learn_agg.h"
#include "sensor/options.h"

#define LEARN_MAX_INPUTS 64
#define LEARN_MAX_NAMES 4096
#define LEARN_DEFAULT_ENTRIES 1024
#define LEARN_MAX_ENTRIES 1000000
#define LEARN_EXAMPLES 3
#define LEARN_MAX_ALIASES 64   /* CNAME/DNAME records of one response looked at */
/* Addresses of one response learned; more are counted. A 64 KiB message holds at most
 * about 16 000 (IPv4 hints of SVCB records), so this is every one of a real message. */
#define LEARN_MAX_ADDRS 16384

static const char usage_text[] =
    "Usage: dnswatch learn (-r FILE... | -i IFACE --duration SECONDS | --dnstap SPEC)\n"
    "                      --names LIST|@FILE [--asn-db FILE|none] [--min-count N]\n"
    "                      [--max-entries N] [--rules DIR] [-o FILE]\n"
    "\n"
    "Writes a rule pack (YAML, the shipped pack's style) for the names asked from the DNS\n"
    "responses of the input: the ASNs of the answers (with --asn-db; addresses in no AS,\n"
    "and all of them without a database, as prefixes: the /24 or /48 of each address,\n"
    "sibling prefixes merged only when both were seen, never wider than /16 or /32), the\n"
    "CNAME targets of the chains (\"*.suffix\" only when 3 or more targets share a suffix\n"
    "below their registrable domain; no CNAME seen: none allowed), the servers that\n"
    "answered and the highest TTL. Names served by the same networks share one rule. Each\n"
    "expectation is commented with its evidence. Review the pack before use.\n"
    "\n"
    "  -r FILE...        capture files (repeat -r, or list them after one -r)\n"
    "  -i IFACE          capture live for --duration SECONDS (Ctrl-C ends it early)\n"
    "  --dnstap SPEC     dnstap input (unix:PATH|tcp:ADDR:PORT with --duration, or file:PATH)\n"
    "  --names LIST      comma-separated names or \"*.suffix\" patterns; @FILE: one a line\n"
    "  --asn-db FILE     GeoLite2-ASN style database; none (the default): prefixes only\n"
    "  --min-count N     leave out observations seen fewer than N times (listed as comments)\n"
    "  --max-entries N   per name and table (addresses, targets, resolvers; default 1024)\n"
    "  --rules DIR       judge the traffic by these rules instead: what would have alerted,\n"
    "                    and the proposed change\n"
    "  -o FILE           write there (replaced once complete) instead of standard output\n"
    "\n"
    "Exit status: 0 written, 1 bad input (capture, rules, ASN database, output), 2 usage.\n";

/* ---- options ------------------------------------------------------------------------ */

typedef struct learn_opts {
    const char *files[LEARN_MAX_INPUTS];
    size_t n_files;
    const char *iface;
    uint64_t duration_s;
    bool has_duration;
    const char *dnstap;
    const char *names_arg;
    const char *asn_db;
    uint64_t min_count;
    uint64_t max_entries;
    const char *rule_paths[DW_MAX_RULE_PATHS];
    size_t n_rule_paths;
    const char *out;
} learn_opts;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("dnswatch learn: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    fputs(usage_text, stderr);
    return 2;
}

/* Returns 1 to go on, 0 after --help, 2 on a usage error. */
static int parse_args(learn_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->min_count = 1;
    o->max_entries = LEARN_DEFAULT_ENTRIES;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        }
        bool has_value = !strcmp(a, "-r") || !strcmp(a, "-i") || !strcmp(a, "--duration") ||
                         !strcmp(a, "--dnstap") || !strcmp(a, "--names") ||
                         !strcmp(a, "--asn-db") || !strcmp(a, "--min-count") ||
                         !strcmp(a, "--max-entries") || !strcmp(a, "--rules") ||
                         !strcmp(a, "-o");
        if (!has_value)
            return usage_error(a[0] == '-' ? "unknown option '%s'"
                                           : "'%s': give capture files after -r", a);
        if (i + 1 >= argc)
            return usage_error("%s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "-r")) {
            /* -r FILE...: this value and every following argument that is not an option */
            for (;;) {
                if (o->n_files == LEARN_MAX_INPUTS)
                    return usage_error("at most %d capture files", LEARN_MAX_INPUTS);
                o->files[o->n_files++] = v;
                if (i + 1 >= argc || argv[i + 1][0] == '-')
                    break;
                v = argv[++i];
            }
        } else if (!strcmp(a, "-i")) {
            o->iface = v;
        } else if (!strcmp(a, "--duration")) {
            if (num_parse_u64(v, 1, 366u * 86400u, &o->duration_s) != 0)
                return usage_error("--duration '%s': seconds, 1 to %u", v, 366u * 86400u);
            o->has_duration = true;
        } else if (!strcmp(a, "--dnstap")) {
            o->dnstap = v;
        } else if (!strcmp(a, "--names")) {
            o->names_arg = v;
        } else if (!strcmp(a, "--asn-db")) {
            o->asn_db = v;
        } else if (!strcmp(a, "--min-count")) {
            if (num_parse_u64(v, 1, UINT32_MAX, &o->min_count) != 0)
                return usage_error("--min-count '%s': a number from 1 to %u", v, UINT32_MAX);
        } else if (!strcmp(a, "--max-entries")) {
            if (num_parse_u64(v, 1, LEARN_MAX_ENTRIES, &o->max_entries) != 0)
                return usage_error("--max-entries '%s': a number from 1 to %u", v,
                                   LEARN_MAX_ENTRIES);
        } else if (!strcmp(a, "--rules")) {
            if (o->n_rule_paths == DW_MAX_RULE_PATHS)
                return usage_error("at most %d --rules paths", DW_MAX_RULE_PATHS);
            o->rule_paths[o->n_rule_paths++] = v;
        } else {
            o->out = v;
        }
    }
    int n_inputs = (o->n_files > 0) + (o->iface != NULL) + (o->dnstap != NULL);
    if (n_inputs == 0)
        return usage_error("give an input: -r FILE..., -i IFACE --duration SECONDS, or "
                           "--dnstap SPEC");
    if (n_inputs > 1)
        return usage_error("give one kind of input: -r, -i or --dnstap");
    /* A live source (an interface, a dnstap socket) runs for --duration; a file to its end. */
    bool live = o->iface || (o->dnstap && strncmp(o->dnstap, "file:", 5) != 0);
    if (live && !o->has_duration)
        return usage_error("%s %s needs --duration SECONDS (how long to learn)",
                           o->iface ? "-i" : "--dnstap", o->iface ? o->iface : o->dnstap);
    if (!live && o->has_duration)
        return usage_error("--duration applies to -i and dnstap sockets only");
    if (!o->names_arg && o->n_rule_paths == 0)
        return usage_error("give --names LIST|@FILE: the names to learn");
    return 1;
}

/* ---- the names asked ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One name or pattern asked, normalised (lower case, no trailing dot), into v (owned). */
static int add_name(char ***v, size_t *n, size_t *cap, const char *text, size_t len,
                    const char *where)
{
    while (len && (text[0] == ' ' || text[0] == '\t')) {
        text++;
        len--;
    }
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'))
        len--;
    if (len == 0)
        return 0;
    char *s = strndup(text, len);
    if (!s)
        return -ENOMEM;
    for (char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    size_t l = strlen(s);
    if (l > 1 && s[l - 1] == '.')
        s[l - 1] = '\0';
    const char *why = NULL;
    if (nameset_check_pattern(s, &why) != 0) {
        fprintf(stderr, "dnswatch learn: %s: name \"%s\": %s\n", where, s, why);
        free(s);
        return -EINVAL;
    }
    if (*n == LEARN_MAX_NAMES) {
        fprintf(stderr, "dnswatch learn: %s: at most %d names\n", where, LEARN_MAX_NAMES);
        free(s);
        return -E2BIG;
    }
    if (ARR_RESERVE(*v, *cap, *n + 1, 16) != 0) {
        free(s);
        return -ENOMEM;
    }
    (*v)[(*n)++] = s;
    return 0;
}

/* --names LIST or @FILE (one name a line, '#' starts a comment), sorted, duplicates
 * dropped. 0, or a negative errno after printing why. */
static int load_names(const char *arg, char ***out, size_t *out_n)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "r");
        if (!f) {
            fprintf(stderr, "dnswatch learn: cannot read %s: %s\n", arg + 1, strerror(errno));
            return -errno;
        }
        char line[1024];
        unsigned lineno = 0;
        while (rc == 0 && fgets(line, sizeof line, f)) {
            char where[1100];
            lineno++;
            snprintf(where, sizeof where, "%s:%u", arg + 1, lineno);
            line[strcspn(line, "#\n")] = '\0';
            rc = add_name(&v, &n, &cap, line, strlen(line), where);
        }
        if (rc == 0 && ferror(f)) {
            fprintf(stderr, "dnswatch learn: cannot read %s\n", arg + 1);
            rc = -EIO;
        }
        fclose(f);
    } else {
        for (const char *p = arg; rc == 0;) {
            size_t l = strcspn(p, ",");
            rc = add_name(&v, &n, &cap, p, l, "--names");
            if (!p[l])
                break;
            p += l + 1;
        }
    }
    if (rc == 0 && n == 0) {
        fprintf(stderr, "dnswatch learn: --names %s: no names\n", arg);
        rc = -EINVAL;
    }
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    qsort(v, n, sizeof *v, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && !strcmp(v[k - 1], v[i]))
            free(v[i]);
        else
            v[k++] = v[i];
    }
    *out = v;
    *out_n = k;
    return 0;
}

/* ---- evidence tables ------------------------------------------------------------------ */

typedef struct lr_obs {
    uint64_t count, first_us, last_us;
} lr_obs;

static void obs_add(lr_obs *o, uint64_t n, uint64_t first, uint64_t last)
{
    if (o->count == 0 || first < o->first_us)
        o->first_us = first;
    if (o->count == 0 || last > o->last_us)
        o->last_us = last;
    o->count += n;
}

typedef struct lr_addr {
    int family;
    uint8_t a[16];
} lr_addr;

static int cmp_lr_addr(const lr_addr *x, const lr_addr *y)
{
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    return memcmp(x->a, y->a, x->family == 4 ? 4 : 16);
}

typedef struct lr_asn {
    uint32_t asn;
    lr_obs o;
    unsigned n_ex;
    lr_addr ex[LEARN_EXAMPLES]; /* the lowest distinct addresses seen */
} lr_asn;

typedef struct lr_res {
    lr_addr addr;
    lr_obs o;
} lr_res;

typedef struct lr_target {
    char *name; /* owned */
    lr_obs o;
} lr_target;

/* The evidence for one name asked (or, with --rules, for one rule's proposal). Every
 * table holds at most `cap` entries; what does not fit is counted in drop_*. */
typedef struct lr_name {
    const char *pattern;
    lr_obs resp;
    uint64_t no_addr;            /* responses without an address */
    uint64_t addrs_beyond;       /* addresses past LEARN_MAX_ADDRS in one response */
    uint64_t musl_hidden;        /* responses with addresses only musl reads: not learned */
    lr_asn *asn;
    size_t n_asn, cap_asn;
    learn_prefix *unit;
    size_t n_unit, cap_unit;
    lr_res *res;
    size_t n_res, cap_res;
    lr_target *tgt;
    size_t n_tgt, cap_tgt;
    uint64_t drop_asn, drop_unit, drop_res, drop_tgt, bad_tgt;
    bool has_ttl;
    uint32_t ttl_max;
    uint64_t ttl_at_us;
    char ttl_owner[256];
    uint64_t seen_resp;          /* the response last learned from (once per response) */
} lr_name;

static void lr_name_free(lr_name *n)
{
    for (size_t i = 0; i < n->n_tgt; i++)
        free(n->tgt[i].name);
    free(n->asn);
    free(n->unit);
    free(n->res);
    free(n->tgt);
}

static void add_example(lr_asn *e, const lr_addr *x)
{
    unsigned k = 0;
    while (k < e->n_ex && cmp_lr_addr(&e->ex[k], x) < 0)
        k++;
    if (k < e->n_ex && cmp_lr_addr(&e->ex[k], x) == 0)
        return;
    if (k == LEARN_EXAMPLES)
        return;
    unsigned last = e->n_ex < LEARN_EXAMPLES ? e->n_ex : LEARN_EXAMPLES - 1;
    memmove(&e->ex[k + 1], &e->ex[k], (last - k) * sizeof e->ex[0]);
    e->ex[k] = *x;
    if (e->n_ex < LEARN_EXAMPLES)
        e->n_ex++;
}

/* The tables grow by doubling up to cap; a full table counts what it cannot keep. The
 * lookups are linear: a name is served by a handful of networks, and cap bounds the
 * worst case (a flood of answers from everywhere) to cap compares per address. */
static void note_asn(lr_name *n, size_t cap, uint32_t asn, const lr_addr *x, uint64_t ts,
                     uint64_t count)
{
    for (size_t i = 0; i < n->n_asn; i++)
        if (n->asn[i].asn == asn) {
            obs_add(&n->asn[i].o, count, ts, ts);
            add_example(&n->asn[i], x);
            return;
        }
    if (n->n_asn >= cap || ARR_RESERVE(n->asn, n->cap_asn, n->n_asn + 1, 4) != 0) {
        n->drop_asn += count;
        return;
    }
    lr_asn *e = &n->asn[n->n_asn++];
    memset(e, 0, sizeof *e);
    e->asn = asn;
    obs_add(&e->o, count, ts, ts);
    add_example(e, x);
}

static void note_unit(lr_name *n, size_t cap, const lr_addr *x, uint64_t ts)
{
    uint8_t u[16];
    unsigned plen = learn_unit(x->family, x->a, u);
    unsigned bytes = x->family == 4 ? 4 : 16;
    for (size_t i = 0; i < n->n_unit; i++) {
        learn_prefix *p = &n->unit[i];
        if (p->family == x->family && !memcmp(p->addr, u, bytes)) {
            p->count++;
            if (ts < p->first_us)
                p->first_us = ts;
            if (ts > p->last_us)
                p->last_us = ts;
            if (memcmp(x->a, p->example, bytes) < 0)
                memcpy(p->example, x->a, bytes);
            return;
        }
    }
    if (n->n_unit >= cap || ARR_RESERVE(n->unit, n->cap_unit, n->n_unit + 1, 4) != 0) {
        n->drop_unit++;
        return;
    }
    learn_prefix *p = &n->unit[n->n_unit++];
    memset(p, 0, sizeof *p);
    p->family = x->family;
    memcpy(p->addr, u, 16);
    p->plen = plen;
    p->count = 1;
    p->first_us = p->last_us = ts;
    memcpy(p->example, x->a, bytes);
    p->n_units = 1;
}

static void note_res(lr_name *n, size_t cap, const lr_addr *x, uint64_t ts)
{
    for (size_t i = 0; i < n->n_res; i++)
        if (!cmp_lr_addr(&n->res[i].addr, x)) {
            obs_add(&n->res[i].o, 1, ts, ts);
            return;
        }
    if (n->n_res >= cap || ARR_RESERVE(n->res, n->cap_res, n->n_res + 1, 2) != 0) {
        n->drop_res++;
        return;
    }
    lr_res *r = &n->res[n->n_res++];
    memset(r, 0, sizeof *r);
    r->addr = *x;
    obs_add(&r->o, 1, ts, ts);
}

static void note_tgt(lr_name *n, size_t cap, const char *name, const lr_obs *o)
{
    for (size_t i = 0; i < n->n_tgt; i++)
        if (!strcmp(n->tgt[i].name, name)) {
            obs_add(&n->tgt[i].o, o->count, o->first_us, o->last_us);
            return;
        }
    /* A target the rule loader would not take as a pattern (bytes a name pattern cannot
     * hold) cannot be written into a rule: counted and said in the pack. */
    const char *why;
    if (nameset_check_pattern(name, &why) != 0 || name[0] == '*') {
        n->bad_tgt += o->count;
        return;
    }
    char *copy = NULL;
    if (n->n_tgt >= cap || ARR_RESERVE(n->tgt, n->cap_tgt, n->n_tgt + 1, 2) != 0 ||
        !(copy = strdup(name))) {
        n->drop_tgt += o->count;
        return;
    }
    lr_target *t = &n->tgt[n->n_tgt++];
    t->name = copy;
    t->o = (lr_obs){0, 0, 0};
    obs_add(&t->o, o->count, o->first_us, o->last_us);
}

static void note_ttl(lr_name *n, uint32_t ttl, const char *owner, uint64_t ts)
{
    /* The highest TTL, first seen; at the same time, the lowest owner name: the evidence
     * does not depend on the order the captures were read in. */
    if (n->has_ttl &&
        (ttl < n->ttl_max ||
         (ttl == n->ttl_max && (ts > n->ttl_at_us ||
                                (ts == n->ttl_at_us && strcmp(owner, n->ttl_owner) >= 0)))))
        return;
    n->has_ttl = true;
    n->ttl_max = ttl;
    n->ttl_at_us = ts;
    snprintf(n->ttl_owner, sizeof n->ttl_owner, "%s", owner);
}

/* Adds from's evidence to into (a group of names sharing one rule); no cap. */
static void lr_merge(lr_name *into, const lr_name *from)
{
    const size_t nocap = SIZE_MAX;
    obs_add(&into->resp, from->resp.count, from->resp.first_us, from->resp.last_us);
    into->no_addr += from->no_addr;
    into->addrs_beyond += from->addrs_beyond;
    into->musl_hidden += from->musl_hidden;
    for (size_t i = 0; i < from->n_asn; i++) {
        const lr_asn *e = &from->asn[i];
        for (unsigned k = 0; k < e->n_ex; k++)
            note_asn(into, nocap, e->asn, &e->ex[k], e->o.first_us, 0);
        /* (count 0 above only placed the examples; the times and count come here) */
        for (size_t j = 0; j < into->n_asn; j++)
            if (into->asn[j].asn == e->asn)
                obs_add(&into->asn[j].o, e->o.count, e->o.first_us, e->o.last_us);
    }
    for (size_t i = 0; i < from->n_unit; i++) {
        const learn_prefix *u = &from->unit[i];
        learn_prefix *same = NULL;
        for (size_t j = 0; j < into->n_unit && !same; j++)
            if (into->unit[j].family == u->family && into->unit[j].plen == u->plen &&
                !memcmp(into->unit[j].addr, u->addr, 16))
                same = &into->unit[j];
        if (same) {
            if (u->first_us < same->first_us)
                same->first_us = u->first_us;
            if (u->last_us > same->last_us)
                same->last_us = u->last_us;
            if (memcmp(u->example, same->example, 16) < 0)
                memcpy(same->example, u->example, 16);
            same->count += u->count;
            continue;
        }
        if (ARR_RESERVE(into->unit, into->cap_unit, into->n_unit + 1, 4) != 0) {
            into->drop_unit += u->count;
            continue;
        }
        into->unit[into->n_unit++] = *u;
    }
    for (size_t i = 0; i < from->n_res; i++) {
        const lr_res *r = &from->res[i];
        bool found = false;
        for (size_t j = 0; j < into->n_res && !found; j++)
            if (!cmp_lr_addr(&into->res[j].addr, &r->addr)) {
                obs_add(&into->res[j].o, r->o.count, r->o.first_us, r->o.last_us);
                found = true;
            }
        if (!found) {
            if (ARR_RESERVE(into->res, into->cap_res, into->n_res + 1, 2) != 0) {
                into->drop_res += r->o.count;
                continue;
            }
            into->res[into->n_res++] = *r;
        }
    }
    for (size_t i = 0; i < from->n_tgt; i++)
        note_tgt(into, nocap, from->tgt[i].name, &from->tgt[i].o);
    into->drop_asn += from->drop_asn;
    into->drop_unit += from->drop_unit;
    into->drop_res += from->drop_res;
    into->drop_tgt += from->drop_tgt;
    into->bad_tgt += from->bad_tgt;
    if (from->has_ttl)
        note_ttl(into, from->ttl_max, from->ttl_owner, from->ttl_at_us);
}

/* ---- reading responses ---------------------------------------------------------------- */

/* Tallies of what --rules would have raised, per rule and violation. */
typedef struct cmp_viol {
    lr_obs o;
    unsigned n_ex;
    char ex[LEARN_EXAMPLES][96];
} cmp_viol;

typedef struct cmp_rule {
    uint64_t alerts;
    lr_obs o;
    cmp_viol v[DW_V_COUNT];
    bool ttl_seen;
    lr_name prop;                /* the offending items, for the proposed change */
} cmp_rule;

typedef struct learner {
    const learn_opts *o;
    const asn_db *db;
    nameset *names_set;
    char **names;
    size_t n_names;
    lr_name *lr;
    dw_counters counters;
    dw_decoder *dec;
    dns_msg *msg;
    int dlt;

    uint64_t messages, responses, responses_no_question, responses_watched, responses_other;
    lr_obs all;
    uint64_t resp_no;

    /* the response being read */
    uint8_t al_owner[LEARN_MAX_ALIASES][DNS_NAME_MAX];
    uint8_t al_target[LEARN_MAX_ALIASES][DNS_NAME_MAX];
    uint16_t al_type[LEARN_MAX_ALIASES];
    unsigned n_al;
    uint64_t aliases_beyond;
    uint8_t chain[EVAL_MAX_CHAIN + 1][DNS_NAME_MAX];
    char chain_text[EVAL_MAX_CHAIN + 1][DNS_NAME_TEXT_MAX];
    unsigned n_chain;
    lr_addr addrs[LEARN_MAX_ADDRS];
    uint32_t addr_asn[LEARN_MAX_ADDRS];
    unsigned n_addrs;
    uint64_t n_addrs_beyond;
    bool musl_hidden;            /* this response hides addresses only musl would read */
    uint32_t matched[LEARN_MAX_NAMES > 64 ? 64 : LEARN_MAX_NAMES];
    unsigned n_matched;
    bool matched_full;

    /* --rules */
    const ruleset *rs;
    evaluator *ev;
    eval_result *res;
    cmp_rule *cmp;
    uint64_t alerting;
} learner;

static int wire_len(const uint8_t *w)
{
    int n = 0;
    while (n < DNS_NAME_MAX && w[n])
        n += w[n] + 1;
    return n < DNS_NAME_MAX ? n + 1 : -1;
}

/* As the evaluator does (rules/eval.c): if name is strictly below owner, name with that
 * suffix replaced by target. */
static bool dname_substitute(const uint8_t *name, const uint8_t *owner, const uint8_t *target,
                             uint8_t out[DNS_NAME_MAX])
{
    int nl = wire_len(name), ol = wire_len(owner), tl = wire_len(target);
    if (nl < 0 || ol < 0 || tl < 0 || nl <= ol)
        return false;
    int off = 0;
    while (nl - off > ol)
        off += name[off] + 1;
    if (nl - off != ol || !dns_wirename_eq(name + off, owner) || off + tl > DNS_NAME_MAX)
        return false;
    memcpy(out, name, (size_t)off);
    memcpy(out + off, target, (size_t)tl);
    return true;
}

/* The question's chain: the question name, then CNAME and DNAME steps of the answer
 * section, at most EVAL_MAX_CHAIN of them, ending on a loop: what the evaluator follows. */
static void build_chain(learner *L, const dns_msg *m)
{
    L->n_al = 0;
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->section != DNS_SEC_ANSWER || (rr->type != DNS_T_CNAME && rr->type != DNS_T_DNAME))
            continue;
        if (L->n_al == LEARN_MAX_ALIASES) {
            L->aliases_beyond++;
            break;
        }
        if (dns_msg_name_unpack(m, rr->name_off, L->al_owner[L->n_al], NULL) < 0 ||
            dns_msg_name_unpack(m, rr->rdata_off, L->al_target[L->n_al], NULL) < 0)
            continue;
        L->al_type[L->n_al++] = rr->type;
    }
    L->n_chain = 0;
    if (!m->has_question || dns_msg_name_unpack(m, m->qname_off, L->chain[0], NULL) < 0)
        return;
    L->n_chain = 1;
    while (L->n_chain < EVAL_MAX_CHAIN + 1) {
        const uint8_t *cur = L->chain[L->n_chain - 1];
        uint8_t *next = L->chain[L->n_chain];
        bool stepped = false;
        for (unsigned k = 0; k < L->n_al && !stepped; k++) {
            if (L->al_type[k] == DNS_T_CNAME && dns_wirename_eq(L->al_owner[k], cur)) {
                memcpy(next, L->al_target[k], DNS_NAME_MAX);
                stepped = true;
            } else if (L->al_type[k] == DNS_T_DNAME) {
                stepped = dname_substitute(cur, L->al_owner[k], L->al_target[k], next);
            }
        }
        if (!stepped)
            break;
        bool loop = false;
        for (unsigned k = 0; k < L->n_chain && !loop; k++)
            loop = dns_wirename_eq(L->chain[k], next);
        if (loop)
            break;
        L->n_chain++;
    }
    for (unsigned i = 0; i < L->n_chain; i++)
        if (dns_wirename_text(L->chain[i], DNS_NAME_MAX, L->chain_text[i], true) < 0)
            strcpy(L->chain_text[i], "?");
}

static void on_hint(void *ctx, int family, const uint8_t *a)
{
    learner *L = ctx;
    if (L->n_addrs == LEARN_MAX_ADDRS) {
        L->n_addrs_beyond++;
        return;
    }
    lr_addr *x = &L->addrs[L->n_addrs++];
    memset(x, 0, sizeof *x);
    x->family = family;
    memcpy(x->a, a, family == 4 ? 4 : 16);
}

/* Every address of the answer section (A, AAAA, SVCB/HTTPS hints): the rules of the
 * question's chain judge all of them. */
static void collect_addrs(learner *L, const dns_msg *m)
{
    L->n_addrs = 0;
    L->n_addrs_beyond = 0;
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        uint8_t a[16];
        if (rr->section != DNS_SEC_ANSWER)
            continue;
        if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA) {
            int k = dns_rr_addr(m, rr, a);
            if (k)
                on_hint(L, k == 16 ? 6 : 4, a);
        } else if (rr->type == DNS_T_SVCB || rr->type == DNS_T_HTTPS) {
            (void)dns_svcb_hints(m, rr, on_hint, L);
        }
    }
    /* Addresses only musl's reading of the bytes holds are a forger's trick (decoders/
     * dns_musl.h), never what a name normally resolves to: not learned, counted and said
     * in the pack (the rules judge them, so a replay of such traffic alerts). */
    L->musl_hidden = dns_musl_compare(m, NULL, NULL).n_extra > 0;
    for (unsigned i = 0; i < L->n_addrs; i++) {
        asn_info ai;
        L->addr_asn[i] = 0;
        if (L->db && asn_lookup(L->db, L->addrs[i].family, L->addrs[i].a, &ai) == 1)
            L->addr_asn[i] = ai.number;
    }
}

static void on_match(void *ctx, uint32_t idx)
{
    learner *L = ctx;
    for (unsigned i = 0; i < L->n_matched; i++)
        if (L->matched[i] == idx)
            return;
    if (L->n_matched == sizeof L->matched / sizeof L->matched[0]) {
        L->matched_full = true;
        return;
    }
    L->matched[L->n_matched++] = idx;
}

/* What one response teaches the name n, which matched chain name c. */
static void learn_from(learner *L, lr_name *n, unsigned c, const pkt_info *pi,
                       const dns_msg *m)
{
    size_t cap = (size_t)L->o->max_entries;
    uint64_t ts = pi->ts_us;
    obs_add(&n->resp, 1, ts, ts);
    lr_addr srv;
    memset(&srv, 0, sizeof srv);
    srv.family = pi->ip_version == 6 ? 6 : 4;
    memcpy(srv.a, pi->src, srv.family == 4 ? 4 : 16);
    note_res(n, cap, &srv, ts);
    lr_obs one = {1, ts, ts};
    for (unsigned i = c + 1; i < L->n_chain; i++)
        note_tgt(n, cap, L->chain_text[i], &one);
    if (L->n_addrs == 0)
        n->no_addr++;
    n->addrs_beyond += L->n_addrs_beyond;
    n->musl_hidden += L->musl_hidden;
    for (unsigned i = 0; i < L->n_addrs; i++) {
        if (L->addr_asn[i])
            note_asn(n, cap, L->addr_asn[i], &L->addrs[i], ts, 1);
        else
            note_unit(n, cap, &L->addrs[i], ts);
    }
    /* The TTL check looks at every record owned by a name of the chain. */
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        uint8_t owner[DNS_NAME_MAX];
        if (rr->section != DNS_SEC_ANSWER || rr->type == DNS_T_OPT)
            continue;
        if (n->has_ttl && (rr->ttl < n->ttl_max || (rr->ttl == n->ttl_max && ts > n->ttl_at_us)))
            continue;
        if (dns_msg_name_unpack(m, rr->name_off, owner, NULL) < 0)
            continue;
        for (unsigned k = 0; k < L->n_chain; k++)
            if (dns_wirename_eq(owner, L->chain[k])) {
                note_ttl(n, rr->ttl, L->chain_text[k], ts);
                break;
            }
    }
}

static void learn_response(learner *L, const pkt_info *pi, const dns_msg *m)
{
    L->resp_no++;
    build_chain(L, m);
    bool any = false;
    for (unsigned c = 0; c < L->n_chain; c++) {
        L->n_matched = 0;
        nameset_match(L->names_set, L->chain_text[c], strlen(L->chain_text[c]), on_match, L);
        for (unsigned k = 0; k < L->n_matched; k++) {
            lr_name *n = &L->lr[L->matched[k]];
            if (!any) /* the addresses, once, and only for a name asked */
                collect_addrs(L, m);
            any = true;
            if (n->seen_resp == L->resp_no) /* learned from the first chain name it matched */
                continue;
            n->seen_resp = L->resp_no;
            learn_from(L, n, c, pi, m);
        }
    }
    if (any)
        L->responses_watched++;
    else
        L->responses_other++;
}

static void cmp_example(cmp_viol *v, const char *text)
{
    for (unsigned i = 0; i < v->n_ex; i++)
        if (!strcmp(v->ex[i], text))
            return;
    if (v->n_ex < LEARN_EXAMPLES)
        snprintf(v->ex[v->n_ex++], sizeof v->ex[0], "%s", text);
}

/* With --rules: judges the response and tallies the findings and their offending items. */
static void compare_response(learner *L, const pkt_info *pi, const dns_msg *m)
{
    size_t cap = (size_t)L->o->max_entries;
    if (L->names_set) {
        build_chain(L, m);
        bool any = false;
        for (unsigned c = 0; c < L->n_chain && !any; c++)
            any = nameset_contains(L->names_set, L->chain_text[c], strlen(L->chain_text[c]));
        if (!any) {
            L->responses_other++;
            return;
        }
    }
    L->responses_watched++;
    eval_result *r = L->res;
    evaluator_response(L->ev, pi, m, r);
    if (r->n_findings)
        L->alerting++;
    uint64_t ts = pi->ts_us;
    for (unsigned i = 0; i < r->n_findings; i++) {
        const eval_finding *f = &r->findings[i];
        size_t idx = 0;
        while (idx < ruleset_count(L->rs) && ruleset_rule(L->rs, idx) != f->rule)
            idx++;
        if (idx == ruleset_count(L->rs))
            continue;
        cmp_rule *cr = &L->cmp[idx];
        cr->alerts++;
        obs_add(&cr->o, 1, ts, ts);
        for (unsigned b = 0; b < DW_V_COUNT; b++)
            if (f->violations & (1u << b))
                obs_add(&cr->v[b].o, 1, ts, ts);
        lr_addr srv;
        memset(&srv, 0, sizeof srv);
        srv.family = pi->ip_version == 6 ? 6 : 4;
        memcpy(srv.a, pi->src, srv.family == 4 ? 4 : 16);
        char text[96], ip[DNS_IPV6_TEXT_MAX];
        if (f->violations & DW_V_UNEXPECTED_RESOLVER) {
            note_res(&cr->prop, cap, &srv, ts);
            dns_format_ip(srv.family, srv.a, ip);
            cmp_example(&cr->v[dw_violation_index(DW_V_UNEXPECTED_RESOLVER)], ip);
        }
        for (unsigned k = 0; k < f->n_evidence; k++) {
            const eval_evidence *e = &f->evidence[k];
            unsigned vi = dw_violation_index(e->violation);
            if (vi >= DW_V_COUNT)
                continue;
            lr_addr x;
            memset(&x, 0, sizeof x);
            x.family = e->family;
            if (e->family)
                memcpy(x.a, e->addr, e->family == 4 ? 4 : 16);
            switch (e->violation) {
            case DW_V_ASN_MISMATCH:
            case DW_V_ASN_UNKNOWN:
            case DW_V_PREFIX_MISMATCH:
                dns_format_ip(x.family, x.a, ip);
                if (e->asn)
                    snprintf(text, sizeof text, "%s (AS%u)", ip, e->asn);
                else
                    snprintf(text, sizeof text, "%s", ip);
                cmp_example(&cr->v[vi], text);
                /* An address in an AS goes to expect.asn when the rule lists ASNs; any
                 * other to expect.prefixes. Each address once, under its first violation. */
                if (e->asn && f->rule->n_asn)
                    note_asn(&cr->prop, cap, e->asn, &x, ts, 1);
                else
                    note_unit(&cr->prop, cap, &x, ts);
                break;
            case DW_V_REBINDING:
            case DW_V_SINKHOLE:
                dns_format_ip(x.family, x.a, ip);
                cmp_example(&cr->v[vi], ip);
                note_unit(&cr->prop, cap, &x, ts);
                break;
            case DW_V_CNAME_UNEXPECTED: {
                const char *t = e->chain_index < r->n_chain ? r->chain[e->chain_index] : "?";
                lr_obs one = {1, ts, ts};
                cmp_example(&cr->v[vi], t);
                note_tgt(&cr->prop, cap, t, &one);
                break;
            }
            case DW_V_TTL_EXCEEDED:
                snprintf(text, sizeof text, "TTL %u", e->ttl);
                cmp_example(&cr->v[vi], text);
                note_ttl(&cr->prop, e->ttl, "", ts);
                break;
            case DW_V_DNSSEC_MISSING:
                cmp_example(&cr->v[vi], e->range ? e->range : "not validated");
                break;
            default:
                break;
            }
        }
    }
}

static void on_dns(void *ctx, const pkt_info *pi, const uint8_t *data, size_t len)
{
    learner *L = ctx;
    dns_msg *m = L->msg;
    if (dns_parse(m, data, len, &L->counters) != 0)
        return;
    L->messages++;
    if (!dns_msg_is_answer(m)) {
        if (L->ev)
            evaluator_query(L->ev, pi, m);
        return;
    }
    L->responses++;
    obs_add(&L->all, 1, pi->ts_us, pi->ts_us);
    if (!m->has_question) {
        /* Without a question there is no name asked to learn for; --rules judges it. */
        L->responses_no_question++;
        if (!L->ev)
            return;
    }
    if (L->ev)
        compare_response(L, pi, m);
    else
        learn_response(L, pi, m);
}

static void on_frame(void *ctx, uint64_t ts_us, const uint8_t *data, uint32_t len)
{
    learner *L = ctx;
    dw_decoder_packet(L->dec, L->dlt, ts_us, data, len, on_dns, L);
}

/* ---- inputs --------------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;
static dw_input *volatile g_input;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    dw_input *in = g_input;
    if (in)
        dw_input_break(in); /* async-signal-safe (input.h) */
}

/* Reads one input to its end (or, live, for duration_s or until a signal). */
static int read_input(learner *L, dw_options *io, uint64_t duration_s)
{
    char err[512];
    dw_input *in = NULL;
    int rc = dw_input_open(io, &in, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "dnswatch learn: %s\n", err);
        return rc;
    }
    L->dlt = dw_input_link_type(in);
    dw_decoder_config dcfg;
    dw_decoder_config_default(&dcfg);
    L->dec = dw_decoder_new(&dcfg, &L->counters);
    if (!L->dec) {
        fprintf(stderr, "dnswatch learn: out of memory\n");
        dw_input_close(in);
        return -ENOMEM;
    }
    uint64_t end = clk_mono_ns() + duration_s * 1000000000ull;
    g_input = in;
    rc = 0;
    for (;;) {
        if (g_stop || (in->live && clk_mono_ns() >= end))
            break;
        int n = dw_input_dispatch(in, 256, on_frame, L);
        if (n == DW_INPUT_EOF || n == DW_INPUT_BREAK)
            break;
        if (n == DW_INPUT_ERROR) {
            fprintf(stderr, "dnswatch learn: %s: %s\n", in->src, dw_input_error(in));
            rc = -EIO;
            break;
        }
    }
    g_input = NULL;
    dw_decoder_flush(L->dec, on_dns, L);
    dw_decoder_free(L->dec);
    L->dec = NULL;
    dw_input_close(in);
    return rc;
}

/* ---- writing -------------------------------------------------------------------------- */

static void fmt_time(uint64_t us, char out[32])
{
    time_t t = (time_t)(us / 1000000u);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "N answers, FIRST .. LAST" (one observation: "once, AT"). */
static void fmt_obs(const lr_obs *o, const char *what, char *out, size_t len)
{
    char a[32], b[32];
    fmt_time(o->first_us, a);
    fmt_time(o->last_us, b);
    if (o->count == 1)
        snprintf(out, len, "1 %s, %s", what, a);
    else
        snprintf(out, len, "%llu %ss, %s .. %s", (unsigned long long)o->count, what, a, b);
}

/* Text fit for a YAML comment: printable ASCII, at most max bytes. */
static void comment_text(const char *s, size_t len, char *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < len && s[i] && k + 1 < max; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[k] = '\0';
}

static void org_of(const asn_db *db, const lr_asn *e, char *out, size_t len)
{
    asn_info ai;
    snprintf(out, len, "?");
    for (unsigned k = 0; db && k < e->n_ex; k++)
        if (asn_lookup(db, e->ex[k].family, e->ex[k].a, &ai) == 1 && ai.number == e->asn &&
            ai.org) {
            comment_text(ai.org, ai.org_len, out, len);
            return;
        }
}

/* The characters of s inside a YAML double-quoted scalar. */
static void put_quoted_body(FILE *f, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f)
            fprintf(f, "\\x%02x", *c);
        else
            fputc(*c, f);
    }
}

/* A name in a comment: printable ASCII only. */
static void put_comment_name(FILE *f, const char *s)
{
    char t[DNS_NAME_TEXT_MAX];
    comment_text(s, strlen(s), t, sizeof t);
    fputs(t, f);
}

/* A name pattern as a YAML scalar: plain when it is letters, digits, '.', '-', '_' only,
 * double-quoted otherwise ("*.example.org"). */
static void put_name(FILE *f, const char *s)
{
    /* Plain only when YAML cannot read it as anything but text: letters, digits, '.',
     * '-', '_', at least one letter, and not one of YAML 1.1's null and boolean words. */
    static const char *const words[] = {"null", "true", "false", "yes", "no", "on", "off",
                                        "y", "n"};
    bool plain = *s != '\0' && *s != '-' && *s != '.', letter = false;
    for (const char *c = s; *c && plain; c++) {
        plain = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' ||
                *c == '-' || *c == '_';
        letter |= *c >= 'a' && *c <= 'z';
    }
    plain &= letter;
    for (size_t i = 0; plain && i < sizeof words / sizeof *words; i++)
        plain = strcmp(s, words[i]) != 0;
    if (plain) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    put_quoted_body(f, s);
    fputc('"', f);
}

static int cmp_asn_e(const void *a, const void *b)
{
    const lr_asn *x = a, *y = b;
    return x->asn < y->asn ? -1 : x->asn > y->asn;
}

static int cmp_res_e(const void *a, const void *b)
{
    return cmp_lr_addr(&((const lr_res *)a)->addr, &((const lr_res *)b)->addr);
}

static int cmp_tgt_e(const void *a, const void *b)
{
    return strcmp(((const lr_target *)a)->name, ((const lr_target *)b)->name);
}

static void ex_list(const lr_addr *ex, unsigned n, char *out, size_t len)
{
    size_t k = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < n && k < len; i++) {
        char ip[DNS_IPV6_TEXT_MAX];
        dns_format_ip(ex[i].family, ex[i].a, ip);
        k += (size_t)snprintf(out + k, len - k, "%s%s", i ? ", " : "", ip);
    }
}

/* The kept (count >= min) items of a name, after aggregation: what decides the rule. */
typedef struct lr_view {
    lr_name *n;                /* sorted tables */
    uint32_t asn[256];
    size_t n_asn;
    bool asn_beyond;           /* more kept ASNs than the key holds */
    learn_prefix *pfx;         /* aggregated kept units (owned) */
    size_t n_pfx;
    char *key;                 /* "asn:1,2 pfx:a/24,..." (owned); "" when no address */
} lr_view;

static void view_free(lr_view *v)
{
    free(v->pfx);
    free(v->key);
}

/* Sorts n's tables and works out its kept ASNs and prefixes. 0 or -ENOMEM. */
static int view_make(lr_view *v, lr_name *n, uint64_t min)
{
    memset(v, 0, sizeof *v);
    v->n = n;
    if (n->n_asn)
        qsort(n->asn, n->n_asn, sizeof *n->asn, cmp_asn_e);
    if (n->n_res)
        qsort(n->res, n->n_res, sizeof *n->res, cmp_res_e);
    if (n->n_tgt)
        qsort(n->tgt, n->n_tgt, sizeof *n->tgt, cmp_tgt_e);
    for (size_t i = 0; i < n->n_asn; i++)
        if (n->asn[i].o.count >= min) {
            if (v->n_asn == sizeof v->asn / sizeof v->asn[0]) {
                v->asn_beyond = true;
                break;
            }
            v->asn[v->n_asn++] = n->asn[i].asn;
        }
    if (n->n_unit) {
        v->pfx = malloc(n->n_unit * sizeof *v->pfx);
        if (!v->pfx)
            return -ENOMEM;
        for (size_t i = 0; i < n->n_unit; i++)
            if (n->unit[i].count >= min)
                v->pfx[v->n_pfx++] = n->unit[i];
        v->n_pfx = learn_prefixes_aggregate(v->pfx, v->n_pfx);
    }
    size_t cap = 16 + v->n_asn * 12 + v->n_pfx * 68, k = 0;
    v->key = malloc(cap);
    if (!v->key)
        return -ENOMEM;
    v->key[0] = '\0';
    for (size_t i = 0; i < v->n_asn; i++)
        k += (size_t)snprintf(v->key + k, cap - k, "%s%u", i ? "," : "asn:", v->asn[i]);
    for (size_t i = 0; i < v->n_pfx; i++) {
        char p[64];
        prefix_format(v->pfx[i].family, v->pfx[i].addr, v->pfx[i].plen, p);
        k += (size_t)snprintf(v->key + k, cap - k, "%s%s", i ? "," : " pfx:", p);
    }
    return 0;
}

/* The set name of an ASN list: "as54113", "as14618-16509". */
static void set_name(const uint32_t *asn, size_t n, char *out, size_t len)
{
    size_t k = (size_t)snprintf(out, len, "as");
    for (size_t i = 0; i < n && k < len; i++)
        k += (size_t)snprintf(out + k, len - k, "%s%u", i ? "-" : "", asn[i]);
    if (k >= len) /* too many to spell: the first, a count and a hash of them all */
        snprintf(out, len, "as%u-and-%zu-more-%08x", asn[0], n - 1,
                 hash_fnv32(HASH_FNV32_OFFSET, asn, n * sizeof *asn));
}

/* A rule id from a name: identifier characters only, at most 64. */
static void rule_id(const char *name, char *out, size_t len)
{
    size_t k = 0;
    const char *s = name;
    if (s[0] == '*') {
        k = (size_t)snprintf(out, len, "any");
        s++;
    }
    for (; *s && k + 1 < len && k < 64; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '_';
        out[k++] = ok ? c : '-';
    }
    out[k] = '\0';
}

typedef struct writer {
    FILE *f;
    const learner *L;
    uint64_t min;
} writer;

/* The comment lines of items below --min-count, under a list. */
static void put_below(FILE *f, const char *indent, const char *what, const lr_obs *o,
                      uint64_t min, const char *example)
{
    char a[32];
    fmt_time(o->first_us, a);
    fprintf(f, "%s# left out: %s seen %llu time%s, below --min-count %llu (first %s%s%s)\n",
            indent, what, (unsigned long long)o->count, o->count == 1 ? "" : "s",
            (unsigned long long)min, a, example ? ", e.g. " : "", example ? example : "");
}

static void put_prefix_comment(FILE *f, const char *indent, const learn_prefix *p,
                               const asn_db *db)
{
    char ev[160], ip[DNS_IPV6_TEXT_MAX], as[160] = "";
    lr_obs o = {p->count, p->first_us, p->last_us};
    fmt_obs(&o, "answer", ev, sizeof ev);
    dns_format_ip(p->family, p->example, ip);
    unsigned unit = p->family == 4 ? LEARN_V4_UNIT : LEARN_V6_UNIT;
    special_result sr = special_classify(p->family, p->example);
    asn_info ai;
    if (db && asn_lookup(db, p->family, p->example, &ai) == 1) {
        char org[128] = "?";
        if (ai.org)
            comment_text(ai.org, ai.org_len, org, sizeof org);
        snprintf(as, sizeof as, ", %s in AS%u %s", ip, ai.number, org);
    } else if (db) {
        snprintf(as, sizeof as, ", in no AS of the database");
    }
    fprintf(f, "%s# %s, e.g. %s; %u /%u%s seen%s%s%s\n", indent, ev, ip, p->n_units, unit,
            p->n_units == 1 ? "" : "s", as, sr.kind != SPECIAL_NONE ? ", special-purpose " : "",
            sr.kind != SPECIAL_NONE && sr.range ? sr.range : "");
}

static bool asn_kept(const lr_view *v, uint32_t asn)
{
    for (size_t i = 0; i < v->n_asn; i++)
        if (v->asn[i] == asn)
            return true;
    return false;
}

/* One rule for the names of a group (members[0..n) share their view's key). */
static void put_rule(writer *w, lr_view *const *members, size_t n, const char *id)
{
    FILE *f = w->f;
    const learner *L = w->L;
    lr_name g;
    memset(&g, 0, sizeof g);
    for (size_t i = 0; i < n; i++)
        lr_merge(&g, members[i]->n);
    /* What the rule expects is what every member's view holds (the group shares it): its
     * ASNs and prefixes, with the evidence of all members summed. */
    const lr_view *v0 = members[0];
    learn_prefix *gp = v0->n_pfx ? calloc(v0->n_pfx, sizeof *gp) : NULL;
    size_t n_gp = gp ? v0->n_pfx : 0;
    for (size_t i = 0; i < n_gp; i++) {
        gp[i] = v0->pfx[i];
        gp[i].count = 0;
        gp[i].n_units = 0;
        for (size_t k = 0; k < g.n_unit; k++) {
            const learn_prefix *u = &g.unit[k];
            if (u->count < w->min || !learn_prefix_contains(&gp[i], u->family, u->example))
                continue;
            if (!gp[i].count || u->first_us < gp[i].first_us)
                gp[i].first_us = u->first_us;
            if (!gp[i].count || u->last_us > gp[i].last_us)
                gp[i].last_us = u->last_us;
            if (!gp[i].n_units || memcmp(u->example, gp[i].example, 16) < 0)
                memcpy(gp[i].example, u->example, 16);
            gp[i].count += u->count;
            gp[i].n_units++;
        }
    }
    if (v0->n_pfx && !gp)
        fprintf(f, "# (out of memory writing the prefixes of rule %s)\n", id);
    char ev[200], ip[DNS_IPV6_TEXT_MAX], exs[160];

    fputs("---\n", f);
    fmt_obs(&g.resp, "response", ev, sizeof ev);
    fprintf(f, "# ");
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", f);
        put_comment_name(f, members[i]->n->pattern);
    }
    fprintf(f, ": %s\n", ev);
    if (g.no_addr)
        fprintf(f, "# %llu of them without an address (NXDOMAIN, NODATA, CNAME only)\n",
                (unsigned long long)g.no_addr);
    fputs("id: ", f);
    put_name(f, id);
    fputc('\n', f);
    fputs("title: \"Learned: ", f);
    put_quoted_body(f, members[0]->n->pattern);
    if (n > 1)
        fprintf(f, " and %zu more name%s", n - 1, n > 2 ? "s" : "");
    fprintf(f, " resolve%s as seen\"\n", n > 1 ? "" : "s");
    fputs("severity: high\n", f);
    fputs("tags: [attack.t1584.002, attack.t1557, attack.t1195.002]\n", f);
    fputs("match:\n  names:\n", f);
    for (size_t i = 0; i < n; i++) {
        fputs("    - ", f);
        put_name(f, members[i]->n->pattern);
        fputc('\n', f);
    }

    /* cname.allowed_targets: the targets seen (min-count applied to the group's counts),
     * generalised by the suffix rule; none seen: none allowed. */
    const char **kept = g.n_tgt ? malloc(g.n_tgt * sizeof *kept) : NULL;
    size_t *off = g.n_tgt ? calloc(g.n_tgt, sizeof *off) : NULL;
    const lr_target **kt = g.n_tgt ? malloc(g.n_tgt * sizeof *kt) : NULL;
    size_t n_kept = 0;
    for (size_t i = 0; kept && off && kt && i < g.n_tgt; i++)
        if (g.tgt[i].o.count >= w->min) {
            kt[n_kept] = &g.tgt[i];
            kept[n_kept++] = g.tgt[i].name;
        }
    learn_suffixes_generalise(kept, n_kept, learn_regdom_psl, NULL, off);
    fputs("cname:\n", f);
    if (n_kept == 0) {
        fprintf(f, "  # no CNAME seen%s: any CNAME is unexpected\n",
                g.n_tgt ? " often enough" : "");
        for (size_t i = 0; i < g.n_tgt; i++)
            put_below(f, "  ", g.tgt[i].name, &g.tgt[i].o, w->min, NULL);
        fputs("  allowed_targets: []\n", f);
    } else {
        fputs("  allowed_targets:\n", f);
        /* Patterns in name order: an exact target, or a wildcard with the targets it
         * covers (each wildcard written once, at its first target). */
        for (size_t i = 0; i < n_kept; i++) {
            const char *pat = kept[i] + off[i];
            bool first = true;
            for (size_t j = 0; j < i && first; j++)
                if (off[j] && off[i] && !strcmp(kept[j] + off[j], pat))
                    first = false;
            if (!first)
                continue;
            if (!off[i]) {
                fmt_obs(&kt[i]->o, "time", ev, sizeof ev);
                fprintf(f, "    # %s\n    - ", ev);
                put_name(f, kept[i]);
                fputc('\n', f);
                continue;
            }
            lr_obs sum = {0, 0, 0};
            size_t cover = 0;
            for (size_t j = 0; j < n_kept; j++)
                if (off[j] && !strcmp(kept[j] + off[j], pat)) {
                    obs_add(&sum, kt[j]->o.count, kt[j]->o.first_us, kt[j]->o.last_us);
                    cover++;
                }
            fmt_obs(&sum, "time", ev, sizeof ev);
            fprintf(f, "    # %zu targets below %s (3 or more under one suffix below the "
                       "registrable domain): %s\n", cover, pat, ev);
            size_t shown = 0;
            for (size_t j = 0; j < n_kept; j++)
                if (off[j] && !strcmp(kept[j] + off[j], pat) && shown < 8) {
                    fprintf(f, "    #   %s: %llu\n", kept[j],
                            (unsigned long long)kt[j]->o.count);
                    shown++;
                }
            if (cover > shown)
                fprintf(f, "    #   and %zu more\n", cover - shown);
            char wild[DNS_NAME_TEXT_MAX + 2];
            snprintf(wild, sizeof wild, "*.%s", pat);
            fputs("    - ", f);
            put_name(f, wild);
            fputc('\n', f);
        }
        for (size_t i = 0; i < g.n_tgt; i++)
            if (g.tgt[i].o.count < w->min)
                put_below(f, "    ", g.tgt[i].name, &g.tgt[i].o, w->min, NULL);
    }
    if (g.drop_tgt)
        fprintf(f, "  # %llu CNAME targets not kept: the table was full (--max-entries)\n",
                (unsigned long long)g.drop_tgt);
    if (g.bad_tgt)
        fprintf(f, "  # %llu CNAME targets not writable as a name pattern, left out\n",
                (unsigned long long)g.bad_tgt);
    free(kept);
    free(off);
    free(kt);

    /* expect */
    bool any_res = false;
    for (size_t i = 0; i < g.n_res; i++)
        any_res |= g.res[i].o.count >= w->min;
    fputs("expect:\n", f);
    if (v0->n_asn) {
        char sname[96];
        set_name(v0->asn, v0->n_asn, sname, sizeof sname);
        fputs("  asn:\n", f);
        for (size_t i = 0; i < g.n_asn; i++) {
            const lr_asn *e = &g.asn[i];
            if (!asn_kept(v0, e->asn))
                continue;
            char org[128];
            org_of(L->db, e, org, sizeof org);
            fmt_obs(&e->o, "answer", ev, sizeof ev);
            ex_list(e->ex, e->n_ex, exs, sizeof exs);
            fprintf(f, "    # AS%u %s: %s, e.g. %s\n", e->asn, org, ev, exs);
        }
        fprintf(f, "    - \"set:%s\"\n", sname);
        if (v0->asn_beyond)
            fprintf(f, "    # more ASNs than a rule written here holds: review the data\n");
    }
    for (size_t i = 0; i < g.n_asn; i++) {
        const lr_asn *e = &g.asn[i];
        if (asn_kept(v0, e->asn))
            continue;
        char org[128], what[160];
        org_of(L->db, e, org, sizeof org);
        snprintf(what, sizeof what, "AS%u %s", e->asn, org);
        ex_list(e->ex, e->n_ex, exs, sizeof exs);
        put_below(f, "  ", what, &e->o, w->min, exs);
    }
    bool rebind = false, sinkhole = false;
    if (v0->n_pfx) {
        fputs("  prefixes:\n", f);
        for (size_t i = 0; i < n_gp; i++) {
            char p[64];
            special_result sr = special_classify(gp[i].family, gp[i].example);
            rebind |= sr.kind != SPECIAL_NONE;
            sinkhole |= sr.kind == SPECIAL_SINKHOLE;
            put_prefix_comment(f, "    ", &gp[i], L->db);
            prefix_format(gp[i].family, gp[i].addr, gp[i].plen, p);
            fprintf(f, "    - \"%s\"\n", p);
        }
    }
    for (size_t i = 0; i < g.n_unit; i++) {
        bool in_rule = false;
        for (size_t k = 0; k < n_gp && !in_rule; k++)
            in_rule = g.unit[i].count >= w->min &&
                   learn_prefix_contains(&gp[k], g.unit[i].family, g.unit[i].example);
        if (in_rule)
            continue;
        char p[64], what[96];
        prefix_format(g.unit[i].family, g.unit[i].addr, g.unit[i].plen, p);
        snprintf(what, sizeof what, "prefix %s", p);
        dns_format_ip(g.unit[i].family, g.unit[i].example, ip);
        lr_obs o = {g.unit[i].count, g.unit[i].first_us, g.unit[i].last_us};
        put_below(f, "  ", what, &o, w->min, ip);
    }
    if (g.drop_asn || g.drop_unit)
        fprintf(f, "  # %llu answers not kept: the table was full (--max-entries); the "
                   "networks above may be incomplete\n",
                (unsigned long long)(g.drop_asn + g.drop_unit));
    if (g.musl_hidden)
        fprintf(f, "  # %llu responses carried addresses only musl's reading of the bytes "
                   "holds (a forger's trick):\n  # not learned; the rules judge them\n",
                (unsigned long long)g.musl_hidden);
    if (g.addrs_beyond)
        fprintf(f, "  # %llu addresses past %d in one response not learned\n",
                (unsigned long long)g.addrs_beyond, LEARN_MAX_ADDRS);
    if (any_res) {
        fputs("  resolvers:\n", f);
        for (size_t i = 0; i < g.n_res; i++) {
            if (g.res[i].o.count < w->min)
                continue;
            dns_format_ip(g.res[i].addr.family, g.res[i].addr.a, ip);
            fmt_obs(&g.res[i].o, "response", ev, sizeof ev);
            fprintf(f, "    # %s\n    - \"%s\"\n", ev, ip);
        }
    }
    for (size_t i = 0; i < g.n_res; i++) {
        if (g.res[i].o.count >= w->min)
            continue;
        char what[96];
        dns_format_ip(g.res[i].addr.family, g.res[i].addr.a, ip);
        snprintf(what, sizeof what, "resolver %s", ip);
        put_below(f, "  ", what, &g.res[i].o, w->min, NULL);
    }
    if (g.drop_res)
        fprintf(f, "  # %llu responses from resolvers not kept: the table was full\n",
                (unsigned long long)g.drop_res);
    if (!v0->n_asn && !v0->n_pfx && !any_res)
        fputs("  # no address and no resolver seen often enough to expect\n", f);
    if (g.has_ttl) {
        char at[32];
        fmt_time(g.ttl_at_us, at);
        /* ttl.max takes 1 to 2^31 - 1 (a larger TTL is one RFC 2181 reads as 0) */
        if (g.ttl_max > INT32_MAX) {
            fprintf(f, "# highest TTL seen: %u (%s, %s), beyond what ttl.max can hold: no "
                       "TTL check\n", g.ttl_max, g.ttl_owner, at);
        } else {
            fputs("ttl:\n", f);
            fprintf(f, "  # highest TTL seen: %u (%s, %s)\n", g.ttl_max, g.ttl_owner, at);
            fprintf(f, "  max: %u\n", g.ttl_max ? g.ttl_max : 1);
        }
    }
    if (rebind) {
        fputs("rebinding:\n", f);
        fputs("  # special-purpose addresses were answered (an internal name): allowed in "
              "the prefixes seen\n", f);
        fputs("  allow:\n", f);
        for (size_t i = 0; i < n_gp; i++) {
            special_result sr = special_classify(gp[i].family, gp[i].example);
            if (sr.kind == SPECIAL_NONE)
                continue;
            char p[64];
            prefix_format(gp[i].family, gp[i].addr, gp[i].plen, p);
            fprintf(f, "    - \"%s\"\n", p);
        }
        if (sinkhole)
            fputs("  sinkhole: allow\n", f);
    }
    free(gp);
    lr_name_free(&g);
}

static int cmp_view_key(const void *a, const void *b)
{
    const lr_view *x = *(const lr_view *const *)a, *y = *(const lr_view *const *)b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->n->pattern, y->n->pattern);
}

static int cmp_view_name(const void *a, const void *b)
{
    const lr_view *const *x = a, *const *y = b;
    return strcmp((*x)->n->pattern, (*y)->n->pattern);
}

/* The learned pack. Returns 0, or -ENOMEM. */
static int write_pack(learner *L, FILE *f, const char *db_path)
{
    writer w = {f, L, L->o->min_count};
    lr_view *views = calloc(L->n_names ? L->n_names : 1, sizeof *views);
    lr_view **order = calloc(L->n_names ? L->n_names : 1, sizeof *order);
    int rc = -ENOMEM;
    if (!views || !order)
        goto out;
    size_t n_seen = 0;
    for (size_t i = 0; i < L->n_names; i++) {
        if (!L->lr[i].resp.count)
            continue;
        if (view_make(&views[n_seen], &L->lr[i], w.min) != 0) {
            n_seen++;
            goto out;
        }
        order[n_seen] = &views[n_seen];
        n_seen++;
    }

    /* Header. */
    char a[32], b[32];
    fputs("# dnswatch rule pack learned by `dnswatch learn` from", f);
    if (L->o->iface)
        fprintf(f, " %llu s on %s", (unsigned long long)L->o->duration_s, L->o->iface);
    else if (L->o->dnstap && strncmp(L->o->dnstap, "file:", 5) == 0)
        fprintf(f, " dnstap %s", L->o->dnstap);
    else if (L->o->dnstap)
        fprintf(f, " %llu s of dnstap on %s", (unsigned long long)L->o->duration_s, L->o->dnstap);
    else {
        /* file names sorted, so the order of -r does not change the pack */
        const char *files[LEARN_MAX_INPUTS];
        memcpy(files, L->o->files, L->o->n_files * sizeof *files);
        qsort(files, L->o->n_files, sizeof *files, cmp_str);
        for (size_t i = 0; i < L->o->n_files; i++) {
            char t[256];
            comment_text(files[i], strlen(files[i]), t, sizeof t);
            fprintf(f, "%s%s", i ? ", " : " ", t);
        }
    }
    fputs(".\n", f);
    if (L->all.count) {
        fmt_time(L->all.first_us, a);
        fmt_time(L->all.last_us, b);
        fprintf(f, "# %llu responses, %s .. %s: %llu for the names asked, %llu for other "
                   "names (counted, not learned)",
                (unsigned long long)L->responses, a, b,
                (unsigned long long)L->responses_watched,
                (unsigned long long)L->responses_other);
        if (L->responses_no_question)
            fprintf(f, ", %llu without a question", (unsigned long long)L->responses_no_question);
        fputs(".\n", f);
    } else {
        fputs("# No DNS response in the input.\n", f);
    }
    if (db_path) {
        char t[256];
        comment_text(db_path, strlen(db_path), t, sizeof t);
        fprintf(f, "# ASN database: %s (%s). --min-count %llu, --max-entries %llu.\n", t,
                asn_db_type(L->db), (unsigned long long)w.min,
                (unsigned long long)L->o->max_entries);
    } else {
        fprintf(f, "# No ASN database: addresses as prefixes (the /24 or /48 of each, siblings "
                   "merged when both seen,\n# never wider than /16 or /32). --min-count %llu, "
                   "--max-entries %llu.\n",
                (unsigned long long)w.min, (unsigned long long)L->o->max_entries);
    }
    fputs("#\n"
          "# REVIEW BEFORE USE. Every expectation below is what was seen, not what should be:\n"
          "# check each network and CNAME target against the operator's published ranges, then\n"
          "# commit it (docs/rules.md, \"Learning rules\"). Lint: dnswatch check-rules FILE.\n",
          f);

    /* Sets: one per distinct ASN list, with each AS's evidence over all names. */
    if (n_seen)
        qsort(order, n_seen, sizeof *order, cmp_view_key);
    bool sets_open = false;
    for (size_t i = 0; i < n_seen; i++) {
        const lr_view *v = order[i];
        if (!v->n_asn)
            continue;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = order[j]->n_asn == v->n_asn &&
                  !memcmp(order[j]->asn, v->asn, v->n_asn * sizeof v->asn[0]);
        if (dup)
            continue;
        if (!sets_open) {
            fputs("\nsets:\n", f);
            sets_open = true;
        }
        char sname[96];
        set_name(v->asn, v->n_asn, sname, sizeof sname);
        for (size_t k = 0; k < v->n_asn; k++) {
            lr_obs o = {0, 0, 0};
            lr_asn agg;
            memset(&agg, 0, sizeof agg);
            size_t names = 0;
            for (size_t j = 0; j < n_seen; j++) {
                const lr_name *nm = order[j]->n;
                if (order[j]->n_asn != v->n_asn ||
                    memcmp(order[j]->asn, v->asn, v->n_asn * sizeof v->asn[0]))
                    continue;
                for (size_t e = 0; e < nm->n_asn; e++)
                    if (nm->asn[e].asn == v->asn[k]) {
                        obs_add(&o, nm->asn[e].o.count, nm->asn[e].o.first_us,
                                nm->asn[e].o.last_us);
                        if (!agg.n_ex)
                            agg = nm->asn[e];
                        names++;
                    }
            }
            char org[128], ev[160];
            org_of(L->db, &agg, org, sizeof org);
            fmt_obs(&o, "answer", ev, sizeof ev);
            fprintf(f, "  # AS%u %s: %s, for %zu name%s\n", v->asn[k], org, ev, names,
                    names == 1 ? "" : "s");
        }
        fprintf(f, "  %s: {asn: [", sname);
        for (size_t k = 0; k < v->n_asn; k++)
            fprintf(f, "%s%u", k ? ", " : "", v->asn[k]);
        fputs("]}\n", f);
    }

    /* Rules: names whose answers fall in the same networks share one; a name without an
     * address (key "") has a rule of its own. Written in the order of their first name. */
    size_t n_groups = 0;
    lr_view ***groups = calloc(n_seen ? n_seen : 1, sizeof *groups);
    size_t *group_n = calloc(n_seen ? n_seen : 1, sizeof *group_n);
    if (!groups || !group_n) {
        free(groups);
        free(group_n);
        goto out;
    }
    for (size_t i = 0; i < n_seen;) {
        size_t j = i + 1;
        if (order[i]->key[0])
            while (j < n_seen && !strcmp(order[j]->key, order[i]->key))
                j++;
        qsort(order + i, j - i, sizeof *order, cmp_view_name);
        groups[n_groups] = order + i;
        group_n[n_groups++] = j - i;
        i = j;
    }
    /* groups sorted by their first name (a small insertion sort: deterministic) */
    for (size_t i = 1; i < n_groups; i++)
        for (size_t j = i; j > 0 && strcmp(groups[j - 1][0]->n->pattern,
                                           groups[j][0]->n->pattern) > 0; j--) {
            lr_view **t = groups[j];
            size_t tn = group_n[j];
            groups[j] = groups[j - 1];
            group_n[j] = group_n[j - 1];
            groups[j - 1] = t;
            group_n[j - 1] = tn;
        }
    char (*ids)[72] = calloc(n_groups ? n_groups : 1, sizeof *ids);
    if (!ids) {
        free(groups);
        free(group_n);
        goto out;
    }
    for (size_t i = 0; i < n_groups; i++) {
        char base[72];
        rule_id(groups[i][0]->n->pattern, base, 65);
        snprintf(ids[i], sizeof ids[i], "%s", base);
        for (unsigned k = 2;; k++) {
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = !strcmp(ids[j], ids[i]);
            if (!dup)
                break;
            char num[16];
            int nl = snprintf(num, sizeof num, "-%u", k);
            snprintf(ids[i], sizeof ids[i], "%.*s%s", 64 - nl, base, num);
        }
        fputc('\n', f);
        put_rule(&w, groups[i], group_n[i], ids[i]);
    }
    free(ids);
    free(groups);
    free(group_n);

    bool unseen = false;
    for (size_t i = 0; i < L->n_names; i++)
        if (!L->lr[i].resp.count) {
            if (!unseen)
                fputs("\n# Names asked but not seen in any response (no rule written):\n", f);
            unseen = true;
            fputs("#   ", f);
            put_comment_name(f, L->lr[i].pattern);
            fputc('\n', f);
        }
    rc = 0;
out:
    for (size_t i = 0; views && i < L->n_names; i++)
        view_free(&views[i]);
    free(views);
    free(order);
    return rc;
}

/* --rules: what would have alerted, and the change that would have kept it quiet. */
static void write_comparison(learner *L, FILE *f)
{
    char a[32], b[32], ev[200], ip[DNS_IPV6_TEXT_MAX];
    fmt_time(L->all.first_us, a);
    fmt_time(L->all.last_us, b);
    fprintf(f, "# dnswatch learn --rules: %llu responses judged (%s .. %s), %llu would have "
               "raised an alert\n",
            (unsigned long long)L->responses_watched, L->all.count ? a : "-",
            L->all.count ? b : "-", (unsigned long long)L->alerting);
    size_t n_rules = ruleset_count(L->rs);
    bool any = false;
    for (size_t i = 0; i < n_rules; i++) {
        cmp_rule *cr = &L->cmp[i];
        const dw_rule *rule = ruleset_rule(L->rs, i);
        if (!cr->alerts)
            continue;
        any = true;
        fmt_obs(&cr->o, "alert", ev, sizeof ev);
        fprintf(f, "\nrule %s (%s:%u): %s\n", rule->id, rule->file, rule->line, ev);
        for (unsigned v = 0; v < DW_V_COUNT; v++) {
            const cmp_viol *cv = &cr->v[v];
            if (!cv->o.count)
                continue;
            fmt_obs(&cv->o, "time", ev, sizeof ev);
            fprintf(f, "  %s: %s", dw_violation_name(1u << v), ev);
            for (unsigned k = 0; k < cv->n_ex; k++)
                fprintf(f, "%s%s", k ? ", " : ", e.g. ", cv->ex[k]);
            fputc('\n', f);
        }

        /* The proposed change, as lines to add (+) and replace (-) in the rule. */
        lr_name *p = &cr->prop;
        lr_view pv;
        if (view_make(&pv, p, 1) != 0) {
            fprintf(f, "  (out of memory)\n");
            continue;
        }
        fprintf(f, "proposed change to %s (%s:%u), to review:\n", rule->id, rule->file,
                rule->line);
        uint32_t viol = 0;
        for (unsigned v = 0; v < DW_V_COUNT; v++)
            if (cr->v[v].o.count)
                viol |= 1u << v;
        if (p->n_tgt) {
            const char **names = malloc(p->n_tgt * sizeof *names);
            size_t *off = calloc(p->n_tgt, sizeof *off);
            if (names && off) {
                for (size_t k = 0; k < p->n_tgt; k++)
                    names[k] = p->tgt[k].name;
                learn_suffixes_generalise(names, p->n_tgt, learn_regdom_psl, NULL, off);
                fputs("   cname:\n     allowed_targets:\n", f);
                for (size_t k = 0; k < p->n_tgt; k++) {
                    bool first = true;
                    for (size_t j = 0; j < k && first; j++)
                        if (off[j] && off[k] && !strcmp(names[j] + off[j], names[k] + off[k]))
                            first = false;
                    if (!first)
                        continue;
                    lr_obs sum = {0, 0, 0};
                    size_t cover = 0;
                    for (size_t j = 0; j < p->n_tgt; j++)
                        if (j == k || (off[k] && off[j] &&
                                       !strcmp(names[j] + off[j], names[k] + off[k]))) {
                            obs_add(&sum, p->tgt[j].o.count, p->tgt[j].o.first_us,
                                    p->tgt[j].o.last_us);
                            cover++;
                        }
                    fmt_obs(&sum, "time", ev, sizeof ev);
                    if (off[k])
                        fprintf(f, "+      # %zu targets below %s (%s, ...) seen %s\n+      - ",
                                cover, names[k] + off[k], names[k], ev);
                    else
                        fprintf(f, "+      # seen %s\n+      - ", ev);
                    if (off[k]) {
                        char wild[DNS_NAME_TEXT_MAX + 2];
                        snprintf(wild, sizeof wild, "*.%s", names[k] + off[k]);
                        put_name(f, wild);
                    } else {
                        put_name(f, names[k]);
                    }
                    fputc('\n', f);
                }
            }
            free(names);
            free(off);
        }
        bool addr_change = p->n_asn || (pv.n_pfx && (viol & (DW_V_ASN_MISMATCH | DW_V_ASN_UNKNOWN |
                                                                DW_V_PREFIX_MISMATCH)));
        if (addr_change || p->n_res)
            fputs("   expect:\n", f);
        if (p->n_asn) {
            fputs("     asn:\n", f);
            for (size_t k = 0; k < p->n_asn; k++) {
                char org[128], exs[160];
                org_of(L->db, &p->asn[k], org, sizeof org);
                fmt_obs(&p->asn[k].o, "answer", ev, sizeof ev);
                ex_list(p->asn[k].ex, p->asn[k].n_ex, exs, sizeof exs);
                fprintf(f, "+      # AS%u %s: %s, e.g. %s\n+      - %u\n", p->asn[k].asn, org,
                        ev, exs, p->asn[k].asn);
            }
        }
        bool rebind_only = !(viol & (DW_V_ASN_MISMATCH | DW_V_ASN_UNKNOWN | DW_V_PREFIX_MISMATCH));
        if (pv.n_pfx && !rebind_only) {
            fputs("     prefixes:\n", f);
            for (size_t k = 0; k < pv.n_pfx; k++) {
                char px[64];
                put_prefix_comment(f, "+      ", &pv.pfx[k], L->db);
                prefix_format(pv.pfx[k].family, pv.pfx[k].addr, pv.pfx[k].plen, px);
                fprintf(f, "+      - \"%s\"\n", px);
            }
        }
        if (p->n_res) {
            fputs("     resolvers:\n", f);
            for (size_t k = 0; k < p->n_res; k++) {
                dns_format_ip(p->res[k].addr.family, p->res[k].addr.a, ip);
                fmt_obs(&p->res[k].o, "response", ev, sizeof ev);
                fprintf(f, "+      # %s\n+      - \"%s\"\n", ev, ip);
            }
        }
        if (p->has_ttl) {
            fputs("   ttl:\n", f);
            fprintf(f, "-    max: %u\n+    max: %u   # the highest TTL seen\n", rule->ttl_max,
                    p->ttl_max);
        }
        if (viol & (DW_V_REBINDING | DW_V_SINKHOLE)) {
            fputs("   rebinding:\n", f);
            if (viol & DW_V_REBINDING) {
                fputs("     allow:\n", f);
                for (size_t k = 0; k < pv.n_pfx; k++) {
                    special_result sr = special_classify(pv.pfx[k].family, pv.pfx[k].example);
                    if (sr.kind != SPECIAL_REBIND)
                        continue;
                    char px[64];
                    prefix_format(pv.pfx[k].family, pv.pfx[k].addr, pv.pfx[k].plen, px);
                    fprintf(f, "+      - \"%s\"   # %s\n", px, sr.range ? sr.range : "");
                }
            }
            if (viol & DW_V_SINKHOLE)
                fputs("+    sinkhole: allow\n", f);
        }
        if (viol & DW_V_DNSSEC_MISSING)
            fputs("   # dnssec_missing: the answers were not validated; fix the resolver, or\n"
                  "-  dnssec: {expect: signed}\n+  dnssec: {expect: unknown}\n", f);
        uint32_t other = viol & ~(uint32_t)(DW_V_ASN_MISMATCH | DW_V_ASN_UNKNOWN |
                                            DW_V_PREFIX_MISMATCH | DW_V_CNAME_UNEXPECTED |
                                            DW_V_UNEXPECTED_RESOLVER | DW_V_TTL_EXCEEDED |
                                            DW_V_REBINDING | DW_V_SINKHOLE |
                                            DW_V_DNSSEC_MISSING);
        for (unsigned v = 0; v < DW_V_COUNT; v++)
            if (other & (1u << v))
                fprintf(f, "   # %s: no rule change proposed; look at the alerts\n",
                        dw_violation_name(1u << v));
        if (p->drop_asn + p->drop_unit + p->drop_res + p->drop_tgt)
            fprintf(f, "   # %llu offending items not kept (--max-entries): the change above "
                       "is incomplete\n",
                    (unsigned long long)(p->drop_asn + p->drop_unit + p->drop_res + p->drop_tgt));
        view_free(&pv);
    }
    if (!any)
        fputs("\nno rule would have alerted: nothing to change\n", f);
}

/* ---- the command ---------------------------------------------------------------------- */

static void on_diag(void *ctx, const ruleset_diag *d)
{
    char line[1024];
    (void)ctx;
    ruleset_diag_format(d, line, sizeof line);
    fprintf(stderr, "%s\n", line);
}

int learn_main(int argc, char **argv)
{
    learn_opts o;
    int status = parse_args(&o, argc, argv);
    if (status != 1)
        return status;
    status = 1;

    /* (the learner holds one response's addresses and chain: too large for the stack) */
    learner *Lp = calloc(1, sizeof *Lp);
    if (!Lp) {
        fprintf(stderr, "dnswatch learn: out of memory\n");
        return 1;
    }
#define L (*Lp)
    L.o = &o;
    asn_db *db = NULL;
    ruleset *rs = NULL;
    FILE *out = NULL;
    char *tmp_path = NULL;

    if (o.names_arg) {
        if (load_names(o.names_arg, &L.names, &L.n_names) != 0) {
            status = 2;
            goto out;
        }
        L.names_set = nameset_new();
        L.lr = calloc(L.n_names, sizeof *L.lr);
        if (!L.names_set || !L.lr)
            goto oom;
        for (size_t i = 0; i < L.n_names; i++) {
            L.lr[i].pattern = L.names[i];
            if (nameset_add(L.names_set, L.names[i], (uint32_t)i) != 0)
                goto oom;
        }
    }
    if (o.asn_db && strcmp(o.asn_db, "none") != 0) {
        char err[512];
        if (asn_db_open(o.asn_db, &db, err, sizeof err) != 0) {
            fprintf(stderr, "dnswatch learn: %s (or pass --asn-db none)\n", err);
            goto out;
        }
        L.db = db;
    }
    if (o.n_rule_paths) {
        if (ruleset_load(o.rule_paths, o.n_rule_paths, time(NULL), on_diag, NULL, &rs) != 0) {
            fprintf(stderr, "dnswatch learn: rules not loaded (fix the errors above)\n");
            goto out;
        }
        bool wants_asn = false;
        for (size_t i = 0; i < ruleset_count(rs); i++)
            wants_asn |= ruleset_rule(rs, i)->n_asn > 0;
        if (wants_asn && !o.asn_db) {
            fprintf(stderr, "dnswatch learn: the rules expect ASNs: pass --asn-db FILE.mmdb, "
                            "or --asn-db none to compare without ASN checks\n");
            status = 2;
            goto out;
        }
        track_limits tl;
        memset(&tl, 0, sizeof tl); /* every bound its default */
        L.rs = rs;
        L.ev = evaluator_new(rs, db, &tl);
        L.res = malloc(sizeof *L.res);
        L.cmp = calloc(ruleset_count(rs) ? ruleset_count(rs) : 1, sizeof *L.cmp);
        if (!L.ev || !L.res || !L.cmp)
            goto oom;
        for (size_t i = 0; i < ruleset_count(rs); i++)
            L.cmp[i].prop.pattern = ruleset_rule(rs, i)->id;
    } else if (!o.asn_db) {
        fprintf(stderr, "dnswatch learn: no --asn-db: learning prefixes, not ASNs\n");
    }
    L.msg = malloc(sizeof *L.msg);
    if (!L.msg)
        goto oom;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    dw_options io;
    options_default(&io);
    if (o.iface || o.dnstap) {
        io.iface = o.iface;
        io.dnstap[0] = o.dnstap; /* through the dnstap input (sensor/input_dnstap.c) */
        if (read_input(&L, &io, o.dnstap && !strncmp(o.dnstap, "file:", 5) ? 0 : o.duration_s) != 0)
            goto out;
    }
    for (size_t i = 0; i < o.n_files && !g_stop; i++) {
        io.pcap_file = o.files[i];
        if (read_input(&L, &io, 0) != 0)
            goto out;
    }
    if (g_stop && !o.iface && !o.dnstap) {
        fprintf(stderr, "dnswatch learn: interrupted\n");
        goto out;
    }

    /* Output: to a temporary file beside -o FILE, renamed over it once complete. */
    if (o.out && strcmp(o.out, "-") != 0) {
        size_t l = strlen(o.out) + 16;
        tmp_path = malloc(l);
        if (!tmp_path)
            goto oom;
        snprintf(tmp_path, l, "%s.tmp", o.out);
        out = fopen(tmp_path, "w");
        if (!out) {
            fprintf(stderr, "dnswatch learn: cannot write %s: %s\n", tmp_path, strerror(errno));
            goto out;
        }
    } else {
        out = stdout;
    }
    if (L.ev)
        write_comparison(&L, out);
    else if (write_pack(&L, out, db ? o.asn_db : NULL) != 0)
        goto oom;
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "dnswatch learn: writing %s failed\n", tmp_path ? tmp_path : "the output");
        goto out;
    }
    if (tmp_path) {
        if (fclose(out) != 0) {
            out = NULL;
            fprintf(stderr, "dnswatch learn: writing %s failed\n", tmp_path);
            goto out;
        }
        out = NULL;
        if (rename(tmp_path, o.out) != 0) {
            fprintf(stderr, "dnswatch learn: cannot rename %s to %s: %s\n", tmp_path, o.out,
                    strerror(errno));
            goto out;
        }
        free(tmp_path);
        tmp_path = NULL;
    }

    /* What was read, and what was not kept, on stderr. */
    uint64_t dropped = 0;
    for (size_t i = 0; i < L.n_names; i++)
        dropped += L.lr[i].drop_asn + L.lr[i].drop_unit + L.lr[i].drop_res + L.lr[i].drop_tgt;
    fprintf(stderr, "dnswatch learn: %llu DNS messages, %llu responses: %llu %s, %llu for "
                    "other names\n",
            (unsigned long long)L.messages, (unsigned long long)L.responses,
            (unsigned long long)L.responses_watched,
            L.ev ? "judged" : "for the names asked", (unsigned long long)L.responses_other);
    if (dropped)
        fprintf(stderr, "dnswatch learn: warning: %llu observations not kept, tables full "
                        "(--max-entries %llu); the pack says where\n",
                (unsigned long long)dropped, (unsigned long long)o.max_entries);
    size_t unseen = 0;
    for (size_t i = 0; !L.ev && i < L.n_names; i++)
        unseen += L.lr[i].resp.count == 0;
    if (unseen)
        fprintf(stderr, "dnswatch learn: warning: %zu of the %zu names asked had no response: "
                        "no rule for them (listed at the end of the pack)\n", unseen, L.n_names);
    uint64_t musl = 0, badt = 0;
    for (size_t i = 0; i < L.n_names; i++) {
        musl += L.lr[i].musl_hidden;
        badt += L.lr[i].bad_tgt;
    }
    if (musl)
        fprintf(stderr, "dnswatch learn: warning: %llu responses for the names asked hide "
                        "addresses only musl would read: not learned (the pack says where)\n",
                (unsigned long long)musl);
    if (badt)
        fprintf(stderr, "dnswatch learn: warning: %llu CNAME targets cannot be written as a "
                        "name pattern: left out (the pack says where)\n",
                (unsigned long long)badt);
    if (L.aliases_beyond)
        fprintf(stderr, "dnswatch learn: warning: %llu responses with more than %d CNAME/DNAME "
                        "records: the chain was followed through the first %d\n",
                (unsigned long long)L.aliases_beyond, LEARN_MAX_ALIASES, LEARN_MAX_ALIASES);
    dw_counters_print(&L.counters, stderr); /* packets and malformed input by reason */
    status = 0;
    goto out;
oom:
    fprintf(stderr, "dnswatch learn: out of memory\n");
out:
    if (out && out != stdout)
        fclose(out);
    if (tmp_path) {
        remove(tmp_path);
        free(tmp_path);
    }
    for (size_t i = 0; i < L.n_names; i++) {
        if (L.lr)
            lr_name_free(&L.lr[i]);
        free(L.names[i]);
    }
    for (size_t i = 0; L.cmp && i < ruleset_count(rs); i++)
        lr_name_free(&L.cmp[i].prop);
    free(L.cmp);
    free(L.names);
    free(L.lr);
    nameset_free(L.names_set);
    evaluator_free(L.ev);
    free(L.res);
    free(L.msg);
    ruleset_free(rs);
    asn_db_close(db);
    free(Lp);
#undef L
    return status;
}
