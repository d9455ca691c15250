#include "decoders/counters.h"

#include <inttypes.h>

static const char *const counter_names[DW_C__COUNT] = {
#define DW_COUNTER_NAME(name, text) #name,
    DW_COUNTER_LIST(DW_COUNTER_NAME)
#undef DW_COUNTER_NAME
};

static const char *const counter_texts[DW_C__COUNT] = {
#define DW_COUNTER_TEXT(name, text) text,
    DW_COUNTER_LIST(DW_COUNTER_TEXT)
#undef DW_COUNTER_TEXT
};

const char *dw_counter_name(enum dw_counter_id id)
{
    return (unsigned)id < DW_C__COUNT ? counter_names[id] : NULL;
}

const char *dw_counter_text(enum dw_counter_id id)
{
    return (unsigned)id < DW_C__COUNT ? counter_texts[id] : NULL;
}

void dw_counters_snapshot(dw_counters *dst, const dw_counters *src)
{
    for (unsigned i = 0; i < DW_C__COUNT; i++)
        dst->v[i] = __atomic_load_n(&src->v[i], __ATOMIC_RELAXED);
}

void dw_counters_add(dw_counters *dst, const dw_counters *src)
{
    for (unsigned i = 0; i < DW_C__COUNT; i++)
        dst->v[i] += src->v[i];
}

void dw_counters_print(const dw_counters *c, FILE *out)
{
    for (unsigned i = 0; i < DW_C__COUNT; i++)
        if (c->v[i])
            fprintf(out, "dnswatch: %s: %" PRIu64 "\n", counter_texts[i], c->v[i]);
}
