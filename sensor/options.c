#include "sensor/options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/num.h"
#include "sensor/config.h"

void options_default(dw_options *o)
{
    memset(o, 0, sizeof *o);
    o->log = DW_LOG_ALERTS;
    o->output = DW_OUT_STDOUT;
    o->fold_seconds = 60;
    publish_config_default(&o->redis);
    o->redis_wait_ms = 10000;
    dw_decoder_config_default(&o->decoder);
    o->capture.snaplen = 65535;
    o->capture.buffer_mb = 64;
    o->capture.promisc = true;
    o->capture.timeout_ms = 100;
    o->metrics.interval_s = 15;
}

void options_free(dw_options *o)
{
    config_mem_free(o->config_mem);
    o->config_mem = NULL;
}

static void print_config_diag(void *ctx, const config_diag *d)
{
    char line[1024];
    (void)ctx;
    ruleset_diag_format(d, line, sizeof line);
    fprintf(stderr, "%s\n", line);
}

/* The config file comes first so that every flag overrides it, wherever -c stands. */
static int load_config(dw_options *o, int argc, char **argv, const struct option *longopts)
{
    const char *path = NULL;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:i:r:", longopts, NULL)) != -1)
        if (c == 'c')
            path = optarg;
    if (path && strcmp(path, "none") == 0)
        return 0;
    if (!path && access(DW_CONFIG_DEFAULT, F_OK) != 0)
        return 0;
    if (!path)
        path = DW_CONFIG_DEFAULT;
    o->config = path;
    int rc = config_load(path, o, print_config_diag, NULL);
    if (rc == 0)
        return 0;
    fprintf(stderr, "dnswatch: %s: %s ('dnswatch check-config %s' lists the errors without "
                    "running)\n", path, rc == -ENOMEM ? "out of memory" : "config not loaded",
            path);
    return 1;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dnswatch run: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    return 2;
}

/* Strict unsigned parse: digits only, within [lo, hi]. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    uint64_t v;
    if (num_parse_u64(s, lo, hi, &v) != 0)
        return -EINVAL;
    *out = (unsigned long)v;
    return 0;
}

static int parse_ports(dw_options *o, const char *arg)
{
    char buf[256];
    if (strlen(arg) >= sizeof buf)
        return -EINVAL;
    strcpy(buf, arg);
    o->decoder.n_ports = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned long v;
        if (o->decoder.n_ports == DW_MAX_PORTS || parse_uint(tok, 1, 65535, &v) != 0)
            return -EINVAL;
        o->decoder.ports[o->decoder.n_ports++] = (uint16_t)v;
    }
    return o->decoder.n_ports ? 0 : -EINVAL;
}

enum { OPT_RULES = 256, OPT_ASN_DB, OPT_OUTPUT, OPT_REDIS, OPT_WORKERS, OPT_LOG, OPT_USER,
       OPT_NAME, OPT_FILTER, OPT_PORTS, OPT_FOLD, OPT_ALLOW_ROOT, OPT_REDIS_MODE, OPT_REDIS_KEY,
       OPT_REDIS_MAXLEN, OPT_REDIS_PWFILE, OPT_SPOOL_DIR, OPT_SPOOL_MAX, OPT_REDIS_WAIT };

int options_parse_run(dw_options *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"interface", required_argument, NULL, 'i'},
        {"read", required_argument, NULL, 'r'},
        {"rules", required_argument, NULL, OPT_RULES},
        {"asn-db", required_argument, NULL, OPT_ASN_DB},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"redis", required_argument, NULL, OPT_REDIS},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"log", required_argument, NULL, OPT_LOG},
        {"user", required_argument, NULL, OPT_USER},
        {"name", required_argument, NULL, OPT_NAME},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"ports", required_argument, NULL, OPT_PORTS},
        {"fold", required_argument, NULL, OPT_FOLD},
        {"allow-root", no_argument, NULL, OPT_ALLOW_ROOT},
        {"redis-mode", required_argument, NULL, OPT_REDIS_MODE},
        {"redis-key", required_argument, NULL, OPT_REDIS_KEY},
        {"redis-maxlen", required_argument, NULL, OPT_REDIS_MAXLEN},
        {"redis-password-file", required_argument, NULL, OPT_REDIS_PWFILE},
        {"spool-dir", required_argument, NULL, OPT_SPOOL_DIR},
        {"spool-max-bytes", required_argument, NULL, OPT_SPOOL_MAX},
        {"redis-wait", required_argument, NULL, OPT_REDIS_WAIT},
        {NULL, 0, NULL, 0},
    };
    unsigned long v;
    int c;
    bool flag_rules = false; /* --rules replaces the config's list, not adds to it */
    const char *flag_iface = NULL;

    if (load_config(o, argc, argv, longopts) != 0)
        return 1;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:i:r:", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': break;
        case 'i': o->iface = flag_iface = optarg; break;
        case 'r': o->pcap_file = optarg; break;
        case OPT_RULES:
            if (!flag_rules)
                o->n_rule_paths = 0;
            flag_rules = true;
            if (o->n_rule_paths == DW_MAX_RULE_PATHS)
                return usage_error("too many --rules (at most 64); pass a directory instead");
            o->rule_paths[o->n_rule_paths++] = optarg;
            break;
        case OPT_ASN_DB: o->asn_db = optarg; break;
        case OPT_OUTPUT:
            if (strcmp(optarg, "stdout") == 0)
                o->output = DW_OUT_STDOUT;
            else if (strcmp(optarg, "redis") == 0)
                o->output = DW_OUT_REDIS;
            else
                return usage_error("--output must be stdout or redis, not '%s'", optarg);
            break;
        case OPT_REDIS: o->redis.url = optarg; break;
        case OPT_WORKERS:
            if (parse_uint(optarg, 1, 64, &v) != 0)
                return usage_error("--workers must be a number from 1 to 64, not '%s'", optarg);
            o->workers = (unsigned)v;
            break;
        case OPT_LOG:
            if (strcmp(optarg, "alerts") == 0)
                o->log = DW_LOG_ALERTS;
            else if (strcmp(optarg, "watched") == 0)
                o->log = DW_LOG_WATCHED;
            else if (strcmp(optarg, "all") == 0)
                o->log = DW_LOG_ALL;
            else
                return usage_error("--log must be alerts, watched or all, not '%s'", optarg);
            break;
        case OPT_USER: o->user = optarg; break;
        case OPT_ALLOW_ROOT: o->allow_root = true; break;
        case OPT_NAME: o->observer_name = optarg; break;
        case OPT_FILTER: o->bpf = optarg; break;
        case OPT_PORTS:
            if (parse_ports(o, optarg) != 0)
                return usage_error("--ports takes up to 16 comma-separated ports 1-65535, not '%s'",
                                   optarg);
            break;
        case OPT_FOLD:
            if (parse_uint(optarg, 0, 86400, &v) != 0)
                return usage_error("--fold takes seconds from 0 (off) to 86400, not '%s'", optarg);
            o->fold_seconds = (unsigned)v;
            break;
        case OPT_REDIS_MODE:
            /* list = LPUSH (newest first); rpush = a list in arrival order, what Logstash's
             * and Vector's list inputs pop from the left. */
            o->redis.list_rpush = false;
            if (strcmp(optarg, "stream") == 0)
                o->redis.mode = PUB_STREAM;
            else if (strcmp(optarg, "list") == 0)
                o->redis.mode = PUB_LIST;
            else if (strcmp(optarg, "rpush") == 0) {
                o->redis.mode = PUB_LIST;
                o->redis.list_rpush = true;
            } else if (strcmp(optarg, "channel") == 0)
                o->redis.mode = PUB_CHANNEL;
            else
                return usage_error("--redis-mode must be stream, list, rpush or channel, not '%s'",
                                   optarg);
            break;
        case OPT_REDIS_KEY:
            if (!*optarg)
                return usage_error("--redis-key must not be empty");
            o->redis.key = optarg;
            break;
        case OPT_REDIS_MAXLEN:
            if (parse_uint(optarg, 0, 4000000000ul, &v) != 0)
                return usage_error("--redis-maxlen takes a number of entries (0 = no trimming), "
                                   "not '%s'", optarg);
            o->redis.maxlen = v;
            break;
        case OPT_REDIS_PWFILE: o->redis.password_file = optarg; break;
        case OPT_SPOOL_DIR: o->redis.spool_dir = optarg; break;
        case OPT_SPOOL_MAX:
            if (parse_uint(optarg, 4096, ULONG_MAX, &v) != 0)
                return usage_error("--spool-max-bytes takes a size in bytes of at least 4096, "
                                   "not '%s'", optarg);
            o->redis.spool_max_bytes = v;
            break;
        case OPT_REDIS_WAIT:
            if (parse_uint(optarg, 0, 3600000, &v) != 0)
                return usage_error("--redis-wait takes milliseconds from 0 to 3600000, not '%s'",
                                   optarg);
            o->redis_wait_ms = (unsigned)v;
            break;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (o->pcap_file && !flag_iface)
        o->iface = NULL; /* reading a file: the config's interface does not apply */
    if (!o->iface == !o->pcap_file)
        return usage_error("give exactly one of -i IFACE or -r FILE.pcap");
    return 0;
}
