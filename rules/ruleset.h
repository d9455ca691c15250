/* Rule files (DESIGN.md "Rule files") compiled into an immutable ruleset, with the
 * diagnostics `dnswatch check-rules` (sensor/check.h) prints.
 *
 * A ruleset is built whole by ruleset_load() and never changed afterwards: worker threads
 * share it read-only, and a reload builds a new one aside and swaps the pointer. Every
 * pointer reachable from a ruleset (rules, strings, sets) stays valid until ruleset_free().
 *
 * Keys beyond DESIGN.md's example (all optional):
 *   rebinding: {sinkhole: sinkhole | rebinding | allow}
 *       what a 0.0.0.0 or :: answer is: a `sinkhole` finding (the default), a `rebinding`
 *       finding, or nothing. rebinding.check: false turns off both.
 *   exceptions: [{prefixes: [...], names: [...], reason: "...", expires: YYYY-MM-DD}]
 *       prefixes and/or names (at least one); with both, an address is excused only for
 *       those names. The exception holds through the whole `expires` day (UTC).
 * Defaults: title = id, severity = medium, rebinding.check = true, no ttl/dnssec check.
 * Set references ("set:NAME") are accepted in expect.asn (asn sets), and in
 * expect.prefixes, expect.resolvers, rebinding.allow and exception prefixes (prefix sets).
 * A bare address in a prefix list is a host prefix (/32 or /128). */
#ifndef DW_RULESET_H
#define DW_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "rules/nameset.h"
#include "rules/prefixset.h"

typedef struct ruleset ruleset;

enum dw_severity { DW_SEV_LOW = 0, DW_SEV_MEDIUM, DW_SEV_HIGH, DW_SEV_CRITICAL };
enum dw_dnssec_expect { DW_DNSSEC_UNKNOWN = 0, DW_DNSSEC_SIGNED, DW_DNSSEC_UNSIGNED };
/* status: enabled (the default); disabled: loaded and linted, never evaluated (its names
 * are left out of the ruleset's name set); test: evaluated, its alerts at low severity and
 * tagged "test" (the loader sets severity, score and tags accordingly). */
enum dw_rule_status { DW_RULE_ENABLED = 0, DW_RULE_DISABLED, DW_RULE_TEST };
enum dw_sinkhole_mode {
    DW_SINKHOLE_REPORT = 0,      /* 0.0.0.0 / :: -> violation "sinkhole" */
    DW_SINKHOLE_AS_REBINDING,    /* -> violation "rebinding" */
    DW_SINKHOLE_ALLOW,           /* not reported */
};

/* A list of NUL-terminated strings (n == 0: v may be NULL). */
typedef struct dw_strlist {
    const char *const *v;
    size_t n;
} dw_strlist;

typedef struct dw_exception {
    const prefixset *prefixes; /* NULL: any address (then names is set) */
    dw_strlist prefixes_text;  /* masked, set references expanded */
    const nameset *names;      /* NULL: every name the rule matches */
    const char *reason;
    char expires_text[11];     /* "YYYY-MM-DD" as written */
    time_t expires;            /* first second after the expiry day (UTC): live while now < expires */
    unsigned line;             /* of the exception in rule->file */
} dw_exception;

/* A "not set" list or set is NULL / n == 0, unless said otherwise. */
typedef struct dw_rule {
    const char *id;
    const char *title;
    enum dw_severity severity;
    uint8_t score;              /* ECS event.severity: 21, 47, 73, 99 */
    dw_strlist tags;

    dw_strlist names;           /* match.names, normalised (lower case, no trailing dot) */
    const nameset *except;      /* match.except; NULL: none */
    dw_strlist except_text;

    /* cname.allowed_targets. NULL: the CNAME chain is not checked. Non-NULL but empty
     * (allowed_targets: []): any CNAME is unexpected. */
    const nameset *cname_allowed;
    dw_strlist cname_allowed_text;

    const uint32_t *asn;        /* expect.asn, set references expanded, no duplicates */
    size_t n_asn;
    const prefixset *prefixes;  /* expect.prefixes; an address passes if in asn OR prefixes */
    dw_strlist prefixes_text;
    const prefixset *resolvers; /* expect.resolvers: NULL = any server is fine */
    dw_strlist resolvers_text;

    enum dw_dnssec_expect dnssec;
    uint32_t ttl_max;           /* 0: not checked */

    bool rebind_check;          /* default true */
    enum dw_sinkhole_mode sinkhole;
    const prefixset *rebind_allow;
    dw_strlist rebind_allow_text;

    const dw_exception *exceptions; /* live ones only: expired ones are dropped at load */
    size_t n_exceptions;

    const char *file;           /* the file as given to ruleset_load (joined for dirs) */
    unsigned line;              /* first line of the rule's document */

    /* Metadata, for alerts and reviewers (docs/rule-format.md); NULL / 0 when not written. */
    const char *description;
    const char **references;    /* http(s) URLs, checked at load */
    unsigned n_references;
    const char *author;
    unsigned version;           /* 1 or more; 0: not written */
    enum dw_rule_status status;
} dw_rule;

/* One entry of an allow document (DESIGN.md "Allow documents and rule metadata"): an
 * address it covers is not a finding of the rules it applies to, like a rule's exception,
 * but written once for every rule. An address is covered when it is in prefixes or in an
 * AS of asn (either, when both are given; any address when neither is), and, when names is
 * set, a name of the address's own chain (the question and the CNAME/DNAME chain leading
 * to the record that holds it) matches one of them. */
typedef struct dw_allow {
    const nameset *names;       /* NULL: any name */
    dw_strlist names_text;
    const prefixset *prefixes;  /* NULL: none listed */
    dw_strlist prefixes_text;
    const uint32_t *asn;        /* sorted, no duplicates */
    size_t n_asn;
    const uint32_t *rules;      /* indexes of the rules it applies to, sorted; n_rules 0: every rule */
    size_t n_rules;
    dw_strlist rules_text;      /* the ids as written */
    const char *reason;
    char expires_text[11];
    time_t expires;             /* as dw_exception.expires */
    const char *file;
    unsigned line;
} dw_allow;

/* One diagnostic. file and rule_id are valid only during the callback. line/col are
 * 1-based; 0 when the message is about the whole file (I/O). rule_id is NULL when the
 * message is not about one rule (sets, syntax before the id, I/O). */
typedef struct ruleset_diag {
    const char *file;
    unsigned line, col;
    bool is_error;
    const char *rule_id;
    char msg[384];
} ruleset_diag;

typedef void (*ruleset_diag_fn)(void *ctx, const ruleset_diag *d);

/* Loads rule files. paths: files, or directories (their *.yaml and *.yml regular files,
 * byte-wise name order, not recursive). now: the time exceptions are judged against.
 * Every diagnostic goes to fn (may be NULL), sorted by file (load order), line, column.
 * Returns 0 (warnings allowed) and sets *out; -EINVAL if any rule error; a negative errno
 * code if a file or directory could not be read (also reported through fn); -ENOMEM.
 * On any failure *out is untouched and nothing is kept. */
int ruleset_load(const char *const *paths, size_t n, time_t now, ruleset_diag_fn fn,
                 void *ctx, ruleset **out) __attribute__((warn_unused_result));
void ruleset_free(ruleset *rs); /* accepts NULL */

/* Packs of at least this many bytes in all are parsed on two threads (libyaml is most of
 * a big pack's load time). Set only by tests, before any load, to hold the threaded and
 * the sequential load to the same diagnostics and hash. */
extern size_t ruleset_parallel_bytes;

size_t ruleset_count(const ruleset *rs);
const dw_rule *ruleset_rule(const ruleset *rs, size_t i);

/* The live entries of the allow documents, in file order (expired ones are dropped at
 * load with a warning; one that expires later is checked at each judgement). */
size_t ruleset_allow_count(const ruleset *rs);
const dw_allow *ruleset_allow(const ruleset *rs, size_t i);

/* "sha256:<64 hex>" over, for each loaded file in load order, its length in decimal,
 * '\n', then its bytes. Independent of the paths, so moving the files keeps the hash. */
const char *ruleset_hash(const ruleset *rs);
#define RULESET_HASH_TEXT_MAX (sizeof "sha256:" + 64) /* its text, NUL included */

/* Rule ids have no length limit; where one is copied into a fixed buffer (fold windows,
 * shed classes, cached alert members) it is cut to this size, NUL included. */
#define RULE_ID_COPY_MAX 128

/* Every match.names pattern of every rule, valued by rule index; each (pattern, rule)
 * once. One nameset_match() call per name (question or CNAME chain member) yields the
 * candidate rules; a candidate still applies only if rule->except does not contain the
 * name. */
const nameset *ruleset_names(const ruleset *rs);

/* What the rules watch for poisoning (DESIGN.md "Tracking": a rule watches its names and
 * every name below them), valued by rule index: for each match.names pattern N, N and
 * "*.N"; for "*.S", S (the apex whose NS and SOA records control every name below it)
 * and "*.S". A catch-all "*" watches nothing: it judges addresses, and would otherwise
 * make every glue record of every response a finding. A (pattern, rule) pair may be
 * listed twice (pypi.org and *.pypi.org both add *.pypi.org). The rule's match.except
 * still applies to a name found here. */
const nameset *ruleset_watch(const ruleset *rs);

/* "YYYY-MM-DD", as an exception's `expires` is written (a real day, 1970 or later), to the
 * first second of that day, UTC. Returns 0, or -EINVAL and leaves *start alone. */
int ruleset_parse_day(const char *s, time_t *start) __attribute__((warn_unused_result));

/* "file:line:col: error: [id] text" (": [id]" omitted when rule_id is NULL, ":line:col"
 * omitted when line is 0) into buf, NUL-terminated, truncated to len. */
void ruleset_diag_format(const ruleset_diag *d, char *buf, size_t len);

#endif
