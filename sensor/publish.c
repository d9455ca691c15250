#include "sensor/publish.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "sensor/shed.h"
#include "sensor/spool.h"

#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 2000u
#define DROP_WARN_NS (10ull * 1000000000ull)
/* A batch holds at most batch_max events and this many bytes (one event always fits). */
#define BATCH_MAX_BYTES (4u << 20)

/* One queued event; the buffer is kept and reused, so a warm queue does not allocate. */
typedef struct slot {
    char *buf;
    uint32_t len, cap;
} slot;

/* The events waiting form one FIFO: the spool (older) followed by the in-memory queue
 * (newer). The thread sends from its head and removes only what was acknowledged, so a
 * batch that fails stays where it was, in order, and an overflowing queue moves into the
 * spool behind what is already there. */
struct publisher {
    publish_queue_config cfg;
    char *name, *spool_dir;
    publish_transport *t;

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool waiting;  /* the thread sleeps on cv */
    bool stopping;
    uint64_t deadline_ns; /* while stopping: give up when nothing was taken since */
    unsigned close_timeout_ms;

    slot *q;
    size_t qcap, qhead, qlen;
    uint64_t qheld;  /* bytes of all slot buffers (queued or kept for reuse) */
    spool *sp;
    shed *shed;      /* who may still enter a spool under pressure */

    publish_stats st;
    uint64_t drop_warned, drop_warn_ns;
    uint64_t unheard_said, unheard_warn_ns; /* unheard events warned about, and when */
    bool spool_error_logged;
    uint64_t damaged_at_open; /* stretches found by spool_open: records uncounted */
    int hurry; /* set by publisher_hurry from a signal handler, read by the thread: a
                * lock-free atomic, which is async-signal-safe and free of data races */

    /* Publisher thread only. */
    bool linked;     /* the transport is connected */
    bool outage_logged;
    unsigned backoff_ms;
    uint64_t next_try_ns;
    unsigned seed;
    char *bbuf;
    size_t bcap;
    size_t *boff, *blen;
    spool_rec *recs;
};

/* A slot leaves the queue: its buffer is kept for reuse while the queue holds less than
 * half its byte budget, else given back, so idle buffers never hold more than that half.
 * Caller holds mu. */
static void slot_release(publisher *p, slot *s)
{
    if (s->cap && p->qheld > p->cfg.queue_max_bytes / 2) {
        p->qheld -= s->cap;
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
    }
}

/* One line through the caller's diagnostic callback (publish_queue_config.diag). */
__attribute__((format(printf, 2, 3))) static void say(const publisher *p, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (!p->cfg.diag)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    p->cfg.diag(p->cfg.diag_ctx, line);
}

/* Events a channel took with nobody subscribed are gone: PUBLISH keeps nothing. Said at
 * the first, then at most once a minute with the count since (the metric counts them
 * all). Caller holds mu. */
#define UNHEARD_WARN_NS (60ull * 1000000000ull)
static void unheard_warning(publisher *p, uint64_t now)
{
    p->st.unheard = p->t->unheard;
    uint64_t n = p->st.unheard - p->unheard_said;
    if (!n || (p->unheard_warn_ns && now - p->unheard_warn_ns < UNHEARD_WARN_NS))
        return;
    say(p, "%s at %s: %llu event%s published to a channel with no subscriber%s: nobody "
           "received %s (channel mode delivers only to clients subscribed at that moment; "
           "docs/redis.md)", p->name, p->t->where, (unsigned long long)n, n == 1 ? "" : "s",
        p->unheard_warn_ns ? " in the last minute" : "", n == 1 ? "it" : "them");
    p->unheard_said = p->st.unheard;
    p->unheard_warn_ns = now;
}

static void spool_write_error(publisher *p, int rc)
{
    if (p->spool_error_logged)
        return;
    p->spool_error_logged = true;
    say(p, "%s spool %s: cannot write: %s (the file system refuses, with "
           "%llu of the spool's %llu bytes used); events that do not fit are dropped "
           "and counted", p->name, p->spool_dir, strerror(-rc),
        (unsigned long long)spool_bytes(p->sp), (unsigned long long)p->cfg.spool_max_bytes);
}

/* Appends one event to the spool; a full spool or a refusing disk drops it (counted).
 * Caller holds mu. */
static void spool_one(publisher *p, const char *line, size_t len)
{
    if (!shed_admit(p->shed, line, len, spool_bytes(p->sp), p->cfg.spool_max_bytes)) {
        shed_stats ss;
        shed_get_stats(p->shed, &ss);
        p->st.shed_alerts = ss.alerts;
        p->st.shed_events = ss.events;
        p->st.dropped++; /* a loss like any other: shed_* say why */
        return;
    }
    int rc = spool_append(p->sp, line, len);
    if (rc == 0) {
        p->st.spooled++;
        return;
    }
    p->st.dropped++;
    if (rc != -EDQUOT) {
        p->st.dropped_disk++;
        spool_write_error(p, rc);
    }
}

/* Moves the whole queue behind the spool, keeping the order. Caller holds mu. */
static void queue_to_spool(publisher *p)
{
    while (p->qlen) {
        slot *s = &p->q[p->qhead];
        spool_one(p, s->buf, s->len);
        slot_release(p, s);
        p->qhead = (p->qhead + 1) % p->qcap;
        p->qlen--;
    }
    int rc = spool_flush(p->sp);
    if (rc != 0)
        spool_write_error(p, rc); /* still buffered: written later, or counted at close */
}

void publisher_submit(publisher *p, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    pthread_mutex_lock(&p->mu);
    if (p->qlen == p->qcap) {
        queue_to_spool(p);
        spool_one(p, line, len);
        pthread_mutex_unlock(&p->mu);
        return;
    }
    slot *s = &p->q[(p->qhead + p->qlen) % p->qcap];
    if (len > s->cap) {
        size_t cap = 512;
        while (cap < len)
            cap *= 2;
        /* Over the byte budget (or out of memory): the queue goes behind the spool, which
         * gives its buffers back, and this event follows it there. */
        char *nb = len <= UINT32_MAX && p->qheld - s->cap + cap <= p->cfg.queue_max_bytes
                       ? realloc(s->buf, cap)
                       : NULL;
        if (!nb) {
            queue_to_spool(p);
            spool_one(p, line, len);
            pthread_mutex_unlock(&p->mu);
            return;
        }
        p->qheld = p->qheld - s->cap + cap;
        s->buf = nb;
        s->cap = (uint32_t)cap;
    }
    memcpy(s->buf, line, len);
    s->len = (uint32_t)len;
    p->qlen++;
    if (p->waiting && (p->qlen == 1 || p->qlen % p->cfg.batch_max == 0))
        pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* The spool's own loss counters into st. Caller holds mu. */
static void spool_stats(publisher *p)
{
    p->st.spool_lost = spool_lost(p->sp);
    p->st.spool_damaged = spool_corrupt(p->sp);
    p->st.spool_damaged_at_start = p->damaged_at_open;
    p->st.spool_events = spool_count(p->sp);
    p->st.spool_bytes = spool_bytes(p->sp);
    p->st.spool_max_bytes = p->cfg.spool_max_bytes;
}

void publisher_stats(publisher *p, publish_stats *out)
{
    pthread_mutex_lock(&p->mu);
    spool_stats(p);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}

static void shed_line(void *ctx, const char *rule_id, const char *violations, uint64_t n)
{
    const publisher *p = ctx;
    say(p, "%s spool: %llu alert%s of rule %s %s shed (flood quota)", p->name,
        (unsigned long long)n, n == 1 ? "" : "s", rule_id, violations);
}

uint64_t publish_stats_lost(const publish_stats *s)
{
    return s->dropped + s->spool_lost + s->spool_damaged_at_start;
}

void publisher_hurry(publisher *p)
{
    if (p)
        __atomic_store_n(&p->hurry, 1, __ATOMIC_RELAXED);
}

/* Removes the k oldest events of the FIFO (acknowledged). Caller holds mu. */
static void fifo_remove(publisher *p, size_t k)
{
    uint64_t in_spool = spool_count(p->sp);
    size_t from_spool = in_spool < k ? (size_t)in_spool : k;
    /* -ENOENT (fewer there than asked) cannot happen with from_spool <= the count, and
     * would mean that every record is gone anyway: nothing else to do. */
    if (from_spool && spool_consume(p->sp, from_spool) != 0)
        from_spool = (size_t)in_spool;
    k -= from_spool;
    if (k > p->qlen)
        k = p->qlen;
    for (size_t i = 0; i < k; i++)
        slot_release(p, &p->q[(p->qhead + i) % p->qcap]);
    p->qhead = (p->qhead + k) % p->qcap;
    p->qlen -= k;
}

static int batch_reserve(publisher *p, size_t need)
{
    if (need <= p->bcap)
        return 0;
    size_t cap = p->bcap ? p->bcap : 1 << 16;
    while (cap < need)
        cap *= 2;
    char *nb = realloc(p->bbuf, cap);
    if (!nb)
        return -ENOMEM;
    p->bbuf = nb;
    p->bcap = cap;
    return 0;
}

/* Copies up to batch_max events from the head of the FIFO. Caller holds mu. Returns how
 * many; *from_spool says where they came from. */
static size_t batch_take(publisher *p, bool *from_spool)
{
    size_t n = 0, used = 0;
    *from_spool = spool_count(p->sp) > 0;
    if (*from_spool) {
        size_t k = spool_peek(p->sp, p->recs, p->cfg.batch_max);
        for (size_t i = 0; i < k; i++) {
            if ((n && used + p->recs[i].len > BATCH_MAX_BYTES) ||
                batch_reserve(p, used + p->recs[i].len) != 0)
                break;
            memcpy(p->bbuf + used, p->recs[i].data, p->recs[i].len);
            p->boff[n] = used;
            p->blen[n++] = p->recs[i].len;
            used += p->recs[i].len;
        }
        return n;
    }
    for (size_t i = 0; i < p->qlen && n < p->cfg.batch_max; i++) {
        const slot *s = &p->q[(p->qhead + i) % p->qcap];
        if ((n && used + s->len > BATCH_MAX_BYTES) || batch_reserve(p, used + s->len) != 0)
            break;
        memcpy(p->bbuf + used, s->buf, s->len);
        p->boff[n] = used;
        p->blen[n++] = s->len;
        used += s->len;
    }
    return n;
}

static void drop_warning(publisher *p, uint64_t now)
{
    if (p->st.dropped > p->drop_warned && (p->drop_warn_ns == 0 || now - p->drop_warn_ns >= DROP_WARN_NS)) {
        uint64_t disk = p->st.dropped_disk, full = p->st.dropped - disk;
        if (full)
            say(p, "%s spool %s is full (its bound, %llu bytes): %llu events dropped so far",
                p->name, p->spool_dir, (unsigned long long)p->cfg.spool_max_bytes,
                (unsigned long long)full);
        if (disk)
            say(p, "%s spool %s: the disk refused %llu events so far (full or "
                   "failing, with %llu bytes in the spool): dropped", p->name, p->spool_dir,
                (unsigned long long)disk, (unsigned long long)spool_bytes(p->sp));
        p->drop_warned = p->st.dropped;
        p->drop_warn_ns = now;
    }
}

static void schedule_retry(publisher *p, uint64_t now)
{
    unsigned b = p->backoff_ms;
    unsigned delay = b / 2 + (unsigned)rand_r(&p->seed) % (b / 2 + 1); /* jitter: 50-100% */
    p->next_try_ns = now + (uint64_t)delay * 1000000u;
    p->backoff_ms = b * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b * 2;
}

static void sleep_locked(publisher *p, uint64_t until_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    uint64_t wait = until_ns > now ? until_ns - now : 0;
    ts.tv_sec += (time_t)(wait / 1000000000ull);
    ts.tv_nsec += (long)(wait % 1000000000ull);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    p->waiting = true;
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    p->waiting = false;
}

static void *publisher_thread(void *arg)
{
    publisher *p = arg;
    char err[512];

    pthread_mutex_lock(&p->mu);
    for (;;) {
        uint64_t now = clk_mono_ns();
        drop_warning(p, now);
        bool empty = p->qlen == 0 && spool_count(p->sp) == 0;
        if (p->stopping && (empty || now >= p->deadline_ns ||
                            __atomic_load_n(&p->hurry, __ATOMIC_RELAXED)))
            break;
        if (!p->linked) {
            p->st.connected = false;
            queue_to_spool(p); /* free the memory queue while the far end is away */
            if (now < p->next_try_ns) {
                sleep_locked(p, p->stopping && p->deadline_ns < p->next_try_ns ? p->deadline_ns
                                                                               : p->next_try_ns);
                continue;
            }
            pthread_mutex_unlock(&p->mu);
            bool fatal = false;
            int crc = p->t->ops->connect(p->t, &fatal, err, sizeof err);
            pthread_mutex_lock(&p->mu);
            if (crc != 0) {
                if (!p->outage_logged) {
                    p->outage_logged = true;
                    say(p, "%s; spooling to %s and retrying", err, p->spool_dir);
                }
                schedule_retry(p, clk_mono_ns());
                continue;
            }
            p->linked = true;
            p->st.connected = true;
            p->backoff_ms = BACKOFF_MIN_MS;
            continue;
        }
        if (empty) {
            sleep_locked(p, now + 500000000ull);
            continue;
        }
        bool from_spool;
        size_t n = batch_take(p, &from_spool);
        pthread_mutex_unlock(&p->mu);

        uint64_t t0 = clk_mono_ns();
        err[0] = '\0';
        size_t ok = n ? p->t->ops->send(p->t, p->bbuf, p->boff, p->blen, n, err, sizeof err) : 0;
        uint64_t t1 = clk_mono_ns();

        pthread_mutex_lock(&p->mu);
        fifo_remove(p, ok);
        p->st.published += ok;
        if (from_spool)
            p->st.replayed += ok;
        p->st.last_batch_ms = (double)(t1 - t0) / 1e6;
        if (p->t->unheard != p->st.unheard)
            unheard_warning(p, t1);
        if (ok && p->stopping)
            p->deadline_ns = t1 + (uint64_t)p->close_timeout_ms * 1000000u;
        if (ok == n && n) {
            if (p->outage_logged) {
                p->outage_logged = false;
                say(p, "<5>%s at %s is taking events again", p->name, p->t->where);
            }
            continue;
        }
        if (!err[0])
            snprintf(err, sizeof err, "cannot read the spool");
        if (!p->outage_logged) {
            p->outage_logged = true;
            say(p, "%s at %s: %s; spooling to %s and retrying", p->name, p->t->where, err,
                p->spool_dir);
        }
        p->t->ops->disconnect(p->t);
        p->linked = false;
        p->st.connected = false;
        schedule_retry(p, t1);
    }
    queue_to_spool(p);
    drop_warning(p, UINT64_MAX / 2);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void publisher_free(publisher *p)
{
    if (!p)
        return;
    if (p->t)
        p->t->ops->free(p->t);
    spool_free(p->sp);
    shed_free(p->shed);
    for (size_t i = 0; p->q && i < p->qcap; i++)
        free(p->q[i].buf);
    free(p->q);
    free(p->bbuf);
    free(p->boff);
    free(p->blen);
    free(p->recs);
    free(p->name);
    free(p->spool_dir);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int publisher_new(const publish_queue_config *c, publish_transport *t, publisher **out,
                  char *err, size_t errlen)
{
    publisher *p = calloc(1, sizeof *p);
    int rc = -ENOMEM;
    bool fatal = false;

    if (!p) {
        t->ops->free(t);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    p->t = t;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);

    p->cfg = *c;
    if (!p->cfg.batch_max)
        p->cfg.batch_max = 256;
    if (!p->cfg.queue_max)
        p->cfg.queue_max = 65536;
    if (!p->cfg.queue_max_bytes)
        p->cfg.queue_max_bytes = 64ull << 20;
    p->name = strdup(c->name ? c->name : "publisher");
    p->spool_dir = strdup(c->spool_dir ? c->spool_dir : "");
    p->qcap = p->cfg.queue_max;
    p->q = calloc(p->qcap, sizeof *p->q);
    p->boff = calloc(p->cfg.batch_max, sizeof *p->boff);
    p->blen = calloc(p->cfg.batch_max, sizeof *p->blen);
    p->recs = calloc(p->cfg.batch_max, sizeof *p->recs);
    p->shed = shed_new(0);
    if (!p->name || !p->spool_dir || !p->q || !p->boff || !p->blen || !p->recs || !p->shed) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    p->cfg.name = p->name;
    p->cfg.spool_dir = p->spool_dir;
    rc = spool_open(p->spool_dir, p->cfg.spool_max_bytes, &p->sp, err, errlen);
    if (rc)
        goto fail;
    p->damaged_at_open = spool_corrupt(p->sp);
    if (p->damaged_at_open)
        say(p, "%s spool %s: %llu damaged stretches skipped (a crash or "
               "a disk error in an earlier run); the events in them are lost",
            p->name, p->spool_dir, (unsigned long long)p->damaged_at_open);
    p->backoff_ms = BACKOFF_MIN_MS;
    p->seed = (unsigned)clk_mono_ns() ^ (unsigned)getpid();
    rc = t->ops->connect(t, &fatal, err, errlen);
    if (rc != 0 && fatal) {
        rc = rc < 0 ? rc : -EACCES;
        goto fail;
    }
    /* Read before the thread starts: from then on p->st is the thread's, under p->mu. */
    bool connected = rc == 0;
    p->linked = connected;
    p->st.connected = connected;
    if (!connected) {
        p->outage_logged = true; /* the caller prints err as the warning */
        schedule_retry(p, clk_mono_ns());
    }
    rc = pthread_create(&p->thread, NULL, publisher_thread, p);
    if (rc) {
        snprintf(err, errlen, "cannot start the publisher thread: %s", strerror(rc));
        rc = -rc;
        goto fail;
    }
    p->thread_started = true;
    *out = p;
    if (!connected) {
        size_t l = strlen(err);
        snprintf(err + l, errlen > l ? errlen - l : 0, "; spooling to %s and retrying",
                 p->spool_dir);
        return 1;
    }
    return 0;

fail:
    publisher_free(p);
    return rc;
}

uint64_t publisher_close(publisher *p, unsigned timeout_ms)
{
    return publisher_close_stats(p, timeout_ms, NULL);
}

uint64_t publisher_close_stats(publisher *p, unsigned timeout_ms, publish_stats *final)
{
    if (!p) {
        if (final)
            memset(final, 0, sizeof *final);
        return 0;
    }
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    p->close_timeout_ms = timeout_ms;
    p->deadline_ns = clk_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->thread_started)
        pthread_join(p->thread, NULL);
    int rc = spool_flush(p->sp);
    if (rc != 0) {
        /* The disk still refuses what was buffered for it: lost, so counted as such. */
        uint64_t n = spool_discard_unwritten(p->sp);
        p->st.dropped += n;
        p->st.dropped_disk += n;
        if (n)
            say(p, "%s spool %s: cannot write: %s; the last %llu events are dropped",
                p->name, p->spool_dir, strerror(-rc), (unsigned long long)n);
    }
    uint64_t left = spool_count(p->sp);
    shed_each(p->shed, shed_line, p);
    spool_stats(p);
    if (final)
        *final = p->st;
    publisher_free(p);
    return left;
}
