#include "sensor/notify.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "sensor/slog.h"

void notify_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: draining the workers, flushing the output");
}

struct notify_watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    uint64_t period_us;
    notify_progress_fn progress;
    void *ctx;
};

static void *watchdog_main(void *arg)
{
    notify_watchdog *w = arg;
    bool stalled = false;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (w->period_us % 1000000u) * 1000u;
        until.tv_sec += (time_t)(w->period_us / 1000000u + ns / 1000000000u);
        until.tv_nsec = (long)(ns % 1000000000u);
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
            ;
        if (w->stop)
            break;
        char why[256] = "";
        if (w->progress(w->ctx, why, sizeof why)) {
            sd_notify(0, "WATCHDOG=1");
            if (stalled)
                slog(SLOG_NOTICE, "watchdog: the pipeline moves again; pinging the service "
                                  "manager again");
            stalled = false;
        } else if (!stalled) {
            stalled = true;
            slog(SLOG_ERR, "watchdog: %s; not pinging the service manager, which restarts "
                           "the service when its WatchdogSec passes", why);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int notify_watchdog_start(notify_progress_fn progress, void *ctx, notify_watchdog **out)
{
    uint64_t usec = 0;
    *out = NULL;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    notify_watchdog *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->period_us = usec / 2 ? usec / 2 : 1;
    w->progress = progress;
    w->ctx = ctx;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    /* The thread takes no signal: they are the main thread's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&w->thread, NULL, watchdog_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return -e;
    }
    slog(SLOG_INFO, "watchdog: pinging the service manager every %llu ms while the pipeline "
                    "moves", (unsigned long long)(w->period_us / 1000));
    *out = w;
    return 0;
}

void notify_watchdog_stop(notify_watchdog *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
