/* Admission to the publisher's spool under pressure, so that a flood of similar alerts
 * cannot crowd out a different, real one (DESIGN.md "Redis", docs/redis.md):
 *
 * - below half the spool's bound every event is admitted;
 * - from half on, only alerts (event.kind "alert"): logged responses, metrics and health
 *   events are shed first;
 * - from the high-water mark (3/4) on, an alert is admitted only while its class (rule
 *   id and violation set) has had fewer than `quota` alerts admitted since the spool
 *   passed the mark; the excess of a flood is shed and counted per class. Should more
 *   than SHED_CLASSES classes meet above the mark, the ones without a place in the
 *   table are admitted while there is room. The quarter
 *   above the mark is thus kept for alerts of other classes: a forged pypi.org answer
 *   still gets in behind 10 000 rebinding alerts.
 *
 * The quotas start again once the spool is back under the mark. Only a spool full even
 * so drops an event (the caller counts that). Events are classified from the JSON line
 * the encoder wrote (sensor/event.c): its layout is ours, and a quote inside a string is
 * always escaped, so the structural markers cannot be forged by packet contents.
 *
 * Fixed-size class table, no allocation after shed_new. Not thread-safe: the publisher
 * calls it under its lock. */
#ifndef DW_SHED_H
#define DW_SHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct shed shed;

#define SHED_QUOTA_DEFAULT 8u
#define SHED_CLASSES 256u

/* quota 0: the default. NULL on allocation failure. */
shed *shed_new(unsigned quota);
void shed_free(shed *s); /* accepts NULL */

/* Whether the event line (len bytes) may be appended to a spool that holds used of its
 * max bytes. A refusal is counted (shed_stats, shed_each). */
bool shed_admit(shed *s, const char *line, size_t len, uint64_t used, uint64_t max);

typedef struct shed_stats {
    uint64_t alerts; /* alerts shed by their class's quota */
    uint64_t events; /* other events shed above half the bound */
} shed_stats;
void shed_get_stats(const shed *s, shed_stats *out);

/* Calls fn for every alert class that had alerts shed: its rule id, violations (JSON
 * array text) and the count, for the summary at exit. */
void shed_each(const shed *s, void (*fn)(void *ctx, const char *rule_id,
                                         const char *violations, uint64_t n),
               void *ctx);

#endif
