#include "sensor/redisurl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>

#include "common/num.h"

#define FORMS                                                                              \
    "(use redis://[user@]host[:port][/db], rediss://..., unix://[user@]/path[?db=N], "     \
    "sentinel://[user@]h1:p1,h2:p2/MASTER or cluster://[user@]seed1:p1,seed2:p2)"

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

/* host[:port] (host may be [v6addr]) at *sp, up to a character in stop; the port
 * defaults to defport. */
static int parse_hostport(const char *url, const char **sp, const char *stop, redis_node *n,
                          unsigned defport, char *err, size_t errlen)
{
    const char *s = *sp, *h = s, *hend;
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
    size_t len = (size_t)(hend - h);
    if (len == 0)
        return fail(err, errlen, "redis URL '%.200s': no host " FORMS, url);
    if (len >= sizeof n->host)
        return fail(err, errlen, "redis URL '%.200s': host name too long", url);
    memcpy(n->host, h, len);
    n->host[len] = '\0';
    n->port = defport;
    if (*s == ':') {
        const char *p = ++s;
        while (*s && !strchr(stop, *s))
            s++;
        if (parse_num(p, (size_t)(s - p), 65535, &n->port) != 0 || n->port == 0)
            return fail(err, errlen, "redis URL '%.200s': the port must be a number 1-65535",
                        url);
    }
    *sp = s;
    return 0;
}

/* "/db" at *sp, if any. */
static int parse_db(const char *url, const char **sp, redis_url *u, char *err, size_t errlen)
{
    const char *s = *sp;
    if (*s == '/') {
        const char *p = ++s;
        while (*s >= '0' && *s <= '9')
            s++;
        if (s > p && parse_num(p, (size_t)(s - p), 65535, &u->db) != 0)
            return fail(err, errlen, "redis URL '%.200s': the database must be a number 0-65535",
                        url);
    }
    *sp = s;
    return 0;
}

static int trailing(const char *url, const char *s, char *err, size_t errlen)
{
    if (*s)
        return fail(err, errlen, "redis URL '%.200s': unexpected '%.40s' " FORMS, url,
                    strchr(s, '@') ? "***" : s); /* past an '@' may be a password */
    return 0;
}

static int parse_tcp(const char *url, const char *s, redis_url *u, char *err, size_t errlen)
{
    redis_node n;
    int rc = parse_hostport(url, &s, "/", &n, 6379, err, errlen);
    if (rc == 0)
        rc = parse_db(url, &s, u, err, errlen);
    if (rc == 0)
        rc = trailing(url, s, err, errlen);
    if (rc == 0) {
        memcpy(u->host, n.host, sizeof u->host);
        u->port = n.port;
    }
    return rc;
}

/* h1[:p1],h2[:p2]... then, for Sentinel, /MASTER[/db]. */
static int parse_nodes(const char *url, const char *s, redis_url *u, char *err, size_t errlen)
{
    bool sentinel = u->kind == REDISURL_SENTINEL;
    for (;;) {
        if (u->n_nodes == REDISURL_MAX_NODES)
            return fail(err, errlen, "redis URL '%.200s': more than %d addresses", url,
                        REDISURL_MAX_NODES);
        int rc = parse_hostport(url, &s, ",/", &u->nodes[u->n_nodes], sentinel ? 26379 : 6379,
                                err, errlen);
        if (rc)
            return rc;
        u->n_nodes++;
        if (*s != ',')
            break;
        s++;
    }
    /* The first address also stands as the URL's host, for messages and old callers. */
    memcpy(u->host, u->nodes[0].host, sizeof u->host);
    u->port = u->nodes[0].port;
    if (sentinel) {
        if (*s != '/' || !s[1] || s[1] == '/')
            return fail(err, errlen,
                        "redis URL '%.200s': a Sentinel URL names the master after the "
                        "addresses: sentinel://h1:26379,h2:26379/MASTER",
                        url);
        const char *m = ++s;
        while (*s && *s != '/')
            s++;
        size_t len = (size_t)(s - m);
        if (len >= sizeof u->master)
            return fail(err, errlen, "redis URL '%.200s': master name too long", url);
        for (size_t i = 0; i < len; i++)
            if (!user_char(m[i]))
                return fail(err, errlen,
                            "redis URL '%.200s': character 0x%02x is not allowed in a master "
                            "name", url, (unsigned char)m[i]);
        memcpy(u->master, m, len);
        u->master[len] = '\0';
        int rc = parse_db(url, &s, u, err, errlen);
        if (rc)
            return rc;
    } else if (*s == '/' && s[1]) {
        return fail(err, errlen,
                    "redis URL '%.200s': a cluster has no databases (cluster://seed1:p1,seed2:p2)",
                    url);
    } else if (*s == '/') {
        s++;
    }
    return trailing(url, s, err, errlen);
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
        u.kind = REDISURL_UNIX;
    } else if (strncmp(real, "rediss://", 9) == 0) {
        s = real + 9;
        u.tls = true;
    } else if (strncmp(real, "sentinel://", 11) == 0) {
        s = real + 11;
        u.kind = REDISURL_SENTINEL;
    } else if (strncmp(real, "cluster://", 10) == 0) {
        s = real + 10;
        u.kind = REDISURL_CLUSTER;
    } else {
        return fail(err, errlen, "redis URL '%.200s': unknown scheme " FORMS, url);
    }
    rc = parse_user(url, &s, &u, err, errlen);
    if (rc == 0) {
        switch (u.kind) {
        case REDISURL_UNIX:
            rc = parse_unix(url, s, &u, err, errlen);
            break;
        case REDISURL_SERVER:
            rc = parse_tcp(url, s, &u, err, errlen);
            break;
        case REDISURL_SENTINEL:
        case REDISURL_CLUSTER:
            rc = parse_nodes(url, s, &u, err, errlen);
            break;
        }
    }
    if (rc == 0)
        *out = u;
    return rc;
}

int redisurl_password(const char *password_file, char *buf, size_t len, char *err,
                      size_t errlen)
{
    return redisurl_secret(password_file, REDISURL_PASSWORD_ENV, buf, len, err, errlen);
}

int redisurl_secret(const char *password_file, const char *env_name, char *buf, size_t len,
                    char *err, size_t errlen)
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
        const char *env = getenv(env_name);
        if (env) {
            if (strlen(env) >= len)
                return fail(err, errlen, "$%s is longer than %zu bytes", env_name, len - 1);
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

static void node_text(const redis_node *n, char *buf, size_t len)
{
    snprintf(buf, len, strchr(n->host, ':') ? "[%s]:%u" : "%s:%u", n->host, n->port);
}

void redisurl_describe(const redis_url *u, char *buf, size_t len)
{
    size_t at = 0;
    switch (u->kind) {
    case REDISURL_UNIX:
        snprintf(buf, len, "%s", u->path);
        return;
    case REDISURL_SERVER: {
        redis_node n;
        memcpy(n.host, u->host, sizeof n.host);
        n.port = u->port;
        node_text(&n, buf, len);
        if (u->tls && len > strlen(buf))
            snprintf(buf + strlen(buf), len - strlen(buf), " (TLS)");
        return;
    }
    case REDISURL_SENTINEL:
    case REDISURL_CLUSTER:
        at = (size_t)snprintf(buf, len, "%s ", u->kind == REDISURL_SENTINEL ? "sentinel" : "cluster");
        for (unsigned i = 0; i < u->n_nodes && at < len; i++) {
            char one[300];
            node_text(&u->nodes[i], one, sizeof one);
            at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", one);
        }
        if (u->kind == REDISURL_SENTINEL && at < len)
            at += (size_t)snprintf(buf + at, len - at, " master %s", u->master);
        if (u->tls && at < len)
            snprintf(buf + at, len - at, " (TLS)");
        return;
    }
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

static bool reply_is(const redisReply *r, const char *s)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && r->str &&
           r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

/* AUTH with user (may be "") and password (may be NULL/""), then SELECT db, then PING.
 * 0, or -1 with err set and *fatal when the server refused the credentials. */
static int handshake(rconn *c, const char *user, const char *password, unsigned db,
                     const char *what, bool *fatal, char *err, size_t errlen)
{
    redisReply *r = NULL;
    const char *where = rconn_where(c);
    if (password && *password) {
        const char *argv[3] = {"AUTH", user, password};
        if (user[0])
            r = rconn_command(c, 3, argv, NULL);
        else
            r = rconn_command(c, 2, (const char *[]){"AUTH", password}, NULL);
        if (!r) {
            fail(err, errlen, "%s at %s: %s during AUTH", what, where, rconn_error(c));
            return -1;
        }
        if (r->type != REDIS_REPLY_STATUS) {
            /* The server's text, never ours: it does not contain the password. */
            *fatal = r->type == REDIS_REPLY_ERROR;
            fail(err, errlen, "authentication failed at %s %s%s%s: %s", what, where,
                 user[0] ? " as user " : "", user, reply_text(r));
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    } else if (user[0]) {
        *fatal = true;
        fail(err, errlen,
             "authentication failed at %s %s: the URL names user %s but no password was "
             "given (redis.password_file or $%s)",
             what, where, user, REDISURL_PASSWORD_ENV);
        return -1;
    }
    if (db) {
        char dbs[12];
        snprintf(dbs, sizeof dbs, "%u", db);
        r = rconn_command(c, 2, (const char *[]){"SELECT", dbs}, NULL);
        if (!r || r->type != REDIS_REPLY_STATUS) {
            *fatal = is_auth_error(r);
            fail(err, errlen, "%s%s at %s: SELECT %u failed: %s",
                 *fatal ? "authentication failed: " : "", what, where, db,
                 r ? reply_text(r) : rconn_error(c));
            if (r)
                freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    r = rconn_command(c, 1, (const char *[]){"PING"}, NULL);
    if (!r || r->type != REDIS_REPLY_STATUS) {
        *fatal = is_auth_error(r);
        if (*fatal)
            fail(err, errlen, "authentication failed at %s %s: %s (set redis.password_file or $%s)",
                 what, where, reply_text(r), REDISURL_PASSWORD_ENV);
        else
            fail(err, errlen, "%s at %s: PING failed: %s", what, where,
                 r ? reply_text(r) : rconn_error(c));
        if (r)
            freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* One server: connect (TLS as the URL says), then the handshake. */
static rconn *connect_node(const redis_url *u, const redis_creds *cr, const char *host,
                           unsigned port, const char *path, const char *user,
                           const char *password, unsigned db, const char *what,
                           unsigned timeout_ms, bool *fatal, char *err, size_t errlen)
{
    rconn_tls tls = cr ? cr->tls : (rconn_tls){0};
    tls.enabled = u->tls;
    bool tls_failed = false;
    rconn *c = rconn_open(host, port, path, &tls, timeout_ms, &tls_failed, err, errlen);
    if (!c) {
        *fatal = tls_failed;
        return NULL;
    }
    if (handshake(c, user, password, db, what, fatal, err, errlen) != 0) {
        if (rconn_tls_refused(c)) {
            *fatal = true;
            fail(err, errlen, "%s%s", rconn_error(c),
                 tls.cert_file ? "" : " (does the server ask for a client certificate? "
                                      "redis.tls_cert_file)");
        }
        rconn_close(c);
        return NULL;
    }
    return c;
}

/* Asks each Sentinel in turn for the master's address and connects to the first master
 * that says it is one (during a failover a Sentinel may still name the old one). */
static rconn *connect_sentinel(const redis_url *u, const redis_creds *cr, unsigned timeout_ms,
                               bool *fatal, char *err, size_t errlen)
{
    char last[512] = "";
    bool any_knew = false;
    for (unsigned i = 0; i < u->n_nodes; i++) {
        const redis_node *sn = &u->nodes[i];
        bool f = false;
        rconn *s = connect_node(u, cr, sn->host, sn->port, NULL,
                                cr && cr->sentinel_user ? cr->sentinel_user : "",
                                cr ? cr->sentinel_password : NULL, 0, "redis sentinel",
                                timeout_ms, &f, last, sizeof last);
        if (!s) {
            if (f) { /* a Sentinel refusing our credentials or certificate is a config error */
                *fatal = true;
                fail(err, errlen, "%s", last);
                return NULL;
            }
            continue;
        }
        const char *argv[3] = {"SENTINEL", "get-master-addr-by-name", u->master};
        redisReply *r = rconn_command(s, 3, argv, NULL);
        redis_node m;
        bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                  r->element[0]->type == REDIS_REPLY_STRING &&
                  r->element[1]->type == REDIS_REPLY_STRING &&
                  r->element[0]->len > 0 && r->element[0]->len < sizeof m.host &&
                  parse_num(r->element[1]->str, r->element[1]->len, 65535, &m.port) == 0 &&
                  m.port > 0;
        if (ok) {
            memcpy(m.host, r->element[0]->str, r->element[0]->len);
            m.host[r->element[0]->len] = '\0';
            any_knew = true;
        } else {
            fail(last, sizeof last, "redis sentinel at %s: %s", rconn_where(s),
                 !r ? rconn_error(s)
                 : r->type == REDIS_REPLY_NIL ? "does not know that master"
                                              : reply_text(r));
        }
        if (r)
            freeReplyObject(r);
        rconn_close(s);
        if (!ok)
            continue;
        bool mf = false;
        rconn *c = connect_node(u, cr, m.host, m.port, NULL, u->user, cr ? cr->password : NULL,
                                u->db, "redis master", timeout_ms, &mf, last, sizeof last);
        if (!c) {
            if (mf) {
                *fatal = true;
                fail(err, errlen, "%s", last);
                return NULL;
            }
            continue;
        }
        r = rconn_command(c, 1, (const char *[]){"ROLE"}, NULL);
        bool master = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                      reply_is(r->element[0], "master");
        if (!master)
            fail(last, sizeof last, "redis at %s, named master %s by a sentinel, is not a "
                 "master (a failover in progress?)", rconn_where(c), u->master);
        if (r)
            freeReplyObject(r);
        if (master)
            return c;
        rconn_close(c);
    }
    char where[600];
    redisurl_describe(u, where, sizeof where);
    fail(err, errlen, "no master found through %s: %s%s", where, last,
         any_knew ? "" : " (is the master name right?)");
    return NULL;
}

/* ---- Cluster ------------------------------------------------------------------------- */

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), as Redis Cluster hashes keys. */
static uint16_t crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

unsigned redisurl_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open + 1 - key);
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1) /* an empty tag "{}" hashes the whole key */
            return crc16((const uint8_t *)open + 1, (size_t)(close - open - 1)) & 16383u;
    }
    return crc16((const uint8_t *)key, len) & 16383u;
}

int redisurl_redirect(const redisReply *r, bool *ask, redis_node *to)
{
    if (!r || r->type != REDIS_REPLY_ERROR || !r->str)
        return 0;
    const char *s;
    if (strncmp(r->str, "MOVED ", 6) == 0) {
        *ask = false;
        s = r->str + 6;
    } else if (strncmp(r->str, "ASK ", 4) == 0) {
        *ask = true;
        s = r->str + 4;
    } else {
        return 0;
    }
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s++ != ' ')
        return 0;
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof to->host)
        return 0;
    if (parse_num(colon + 1, strlen(colon + 1), 65535, &to->port) != 0 || to->port == 0)
        return 0;
    const char *h = s, *hend = colon;
    if (*h == '[' && hend[-1] == ']') {
        h++;
        hend--;
    }
    if (hend <= h)
        return 0;
    memcpy(to->host, h, (size_t)(hend - h));
    to->host[hend - h] = '\0';
    return 1;
}

/* The master of a slot from a CLUSTER SLOTS reply: [[start, end, [host, port, id], replicas
 * ...], ...]. 0 and *to, or -1. An empty host means the node we asked. */
static int slot_owner(const redisReply *r, unsigned slot, const char *asked, redis_node *to)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER)
            continue;
        if (slot < (unsigned long long)e->element[0]->integer ||
            slot > (unsigned long long)e->element[1]->integer)
            continue;
        const redisReply *n = e->element[2];
        if (!n || n->type != REDIS_REPLY_ARRAY || n->elements < 2 ||
            n->element[0]->type != REDIS_REPLY_STRING ||
            n->element[1]->type != REDIS_REPLY_INTEGER || n->element[1]->integer <= 0 ||
            n->element[1]->integer > 65535 || n->element[0]->len >= sizeof to->host)
            return -1;
        if (n->element[0]->len == 0) {
            snprintf(to->host, sizeof to->host, "%s", asked);
        } else {
            memcpy(to->host, n->element[0]->str, n->element[0]->len);
            to->host[n->element[0]->len] = '\0';
        }
        to->port = (unsigned)n->element[1]->integer;
        return 0;
    }
    return -1;
}

/* Reads the slot map from the seeds in turn and connects to the master of key's slot. */
static rconn *connect_cluster(const redis_url *u, const redis_creds *cr, const char *key,
                              unsigned timeout_ms, bool *fatal, char *err, size_t errlen)
{
    char last[512] = "";
    unsigned slot = key ? redisurl_key_slot(key, strlen(key)) : 0;
    for (unsigned i = 0; i < u->n_nodes; i++) {
        const redis_node *sn = &u->nodes[i];
        bool f = false;
        rconn *s = connect_node(u, cr, sn->host, sn->port, NULL, u->user,
                                cr ? cr->password : NULL, 0, "redis cluster node", timeout_ms,
                                &f, last, sizeof last);
        if (!s) {
            if (f) {
                *fatal = true;
                fail(err, errlen, "%s", last);
                return NULL;
            }
            continue;
        }
        if (!key)
            return s;
        redisReply *r = rconn_command(s, 2, (const char *[]){"CLUSTER", "SLOTS"}, NULL);
        redis_node m;
        int found = slot_owner(r, slot, sn->host, &m);
        if (found != 0)
            fail(last, sizeof last, "redis cluster node %s: %s", rconn_where(s),
                 !r ? rconn_error(s)
                 : r->type == REDIS_REPLY_ERROR ? reply_text(r)
                                                : "no node serves the key's slot yet");
        if (r)
            freeReplyObject(r);
        if (found != 0) {
            rconn_close(s);
            continue;
        }
        if (strcmp(m.host, sn->host) == 0 && m.port == sn->port)
            return s;
        rconn_close(s);
        rconn *c = connect_node(u, cr, m.host, m.port, NULL, u->user, cr ? cr->password : NULL,
                                0, "redis cluster node", timeout_ms, &f, last, sizeof last);
        if (c)
            return c;
        if (f) {
            *fatal = true;
            fail(err, errlen, "%s", last);
            return NULL;
        }
    }
    char where[600];
    redisurl_describe(u, where, sizeof where);
    fail(err, errlen, "no usable node in %s: %s", where, last);
    return NULL;
}

rconn *redisurl_connect(const redis_url *u, const redis_creds *cr, const char *key,
                        unsigned timeout_ms, bool *fatal, char *err, size_t errlen)
{
    *fatal = false;
    switch (u->kind) {
    case REDISURL_SENTINEL:
        return connect_sentinel(u, cr, timeout_ms, fatal, err, errlen);
    case REDISURL_CLUSTER:
        return connect_cluster(u, cr, key, timeout_ms, fatal, err, errlen);
    case REDISURL_UNIX:
        return connect_node(u, cr, NULL, 0, u->path, u->user, cr ? cr->password : NULL, u->db,
                            "redis", timeout_ms, fatal, err, errlen);
    case REDISURL_SERVER:
        break;
    }
    return connect_node(u, cr, u->host, u->port, NULL, u->user, cr ? cr->password : NULL, u->db,
                        "redis", timeout_ms, fatal, err, errlen);
}
