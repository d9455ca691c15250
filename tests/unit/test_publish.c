/* publish: the transport-neutral publisher core (queue -> spool -> replay) over a fake
 * in-memory transport, as a second transport (Sentinel, Cluster, TLS) would use it:
 * events reach the far end once each and in order across an outage and a batch refused
 * half-way; a fatal connect fails the start and frees the transport; a full spool drops
 * and counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sensor/publish.h"

#define MAX_EVENTS 4096

typedef struct fake {
    publish_transport t;
    unsigned connects;       /* attempts so far */
    unsigned fail_connects;  /* the first this many attempts fail */
    bool fatal;              /* ...and say retrying cannot help */
    size_t refuse_at;        /* acknowledge only this many of the next batch (0: all) */
    bool linked;
    unsigned disconnects;
    bool *freed;             /* set by free: the test outlives the transport */
    size_t n;                /* events received */
    char got[MAX_EVENTS][64];
} fake;

static int f_connect(publish_transport *t, bool *fatal, char *err, size_t errlen)
{
    fake *f = (fake *)t;
    if (f->connects++ < f->fail_connects) {
        *fatal = f->fatal;
        snprintf(err, errlen, "fake is down");
        return -1;
    }
    f->linked = true;
    return 0;
}

static size_t f_send(publish_transport *t, const char *buf, const size_t *off, const size_t *len,
                     size_t n, char *err, size_t errlen)
{
    fake *f = (fake *)t;
    assert_true(f->linked);
    size_t take = n;
    if (f->refuse_at && f->refuse_at < n) {
        take = f->refuse_at;
        f->refuse_at = 0;
        snprintf(err, errlen, "fake refused an event");
    }
    for (size_t i = 0; i < take && f->n < MAX_EVENTS; i++) {
        assert_true(len[i] < sizeof f->got[0]);
        memcpy(f->got[f->n], buf + off[i], len[i]);
        f->got[f->n++][len[i]] = '\0';
    }
    return take;
}

static void f_disconnect(publish_transport *t)
{
    fake *f = (fake *)t;
    if (f->linked)
        f->disconnects++;
    f->linked = false;
}

static void f_free(publish_transport *t) { *((fake *)t)->freed = true; }

static const publish_transport_ops fake_ops = {f_connect, f_send, f_disconnect, f_free};

static char spool_dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(spool_dir, sizeof spool_dir, "/tmp/dw_test_publish.XXXXXX");
    return mkdtemp(spool_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", spool_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static fake *fake_new(bool *freed)
{
    fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->t.ops = &fake_ops;
    snprintf(f->t.where, sizeof f->t.where, "fake:0");
    f->freed = freed;
    *freed = false;
    return f;
}

static void queue_config(publish_queue_config *q, unsigned batch, uint64_t spool_max)
{
    memset(q, 0, sizeof *q);
    q->name = "fake";
    q->spool_dir = spool_dir;
    q->spool_max_bytes = spool_max;
    q->batch_max = batch;
}

static void submit_n(publisher *p, unsigned from, unsigned n)
{
    for (unsigned i = from; i < from + n; i++) {
        char line[64];
        int len = snprintf(line, sizeof line, "{\"n\":%u}\n", i);
        publisher_submit(p, line, (size_t)len);
    }
}

static void assert_in_order(const fake *f, unsigned n)
{
    assert_int_equal(f->n, n);
    for (unsigned i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "{\"n\":%u}", i); /* the newline is not sent */
        assert_string_equal(f->got[i], want);
    }
}

/* Down at start (a warning, not an error): everything goes to the spool, and is replayed
 * in order once the far end answers, before what comes after. */
static void t_outage_spool_replay(void **state)
{
    (void)state;
    bool freed;
    fake *f = fake_new(&freed);
    f->fail_connects = 3;
    publish_queue_config q;
    queue_config(&q, 8, 1u << 20);
    publisher *p = NULL;
    char err[256];
    assert_int_equal(publisher_new(&q, &f->t, &p, err, sizeof err), 1);
    assert_non_null(strstr(err, "fake is down; spooling to"));
    submit_n(p, 0, 50);
    /* Wait for the reconnection (backoff 100 ms, doubling) before the rest. */
    for (int i = 0; i < 300; i++) {
        publish_stats st;
        publisher_stats(p, &st);
        if (st.connected && st.published >= 50)
            break;
        usleep(10000);
    }
    submit_n(p, 50, 50);
    publish_stats st;
    uint64_t left = publisher_close_stats(p, 5000, &st);
    assert_int_equal(left, 0);
    assert_true(freed);
    assert_in_order(f, 100);
    assert_int_equal(st.published, 100);
    assert_true(st.spooled >= 50);
    assert_true(st.replayed >= 50);
    assert_int_equal(publish_stats_lost(&st), 0);
    free(f);
}

/* A batch acknowledged half-way is retried from the first event not acknowledged: no
 * event twice, none missing, the order kept. The first connect fails, so all 40 events
 * are queued during the back-off and the first batch is surely larger than 3 (however
 * slowly the publisher thread runs, under a sanitizer say). */
static void t_refused_half_batch(void **state)
{
    (void)state;
    bool freed;
    fake *f = fake_new(&freed);
    f->fail_connects = 1;
    f->refuse_at = 3;
    publish_queue_config q;
    queue_config(&q, 16, 1u << 20);
    publisher *p = NULL;
    char err[256];
    assert_int_equal(publisher_new(&q, &f->t, &p, err, sizeof err), 1); /* down at start: spooling */
    submit_n(p, 0, 40);
    publish_stats st;
    assert_int_equal(publisher_close_stats(p, 5000, &st), 0);
    assert_in_order(f, 40);
    assert_int_equal(st.published, 40);
    assert_true(f->disconnects >= 1);
    free(f);
}

/* A fatal connect (a wrong password) stops the start, and the transport is freed. */
static void t_fatal_connect(void **state)
{
    (void)state;
    bool freed;
    fake *f = fake_new(&freed);
    f->fail_connects = 1;
    f->fatal = true;
    publish_queue_config q;
    queue_config(&q, 8, 1u << 20);
    publisher *p = NULL;
    char err[256];
    assert_true(publisher_new(&q, &f->t, &p, err, sizeof err) < 0);
    assert_null(p);
    assert_true(freed);
    assert_string_equal(err, "fake is down");
    free(f);
}

/* The far end never answers and the spool is small: what does not fit is dropped, and
 * every loss is counted; what fits stays in the spool for the next start. */
static void t_full_spool_counted(void **state)
{
    (void)state;
    bool freed;
    fake *f = fake_new(&freed);
    f->fail_connects = 1000000;
    publish_queue_config q;
    queue_config(&q, 8, 4096);
    publisher *p = NULL;
    char err[256];
    assert_int_equal(publisher_new(&q, &f->t, &p, err, sizeof err), 1);
    submit_n(p, 0, 2000);
    publish_stats st;
    uint64_t left = publisher_close_stats(p, 0, &st);
    assert_true(freed);
    assert_int_equal(f->n, 0);
    assert_true(st.dropped > 0);
    assert_int_equal(left + st.dropped, 2000);
    assert_int_equal(publish_stats_lost(&st), st.dropped);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_outage_spool_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(t_refused_half_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(t_fatal_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(t_full_spool_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
