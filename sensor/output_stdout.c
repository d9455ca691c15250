/* --output stdout: JSON lines on standard output, whole lines under a lock, through a
 * 1 MiB buffer. A failed write (stdout closed, disk full) marks the output broken, and the
 * run ends on it rather than go on losing events without a word. */
#include "sensor/output.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct stdout_output {
    dw_out out; /* first: the pipeline's view */
    pthread_mutex_t mu;
    FILE *f;
} stdout_output;

static void broken(stdout_output *s, int err)
{
    __atomic_store_n(&s->out.failed, err ? err : EIO, __ATOMIC_RELAXED);
}

static void stdout_write(dw_out *out, const char *line, size_t len)
{
    stdout_output *s = (stdout_output *)out;
    pthread_mutex_lock(&s->mu);
    if (!s->out.failed && fwrite(line, 1, len, s->f) != len)
        broken(s, errno);
    pthread_mutex_unlock(&s->mu);
}

static void stdout_flush(dw_out *out)
{
    stdout_output *s = (stdout_output *)out;
    pthread_mutex_lock(&s->mu);
    if (!s->out.failed && fflush(s->f) != 0)
        broken(s, errno);
    pthread_mutex_unlock(&s->mu);
}

/* The lines written stay where they are: nothing is counted lost here (a failed write
 * ends the run with its own message and status). */
static uint64_t stdout_close(dw_out *out, bool report)
{
    (void)report;
    stdout_output *s = (stdout_output *)out;
    pthread_mutex_destroy(&s->mu);
    free(s);
    return 0;
}

static const dw_out_ops stdout_ops = {stdout_write, stdout_flush, NULL, NULL, stdout_close};

int output_stdout_open(const dw_options *o, dw_diag_fn diag, void *diag_ctx, dw_out **out,
                       char *err, size_t errlen)
{
    (void)o;
    (void)diag; /* standard output has nothing to say: a failed write marks it broken */
    (void)diag_ctx;
    stdout_output *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->out.ops = &stdout_ops;
    s->f = stdout;
    pthread_mutex_init(&s->mu, NULL);
    /* One process writes one stdout: a static buffer, set before anything is written. */
    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    *out = &s->out;
    return 0;
}
