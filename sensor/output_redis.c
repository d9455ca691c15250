/* --output redis: the publisher (publish.c: queue, spool, replay, loss accounting) over a
 * Redis transport written here with hiredis. A second Redis transport (Sentinel, Cluster,
 * TLS) is another publish_transport_ops; the dw_out part stays as it is. */
#include "sensor/output_redis.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/output.h"
#include "sensor/redisurl.h"

#define CMD_TIMEOUT_MS 5000u
#define DEFAULT_SPOOL_DIR "/var/lib/dnswatch/spool"

void publish_config_default(publish_config *c)
{
    memset(c, 0, sizeof *c);
    c->url = REDISURL_DEFAULT;
    c->mode = PUB_STREAM;
    c->key = REDISURL_KEY_DEFAULT;
    c->maxlen = 1000000;
    c->spool_dir = DEFAULT_SPOOL_DIR;
    c->spool_max_bytes = 256ull << 20;
    c->batch_max = 256;
    c->queue_max = 65536;
    c->queue_max_bytes = 64ull << 20;
}

void publish_config_queue(const publish_config *c, publish_queue_config *q)
{
    memset(q, 0, sizeof *q);
    q->name = "redis";
    q->spool_dir = c->spool_dir ? c->spool_dir : DEFAULT_SPOOL_DIR;
    q->spool_max_bytes = c->spool_max_bytes;
    q->batch_max = c->batch_max;
    q->queue_max = c->queue_max;
    q->queue_max_bytes = c->queue_max_bytes;
}

/* ---- the transport: hiredis, one connection, pipelined batches ----------------------- */

typedef struct redis_transport {
    publish_transport t; /* first: the publisher's view */
    enum publish_mode mode;
    unsigned long maxlen;
    bool list_rpush;
    char *key;
    redis_url url;
    char password[512];
    redisContext *rc;
} redis_transport;

static int rt_connect(publish_transport *t, bool *fatal, char *err, size_t errlen)
{
    redis_transport *r = (redis_transport *)t;
    bool auth_failed = false;
    r->rc = redisurl_connect(&r->url, r->password, CMD_TIMEOUT_MS, &auth_failed, err, errlen);
    *fatal = auth_failed;
    if (r->rc)
        return 0;
    return auth_failed ? -EACCES : -ECONNREFUSED;
}

static bool reply_ok(const redis_transport *r, const redisReply *rep)
{
    if (r->mode == PUB_STREAM)
        return rep->type == REDIS_REPLY_STRING && rep->len > 0;
    return rep->type == REDIS_REPLY_INTEGER; /* LPUSH/RPUSH length, PUBLISH receivers */
}

/* The batch pipelined: every command appended, then every reply read. */
static size_t rt_send(publish_transport *t, const char *buf, const size_t *off,
                      const size_t *len, size_t n, char *err, size_t errlen)
{
    redis_transport *r = (redis_transport *)t;
    char maxlen[24];
    const char *argv[8];
    size_t lens[8];
    int argc = 0;

    snprintf(maxlen, sizeof maxlen, "%lu", r->maxlen);
    switch (r->mode) {
    case PUB_STREAM:
        argv[argc++] = "XADD";
        argv[argc++] = r->key;
        if (r->maxlen) {
            argv[argc++] = "MAXLEN";
            argv[argc++] = "~";
            argv[argc++] = maxlen;
        }
        argv[argc++] = "*";
        argv[argc++] = "event";
        break;
    case PUB_LIST:
        argv[argc++] = r->list_rpush ? "RPUSH" : "LPUSH";
        argv[argc++] = r->key;
        break;
    case PUB_CHANNEL:
        argv[argc++] = "PUBLISH";
        argv[argc++] = r->key;
        break;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    for (size_t i = 0; i < n; i++) {
        argv[argc] = buf + off[i];
        lens[argc] = len[i];
        if (redisAppendCommandArgv(r->rc, argc + 1, argv, lens) != REDIS_OK) {
            snprintf(err, errlen, "cannot queue a command: %s", r->rc->errstr);
            return 0;
        }
    }
    size_t ok = 0;
    bool failed = false;
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;
        if (redisGetReply(r->rc, &v) != REDIS_OK || !v) {
            snprintf(err, errlen, "%s", r->rc->errstr[0] ? r->rc->errstr : "connection lost");
            return ok;
        }
        redisReply *rep = v;
        if (!failed && reply_ok(r, rep)) {
            ok++;
        } else if (!failed) {
            /* The rest of the replies are read to keep the pipeline in step, but nothing
             * after a refused event counts: the batch is retried from there, in order. */
            failed = true;
            snprintf(err, errlen, "redis refused an event: %.200s",
                     rep->type == REDIS_REPLY_ERROR && rep->str ? rep->str
                                                                : "unexpected reply type");
        }
        freeReplyObject(rep);
    }
    return ok;
}

static void rt_disconnect(publish_transport *t)
{
    redis_transport *r = (redis_transport *)t;
    if (r->rc)
        redisFree(r->rc);
    r->rc = NULL;
}

static void rt_free(publish_transport *t)
{
    redis_transport *r = (redis_transport *)t;
    if (!r)
        return;
    rt_disconnect(t);
    free(r->key);
    memset(r->password, 0, sizeof r->password);
    free(r);
}

static const publish_transport_ops redis_ops = {rt_connect, rt_send, rt_disconnect, rt_free};

int redis_transport_new(const publish_config *c, publish_transport **out, char *err,
                        size_t errlen)
{
    int rc = -ENOMEM;
    redis_transport *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    r->t.ops = &redis_ops;
    r->mode = c->mode;
    r->maxlen = c->maxlen;
    r->list_rpush = c->list_rpush;
    r->key = strdup(c->key ? c->key : REDISURL_KEY_DEFAULT);
    if (!r->key) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!r->key[0]) {
        rc = -EINVAL;
        snprintf(err, errlen, "the redis key must not be empty");
        goto fail;
    }
    rc = redisurl_parse(c->url ? c->url : REDISURL_DEFAULT, &r->url, err, errlen);
    if (rc)
        goto fail;
    redisurl_describe(&r->url, r->t.where, sizeof r->t.where);
    rc = redisurl_password(c->password_file, r->password, sizeof r->password, err, errlen);
    if (rc)
        goto fail;
    *out = &r->t;
    return 0;
fail:
    rt_free(&r->t);
    return rc;
}

/* ---- the output ------------------------------------------------------------------------ */

typedef struct redis_output {
    dw_out out; /* first: the pipeline's view */
    publisher *pub;
    const char *spool_dir;
    unsigned wait_ms;
    int hurried; /* atomic: set from a signal handler */
    dw_diag_fn diag;
    void *diag_ctx;
} redis_output;

/* One line of the end-of-run summary through the output's diagnostic callback. */
__attribute__((format(printf, 3, 4))) static void say(dw_diag_fn diag, void *ctx,
                                                      const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (!diag)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    diag(ctx, line);
}

static void ro_write(dw_out *out, const char *line, size_t len)
{
    publisher_submit(((redis_output *)out)->pub, line, len);
}

static void ro_flush(dw_out *out) { (void)out; /* the publisher's thread sends as it goes */ }

static void ro_stats(dw_out *out, publish_stats *st)
{
    publisher_stats(((redis_output *)out)->pub, st);
}

static void ro_hurry(dw_out *out)
{
    redis_output *r = (redis_output *)out;
    __atomic_store_n(&r->hurried, 1, __ATOMIC_RELAXED);
    publisher_hurry(r->pub);
}

/* Every event ends in Redis or in the spool, or is counted lost; with report, says which. */
static uint64_t ro_close(dw_out *out, bool report)
{
    redis_output *r = (redis_output *)out;
    publish_stats ps;
    uint64_t left = publisher_close_stats(r->pub, r->wait_ms, &ps);
    bool hurried = __atomic_load_n(&r->hurried, __ATOMIC_RELAXED);
    const char *spool_dir = r->spool_dir;
    dw_diag_fn d = r->diag;
    void *dc = r->diag_ctx;
    free(r);
    if (!report)
        return publish_stats_lost(&ps);
    if (hurried)
        say(d, dc, "<5>second stop signal: stopped waiting for Redis");
    if (left)
        say(d, dc, "%llu events left in the spool %s, replayed at next start",
            (unsigned long long)left, spool_dir);
    else
        say(d, dc, "<6>all %llu events in Redis", (unsigned long long)ps.published);
    say(d, dc, "<6>redis: published %llu, spooled %llu, replayed %llu, dropped %llu%s",
        (unsigned long long)ps.published, (unsigned long long)ps.spooled,
        (unsigned long long)ps.replayed, (unsigned long long)ps.dropped,
        !ps.dropped ? "" : ps.dropped_disk == ps.dropped ? " (the disk refused them)"
                         : ps.shed_alerts + ps.shed_events == ps.dropped ? " (shed under pressure)"
                         : " (spool full, shed, or the disk refused them)");
    if (ps.shed_alerts || ps.shed_events)
        say(d, dc, "redis spool under pressure: of the dropped, %llu alerts were shed (flood "
                   "quota), %llu other events",
            (unsigned long long)ps.shed_alerts, (unsigned long long)ps.shed_events);
    if (ps.spool_damaged)
        say(d, dc, "redis spool: %llu damaged stretches skipped, %llu events in them counted "
                   "lost%s", (unsigned long long)ps.spool_damaged,
            (unsigned long long)(ps.spool_lost + ps.spool_damaged_at_start),
            ps.spool_damaged_at_start ? " (at least: an earlier run's are not counted)" : "");
    return publish_stats_lost(&ps);
}

static const dw_out_ops redis_out_ops = {ro_write, ro_flush, ro_stats, ro_hurry, ro_close};

/* A wrong password or a bad URL stops the start; Redis being away does not (the publisher
 * spools and retries, and err holds the warning). */
int output_redis_open(const dw_options *o, dw_diag_fn diag, void *diag_ctx, dw_out **out,
                      char *err, size_t errlen)
{
    publish_transport *t = NULL;
    publish_queue_config qc;
    int rc = redis_transport_new(&o->redis, &t, err, errlen);
    if (rc < 0)
        return rc;
    redis_output *r = calloc(1, sizeof *r);
    if (!r) {
        t->ops->free(t);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    publish_config_queue(&o->redis, &qc);
    qc.diag = diag;
    qc.diag_ctx = diag_ctx;
    rc = publisher_new(&qc, t, &r->pub, err, errlen);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->out.ops = &redis_out_ops;
    r->spool_dir = qc.spool_dir; /* the options outlive the run */
    r->wait_ms = o->redis_wait_ms;
    r->diag = diag;
    r->diag_ctx = diag_ctx;
    *out = &r->out;
    return rc;
}
