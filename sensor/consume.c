#include "sensor/consume.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/num.h"
#include "sensor/jsoncheck.h"
#include "sensor/redisurl.h"

#define ID_MAX 64
#define TIMEOUT_MS 5000u

static volatile sig_atomic_t stop_requested, reopen_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    reopen_requested = 1;
}

/* Skipped entries are reported one line each, at most this many per minute; the rest are
 * counted and said in one line when the minute is over (and in the total at exit). */
#define SKIP_LINES_PER_MIN 10

typedef struct consumer {
    const char *url_s, *key, *group, *name, *out_path, *password_file;
    bool from_now;
    unsigned long claim_idle_ms; /* 0: never claim */
    unsigned long count;
    redis_url url;
    char password[512];
    char sentinel_password[512];
    const char *sentinel_password_file;
    const char *tls_ca, *tls_cert, *tls_key, *tls_name;
    bool tls;
    redis_creds creds;
    char where[600];
    rconn *rc;
    FILE *out;
    bool out_is_file;
    char (*ids)[ID_MAX];
    size_t nids;
    unsigned long long written, skipped;
    uint64_t skip_window_ms;    /* start of the current minute of skip lines */
    unsigned skip_lines;        /* printed in it */
    unsigned long long skip_quiet; /* not printed in it */
} consumer;

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dnswatch consume: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(usage: dnswatch consume [--redis URL] [--key K] [--group G] "
                    "[--consumer C] [--out FILE] [--from-start|--from-now] [--claim-idle MS] "
                    "[--count N] [--redis-password-file FILE] [--redis-sentinel-password-file FILE] "
                    "[--redis-tls] [--redis-tls-ca FILE] [--redis-tls-cert FILE] [--redis-tls-key FILE] "
                    "[--redis-tls-server-name NAME])\n");
    return 2;
}

static int parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    uint64_t v;
    if (num_parse_u64(s, lo, hi, &v) != 0)
        return -EINVAL;
    *out = (unsigned long)v;
    return 0;
}

static bool is_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && r->str;
}

static bool str_eq(const redisReply *r, const char *s)
{
    return is_str(r) && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

/* An entry that is not one dnswatch event as one JSON object is skipped, and acknowledged
 * like the rest (docs/redis.md): left pending it would come back at every restart and
 * every claim, forever, and hold the group's pending list. Each one is said on stderr
 * with its stream id and why, rate-limited, and counted. */
static void skip_entry(consumer *c, const char *id, const char *why)
{
    c->skipped++;
    uint64_t now = clk_mono_ms();
    if (now - c->skip_window_ms >= 60000 || !c->skip_window_ms) {
        if (c->skip_quiet)
            fprintf(stderr, "dnswatch consume: %llu more entries skipped in the last minute "
                            "(not shown)\n", c->skip_quiet);
        c->skip_window_ms = now ? now : 1;
        c->skip_lines = 0;
        c->skip_quiet = 0;
    }
    if (c->skip_lines < SKIP_LINES_PER_MIN) {
        c->skip_lines++;
        fprintf(stderr, "dnswatch consume: skipped stream entry %s of %s: %s (acknowledged, "
                        "not written)\n", id, c->key, why);
    } else {
        c->skip_quiet++;
    }
}

/* Writes the entries of one reply (an array of [id, [field, value, ...]]) and collects
 * their ids for XACK. Anything malformed is skipped and acknowledged: it would come back
 * forever otherwise. Returns 0, or -EPROTO when the reply itself is not a list of entries. */
static int take_entries(consumer *c, const redisReply *entries, char *last, size_t *n)
{
    *n = 0;
    if (!entries || entries->type != REDIS_REPLY_ARRAY)
        return -EPROTO;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (!e || e->type == REDIS_REPLY_NIL)
            continue; /* XAUTOCLAIM on 6.2: an entry deleted meanwhile */
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || !is_str(e->element[0]) ||
            e->element[0]->len == 0 || e->element[0]->len >= ID_MAX)
            return -EPROTO;
        if (c->nids == c->count)
            return -EPROTO; /* more than COUNT asked for */
        const redisReply *id = e->element[0];
        const redisReply *fv = e->element[1];
        memcpy(c->ids[c->nids], id->str, id->len);
        c->ids[c->nids][id->len] = '\0';
        snprintf(last, ID_MAX, "%s", c->ids[c->nids]);
        c->nids++;
        (*n)++;
        const char *eid = c->ids[c->nids - 1];
        if (!fv || fv->type != REDIS_REPLY_ARRAY) {
            if (!fv || fv->type != REDIS_REPLY_NIL)
                skip_entry(c, eid, "its fields are not a list");
            continue; /* nil: deleted from the stream while pending */
        }
        const redisReply *val = NULL;
        for (size_t k = 0; k + 1 < fv->elements; k += 2)
            if (str_eq(fv->element[k], "event") && is_str(fv->element[k + 1]))
                val = fv->element[k + 1];
        if (!val) {
            skip_entry(c, eid, "no 'event' field");
            continue;
        }
        if (memchr(val->str, '\n', val->len) || memchr(val->str, '\r', val->len)) {
            skip_entry(c, eid, "a line break inside the event");
            continue;
        }
        char why[96], msg[160];
        if (jsoncheck_object(val->str, val->len, why, sizeof why) != 0) {
            snprintf(msg, sizeof msg, "the event is not a JSON object (%s)", why);
            skip_entry(c, eid, msg);
            continue;
        }
        fwrite(val->str, 1, val->len, c->out);
        putc('\n', c->out);
        c->written++;
    }
    return 0;
}

/* What a failed step returns: STEP_RETRY (Redis failed: reconnect; the entries stay
 * pending and come back), or any other negative errno, which ends the run (the output
 * failed, memory ran out, the group cannot be made). */
#define STEP_RETRY (-ECONNRESET)

/* Makes what was written durable, then acknowledges it. 0, STEP_RETRY, or -EIO when the
 * output failed, -ENOMEM. */
static int commit(consumer *c)
{
    if (!c->nids)
        return 0;
    if (fflush(c->out) != 0 || ferror(c->out) ||
        (c->out_is_file && fdatasync(fileno(c->out)) != 0)) {
        fprintf(stderr, "dnswatch consume: writing %s failed: %s\n",
                c->out_path ? c->out_path : "stdout", strerror(errno));
        return -EIO;
    }
    const char **argv = malloc((c->nids + 3) * sizeof *argv);
    if (!argv)
        return -ENOMEM;
    argv[0] = "XACK";
    argv[1] = c->key;
    argv[2] = c->group;
    for (size_t i = 0; i < c->nids; i++)
        argv[i + 3] = c->ids[i];
    redisReply *r = rconn_command(c->rc, (int)c->nids + 3, argv, NULL);
    free(argv);
    c->nids = 0;
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : STEP_RETRY;
    if (rc)
        fprintf(stderr, "dnswatch consume: XACK failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : rconn_error(c->rc));
    if (r)
        freeReplyObject(r);
    return rc;
}

/* logrotate renamed the output and sent SIGHUP: what was written before is durable and
 * acknowledged (called between batches only), so the old file is closed and the path
 * opened anew; later lines go to the new file, none twice, none lost. If the path cannot
 * be opened, the old file is kept and the next SIGHUP tries again. 0, or -EIO when
 * closing the old file failed. */
static int reopen_output(consumer *c)
{
    reopen_requested = 0;
    if (!c->out_path)
        return 0; /* stdout: nothing to reopen */
    FILE *f = fopen(c->out_path, "a");
    if (!f) {
        fprintf(stderr, "dnswatch consume: SIGHUP: cannot open %s: %s; still writing to the "
                        "file opened before\n", c->out_path, strerror(errno));
        return 0;
    }
    if (fclose(c->out) != 0) {
        fprintf(stderr, "dnswatch consume: closing the old %s failed: %s\n", c->out_path,
                strerror(errno));
        fclose(f);
        c->out = NULL;
        return -EIO;
    }
    c->out = f;
    struct stat st;
    c->out_is_file = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    return 0;
}

/* One XREADGROUP from start_id ("0": our pending entries after *last; ">": new ones).
 * Returns the number of entries, or what commit() returns on failure (STEP_RETRY when
 * Redis failed). */
static int read_batch(consumer *c, bool pending, char *last, unsigned block_ms)
{
    char count[24], block[24];
    if (reopen_requested && c->nids == 0 && reopen_output(c) != 0)
        return -EIO;
    snprintf(count, sizeof count, "%lu", c->count);
    snprintf(block, sizeof block, "%u", block_ms);
    const char *argv[11] = {"XREADGROUP", "GROUP", c->group, c->name, "COUNT", count};
    int argc = 6;
    if (!pending && block_ms) {
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
    }
    argv[argc++] = "STREAMS";
    argv[argc++] = c->key;
    argv[argc++] = pending ? last : ">";
    redisReply *r = rconn_command(c->rc, argc, argv, NULL);
    if (!r) {
        fprintf(stderr, "dnswatch consume: redis at %s: %s\n", c->where, rconn_error(c->rc));
        return STEP_RETRY;
    }
    int rc = 0;
    size_t n = 0;
    if (r->type == REDIS_REPLY_NIL) {
        rc = 0;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
               r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
        if (take_entries(c, r->element[0]->element[1], last, &n) != 0)
            rc = -EPROTO;
    } else {
        rc = -EPROTO;
    }
    if (rc == -EPROTO) {
        fprintf(stderr, "dnswatch consume: XREADGROUP failed: %s\n",
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        rc = STEP_RETRY;
    }
    freeReplyObject(r);
    if (rc == 0)
        rc = commit(c);
    return rc ? rc : (int)n;
}

/* Takes over entries other consumers left idle longer than claim_idle_ms. */
static int claim(consumer *c)
{
    char idle[24], count[24], cursor[ID_MAX] = "0-0", last[ID_MAX];
    snprintf(idle, sizeof idle, "%lu", c->claim_idle_ms);
    snprintf(count, sizeof count, "%lu", c->count);
    do {
        const char *argv[8] = {"XAUTOCLAIM", c->key, c->group, c->name,
                               idle,         cursor, "COUNT", count};
        redisReply *r = rconn_command(c->rc, 8, argv, NULL);
        if (!r) {
            fprintf(stderr, "dnswatch consume: redis at %s: %s\n", c->where, rconn_error(c->rc));
            return STEP_RETRY;
        }
        size_t n;
        bool ok = r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && is_str(r->element[0]) &&
                  r->element[0]->len < ID_MAX && take_entries(c, r->element[1], last, &n) == 0;
        if (!ok) {
            fprintf(stderr, "dnswatch consume: XAUTOCLAIM failed: %s%s\n",
                    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply",
                    r->type == REDIS_REPLY_ERROR ? " (claiming needs Redis >= 6.2; "
                                                   "--claim-idle 0 turns it off)" : "");
            freeReplyObject(r);
            return STEP_RETRY;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        freeReplyObject(r);
        int rc = commit(c);
        if (rc)
            return rc;
    } while (strcmp(cursor, "0-0") != 0 && !stop_requested);
    return 0;
}

static int create_group(consumer *c)
{
    const char *argv[6] = {"XGROUP", "CREATE", c->key, c->group, c->from_now ? "$" : "0",
                           "MKSTREAM"};
    redisReply *r = rconn_command(c->rc, 6, argv, NULL);
    int rc = 0;
    if (!r) {
        fprintf(stderr, "dnswatch consume: redis at %s: %s\n", c->where, rconn_error(c->rc));
        return STEP_RETRY;
    }
    if (r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "BUSYGROUP", 9) == 0) {
        rc = 0; /* exists: where it starts was decided when it was made */
    } else if (r->type != REDIS_REPLY_STATUS) {
        fprintf(stderr, "dnswatch consume: cannot create group %s on %s: %s\n", c->group, c->key,
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        rc = -EINVAL;
    }
    freeReplyObject(r);
    return rc;
}

/* ---- a cluster: every sensor's stream (KEY:{NAME}) in one consumer group --------------- */

#define CLUSTER_MAX_STREAMS 256
#define CLUSTER_SCAN_EVERY_MS 5000u

typedef struct stream_reader {
    consumer c;          /* a copy of the base consumer, with its own key and connection */
    char key[512];
    char last[ID_MAX];
    bool ready;          /* group made and own pending entries read */
    uint64_t next_claim, next_try;
} stream_reader;

/* A glob pattern matching KEY:{anything}, KEY's own glob characters escaped. */
static void stream_pattern(const char *key, char *out, size_t n)
{
    size_t o = 0;
    for (const char *k = key; *k && o + 3 < n; k++) {
        if (strchr("*?[]\\", *k))
            out[o++] = '\\';
        out[o++] = *k;
    }
    snprintf(out + o, n - o, ":{*}");
}

/* The masters of the cluster, from CLUSTER SLOTS of any seed. */
static size_t cluster_masters(consumer *c, redis_node *m, size_t max)
{
    char err[1024];
    bool fatal;
    size_t n = 0;
    rconn *s = redisurl_connect(&c->url, &c->creds, NULL, TIMEOUT_MS, &fatal, err, sizeof err);
    if (!s) {
        fprintf(stderr, "dnswatch consume: %s\n", err);
        return 0;
    }
    redisReply *r = rconn_command(s, 2, (const char *[]){"CLUSTER", "SLOTS"}, NULL);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && n < max; i++) {
        const redisReply *e = r->element[i];
        if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 3)
            continue;
        const redisReply *nd = e->element[2];
        if (!nd || nd->type != REDIS_REPLY_ARRAY || nd->elements < 2 ||
            nd->element[0]->type != REDIS_REPLY_STRING ||
            nd->element[1]->type != REDIS_REPLY_INTEGER || nd->element[1]->integer <= 0 ||
            nd->element[1]->integer > 65535 || nd->element[0]->len >= sizeof m->host)
            continue;
        redis_node one;
        memcpy(one.host, nd->element[0]->str, nd->element[0]->len);
        one.host[nd->element[0]->len] = '\0';
        one.port = (unsigned)nd->element[1]->integer;
        bool seen = false;
        for (size_t k = 0; k < n; k++)
            seen |= !strcmp(m[k].host, one.host) && m[k].port == one.port;
        if (!seen)
            m[n++] = one;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY)
        fprintf(stderr, "dnswatch consume: CLUSTER SLOTS at %s failed: %s\n", rconn_where(s),
                r ? (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply") : rconn_error(s));
    if (r)
        freeReplyObject(r);
    rconn_close(s);
    return n;
}

/* Finds the streams of every sensor on every master; new ones get a reader. */
static int cluster_scan(consumer *base, stream_reader *sr, size_t *nsr)
{
    redis_node masters[64];
    char pattern[600], err[1024];
    size_t nm = cluster_masters(base, masters, 64);
    stream_pattern(base->key, pattern, sizeof pattern);
    for (size_t i = 0; i < nm; i++) {
        redis_url one = base->url;
        bool fatal;
        one.kind = REDISURL_SERVER;
        memcpy(one.host, masters[i].host, sizeof one.host);
        one.port = masters[i].port;
        rconn *c = redisurl_connect(&one, &base->creds, NULL, TIMEOUT_MS, &fatal, err, sizeof err);
        if (!c) {
            fprintf(stderr, "dnswatch consume: %s\n", err);
            continue;
        }
        char cursor[32] = "0";
        do {
            const char *argv[8] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000", "TYPE",
                                   "stream"};
            redisReply *r = rconn_command(c, 8, argv, NULL);
            if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof cursor ||
                r->element[1]->type != REDIS_REPLY_ARRAY) {
                fprintf(stderr, "dnswatch consume: SCAN at %s failed: %s\n", rconn_where(c),
                        r && r->type == REDIS_REPLY_ERROR ? r->str : rconn_error(c));
                if (r)
                    freeReplyObject(r);
                break;
            }
            memcpy(cursor, r->element[0]->str, r->element[0]->len);
            cursor[r->element[0]->len] = '\0';
            for (size_t k = 0; k < r->element[1]->elements; k++) {
                const redisReply *key = r->element[1]->element[k];
                if (!key || key->type != REDIS_REPLY_STRING || key->len >= sizeof sr->key ||
                    memchr(key->str, '\0', key->len))
                    continue;
                bool known = false;
                for (size_t j = 0; j < *nsr && !known; j++)
                    known = strlen(sr[j].key) == key->len && !memcmp(sr[j].key, key->str, key->len);
                if (known)
                    continue;
                if (*nsr == CLUSTER_MAX_STREAMS) {
                    fprintf(stderr, "dnswatch consume: more than %d sensor streams; the rest are "
                                    "not read (run more consumers with --key)\n",
                            CLUSTER_MAX_STREAMS);
                    break;
                }
                stream_reader *n = &sr[(*nsr)++];
                memset(n, 0, sizeof *n);
                n->c = *base;
                n->c.rc = NULL;
                n->c.nids = 0;
                n->c.written = n->c.skipped = 0;
                n->c.ids = malloc(base->count * sizeof *n->c.ids);
                if (!n->c.ids) {
                    (*nsr)--;
                    freeReplyObject(r);
                    rconn_close(c);
                    return -ENOMEM;
                }
                memcpy(n->key, key->str, key->len);
                n->key[key->len] = '\0';
                n->c.key = n->key;
                snprintf(n->last, sizeof n->last, "0");
            }
            freeReplyObject(r);
        } while (strcmp(cursor, "0") != 0 && !stop_requested);
        rconn_close(c);
    }
    return 0;
}

/* One step of one stream: connect (to the node of its slot), make the group and read its
 * own pending entries the first time, claim idle ones, then read new ones. Entries read
 * and written counts; STEP_RETRY drops the connection (the next step reconnects). */
static int cluster_step(stream_reader *r)
{
    char err[1024];
    bool fatal;
    uint64_t now = clk_mono_ms();
    if (!r->c.rc) {
        if (now < r->next_try)
            return 0;
        r->c.rc = redisurl_connect(&r->c.url, &r->c.creds, r->key, TIMEOUT_MS, &fatal, err,
                                   sizeof err);
        if (!r->c.rc) {
            fprintf(stderr, "dnswatch consume: %s\n", err);
            r->next_try = now + 1000;
            return fatal ? -EACCES : 0;
        }
        r->c.where[0] = '\0';
        snprintf(r->c.where, sizeof r->c.where, "%s", rconn_where(r->c.rc));
        r->ready = false;
        snprintf(r->last, sizeof r->last, "0");
    }
    int rc = 0, got = 0;
    if (!r->ready) {
        rc = create_group(&r->c);
        while (rc == 0 && !stop_requested && (rc = read_batch(&r->c, true, r->last, 0)) > 0)
            got += rc;
        if (rc == 0)
            r->ready = true;
    }
    if (rc == 0 && r->c.claim_idle_ms && now >= r->next_claim) {
        rc = claim(&r->c);
        r->next_claim = now + (r->c.claim_idle_ms < 1000 ? 1000 : r->c.claim_idle_ms / 2);
    }
    if (rc == 0)
        rc = read_batch(&r->c, false, r->last, 0);
    if (rc == STEP_RETRY) {
        /* MOVED after a resharding, a failed node: the entries stay pending and come back
         * on the node that has the slot now. */
        rconn_close(r->c.rc);
        r->c.rc = NULL;
        r->c.nids = 0;
        r->next_try = now + 100;
        return got;
    }
    return rc < 0 ? rc : got + rc;
}

static int cluster_session(consumer *base)
{
    stream_reader *sr = calloc(CLUSTER_MAX_STREAMS, sizeof *sr);
    size_t nsr = 0;
    int rc = 0;
    if (!sr)
        return -ENOMEM;
    uint64_t next_scan = 0;
    while (!stop_requested && rc >= 0) {
        if (clk_mono_ms() >= next_scan) {
            rc = cluster_scan(base, sr, &nsr);
            next_scan = clk_mono_ms() + CLUSTER_SCAN_EVERY_MS;
            if (rc < 0)
                break;
        }
        int got = 0;
        for (size_t i = 0; i < nsr && !stop_requested; i++) {
            int n = cluster_step(&sr[i]);
            if (n < 0 && n != STEP_RETRY) {
                rc = n;
                break;
            }
            got += n > 0 ? n : 0;
        }
        if (!got && rc >= 0) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    for (size_t i = 0; i < nsr; i++) {
        base->written += sr[i].c.written;
        base->skipped += sr[i].c.skipped;
        rconn_close(sr[i].c.rc);
        free(sr[i].c.ids);
    }
    free(sr);
    return rc < 0 ? rc : 0;
}

/* Own pending entries first (a restart resumes them), then claims, then new entries. */
static int session(consumer *c)
{
    char last[ID_MAX] = "0";
    int rc = create_group(c);
    if (rc)
        return rc;
    while (!stop_requested && (rc = read_batch(c, true, last, 0)) > 0)
        ;
    if (rc < 0)
        return rc;
    uint64_t next_claim = 0;
    while (!stop_requested) {
        if (c->claim_idle_ms && clk_mono_ms() >= next_claim) {
            rc = claim(c);
            if (rc)
                return rc;
            next_claim = clk_mono_ms() + (c->claim_idle_ms < 1000 ? 1000 : c->claim_idle_ms / 2);
        }
        rc = read_batch(c, false, last, 1000);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int consume_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"redis", required_argument, NULL, 'R'},
        {"key", required_argument, NULL, 'k'},
        {"group", required_argument, NULL, 'g'},
        {"consumer", required_argument, NULL, 'C'},
        {"out", required_argument, NULL, 'o'},
        {"from-start", no_argument, NULL, 's'},
        {"from-now", no_argument, NULL, 'n'},
        {"claim-idle", required_argument, NULL, 'I'},
        {"count", required_argument, NULL, 'N'},
        {"redis-password-file", required_argument, NULL, 'P'},
        {"redis-sentinel-password-file", required_argument, NULL, 'S'},
        {"redis-tls", no_argument, NULL, 'T'},
        {"redis-tls-ca", required_argument, NULL, 'A'},
        {"redis-tls-cert", required_argument, NULL, 'E'},
        {"redis-tls-key", required_argument, NULL, 'K'},
        {"redis-tls-server-name", required_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    consumer c;
    char host[256], err[1024];
    int opt, status = 1;

    memset(&c, 0, sizeof c);
    c.key = REDISURL_KEY_DEFAULT;
    c.group = "dnswatch";
    c.claim_idle_ms = 60000;
    c.count = 256;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (opt) {
        case 'R': c.url_s = optarg; break;
        case 'k': c.key = optarg; break;
        case 'g': c.group = optarg; break;
        case 'C': c.name = optarg; break;
        case 'o': c.out_path = optarg; break;
        case 's': c.from_now = false; break;
        case 'n': c.from_now = true; break;
        case 'P': c.password_file = optarg; break;
        case 'S': c.sentinel_password_file = optarg; break;
        case 'T': c.tls = true; break;
        case 'A': c.tls_ca = optarg; break;
        case 'E': c.tls_cert = optarg; break;
        case 'K': c.tls_key = optarg; break;
        case 'H': c.tls_name = optarg; break;
        case 'I':
            if (parse_ulong(optarg, 0, 86400000ul, &c.claim_idle_ms) != 0)
                return usage_error("--claim-idle takes milliseconds (0 = never claim), not '%s'",
                                   optarg);
            break;
        case 'N':
            if (parse_ulong(optarg, 1, 10000, &c.count) != 0)
                return usage_error("--count takes 1 to 10000 entries per read, not '%s'", optarg);
            break;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!*c.key || !*c.group || (c.name && !*c.name))
        return usage_error("--key, --group and --consumer must not be empty");
    if (!c.name) {
        if (gethostname(host, sizeof host) != 0 || !host[0])
            snprintf(host, sizeof host, "dnswatch");
        host[sizeof host - 1] = '\0';
        c.name = host;
    }
    if (redisurl_parse(c.url_s, &c.url, err, sizeof err) != 0)
        return usage_error("%s", err);
    if (c.tls && c.url.kind != REDISURL_UNIX)
        c.url.tls = true;
    redisurl_describe(&c.url, c.where, sizeof c.where);
    c.ids = malloc(c.count * sizeof *c.ids);
    if (!c.ids) {
        fprintf(stderr, "dnswatch consume: out of memory\n");
        return 1;
    }
    if (redisurl_password(c.password_file, c.password, sizeof c.password, err, sizeof err) != 0 ||
        (c.url.kind == REDISURL_SENTINEL &&
         redisurl_secret(c.sentinel_password_file, REDISURL_SENTINEL_PASSWORD_ENV,
                         c.sentinel_password, sizeof c.sentinel_password, err, sizeof err) != 0)) {
        fprintf(stderr, "dnswatch consume: %s\n", err);
        goto out;
    }
    bool fatal;
    c.creds.password = c.password;
    c.creds.sentinel_password = c.sentinel_password;
    c.creds.tls.ca_file = c.tls_ca;
    c.creds.tls.cert_file = c.tls_cert;
    c.creds.tls.key_file = c.tls_key;
    c.creds.tls.server_name = c.tls_name;
    /* A cluster is read stream by stream (cluster_session): this connection only checks
     * that the seeds answer and the credentials are right. */
    c.rc = redisurl_connect(&c.url, &c.creds, NULL, TIMEOUT_MS, &fatal, err, sizeof err);
    if (!c.rc) {
        fprintf(stderr, "dnswatch consume: %s\n", err);
        goto out;
    }
    if (c.out_path) {
        c.out = fopen(c.out_path, "a");
        if (!c.out) {
            fprintf(stderr, "dnswatch consume: cannot open %s: %s\n", c.out_path, strerror(errno));
            goto out;
        }
        struct stat st;
        c.out_is_file = fstat(fileno(c.out), &st) == 0 && S_ISREG(st.st_mode);
    } else {
        c.out = stdout;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned backoff = 100;
    if (c.url.kind == REDISURL_CLUSTER) {
        rconn_close(c.rc);
        c.rc = NULL;
        status = cluster_session(&c) == 0 ? 0 : 1;
    }
    for (; c.url.kind != REDISURL_CLUSTER;) {
        int rc = session(&c);
        if (rc != STEP_RETRY) {
            status = rc == 0 ? 0 : 1;
            break;
        }
        /* Redis went away: what was not acknowledged stays pending and comes back. */
        while (!stop_requested) {
            rconn_close(c.rc);
            c.rc = NULL;
            c.nids = 0;
            struct timespec ts = {(time_t)(backoff / 1000), (long)(backoff % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            c.rc = redisurl_connect(&c.url, &c.creds, c.key, TIMEOUT_MS, &fatal, err, sizeof err);
            if (c.rc)
                break;
        }
        if (!c.rc) {
            status = 0;
            break;
        }
        backoff = 100;
    }
    fprintf(stderr, "dnswatch consume: %llu events written%s", c.written,
            c.skipped ? "" : "\n");
    if (c.skipped)
        fprintf(stderr, ", %llu entries skipped\n", c.skipped);

out:
    if (c.rc)
        rconn_close(c.rc);
    if (c.out && c.out != stdout && fclose(c.out) != 0 && status == 0)
        status = 1;
    memset(c.password, 0, sizeof c.password);
    memset(c.sentinel_password, 0, sizeof c.sentinel_password);
    free(c.ids);
    return status;
}
