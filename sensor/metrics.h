/* Metrics in the Prometheus text exposition format (version 0.0.4): rendered from a
 * snapshot the caller fills, served over HTTP by a thread of its own, or written to a
 * node_exporter textfile. docs/deploy.md lists the metric names.
 *
 * Decoder counters (decoders/counters.h): the pipeline and informational ones (packets
 * read, DNS messages, queries, responses, fragments seen and reassembled, ...) are one
 * counter family each, dnswatch_<lowercase name>_total, HELP = the counter's text. Every
 * other counter is a reason of malformed or dropped input and is one series of
 * dnswatch_decode_errors_total{reason="<lowercase name>"}, so that one expression sums
 * them (a counter added to DW_COUNTER_LIST later lands there by default). */
#ifndef DW_METRICS_H
#define DW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "decoders/counters.h"
#include "common/err.h"
#include "rules/ruleset.h"
#include "sensor/publish.h"

#define METRICS_MAX_WORKERS 64
#define METRICS_MAX_REQUEST 8192     /* request line and headers, bytes */
#define METRICS_READ_TIMEOUT_MS 3000 /* a client has this long to send its request */

/* One reading of everything exported. Plain values, copied by the fill function: the
 * renderer never looks at live state. The have_* flags leave out what does not apply
 * (no capture statistics when reading a file, no Redis series with --output stdout). */
typedef struct metrics_snapshot {
    dw_counters counters;         /* summed over the workers */

    bool have_capture;            /* pcap_stats() of the live capture */
    uint64_t capture_received, capture_kernel_dropped, capture_interface_dropped;

    unsigned n_workers;           /* ring_dropped[0 .. n_workers-1] are valid */
    uint64_t ring_dropped[METRICS_MAX_WORKERS]; /* packets lost to a full worker ring */

    uint64_t response_events;     /* events written for --log watched|all */
    uint64_t alerts;              /* alert events written */

    bool have_publish;
    publish_stats publish;

    char ruleset_hash[RULESET_HASH_TEXT_MAX]; /* "" = no rules loaded */
    uint64_t rules_loaded;
    uint64_t reloads, reload_failures;
    uint64_t asn_reloads, asn_reload_failures; /* the ASN database file changed */

    double start_time;            /* Unix time of the start, seconds */

    /* process_* (the Prometheus client libraries' names), on the HTTP endpoint only: in a
     * node_exporter textfile they would clash with the exporter's own. */
    bool have_process;
    double process_cpu_seconds;
    uint64_t process_resident_bytes, process_virtual_bytes;
    uint64_t process_open_fds, process_max_fds;
} metrics_snapshot;

/* Fills the process_* fields of s from the kernel (getrusage, /proc/self, RLIMIT_NOFILE). */
void metrics_process_fill(metrics_snapshot *s);

/* Writes the whole exposition (every family with its HELP and TYPE lines). Returns 0 or
 * -EIO if out reported an error. */
DW_MUST_USE
int metrics_render(FILE *out, const metrics_snapshot *s);

/* Writes the exposition to path for node_exporter's textfile collector: to a temporary
 * file in the same directory, then rename(), so a reader never sees half a file. Mode
 * 0644. Returns 0 or a negative errno code. */
DW_MUST_USE
int metrics_write_textfile(const char *path, const metrics_snapshot *s);

/* Parses "HOST:PORT", "[V6]:PORT" or ":PORT" (host omitted = 127.0.0.1: loopback unless
 * asked otherwise). HOST is a numeric address or "localhost"; PORT 0-65535 (0: the kernel
 * picks one). Returns 0, or -EINVAL with the reason in err. */
DW_MUST_USE
int metrics_parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *alen,
                         char *err, size_t errlen);

/* Called on the server thread for each scrape: fill *s (zeroed before the call). Must not
 * block on the capture or the workers: read their counters, do not lock them. */
typedef void (*metrics_fill_fn)(void *ctx, metrics_snapshot *s);

typedef struct metrics_server metrics_server;

/* Binds listen (see metrics_parse_listen) and starts the server thread: GET /metrics
 * (a query string is ignored) answers 200 with the exposition, any other path 404, any
 * other method 405; a request over METRICS_MAX_REQUEST bytes 431; a client silent for
 * METRICS_READ_TIMEOUT_MS is dropped; HEAD gets GET's headers alone. When every
 * connection slot is taken, the oldest connection still sending its request gives up its
 * slot, so a flood of idle connections cannot hold a scrape back. One response per
 * connection. Returns 0, or a
 * negative errno code with one line in err. */
int metrics_server_start(const char *listen, metrics_fill_fn fill, void *ctx,
                         metrics_server **out, char *err, size_t errlen)
    DW_MUST_USE;

/* The port actually bound (useful after port 0). */
unsigned metrics_server_port(const metrics_server *m);
/* The address actually bound, "ADDR:PORT" or "[V6]:PORT" (port 0 resolved). */
const char *metrics_server_address(const metrics_server *m);
/* True when bound to every address (0.0.0.0 or [::]): reachable from other hosts. */
bool metrics_server_any(const metrics_server *m);

/* Stops the thread, closes every connection, frees. Accepts NULL. */
void metrics_server_stop(metrics_server *m);

#endif
