#include "sensor/options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/yamlschema.h"
#include "sensor/config.h"
#include "sensor/slog.h"

/* ---- the option table ---------------------------------------------------------------- */

static const char *const outputs[] = {"stdout", "redis"};
static const char *const logs[] = {"alerts", "watched", "all"};
static const char *const modes[] = {"stream", "list", "channel"};
static const char *const pushes[] = {"lpush", "rpush"};
static const char *const levels[] = {"error", "warning", "notice", "info", "debug"};

#define AT(field) offsetof(dw_options, field), sizeof(((dw_options *)0)->field)
#define NAMES(v) v, sizeof v / sizeof *v
#define CLI DW_OPT_CODE_CLI
#define CFG DW_OPT_CODE_CONFIG

/* The order of the keys of one section is the order check-config lists them in. */
const dw_optdef dw_opts[] = {
    {"config", 'c', "FILE", NULL, DW_OPT_PATH, 0, 0, NULL, 0, AT(config), CLI | CFG,
     "`/etc/dnswatch/dnswatch.yaml` if it exists",
     "config file read before the flags (`none`: no file)"},
    {"interface", 'i', "IFACE", "interface", DW_OPT_TEXT, 1, 0, NULL, 0, AT(iface), 0, "—",
     "interface to capture on (the span port)"},
    {"read", 'r', "FILE.pcap", NULL, DW_OPT_PATH, 0, 0, NULL, 0, AT(pcap_file), CLI | CFG, "—",
     "capture file to read instead of an interface"},
    {"rules", 0, "PATH", "rules", DW_OPT_LIST, 0, DW_MAX_RULE_PATHS, NULL, 0, 0, 0, CLI | CFG,
     "none",
     "list of rule files or directories (their `*.yaml`/`*.yml`), at most 64; a single path "
     "may be written without brackets; the flag is repeatable and replaces the file's list"},
    {"asn-db", 0, "FILE|none", "asn_db", DW_OPT_PATH, 0, 0, NULL, 0, AT(asn_db), CFG, "none",
     "GeoLite2-ASN / DB-IP ASN Lite `.mmdb`; `none` = ASN checks off on purpose"},
    {"output", 0, "stdout|redis", "output", DW_OPT_ENUM, 0, 0, NAMES(outputs), AT(output), 0,
     "`stdout`", "where events go"},
    {NULL, 0, NULL, "redis", DW_OPT_SECTION, 0, 0, NULL, 0, 0, 0, 0, NULL,
     "the Redis publisher (`--output redis`)"},
    {"workers", 0, "N", "workers", DW_OPT_UINT, 1, 64, NULL, 0, AT(workers), 0,
     "cores - 1 live, cores reading a file", "worker threads, 1–64"},
    {"log", 0, "alerts|watched|all", "log", DW_OPT_ENUM, 0, 0, NAMES(logs), AT(log), 0,
     "`alerts`", "alerts only; also responses for watched names; every response"},
    {"user", 0, "NAME", "user", DW_OPT_TEXT, 1, 0, NULL, 0, AT(user), 0, "—",
     "drop to this user once the capture is open"},
    {"allow-root", 0, NULL, "allow_root", DW_OPT_BOOL, 0, 0, NULL, 0, AT(allow_root), 0,
     "`false`",
     "keep running privileged on a live capture without `user` (refused otherwise)"},
    {"name", 0, "OBSERVER", "name", DW_OPT_TEXT, 1, 0, NULL, 0, AT(observer_name), 0,
     "the host name", "`observer.name` in every event"},
    {"filter", 0, "BPF", "filter", DW_OPT_TEXT, 1, 0, NULL, 0, AT(bpf), CFG,
     "DNS on the configured ports at any VLAN depth and in PPPoE; IP fragments, IPv6 with "
     "extension headers and tunnels (GRE, ERSPAN, VXLAN, Geneve) whole (`sensor/capfilter.h`)",
     "capture filter; must compile (checked against Ethernet)"},
    {"ports", 0, "53,5353", "ports", DW_OPT_LIST, 1, 65535, NULL, 0, 0, 0, CLI | CFG, "`[53]`",
     "DNS ports, either direction; up to 16"},
    {"fold", 0, "SECONDS", "fold_seconds", DW_OPT_UINT, 0, 86400, NULL, 0, AT(fold_seconds), 0,
     "`60`", "identical alerts within that many seconds become one (0 = off), 0–86400"},
    {"redis", 0, "URL", "redis.url", DW_OPT_TEXT, 1, 0, NULL, 0, AT(redis.url), CFG,
     "`redis://127.0.0.1:6379`", "`redis://[user@]host[:port][/db]`, `rediss://...` (TLS), "
     "`unix:///path[?db=N]`, `sentinel://h1:p1,h2:p2/MASTER[/db]` or "
     "`cluster://seed1:p1[,seed2:p2]`"},
    {"redis-mode", 0, "stream|list|rpush|channel", "redis.mode", DW_OPT_ENUM, 0, 0,
     NAMES(modes), AT(redis.mode), CLI | CFG, "`stream`",
     "`stream` (XADD), `list` (LPUSH/RPUSH), `rpush` (a list filled with RPUSH, the order "
     "Logstash and Vector pop), `channel` (PUBLISH)"},
    {"redis-key", 0, "KEY", "redis.key", DW_OPT_TEXT, 1, 0, NULL, 0, AT(redis.key), 0,
     "`dnswatch:events`", "stream/list key or channel"},
    {"redis-maxlen", 0, "N", "redis.maxlen", DW_OPT_UINT, 0, UINT32_MAX, NULL, 0,
     AT(redis.maxlen), 0, "`1000000`", "stream: `XADD MAXLEN ~ N`; 0 = no trim; 0–4294967295"},
    {NULL, 0, NULL, "redis.list_push", DW_OPT_ENUM, 0, 0, NAMES(pushes), AT(redis.list_rpush), 0,
     "`lpush`", "list mode: `lpush` or `rpush`"},
    {"redis-password-file", 0, "FILE", "redis.password_file", DW_OPT_PATH, 0, 0, NULL, 0,
     AT(redis.password_file), CFG, "—",
     "file holding the password (else `$DNSWATCH_REDIS_PASSWORD`); warned about when readable "
     "by every user. A `password` key is refused: the password is never written in the config"},
    {"spool-dir", 0, "DIR", "redis.spool_dir", DW_OPT_PATH, 0, 0, NULL, 0, AT(redis.spool_dir),
     CFG, "`/var/lib/dnswatch/spool`", "on-disk spool while Redis is unreachable"},
    {"spool-max-bytes", 0, "SIZE", "redis.spool_max_bytes", DW_OPT_SIZE, 0, (uint64_t)1 << 42,
     NULL, 0, AT(redis.spool_max_bytes), 0, "`256M`", "spool bound (size), 0–4T"},
    {NULL, 0, NULL, "redis.batch", DW_OPT_UINT, 1, 100000, NULL, 0, AT(redis.batch_max), 0,
     "`256`", "events per pipelined batch, 1–100000"},
    {NULL, 0, NULL, "redis.queue", DW_OPT_UINT, 1, 1u << 24, NULL, 0, AT(redis.queue_max), 0,
     "`65536`", "events waiting in memory, 1–16777216"},
    {NULL, 0, NULL, "redis.queue_bytes", DW_OPT_SIZE, 1u << 20, (uint64_t)1 << 40, NULL, 0,
     AT(redis.queue_max_bytes), 0, "`64M`",
     "memory the in-memory queue may hold, its event buffers included, 1M–1T; beyond it (or "
     "`redis.queue`) events go to the spool"},
    {"redis-tls", 0, NULL, "redis.tls", DW_OPT_BOOL, 0, 0, NULL, 0, AT(redis.tls), 0, "`false`",
     "TLS to every Redis server, Sentinel and Cluster node (`rediss://` turns it on for one "
     "server)"},
    {"redis-tls-ca", 0, "FILE", "redis.tls_ca_file", DW_OPT_PATH, 0, 0, NULL, 0,
     AT(redis.tls_ca_file), 0, "the system's CA store", "CA bundle the server certificate must "
     "chain to"},
    {"redis-tls-cert", 0, "FILE", "redis.tls_cert_file", DW_OPT_PATH, 0, 0, NULL, 0,
     AT(redis.tls_cert_file), 0, "—", "client certificate (PEM), for servers that ask for one"},
    {"redis-tls-key", 0, "FILE", "redis.tls_key_file", DW_OPT_PATH, 0, 0, NULL, 0,
     AT(redis.tls_key_file), 0, "the certificate file", "the client certificate's key (PEM)"},
    {"redis-tls-server-name", 0, "NAME", "redis.tls_server_name", DW_OPT_TEXT, 1, 0, NULL, 0,
     AT(redis.tls_server_name), 0, "the URL's host",
     "name sent as SNI and required in the server certificate"},
    {"redis-sentinel-user", 0, "USER", "redis.sentinel_user", DW_OPT_TEXT, 1, 0, NULL, 0,
     AT(redis.sentinel_user), 0, "—", "ACL user for the Sentinels (the URL's user is the "
     "master's)"},
    {"redis-sentinel-password-file", 0, "FILE", "redis.sentinel_password_file", DW_OPT_PATH, 0,
     0, NULL, 0, AT(redis.sentinel_password_file), 0, "—",
     "file holding the Sentinels' password (else `$DNSWATCH_SENTINEL_PASSWORD`)"},
    {"redis-wait-replicas", 0, "N", "redis.wait_replicas", DW_OPT_UINT, 0, 64, NULL, 0,
     AT(redis.wait_replicas), 0, "`0`",
     "an event leaves the queue or spool only once `WAIT` says N replicas have it (0 = no "
     "wait), 0–64"},
    {NULL, 0, NULL, "redis.wait_timeout_ms", DW_OPT_UINT, 1, 60000, NULL, 0,
     AT(redis.wait_timeout_ms), 0, "`1000`", "how long `WAIT` waits for the replicas, 1–60000"},
    {"redis-wait", 0, "MS", NULL, DW_OPT_UINT, 0, 3600000, NULL, 0, AT(redis_wait_ms), 0,
     "`10000`", "at the end of a run, how long to wait for Redis to take what is queued before "
     "leaving it in the spool"},
    {NULL, 0, NULL, "capture", DW_OPT_SECTION, 0, 0, NULL, 0, 0, 0, 0, NULL,
     "live capture settings"},
    {NULL, 0, NULL, "capture.snaplen", DW_OPT_UINT, 64, 262144, NULL, 0, AT(capture.snaplen),
     CFG, "`65535`",
     "bytes kept per frame, 64–262144 (below 1514 is warned about: large responses are cut)"},
    {NULL, 0, NULL, "capture.buffer_mb", DW_OPT_UINT, 1, 2047, NULL, 0, AT(capture.buffer_mb), 0,
     "`64`", "kernel capture buffer, MiB, 1–2047"},
    {NULL, 0, NULL, "capture.promisc", DW_OPT_BOOL, 0, 0, NULL, 0, AT(capture.promisc), 0,
     "`true`", "promiscuous mode (needed on most span ports)"},
    {NULL, 0, NULL, "capture.timeout_ms", DW_OPT_UINT, 1, 1000, NULL, 0, AT(capture.timeout_ms),
     0, "`100`",
     "libpcap buffer timeout, 1–1000: also how soon output is flushed and a reload is seen on "
     "a quiet link"},
    {NULL, 0, NULL, "limits", DW_OPT_SECTION, 0, 0, NULL, 0, 0, 0, 0, NULL,
     "per-worker memory bounds"},
    {NULL, 0, NULL, "limits.frag_datagrams", DW_OPT_UINT, 1, 1u << 20, NULL, 0,
     AT(decoder.frag.max_datagrams), 0, "`65536`",
     "IP datagrams in reassembly at once, 1–1048576"},
    {NULL, 0, NULL, "limits.frag_bytes", DW_OPT_SIZE, 65536, (uint64_t)1 << 32, NULL, 0,
     AT(decoder.frag.max_bytes), 0, "`32M`",
     "fragment reassembly memory in total (size), 64K–4G: each datagram's entry (104 bytes), "
     "its payload in 256-byte blocks and, past one block or fragment, its map (~2.6 KiB)"},
    {NULL, 0, NULL, "limits.frag_recent_bytes", DW_OPT_SIZE, 128u << 10, (uint64_t)1 << 32,
     NULL, 0, AT(decoder.frag.recent_bytes), 0, "`4M`",
     "memory of reassembled DNS datagrams kept to reveal a fragment that contradicts one "
     "after reassembly (fragment_conflict) (size), 128K–4G: payloads and a record per 2 KiB"},
    {NULL, 0, NULL, "limits.frag_recent_ms", DW_OPT_UINT, 100, 60000, NULL, 0,
     AT(decoder.frag.recent_ms), 0, "`5000`",
     "how long a reassembled datagram is remembered for that, 100–60000 ms"},
    {NULL, 0, NULL, "limits.tcp_flows", DW_OPT_UINT, 1, 1u << 20, NULL, 0,
     AT(decoder.tcp.max_flows), 0, "`65536`",
     "TCP stream directions tracked at once (184 bytes each), 1–1048576"},
    {NULL, 0, NULL, "limits.tcp_bytes", DW_OPT_SIZE, 1u << 18, (uint64_t)1 << 32, NULL, 0,
     AT(decoder.tcp.max_total_bytes), 0, "`64M`", "TCP payload buffered in total (size), 256K–4G"},
    {NULL, 0, NULL, "limits.track_queries", DW_OPT_UINT, 1, 1u << 24, NULL, 0, AT(track_queries),
     0, "`65536`",
     "exchanges (queries with their first answer) remembered per worker for tracking (72 "
     "bytes each), 1–16777216 (rounded up to a power of 2)"},
    {NULL, 0, NULL, "metrics", DW_OPT_SECTION, 0, 0, NULL, 0, 0, 0, 0, NULL,
     "the Prometheus endpoint and textfile"},
    {NULL, 0, NULL, "metrics.listen", DW_OPT_TEXT, 0, 0, NULL, 0, AT(metrics.listen), CFG, "off",
     "`HOST:PORT`, `[V6]:PORT` or `:PORT` (host omitted = 127.0.0.1) for the Prometheus "
     "endpoint `GET /metrics`; `\"\"` = off"},
    {NULL, 0, NULL, "metrics.textfile", DW_OPT_PATH, 0, 0, NULL, 0, AT(metrics.textfile), CFG,
     "—",
     "write the metrics to this file for node_exporter's textfile collector (atomically; the "
     "name must end in `.prom` to be read)"},
    {NULL, 0, NULL, "metrics.interval_s", DW_OPT_UINT, 1, 3600, NULL, 0, AT(metrics.interval_s),
     0, "`15`",
     "how often the textfile is rewritten and a live capture writes a metric event "
     "(`event.kind: metric`) to its output, 1–3600"},
    {NULL, 0, NULL, "track", DW_OPT_SECTION, 0, 0, NULL, 0, 0, 0, 0, NULL,
     "exchange tracking thresholds (docs/rules.md \"Tracking thresholds\")"},
    {NULL, 0, NULL, "track.timeout_ms", DW_OPT_UINT, 100, 600000, NULL, 0, AT(track.timeout_ms),
     0, "`10000`",
     "how long a query is outstanding, 100–600000: near misses count within it; an answer "
     "after it is late, not unsolicited"},
    {NULL, 0, NULL, "track.near_miss", DW_OPT_UINT, 1, 65535, NULL, 0, AT(track.near_miss), 0,
     "`5`",
     "responses to a client matching none of its outstanding queries to that server that make "
     "a `txid_mismatch_flood`, 1–65535"},
    {NULL, 0, NULL, "track.blind_count", DW_OPT_UINT, 1, 1000000, NULL, 0, AT(track.blind_count),
     0, "`20`",
     "unmatched responses for a watched zone per server and client within "
     "`track.blind_window_ms` that make a blind `txid_mismatch_flood`, 1–1000000"},
    {NULL, 0, NULL, "track.blind_window_ms", DW_OPT_UINT, 100, 600000, NULL, 0,
     AT(track.blind_window_ms), 0, "`2000`", "the blind flood's rate window, 100–600000"},
    {NULL, 0, NULL, "track.seen_s", DW_OPT_UINT, 1, 3600, NULL, 0, AT(track.seen_s), 0, "`60`",
     "a client's queries to a server count as seen this long, 1–3600: without them no response "
     "to it is a flood or unsolicited (a one-way span stays silent)"},
    {NULL, 0, NULL, "track.window_s", DW_OPT_UINT, 1, 3600, NULL, 0, AT(track.window_s), 0,
     "`10`",
     "a flood or unsolicited incident is one alert per rule, client, server and window of this "
     "length, 1–3600"},
    {NULL, 0, NULL, "track.pairs", DW_OPT_UINT, 1, 1u << 22, NULL, 0, AT(track.max_pairs), 0,
     "`16384`",
     "client/server pairs remembered per worker (56 bytes each), 1–4194304 (rounded up to a "
     "power of 2)"},
    {NULL, 0, NULL, "track.incidents", DW_OPT_UINT, 1, 4096, NULL, 0, AT(track.max_incidents), 0,
     "`64`",
     "flood and unsolicited incidents open at once per worker (about 18 KiB each), 1–4096"},
    {"dnstap", 0, "unix:PATH|tcp:ADDR:PORT|file:PATH", "dnstap", DW_OPT_TEXT, 1, 0, NULL, 0,
     offsetof(dw_options, dnstap), sizeof(const char *), 0, "—",
     "dnstap input, beside -i/-r or instead: a Frame Streams socket to listen on for "
     "resolvers (`unix:PATH`, `tcp:ADDR:PORT`) or a capture file (`file:PATH`); the flag is "
     "repeatable, up to 8 sources, and replaces the file's source (docs/deploy.md)"},
    {"log-level", 0, "LEVEL", "log_level", DW_OPT_ENUM, 0, 0, NAMES(levels), AT(log_level), 0,
     "`info`",
     "the least severe of the sensor's own stderr lines written: `error`, `warning`, `notice`, "
     "`info` or `debug` (events are not affected)"},
    {"quiet", 'q', NULL, NULL, DW_OPT_BOOL, 0, 0, NULL, 0, AT(quiet), 0, "`false`",
     "only warnings and errors on stderr (as `--log-level warning`)"},
    {"verbose", 'v', NULL, NULL, DW_OPT_BOOL, 0, 0, NULL, 0, AT(verbose), 0, "`false`",
     "every message on stderr, debug ones too (as `--log-level debug`)"},
};
const size_t dw_n_opts = sizeof dw_opts / sizeof *dw_opts;

#undef AT
#undef NAMES
#undef CLI
#undef CFG

size_t options_dnstap_count(const dw_options *o)
{
    size_t n = 0;
    while (n < DW_MAX_DNSTAP && o->dnstap[n])
        n++;
    return n;
}

const dw_optdef *options_by_key(const char *key)
{
    for (size_t i = 0; i < dw_n_opts; i++)
        if (dw_opts[i].key && !strcmp(dw_opts[i].key, key))
            return &dw_opts[i];
    return NULL;
}

const dw_optdef *options_by_flag(const char *flag)
{
    for (size_t i = 0; i < dw_n_opts; i++)
        if (dw_opts[i].flag && !strcmp(dw_opts[i].flag, flag))
            return &dw_opts[i];
    return NULL;
}

void options_store(dw_options *o, const dw_optdef *d, uint64_t v, const char *s)
{
    char *at = (char *)o + d->off;
    if (d->type == DW_OPT_TEXT || d->type == DW_OPT_PATH) {
        memcpy(at, &s, sizeof s);
    } else if (d->size == sizeof(bool)) {
        bool b = v != 0; /* also an enum of two held as a bool (redis.list_push) */
        memcpy(at, &b, sizeof b);
    } else if (d->size == sizeof(unsigned)) {
        unsigned u = (unsigned)v; /* also the enums, which are int-sized */
        memcpy(at, &u, sizeof u);
    } else if (d->size == sizeof(uint64_t)) {
        memcpy(at, &v, sizeof v);
    }
}

/* "a, b or c" into buf. */
static const char *or_list(char *buf, size_t len, const char *const *names, size_t n)
{
    size_t w = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && w < len; i++)
        w += (size_t)snprintf(buf + w, len - w, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                              names[i]);
    return buf;
}

static void flag_text(char *buf, size_t len, const dw_optdef *d)
{
    if (d->short_flag)
        snprintf(buf, len, "-%c, --%s%s%s", d->short_flag, d->flag, d->arg ? " " : "",
                 d->arg ? d->arg : "");
    else
        snprintf(buf, len, "--%s%s%s", d->flag, d->arg ? " " : "", d->arg ? d->arg : "");
}

/* text at indent, words wrapped before width, the docs' `code` marks dropped. */
static void wrap(FILE *f, const char *text, int indent, int width)
{
    int col = 0;
    while (*text) {
        while (*text == ' ')
            text++;
        size_t n = strcspn(text, " ");
        int w = 0;
        for (size_t i = 0; i < n; i++)
            w += text[i] != '`' && (text[i] & 0xc0) != 0x80;
        if (col && col + 1 + w > width) {
            fputc('\n', f);
            col = 0;
        }
        col += col ? fprintf(f, " ") : fprintf(f, "%*s", indent, "");
        for (size_t i = 0; i < n; i++)
            if (text[i] != '`')
                fputc(text[i], f);
        col += w;
        text += n;
    }
    if (col)
        fputc('\n', f);
}

void options_help_run(FILE *f)
{
    fputs("Usage: dnswatch run [-c CONFIG] (-i IFACE | -r FILE.pcap | --dnstap SOURCE...) "
          "[OPTION]...\n"
          "\n"
          "Reads DNS responses from a live interface (-i) or a capture file (-r), and/or the\n"
          "dnstap of resolvers (--dnstap), and writes one\n"
          "JSON event per line. Every flag overrides the config key it mirrors\n"
          "(docs/config.md lists every key, with the ones that have no flag).\n"
          "\n"
          "Options:\n", f);
    for (size_t i = 0; i < dw_n_opts; i++) {
        const dw_optdef *d = &dw_opts[i];
        if (!d->flag)
            continue;
        char ft[96];
        flag_text(ft, sizeof ft, d);
        char text[768];
        snprintf(text, sizeof text, "%s%s%s%s", d->help, d->key ? " [config: " : "",
                 d->key ? d->key : "", d->key ? "]" : "");
        fprintf(f, "  %s\n", ft);
        wrap(f, text, 6, 88);
    }
    fputs("  -h, --help\n      this text\n", f);
}

/* Markdown cell text: a '|' inside it is escaped. */
static void cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
}

void options_doc_table(FILE *f)
{
    fputs("| key | default | flag | meaning |\n|---|---|---|---|\n", f);
    for (size_t i = 0; i < dw_n_opts; i++) {
        const dw_optdef *d = &dw_opts[i];
        if (!d->key || d->type == DW_OPT_SECTION)
            continue;
        fprintf(f, "| `%s` | ", d->key);
        cell(f, d->def);
        fputs(" | ", f);
        if (d->flag) {
            char ft[96];
            if (d->short_flag)
                snprintf(ft, sizeof ft, "`-%c %s`", d->short_flag, d->arg);
            else
                snprintf(ft, sizeof ft, "`--%s%s%s`", d->flag, d->arg ? " " : "",
                         d->arg ? d->arg : "");
            cell(f, ft);
        } else {
            fputs("—", f);
        }
        fputs(" | ", f);
        cell(f, d->help);
        fputs(" |\n", f);
    }
}


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
    o->log_level = DW_LOGLEVEL_INFO;
}

int options_stderr_level(const dw_options *o)
{
    if (o->verbose)
        return 7;
    if (o->quiet)
        return 4;
    return 3 + (int)o->log_level;
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
    slog_msg(SLOG_WARNING, line);
}

/* getopt's tables from dw_opts: a row's long option returns 256 + its index, or its
 * short letter. */
struct getopt_tables {
    struct option longopts[sizeof dw_opts / sizeof *dw_opts + 1];
    char shortopts[32];
};

static void build_getopt(struct getopt_tables *T)
{
    size_t n = 0, k = 0;
    T->shortopts[k++] = ':';
    for (size_t i = 0; i < dw_n_opts; i++) {
        const dw_optdef *d = &dw_opts[i];
        if (!d->flag)
            continue;
        int val = d->short_flag ? d->short_flag : 256 + (int)i;
        T->longopts[n++] = (struct option){d->flag, d->arg ? required_argument : no_argument,
                                           NULL, val};
        if (d->short_flag && k + 3 < sizeof T->shortopts) {
            T->shortopts[k++] = d->short_flag;
            if (d->arg)
                T->shortopts[k++] = ':';
        }
    }
    T->longopts[n] = (struct option){NULL, 0, NULL, 0};
    T->shortopts[k] = 0;
}

static const dw_optdef *row_of(int c)
{
    if (c >= 256 && (size_t)(c - 256) < dw_n_opts)
        return &dw_opts[c - 256];
    for (size_t i = 0; i < dw_n_opts; i++)
        if (dw_opts[i].flag && dw_opts[i].short_flag == c)
            return &dw_opts[i];
    return NULL;
}

/* The config file comes first so that every flag overrides it, wherever -c stands. */
static int load_config(dw_options *o, int argc, char **argv, const struct getopt_tables *T)
{
    const char *path = NULL;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, T->shortopts, T->longopts, NULL)) != -1)
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
    slog(SLOG_ERR, "%s: %s ('dnswatch check-config %s' lists the errors without running)", path, rc == -ENOMEM ? "out of memory" : "config not loaded",
            path);
    return 1;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    char text[1024];
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    slog(SLOG_ERR, "run: %s", text);
    fputc('\n', stderr); /* then the usage text */
    return 2;
}

static int parse_ports(dw_options *o, const dw_optdef *d, const char *arg)
{
    char buf[256];
    if (strlen(arg) >= sizeof buf)
        return -EINVAL;
    strcpy(buf, arg);
    o->decoder.n_ports = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        uint64_t v;
        if (o->decoder.n_ports == DW_MAX_PORTS || !ys_parse_uint(tok, d->lo, d->hi, &v))
            return -EINVAL;
        o->decoder.ports[o->decoder.n_ports++] = (uint16_t)v;
    }
    return o->decoder.n_ports ? 0 : -EINVAL;
}

/* A flag whose row needs nothing but its type, bounds and place. */
static int parse_generic(dw_options *o, const dw_optdef *d, const char *arg)
{
    char list[96];
    uint64_t v = 0;
    switch (d->type) {
    case DW_OPT_TEXT:
    case DW_OPT_PATH:
        if (d->lo && !*arg)
            return usage_error("--%s must not be empty", d->flag);
        options_store(o, d, 0, arg);
        return 0;
    case DW_OPT_UINT:
        if (!ys_parse_uint(arg, d->lo, d->hi, &v))
            return usage_error("--%s must be a number from %llu to %llu, not '%s'", d->flag,
                               (unsigned long long)d->lo, (unsigned long long)d->hi, arg);
        break;
    case DW_OPT_SIZE:
        if (!ys_parse_size(arg, d->lo, d->hi, &v))
            return usage_error("--%s must be a size from %llu to %llu bytes (a number, "
                               "optionally with K, M, G or T), not '%s'", d->flag,
                               (unsigned long long)d->lo, (unsigned long long)d->hi, arg);
        break;
    case DW_OPT_BOOL:
        v = 1;
        break;
    case DW_OPT_ENUM:
        while (v < d->n_names && strcmp(arg, d->names[v]))
            v++;
        if (v == d->n_names)
            return usage_error("--%s must be %s, not '%s'", d->flag,
                               or_list(list, sizeof list, d->names, d->n_names), arg);
        break;
    default:
        return usage_error("--%s cannot be given on the command line", d->flag);
    }
    options_store(o, d, v, NULL);
    return 0;
}

int options_parse_run(dw_options *o, int argc, char **argv)
{
    struct getopt_tables T;
    int c;
    bool flag_rules = false; /* --rules replaces the config's list, not adds to it */
    size_t flag_dnstap = 0;  /* --dnstap likewise */
    const char *flag_iface = NULL;

    build_getopt(&T);
    if (load_config(o, argc, argv, &T) != 0)
        return 1;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, T.shortopts, T.longopts, NULL)) != -1) {
        const dw_optdef *d = row_of(c);
        if (c == ':')
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        if (!d)
            return usage_error("unknown option '%s'", argv[optind - 1]);
        if (!strcmp(d->flag, "config"))
            continue;
        if (!strcmp(d->flag, "interface"))
            flag_iface = optarg;
        if (!strcmp(d->flag, "read")) {
            o->pcap_file = optarg;
        } else if (!strcmp(d->flag, "rules")) {
            if (!flag_rules)
                o->n_rule_paths = 0;
            flag_rules = true;
            if (o->n_rule_paths == DW_MAX_RULE_PATHS)
                return usage_error("too many --rules (at most 64); pass a directory instead");
            o->rule_paths[o->n_rule_paths++] = optarg;
        } else if (!strcmp(d->flag, "dnstap")) {
            if (!*optarg)
                return usage_error("--dnstap must not be empty");
            if (flag_dnstap == DW_MAX_DNSTAP)
                return usage_error("too many --dnstap (at most %d)", DW_MAX_DNSTAP);
            if (!flag_dnstap)
                memset(o->dnstap, 0, sizeof o->dnstap);
            o->dnstap[flag_dnstap++] = optarg;
        } else if (!strcmp(d->flag, "ports")) {
            if (parse_ports(o, d, optarg) != 0)
                return usage_error("--ports takes up to 16 comma-separated ports 1-65535, not '%s'",
                                   optarg);
        } else if (!strcmp(d->flag, "redis-mode")) {
            /* list = LPUSH (newest first); rpush = a list in arrival order, what Logstash's
             * and Vector's list inputs pop from the left. */
            o->redis.list_rpush = false;
            if (strcmp(optarg, "rpush") == 0) {
                o->redis.mode = PUB_LIST;
                o->redis.list_rpush = true;
            } else if (strcmp(optarg, "stream") && strcmp(optarg, "list") &&
                       strcmp(optarg, "channel")) {
                return usage_error("--redis-mode must be stream, list, rpush or channel, not '%s'",
                                   optarg);
            } else if (parse_generic(o, d, optarg) != 0) {
                return 2;
            }
        } else if (parse_generic(o, d, optarg) != 0) {
            return 2;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (o->pcap_file && !flag_iface)
        o->iface = NULL; /* reading a file: the config's interface does not apply */
    if ((o->iface && o->pcap_file) || (!o->iface && !o->pcap_file && !o->dnstap[0]))
        return usage_error("give exactly one of -i IFACE or -r FILE.pcap, or --dnstap SOURCE "
                           "(alone or beside either)");
    return 0;
}
