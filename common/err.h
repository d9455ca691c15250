/* The error convention (STYLE.md rule 3), for every room:
 *   - a fallible call returns 0 on success (or a count or length, >= 0, where it says so)
 *     and a negative errno-style code on failure, never a bool or a bare -1;
 *   - its declaration carries DW_MUST_USE, so a failure cannot be dropped unread;
 *   - its message goes to the caller, never to stderr: into an err buffer the caller
 *     passes (char *err, size_t errlen: one line, no newline), or through the one
 *     diagnostic callback the caller gave it. Only the command-line layer (sensor/main.c,
 *     run.c, consume.c, the check-* front-ends) prints. */
#ifndef DW_COMMON_ERR_H
#define DW_COMMON_ERR_H

#define DW_MUST_USE __attribute__((warn_unused_result))

/* The one diagnostic callback: a library that reports more than one line, or reports
 * while it runs (a thread of its own), says each line through this. One line, without
 * the program name or a newline; the caller decides where it goes (the sensor's top level
 * prints "dnswatch: LINE" on stderr). */
typedef void (*dw_diag_fn)(void *ctx, const char *line);

#endif
