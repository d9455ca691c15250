/* Metrics: the exposition parses back as valid Prometheus text format with the values put
 * in; the textfile is replaced atomically; the HTTP endpoint answers real requests on
 * loopback, refuses what it should, and is not held up by a silent client. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sensor/metrics.h"

/* ---- a small exposition-format parser ------------------------------------------------- */

#define MAX_SAMPLES 256

struct sample {
    char name[128];
    char labels[4][2][128]; /* name, unescaped value */
    int n_labels;
    double value;
};

struct expo {
    struct sample s[MAX_SAMPLES];
    int n;
    char families[MAX_SAMPLES][128];
    char types[MAX_SAMPLES][16];
    int n_families;
};

static bool valid_metric_name(const char *s, size_t n)
{
    if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
            return false;
    return true;
}

static bool valid_label_name(const char *s, size_t n)
{
    if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* Fails the test on anything the format does not allow. Every sample must belong to the
 * family whose HELP and TYPE came just before it; no family twice. */
static void parse_expo(const char *text, struct expo *e)
{
    memset(e, 0, sizeof *e);
    const char *p = text;
    char cur[128] = "";
    bool have_help = false;
    assert_true(*text);
    assert_int_equal(text[strlen(text) - 1], '\n');
    while (*p) {
        const char *eol = strchr(p, '\n');
        assert_non_null(eol);
        char line[1024];
        size_t len = (size_t)(eol - p);
        assert_true(len > 0 && len < sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        p = eol + 1;
        if (!strncmp(line, "# HELP ", 7)) {
            char *name = line + 7, *sp = strchr(name, ' ');
            assert_non_null(sp);
            assert_true(valid_metric_name(name, (size_t)(sp - name)));
            *sp = '\0';
            for (int i = 0; i < e->n_families; i++)
                assert_string_not_equal(e->families[i], name);
            assert_true(e->n_families < MAX_SAMPLES);
            snprintf(cur, sizeof cur, "%.127s", name);
            snprintf(e->families[e->n_families], 128, "%.127s", name);
            have_help = true;
            /* HELP text: only \\ and \n escapes. */
            for (const char *h = sp + 1; *h; h++)
                if (*h == '\\') {
                    assert_true(h[1] == '\\' || h[1] == 'n');
                    h++;
                }
            continue;
        }
        if (!strncmp(line, "# TYPE ", 7)) {
            assert_true(have_help);
            char name[128], type[32];
            assert_int_equal(sscanf(line + 7, "%127s %31s", name, type), 2);
            assert_string_equal(name, cur);
            assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge"));
            if (!strcmp(type, "counter"))
                assert_true(strlen(name) > 6 && !strcmp(name + strlen(name) - 6, "_total"));
            snprintf(e->types[e->n_families++], 16, "%.15s", type);
            have_help = false;
            continue;
        }
        assert_true(line[0] != '#');
        assert_true(e->n < MAX_SAMPLES);
        struct sample *s = &e->s[e->n++];
        size_t nl = strcspn(line, "{ ");
        assert_true(valid_metric_name(line, nl));
        assert_true(nl < sizeof s->name);
        memcpy(s->name, line, nl);
        s->name[nl] = '\0';
        assert_string_equal(s->name, cur);
        char *q = line + nl;
        if (*q == '{') {
            q++;
            while (*q != '}') {
                assert_true(s->n_labels < 4);
                size_t ln = strcspn(q, "=");
                assert_true(valid_label_name(q, ln));
                memcpy(s->labels[s->n_labels][0], q, ln);
                s->labels[s->n_labels][0][ln] = '\0';
                q += ln;
                assert_int_equal(q[0], '=');
                assert_int_equal(q[1], '"');
                q += 2;
                char *v = s->labels[s->n_labels][1];
                size_t vn = 0;
                for (; *q != '"'; q++) {
                    assert_true(*q != '\0');
                    char ch = *q;
                    if (ch == '\\') {
                        q++;
                        assert_true(*q == '\\' || *q == '"' || *q == 'n');
                        ch = *q == 'n' ? '\n' : *q;
                    }
                    assert_true(vn < 127);
                    v[vn++] = ch;
                }
                v[vn] = '\0';
                q++;
                s->n_labels++;
                if (*q == ',')
                    q++;
            }
            q++;
        }
        assert_int_equal(*q, ' ');
        char *end;
        s->value = strtod(q + 1, &end);
        assert_true(end != q + 1 && *end == '\0');
    }
}

static const struct sample *find(const struct expo *e, const char *name, const char *label,
                                 const char *value)
{
    for (int i = 0; i < e->n; i++) {
        if (strcmp(e->s[i].name, name))
            continue;
        if (!label)
            return &e->s[i];
        for (int l = 0; l < e->s[i].n_labels; l++)
            if (!strcmp(e->s[i].labels[l][0], label) && !strcmp(e->s[i].labels[l][1], value))
                return &e->s[i];
    }
    return NULL;
}

static double value_of(const struct expo *e, const char *name, const char *label,
                       const char *value)
{
    const struct sample *s = find(e, name, label, value);
    if (!s) {
        fail_msg("no sample %s{%s=\"%s\"}", name, label ? label : "", value ? value : "");
        return -1;
    }
    return s->value;
}

static char *render(const metrics_snapshot *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(metrics_render(f, s), 0);
    fclose(f);
    return buf;
}

static void sample_snapshot(metrics_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->counters.v[DW_C_PACKETS] = 1000;
    s->counters.v[DW_C_DNS_RESPONSES] = 400;
    s->counters.v[DW_C_DNS_NAME_LOOP] = 7;
    s->counters.v[DW_C_FRAG_REASSEMBLED] = 3;
    s->have_capture = true;
    s->capture_received = 1234;
    s->capture_kernel_dropped = 5;
    s->n_workers = 3;
    s->ring_dropped[1] = 42;
    s->alerts = 9;
    s->response_events = 11;
    snprintf(s->ruleset_hash, sizeof s->ruleset_hash, "sha256:ab\"c\\d\ne");
    s->rules_loaded = 12;
    s->reload_failures = 2;
    s->start_time = 1790000000.25;
}

static void test_render_parses_back(void **state)
{
    (void)state;
    metrics_snapshot s;
    sample_snapshot(&s);
    char *text = render(&s);
    struct expo *e = malloc(sizeof *e);
    parse_expo(text, e);
    assert_true(value_of(e, "dnswatch_packets_total", NULL, NULL) == 1000);
    assert_true(value_of(e, "dnswatch_dns_responses_total", NULL, NULL) == 400);
    assert_true(value_of(e, "dnswatch_frag_reassembled_total", NULL, NULL) == 3);
    assert_true(value_of(e, "dnswatch_decode_errors_total", "reason", "dns_name_loop") == 7);
    assert_true(value_of(e, "dnswatch_decode_errors_total", "reason", "ip_truncated") == 0);
    /* Every counter appears exactly once, one way or the other. */
    int decode_reasons = 0;
    for (int i = 0; i < e->n; i++)
        decode_reasons += !strcmp(e->s[i].name, "dnswatch_decode_errors_total");
    int info = 0;
    for (int i = 0; i < DW_C__COUNT; i++) {
        char name[128];
        snprintf(name, sizeof name, "dnswatch_%s_total", dw_counter_name((enum dw_counter_id)i));
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        info += find(e, name, NULL, NULL) != NULL;
    }
    assert_int_equal(info + decode_reasons, DW_C__COUNT);
    assert_true(info >= 5);
    assert_true(value_of(e, "dnswatch_capture_received_total", NULL, NULL) == 1234);
    assert_true(value_of(e, "dnswatch_capture_kernel_dropped_total", NULL, NULL) == 5);
    assert_true(value_of(e, "dnswatch_ring_dropped_total", "worker", "1") == 42);
    assert_true(value_of(e, "dnswatch_ring_dropped_total", "worker", "2") == 0);
    assert_null(find(e, "dnswatch_ring_dropped_total", "worker", "3"));
    assert_true(value_of(e, "dnswatch_alerts_total", NULL, NULL) == 9);
    assert_true(value_of(e, "dnswatch_response_events_total", NULL, NULL) == 11);
    /* The label value comes back exactly, quote, backslash and newline included. */
    assert_true(value_of(e, "dnswatch_ruleset_info", "hash", "sha256:ab\"c\\d\ne") == 1);
    assert_true(value_of(e, "dnswatch_rules_loaded", NULL, NULL) == 12);
    assert_true(value_of(e, "dnswatch_reload_failures_total", NULL, NULL) == 2);
    assert_true(value_of(e, "dnswatch_start_time_seconds", NULL, NULL) == 1790000000.25);
    assert_true(value_of(e, "dnswatch_build_info", "version", DNSWATCH_VERSION) == 1);
    assert_null(find(e, "dnswatch_redis_published_total", NULL, NULL)); /* no publisher */

    s.have_publish = true;
    s.have_capture = false;
    s.ruleset_hash[0] = '\0';
    s.publish = (publish_stats){.published = 100, .spooled = 4, .replayed = 3, .dropped = 1,
                                .connected = true, .last_batch_ms = 2.5};
    free(text);
    text = render(&s);
    parse_expo(text, e);
    assert_true(value_of(e, "dnswatch_redis_published_total", NULL, NULL) == 100);
    assert_true(value_of(e, "dnswatch_redis_spooled_total", NULL, NULL) == 4);
    assert_true(value_of(e, "dnswatch_redis_replayed_total", NULL, NULL) == 3);
    assert_true(value_of(e, "dnswatch_redis_dropped_total", NULL, NULL) == 1);
    assert_true(value_of(e, "dnswatch_redis_connected", NULL, NULL) == 1);
    assert_true(value_of(e, "dnswatch_redis_last_batch_seconds", NULL, NULL) == 0.0025);
    assert_null(find(e, "dnswatch_capture_received_total", NULL, NULL));
    assert_null(find(e, "dnswatch_ruleset_info", NULL, NULL));
    free(text);
    free(e);
}

static void test_textfile(void **state)
{
    (void)state;
    char dir[] = "/tmp/dw_test_metrics.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/dnswatch.prom", dir);
    metrics_snapshot s;
    sample_snapshot(&s);
    assert_int_equal(metrics_write_textfile(path, &s), 0);
    s.alerts = 77;
    assert_int_equal(metrics_write_textfile(path, &s), 0); /* replaces the old one */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *want = render(&s);
    assert_string_equal(buf, want);
    free(want);
    /* Nothing else is left in the directory. */
    DIR *d = opendir(dir);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)))
        files += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(files, 1);
    unlink(path);
    /* A directory that does not exist: an error, nothing written. */
    snprintf(path, sizeof path, "%s/none/dnswatch.prom", dir);
    assert_int_equal(metrics_write_textfile(path, &s), -ENOENT);
    assert_int_equal(rmdir(dir), 0);
}

static void test_parse_listen(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t sl;
    char err[200];
    assert_int_equal(metrics_parse_listen("127.0.0.1:9153", &ss, &sl, err, sizeof err), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9153);
    assert_int_equal(metrics_parse_listen(":9153", &ss, &sl, err, sizeof err), 0);
    assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_int_equal(metrics_parse_listen("localhost:0", &ss, &sl, err, sizeof err), 0);
    assert_int_equal(metrics_parse_listen("[::1]:9153", &ss, &sl, err, sizeof err), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(sl, sizeof(struct sockaddr_in6));
    assert_int_equal(metrics_parse_listen("0.0.0.0:9153", &ss, &sl, err, sizeof err), 0);
    /* Leading zeros, as every other number: a 5-character cap refused this port with
     * "port must be a number from 0 to 65535". */
    assert_int_equal(metrics_parse_listen("127.0.0.1:0009153", &ss, &sl, err, sizeof err), 0);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9153);
    static const char *const bad[] = {
        "9153", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x", "::1:9153", "[::1]9153",
        "example.com:9153", "[::1:9153", "1.2.3.4:-1", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(metrics_parse_listen(bad[i], &ss, &sl, err, sizeof err), -EINVAL);
        assert_true(strlen(err) > 5);
    }
}

/* ---- HTTP ---------------------------------------------------------------------------- */

struct fill_ctx {
    int calls;
};

static void fill(void *ctx, metrics_snapshot *s)
{
    struct fill_ctx *f = ctx;
    f->calls++;
    s->alerts = 4242;
    s->n_workers = 2;
}

static int dial(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Sends req, reads to the end; returns the status code, the response in out. */
static int http(unsigned port, const char *req, size_t req_len, char *out, size_t outlen)
{
    int fd = dial(port);
    size_t off = 0;
    while (off < req_len) {
        ssize_t w = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
        assert_true(w > 0);
        off += (size_t)w;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, out + n, outlen - 1 - n, 0);
        assert_true(r >= 0); /* a timeout or a reset fails the test */
        if (r == 0)
            break;
        n += (size_t)r;
        assert_true(n < outlen - 1);
    }
    out[n] = '\0';
    close(fd);
    int status = 0;
    assert_int_equal(sscanf(out, "HTTP/1.1 %d ", &status), 1);
    return status;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_http(void **state)
{
    (void)state;
    struct fill_ctx fc = {0};
    metrics_server *m = NULL;
    char err[256] = "";
    assert_int_equal(metrics_server_start("127.0.0.1:0", fill, &fc, &m, err, sizeof err), 0);
    unsigned port = metrics_server_port(m);
    assert_true(port > 0);
    static char resp[65536];

    /* A client that connects and says nothing must not hold up the others. */
    int silent = dial(port);
    double t0 = mono();

    const char get[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
    assert_int_equal(http(port, get, strlen(get), resp, sizeof resp), 200);
    assert_true(mono() - t0 < 1.0);
    assert_int_equal(fc.calls, 1);
    assert_non_null(strstr(resp, "Content-Type: text/plain; version=0.0.4"));
    char *body = strstr(resp, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    size_t clen = 0;
    assert_int_equal(sscanf(strstr(resp, "Content-Length: "), "Content-Length: %zu", &clen), 1);
    assert_int_equal(clen, strlen(body));
    struct expo *e = malloc(sizeof *e);
    parse_expo(body, e);
    assert_true(value_of(e, "dnswatch_alerts_total", NULL, NULL) == 4242);
    assert_non_null(find(e, "dnswatch_ring_dropped_total", "worker", "1"));
    free(e);

    const char q[] = "GET /metrics?x=1 HTTP/1.0\n\n"; /* bare LF and a query: still fine */
    assert_int_equal(http(port, q, strlen(q), resp, sizeof resp), 200);
    const char nf[] = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(http(port, nf, strlen(nf), resp, sizeof resp), 404);
    const char nf2[] = "GET /metricsx HTTP/1.1\r\n\r\n";
    assert_int_equal(http(port, nf2, strlen(nf2), resp, sizeof resp), 404);
    const char post[] = "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    assert_int_equal(http(port, post, strlen(post), resp, sizeof resp), 405);
    assert_non_null(strstr(resp, "Allow: GET, HEAD\r\n"));
    const char junk[] = "\x01\x02garbage\r\n\r\n";
    assert_int_equal(http(port, junk, strlen(junk), resp, sizeof resp), 400);
    assert_int_equal(fc.calls, 2);

    /* Over 8 KiB of headers without an end: refused, and the answer arrives whole. */
    size_t big = METRICS_MAX_REQUEST + 4000;
    char *huge = malloc(big);
    memcpy(huge, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
    memset(huge + 30, 'a', big - 30);
    assert_int_equal(http(port, huge, big, resp, sizeof resp), 431);
    free(huge);

    /* The silent client is still connected until its timeout, then dropped. */
    char b;
    struct timeval tv = {METRICS_READ_TIMEOUT_MS / 1000 + 3, 0};
    setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(recv(silent, &b, 1, 0), 0);
    double waited = mono() - t0;
    assert_true(waited >= METRICS_READ_TIMEOUT_MS / 1000.0 - 0.1);
    assert_true(waited < METRICS_READ_TIMEOUT_MS / 1000.0 + 2.0);
    close(silent);

    /* Slow but steady: a request sent in pieces is still answered. */
    int fd = dial(port);
    assert_int_equal(send(fd, "GET /met", 8, 0), 8);
    usleep(100000);
    assert_int_equal(send(fd, "rics HTTP/1.1\r\n\r\n", 17, 0), 17);
    ssize_t r = recv(fd, resp, 12, MSG_WAITALL);
    assert_int_equal(r, 12);
    assert_memory_equal(resp, "HTTP/1.1 200", 12);
    close(fd);

    metrics_server_stop(m);
    metrics_server_stop(NULL);
}

static void test_http_bind_errors(void **state)
{
    (void)state;
    metrics_server *a = NULL, *b = NULL;
    char err[256] = "";
    assert_int_equal(metrics_server_start("127.0.0.1:0", fill, NULL, &a, err, sizeof err), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", metrics_server_port(a));
    assert_int_equal(metrics_server_start(addr, fill, NULL, &b, err, sizeof err), -EADDRINUSE);
    assert_null(b);
    assert_non_null(strstr(err, addr));
    assert_int_equal(metrics_server_start("nonsense", fill, NULL, &b, err, sizeof err), -EINVAL);
    metrics_server_stop(a);
}

/* HEAD gets GET's headers alone; the process_* series are on the endpoint; the server
 * names the address it bound (port 0 resolved) and says when that is every address. */
static void test_http_head_process_address(void **state)
{
    (void)state;
    struct fill_ctx fc = {0};
    metrics_server *m = NULL;
    char err[256] = "", want[64];
    static char resp[65536];
    assert_int_equal(metrics_server_start("127.0.0.1:0", fill, &fc, &m, err, sizeof err), 0);
    unsigned port = metrics_server_port(m);
    snprintf(want, sizeof want, "127.0.0.1:%u", port);
    assert_string_equal(metrics_server_address(m), want);
    assert_false(metrics_server_any(m));

    const char head[] = "HEAD /metrics HTTP/1.1\r\n\r\n";
    assert_int_equal(http(port, head, strlen(head), resp, sizeof resp), 200);
    size_t clen = 0;
    assert_non_null(strstr(resp, "Content-Length: "));
    assert_int_equal(sscanf(strstr(resp, "Content-Length: "), "Content-Length: %zu", &clen), 1);
    assert_true(clen > 100);
    char *body = strstr(resp, "\r\n\r\n");
    assert_non_null(body);
    assert_int_equal(body[4], '\0');

    const char get[] = "GET /metrics HTTP/1.1\r\n\r\n";
    assert_int_equal(http(port, get, strlen(get), resp, sizeof resp), 200);
    struct expo *e = malloc(sizeof *e);
    parse_expo(strstr(resp, "\r\n\r\n") + 4, e);
    assert_true(value_of(e, "process_open_fds", NULL, NULL) >= 3);
    assert_true(value_of(e, "process_max_fds", NULL, NULL) >= 64);
    assert_true(value_of(e, "process_resident_memory_bytes", NULL, NULL) > 1e5);
    assert_true(value_of(e, "process_virtual_memory_bytes", NULL, NULL) > 1e5);
    assert_non_null(find(e, "process_cpu_seconds_total", NULL, NULL));
    assert_non_null(find(e, "process_start_time_seconds", NULL, NULL));
    free(e);
    metrics_server_stop(m);

    assert_int_equal(metrics_server_start("0.0.0.0:0", fill, &fc, &m, err, sizeof err), 0);
    assert_true(metrics_server_any(m));
    snprintf(want, sizeof want, "0.0.0.0:%u", metrics_server_port(m));
    assert_string_equal(metrics_server_address(m), want);
    metrics_server_stop(m);
}

/* Hundreds of idle connections (a local flood) must not hold a scrape back: it is
 * answered within half a second, not after the idle ones time out. */
static void test_http_flood(void **state)
{
    (void)state;
    enum { FLOOD = 400 };
    struct fill_ctx fc = {0};
    metrics_server *m = NULL;
    char err[256] = "";
    static char resp[65536];
    static int fds[FLOOD];
    assert_int_equal(metrics_server_start("127.0.0.1:0", fill, &fc, &m, err, sizeof err), 0);
    unsigned port = metrics_server_port(m);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < FLOOD; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fds[i] >= 0);
        int rc = connect(fds[i], (struct sockaddr *)&a, sizeof a);
        assert_true(rc == 0 || errno == EINPROGRESS);
    }
    for (int round = 0; round < 3; round++) {
        double t0 = mono();
        const char get[] = "GET /metrics HTTP/1.1\r\n\r\n";
        assert_int_equal(http(port, get, strlen(get), resp, sizeof resp), 200);
        double took = mono() - t0;
        if (took >= 0.5)
            fprintf(stderr, "scrape %d under a flood of %d idle connections took %.3f s\n",
                    round, FLOOD, took);
        assert_true(took < 0.5);
    }
    for (int i = 0; i < FLOOD; i++)
        close(fds[i]);
    metrics_server_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_parses_back), cmocka_unit_test(test_textfile),
        cmocka_unit_test(test_parse_listen),       cmocka_unit_test(test_http),
        cmocka_unit_test(test_http_bind_errors),
        cmocka_unit_test(test_http_head_process_address),
        cmocka_unit_test(test_http_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
