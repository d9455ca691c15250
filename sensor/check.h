/* The linters' command-line front ends: `dnswatch check-rules PATH...` and `dnswatch
 * check-config [FILE]`. Each loads what `run` would load, through the same loader, and
 * prints every diagnostic in the format of ruleset_diag_format(). */
#ifndef DW_CHECK_H
#define DW_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* check-rules: loads paths, prints every diagnostic (one line each) to out, and a last
 * line "N rules, E errors, W warnings, ruleset HASH" to summary when non-NULL. Returns
 * the exit status: 0 valid (warnings allowed), 1 any error. */
int check_rules(const char *const *paths, size_t n, time_t now, FILE *out, FILE *summary);

/* The same, in a chosen format. CHECK_JSON writes one JSON document to out instead of the
 * lines: {"schema":1,"diagnostics":[{file, line, column, severity, rule_id, message,
 * fix}...],"errors","warnings","valid","rules","ruleset"} (docs/rule-format.md); the
 * summary line and the exit status are the same. */
enum check_format { CHECK_TEXT = 0, CHECK_JSON };
int check_rules_fmt(const char *const *paths, size_t n, time_t now, enum check_format fmt,
                    FILE *out, FILE *summary);

/* check-config (argv[0] is "check-config"; default DW_CONFIG_DEFAULT): prints every
 * diagnostic to stdout, a summary line to stderr. Returns the exit status: 0 valid
 * (warnings allowed), 1 errors, 2 usage error. */
int check_config_main(int argc, char **argv);

#endif
