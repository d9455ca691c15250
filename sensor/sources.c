#include "sensor/sources.h"

#include <errno.h>
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
    if (!s->borrowed_rules)
        ruleset_free(s->rules);
    if (!s->borrowed_asn)
        asn_db_close(s->asn);
    free(s);
}

dw_sources *sources_with_asn(const dw_sources *prev, asn_db *asn)
{
    dw_sources *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rules = prev->rules;
    s->borrowed_rules = prev->rules != NULL;
    s->asn = asn;
    s->gen = prev->gen + 1;
    return s;
}

void sources_adopt(dw_sources *next, dw_sources *prev)
{
    if (next->borrowed_rules && next->rules == prev->rules && !prev->borrowed_rules) {
        prev->borrowed_rules = true;
        next->borrowed_rules = false;
    }
    if (next->borrowed_asn && next->asn == prev->asn && !prev->borrowed_asn) {
        prev->borrowed_asn = true;
        next->borrowed_asn = false;
    }
}

static int load(const dw_options *o, unsigned gen, const dw_sources *prev, sources_msg_fn fn,
                void *ctx, dw_sources **out, char *asn_err, size_t asn_errlen)
{
    dw_sources *s = calloc(1, sizeof *s);
    diag_ctx dc = {fn, ctx};
    int rc;
    if (!s) {
        say(fn, ctx, "<3>out of memory");
        return -ENOMEM;
    }
    s->gen = gen;
    bool asn_none = o->asn_db && strcmp(o->asn_db, "none") == 0;

    if (o->n_rule_paths == 0) {
        if (o->asn_db && !asn_none)
            say(fn, ctx, "--asn-db given without --rules: no rule will use it");
        *out = s;
        return 0;
    }
    rc = ruleset_load(o->rule_paths, o->n_rule_paths, time(NULL), on_diag, &dc, &s->rules);
    if (rc != 0) {
        say(fn, ctx, "<3>rules not loaded (fix the errors above; 'dnswatch check-rules' lists "
                     "them without running)");
        goto fail;
    }
    bool wants_asn = false;
    for (size_t i = 0; i < ruleset_count(s->rules); i++)
        if (ruleset_rule(s->rules, i)->n_asn)
            wants_asn = true;
    for (size_t i = 0; i < ruleset_allow_count(s->rules); i++)
        if (ruleset_allow(s->rules, i)->n_asn)
            wants_asn = true;
    if (asn_none) {
        if (wants_asn)
            say(fn, ctx, "<5>--asn-db none: ASN checks are off; prefix, CNAME, resolver and "
                         "rebinding checks still run");
    } else if (o->asn_db) {
        char err[512];
        rc = asn_db_open(o->asn_db, &s->asn, err, sizeof err);
        if (rc != 0) {
            if (!prev || !prev->asn) {
                say(fn, ctx, "<3>%s (or pass --asn-db none to run without ASN checks)", err);
                goto fail;
            }
            snprintf(asn_err, asn_errlen, "%s", err);
            s->asn = prev->asn;
            s->borrowed_asn = true;
        }
    } else if (wants_asn) {
        say(fn, ctx, "<3>the rules expect ASNs but no ASN database was given: pass --asn-db "
                     "FILE.mmdb (GeoLite2-ASN layout), or --asn-db none to run without ASN "
                     "checks");
        rc = -EINVAL;
        goto fail;
    }
    say(fn, ctx, "<6>%zu rules loaded, ruleset %s%s", ruleset_count(s->rules), ruleset_hash(s->rules),
        s->asn ? "" : ", ASN checks off");
    *out = s;
    return 0;
fail:
    sources_free(s);
    return rc;
}

int sources_load(const dw_options *o, unsigned gen, sources_msg_fn fn, void *ctx,
                 dw_sources **out)
{
    return load(o, gen, NULL, fn, ctx, out, NULL, 0);
}

int sources_reload(const dw_options *o, const dw_sources *prev, sources_msg_fn fn, void *ctx,
                   dw_sources **out, char *asn_err, size_t asn_errlen)
{
    if (asn_errlen)
        asn_err[0] = '\0';
    return load(o, prev->gen + 1, prev, fn, ctx, out, asn_err, asn_errlen);
}
