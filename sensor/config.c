#include "sensor/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "common/num.h"
#include "rules/suggest.h"
#include "rules/yamlnode.h"
#include "sensor/metrics.h"
#include "sensor/redisurl.h"

#define CFG_MAX_FILE_BYTES (1u << 20)
#define CFG_MAX_DIAGS 200

/* One string of the chain: the chain is the arena; a config holds a few dozen strings. */
struct config_mem {
    struct config_mem *next;
    char s[];
};

struct cfg {
    const char *path;
    char dir[PATH_MAX];          /* of path: relative paths in the file are relative to it */
    yaml_document_t *doc;
    dw_options o;                /* the working copy, committed on success */
    struct config_mem *mem;      /* strings of this load */
    config_diag_fn fn;
    void *ctx;
    config_diag *diags;          /* held back to be given in file order */
    size_t n_diags, dropped;
    unsigned errors, warnings;
    bool oom;
};

void config_mem_free(struct config_mem *m)
{
    while (m) {
        struct config_mem *next = m->next;
        free(m);
        m = next;
    }
}

static char *cstrdup(struct cfg *C, const char *s)
{
    size_t n = strlen(s);
    struct config_mem *m = malloc(sizeof *m + n + 1);
    if (!m) {
        C->oom = true;
        return NULL;
    }
    memcpy(m->s, s, n + 1);
    m->next = C->mem;
    C->mem = m;
    return m->s;
}

/* ---- diagnostics --------------------------------------------------------------------- */

__attribute__((format(printf, 5, 0))) static void vdiag_at(struct cfg *C, bool err,
                                                             unsigned line, unsigned col,
                                                             const char *fmt, va_list ap)
{
    if (err)
        C->errors++;
    else
        C->warnings++;
    if (!C->fn)
        return;
    if (C->n_diags % 16 == 0) {
        config_diag *nd = C->n_diags < CFG_MAX_DIAGS
                              ? realloc(C->diags, (C->n_diags + 16) * sizeof *nd) : NULL;
        if (!nd) {
            C->dropped++;
            return;
        }
        C->diags = nd;
    }
    config_diag *d = &C->diags[C->n_diags++];
    *d = (config_diag){.file = C->path, .line = line, .col = col, .is_error = err};
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
}

__attribute__((format(printf, 5, 6))) static void diag_at(struct cfg *C, bool err, unsigned line,
                                                            unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdiag_at(C, err, line, col, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void diag(struct cfg *C, bool err,
                                                         const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdiag_at(C, err, (unsigned)n->start_mark.line + 1, (unsigned)n->start_mark.column + 1, fmt,
             ap);
    va_end(ap);
}

static void flush_diags(struct cfg *C)
{
    /* Insertion sort: stable (same place: the order found), and n <= CFG_MAX_DIAGS. */
    for (size_t i = 1; i < C->n_diags; i++) {
        config_diag d = C->diags[i];
        size_t j = i;
        while (j > 0 && (C->diags[j - 1].line > d.line ||
                         (C->diags[j - 1].line == d.line && C->diags[j - 1].col > d.col))) {
            C->diags[j] = C->diags[j - 1];
            j--;
        }
        C->diags[j] = d;
    }
    for (size_t i = 0; C->fn && i < C->n_diags; i++)
        C->fn(C->ctx, &C->diags[i]);
    if (C->fn && C->dropped) {
        config_diag d = {.file = C->path, .is_error = C->errors > 0};
        snprintf(d.msg, sizeof d.msg, "%zu more diagnostics not shown", C->dropped);
        C->fn(C->ctx, &d);
    }
    free(C->diags);
    C->diags = NULL;
    C->n_diags = 0;
}

/* ---- the schema ---------------------------------------------------------------------- */

enum { T_INTERFACE, T_RULES, T_ASN_DB, T_OUTPUT, T_REDIS, T_WORKERS, T_LOG, T_USER,
       T_ALLOW_ROOT, T_NAME, T_FILTER, T_PORTS, T_FOLD, T_CAPTURE, T_LIMITS, T_METRICS, T_N };
static const char *const top_keys[T_N] = {
    "interface", "rules", "asn_db", "output", "redis", "workers", "log", "user",
    "allow_root", "name", "filter", "ports", "fold_seconds", "capture", "limits", "metrics",
};

enum { R_URL, R_MODE, R_KEY, R_MAXLEN, R_LIST_PUSH, R_PASSWORD_FILE, R_SPOOL_DIR,
       R_SPOOL_MAX, R_BATCH, R_QUEUE, R_QUEUE_BYTES, R_N };
static const char *const redis_keys[R_N] = {
    "url", "mode", "key", "maxlen", "list_push", "password_file", "spool_dir",
    "spool_max_bytes", "batch", "queue", "queue_bytes",
};

enum { C_SNAPLEN, C_BUFFER_MB, C_PROMISC, C_TIMEOUT_MS, C_N };
static const char *const capture_keys[C_N] = {"snaplen", "buffer_mb", "promisc", "timeout_ms"};

enum { L_FRAG_DATAGRAMS, L_FRAG_BYTES, L_TCP_FLOWS, L_TCP_BYTES, L_TRACK_QUERIES, L_N };
static const char *const limits_keys[L_N] = {
    "frag_datagrams", "frag_bytes", "tcp_flows", "tcp_bytes", "track_queries",
};

enum { M_LISTEN, M_TEXTFILE, M_INTERVAL, M_N };
static const char *const metrics_keys[M_N] = {"listen", "textfile", "interval_s"};

static const struct section {
    const char *name; /* "" = the top level */
    const char *const *keys;
    size_t n;
} sections[] = {
    {"", top_keys, T_N},
    {"redis", redis_keys, R_N},
    {"capture", capture_keys, C_N},
    {"limits", limits_keys, L_N},
    {"metrics", metrics_keys, M_N},
};

/* Flag spellings and other names people write for a key. */
static const struct {
    const char *alias, *key, *section;
} aliases[] = {
    {"iface", "interface", ""},     {"asn-db", "asn_db", ""},     {"fold", "fold_seconds", ""},
    {"bpf", "filter", ""},          {"observer", "name", ""},     {"observer_name", "name", ""},
    {"allow-root", "allow_root", ""}, {"rule_paths", "rules", ""}, {"stream", "key", "redis"},
    {"channel", "key", "redis"},    {"spool", "spool_dir", "redis"},
    {"promiscuous", "promisc", "capture"}, {"buffer", "buffer_mb", "capture"},
    {"timeout", "timeout_ms", "capture"}, {"interval", "interval_s", "metrics"},
};

static const char *where_text(const char *section, char *buf, size_t len)
{
    if (!*section)
        snprintf(buf, len, "at the top level");
    else
        snprintf(buf, len, "under \"%s\"", section);
    return buf;
}


static void unknown_key(struct cfg *C, const yaml_node_t *k, const char *section,
                        const char *const *keys, size_t nk)
{
    const char *key = sval(k);
    char here[48], there[48];
    where_text(section, here, sizeof here);
    if (!strcmp(key, "password") && !strcmp(section, "redis")) {
        diag(C, true, k, "unknown key \"password\" under \"redis\": a password is never written "
                         "in the config; put it in a file readable only by the sensor and set "
                         "\"password_file\", or set $DNSWATCH_REDIS_PASSWORD");
        return;
    }
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++) {
        if (strcasecmp(key, aliases[i].alias))
            continue;
        if (!strcmp(aliases[i].section, section))
            diag(C, true, k, "unknown key \"%s\" %s; did you mean \"%s\"?", key, here,
                 aliases[i].key);
        else
            diag(C, true, k, "unknown key \"%s\" %s; did you mean \"%s\" (%s)?", key, here,
                 aliases[i].key, where_text(aliases[i].section, there, sizeof there));
        return;
    }
    const char *near = suggest_nearest(key, keys, nk);
    if (near) {
        diag(C, true, k, "unknown key \"%s\" %s; did you mean \"%s\"?", key, here, near);
        return;
    }
    /* Right key, wrong level? Or a typo of a key of another level? */
    const char *best = NULL, *home = NULL;
    unsigned bd = 3;
    for (size_t s = 0; s < sizeof sections / sizeof *sections; s++) {
        if (!strcmp(sections[s].name, section))
            continue;
        for (size_t i = 0; i < sections[s].n; i++) {
            unsigned d = suggest_distance(key, sections[s].keys[i]);
            if (d < bd && (d == 0 || d < strlen(key))) {
                bd = d;
                best = sections[s].keys[i];
                home = sections[s].name;
            }
        }
    }
    if (best && bd == 0) {
        diag(C, true, k, "unknown key \"%s\" %s; it belongs %s", key, here,
             where_text(home, there, sizeof there));
    } else if (best) {
        diag(C, true, k, "unknown key \"%s\" %s; did you mean \"%s\" (%s)?", key, here, best,
             where_text(home, there, sizeof there));
    } else {
        char list[320];
        suggest_join(list, sizeof list, keys, nk);
        diag(C, true, k, "unknown key \"%s\" %s; valid keys: %s", key, here, list);
    }
}

/* ---- YAML helpers -------------------------------------------------------------------- */

static yaml_node_t *node(struct cfg *C, int i) { return yaml_document_get_node(C->doc, i); }


/* Fills vals[i] with the value of keys[i] (NULL if absent or null: a key written without
 * a value keeps the default), reporting unknown, duplicate and non-text keys. */
static void map_get(struct cfg *C, const yaml_node_t *map, const char *section,
                    const char *const *keys, size_t nk, yaml_node_t **vals)
{
    const yaml_node_t *kn[T_N] = {0};
    bool seen[T_N] = {0};
    for (size_t i = 0; i < nk; i++)
        vals[i] = NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(C, p->key), *v = node(C, p->value);
        if (!k || !v)
            continue;
        if (k->type != YAML_SCALAR_NODE) {
            char here[48];
            diag(C, true, k, "a key %s must be text, found %s",
                 where_text(section, here, sizeof here), type_name(k));
            continue;
        }
        size_t i = 0;
        while (i < nk && strcmp(keys[i], sval(k)))
            i++;
        if (i == nk) {
            unknown_key(C, k, section, keys, nk);
        } else if (seen[i]) {
            diag(C, true, k, "duplicate key \"%s\"; the first is on line %u", keys[i],
                 (unsigned)kn[i]->start_mark.line + 1);
        } else {
            seen[i] = true;
            kn[i] = k;
            vals[i] = is_null(v) ? NULL : v;
        }
    }
}

static const char *want_text(struct cfg *C, const yaml_node_t *n, const char *what,
                             bool allow_empty)
{
    if (n->type != YAML_SCALAR_NODE) {
        diag(C, true, n, "\"%s\" must be text, found %s", what, type_name(n));
        return NULL;
    }
    if (strlen(sval(n)) != n->data.scalar.length) {
        diag(C, true, n, "\"%s\" contains a NUL character", what);
        return NULL;
    }
    if (!allow_empty && !*sval(n)) {
        diag(C, true, n, "\"%s\" must not be empty", what);
        return NULL;
    }
    return sval(n);
}

/* A copy owned by the options, or NULL (reported). */
static const char *get_str(struct cfg *C, const yaml_node_t *n, const char *what, bool allow_empty)
{
    const char *s = want_text(C, n, what, allow_empty);
    return s ? cstrdup(C, s) : NULL;
}

static bool get_uint(struct cfg *C, const yaml_node_t *n, const char *what, uint64_t lo,
                     uint64_t hi, uint64_t *out)
{
    const char *s = want_text(C, n, what, true);
    if (!s)
        return false;
    uint64_t v;
    if (num_parse_u64(s, lo, hi, &v) != 0) {
        diag(C, true, n, "\"%s\" must be a whole number from %llu to %llu, not \"%.80s\"", what,
             (unsigned long long)lo, (unsigned long long)hi, s);
        return false;
    }
    *out = v;
    return true;
}

/* A byte count: digits, optionally followed by K, M, G or T (powers of 1024; "KiB",
 * "KB" and "k" mean the same). */
static bool get_size(struct cfg *C, const yaml_node_t *n, const char *what, uint64_t lo,
                     uint64_t hi, uint64_t *out)
{
    const char *s = want_text(C, n, what, true);
    if (!s)
        return false;
    uint64_t v = 0;
    size_t nd = num_digits(s);
    const char *p = s + nd;
    bool ok = num_parse_u64n(s, nd, 0, UINT64_MAX, &v) == 0;
    unsigned shift = 0;
    if (ok && *p) {
        static const char units[] = "KMGT";
        const char *u = strchr(units, toupper((unsigned char)*p));
        if (!u) {
            ok = false;
        } else {
            shift = 10u * (unsigned)(u - units + 1);
            p++;
            if (!strcasecmp(p, "iB") || !strcasecmp(p, "B"))
                p += strlen(p);
            ok = !*p && v <= (UINT64_MAX >> shift);
            v <<= shift;
        }
    }
    if (!ok || v < lo || v > hi) {
        diag(C, true, n, "\"%s\" must be a size from %llu to %llu bytes (a number, optionally "
                         "with K, M, G or T), not \"%.80s\"", what, (unsigned long long)lo,
             (unsigned long long)hi, s);
        return false;
    }
    *out = v;
    return true;
}

static bool get_bool(struct cfg *C, const yaml_node_t *n, const char *what, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    const char *s = want_text(C, n, what, true);
    if (!s)
        return false;
    for (size_t i = 0; i < 3; i++) {
        if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
            *out = !strcasecmp(s, yes[i]);
            return true;
        }
    }
    diag(C, true, n, "\"%s\" must be true or false, not \"%.80s\"", what, s);
    return false;
}

static int get_enum(struct cfg *C, const yaml_node_t *n, const char *what,
                    const char *const *names, size_t nn)
{
    const char *s = want_text(C, n, what, true);
    if (!s)
        return -1;
    for (size_t i = 0; i < nn; i++)
        if (!strcmp(s, names[i]))
            return (int)i;
    char list[128];
    suggest_join(list, sizeof list, names, nn);
    const char *near = suggest_nearest(s, names, nn);
    if (near)
        diag(C, true, n, "bad %s \"%.80s\"; did you mean \"%s\"? (valid: %s)", what, s, near, list);
    else
        diag(C, true, n, "bad %s \"%.80s\"; valid: %s", what, s, list);
    return -1;
}

/* A path from the file: relative ones are taken from the config file's directory, so a
 * config and the rules beside it can move together. */
static const char *get_path(struct cfg *C, const yaml_node_t *n, const char *what)
{
    const char *s = want_text(C, n, what, false);
    if (!s)
        return NULL;
    if (s[0] == '/' || !C->dir[0])
        return cstrdup(C, s);
    char buf[PATH_MAX];
    int w = snprintf(buf, sizeof buf, "%s/%s", C->dir, s);
    if (w < 0 || (size_t)w >= sizeof buf) {
        diag(C, true, n, "\"%s\": path too long", what);
        return NULL;
    }
    return cstrdup(C, buf);
}

enum must { MUST_FILE, MUST_FILE_OR_DIR, MUST_DIR };

static bool check_exists(struct cfg *C, const yaml_node_t *n, const char *what, const char *path,
                         enum must must)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        diag(C, true, n, "\"%s\": %s: %s", what, path, strerror(errno));
        return false;
    }
    bool dir = S_ISDIR(st.st_mode);
    if ((must == MUST_FILE && !S_ISREG(st.st_mode)) || (must == MUST_DIR && !dir) ||
        (must == MUST_FILE_OR_DIR && !dir && !S_ISREG(st.st_mode))) {
        diag(C, true, n, "\"%s\": %s is not a %s", what, path,
             must == MUST_FILE ? "regular file" : must == MUST_DIR ? "directory"
                                                                    : "file or directory");
        return false;
    }
    return true;
}

/* ---- sections ------------------------------------------------------------------------- */

static void parse_rules(struct cfg *C, const yaml_node_t *n)
{
    C->o.n_rule_paths = 0;
    if (n->type == YAML_SCALAR_NODE) {
        const char *p = get_path(C, n, "rules");
        if (p && check_exists(C, n, "rules", p, MUST_FILE_OR_DIR))
            C->o.rule_paths[C->o.n_rule_paths++] = p;
        return;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        diag(C, true, n, "\"rules\" must be a list of files or directories, found %s",
             type_name(n));
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = node(C, *it);
        if (!e)
            continue;
        if (C->o.n_rule_paths == DW_MAX_RULE_PATHS) {
            diag(C, true, e, "\"rules\": at most %d paths; name a directory instead",
                 DW_MAX_RULE_PATHS);
            return;
        }
        const char *p = get_path(C, e, "rules");
        if (p && check_exists(C, e, "rules", p, MUST_FILE_OR_DIR))
            C->o.rule_paths[C->o.n_rule_paths++] = p;
    }
}

static void parse_ports(struct cfg *C, const yaml_node_t *n)
{
    dw_decoder_config *d = &C->o.decoder;
    uint64_t v;
    if (n->type == YAML_SCALAR_NODE) {
        if (get_uint(C, n, "ports", 1, 65535, &v)) {
            d->ports[0] = (uint16_t)v;
            d->n_ports = 1;
        }
        return;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        diag(C, true, n, "\"ports\" must be a list of port numbers, found %s", type_name(n));
        return;
    }
    unsigned k = 0;
    uint16_t ports[DW_MAX_PORTS];
    bool ok = true;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = node(C, *it);
        if (!e)
            continue;
        if (k == DW_MAX_PORTS) {
            diag(C, true, e, "\"ports\": at most %d ports", DW_MAX_PORTS);
            return;
        }
        if (get_uint(C, e, "ports", 1, 65535, &v))
            ports[k++] = (uint16_t)v;
        else
            ok = false;
    }
    if (!k) {
        diag(C, true, n, "\"ports\" is empty; leave it out for the default (53)");
        return;
    }
    if (ok) {
        memcpy(d->ports, ports, k * sizeof *ports);
        d->n_ports = k;
    }
}

/* The filter must compile; against Ethernet, the link type of span ports. */
static void check_filter(struct cfg *C, const yaml_node_t *n, const char *expr)
{
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    if (!p) {
        C->oom = true;
        return;
    }
    struct bpf_program prog;
    if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
        diag(C, true, n, "\"filter\" does not compile: %s", pcap_geterr(p));
    else
        pcap_freecode(&prog);
    pcap_close(p);
}

static void parse_redis(struct cfg *C, const yaml_node_t *map)
{
    static const char *const modes[] = {"stream", "list", "channel"};
    static const char *const pushes[] = {"lpush", "rpush"};
    publish_config *r = &C->o.redis;
    yaml_node_t *v[R_N];
    uint64_t u;
    int e;
    map_get(C, map, "redis", redis_keys, R_N, v);
    if (v[R_URL] && (r->url = get_str(C, v[R_URL], "redis.url", false))) {
        /* The parser `run` uses: check-config accepts no URL that run refuses. */
        redis_url parsed;
        char err[512];
        if (redisurl_parse(r->url, &parsed, err, sizeof err) != 0)
            diag(C, true, v[R_URL], "\"redis.url\": %s", err);
    }
    if (v[R_MODE] && (e = get_enum(C, v[R_MODE], "redis.mode", modes, 3)) >= 0)
        r->mode = (enum publish_mode)e;
    if (v[R_KEY])
        r->key = get_str(C, v[R_KEY], "redis.key", false);
    if (v[R_MAXLEN] && get_uint(C, v[R_MAXLEN], "redis.maxlen", 0, UINT32_MAX, &u))
        r->maxlen = (unsigned long)u;
    if (v[R_LIST_PUSH] && (e = get_enum(C, v[R_LIST_PUSH], "redis.list_push", pushes, 2)) >= 0)
        r->list_rpush = e == 1;
    if (v[R_PASSWORD_FILE]) {
        const char *p = get_path(C, v[R_PASSWORD_FILE], "redis.password_file");
        struct stat st;
        if (p && check_exists(C, v[R_PASSWORD_FILE], "redis.password_file", p, MUST_FILE)) {
            r->password_file = p;
            if (stat(p, &st) == 0 && (st.st_mode & 0007))
                diag(C, false, v[R_PASSWORD_FILE], "\"redis.password_file\": %s is readable by "
                     "every user; chmod o-rwx it", p);
        }
    }
    if (v[R_SPOOL_DIR])
        r->spool_dir = get_path(C, v[R_SPOOL_DIR], "redis.spool_dir");
    if (v[R_SPOOL_MAX] &&
        get_size(C, v[R_SPOOL_MAX], "redis.spool_max_bytes", 0, (uint64_t)1 << 42, &u))
        r->spool_max_bytes = u;
    if (v[R_BATCH] && get_uint(C, v[R_BATCH], "redis.batch", 1, 100000, &u))
        r->batch_max = (unsigned)u;
    if (v[R_QUEUE] && get_uint(C, v[R_QUEUE], "redis.queue", 1, 1u << 24, &u))
        r->queue_max = (unsigned)u;
    if (v[R_QUEUE_BYTES] &&
        get_size(C, v[R_QUEUE_BYTES], "redis.queue_bytes", 1u << 20, (uint64_t)1 << 40, &u))
        r->queue_max_bytes = u;
    if (v[R_LIST_PUSH] && v[R_MODE] && r->mode != PUB_LIST)
        diag(C, false, v[R_LIST_PUSH], "\"redis.list_push\" has no effect unless redis.mode is "
                                       "list");
    if (v[R_MAXLEN] && v[R_MODE] && r->mode != PUB_STREAM)
        diag(C, false, v[R_MAXLEN], "\"redis.maxlen\" has no effect unless redis.mode is stream");
}

static void parse_capture(struct cfg *C, const yaml_node_t *map)
{
    dw_capture_options *c = &C->o.capture;
    yaml_node_t *v[C_N];
    uint64_t u;
    map_get(C, map, "capture", capture_keys, C_N, v);
    if (v[C_SNAPLEN] && get_uint(C, v[C_SNAPLEN], "capture.snaplen", 64, 262144, &u)) {
        c->snaplen = (unsigned)u;
        if (u < 1514)
            diag(C, false, v[C_SNAPLEN], "\"capture.snaplen\" %u cuts large DNS responses "
                 "(counted as udp_short_capture); 65535 keeps them whole", c->snaplen);
    }
    if (v[C_BUFFER_MB] && get_uint(C, v[C_BUFFER_MB], "capture.buffer_mb", 1, 2047, &u))
        c->buffer_mb = (unsigned)u;
    if (v[C_PROMISC])
        get_bool(C, v[C_PROMISC], "capture.promisc", &c->promisc);
    if (v[C_TIMEOUT_MS] && get_uint(C, v[C_TIMEOUT_MS], "capture.timeout_ms", 1, 1000, &u))
        c->timeout_ms = (unsigned)u;
}

static void parse_limits(struct cfg *C, const yaml_node_t *map)
{
    dw_decoder_config *d = &C->o.decoder;
    yaml_node_t *v[L_N];
    uint64_t u;
    map_get(C, map, "limits", limits_keys, L_N, v);
    if (v[L_FRAG_DATAGRAMS] &&
        get_uint(C, v[L_FRAG_DATAGRAMS], "limits.frag_datagrams", 1, 1u << 20, &u))
        d->frag.max_datagrams = (unsigned)u;
    if (v[L_FRAG_BYTES] &&
        get_size(C, v[L_FRAG_BYTES], "limits.frag_bytes", 65536, (uint64_t)1 << 32, &u))
        d->frag.max_bytes = (size_t)u;
    if (v[L_TCP_FLOWS] && get_uint(C, v[L_TCP_FLOWS], "limits.tcp_flows", 1, 1u << 20, &u))
        d->tcp.max_flows = (unsigned)u;
    if (v[L_TCP_BYTES] &&
        get_size(C, v[L_TCP_BYTES], "limits.tcp_bytes", 1u << 18, (uint64_t)1 << 32, &u))
        d->tcp.max_total_bytes = (size_t)u;
    if (v[L_TRACK_QUERIES] &&
        get_uint(C, v[L_TRACK_QUERIES], "limits.track_queries", 1, 1u << 24, &u))
        C->o.track_queries = (unsigned)u;
}

static void parse_metrics(struct cfg *C, const yaml_node_t *map)
{
    dw_metrics_options *m = &C->o.metrics;
    yaml_node_t *v[M_N];
    uint64_t u;
    map_get(C, map, "metrics", metrics_keys, M_N, v);
    if (v[M_LISTEN]) {
        const char *s = get_str(C, v[M_LISTEN], "metrics.listen", true);
        struct sockaddr_storage ss;
        socklen_t sl;
        char err[160];
        if (s && *s && metrics_parse_listen(s, &ss, &sl, err, sizeof err) != 0)
            diag(C, true, v[M_LISTEN], "\"metrics.listen\": %s", err);
        else if (s)
            m->listen = s;
    }
    if (v[M_TEXTFILE]) {
        const char *p = get_path(C, v[M_TEXTFILE], "metrics.textfile");
        if (p) {
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s", p);
            char *slash = strrchr(dir, '/');
            if (slash == dir)
                slash[1] = '\0';
            else if (slash)
                *slash = '\0';
            if (!slash || check_exists(C, v[M_TEXTFILE], "metrics.textfile", dir, MUST_DIR))
                m->textfile = p;
            if (strlen(p) < 5 || strcmp(p + strlen(p) - 5, ".prom"))
                diag(C, false, v[M_TEXTFILE], "\"metrics.textfile\": node_exporter reads only "
                                              "files ending in .prom");
        }
    }
    /* Also the period of the metric events a live capture writes to its output. */
    if (v[M_INTERVAL] && get_uint(C, v[M_INTERVAL], "metrics.interval_s", 1, 3600, &u))
        m->interval_s = (unsigned)u;
}

static void parse_top(struct cfg *C, const yaml_node_t *root)
{
    static const char *const outputs[] = {"stdout", "redis"};
    static const char *const logs[] = {"alerts", "watched", "all"};
    dw_options *o = &C->o;
    yaml_node_t *v[T_N];
    uint64_t u;
    int e;
    map_get(C, root, "", top_keys, T_N, v);
    if (v[T_INTERFACE])
        o->iface = get_str(C, v[T_INTERFACE], "interface", false);
    if (v[T_RULES])
        parse_rules(C, v[T_RULES]);
    if (v[T_ASN_DB]) {
        const char *s = want_text(C, v[T_ASN_DB], "asn_db", false);
        if (s && !strcmp(s, "none")) {
            o->asn_db = "none";
        } else if (s) {
            const char *p = get_path(C, v[T_ASN_DB], "asn_db");
            if (p && check_exists(C, v[T_ASN_DB], "asn_db", p, MUST_FILE))
                o->asn_db = p;
        }
    }
    if (v[T_OUTPUT] && (e = get_enum(C, v[T_OUTPUT], "output", outputs, 2)) >= 0)
        o->output = (enum dw_output)e;
    if (v[T_REDIS] && v[T_REDIS]->type != YAML_MAPPING_NODE)
        diag(C, true, v[T_REDIS], "\"redis\" must be a mapping (url: ..., mode: ...), found %s",
             type_name(v[T_REDIS]));
    else if (v[T_REDIS])
        parse_redis(C, v[T_REDIS]);
    if (v[T_WORKERS] && get_uint(C, v[T_WORKERS], "workers", 1, 64, &u))
        o->workers = (unsigned)u;
    if (v[T_LOG] && (e = get_enum(C, v[T_LOG], "log", logs, 3)) >= 0)
        o->log = (enum dw_log)e;
    if (v[T_USER])
        o->user = get_str(C, v[T_USER], "user", false);
    if (v[T_ALLOW_ROOT])
        get_bool(C, v[T_ALLOW_ROOT], "allow_root", &o->allow_root);
    if (v[T_NAME])
        o->observer_name = get_str(C, v[T_NAME], "name", false);
    if (v[T_FILTER]) {
        const char *s = get_str(C, v[T_FILTER], "filter", false);
        if (s) {
            check_filter(C, v[T_FILTER], s);
            o->bpf = s;
        }
    }
    if (v[T_PORTS])
        parse_ports(C, v[T_PORTS]);
    if (v[T_FOLD] && get_uint(C, v[T_FOLD], "fold_seconds", 0, 86400, &u))
        o->fold_seconds = (unsigned)u;
    static const struct {
        int key;
        void (*fn)(struct cfg *, const yaml_node_t *);
    } subs[] = {{T_CAPTURE, parse_capture}, {T_LIMITS, parse_limits}, {T_METRICS, parse_metrics}};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        const yaml_node_t *n = v[subs[i].key];
        if (n && n->type != YAML_MAPPING_NODE)
            diag(C, true, n, "\"%s\" must be a mapping (key: value), found %s",
                 top_keys[subs[i].key], type_name(n));
        else if (n)
            subs[i].fn(C, n);
    }
    if (v[T_USER] && v[T_ALLOW_ROOT] && o->allow_root && o->user)
        diag(C, false, v[T_ALLOW_ROOT], "\"allow_root\" has no effect when \"user\" is set");
}

/* ---- loading ------------------------------------------------------------------------- */

static int read_file(struct cfg *C, unsigned char **data, size_t *len)
{
    FILE *f = fopen(C->path, "rb");
    if (!f) {
        int e = errno;
        diag_at(C, true, 0, 0, "cannot read: %s", strerror(e));
        return -e;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        if (n == cap) {
            if (cap >= CFG_MAX_FILE_BYTES) {
                diag_at(C, true, 0, 0, "larger than %u bytes; is this the config file?",
                        CFG_MAX_FILE_BYTES);
                rc = -EFBIG;
                break;
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                rc = -EIO;
                diag_at(C, true, 0, 0, "cannot read: %s", strerror(errno ? errno : EIO));
            }
            break;
        }
    }
    fclose(f);
    if (!buf) {
        C->oom = true;
        return -ENOMEM;
    }
    if (rc) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = n;
    return 0;
}

static void syntax_error(struct cfg *C, const yaml_parser_t *p, const unsigned char *data,
                         size_t len)
{
    unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset only. */
        line = col = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            if (data[i] == '\n') {
                line++;
                col = 1;
            } else if ((data[i] & 0xc0) != 0x80) {
                col++;
            }
        }
    }
    if (p->context)
        diag_at(C, true, line, col, "YAML syntax error: %s (%s at line %u)",
                p->problem ? p->problem : "unknown problem", p->context,
                (unsigned)p->context_mark.line + 1);
    else
        diag_at(C, true, line, col, "YAML syntax error: %s",
                p->problem ? p->problem : "unknown problem");
}

int config_load(const char *path, dw_options *o, config_diag_fn fn, void *ctx)
{
    struct cfg C = {.path = path, .o = *o, .fn = fn, .ctx = ctx};
    unsigned char *data = NULL;
    size_t len = 0;
    yaml_parser_t p;
    bool parser = false;
    yaml_document_t doc, extra;
    bool have_doc = false;
    int rc;

    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(C.dir, sizeof C.dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    rc = read_file(&C, &data, &len);
    if (rc)
        goto out;
    if (!yaml_parser_initialize(&p)) {
        rc = -ENOMEM;
        goto out;
    }
    parser = true;
    yaml_parser_set_input_string(&p, data, len);
    if (!yaml_parser_load(&p, &doc)) {
        if (p.error == YAML_MEMORY_ERROR)
            C.oom = true;
        else
            syntax_error(&C, &p, data, len);
        goto done;
    }
    have_doc = true;
    C.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || is_null(root))
        goto done; /* an empty file: every default */
    if (root->type != YAML_MAPPING_NODE) {
        diag(&C, true, root, "the config must be a mapping (interface: ..., rules: ...), found %s",
             type_name(root));
        goto done;
    }
    /* The whole file is read before it is judged: a second document is a mistake (rules
     * files have several, a config has one) and must not be ignored silently. */
    if (yaml_parser_load(&p, &extra)) {
        yaml_node_t *r2 = yaml_document_get_root_node(&extra);
        if (r2)
            diag(&C, true, r2, "the config is a single document; this second one (after "
                               "\"---\") would be ignored");
        yaml_document_delete(&extra);
    } else if (p.error == YAML_MEMORY_ERROR) {
        C.oom = true;
    } else {
        syntax_error(&C, &p, data, len);
    }
    parse_top(&C, root);
done:
    if (C.oom)
        rc = -ENOMEM;
    else if (C.errors)
        rc = -EINVAL;
out:
    flush_diags(&C);
    if (have_doc)
        yaml_document_delete(&doc);
    if (parser)
        yaml_parser_delete(&p);
    free(data);
    if (rc == 0) {
        struct config_mem **tail = &C.mem;
        while (*tail)
            tail = &(*tail)->next;
        *tail = o->config_mem;
        C.o.config_mem = C.mem;
        *o = C.o;
    } else {
        config_mem_free(C.mem);
    }
    return rc;
}

/* ---- check-config -------------------------------------------------------------------- */

struct check_ctx {
    unsigned errors, warnings;
};

static void check_print(void *ctx, const config_diag *d)
{
    struct check_ctx *c = ctx;
    char line[1024];
    ruleset_diag_format(d, line, sizeof line);
    printf("%s\n", line);
    if (d->is_error)
        c->errors++;
    else
        c->warnings++;
}

int config_check_main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1])) {
        fprintf(stderr, "dnswatch check-config: takes one config file (default %s)\n",
                DW_CONFIG_DEFAULT);
        return 2;
    }
    const char *path = argc == 2 ? argv[1] : DW_CONFIG_DEFAULT;
    struct check_ctx c = {0, 0};
    dw_options o;
    options_default(&o);
    int rc = config_load(path, &o, check_print, &c);
    if (rc == 0) {
        config_diag d = {.file = path};
        if (!o.iface) {
            snprintf(d.msg, sizeof d.msg, "no \"interface\": `dnswatch run -c %s` will need -i "
                                          "IFACE", path);
            check_print(&c, &d);
        }
        if (!o.n_rule_paths) {
            snprintf(d.msg, sizeof d.msg, "no \"rules\": the sensor will raise no alert");
            check_print(&c, &d);
        }
    }
    fflush(stdout);
    if (rc == -ENOMEM)
        fprintf(stderr, "%s: out of memory\n", path);
    else if (rc)
        fprintf(stderr, "%s: not valid: %u errors, %u warnings\n", path, c.errors, c.warnings);
    else
        fprintf(stderr, "%s: valid, %u warnings\n", path, c.warnings);
    options_free(&o);
    return rc ? 1 : 0;
}
