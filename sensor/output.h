/* Where events go: one interface for every output (standard output, Redis; more Redis
 * transports next). Workers and the main thread write whole JSON lines to a dw_out they
 * are given; they know nothing else about it.
 *
 * Adding an output: one file that fills a dw_out_ops and an open function, and one row
 * in the table of output.c that says which --output selects it. An output that may fall
 * behind (a network) puts a publisher (publish.h) between write and its transport, and so
 * gets the queue, the spool, its replay and its loss accounting as they are. */
#ifndef DW_OUTPUT_H
#define DW_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "sensor/options.h"
#include "sensor/publish.h"

typedef struct dw_out dw_out;

typedef struct dw_out_ops {
    /* One event, a JSON line with its newline. Thread-safe; never waits for a far end.
     * A failure to write marks the output broken (dw_out_failed). */
    void (*write)(dw_out *out, const char *line, size_t len);
    /* Pushes out what is buffered (the live pipeline calls it every 200 ms). */
    void (*flush)(dw_out *out);
    /* Delivery counters; NULL for an output that keeps none (stdout). */
    void (*stats)(dw_out *out, publish_stats *st);
    /* A second stop signal: stop waiting for the far end. Async-signal-safe; NULL for an
     * output that never waits. */
    void (*hurry)(dw_out *out);
    /* Delivers or spools what is left and frees. With report, says the end-of-run
     * summary through the diagnostic callback it was opened with. Returns the number of
     * events this output lost. */
    uint64_t (*close)(dw_out *out, bool report);
} dw_out_ops;

/* The part every output shares; an implementation embeds it first. */
struct dw_out {
    const dw_out_ops *ops;
    int failed;         /* errno of the first failed write, 0 while fine (atomic) */
};

/* Opens the output --output names (o->output). Returns 0; 1 with a warning in err (the
 * output works, the far end is not there yet); or a negative code with one line in err.
 * What the output has to say while it runs and at close (an outage, a full spool, the
 * summary) goes through diag (NULL: not said; the counters still count). */
DW_MUST_USE
int dw_out_open(const dw_options *o, dw_diag_fn diag, void *diag_ctx, dw_out **out, char *err,
                size_t errlen);

static inline void dw_out_write(dw_out *out, const char *line, size_t len)
{
    out->ops->write(out, line, len);
}
static inline void dw_out_flush(dw_out *out) { out->ops->flush(out); }
static inline bool dw_out_has_stats(const dw_out *out) { return out->ops->stats != NULL; }
static inline void dw_out_stats(dw_out *out, publish_stats *st) { out->ops->stats(out, st); }
static inline bool dw_out_can_hurry(const dw_out *out) { return out->ops->hurry != NULL; }
static inline void dw_out_hurry(dw_out *out) { out->ops->hurry(out); }
/* 0, or the errno of the write that broke the output. Any thread. */
static inline int dw_out_failed(const dw_out *out)
{
    return __atomic_load_n(&out->failed, __ATOMIC_RELAXED);
}
/* Accepts NULL (returns 0). */
static inline uint64_t dw_out_close(dw_out *out, bool report)
{
    return out ? out->ops->close(out, report) : 0;
}

/* The implementations (output_*.c), for output.c's table. */
DW_MUST_USE
int output_stdout_open(const dw_options *o, dw_diag_fn diag, void *diag_ctx, dw_out **out,
                       char *err, size_t errlen);
DW_MUST_USE
int output_redis_open(const dw_options *o, dw_diag_fn diag, void *diag_ctx, dw_out **out,
                      char *err, size_t errlen);

#endif
