/* --output redis: the publisher (publish.c: queue, spool, replay, loss accounting) over a
 * Redis transport written here: one connection (sensor/rconn.h: TCP, TLS or unix socket)
 * to the server, to the master the Sentinels name, or to the Cluster node that holds the
 * sensor's stream; optionally confirmed by WAIT on replicas before an event counts as
 * delivered. */
#include "sensor/output_redis.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- the transport: one connection, pipelined batches -------------------------------- */

typedef struct redis_transport {
    publish_transport t; /* first: the publisher's view */
    enum publish_mode mode;
    unsigned long maxlen;
    bool list_rpush;
    unsigned wait_replicas, wait_timeout_ms;
    char *key;
    redis_url url;
    redis_creds creds;
    char password[512];
    char sentinel_password[512];
    rconn *rc;
} redis_transport;

static int rt_connect(publish_transport *t, bool *fatal, char *err, size_t errlen)
{
    redis_transport *r = (redis_transport *)t;
    r->rc = redisurl_connect(&r->url, &r->creds, r->key, CMD_TIMEOUT_MS, fatal, err, errlen);
    if (!r->rc)
        return *fatal ? -EACCES : -ECONNREFUSED;
    if (r->url.kind != REDISURL_SERVER && r->url.kind != REDISURL_UNIX)
        snprintf(r->t.where, sizeof r->t.where, "%s", rconn_where(r->rc));
    return 0;
}

static bool reply_ok(const redis_transport *r, const redisReply *rep)
{
    if (r->mode == PUB_STREAM)
        return rep->type == REDIS_REPLY_STRING && rep->len > 0;
    return rep->type == REDIS_REPLY_INTEGER; /* LPUSH/RPUSH length, PUBLISH receivers */
}

/* The command for event i of a batch: argv[0..argc) then the event. */
static int command_head(const redis_transport *r, const char **argv, char *maxlen, size_t n)
{
    int argc = 0;
    snprintf(maxlen, n, "%lu", r->maxlen);
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
    return argc;
}

/* Sends events [from, n) on c, each after ASKING when ask (a slot being migrated), then
 * WAIT when replicas are asked for; reads every reply. Returns how many leading events
 * were taken (all of them only if WAIT confirmed them). *redirect_at is the index of the
 * first event answered with MOVED/ASK (n if none), *to where it was sent. */
static size_t send_on(redis_transport *r, rconn *c, bool ask, const char *buf,
                      const size_t *off, const size_t *len, size_t from, size_t n,
                      size_t *redirect_at, bool *redirect_ask, redis_node *to, char *err,
                      size_t errlen)
{
    char maxlen[24], wait_n[12], wait_ms[12];
    const char *argv[8];
    size_t lens[8];
    int argc = command_head(r, argv, maxlen, sizeof maxlen);
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    *redirect_at = n;
    for (size_t i = from; i < n; i++) {
        argv[argc] = buf + off[i];
        lens[argc] = len[i];
        if ((ask && rconn_append(c, 1, (const char *[]){"ASKING"}, NULL) != 0) ||
            rconn_append(c, argc + 1, argv, lens) != 0) {
            snprintf(err, errlen, "cannot queue a command: %s", rconn_error(c));
            return 0;
        }
    }
    snprintf(wait_n, sizeof wait_n, "%u", r->wait_replicas);
    snprintf(wait_ms, sizeof wait_ms, "%u", r->wait_timeout_ms);
    if (r->wait_replicas &&
        rconn_append(c, 3, (const char *[]){"WAIT", wait_n, wait_ms}, NULL) != 0) {
        snprintf(err, errlen, "cannot queue a command: %s", rconn_error(c));
        return 0;
    }
    size_t ok = 0;
    bool failed = false;
    for (size_t i = from; i < n; i++) {
        redisReply *rep;
        if (ask) {
            if (rconn_reply(c, &rep) != 0) {
                snprintf(err, errlen, "%s", rconn_error(c));
                return r->wait_replicas ? 0 : ok;
            }
            freeReplyObject(rep); /* ASKING's +OK */
        }
        if (rconn_reply(c, &rep) != 0) {
            snprintf(err, errlen, "%s", rconn_error(c));
            return r->wait_replicas ? 0 : ok;
        }
        if (!failed && reply_ok(r, rep)) {
            ok++;
            if (r->mode == PUB_CHANNEL && rep->integer == 0)
                r->t.unheard++;
        } else if (!failed) {
            /* The rest of the replies are read to keep the pipeline in step, but nothing
             * after a refused event counts: the batch is retried from there, in order. */
            failed = true;
            if (redisurl_redirect(rep, redirect_ask, to))
                *redirect_at = i;
            snprintf(err, errlen, "redis refused an event: %.200s",
                     rep->type == REDIS_REPLY_ERROR && rep->str ? rep->str
                                                                : "unexpected reply type");
        }
        freeReplyObject(rep);
    }
    if (r->wait_replicas) {
        redisReply *rep;
        if (rconn_reply(c, &rep) != 0) {
            snprintf(err, errlen, "%s", rconn_error(c));
            return 0;
        }
        long long got = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
        if (got < (long long)r->wait_replicas) {
            /* Written to the master, not yet safe from its loss: sent again after a
             * reconnect (a duplicate, which event.id tells apart), never counted done. */
            if (!failed)
                snprintf(err, errlen,
                         "WAIT: %lld of %u replicas confirmed the batch within %u ms; kept "
                         "to send again",
                         got < 0 ? 0 : got, r->wait_replicas, r->wait_timeout_ms);
            ok = 0;
        }
        freeReplyObject(rep);
    }
    return ok;
}

/* The batch pipelined: every command appended, then every reply read. In a cluster, an
 * ASK for the slot (being migrated) sends the rest to the node named, once; MOVED ends
 * the batch, and the reconnect reads the slot map again. */
static size_t rt_send(publish_transport *t, const char *buf, const size_t *off,
                      const size_t *len, size_t n, char *err, size_t errlen)
{
    redis_transport *r = (redis_transport *)t;
    size_t at;
    bool ask = false;
    redis_node to;
    size_t ok = send_on(r, r->rc, false, buf, off, len, 0, n, &at, &ask, &to, err, errlen);
    if (ok == n || at != ok || !ask || r->url.kind != REDISURL_CLUSTER)
        return ok;
    bool fatal = false;
    redis_url one = r->url;
    one.kind = REDISURL_SERVER;
    memcpy(one.host, to.host, sizeof one.host);
    one.port = to.port;
    char e2[512];
    rconn *c = redisurl_connect(&one, &r->creds, NULL, CMD_TIMEOUT_MS, &fatal, e2, sizeof e2);
    if (!c) {
        snprintf(err, errlen, "ASK to %s:%u: %s", to.host, to.port, e2);
        return ok;
    }
    size_t more = send_on(r, c, true, buf, off, len, ok, n, &at, &ask, &to, err, errlen);
    rconn_close(c);
    return ok + more;
}

static void rt_disconnect(publish_transport *t)
{
    redis_transport *r = (redis_transport *)t;
    rconn_close(r->rc);
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
    memset(r->sentinel_password, 0, sizeof r->sentinel_password);
    free(r);
}

static const publish_transport_ops redis_ops = {rt_connect, rt_send, rt_disconnect, rt_free};

/* The key a sensor writes: in a cluster, KEY:{NAME}, so that each sensor's stream has a
 * slot of its own and the sensors of a fleet spread over the masters (a key that already
 * has a hash tag is kept). */
static char *sensor_key(const publish_config *c, bool cluster)
{
    const char *key = c->key ? c->key : REDISURL_KEY_DEFAULT;
    if (!cluster || strchr(key, '{'))
        return strdup(key);
    const char *name = c->sensor_name && *c->sensor_name ? c->sensor_name : "dnswatch";
    size_t n = strlen(key) + strlen(name) + 4;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s:{%s}", key, name);
    return k;
}

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
    r->wait_replicas = c->wait_replicas;
    r->wait_timeout_ms = c->wait_timeout_ms ? c->wait_timeout_ms : 1000;
    if (c->key && !c->key[0]) {
        rc = -EINVAL;
        snprintf(err, errlen, "the redis key must not be empty");
        goto fail;
    }
    rc = redisurl_parse(c->url ? c->url : REDISURL_DEFAULT, &r->url, err, errlen);
    if (rc)
        goto fail;
    if (c->tls && r->url.kind != REDISURL_UNIX)
        r->url.tls = true;
    if (r->url.kind == REDISURL_CLUSTER && c->mode == PUB_CHANNEL) {
        rc = -EINVAL;
        snprintf(err, errlen, "channel mode with a cluster:// URL is not supported (PUBLISH "
                              "in a cluster reaches only the subscribers of every node "
                              "through the bus); use stream mode");
        goto fail;
    }
    r->key = sensor_key(c, r->url.kind == REDISURL_CLUSTER);
    if (!r->key) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    redisurl_describe(&r->url, r->t.where, sizeof r->t.where);
    rc = redisurl_password(c->password_file, r->password, sizeof r->password, err, errlen);
    if (rc)
        goto fail;
    if (r->url.kind == REDISURL_SENTINEL) {
        rc = redisurl_secret(c->sentinel_password_file, REDISURL_SENTINEL_PASSWORD_ENV,
                             r->sentinel_password, sizeof r->sentinel_password, err, errlen);
        if (rc)
            goto fail;
    }
    r->creds.password = r->password;
    r->creds.sentinel_user = c->sentinel_user;
    r->creds.sentinel_password = r->sentinel_password;
    r->creds.tls.ca_file = c->tls_ca_file;
    r->creds.tls.cert_file = c->tls_cert_file;
    r->creds.tls.key_file = c->tls_key_file;
    r->creds.tls.server_name = c->tls_server_name;
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
    if (ps.unheard)
        say(d, dc, "redis: %llu of the events published reached no subscriber of the channel",
            (unsigned long long)ps.unheard);
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
    publish_config pc = o->redis;
    char host[256];
    if (!pc.sensor_name) {
        /* The same name events carry in observer.name (run.c). */
        if (o->observer_name)
            pc.sensor_name = o->observer_name;
        else if (gethostname(host, sizeof host) == 0 && host[0])
            pc.sensor_name = (host[sizeof host - 1] = '\0', host);
    }
    int rc = redis_transport_new(&pc, &t, err, errlen);
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
