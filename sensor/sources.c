#include "sensor/sources.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct diag_ctx {
    sources_msg_fn fn;
    void *ctx;
} diag_ctx;

static void on_diag(void *ctx, const ruleset_diag *d)
{
    const diag_ctx *dc = ctx;
    char line[1024];
    ruleset_diag_format(d, line, sizeof line);
    dc->fn(dc->ctx, line);
}

__attribute__((format(printf, 3, 4))) static void say(sources_msg_fn fn, void *ctx, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fn(ctx, line);
}

void sources_free(dw_sources *s)
{
    if (!s)
        return;
    ruleset_free(s->rules);
    asn_db_close(s->asn);
    free(s);
}

int sources_load(const dw_options *o, unsigned gen, sources_msg_fn fn, void *ctx,
                 dw_sources **out)
{
    dw_sources *s = calloc(1, sizeof *s);
    diag_ctx dc = {fn, ctx};
    if (!s) {
        say(fn, ctx, "out of memory");
        return -1;
    }
    s->gen = gen;
    bool asn_none = o->asn_db && strcmp(o->asn_db, "none") == 0;

    if (o->n_rule_paths == 0) {
        if (o->asn_db && !asn_none)
            say(fn, ctx, "--asn-db given without --rules: no rule will use it");
        *out = s;
        return 0;
    }
    if (ruleset_load(o->rule_paths, o->n_rule_paths, time(NULL), on_diag, &dc, &s->rules) != 0) {
        say(fn, ctx, "rules not loaded (fix the errors above; 'dnswatch check-rules' lists "
                     "them without running)");
        goto fail;
    }
    bool wants_asn = false;
    for (size_t i = 0; i < ruleset_count(s->rules); i++)
        if (ruleset_rule(s->rules, i)->n_asn)
            wants_asn = true;
    if (asn_none) {
        if (wants_asn)
            say(fn, ctx, "--asn-db none: ASN checks are off; prefix, CNAME, resolver and "
                         "rebinding checks still run");
    } else if (o->asn_db) {
        char err[512];
        if (asn_db_open(o->asn_db, &s->asn, err, sizeof err) != 0) {
            say(fn, ctx, "%s (or pass --asn-db none to run without ASN checks)", err);
            goto fail;
        }
    } else if (wants_asn) {
        say(fn, ctx, "the rules expect ASNs but no ASN database was given: pass --asn-db "
                     "FILE.mmdb (GeoLite2-ASN layout), or --asn-db none to run without ASN "
                     "checks");
        goto fail;
    }
    say(fn, ctx, "%zu rules loaded, ruleset %s%s", ruleset_count(s->rules), ruleset_hash(s->rules),
        s->asn ? "" : ", ASN checks off");
    *out = s;
    return 0;
fail:
    sources_free(s);
    return -1;
}
