/* What `dnswatch run` was asked to do, from the config file (sensor/config.h) and the
 * command line, flags overriding the file. Strings point into argv or into memory the
 * options own (config_mem, filled by config_load); options_free() frees what they own. */
#ifndef DW_OPTIONS_H
#define DW_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decoders/decode.h"
#include "sensor/output_redis.h"

#define DW_MAX_RULE_PATHS 64

enum dw_log { DW_LOG_ALERTS = 0, DW_LOG_WATCHED = 1, DW_LOG_ALL = 2 };
enum dw_output { DW_OUT_STDOUT = 0, DW_OUT_REDIS = 1 };
/* log_level: the index in its names; syslog's level is 3 + the index (sensor/slog.h). */
enum dw_loglevel {
    DW_LOGLEVEL_ERROR = 0, DW_LOGLEVEL_WARNING, DW_LOGLEVEL_NOTICE, DW_LOGLEVEL_INFO,
    DW_LOGLEVEL_DEBUG
};

/* Live capture settings (config "capture:"; no flags). */
typedef struct dw_capture_options {
    unsigned snaplen;             /* default 65535 */
    unsigned buffer_mb;           /* kernel capture buffer, default 64 */
    bool promisc;                 /* default true */
    unsigned timeout_ms;          /* libpcap read timeout, default 100 */
} dw_capture_options;

/* Config "track:" (exchange tracking thresholds, rules/track.h); 0: the tracker's
 * default. No flags. */
typedef struct dw_track_options {
    unsigned timeout_ms, near_miss, blind_count, blind_window_ms, seen_s, window_s;
    unsigned max_pairs, max_incidents;
} dw_track_options;

/* Config "metrics:"; no flags. */
typedef struct dw_metrics_options {
    const char *listen;           /* "127.0.0.1:9153"; NULL or "" = no HTTP endpoint */
    const char *textfile;         /* node_exporter textfile path; NULL = none */
    unsigned interval_s;          /* textfile rewrite period, default 15 */
} dw_metrics_options;

#define DW_MAX_DNSTAP 8 /* --dnstap sources */

typedef struct dw_options {
    const char *config;           /* -c */
    const char *iface;            /* -i */
    const char *pcap_file;        /* -r */
    const char *rule_paths[DW_MAX_RULE_PATHS];
    size_t n_rule_paths;
    const char *asn_db;           /* --asn-db FILE | "none" */
    enum dw_output output;
    publish_config redis;         /* --redis URL sets redis.url */
    unsigned redis_wait_ms;       /* --redis-wait: the end of a run waits this long for Redis
                                   * to take what is queued before leaving it in the spool */
    unsigned workers;             /* 0 = default */
    enum dw_log log;
    const char *user;             /* --user: drop to it once the capture is open */
    bool allow_root;              /* --allow-root: keep running privileged (live capture) */
    const char *observer_name;    /* --name; default: the host name */
    const char *bpf;              /* --filter */
    unsigned fold_seconds;        /* --fold: identical alerts folded within (default 60) */
    dw_decoder_config decoder;    /* config limits.frag_* and limits.tcp_* land here */
    /* Added with the config file; defaults in options_default(). */
    unsigned track_queries;       /* limits.track_queries: 0 = the tracker's default */
    dw_capture_options capture;
    dw_metrics_options metrics;
    dw_track_options track;
    struct config_mem *config_mem; /* strings copied from config files; options_free() */
    /* --dnstap SOURCE (repeatable) or config "dnstap": unix:PATH, tcp:ADDR:PORT, file:PATH;
     * the first NULL ends the list. */
    const char *dnstap[DW_MAX_DNSTAP];
    enum dw_loglevel log_level;   /* log_level / --log-level: stderr lines written */
    bool quiet, verbose;          /* -q: as log_level warning; -v: as debug (wins over -q) */
} dw_options;

/* The dnstap sources given (the leading non-NULL entries of o->dnstap). */
size_t options_dnstap_count(const dw_options *o);


/* The syslog level (3 err .. 7 debug) of the least severe stderr line to write. */
int options_stderr_level(const dw_options *o);

/* ---- the option table ----------------------------------------------------------------
 *
 * One row per `run` flag and config key: the command line parser (options_parse_run), the
 * config loader (sensor/config.c), `dnswatch run --help` and the key table of
 * docs/config.md (options_doc_table; unit.test_options compares them) all read it. */

enum dw_opt_type {
    DW_OPT_TEXT,    /* lo = 1: must not be empty */
    DW_OPT_PATH,    /* a file or directory; relative ones are taken from the config's dir */
    DW_OPT_UINT,    /* digits, lo..hi */
    DW_OPT_SIZE,    /* bytes, or a number with K, M, G or T; lo..hi */
    DW_OPT_BOOL,    /* config: true/false, yes/no, on/off; flag: a switch that sets true */
    DW_OPT_ENUM,    /* one of names; stored as its index */
    DW_OPT_LIST,    /* a list (rules, ports) */
    DW_OPT_SECTION, /* a mapping of the config holding other keys ("redis") */
};

/* The row is parsed by code of its own, not from type, bounds and place alone. */
#define DW_OPT_CODE_CLI 1u    /* in options_parse_run */
#define DW_OPT_CODE_CONFIG 2u /* in sensor/config.c */

typedef struct dw_optdef {
    const char *flag;          /* long flag without "--"; NULL: config only */
    char short_flag;           /* 'i', or 0 */
    const char *arg;           /* the flag's value in help ("N"); NULL: a switch */
    const char *key;           /* config key ("redis.url"); NULL: flag only */
    enum dw_opt_type type;
    uint64_t lo, hi;           /* TEXT: lo = 1 refuses ""; UINT, SIZE: bounds */
    const char *const *names;  /* ENUM: the words, index = the stored value */
    size_t n_names;
    size_t off, size;          /* the value in dw_options; size 0: none */
    unsigned code;             /* DW_OPT_CODE_* */
    const char *def;           /* the default, as docs/config.md writes it */
    const char *help;          /* what it does (docs/config.md "meaning", --help) */
} dw_optdef;

extern const dw_optdef dw_opts[];
extern const size_t dw_n_opts;

/* The row of config key key / of long flag flag; NULL if none. */
const dw_optdef *options_by_key(const char *key);
const dw_optdef *options_by_flag(const char *flag);

/* Stores v (a number, an enum index, a bool 0/1) or s (TEXT, PATH) where row d says. */
void options_store(dw_options *o, const dw_optdef *d, uint64_t v, const char *s);

/* `dnswatch run --help`: the usage line and one entry per flag, from the table. */
void options_help_run(FILE *f);
/* The "## Keys" table of docs/config.md: a header and one row per config key. */
void options_doc_table(FILE *f);

void options_default(dw_options *o);
/* Frees what the options own (strings that came from a config file). */
void options_free(dw_options *o);

/* Parses `run` arguments (argv[0] is "run"). The config file (-c FILE, or
 * /etc/dnswatch/dnswatch.yaml when it exists and -c is not given; -c none: no file) is
 * loaded first, then the flags override it. Returns 0; 2 after printing a usage error to
 * stderr; 1 after printing every error of the config file to stderr. */
int options_parse_run(dw_options *o, int argc, char **argv);

#endif
