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

#include "rules/yamlschema.h"
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
    dw_options o;                /* the working copy, committed on success */
    struct config_mem *mem;      /* strings of this load */
    ys_ctx y;                    /* messages, held back to be given in file order; the document */
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
        C->y.oom = true;
        return NULL;
    }
    memcpy(m->s, s, n + 1);
    m->next = C->mem;
    C->mem = m;
    return m->s;
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

static const ys_section sections[] = {
    {"", "at the top level", "at the top level", top_keys, T_N, NULL, 0},
    {"redis", "under \"redis\"", "under \"redis\"", redis_keys, R_N, NULL, 0},
    {"capture", "under \"capture\"", "under \"capture\"", capture_keys, C_N, NULL, 0},
    {"limits", "under \"limits\"", "under \"limits\"", limits_keys, L_N, NULL, 0},
    {"metrics", "under \"metrics\"", "under \"metrics\"", metrics_keys, M_N, NULL, 0},
};
enum { S_TOP, S_REDIS, S_CAPTURE, S_LIMITS, S_METRICS };

/* Flag spellings and other names people write for a key. */
static const ys_alias aliases[] = {
    {"iface", "interface", ""},     {"asn-db", "asn_db", ""},     {"fold", "fold_seconds", ""},
    {"bpf", "filter", ""},          {"observer", "name", ""},     {"observer_name", "name", ""},
    {"allow-root", "allow_root", ""}, {"rule_paths", "rules", ""}, {"stream", "key", "redis"},
    {"channel", "key", "redis"},    {"spool", "spool_dir", "redis"},
    {"promiscuous", "promisc", "capture"}, {"buffer", "buffer_mb", "capture"},
    {"timeout", "timeout_ms", "capture"}, {"interval", "interval_s", "metrics"},
};

static bool password_hint(ys_ctx *Y, const yaml_node_t *k, const ys_section *sec)
{
    if (strcmp(sval(k), "password") || strcmp(sec->name, "redis"))
        return false;
    ys_diag(Y, true, k, "unknown key \"password\" under \"redis\": a password is never written "
                        "in the config; put it in a file readable only by the sensor and set "
                        "\"password_file\", or set $DNSWATCH_REDIS_PASSWORD");
    return true;
}

/* A key written without a value keeps its default (docs/config.md). */
static const ys_schema schema = {
    .sections = sections,
    .n_sections = sizeof sections / sizeof *sections,
    .aliases = aliases,
    .n_aliases = sizeof aliases / sizeof *aliases,
    .dup_names_section = false,
    .null_is_absent = true,
    .unknown_hook = password_hint,
};

/* ---- YAML helpers -------------------------------------------------------------------- */

static yaml_node_t *node(struct cfg *C, int i) { return yaml_document_get_node(C->y.doc, i); }

static const char *want_text(struct cfg *C, const yaml_node_t *n, const char *what,
                             bool allow_empty)
{
    return allow_empty ? ys_text(&C->y, n, what) : ys_text_nonempty(&C->y, n, what);
}

/* A copy owned by the options, or NULL (reported). */
static const char *get_str(struct cfg *C, const yaml_node_t *n, const char *what, bool allow_empty)
{
    const char *s = want_text(C, n, what, allow_empty);
    return s ? cstrdup(C, s) : NULL;
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
        ys_diag(&C->y, true, n, "\"%s\": path too long", what);
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
        ys_diag(&C->y, true, n, "\"%s\": %s: %s", what, path, strerror(errno));
        return false;
    }
    bool dir = S_ISDIR(st.st_mode);
    if ((must == MUST_FILE && !S_ISREG(st.st_mode)) || (must == MUST_DIR && !dir) ||
        (must == MUST_FILE_OR_DIR && !dir && !S_ISREG(st.st_mode))) {
        ys_diag(&C->y, true, n, "\"%s\": %s is not a %s", what, path,
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
        ys_diag(&C->y, true, n, "\"rules\" must be a list of files or directories, found %s",
             type_name(n));
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = node(C, *it);
        if (!e)
            continue;
        if (C->o.n_rule_paths == DW_MAX_RULE_PATHS) {
            ys_diag(&C->y, true, e, "\"rules\": at most %d paths; name a directory instead",
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
        if (ys_uint(&C->y, n, "ports", 1, 65535, &v)) {
            d->ports[0] = (uint16_t)v;
            d->n_ports = 1;
        }
        return;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        ys_diag(&C->y, true, n, "\"ports\" must be a list of port numbers, found %s", type_name(n));
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
            ys_diag(&C->y, true, e, "\"ports\": at most %d ports", DW_MAX_PORTS);
            return;
        }
        if (ys_uint(&C->y, e, "ports", 1, 65535, &v))
            ports[k++] = (uint16_t)v;
        else
            ok = false;
    }
    if (!k) {
        ys_diag(&C->y, true, n, "\"ports\" is empty; leave it out for the default (53)");
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
        C->y.oom = true;
        return;
    }
    struct bpf_program prog;
    if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
        ys_diag(&C->y, true, n, "\"filter\" does not compile: %s", pcap_geterr(p));
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
    ys_map_get(&C->y, &schema, &sections[S_REDIS], map, v);
    if (v[R_URL] && (r->url = get_str(C, v[R_URL], "redis.url", false))) {
        /* The parser `run` uses: check-config accepts no URL that run refuses. */
        redis_url parsed;
        char err[512];
        if (redisurl_parse(r->url, &parsed, err, sizeof err) != 0)
            ys_diag(&C->y, true, v[R_URL], "\"redis.url\": %s", err);
    }
    if (v[R_MODE] && (e = ys_enum(&C->y, v[R_MODE], "redis.mode", modes, 3, false)) >= 0)
        r->mode = (enum publish_mode)e;
    if (v[R_KEY])
        r->key = get_str(C, v[R_KEY], "redis.key", false);
    if (v[R_MAXLEN] && ys_uint(&C->y, v[R_MAXLEN], "redis.maxlen", 0, UINT32_MAX, &u))
        r->maxlen = (unsigned long)u;
    if (v[R_LIST_PUSH] && (e = ys_enum(&C->y, v[R_LIST_PUSH], "redis.list_push", pushes, 2, false)) >= 0)
        r->list_rpush = e == 1;
    if (v[R_PASSWORD_FILE]) {
        const char *p = get_path(C, v[R_PASSWORD_FILE], "redis.password_file");
        struct stat st;
        if (p && check_exists(C, v[R_PASSWORD_FILE], "redis.password_file", p, MUST_FILE)) {
            r->password_file = p;
            if (stat(p, &st) == 0 && (st.st_mode & 0007))
                ys_diag(&C->y, false, v[R_PASSWORD_FILE], "\"redis.password_file\": %s is readable by "
                     "every user; chmod o-rwx it", p);
        }
    }
    if (v[R_SPOOL_DIR])
        r->spool_dir = get_path(C, v[R_SPOOL_DIR], "redis.spool_dir");
    if (v[R_SPOOL_MAX] &&
        ys_size(&C->y, v[R_SPOOL_MAX], "redis.spool_max_bytes", 0, (uint64_t)1 << 42, &u))
        r->spool_max_bytes = u;
    if (v[R_BATCH] && ys_uint(&C->y, v[R_BATCH], "redis.batch", 1, 100000, &u))
        r->batch_max = (unsigned)u;
    if (v[R_QUEUE] && ys_uint(&C->y, v[R_QUEUE], "redis.queue", 1, 1u << 24, &u))
        r->queue_max = (unsigned)u;
    if (v[R_QUEUE_BYTES] &&
        ys_size(&C->y, v[R_QUEUE_BYTES], "redis.queue_bytes", 1u << 20, (uint64_t)1 << 40, &u))
        r->queue_max_bytes = u;
    if (v[R_LIST_PUSH] && v[R_MODE] && r->mode != PUB_LIST)
        ys_diag(&C->y, false, v[R_LIST_PUSH], "\"redis.list_push\" has no effect unless redis.mode is "
                                       "list");
    if (v[R_MAXLEN] && v[R_MODE] && r->mode != PUB_STREAM)
        ys_diag(&C->y, false, v[R_MAXLEN], "\"redis.maxlen\" has no effect unless redis.mode is stream");
}

static void parse_capture(struct cfg *C, const yaml_node_t *map)
{
    dw_capture_options *c = &C->o.capture;
    yaml_node_t *v[C_N];
    uint64_t u;
    ys_map_get(&C->y, &schema, &sections[S_CAPTURE], map, v);
    if (v[C_SNAPLEN] && ys_uint(&C->y, v[C_SNAPLEN], "capture.snaplen", 64, 262144, &u)) {
        c->snaplen = (unsigned)u;
        if (u < 1514)
            ys_diag(&C->y, false, v[C_SNAPLEN], "\"capture.snaplen\" %u cuts large DNS responses "
                 "(counted as udp_short_capture); 65535 keeps them whole", c->snaplen);
    }
    if (v[C_BUFFER_MB] && ys_uint(&C->y, v[C_BUFFER_MB], "capture.buffer_mb", 1, 2047, &u))
        c->buffer_mb = (unsigned)u;
    if (v[C_PROMISC])
        ys_bool(&C->y, v[C_PROMISC], "capture.promisc", &c->promisc);
    if (v[C_TIMEOUT_MS] && ys_uint(&C->y, v[C_TIMEOUT_MS], "capture.timeout_ms", 1, 1000, &u))
        c->timeout_ms = (unsigned)u;
}

static void parse_limits(struct cfg *C, const yaml_node_t *map)
{
    dw_decoder_config *d = &C->o.decoder;
    yaml_node_t *v[L_N];
    uint64_t u;
    ys_map_get(&C->y, &schema, &sections[S_LIMITS], map, v);
    if (v[L_FRAG_DATAGRAMS] &&
        ys_uint(&C->y, v[L_FRAG_DATAGRAMS], "limits.frag_datagrams", 1, 1u << 20, &u))
        d->frag.max_datagrams = (unsigned)u;
    if (v[L_FRAG_BYTES] &&
        ys_size(&C->y, v[L_FRAG_BYTES], "limits.frag_bytes", 65536, (uint64_t)1 << 32, &u))
        d->frag.max_bytes = (size_t)u;
    if (v[L_TCP_FLOWS] && ys_uint(&C->y, v[L_TCP_FLOWS], "limits.tcp_flows", 1, 1u << 20, &u))
        d->tcp.max_flows = (unsigned)u;
    if (v[L_TCP_BYTES] &&
        ys_size(&C->y, v[L_TCP_BYTES], "limits.tcp_bytes", 1u << 18, (uint64_t)1 << 32, &u))
        d->tcp.max_total_bytes = (size_t)u;
    if (v[L_TRACK_QUERIES] &&
        ys_uint(&C->y, v[L_TRACK_QUERIES], "limits.track_queries", 1, 1u << 24, &u))
        C->o.track_queries = (unsigned)u;
}

static void parse_metrics(struct cfg *C, const yaml_node_t *map)
{
    dw_metrics_options *m = &C->o.metrics;
    yaml_node_t *v[M_N];
    uint64_t u;
    ys_map_get(&C->y, &schema, &sections[S_METRICS], map, v);
    if (v[M_LISTEN]) {
        const char *s = get_str(C, v[M_LISTEN], "metrics.listen", true);
        struct sockaddr_storage ss;
        socklen_t sl;
        char err[160];
        if (s && *s && metrics_parse_listen(s, &ss, &sl, err, sizeof err) != 0)
            ys_diag(&C->y, true, v[M_LISTEN], "\"metrics.listen\": %s", err);
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
                ys_diag(&C->y, false, v[M_TEXTFILE], "\"metrics.textfile\": node_exporter reads only "
                                              "files ending in .prom");
        }
    }
    /* Also the period of the metric events a live capture writes to its output. */
    if (v[M_INTERVAL] && ys_uint(&C->y, v[M_INTERVAL], "metrics.interval_s", 1, 3600, &u))
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
    ys_map_get(&C->y, &schema, &sections[S_TOP], root, v);
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
    if (v[T_OUTPUT] && (e = ys_enum(&C->y, v[T_OUTPUT], "output", outputs, 2, false)) >= 0)
        o->output = (enum dw_output)e;
    if (v[T_REDIS] && v[T_REDIS]->type != YAML_MAPPING_NODE)
        ys_diag(&C->y, true, v[T_REDIS], "\"redis\" must be a mapping (url: ..., mode: ...), found %s",
             type_name(v[T_REDIS]));
    else if (v[T_REDIS])
        parse_redis(C, v[T_REDIS]);
    if (v[T_WORKERS] && ys_uint(&C->y, v[T_WORKERS], "workers", 1, 64, &u))
        o->workers = (unsigned)u;
    if (v[T_LOG] && (e = ys_enum(&C->y, v[T_LOG], "log", logs, 3, false)) >= 0)
        o->log = (enum dw_log)e;
    if (v[T_USER])
        o->user = get_str(C, v[T_USER], "user", false);
    if (v[T_ALLOW_ROOT])
        ys_bool(&C->y, v[T_ALLOW_ROOT], "allow_root", &o->allow_root);
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
    if (v[T_FOLD] && ys_uint(&C->y, v[T_FOLD], "fold_seconds", 0, 86400, &u))
        o->fold_seconds = (unsigned)u;
    static const struct {
        int key;
        void (*fn)(struct cfg *, const yaml_node_t *);
    } subs[] = {{T_CAPTURE, parse_capture}, {T_LIMITS, parse_limits}, {T_METRICS, parse_metrics}};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        const yaml_node_t *n = v[subs[i].key];
        if (n && n->type != YAML_MAPPING_NODE)
            ys_diag(&C->y, true, n, "\"%s\" must be a mapping (key: value), found %s",
                 top_keys[subs[i].key], type_name(n));
        else if (n)
            subs[i].fn(C, n);
    }
    if (v[T_USER] && v[T_ALLOW_ROOT] && o->allow_root && o->user)
        ys_diag(&C->y, false, v[T_ALLOW_ROOT], "\"allow_root\" has no effect when \"user\" is set");
}

/* ---- loading ------------------------------------------------------------------------- */

static const char *path_of(const void *pctx, size_t file)
{
    (void)file;
    return pctx;
}

static int read_file(struct cfg *C, unsigned char **data, size_t *len)
{
    enum ys_read_stage stage;
    int rc = ys_read_file(C->path, CFG_MAX_FILE_BYTES, data, len, &stage);
    if (rc == -ENOMEM)
        C->y.oom = true;
    else if (rc && stage == YS_READ_BIG)
        ys_diag_at(&C->y, true, 0, 0, 0, NULL, "larger than %u bytes; is this the config file?",
                   CFG_MAX_FILE_BYTES);
    else if (rc)
        ys_diag_at(&C->y, true, 0, 0, 0, NULL, "cannot read: %s", strerror(-rc));
    return rc;
}

static void syntax_error(struct cfg *C, const yaml_parser_t *p, const unsigned char *data,
                         size_t len)
{
    ys_syntax s;
    ys_syntax_from(&s, p, data, len);
    ys_syntax_report(&C->y, 0, &s);
}

int config_load(const char *path, dw_options *o, config_diag_fn fn, void *ctx)
{
    struct cfg C = {.path = path, .o = *o, .y = {.max_diags = CFG_MAX_DIAGS}};
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
            C.y.oom = true;
        else
            syntax_error(&C, &p, data, len);
        goto done;
    }
    have_doc = true;
    C.y.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || is_null(root))
        goto done; /* an empty file: every default */
    if (root->type != YAML_MAPPING_NODE) {
        ys_diag(&C.y, true, root, "the config must be a mapping (interface: ..., rules: ...), found %s",
             type_name(root));
        goto done;
    }
    /* The whole file is read before it is judged: a second document is a mistake (rules
     * files have several, a config has one) and must not be ignored silently. */
    if (yaml_parser_load(&p, &extra)) {
        yaml_node_t *r2 = yaml_document_get_root_node(&extra);
        if (r2)
            ys_diag(&C.y, true, r2, "the config is a single document; this second one (after "
                               "\"---\") would be ignored");
        yaml_document_delete(&extra);
    } else if (p.error == YAML_MEMORY_ERROR) {
        C.y.oom = true;
    } else {
        syntax_error(&C, &p, data, len);
    }
    parse_top(&C, root);
done:
    if (C.y.oom)
        rc = -ENOMEM;
    else if (C.y.errors)
        rc = -EINVAL;
out:
    ys_flush(&C.y, path_of, path, fn, ctx);
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
