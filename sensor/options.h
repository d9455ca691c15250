/* What `dnswatch run` was asked to do, from the command line (and, later, the config
 * file). Strings point into argv or into memory the options own; options_free() frees
 * what they own. */
#ifndef DW_OPTIONS_H
#define DW_OPTIONS_H

#include <stddef.h>

#include "decoders/decode.h"
#include "sensor/publish.h"

#define DW_MAX_RULE_PATHS 64

enum dw_log { DW_LOG_ALERTS = 0, DW_LOG_WATCHED = 1, DW_LOG_ALL = 2 };
enum dw_output { DW_OUT_STDOUT = 0, DW_OUT_REDIS = 1 };

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
    const char *user;
    const char *observer_name;    /* --name; default: the host name */
    const char *bpf;              /* --filter */
    unsigned fold_seconds;        /* --fold: identical alerts folded within (default 60) */
    dw_decoder_config decoder;
} dw_options;

void options_default(dw_options *o);

/* Parses `run` arguments (argv[0] is "run"). Returns 0, or 2 after printing a usage
 * error to stderr. */
int options_parse_run(dw_options *o, int argc, char **argv);

#endif
