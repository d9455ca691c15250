/* The sensor's own messages on stderr: one line per event, each with its severity.
 *
 *   dnswatch: warning: Redis at 127.0.0.1:6379: Connection refused; spooling to ...
 *
 * Under systemd (stderr is the journal stream named by $JOURNAL_STREAM) each line starts
 * with the sd-daemon priority prefix "<N>" instead (N: syslog level, 3 err ... 7 debug),
 * which journald turns into the entry's priority; the rest of the line is the same text.
 * Lines below the configured level (slog_set_level: --quiet, --verbose, log_level) are not
 * written. The wording of a line is part of the interface: tests and operators grep it.
 *
 * Thread-safe: a line is one fputs of a stdio stream, which locks it. */
#ifndef DW_SLOG_H
#define DW_SLOG_H

#include <stdbool.h>
#include <stdio.h>

/* syslog(3) numbering, the one sd-daemon prefixes use. */
enum slog_level {
    SLOG_ERR = 3,
    SLOG_WARNING = 4,
    SLOG_NOTICE = 5,
    SLOG_INFO = 6,
    SLOG_DEBUG = 7,
};

/* The program name that starts each line ("dnswatch", "dnswatch consume"), and whether
 * stderr is the journal: call once at start, before any thread. */
void slog_init(const char *prog);

/* Lines above (less severe than) level are dropped. Default SLOG_INFO. */
void slog_set_level(enum slog_level level);
enum slog_level slog_get_level(void);

/* True when stderr is the journal stream (JOURNAL_STREAM matches fd 2). */
bool slog_journal(void);

/* line without a leading "<N>" level mark (see slog_msg). */
const char *slog_text(const char *line);

/* "err", "warning", "notice", "info", "debug". */
const char *slog_level_name(enum slog_level level);

/* One line: prog, severity, the text. A newline inside the text is written as a space,
 * so one call is always one line. */
__attribute__((format(printf, 2, 3))) void slog(enum slog_level level, const char *fmt, ...);

/* A message line from a module that has no severity of its own to give (the diag
 * callbacks of the rule loader and the publisher): its level is read from a leading
 * "<N>" if it has one (removed), else from an "error:"/"warning:" inside it (the rule
 * linters' file:line:col lines), else it is def. */
void slog_msg(enum slog_level def, const char *line);

#endif
