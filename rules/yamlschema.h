/* The YAML schema and diagnostics layer shared by the rule loader (rules/ruleset.c) and
 * the config loader (sensor/config.c): reading a file, parsing it into documents, walking
 * a mapping against a table of keys ("unknown key ...; did you mean ..."), typed scalars,
 * and "file:line:col" messages held back and handed out in file order.
 *
 * Null: a plain scalar spelled as YAML's null ("key:" with nothing after it, ~, null) is
 * "nothing" everywhere in this layer. Where text is wanted (ys_text and every typed
 * scalar) nothing is an error "found nothing", never the text "~" or "null". Whether a key
 * written without a value means "absent" is the schema's choice (ys_map.null_is_absent):
 * the config file documents that it keeps the default; a rule's keys are judged as
 * written.
 *
 * Ownership: a ys_ctx holds its diagnostics until ys_flush(); the texts of the document
 * belong to the caller's yaml_document_t. */
#ifndef DW_YAMLSCHEMA_H
#define DW_YAMLSCHEMA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "rules/ruleset.h"
#include "rules/yamlnode.h"

#define YS_MAX_ID 64

/* ---- diagnostics ---------------------------------------------------------------------- */

struct ys_pending {
    ruleset_diag d;
    size_t file, seq;
    char id[YS_MAX_ID + 8];
};

/* The messages of one load and where the walker stands. Zero it, set max_diags (and
 * budget_max for a document budget; 0 = none), then use. */
typedef struct ys_ctx {
    struct ys_pending *diags;
    size_t n_diags, cap_diags, max_diags, dropped;
    unsigned errors, warnings;
    bool oom;
    /* the document being read */
    yaml_document_t *doc;
    size_t file;        /* index handed back to ys_flush's path callback */
    const char *id;     /* the rule messages are about, or NULL */
    size_t budget, budget_max;
    bool over_budget;
} ys_ctx;

void ys_vdiag_at(ys_ctx *Y, bool err, size_t file, unsigned line, unsigned col, const char *id,
                 const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));
void ys_diag_at(ys_ctx *Y, bool err, size_t file, unsigned line, unsigned col, const char *id,
                const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* At node n of the current document, about the current id. */
void ys_diag(ys_ctx *Y, bool err, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sorts the messages by file, line, column (ties: the order found), gives each to fn
 * (may be NULL) with file set by path_of(ctx, index), then one "N more diagnostics not
 * shown" line (at file index 0) if any were dropped; frees them. */
void ys_flush(ys_ctx *Y, const char *(*path_of)(const void *pctx, size_t file),
              const void *pctx, ruleset_diag_fn fn, void *ctx);
void ys_free(ys_ctx *Y);

/* Counts n units of work on the current document; false (and one error at n) once the
 * budget is spent. Always true without a budget. */
bool ys_spend(ys_ctx *Y, const yaml_node_t *n, size_t units);

/* ---- files ---------------------------------------------------------------------------- */

enum ys_read_stage { YS_READ_OK = 0, YS_READ_OPEN, YS_READ_TYPE, YS_READ_IO, YS_READ_BIG };

/* Reads the regular file, FIFO or character device at path, at most max bytes. Returns 0
 * and sets *data (malloc'd, the caller frees) and *len; -ENOMEM; or a negative errno code
 * with *stage saying where it failed (YS_READ_TYPE: -EISDIR for a directory, -EINVAL for
 * anything else; YS_READ_BIG: -EFBIG). */
int ys_read_file(const char *path, size_t max, unsigned char **data, size_t *len,
                 enum ys_read_stage *stage) __attribute__((warn_unused_result));

/* A YAML syntax error, kept to be reported later (files may be parsed on other threads).
 * The texts are libyaml's static strings. */
typedef struct ys_syntax {
    bool set;
    unsigned line, col, ctx_line;
    const char *problem, *context;
} ys_syntax;

/* Fills s from the parser's error; data/len are the input (the reader reports a byte
 * offset only, turned into line and column here). */
void ys_syntax_from(ys_syntax *s, const yaml_parser_t *p, const unsigned char *data, size_t len);
/* "YAML syntax error: PROBLEM[ (CONTEXT at line N)]" at its place in file. */
void ys_syntax_report(ys_ctx *Y, size_t file, const ys_syntax *s);

/* ---- mappings against a schema ------------------------------------------------------- */

/* One mapping a file may hold. */
typedef struct ys_section {
    const char *name;   /* "" = the top level of the config; "rule", "match", "redis" ... */
    const char *here;   /* where its keys are, in "unknown key "x" HERE": "in match" */
    const char *there;  /* "it belongs THERE" / "did you mean "x" (THERE)?" */
    const char *const *keys;
    size_t n;
    /* Keys suggested when written in another section; NULL: keys. */
    const char *const *hint_keys;
    size_t n_hint;
} ys_section;

/* Another spelling people write for a key of a section. */
typedef struct ys_alias {
    const char *alias, *key, *section;
} ys_alias;

typedef struct ys_schema {
    const ys_section *sections;
    size_t n_sections;
    const ys_alias *aliases;
    size_t n_aliases;
    /* "duplicate key "x" in SECTION; ..." (true) or "duplicate key "x"; ..." */
    bool dup_names_section;
    /* A key written without a value is as if absent (its default holds). */
    bool null_is_absent;
    /* Called first for an unknown key; true when it reported it. May be NULL. */
    bool (*unknown_hook)(ys_ctx *Y, const yaml_node_t *k, const ys_section *sec);
} ys_schema;

#define YS_MAX_KEYS 24

/* The section of schema named name (must exist). */
const ys_section *ys_section_of(const ys_schema *S, const char *name);

/* Fills vals[i] with the value of sec->keys[i] (NULL if absent; also if null when the
 * schema says so), reporting unknown, duplicate and non-text keys (each key spends one
 * unit of the budget). sec->n <= YS_MAX_KEYS. */
void ys_map_get(ys_ctx *Y, const ys_schema *S, const ys_section *sec, const yaml_node_t *map,
                yaml_node_t **vals);

/* "unknown key "x" HERE; did you mean ..." with the best hint the schema allows. */
void ys_unknown_key(ys_ctx *Y, const ys_schema *S, const ys_section *sec, const yaml_node_t *k);

/* ---- typed values --------------------------------------------------------------------- */

/* Text of a scalar, or NULL after reporting what was found instead (nothing included). */
const char *ys_text(ys_ctx *Y, const yaml_node_t *n, const char *what);
/* The same, refusing "" too ("must not be empty"). */
const char *ys_text_nonempty(ys_ctx *Y, const yaml_node_t *n, const char *what);

/* True for a list; false, silently, for nothing (an empty list); false with an error for
 * anything else. */
bool ys_list(ys_ctx *Y, const yaml_node_t *n, const char *what);
/* True for a mapping; false, silently, for nothing; false with an error otherwise. */
bool ys_map(ys_ctx *Y, const yaml_node_t *n, const char *what);

/* The index of the text among names, or -1 after "bad WHAT "x"; did you mean ...? (valid:
 * ...)". fold_case: compared without case. */
int ys_enum(ys_ctx *Y, const yaml_node_t *n, const char *what, const char *const *names,
            size_t nn, bool fold_case);

/* The same rules on text: digits only, within [lo, hi]; a size. *out set on success. */
bool ys_parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
bool ys_parse_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* Digits only, within [lo, hi]. */
bool ys_uint(ys_ctx *Y, const yaml_node_t *n, const char *what, uint64_t lo, uint64_t hi,
             uint64_t *out);
/* A byte count: digits, optionally followed by K, M, G or T (powers of 1024; "KiB", "KB"
 * and "k" mean the same), within [lo, hi]. */
bool ys_size(ys_ctx *Y, const yaml_node_t *n, const char *what, uint64_t lo, uint64_t hi,
             uint64_t *out);
/* true/false, yes/no, on/off (any case). */
bool ys_bool(ys_ctx *Y, const yaml_node_t *n, const char *what, bool *out);

#endif
