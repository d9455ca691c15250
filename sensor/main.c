/* dnswatch: a passive DNS sensor for build networks. See DESIGN.md for the contract. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rules/ruleset.h"

#include "sensor/check.h"
#include "sensor/config.h"
#include "sensor/explain.h"
#include "sensor/learn.h"
#include "sensor/consume.h"
#include "sensor/options.h"
#include "sensor/run.h"
#include "sensor/slog.h"
#include "sensor/version.h"

/* The run synopsis comes from the option table (sensor/options.h). */
static void usage_run_synopsis(FILE *f)
{
    const char *lead = "  dnswatch run   ";
    size_t col = (size_t)fprintf(f, "%s[-c CONFIG] (-i IFACE | -r FILE.pcap)", lead);
    for (size_t i = 0; i < dw_n_opts; i++) {
        const dw_optdef *d = &dw_opts[i];
        char item[96];
        if (!d->flag || d->short_flag)
            continue;
        int n = snprintf(item, sizeof item, "[--%s%s%s]%s", d->flag, d->arg ? " " : "",
                         d->arg ? d->arg : "", !strcmp(d->flag, "rules") ? "..." : "");
        if (col + 1 + (size_t)n > 92) {
            col = (size_t)fprintf(f, "\n%*s", (int)strlen(lead) - 1, "");
        }
        col += (size_t)fprintf(f, " %s", item);
    }
    fputc('\n', f);
}

static const char usage_rest[] =
    "  dnswatch check-rules [--format text|json] PATH...\n"
    "  dnswatch explain --rules PATH... [--asn-db FILE.mmdb|none] [--resolver IP] [--do] [--ad]\n"
    "                   (\"NAME TYPE DATA [TTL]\"... | -r FILE.pcap)\n"
    "  dnswatch learn (-r FILE... | -i IFACE --duration S | --dnstap SPEC) --names LIST|@FILE\n"
    "                 [--asn-db FILE|none] [--min-count N] [--max-entries N] [--rules DIR]\n"
    "                 [-o FILE]\n"
    "  dnswatch check-config [CONFIG]      # default /etc/dnswatch/dnswatch.yaml\n"
    "  dnswatch consume [--redis URL] [--key K] [--group G] [--consumer C] [--out FILE]\n"
    "                 [--from-start|--from-now] [--claim-idle MS] [--count N]\n"
    "                 [--redis-password-file FILE]\n"
    "  dnswatch --version | --help\n"
    "  dnswatch COMMAND --help             # the flags of one command\n"
    "\n"
    "run reads DNS responses from a live interface (-i) or a capture file (-r) and writes one\n"
    "JSON event per line: alerts only (--log alerts, the default), responses for watched names\n"
    "(--log watched), or every response (--log all). At the end of a file it prints its\n"
    "counters (packets, responses, malformed input by reason) on stderr.\n"
    "\n"
    "--output redis sends the events to Redis (--redis redis://[user@]host[:port][/db] or\n"
    "unix://[user@]/path[?db=N]); the password comes from --redis-password-file or\n"
    "$DNSWATCH_REDIS_PASSWORD. While Redis is away events wait in the spool directory;\n"
    "at the end a run waits --redis-wait ms (default 10000) for Redis to take them.\n"
    "consume reads the stream in a consumer group and writes one JSON event per line.\n"
    "\n"
    "Exit status: 0 success, 1 bad input (rules, config, capture), 2 usage error.\n";

static int usage(FILE *f, int status)
{
    fputs("Usage:\n", f);
    usage_run_synopsis(f);
    fputs(usage_rest, f);
    return status;
}

/* `dnswatch COMMAND --help` for the commands that have no help of their own. */
static const struct {
    const char *cmd, *text;
} command_help[] = {
    {"check-rules",
     "Usage: dnswatch check-rules [--format text|json] PATH...\n"
     "\n"
     "Loads rule files and directories (their *.yaml and *.yml files) as run would and prints\n"
     "every problem as \"file:line:col: error|warning: [rule] text\" on stdout, then\n"
     "\"N rules, E errors, W warnings, ruleset sha256:...\" on stderr. --format json prints\n"
     "one JSON document instead (docs/rule-format.md has its schema), for CI pipelines.\n"
     "\n"
     "Exit status: 0 valid (warnings allowed), 1 any error, 2 usage error.\n"},
    {"check-config",
     "Usage: dnswatch check-config [CONFIG]      # default /etc/dnswatch/dnswatch.yaml\n"
     "\n"
     "Loads a config file as run -c would and prints every problem as\n"
     "\"file:line:col: error|warning: text\" on stdout, then a summary line on stderr.\n"
     "docs/config.md lists every key.\n"
     "\n"
     "Exit status: 0 valid (warnings allowed), 1 any error, 2 usage error.\n"},
    {"consume",
     "Usage: dnswatch consume [--redis URL] [--key K] [--group G] [--consumer C] [--out FILE]\n"
     "                        [--from-start|--from-now] [--claim-idle MS] [--count N]\n"
     "                        [--redis-password-file FILE]\n"
     "\n"
     "Reads the event stream in a Redis consumer group and writes one JSON event per line\n"
     "(to --out FILE, default stdout), acknowledging each once written.\n"
     "\n"
     "Exit status: 0 success, 1 Redis or output error, 2 usage error.\n"},
};

/* "--help" or "-h" among the arguments of a command (before a "--"). */
static bool wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    slog_init("dnswatch");
    if (argc < 2)
        return usage(stderr, 2);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return usage(stdout, 0);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("dnswatch %s (git %s)\n", DNSWATCH_VERSION, dw_git_revision);
        return 0;
    }
    if (strcmp(cmd, "run") == 0 && wants_help(argc, argv)) {
        options_help_run(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof command_help / sizeof *command_help; i++) {
        if (!strcmp(cmd, command_help[i].cmd) && wants_help(argc, argv)) {
            fputs(command_help[i].text, stdout);
            return 0;
        }
    }
    if (strcmp(cmd, "run") == 0) {
        dw_options o;
        options_default(&o);
        int rc = options_parse_run(&o, argc - 1, argv + 1);
        if (rc == 0) {
            slog_set_level((enum slog_level)options_stderr_level(&o));
            rc = run_main(&o);
        }
        else if (rc == 2)
            usage(stderr, 2);
        options_free(&o);
        return rc;
    }
    if (strcmp(cmd, "consume") == 0)
        return consume_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check-rules") == 0) {
        /* --format text|json (or --format=...) before the paths. */
        enum check_format fmt = CHECK_TEXT;
        int first = 2;
        while (first < argc && !strncmp(argv[first], "--format", 8)) {
            const char *v = argv[first][8] == '=' ? argv[first] + 9 : NULL;
            if (!v && argv[first][8] == '\0' && first + 1 < argc)
                v = argv[++first];
            if (!v || (strcmp(v, "json") && strcmp(v, "text"))) {
                fprintf(stderr, "dnswatch check-rules: --format takes text or json\n");
                return 2;
            }
            fmt = !strcmp(v, "json") ? CHECK_JSON : CHECK_TEXT;
            first++;
        }
        if (first < argc && !strcmp(argv[first], "--"))
            first++;
        if (argc <= first) {
            fprintf(stderr, "dnswatch check-rules: give at least one rule file or directory\n");
            return usage(stderr, 2);
        }
        return check_rules_fmt((const char *const *)argv + first, (size_t)(argc - first),
                               time(NULL), fmt, stdout, stderr);
    }
    if (strcmp(cmd, "explain") == 0)
        return explain_main(argc - 1, argv + 1);
    if (strcmp(cmd, "learn") == 0)
        return learn_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check-config") == 0)
        return check_config_main(argc - 1, argv + 1);
    fprintf(stderr, "dnswatch: unknown command '%s'\n\n", cmd);
    return usage(stderr, 2);
}
