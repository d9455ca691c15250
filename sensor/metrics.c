#include "sensor/metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/num.h"
#include "sensor/version.h"

/* Connection slots. When all are taken, a new connection takes the slot of the oldest one
 * that has not finished sending its request (METRICS_READ_TIMEOUT_MS would free it only
 * later): idle or slow connections, from anyone, can delay a scrape by one accept, never
 * by seconds. A scraper's request follows its connect at once, so its connection is past
 * reading before many others can arrive. */
#define MAX_CONNS 64

/* ---- rendering ----------------------------------------------------------------------- */

/* Counters that count normal traffic, not trouble: one family each. All others are a
 * reason of dnswatch_decode_errors_total. */
static bool is_info_counter(enum dw_counter_id id)
{
    switch (id) {
    case DW_C_PACKETS:
    case DW_C_DNS_MESSAGES:
    case DW_C_DNS_QUERIES:
    case DW_C_DNS_RESPONSES:
    case DW_C_NOT_DNS_PORT:
    case DW_C_ETHERTYPE_OTHER:
    case DW_C_IP_PROTO_OTHER:
    case DW_C_FRAG_SEEN:
    case DW_C_FRAG_REASSEMBLED:
    case DW_C_TCP_FLOW_EXPIRED:
    case DW_C_TCP_OUT_OF_ORDER:
    case DW_C_TCP_MIDSTREAM:
    case DW_C_TUNNEL_VXLAN:
    case DW_C_TUNNEL_GENEVE:
    case DW_C_TUNNEL_GRE:
    case DW_C_TUNNEL_ERSPAN1:
    case DW_C_TUNNEL_ERSPAN2:
    case DW_C_TUNNEL_ERSPAN3:
    case DW_C_TUNNEL_PPPOE:
    case DW_C_TUNNEL_OUTER_FRAG:
    case DW_C_TUNNEL_GRE_VERSION:
    case DW_C_TUNNEL_PROTO_OTHER:
    case DW_C_TRACK_LATE:
    case DW_C_TRACK_RETRANSMITS:
    case DW_C_TRACK_CONFLICTS:
    case DW_C_TRACK_UNMATCHED:
    case DW_C_TRACK_NEAR_MISSES:
    case DW_C_TRACK_STATE_LOST:
    case DW_C_TRACK_HELD_BACK:
    case DW_C_DNSTAP_FRAMES:
    case DW_C_DNSTAP_CONNECTIONS:
    case DW_C_DNSTAP_CONN_LOST:
        return true;
    default:
        return false;
    }
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void put_escaped(FILE *out, const char *s, bool label)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (*s == '"' && label)
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s ", name);
    put_escaped(out, help, false);
    fprintf(out, "\n# TYPE %s %s\n", name, type);
}

static void u64_metric(FILE *out, const char *name, const char *type, const char *help,
                       uint64_t v)
{
    family(out, name, type, help);
    fprintf(out, "%s %" PRIu64 "\n", name, v);
}

static void lower_name(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

static void render_counters(FILE *out, const dw_counters *c)
{
    char lname[64], name[96];
    for (unsigned i = 0; i < DW_C__COUNT; i++) {
        if (!is_info_counter((enum dw_counter_id)i))
            continue;
        lower_name(lname, sizeof lname, dw_counter_name((enum dw_counter_id)i));
        snprintf(name, sizeof name, "dnswatch_%s_total", lname);
        u64_metric(out, name, "counter", dw_counter_text((enum dw_counter_id)i), c->v[i]);
    }
    family(out, "dnswatch_decode_errors_total", "counter",
           "Input not decoded, by reason: malformed packets and messages, and input dropped at "
           "a table or memory limit");
    for (unsigned i = 0; i < DW_C__COUNT; i++) {
        if (is_info_counter((enum dw_counter_id)i))
            continue;
        lower_name(lname, sizeof lname, dw_counter_name((enum dw_counter_id)i));
        fprintf(out, "dnswatch_decode_errors_total{reason=\"%s\"} %" PRIu64 "\n", lname, c->v[i]);
    }
}

int metrics_render(FILE *out, const metrics_snapshot *s)
{
    render_counters(out, &s->counters);
    if (s->have_capture) {
        u64_metric(out, "dnswatch_capture_received_total", "counter",
                   "Packets the capture received (pcap_stats ps_recv)", s->capture_received);
        u64_metric(out, "dnswatch_capture_kernel_dropped_total", "counter",
                   "Packets dropped because the capture buffer was full (ps_drop)",
                   s->capture_kernel_dropped);
        u64_metric(out, "dnswatch_capture_interface_dropped_total", "counter",
                   "Packets dropped by the interface or its driver (ps_ifdrop)",
                   s->capture_interface_dropped);
    }
    unsigned nw = s->n_workers < METRICS_MAX_WORKERS ? s->n_workers : METRICS_MAX_WORKERS;
    u64_metric(out, "dnswatch_workers", "gauge", "Worker threads", nw);
    if (nw) {
        family(out, "dnswatch_ring_dropped_total", "counter",
               "Packets dropped because the worker's ring was full");
        for (unsigned i = 0; i < nw; i++)
            fprintf(out, "dnswatch_ring_dropped_total{worker=\"%u\"} %" PRIu64 "\n", i,
                    s->ring_dropped[i]);
    }
    u64_metric(out, "dnswatch_response_events_total", "counter",
               "Response events written (--log watched or all)", s->response_events);
    u64_metric(out, "dnswatch_alerts_total", "counter", "Alert events written", s->alerts);
    if (s->have_publish) {
        const publish_stats *p = &s->publish;
        u64_metric(out, "dnswatch_redis_published_total", "counter",
                   "Events acknowledged by Redis", p->published);
        u64_metric(out, "dnswatch_redis_spooled_total", "counter",
                   "Events written to the disk spool while Redis was unreachable", p->spooled);
        u64_metric(out, "dnswatch_redis_replayed_total", "counter",
                   "Events sent from the spool after an outage", p->replayed);
        u64_metric(out, "dnswatch_redis_dropped_total", "counter",
                   "Events lost: the spool was full, shed them under pressure, or the disk "
                   "refused them", p->dropped);
        u64_metric(out, "dnswatch_redis_shed_alerts_total", "counter",
                   "Alerts kept out of the spool by their class's flood quota (in dropped)", p->shed_alerts);
        u64_metric(out, "dnswatch_redis_shed_events_total", "counter",
                   "Non-alert events kept out of the spool past half its bound (in dropped)", p->shed_events);
        u64_metric(out, "dnswatch_redis_dropped_disk_total", "counter",
                   "Of the events dropped, those the disk refused (full, I/O error)",
                   p->dropped_disk);
        u64_metric(out, "dnswatch_redis_spool_lost_total", "counter",
                   "Events lost because their spool records were found damaged", p->spool_lost);
        u64_metric(out, "dnswatch_redis_spool_damaged_total", "counter",
                   "Damaged stretches skipped in the spool (this run and found at start)",
                   p->spool_damaged);
        u64_metric(out, "dnswatch_redis_unheard_total", "counter",
                   "Events published to a channel while nobody was subscribed (PUBLISH "
                   "answered 0): acknowledged, received by no one", p->unheard);
        u64_metric(out, "dnswatch_redis_spool_events", "gauge",
                   "Events waiting in the disk spool for Redis", p->spool_events);
        u64_metric(out, "dnswatch_redis_spool_bytes", "gauge",
                   "Size of the disk spool's files, bytes", p->spool_bytes);
        u64_metric(out, "dnswatch_redis_spool_max_bytes", "gauge",
                   "The disk spool's bound (redis.spool_max_bytes), bytes", p->spool_max_bytes);
        u64_metric(out, "dnswatch_redis_connected", "gauge",
                   "1 when connected to Redis, else 0", p->connected ? 1 : 0);
        family(out, "dnswatch_redis_last_batch_seconds", "gauge",
               "Latency of the last pipelined batch");
        fprintf(out, "dnswatch_redis_last_batch_seconds %.6f\n", p->last_batch_ms / 1000.0);
    }
    if (s->ruleset_hash[0]) {
        family(out, "dnswatch_ruleset_info", "gauge", "The ruleset in use, by hash");
        fputs("dnswatch_ruleset_info{hash=\"", out);
        put_escaped(out, s->ruleset_hash, true);
        fputs("\"} 1\n", out);
    }
    u64_metric(out, "dnswatch_rules_loaded", "gauge", "Rules in the ruleset in use",
               s->rules_loaded);
    u64_metric(out, "dnswatch_reloads_total", "counter", "Ruleset reloads that succeeded",
               s->reloads);
    u64_metric(out, "dnswatch_reload_failures_total", "counter",
               "Ruleset reloads that failed (the previous ruleset stayed in use)",
               s->reload_failures);
    u64_metric(out, "dnswatch_asn_reloads_total", "counter",
               "ASN database reloads after its file changed", s->asn_reloads);
    u64_metric(out, "dnswatch_asn_reload_failures_total", "counter",
               "ASN database files that could not be loaded (the previous one stayed in use)",
               s->asn_reload_failures);
    family(out, "dnswatch_start_time_seconds", "gauge", "Start time of the process, Unix time");
    fprintf(out, "dnswatch_start_time_seconds %.3f\n", s->start_time);
    if (s->have_process) {
        family(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds");
        fprintf(out, "process_cpu_seconds_total %.6f\n", s->process_cpu_seconds);
        u64_metric(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes",
                   s->process_resident_bytes);
        u64_metric(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes",
                   s->process_virtual_bytes);
        u64_metric(out, "process_open_fds", "gauge", "Number of open file descriptors",
                   s->process_open_fds);
        u64_metric(out, "process_max_fds", "gauge", "Maximum number of open file descriptors",
                   s->process_max_fds);
        family(out, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds");
        fprintf(out, "process_start_time_seconds %.3f\n", s->start_time);
    }
    family(out, "dnswatch_build_info", "gauge", "The build of dnswatch, by version and git revision");
    fputs("dnswatch_build_info{version=\"", out);
    put_escaped(out, DNSWATCH_VERSION, true);
    fputs("\",revision=\"", out);
    put_escaped(out, dw_git_revision, true);
    fputs("\"} 1\n", out);
    return ferror(out) ? -EIO : 0;
}

void metrics_process_fill(metrics_snapshot *s)
{
    struct rusage ru;
    struct rlimit rl;
    s->have_process = true;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        s->process_cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        unsigned long long size, resident;
        long page = sysconf(_SC_PAGESIZE);
        if (fscanf(f, "%llu %llu", &size, &resident) == 2 && page > 0) {
            s->process_virtual_bytes = size * (uint64_t)page;
            s->process_resident_bytes = resident * (uint64_t)page;
        }
        fclose(f);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        uint64_t n = 0;
        for (struct dirent *e; (e = readdir(d));)
            n += e->d_name[0] != '.';
        closedir(d);
        s->process_open_fds = n ? n - 1 : 0; /* not the directory's own descriptor */
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        s->process_max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

int metrics_write_textfile(const char *path, const metrics_snapshot *s)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 8);
    int fd = -1, rc = 0;
    bool created = false;
    FILE *f = NULL;
    if (!tmp)
        return -ENOMEM;
    /* The temporary name does not end in .prom, so the collector never reads it. */
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", 8);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    created = true;
    if (fchmod(fd, 0644) != 0 || !(f = fdopen(fd, "w"))) {
        rc = -errno;
        goto out;
    }
    fd = -1; /* the stream owns it now */
    rc = metrics_render(f, s);
    int closed = fclose(f);
    f = NULL;
    if (closed != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (rc != 0 && created)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* ---- listen address ------------------------------------------------------------------ */

int metrics_parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *alen,
                         char *err, size_t errlen)
{
    char host[64];
    const char *port;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof host) {
            snprintf(err, errlen, "\"%.80s\": write an IPv6 address as [ADDR]:PORT", listen);
            return -EINVAL;
        }
        snprintf(host, sizeof host, "%.*s", (int)(end - listen - 1), listen + 1);
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon) {
            snprintf(err, errlen, "\"%.80s\" has no port; write HOST:PORT, e.g. 127.0.0.1:9153",
                     listen);
            return -EINVAL;
        }
        if (memchr(listen, ':', (size_t)(colon - listen))) {
            snprintf(err, errlen, "\"%.80s\": write an IPv6 address as [ADDR]:PORT", listen);
            return -EINVAL;
        }
        if ((size_t)(colon - listen) >= sizeof host) {
            snprintf(err, errlen, "\"%.80s\": host too long", listen);
            return -EINVAL;
        }
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        port = colon + 1;
    }
    uint64_t pv;
    if (num_parse_u64(port, 0, 65535, &pv) != 0) {
        snprintf(err, errlen, "\"%.80s\": port must be a number from 0 to 65535", listen);
        return -EINVAL;
    }
    memset(addr, 0, sizeof *addr);
    if (!host[0] || !strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)pv);
        *alen = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)pv);
        *alen = sizeof *a6;
    } else {
        snprintf(err, errlen, "\"%.80s\": \"%s\" is not a numeric IPv4 or IPv6 address", listen,
                 host);
        return -EINVAL;
    }
    return 0;
}

/* ---- HTTP server --------------------------------------------------------------------- */

struct conn {
    int fd;                   /* -1: free slot */
    size_t len;               /* request bytes read */
    char *resp;               /* NULL while reading the request */
    size_t resp_len, resp_off;
    bool draining;            /* response sent: reading what the client still sends */
    uint64_t deadline_ms;     /* read or write must be done by then */
    uint64_t accepted_ms;     /* when accepted: the oldest reader is the one evicted */
    bool head;                /* a HEAD request: headers only */
    char req[METRICS_MAX_REQUEST];
};

struct metrics_server {
    int lfd;
    int wake[2];              /* metrics_server_stop() writes a byte */
    pthread_t thread;
    bool thread_started;
    unsigned port;
    char addr[INET6_ADDRSTRLEN + 16]; /* "127.0.0.1:9153", "[::1]:9153": what was bound */
    bool any;                 /* bound to every address (0.0.0.0 or [::]) */
    metrics_fill_fn fill;
    void *ctx;
    struct conn conns[MAX_CONNS];
};

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) {
        shutdown(c->fd, SHUT_RDWR);
        close(c->fd);
    }
    free(c->resp);
    c->fd = -1;
    c->resp = NULL;
    c->draining = false;
    c->head = false;
    c->len = c->resp_len = c->resp_off = 0;
}

/* Builds the whole response, headers and body, for the connection to send. */
static void respond(struct conn *c, int status, const char *reason, const char *extra_headers,
                    const char *body, size_t body_len)
{
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                      "Connection: close\r\n\r\n",
                      status, reason,
                      status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                                    : "text/plain; charset=utf-8",
                      body_len, extra_headers);
    if (c->head)
        body_len = 0; /* HEAD: the headers GET would send, Content-Length included */
    c->resp = malloc((size_t)hl + body_len);
    if (!c->resp) {
        conn_close(c);
        return;
    }
    memcpy(c->resp, head, (size_t)hl);
    if (body_len)
        memcpy(c->resp + hl, body, body_len);
    c->resp_len = (size_t)hl + body_len;
    c->resp_off = 0;
}

static void respond_text(struct conn *c, int status, const char *reason, const char *extra,
                         const char *text)
{
    respond(c, status, reason, extra, text, strlen(text));
}

static void serve_metrics(struct metrics_server *m, struct conn *c)
{
    metrics_snapshot *s = calloc(1, sizeof *s);
    char *body = NULL;
    size_t body_len = 0;
    FILE *f = NULL;
    if (s) {
        m->fill(m->ctx, s);
        metrics_process_fill(s);
        f = open_memstream(&body, &body_len);
    }
    if (!f || metrics_render(f, s) != 0) {
        if (f)
            fclose(f);
        free(body);
        free(s);
        respond_text(c, 500, "Internal Server Error", "", "out of memory\n");
        return;
    }
    fclose(f);
    respond(c, 200, "OK", "", body, body_len);
    free(body);
    free(s);
}

/* The request line decides everything; headers are read (to their end) and ignored. */
static void handle_request(struct metrics_server *m, struct conn *c)
{
    char *eol = memchr(c->req, '\n', c->len);
    size_t ll = eol ? (size_t)(eol - c->req) : c->len;
    if (ll && c->req[ll - 1] == '\r')
        ll--;
    char line[512];
    if (ll >= sizeof line) {
        respond_text(c, 414, "URI Too Long", "", "request line too long\n");
        return;
    }
    memcpy(line, c->req, ll);
    line[ll] = '\0';
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || sp1 == line || strncmp(sp2 + 1, "HTTP/", 5) != 0) {
        respond_text(c, 400, "Bad Request", "", "bad request line\n");
        return;
    }
    *sp1 = *sp2 = '\0';
    for (const char *p = line; *p; p++) {
        if (!isupper((unsigned char)*p)) {
            respond_text(c, 400, "Bad Request", "", "bad method\n");
            return;
        }
    }
    c->head = strcmp(line, "HEAD") == 0;
    char *target = sp1 + 1;
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';
    if (strcmp(target, "/metrics") != 0)
        respond_text(c, 404, "Not Found", "", "not found: the metrics are at /metrics\n");
    else if (strcmp(line, "GET") != 0 && !c->head)
        respond_text(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n",
                     "only GET and HEAD are allowed\n");
    else
        serve_metrics(m, c);
}

static bool request_complete(const struct conn *c)
{
    for (size_t i = 0; i + 1 < c->len; i++) {
        if (c->req[i] == '\n' && (c->req[i + 1] == '\n' ||
                                  (c->req[i + 1] == '\r' && i + 2 < c->len && c->req[i + 2] == '\n')))
            return true;
    }
    return false;
}

static void conn_read(struct metrics_server *m, struct conn *c)
{
    ssize_t r = recv(c->fd, c->req + c->len, sizeof c->req - c->len, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (r <= 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)r;
    if (request_complete(c))
        handle_request(m, c);
    else if (c->len == sizeof c->req)
        respond_text(c, 431, "Request Header Fields Too Large", "", "request too large\n");
    else
        return;
    if (c->fd >= 0 && c->resp)
        c->deadline_ms = clk_mono_ms() + METRICS_READ_TIMEOUT_MS;
}

static void conn_write(struct conn *c)
{
    ssize_t w = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (w < 0) {
        conn_close(c);
        return;
    }
    c->resp_off += (size_t)w;
    if (c->resp_off < c->resp_len)
        return;
    /* Closing with unread input would send a reset, and the client could lose the response
     * (a 431 to a request still being sent): end our side, read theirs to its end. */
    shutdown(c->fd, SHUT_WR);
    c->draining = true;
    c->deadline_ms = clk_mono_ms() + 1000;
}

static void conn_drain(struct conn *c)
{
    char scrap[4096];
    ssize_t r = recv(c->fd, scrap, sizeof scrap, MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        conn_close(c);
}

/* A free slot, else the slot of the connection that has waited longest without sending a
 * whole request (closed); NULL when every slot is answering or draining. */
static struct conn *take_slot(struct metrics_server *m)
{
    struct conn *oldest = NULL;
    for (size_t i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &m->conns[i];
        if (c->fd < 0)
            return c;
        if (!c->resp && (!oldest || c->accepted_ms < oldest->accepted_ms))
            oldest = c;
    }
    if (oldest)
        conn_close(oldest);
    return oldest;
}

static void do_accept(struct metrics_server *m)
{
    /* At most one slot's worth of connections per turn, so the ones accepted get read. */
    for (int k = 0; k < MAX_CONNS; k++) {
        int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct conn *slot = take_slot(m);
        if (!slot) { /* every slot is sending a response: this one is refused */
            close(fd);
            continue;
        }
        slot->fd = fd;
        slot->len = 0;
        slot->accepted_ms = clk_mono_ms();
        slot->deadline_ms = slot->accepted_ms + METRICS_READ_TIMEOUT_MS;
    }
}

static void *server_main(void *arg)
{
    struct metrics_server *m = arg;
    struct pollfd pfd[MAX_CONNS + 2];
    int idx[MAX_CONNS + 2];
    for (;;) {
        size_t n = 0;
        bool free_slot = true; /* the listener is always polled: see take_slot */
        uint64_t now = clk_mono_ms(), next = UINT64_MAX;
        pfd[n++] = (struct pollfd){.fd = m->wake[0], .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++) {
            struct conn *c = &m->conns[i];
            if (c->fd < 0)
                continue;
            if (now >= c->deadline_ms) {
                conn_close(c); /* a slow or silent client loses its slot */
                continue;
            }
            if (c->deadline_ms < next)
                next = c->deadline_ms;
            idx[n] = i;
            pfd[n++] = (struct pollfd){
                .fd = c->fd, .events = c->resp && !c->draining ? POLLOUT : POLLIN};
        }
        size_t lpos = n;
        if (free_slot)
            pfd[n++] = (struct pollfd){.fd = m->lfd, .events = POLLIN};
        int timeout = next == UINT64_MAX ? -1 : (int)(next - now + 1);
        int rc = poll(pfd, n, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc <= 0)
            continue;
        if (pfd[0].revents)
            break;
        for (size_t k = 1; k < lpos; k++) {
            struct conn *c = &m->conns[idx[k]];
            if (!pfd[k].revents)
                continue;
            if (c->draining)
                conn_drain(c);
            else if (c->resp)
                conn_write(c);
            else
                conn_read(m, c);
        }
        if (free_slot && pfd[lpos].revents)
            do_accept(m);
    }
    return NULL;
}

int metrics_server_start(const char *listen_addr, metrics_fill_fn fill, void *ctx,
                         metrics_server **out, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc = metrics_parse_listen(listen_addr, &ss, &sl, err, errlen);
    if (rc)
        return rc;
    metrics_server *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "metrics: out of memory");
        return -ENOMEM;
    }
    m->lfd = m->wake[0] = m->wake[1] = -1;
    m->fill = fill;
    m->ctx = ctx;
    for (size_t i = 0; i < MAX_CONNS; i++)
        m->conns[i].fd = -1;
    const char *what = "socket";
    int one = 1;
    m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m->lfd < 0)
        goto fail;
    setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    what = "bind";
    if (bind(m->lfd, (struct sockaddr *)&ss, sl) != 0)
        goto fail;
    what = "listen";
    if (listen(m->lfd, 256) != 0)
        goto fail;
    sl = sizeof ss;
    what = "getsockname";
    if (getsockname(m->lfd, (struct sockaddr *)&ss, &sl) != 0)
        goto fail;
    m->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    char host[INET6_ADDRSTRLEN];
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
        snprintf(m->addr, sizeof m->addr, "%s:%u", host, m->port);
    } else {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
        snprintf(m->addr, sizeof m->addr, "[%s]:%u", host, m->port);
    }
    m->any = ss.ss_family == AF_INET
                 ? ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)
                 : IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
    what = "pipe";
    if (pipe2(m->wake, O_CLOEXEC | O_NONBLOCK) != 0)
        goto fail;
    /* The thread takes no signal: stop and reload are the main thread's business. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&m->thread, NULL, server_main, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        errno = e;
        what = "thread";
        goto fail;
    }
    m->thread_started = true;
    *out = m;
    return 0;
fail:
    rc = -errno;
    snprintf(err, errlen, "metrics: %s %s: %s", what, listen_addr, strerror(errno));
    metrics_server_stop(m);
    return rc;
}

unsigned metrics_server_port(const metrics_server *m) { return m->port; }
const char *metrics_server_address(const metrics_server *m) { return m->addr; }
bool metrics_server_any(const metrics_server *m) { return m->any; }

void metrics_server_stop(metrics_server *m)
{
    if (!m)
        return;
    if (m->thread_started) {
        char b = 1;
        while (write(m->wake[1], &b, 1) < 0 && errno == EINTR)
            ;
        pthread_join(m->thread, NULL);
    }
    for (size_t i = 0; i < MAX_CONNS; i++)
        conn_close(&m->conns[i]);
    if (m->lfd >= 0)
        close(m->lfd);
    for (int i = 0; i < 2; i++)
        if (m->wake[i] >= 0)
            close(m->wake[i]);
    free(m);
}
