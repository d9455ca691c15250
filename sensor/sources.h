/* What the workers judge responses with: the ruleset and the ASN database, loaded
 * together and replaced together on reload (SIGHUP). A sources object is immutable;
 * a reload builds a new one aside and the pipeline swaps one pointer. */
#ifndef DW_SOURCES_H
#define DW_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "rules/asn.h"
#include "rules/ruleset.h"
#include "sensor/options.h"

typedef struct dw_sources {
    ruleset *rules;     /* NULL: no rules */
    asn_db *asn;        /* NULL: ASN checks off */
    unsigned gen;       /* 1 for the first load, +1 per successful reload */
    /* A part borrowed from the sources this one replaces (an ASN database swapped under
     * unchanged rules, or kept under new rules): not freed with this object until
     * sources_adopt() moves its ownership here. */
    bool borrowed_rules, borrowed_asn;
} dw_sources;

/* Called for each diagnostic line (rule errors, database errors), without newline: the
 * one diagnostic callback of common/err.h. */
typedef dw_diag_fn sources_msg_fn;

/* Loads rules and ASN database as the options say. The database is required when a rule
 * expects ASNs, unless asn_db is "none": ASN checks are never off silently. Returns 0,
 * or a negative errno after reporting every problem through fn (-EINVAL: the rules or
 * the options are wrong; -ENOMEM; what reading a file or the database failed with). */
DW_MUST_USE
int sources_load(const dw_options *o, unsigned gen, sources_msg_fn fn, void *ctx,
                 dw_sources **out);

/* SIGHUP: sources_load for a running sensor. When the rules load but the ASN database
 * does not, the new rules keep prev's database (borrowed) and asn_err says why (empty
 * when the database loaded): a broken database file is not a rules failure. Returns 0, or
 * a negative errno as sources_load when the rules did not load (reported through fn). */
DW_MUST_USE
int sources_reload(const dw_options *o, const dw_sources *prev, sources_msg_fn fn, void *ctx,
                   dw_sources **out, char *asn_err, size_t asn_errlen);

/* A copy of prev with another ASN database (owned) and prev's rules (borrowed), for a
 * database file that changed. NULL when out of memory. */
dw_sources *sources_with_asn(const dw_sources *prev, asn_db *asn);

/* Once next has replaced prev: what next borrowed from prev becomes next's, so that
 * freeing prev (after every worker has moved on) leaves it alone. */
void sources_adopt(dw_sources *next, dw_sources *prev);
void sources_free(dw_sources *s); /* accepts NULL */

#endif
