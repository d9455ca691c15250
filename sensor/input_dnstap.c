/* The dnstap input (--dnstap): resolvers' own account of what they asked and accepted,
 * read from Frame Streams and handed to the pipeline as records of link type
 * PKT_DLT_DNSWATCH (decoders/dnstap.h), so the same workers, rules and tracking judge them.
 *
 * Sources: unix:PATH and tcp:ADDR:PORT listen for writers (Unbound, BIND, Knot Resolver,
 * PowerDNS, dnsdist, fstrm_replay): one listener thread per source, several writers
 * connected at once, each with the bidirectional handshake (READY/ACCEPT, START,
 * STOP/FINISH) or the unidirectional one (START straight away). A writer that goes away
 * (a resolver restarting) simply connects again. The listener decodes each frame and
 * pushes the record into its own bounded ring; the main thread's dispatch takes them from
 * there. A full ring is a counted drop: nothing here waits for the workers, and a writer
 * is never held back by the pipeline. file:PATH (a capture of fstrm_capture or `dnstap
 * -w`) is read by libfstrm's file reader in the main thread, and waits for the pipeline
 * like -r does.
 *
 * Beside -i or -r the captured frames are wrapped as records of the same link type, one
 * pipeline for both. */
#include "sensor/input.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fstrm.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "decoders/dnstap.h"
#include "sensor/ring.h"

#define MAX_CONNS 64                 /* writers connected to one source at once */
#define QUEUE_BYTES (16u << 20)      /* records waiting for the main thread, per source */
#define CONN_BUF (DNSTAP_FRAME_MAX + 8u) /* one whole frame, per connection */
#define IDLE_WAIT_MS 100             /* dispatch's wait for a first record */

enum src_kind { SRC_UNIX, SRC_TCP, SRC_FILE };

/* One writer connected to a listening source; its buffer lives while it is connected. */
typedef struct conn {
    int fd;                 /* -1: free slot */
    uint8_t *buf;
    size_t len;             /* bytes held */
    size_t skip;            /* bytes of an oversized frame still to throw away */
    bool ready;             /* READY seen: the writer wants ACCEPT and FINISH */
    bool started;           /* START seen: data frames may come */
} conn;

typedef struct dt_source {
    struct dnstap_input *owner;
    enum src_kind kind;
    const char *spec;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int lfd;                /* listening socket, -1 */
    int stop_fd;            /* eventfd: the listener ends when it is readable */
    pthread_t thread;
    bool started;
    ring *q;                /* listener -> main thread */
    dnstap_decoder *dec;
    uint8_t *rec;           /* one record being built */
    dw_counters counters;   /* written by this source's reading thread only */
    conn conns[MAX_CONNS];
    struct fstrm_reader *reader; /* file */
    bool done;              /* file read to its end */
} dt_source;

typedef struct dnstap_input {
    dw_input in;            /* first: the pipeline's view */
    dw_input *frames;       /* -i or -r beside dnstap, or NULL */
    bool frames_done;
    uint8_t *wrap;          /* a captured frame wrapped as a record */
    size_t n_src;
    dt_source src[DW_MAX_DNSTAP];
    int wake_fd;            /* eventfd: a listener pushed while the main thread waited */
    int sleeping;           /* the main thread is (about to be) waiting on wake_fd */
    volatile int brk;
    bool listening;         /* the listener threads run */
    char desc[256];
} dnstap_input;

/* ---- the listener thread ---------------------------------------------------------------- */

static void wake_main(dnstap_input *di)
{
    /* Paired with dispatch: it says it sleeps, looks at the rings once more, then waits. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(&di->sleeping, 0, __ATOMIC_SEQ_CST)) {
        uint64_t one = 1;
        ssize_t rc = write(di->wake_fd, &one, sizeof one);
        (void)rc; /* a full counter already wakes it */
    }
}

static void conn_close(dt_source *s, conn *c, bool clean)
{
    if (!clean)
        DW_COUNT(&s->counters, DNSTAP_CONN_LOST);
    close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static bool send_control(conn *c, uint32_t type)
{
    uint8_t f[64];
    size_t n = fstrm_control_build(type, type == FSTRM_ACCEPT, f, sizeof f);
    return send(c->fd, f, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n;
}

static void on_data(dt_source *s, const uint8_t *pb, size_t len)
{
    uint64_t ts;
    size_t n = dnstap_decode(s->dec, pb, len, clk_wall_us(), s->rec, DNSTAP_RECORD_MAX, &ts,
                             &s->counters);
    if (!n)
        return;
    if (!ring_push(s->q, ts, s->rec, (uint32_t)n)) {
        DW_COUNT(&s->counters, DNSTAP_QUEUE_FULL);
        return;
    }
    wake_main(s->owner);
}

/* Takes every whole frame the connection's buffer holds. false: the connection is done
 * (closed here). */
static bool conn_frames(dt_source *s, conn *c)
{
    size_t off = 0;
    bool ok = true;
    while (ok) {
        if (c->skip) {
            size_t k = c->len - off < c->skip ? c->len - off : c->skip;
            off += k;
            c->skip -= k;
            if (c->skip)
                break;
        }
        fstrm_item it;
        fstrm_next(c->buf + off, c->len - off, DNSTAP_FRAME_MAX, &it);
        switch (it.kind) {
        case FSTRM_NEED_MORE:
            goto out;
        case FSTRM_TOO_LARGE:
            DW_COUNT(&s->counters, DNSTAP_TOO_LARGE);
            c->skip = it.len;
            break;
        case FSTRM_BAD:
            DW_COUNT(&s->counters, DNSTAP_BAD_CONTROL);
            conn_close(s, c, true);
            return false;
        case FSTRM_DATA:
            if (!c->started) {
                DW_COUNT(&s->counters, DNSTAP_BAD_CONTROL);
                conn_close(s, c, true);
                return false;
            }
            on_data(s, it.data, it.len);
            break;
        case FSTRM_CONTROL:
            if (it.ctl.n_content_types && !it.ctl.dnstap &&
                (it.ctl.type == FSTRM_READY || it.ctl.type == FSTRM_START)) {
                DW_COUNT(&s->counters, DNSTAP_WRONG_CONTENT_TYPE);
                conn_close(s, c, true);
                return false;
            }
            if (it.ctl.type == FSTRM_READY && !c->ready && !c->started) {
                c->ready = true;
                ok = send_control(c, FSTRM_ACCEPT);
            } else if (it.ctl.type == FSTRM_START && !c->started) {
                c->started = true;
            } else if (it.ctl.type == FSTRM_STOP && c->started) {
                if (c->ready)
                    send_control(c, FSTRM_FINISH);
                conn_close(s, c, true);
                return false;
            } else {
                DW_COUNT(&s->counters, DNSTAP_BAD_CONTROL);
                conn_close(s, c, true);
                return false;
            }
            break;
        default:
            break;
        }
        off += it.used;
    }
out:
    if (!ok) {
        conn_close(s, c, false);
        return false;
    }
    if (off) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
    return true;
}

static void conn_read(dt_source *s, conn *c)
{
    if (c->len == CONN_BUF) { /* cannot happen: a whole frame always fits and is taken */
        DW_COUNT(&s->counters, DNSTAP_BAD_CONTROL);
        conn_close(s, c, true);
        return;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, CONN_BUF - c->len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(s, c, false); /* gone without STOP (a resolver killed or restarted) */
        return;
    }
    c->len += (size_t)n;
    conn_frames(s, c);
}

static void conn_accept(dt_source *s)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (unsigned i = 0; i < MAX_CONNS; i++) {
        conn *c = &s->conns[i];
        if (c->fd >= 0)
            continue;
        c->buf = malloc(CONN_BUF); /* per connection, not per frame */
        if (!c->buf)
            break;
        c->fd = fd;
        DW_COUNT(&s->counters, DNSTAP_CONNECTIONS);
        return;
    }
    DW_COUNT(&s->counters, DNSTAP_CONN_REFUSED);
    close(fd);
}

static void *listener_main(void *arg)
{
    dt_source *s = arg;
    struct pollfd pfd[2 + MAX_CONNS];
    conn *by_slot[2 + MAX_CONNS];
    for (;;) {
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){s->stop_fd, POLLIN, 0};
        pfd[n++] = (struct pollfd){s->lfd, POLLIN, 0};
        for (unsigned i = 0; i < MAX_CONNS; i++)
            if (s->conns[i].fd >= 0) {
                by_slot[n] = &s->conns[i];
                pfd[n++] = (struct pollfd){s->conns[i].fd, POLLIN, 0};
            }
        if (poll(pfd, n, 1000) < 0)
            continue;
        if (pfd[0].revents)
            break;
        for (nfds_t i = 2; i < n; i++)
            if (pfd[i].revents)
                conn_read(s, by_slot[i]);
        if (pfd[1].revents & POLLIN)
            conn_accept(s);
    }
    for (unsigned i = 0; i < MAX_CONNS; i++)
        if (s->conns[i].fd >= 0)
            conn_close(s, &s->conns[i], true);
    return NULL;
}

/* ---- opening the sources ------------------------------------------------------------------ */

static int listen_unix(dt_source *s, const char *user, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(s->path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "dnstap %s: socket path too long", s->spec);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    /* A socket file left by an earlier run is replaced; anything else is not touched. */
    struct stat st;
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "dnstap %s: exists and is not a socket", s->spec);
            return -EEXIST;
        }
        unlink(s->path);
    }
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    /* Group-writable, not world-writable: the resolver's user joins the socket's group
     * (docs/deploy.md). */
    mode_t old = umask(0117);
    int rc = s->lfd < 0 ? -1 : bind(s->lfd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0 || listen(s->lfd, 16) != 0) {
        snprintf(err, errlen, "dnstap %s: cannot listen: %s", s->spec, strerror(errno));
        return -errno;
    }
    /* Started as root with --user: the socket is that user's, as if it had made it. */
    struct passwd *pw = user && geteuid() == 0 ? getpwnam(user) : NULL;
    if (user && geteuid() == 0 && !pw) {
        snprintf(err, errlen, "dnstap %s: no user '%s'", s->spec, user);
        return -ENOENT;
    }
    if (pw && chown(s->path, pw->pw_uid, pw->pw_gid) != 0) {
        snprintf(err, errlen, "dnstap %s: cannot give the socket to %s: %s", s->spec, user,
                 strerror(errno));
        return -errno;
    }
    return 0;
}

static int listen_tcp(dt_source *s, const char *hostport, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof host) {
        snprintf(err, errlen, "dnstap %s: expected tcp:ADDR:PORT", s->spec);
        return -EINVAL;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    char *h = host;
    size_t hl = strlen(h);
    if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port == 0 || port > 65535) {
        snprintf(err, errlen, "dnstap %s: bad port", s->spec);
        return -EINVAL;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        snprintf(err, errlen, "dnstap %s: '%s' is not an IP address", s->spec, h);
        return -EINVAL;
    }
    s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (s->lfd >= 0)
        setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&ss, sl) != 0 || listen(s->lfd, 16) != 0) {
        snprintf(err, errlen, "dnstap %s: cannot listen: %s", s->spec, strerror(errno));
        return -errno;
    }
    return 0;
}

static int open_file(dt_source *s, char *err, size_t errlen)
{
    if (access(s->path, R_OK) != 0) {
        snprintf(err, errlen, "cannot read dnstap file %s: %s", s->path, strerror(errno));
        return -errno;
    }
    struct fstrm_file_options *fo = fstrm_file_options_init();
    struct fstrm_reader_options *ro = fstrm_reader_options_init();
    if (fo && ro) {
        fstrm_file_options_set_file_path(fo, s->path);
        fstrm_reader_options_add_content_type(ro, FSTRM_CONTENT_TYPE,
                                              sizeof FSTRM_CONTENT_TYPE - 1);
        fstrm_reader_options_set_max_frame_size(ro, DNSTAP_FRAME_MAX);
        s->reader = fstrm_file_reader_init(fo, ro);
    }
    fstrm_file_options_destroy(&fo);
    fstrm_reader_options_destroy(&ro);
    if (!s->reader || fstrm_reader_open(s->reader) != fstrm_res_success) {
        snprintf(err, errlen, "dnstap file %s: not a Frame Streams file of content type %s",
                 s->path, FSTRM_CONTENT_TYPE);
        return -EINVAL;
    }
    return 0;
}

static int source_open(dnstap_input *di, dt_source *s, const char *spec, const char *user,
                       char *err, size_t errlen)
{
    s->owner = di;
    s->spec = spec;
    s->lfd = s->stop_fd = -1;
    for (unsigned i = 0; i < MAX_CONNS; i++)
        s->conns[i].fd = -1;
    const char *rest;
    if (!strncmp(spec, "unix:", 5)) {
        s->kind = SRC_UNIX;
        rest = spec + 5;
    } else if (!strncmp(spec, "tcp:", 4)) {
        s->kind = SRC_TCP;
        rest = spec + 4;
    } else if (!strncmp(spec, "file:", 5)) {
        s->kind = SRC_FILE;
        rest = spec + 5;
    } else {
        snprintf(err, errlen, "dnstap source '%s': expected unix:PATH, tcp:ADDR:PORT or "
                              "file:PATH", spec);
        return -EINVAL;
    }
    if (!*rest || strlen(rest) >= sizeof s->path) {
        snprintf(err, errlen, "dnstap source '%s': empty or too long", spec);
        return -EINVAL;
    }
    snprintf(s->path, sizeof s->path, "%s", rest);
    s->dec = dnstap_decoder_new();
    s->rec = malloc(DNSTAP_RECORD_MAX);
    if (!s->dec || !s->rec) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (s->kind == SRC_FILE)
        return open_file(s, err, errlen);
    s->q = ring_new(QUEUE_BYTES);
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!s->q || s->stop_fd < 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return s->kind == SRC_UNIX ? listen_unix(s, user, err, errlen)
                              : listen_tcp(s, rest, err, errlen);
}

/* The listeners start at the first dispatch, after the pipeline dropped its privileges:
 * they take the dropped credentials with them, and leave the signals to the main thread. */
static int start_listeners(dnstap_input *di)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = 0;
    for (size_t i = 0; i < di->n_src && rc == 0; i++) {
        dt_source *s = &di->src[i];
        if (s->kind == SRC_FILE || s->started)
            continue;
        if (pthread_create(&s->thread, NULL, listener_main, s) != 0) {
            snprintf(di->in.err, sizeof di->in.err, "dnstap %s: cannot start its thread",
                     s->spec);
            rc = DW_INPUT_ERROR;
        } else {
            s->started = true;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    di->listening = rc == 0;
    return rc;
}

static void source_close(dt_source *s)
{
    if (s->started) {
        uint64_t one = 1;
        if (write(s->stop_fd, &one, sizeof one) < 0) { /* cannot fail: a fresh counter */
        }
        pthread_join(s->thread, NULL);
        s->started = false;
    }
    if (s->lfd >= 0) {
        close(s->lfd);
        if (s->kind == SRC_UNIX)
            unlink(s->path);
    }
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    if (s->reader)
        fstrm_reader_destroy(&s->reader);
    ring_free(s->q);
    dnstap_decoder_free(s->dec);
    free(s->rec);
}

/* ---- the input ---------------------------------------------------------------------------- */

typedef struct wrap_cb {
    dnstap_input *di;
    int dlt;
    dw_frame_fn fn;
    void *ctx;
} wrap_cb;

static void on_captured(void *ctx, uint64_t ts_us, const uint8_t *data, uint32_t len)
{
    wrap_cb *w = ctx;
    size_t n = dnstap_wrap_frame(w->dlt, data, len, w->di->wrap, DNSTAP_RECORD_MAX);
    if (n)
        w->fn(w->ctx, ts_us, w->di->wrap, (uint32_t)n);
}

/* Records from the sources: each ring drained up to max, each file read up to max. */
static int take_records(dnstap_input *di, unsigned max, dw_frame_fn fn, void *ctx, bool *all_done)
{
    int n = 0;
    *all_done = true;
    for (size_t i = 0; i < di->n_src && !di->brk; i++) {
        dt_source *s = &di->src[i];
        if (s->kind != SRC_FILE) {
            *all_done = false;
            ring_frame f;
            for (unsigned k = 0; k < max && ring_peek(s->q, &f); k++, n++) {
                fn(ctx, f.ts_us, f.data, f.len);
                ring_release(s->q);
            }
            continue;
        }
        for (unsigned k = 0; k < max && !s->done && !di->brk; k++) {
            const uint8_t *data;
            size_t len;
            fstrm_res r = fstrm_reader_read(s->reader, &data, &len);
            if (r == fstrm_res_stop) {
                s->done = true;
                break;
            }
            if (r != fstrm_res_success) {
                snprintf(di->in.err, sizeof di->in.err,
                         "dnstap file %s: malformed Frame Streams data (a frame over %u bytes, "
                         "or the file is cut short)", s->path, DNSTAP_FRAME_MAX);
                return DW_INPUT_ERROR;
            }
            uint64_t ts;
            size_t rl = dnstap_decode(s->dec, data, len, clk_wall_us(), s->rec,
                                      DNSTAP_RECORD_MAX, &ts, &s->counters);
            if (rl) {
                fn(ctx, ts, s->rec, (uint32_t)rl);
                n++;
            }
        }
        if (!s->done)
            *all_done = false;
    }
    return n;
}

static bool rings_empty(dnstap_input *di)
{
    ring_frame f;
    for (size_t i = 0; i < di->n_src; i++)
        if (di->src[i].q && ring_peek(di->src[i].q, &f))
            return false;
    return true;
}

static int dt_dispatch(dw_input *in, unsigned max, dw_frame_fn fn, void *ctx)
{
    dnstap_input *di = (dnstap_input *)in;
    int total = 0;
    if (!di->listening && start_listeners(di) != 0)
        return DW_INPUT_ERROR;
    if (di->brk) {
        di->brk = 0;
        return DW_INPUT_BREAK;
    }
    if (di->frames && !di->frames_done) {
        /* The captured frames first: their own wait (~100 ms) is the idle wait then. */
        wrap_cb w = {di, dw_input_link_type(di->frames), fn, ctx};
        int rc = dw_input_dispatch(di->frames, max, on_captured, &w);
        if (rc == DW_INPUT_ERROR) {
            snprintf(in->err, sizeof in->err, "%s", dw_input_error(di->frames));
            return rc;
        }
        if (rc == DW_INPUT_BREAK)
            return rc;
        if (rc == DW_INPUT_EOF)
            di->frames_done = true;
        else
            total += rc;
    }
    bool done;
    int n = take_records(di, max, fn, ctx, &done);
    if (n < 0)
        return n;
    total += n;
    if (done && (!di->frames || di->frames_done))
        return total ? total : DW_INPUT_EOF;
    if (total || (di->frames && !di->frames_done))
        return total;
    /* Nothing yet: wait for a listener's push, a break, or the idle timeout. */
    __atomic_store_n(&di->sleeping, 1, __ATOMIC_SEQ_CST);
    if (rings_empty(di) && !di->brk) {
        struct pollfd p = {di->wake_fd, POLLIN, 0};
        if (poll(&p, 1, IDLE_WAIT_MS) > 0) {
            uint64_t v;
            ssize_t rc = read(di->wake_fd, &v, sizeof v);
            (void)rc;
        }
    }
    __atomic_store_n(&di->sleeping, 0, __ATOMIC_SEQ_CST);
    if (di->brk) {
        di->brk = 0;
        return DW_INPUT_BREAK;
    }
    n = take_records(di, max, fn, ctx, &done);
    return n;
}

static void dt_break(dw_input *in)
{
    dnstap_input *di = (dnstap_input *)in;
    di->brk = 1;
    uint64_t one = 1;
    ssize_t rc = write(di->wake_fd, &one, sizeof one); /* async-signal-safe */
    (void)rc;
    if (di->frames)
        dw_input_break(di->frames);
}

static int dt_stats(dw_input *in, dw_input_stats *out)
{
    dnstap_input *di = (dnstap_input *)in;
    return dw_input_stats_get(di->frames, out);
}

static void dt_counters(dw_input *in, dw_counters *sum)
{
    dnstap_input *di = (dnstap_input *)in;
    dw_counters one;
    for (size_t i = 0; i < di->n_src; i++) {
        dw_counters_snapshot(&one, &di->src[i].counters);
        dw_counters_add(sum, &one);
    }
}

static void dt_close(dw_input *in)
{
    dnstap_input *di = (dnstap_input *)in;
    for (size_t i = 0; i < di->n_src; i++)
        source_close(&di->src[i]);
    dw_input_close(di->frames);
    if (di->wake_fd >= 0)
        close(di->wake_fd);
    free(di->wrap);
    free(di);
}

static const dw_input_ops dnstap_ops = {dt_dispatch, dt_break, NULL, dt_close, dt_counters};
/* Beside a live interface: its capture statistics are the input's. */
static const dw_input_ops dnstap_live_ops = {dt_dispatch, dt_break, dt_stats, dt_close,
                                             dt_counters};

bool input_dnstap_wanted(const dw_options *o) { return o->dnstap[0] != NULL; }

int input_dnstap_open(const dw_options *o, dw_input **out, char *err, size_t errlen)
{
    dnstap_input *di = calloc(1, sizeof *di);
    if (!di) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    di->in.ops = &dnstap_ops;
    di->in.link_type = PKT_DLT_DNSWATCH;
    di->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    di->wrap = malloc(DNSTAP_RECORD_MAX);
    int rc = -ENOMEM;
    if (di->wake_fd < 0 || !di->wrap) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (o->iface || o->pcap_file) {
        rc = o->iface ? input_pcap_live_open(o, &di->frames, err, errlen)
                      : input_pcap_file_open(o, &di->frames, err, errlen);
        if (rc != 0)
            goto fail;
        di->in.live = di->frames->live;
        if (dw_input_has_stats(di->frames))
            di->in.ops = &dnstap_live_ops;
    }
    size_t n = options_dnstap_count(o), w = 0;
    w += (size_t)snprintf(di->desc, sizeof di->desc, "%s%s", di->frames ? di->frames->src : "",
                          di->frames ? " and " : "");
    for (size_t i = 0; i < n; i++) {
        rc = source_open(di, &di->src[i], o->dnstap[i], o->user, err, errlen);
        di->n_src = i + 1;
        if (rc != 0)
            goto fail;
        if (di->src[i].kind != SRC_FILE)
            di->in.live = true;
        if (w < sizeof di->desc)
            w += (size_t)snprintf(di->desc + w, sizeof di->desc - w, "%sdnstap %s",
                                  i ? ", " : "", o->dnstap[i]);
    }
    di->in.src = di->desc;
    *out = &di->in;
    return 0;
fail:
    dt_close(&di->in);
    return rc;
}
