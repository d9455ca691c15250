/* What the workers judge responses with: the ruleset and the ASN database, loaded
 * together and replaced together on reload (SIGHUP). A sources object is immutable;
 * a reload builds a new one aside and the pipeline swaps one pointer. */
#ifndef DW_SOURCES_H
#define DW_SOURCES_H

#include <stddef.h>

#include "rules/asn.h"
#include "rules/ruleset.h"
#include "sensor/options.h"

typedef struct dw_sources {
    ruleset *rules;     /* NULL: no rules */
    asn_db *asn;        /* NULL: ASN checks off */
    unsigned gen;       /* 1 for the first load, +1 per successful reload */
} dw_sources;

/* Called for each diagnostic line (rule errors, database errors), without newline. */
typedef void (*sources_msg_fn)(void *ctx, const char *line);

/* Loads rules and ASN database as the options say. The database is required when a rule
 * expects ASNs, unless asn_db is "none": ASN checks are never off silently. Returns 0,
 * or -1 after reporting every problem through fn. */
int sources_load(const dw_options *o, unsigned gen, sources_msg_fn fn, void *ctx,
                 dw_sources **out);
void sources_free(dw_sources *s); /* accepts NULL */

#endif
