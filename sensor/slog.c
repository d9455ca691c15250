#include "sensor/slog.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *slog_prog = "dnswatch";
static bool slog_to_journal;
static volatile int slog_max = SLOG_INFO;

/* $JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected stdout/stderr to; it
 * is inherited by children whose stderr may be something else, so compare. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void slog_init(const char *prog)
{
    slog_prog = prog;
    slog_to_journal = stderr_is_journal();
}

void slog_set_level(enum slog_level level) { slog_max = (int)level; }
enum slog_level slog_get_level(void) { return (enum slog_level)slog_max; }
bool slog_journal(void) { return slog_to_journal; }

const char *slog_level_name(enum slog_level level)
{
    switch (level) {
    case SLOG_ERR: return "error";
    case SLOG_WARNING: return "warning";
    case SLOG_NOTICE: return "notice";
    case SLOG_INFO: return "info";
    case SLOG_DEBUG: return "debug";
    }
    return "info";
}

static void put_line(enum slog_level level, const char *text)
{
    if ((int)level > slog_max)
        return;
    char line[2048];
    int n;
    if (slog_to_journal)
        n = snprintf(line, sizeof line, "<%d>%s: %s: %s", (int)level, slog_prog,
                     slog_level_name(level), text);
    else
        n = snprintf(line, sizeof line, "%s: %s: %s", slog_prog, slog_level_name(level), text);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof line ? sizeof line - 2 : (size_t)n;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}

void slog(enum slog_level level, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    if ((int)level > slog_max)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    put_line(level, text);
}

const char *slog_text(const char *line)
{
    if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>')
        return line + 3;
    return line;
}

void slog_msg(enum slog_level def, const char *line)
{
    enum slog_level level = def;
    if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
        int n = line[1] - '0';
        level = n < SLOG_ERR ? SLOG_ERR : (enum slog_level)n;
        line += 3;
    } else if (strstr(line, ": error: ")) {
        level = SLOG_ERR;
    } else if (strstr(line, ": warning: ")) {
        level = SLOG_WARNING;
    }
    put_line(level, line);
}
