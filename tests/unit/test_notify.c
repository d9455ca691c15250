/* sensor/notify.c against a fake service manager: a datagram socket as $NOTIFY_SOCKET.
 * The watchdog thread pings only while the progress function says the pipeline moves, and
 * pings again once it does; no watchdog without $WATCHDOG_USEC; READY/RELOADING/STOPPING
 * as the protocol spells them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sensor/notify.h"

static int sock = -1;
static char path[108];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/dw-notify-%ld.sock", (long)getpid());
    unlink(path);
    sock = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    if (sock < 0 || bind(sock, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    struct timeval tv = {0, 50000};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setenv("NOTIFY_SOCKET", path, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(sock);
    unlink(path);
    return 0;
}

/* Every datagram that arrives within ms, concatenated with '|' between them. */
static int drain(char *buf, size_t len, int ms, int *pings)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t off = 0;
    int n = 0;
    buf[0] = '\0';
    *pings = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
            break;
        char m[512];
        ssize_t r = recv(sock, m, sizeof m - 1, 0);
        if (r <= 0)
            continue;
        m[r] = '\0';
        n++;
        if (strstr(m, "WATCHDOG=1"))
            (*pings)++;
        off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s|", m);
    }
    return n;
}

static void test_messages(void **state)
{
    (void)state;
    char buf[4096];
    int pings;
    notify_ready("capturing on eth1, 2 workers");
    notify_reloading();
    notify_stopping();
    drain(buf, sizeof buf, 200, &pings);
    assert_non_null(strstr(buf, "READY=1\nSTATUS=capturing on eth1, 2 workers|"));
    assert_non_null(strstr(buf, "RELOADING=1\n"));
    assert_non_null(strstr(buf, "MONOTONIC_USEC="));
    assert_non_null(strstr(buf, "STOPPING=1\n"));
    assert_int_equal(pings, 0);
}

static bool moving = true; /* read by the watchdog thread: atomics */
static bool progress(void *ctx, char *why, size_t whylen)
{
    (void)ctx;
    bool m = __atomic_load_n(&moving, __ATOMIC_RELAXED);
    if (!m)
        snprintf(why, whylen, "worker 0 made no progress");
    return m;
}

static void test_watchdog(void **state)
{
    (void)state;
    char buf[8192];
    int pings;
    notify_watchdog *w = NULL;

    unsetenv("WATCHDOG_USEC");
    assert_int_equal(notify_watchdog_start(progress, NULL, &w), 0);
    assert_null(w); /* not asked for: no thread */

    setenv("WATCHDOG_USEC", "100000", 1); /* 100 ms: a ping every 50 ms */
    unsetenv("WATCHDOG_PID");
    __atomic_store_n(&moving, true, __ATOMIC_RELAXED);
    assert_int_equal(notify_watchdog_start(progress, NULL, &w), 0);
    assert_non_null(w);
    drain(buf, sizeof buf, 500, &pings);
    assert_in_range(pings, 3, 12);

    __atomic_store_n(&moving, false, __ATOMIC_RELAXED); /* stalled: no ping at all */
    drain(buf, sizeof buf, 120, &pings); /* one in flight may still come */
    drain(buf, sizeof buf, 500, &pings);
    assert_int_equal(pings, 0);

    __atomic_store_n(&moving, true, __ATOMIC_RELAXED); /* moving again: pings again */
    drain(buf, sizeof buf, 500, &pings);
    assert_in_range(pings, 3, 12);

    notify_watchdog_stop(w);
    drain(buf, sizeof buf, 300, &pings);
    assert_int_equal(pings, 0);
    notify_watchdog_stop(NULL);
    unsetenv("WATCHDOG_USEC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_watchdog),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
