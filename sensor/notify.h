/* The service manager's side of a run (systemd Type=notify, sd_notify(3) of libsystemd):
 * READY=1 once the capture and the workers run, RELOADING=1 around a SIGHUP reload,
 * STOPPING=1 when the run winds down, and WATCHDOG=1 from a thread of its own, sent only
 * while the pipeline shows progress. Without $NOTIFY_SOCKET (not under systemd) every
 * call does nothing. */
#ifndef DW_NOTIFY_H
#define DW_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

void notify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC (systemd 253's Type=notify-reload wants it; older ones
 * ignore it); notify_ready() again when the reload is over, whatever its outcome. */
void notify_reloading(void);
void notify_stopping(void);

/* Says whether the pipeline moved on since its previous call; called from the watchdog
 * thread. why (when it returns false) names what stalled, for the log line. */
typedef bool (*notify_progress_fn)(void *ctx, char *why, size_t whylen);

typedef struct notify_watchdog notify_watchdog;

/* When the service manager asked for a watchdog ($WATCHDOG_USEC, for this process): starts
 * a thread that, every half of that interval, calls progress and sends WATCHDOG=1 if it
 * returned true. A stall is logged once (and its end). *out is NULL when no watchdog was
 * asked for. Returns 0 or a negative errno code. */
DW_MUST_USE
int notify_watchdog_start(notify_progress_fn progress, void *ctx, notify_watchdog **out);
/* Stops and joins the thread. Accepts NULL. */
void notify_watchdog_stop(notify_watchdog *w);

#endif
