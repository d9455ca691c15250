/* The outputs the sensor knows, by --output value. */
#include "sensor/output.h"

#include <errno.h>
#include <stdio.h>

static const struct {
    enum dw_output kind;
    int (*open)(const dw_options *o, dw_diag_fn diag, void *diag_ctx, dw_out **out, char *err,
                size_t errlen);
} outputs[] = {
    {DW_OUT_STDOUT, output_stdout_open},
    {DW_OUT_REDIS, output_redis_open},
};

int dw_out_open(const dw_options *o, dw_diag_fn diag, void *diag_ctx, dw_out **out, char *err,
                size_t errlen)
{
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++)
        if (outputs[i].kind == o->output)
            return outputs[i].open(o, diag, diag_ctx, out, err, errlen);
    snprintf(err, errlen, "output %d is not built in", (int)o->output);
    return -EINVAL;
}
