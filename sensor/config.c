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

/* The sections and their keys come from the option table (sensor/options.h), in its
 * order: a key's section is what stands before its '.', none for the top level. */
enum { S_TOP, S_REDIS, S_CAPTURE, S_LIMITS, S_METRICS, S_N };
static const char *const section_names[S_N] = {"", "redis", "capture", "limits", "metrics"};
static const char *const section_where[S_N] = {
    "at the top level", "under \"redis\"", "under \"capture\"", "under \"limits\"",
    "under \"metrics\"",
};

struct cfg_schema {
    const char *keys[S_N][YS_MAX_KEYS];
    const dw_optdef *rows[S_N][YS_MAX_KEYS];
    ys_section sections[S_N];
    ys_schema schema;
};

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
    struct cfg_schema S;
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
static const ys_schema schema_template = {
    .aliases = aliases,
    .n_aliases = sizeof aliases / sizeof *aliases,
    .dup_names_section = false,
    .null_is_absent = true,
    .unknown_hook = password_hint,
};

static void schema_build(struct cfg_schema *S)
{
    size_t n[S_N] = {0};
    for (size_t i = 0; i < dw_n_opts; i++) {
        const dw_optdef *d = &dw_opts[i];
        if (!d->key)
            continue;
        const char *dot = strchr(d->key, '.');
        size_t s = S_TOP;
        if (dot)
            for (s = 1; s < S_N && (strlen(section_names[s]) != (size_t)(dot - d->key) ||
                                    strncmp(section_names[s], d->key, (size_t)(dot - d->key)));
                 s++)
                ;
        if (s == S_N || n[s] == YS_MAX_KEYS)
            continue; /* not reachable with the table as written */
        S->keys[s][n[s]] = dot ? dot + 1 : d->key;
        S->rows[s][n[s]++] = d;
    }
    for (size_t s = 0; s < S_N; s++)
        S->sections[s] = (ys_section){section_names[s], section_where[s], section_where[s],
                                      S->keys[s], n[s], NULL, 0};
    S->schema = schema_template;
    S->schema.sections = S->sections;
    S->schema.n_sections = S_N;
}

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

/* The value of key (of section s) among vals, or NULL. */
static const yaml_node_t *value_of(const struct cfg *C, size_t s, yaml_node_t *const *vals,
                                   const char *key)
{
    for (size_t i = 0; i < C->S.sections[s].n; i++)
        if (!strcmp(C->S.keys[s][i], key))
            return vals[i];
    return NULL;
}

static void parse_section(struct cfg *C, size_t s, const yaml_node_t *map);

/* A key whose row needs nothing but its type, bounds and place; true when stored. */
static bool parse_generic(struct cfg *C, const dw_optdef *d, const yaml_node_t *n)
{
    uint64_t u = 0;
    int e;
    const char *str;
    switch (d->type) {
    case DW_OPT_TEXT:
        if (!(str = get_str(C, n, d->key, d->lo == 0)))
            return false;
        options_store(&C->o, d, 0, str);
        return true;
    case DW_OPT_UINT:
        if (!ys_uint(&C->y, n, d->key, d->lo, d->hi, &u))
            return false;
        break;
    case DW_OPT_SIZE:
        if (!ys_size(&C->y, n, d->key, d->lo, d->hi, &u))
            return false;
        break;
    case DW_OPT_BOOL: {
        bool b;
        if (!ys_bool(&C->y, n, d->key, &b))
            return false;
        u = b;
        break;
    }
    case DW_OPT_ENUM:
        if ((e = ys_enum(&C->y, n, d->key, d->names, d->n_names, false)) < 0)
            return false;
        u = (uint64_t)e;
        break;
    case DW_OPT_SECTION:
        for (size_t s = 1; s < S_N; s++) {
            if (strcmp(section_names[s], d->key))
                continue;
            if (n->type != YAML_MAPPING_NODE && s == S_REDIS)
                ys_diag(&C->y, true, n, "\"redis\" must be a mapping (url: ..., mode: ...), "
                        "found %s", type_name(n));
            else if (n->type != YAML_MAPPING_NODE)
                ys_diag(&C->y, true, n, "\"%s\" must be a mapping (key: value), found %s", d->key,
                        type_name(n));
            else
                parse_section(C, s, n);
        }
        return false;
    default:
        return false;
    }
    options_store(&C->o, d, u, NULL);
    return true;
}

/* The rows the table marks DW_OPT_CODE_CONFIG. */
static void parse_coded(struct cfg *C, const dw_optdef *d, const yaml_node_t *n)
{
    dw_options *o = &C->o;
    if (!strcmp(d->key, "rules")) {
        parse_rules(C, n);
    } else if (!strcmp(d->key, "ports")) {
        parse_ports(C, n);
    } else if (!strcmp(d->key, "asn_db")) {
        const char *s = want_text(C, n, "asn_db", false);
        if (s && !strcmp(s, "none")) {
            o->asn_db = "none";
        } else if (s) {
            const char *p = get_path(C, n, "asn_db");
            if (p && check_exists(C, n, "asn_db", p, MUST_FILE))
                o->asn_db = p;
        }
    } else if (!strcmp(d->key, "filter")) {
        const char *s = get_str(C, n, "filter", false);
        if (s) {
            check_filter(C, n, s);
            o->bpf = s;
        }
    } else if (!strcmp(d->key, "redis.url")) {
        if ((o->redis.url = get_str(C, n, "redis.url", false))) {
            /* The parser `run` uses: check-config accepts no URL that run refuses. */
            redis_url parsed;
            char err[512];
            if (redisurl_parse(o->redis.url, &parsed, err, sizeof err) != 0)
                ys_diag(&C->y, true, n, "\"redis.url\": %s", err);
        }
    } else if (!strcmp(d->key, "redis.mode")) {
        /* As --redis-mode: rpush is a list filled with RPUSH (redis.list_push: rpush). */
        static const char *const modes[] = {"stream", "list", "channel", "rpush"};
        int e = ys_enum(&C->y, n, "redis.mode", modes, 4, false);
        if (e == 3) {
            o->redis.mode = PUB_LIST;
            o->redis.list_rpush = true;
        } else if (e >= 0) {
            options_store(o, d, (uint64_t)e, NULL);
        }
    } else if (!strcmp(d->key, "redis.password_file")) {
        const char *p = get_path(C, n, "redis.password_file");
        struct stat st;
        if (p && check_exists(C, n, "redis.password_file", p, MUST_FILE)) {
            o->redis.password_file = p;
            if (stat(p, &st) == 0 && (st.st_mode & 0007))
                ys_diag(&C->y, false, n, "\"redis.password_file\": %s is readable by "
                        "every user; chmod o-rwx it", p);
        }
    } else if (!strcmp(d->key, "redis.spool_dir")) {
        o->redis.spool_dir = get_path(C, n, "redis.spool_dir");
    } else if (!strcmp(d->key, "capture.snaplen")) {
        if (parse_generic(C, d, n) && o->capture.snaplen < 1514)
            ys_diag(&C->y, false, n, "\"capture.snaplen\" %u cuts large DNS responses "
                    "(counted as udp_short_capture); 65535 keeps them whole", o->capture.snaplen);
    } else if (!strcmp(d->key, "metrics.listen")) {
        const char *s = get_str(C, n, "metrics.listen", true);
        struct sockaddr_storage ss;
        socklen_t sl;
        char err[160];
        if (s && *s && metrics_parse_listen(s, &ss, &sl, err, sizeof err) != 0)
            ys_diag(&C->y, true, n, "\"metrics.listen\": %s", err);
        else if (s)
            o->metrics.listen = s;
    } else if (!strcmp(d->key, "metrics.textfile")) {
        const char *p = get_path(C, n, "metrics.textfile");
        if (p) {
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s", p);
            char *slash = strrchr(dir, '/');
            if (slash == dir)
                slash[1] = '\0';
            else if (slash)
                *slash = '\0';
            if (!slash || check_exists(C, n, "metrics.textfile", dir, MUST_DIR))
                o->metrics.textfile = p;
            if (strlen(p) < 5 || strcmp(p + strlen(p) - 5, ".prom"))
                ys_diag(&C->y, false, n, "\"metrics.textfile\": node_exporter reads only "
                                         "files ending in .prom");
        }
    }
}

static bool is_scalar_text(const yaml_node_t *n, const char *s)
{
    return n->type == YAML_SCALAR_NODE && !strcmp(sval(n), s);
}

/* Every key of section s in the table's order, then the checks across keys. */
static void parse_section(struct cfg *C, size_t s, const yaml_node_t *map)
{
    yaml_node_t *v[YS_MAX_KEYS];
    ys_map_get(&C->y, &C->S.schema, &C->S.sections[s], map, v);
    for (size_t i = 0; i < C->S.sections[s].n; i++) {
        const dw_optdef *d = C->S.rows[s][i];
        if (!v[i])
            continue;
        if (d->code & DW_OPT_CODE_CONFIG)
            parse_coded(C, d, v[i]);
        else
            parse_generic(C, d, v[i]);
    }
    const dw_options *o = &C->o;
    if (s == S_REDIS) {
        const yaml_node_t *mode = value_of(C, s, v, "mode"), *push = value_of(C, s, v, "list_push"),
                          *maxlen = value_of(C, s, v, "maxlen");
        if (push && mode && is_scalar_text(mode, "rpush") && !o->redis.list_rpush)
            ys_diag(&C->y, true, push, "\"redis.list_push: lpush\" contradicts \"redis.mode: "
                                       "rpush\"; drop list_push (rpush fills the list with RPUSH)");
        else if (push && mode && o->redis.mode != PUB_LIST)
            ys_diag(&C->y, false, push, "\"redis.list_push\" has no effect unless redis.mode is "
                                        "list");
        if (maxlen && mode && o->redis.mode != PUB_STREAM)
            ys_diag(&C->y, false, maxlen, "\"redis.maxlen\" has no effect unless redis.mode is "
                                          "stream");
    } else if (s == S_TOP) {
        const yaml_node_t *user = value_of(C, s, v, "user"), *root = value_of(C, s, v, "allow_root");
        if (user && root && o->allow_root && o->user)
            ys_diag(&C->y, false, root, "\"allow_root\" has no effect when \"user\" is set");
    }
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
    schema_build(&C.S);
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
    parse_section(&C, S_TOP, root);
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
