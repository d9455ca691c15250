/* dnswatch: a passive DNS sensor for build networks. See DESIGN.md for the contract. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rules/explain.h"
#include "rules/ruleset.h"

#include "sensor/config.h"
#include "sensor/consume.h"
#include "sensor/options.h"
#include "sensor/run.h"

static const char usage_text[] =
    "Usage:\n"
    "  dnswatch run   [-c CONFIG] (-i IFACE | -r FILE.pcap) [--rules PATH]... [--asn-db FILE.mmdb|none]\n"
    "                 [--output stdout|redis] [--redis URL] [--workers N]\n"
    "                 [--log alerts|watched|all] [--user NAME] [--name OBSERVER]\n"
    "                 [--filter BPF] [--ports 53,5353] [--fold SECONDS] [--allow-root]\n"
    "                 [--redis-mode stream|list|rpush|channel] [--redis-key KEY]\n"
    "                 [--redis-maxlen N] [--redis-password-file FILE]\n"
    "                 [--spool-dir DIR] [--spool-max-bytes N] [--redis-wait MS]\n"
    "  dnswatch check-rules PATH...\n"
    "  dnswatch explain --rules PATH... [--asn-db FILE.mmdb|none] [--resolver IP] [--do] [--ad]\n"
    "                   (\"NAME TYPE DATA [TTL]\"... | -r FILE.pcap)\n"
    "  dnswatch check-config [CONFIG]      # default /etc/dnswatch/dnswatch.yaml\n"
    "  dnswatch consume [--redis URL] [--key K] [--group G] [--consumer C] [--out FILE]\n"
    "                 [--from-start|--from-now] [--claim-idle MS] [--count N]\n"
    "                 [--redis-password-file FILE]\n"
    "  dnswatch --version | --help\n"
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
    fputs(usage_text, f);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, 2);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return usage(stdout, 0);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("dnswatch %s\n", DNSWATCH_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0) {
        dw_options o;
        options_default(&o);
        int rc = options_parse_run(&o, argc - 1, argv + 1);
        if (rc == 0)
            rc = run_main(&o);
        else if (rc == 2)
            usage(stderr, 2);
        options_free(&o);
        return rc;
    }
    if (strcmp(cmd, "consume") == 0)
        return consume_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check-rules") == 0) {
        if (argc < 3) {
            fprintf(stderr, "dnswatch check-rules: give at least one rule file or directory\n");
            return usage(stderr, 2);
        }
        return ruleset_check((const char *const *)argv + 2, (size_t)argc - 2, time(NULL), stdout,
                             stderr);
    }
    if (strcmp(cmd, "explain") == 0)
        return explain_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check-config") == 0)
        return config_check_main(argc - 1, argv + 1);
    fprintf(stderr, "dnswatch: unknown command '%s'\n\n", cmd);
    return usage(stderr, 2);
}
