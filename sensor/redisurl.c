#include "sensor/redisurl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>

#include "common/num.h"

#define FORMS "(use redis://[user@]host[:port][/db] or unix://[user@]/path[?db=N])"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
                                                      const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Digits only, no sign, no leading junk, value <= hi. */
static int parse_num(const char *s, size_t n, unsigned long hi, unsigned *out)
{
    uint64_t v;
    if (num_parse_u64n(s, n, 0, hi, &v) != 0)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

static bool v6_char(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
           c == ':' || c == '.';
}

static bool user_char(char c)
{
    /* Printable ASCII without the URL delimiters; ACL user names are usually plain. */
    return c > ' ' && c < 0x7f && c != '@' && c != ':' && c != '/' && c != '?' && c != '#' &&
           c != '[' && c != ']';
}

/* "user@" at the start of s, if any: copies the user and returns the rest. */
static int parse_user(const char *url, const char **s, redis_url *u, char *err, size_t errlen)
{
    const char *p = *s;
    const char *at = NULL;
    for (const char *q = p; *q && *q != '/' && *q != '?'; q++)
        if (*q == '@') {
            at = q;
            break;
        }
    if (!at)
        return 0;
    for (const char *q = p; q < at; q++)
        if (*q == ':')
            return fail(err, errlen,
                        "redis URL '%.200s': a password does not belong in the URL (it would show "
                        "in the process list); put it in redis.password_file or $%s",
                        url, REDISURL_PASSWORD_ENV);
    size_t n = (size_t)(at - p);
    if (n == 0)
        return fail(err, errlen, "redis URL '%.200s': empty user name before '@' " FORMS, url);
    if (n >= sizeof u->user)
        return fail(err, errlen, "redis URL '%.200s': user name longer than %zu characters", url,
                    sizeof u->user - 1);
    for (size_t i = 0; i < n; i++)
        if (!user_char(p[i]))
            return fail(err, errlen,
                        "redis URL '%.200s': character 0x%02x is not allowed in a user name", url,
                        (unsigned char)p[i]);
    memcpy(u->user, p, n);
    u->user[n] = '\0';
    *s = at + 1;
    return 0;
}

static int parse_tcp(const char *url, const char *s, redis_url *u, char *err, size_t errlen)
{
    const char *h = s, *hend;
    if (*s == '[') {
        h = ++s;
        while (*s && *s != ']') {
            if (!v6_char(*s))
                return fail(err, errlen,
                            "redis URL '%.200s': '%c' is not allowed in a bracketed IPv6 address",
                            url, *s);
            s++;
        }
        if (*s != ']')
            return fail(err, errlen, "redis URL '%.200s': missing ']' after the IPv6 address", url);
        hend = s++;
    } else {
        while (host_char(*s))
            s++;
        hend = s;
    }
    size_t n = (size_t)(hend - h);
    if (n == 0)
        return fail(err, errlen, "redis URL '%.200s': no host " FORMS, url);
    if (n >= sizeof u->host)
        return fail(err, errlen, "redis URL '%.200s': host name too long", url);
    memcpy(u->host, h, n);
    u->host[n] = '\0';
    u->port = 6379;
    if (*s == ':') {
        const char *p = ++s;
        while (*s && *s != '/')
            s++;
        if (parse_num(p, (size_t)(s - p), 65535, &u->port) != 0 || u->port == 0)
            return fail(err, errlen, "redis URL '%.200s': the port must be a number 1-65535",
                        url);
    }
    if (*s == '/') {
        const char *p = ++s;
        while (*s >= '0' && *s <= '9')
            s++;
        if (s > p && parse_num(p, (size_t)(s - p), 65535, &u->db) != 0)
            return fail(err, errlen, "redis URL '%.200s': the database must be a number 0-65535",
                        url);
    }
    if (*s)
        return fail(err, errlen, "redis URL '%.200s': unexpected '%.40s' " FORMS, url,
                    strchr(s, '@') ? "***" : s); /* past an '@' may be a password */
    return 0;
}

static int parse_unix(const char *url, const char *s, redis_url *u, char *err, size_t errlen)
{
    if (*s != '/')
        return fail(err, errlen,
                    "redis URL '%.200s': a unix socket URL needs an absolute path, "
                    "like unix:///run/redis/redis.sock",
                    url);
    const char *q = strchr(s, '?');
    size_t n = q ? (size_t)(q - s) : strlen(s);
    if (n >= sizeof u->path)
        return fail(err, errlen, "redis URL '%.200s': socket path longer than %zu bytes", url,
                    sizeof u->path - 1);
    if (n == 1)
        return fail(err, errlen, "redis URL '%.200s': no socket path " FORMS, url);
    memcpy(u->path, s, n);
    u->path[n] = '\0';
    if (q) {
        if (strncmp(q, "?db=", 4) != 0 || parse_num(q + 4, strlen(q + 4), 65535, &u->db) != 0)
            return fail(err, errlen,
                        "redis URL '%.200s': the only query is ?db=N with N from 0 to 65535", url);
    }
    return 0;
}

/* The URL as messages show it: anything between the first ':' after the scheme and the
 * last '@' could be a password ("user:secret@", or one with a '/' in it that the parser
 * takes for a port or a path), so it is written as "***". Cut to fit buf. */
static void redact(const char *url, char *buf, size_t len)
{
    const char *rest = strstr(url, "://");
    rest = rest ? rest + 3 : url;
    const char *at = strrchr(rest, '@');
    const char *colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
    if (!colon)
        snprintf(buf, len, "%s", url);
    else
        snprintf(buf, len, "%.*s***%s", (int)(colon + 1 - url), url, at);
}

int redisurl_parse(const char *url_in, redis_url *out, char *err, size_t errlen)
{
    redis_url u;
    const char *s;
    int rc;
    char url[256]; /* the URL for messages, never with its password */

    const char *real = url_in ? url_in : REDISURL_DEFAULT;
    redact(real, url, sizeof url);
    memset(&u, 0, sizeof u);
    if (strncmp(real, "redis://", 8) == 0) {
        s = real + 8;
    } else if (strncmp(real, "unix://", 7) == 0) {
        s = real + 7;
        u.is_unix = true;
    } else if (strncmp(real, "rediss://", 9) == 0) {
        return fail(err, errlen,
                    "redis URL '%.200s': TLS (rediss://) is not supported; use a local "
                    "stunnel or a unix socket",
                    url);
    } else {
        return fail(err, errlen, "redis URL '%.200s': unknown scheme " FORMS, url);
    }
    rc = parse_user(url, &s, &u, err, errlen);
    if (rc == 0)
        rc = u.is_unix ? parse_unix(url, s, &u, err, errlen) : parse_tcp(url, s, &u, err, errlen);
    if (rc == 0)
        *out = u;
    return rc;
}

int redisurl_password(const char *password_file, char *buf, size_t len, char *err,
                      size_t errlen)
{
    if (len == 0)
        return -EINVAL;
    buf[0] = '\0';
    /* systemd's LoadCredential=redis-password:FILE (deploy/dnswatch.service): the file
     * appears in $CREDENTIALS_DIRECTORY, readable by the service alone. */
    char cred[4096];
    const char *cdir = getenv("CREDENTIALS_DIRECTORY");
    if (!password_file && cdir && *cdir &&
        (size_t)snprintf(cred, sizeof cred, "%s/%s", cdir, REDISURL_CREDENTIAL) < sizeof cred &&
        access(cred, F_OK) == 0)
        password_file = cred;
    if (!password_file) {
        const char *env = getenv(REDISURL_PASSWORD_ENV);
        if (env) {
            if (strlen(env) >= len)
                return fail(err, errlen, "$%s is longer than %zu bytes", REDISURL_PASSWORD_ENV,
                            len - 1);
            strcpy(buf, env);
        }
        return 0;
    }
    FILE *f = fopen(password_file, "r");
    if (!f) {
        int e = errno;
        fail(err, errlen, "cannot read the redis password file %s: %s", password_file,
             strerror(e));
        return -e;
    }
    int rc = 0;
    if (!fgets(buf, (int)len, f)) {
        buf[0] = '\0';
        if (ferror(f))
            rc = fail(err, errlen, "cannot read the redis password file %s", password_file);
    } else if (!strchr(buf, '\n') && !feof(f) && fgetc(f) != EOF) {
        rc = fail(err, errlen, "the first line of %s is longer than %zu bytes", password_file,
                  len - 2);
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    if (rc == 0 && !buf[0])
        rc = fail(err, errlen, "the redis password file %s is empty", password_file);
    if (rc != 0)
        memset(buf, 0, len);
    return rc;
}

void redisurl_describe(const redis_url *u, char *buf, size_t len)
{
    if (u->is_unix)
        snprintf(buf, len, "%s", u->path);
    else if (strchr(u->host, ':'))
        snprintf(buf, len, "[%s]:%u", u->host, u->port);
    else
        snprintf(buf, len, "%s:%u", u->host, u->port);
}

/* An error reply's text, or a description of an unexpected reply type. */
static const char *reply_text(const redisReply *r)
{
    if (!r)
        return "no reply";
    if (r->type == REDIS_REPLY_ERROR && r->str)
        return r->str;
    return "unexpected reply type";
}

static bool is_auth_error(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && r->str &&
           (strncmp(r->str, "WRONGPASS", 9) == 0 || strncmp(r->str, "NOAUTH", 6) == 0 ||
            strstr(r->str, "invalid password") || strstr(r->str, "invalid username"));
}

redisContext *redisurl_connect(const redis_url *u, const char *password, unsigned timeout_ms,
                               bool *auth_failed, char *err, size_t errlen)
{
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    char where[300];
    redisReply *r = NULL;
    redisContext *c;

    *auth_failed = false;
    redisurl_describe(u, where, sizeof where);
    c = u->is_unix ? redisConnectUnixWithTimeout(u->path, tv)
                   : redisConnectWithTimeout(u->host, (int)u->port, tv);
    if (!c || c->err) {
        fail(err, errlen, "cannot connect to redis at %s: %s", where,
             c ? c->errstr : "out of memory");
        goto bad;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        fail(err, errlen, "redis at %s: cannot set the timeout", where);
        goto bad;
    }
    if (!u->is_unix)
        redisEnableKeepAlive(c);
    if (password && *password) {
        const char *argv[3] = {"AUTH", u->user, password};
        size_t lens[3] = {4, strlen(u->user), strlen(password)};
        if (u->user[0])
            r = redisCommandArgv(c, 3, argv, lens);
        else
            r = redisCommandArgv(c, 2, (const char *[]){"AUTH", password},
                                 (size_t[]){4, strlen(password)});
        if (!r) {
            fail(err, errlen, "redis at %s: %s during AUTH", where, c->errstr);
            goto bad;
        }
        if (r->type != REDIS_REPLY_STATUS) {
            /* The server's text, never ours: it does not contain the password. */
            *auth_failed = r->type == REDIS_REPLY_ERROR;
            fail(err, errlen, "authentication failed at redis %s%s%s: %s", where,
                 u->user[0] ? " as user " : "", u->user, reply_text(r));
            goto bad;
        }
        freeReplyObject(r);
        r = NULL;
    } else if (u->user[0]) {
        *auth_failed = true;
        fail(err, errlen,
             "authentication failed at redis %s: the URL names user %s but no password was "
             "given (redis.password_file or $%s)",
             where, u->user, REDISURL_PASSWORD_ENV);
        goto bad;
    }
    if (u->db) {
        r = redisCommand(c, "SELECT %u", u->db);
        if (!r || r->type != REDIS_REPLY_STATUS) {
            *auth_failed = is_auth_error(r);
            fail(err, errlen, "%sredis at %s: SELECT %u failed: %s",
                 *auth_failed ? "authentication failed: " : "", where, u->db,
                 r ? reply_text(r) : c->errstr);
            goto bad;
        }
        freeReplyObject(r);
        r = NULL;
    }
    r = redisCommand(c, "PING");
    if (!r || r->type != REDIS_REPLY_STATUS) {
        *auth_failed = is_auth_error(r);
        if (*auth_failed)
            fail(err, errlen,
                 "authentication failed at redis %s: %s (set redis.password_file or $%s)",
                 where, reply_text(r), REDISURL_PASSWORD_ENV);
        else
            fail(err, errlen, "redis at %s: PING failed: %s", where,
                 r ? reply_text(r) : c->errstr);
        goto bad;
    }
    freeReplyObject(r);
    return c;

bad:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return NULL;
}
