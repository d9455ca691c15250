#include "sensor/rconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* A reply larger than this is refused (the reader's buffer would grow without end on a
 * hostile server). Our largest legitimate replies are XREADGROUP batches of events of at
 * most 64 KiB each. */
#define READ_MAX ((size_t)512 << 20)

struct rconn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    redisReader *rd;
    char *out;          /* commands queued, not yet sent */
    size_t out_len;
    size_t buffered;    /* bytes fed to the reader for the reply being read */
    bool tls_refused;   /* the server sent a TLS alert (a certificate it does not take) */
    char where[300];
    char err[512];
};

__attribute__((format(printf, 2, 3))) static void set_err(rconn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* The most recent OpenSSL error of this thread, one line ("" when none). */
static const char *ssl_error_text(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    buf[0] = '\0';
    if (e)
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

static int set_timeouts(int fd, unsigned timeout_ms)
{
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        return -errno;
    return 0;
}

/* A non-blocking connect bounded by timeout_ms; the socket is blocking again after it. */
static int connect_bounded(int fd, const struct sockaddr *sa, socklen_t salen,
                           unsigned timeout_ms)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -errno;
    int rc = 0;
    if (connect(fd, sa, salen) != 0) {
        if (errno != EINPROGRESS) {
            rc = -errno;
        } else {
            struct pollfd p = {fd, POLLOUT, 0};
            int n;
            do
                n = poll(&p, 1, (int)timeout_ms);
            while (n < 0 && errno == EINTR);
            if (n == 0) {
                rc = -ETIMEDOUT;
            } else if (n < 0) {
                rc = -errno;
            } else {
                int soerr = 0;
                socklen_t l = sizeof soerr;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) != 0)
                    rc = -errno;
                else if (soerr)
                    rc = -soerr;
            }
        }
    }
    if (rc == 0 && fcntl(fd, F_SETFL, fl) != 0)
        rc = -errno;
    return rc;
}

static int open_tcp(rconn *c, const char *host, unsigned port, unsigned timeout_ms)
{
    struct addrinfo hints, *res = NULL;
    char portstr[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof portstr, "%u", port);
    int g = getaddrinfo(host, portstr, &hints, &res);
    if (g != 0) {
        set_err(c, "cannot connect to redis at %s: %s", c->where, gai_strerror(g));
        return -EHOSTUNREACH;
    }
    int rc = -ECONNREFUSED;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        rc = connect_bounded(fd, a->ai_addr, a->ai_addrlen, timeout_ms);
        if (rc == 0) {
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
            c->fd = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (rc != 0)
        set_err(c, "cannot connect to redis at %s: %s", c->where,
                rc == -ETIMEDOUT ? "connection timed out" : strerror(-rc));
    return rc;
}

static int open_unix(rconn *c, const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        set_err(c, "cannot connect to redis at %s: path too long", path);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        set_err(c, "cannot connect to redis at %s: %s", c->where, strerror(e));
        return -e;
    }
    c->fd = fd;
    return 0;
}

static bool is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int start_tls(rconn *c, const char *host, const rconn_tls *t, bool *tls_failed)
{
    char e[256];
    const char *name = t->server_name && *t->server_name ? t->server_name : host;

    *tls_failed = true; /* every failure below is one that retrying cannot mend */
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) {
        set_err(c, "TLS to redis at %s: %s", c->where, ssl_error_text(e, sizeof e));
        return -ENOMEM;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (t->ca_file ? SSL_CTX_load_verify_locations(c->ctx, t->ca_file, NULL) != 1
                   : SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
        set_err(c, "TLS to redis at %s: cannot load the CA file %s: %s", c->where,
                t->ca_file ? t->ca_file : "(system default)", ssl_error_text(e, sizeof e));
        return -EINVAL;
    }
    if (t->cert_file) {
        const char *key = t->key_file ? t->key_file : t->cert_file;
        if (SSL_CTX_use_certificate_chain_file(c->ctx, t->cert_file) != 1) {
            set_err(c, "TLS to redis at %s: cannot load the client certificate %s: %s",
                    c->where, t->cert_file, ssl_error_text(e, sizeof e));
            return -EINVAL;
        }
        if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(c->ctx) != 1) {
            set_err(c, "TLS to redis at %s: cannot use the client key %s: %s", c->where, key,
                    ssl_error_text(e, sizeof e));
            return -EINVAL;
        }
    }
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        set_err(c, "TLS to redis at %s: %s", c->where, ssl_error_text(e, sizeof e));
        return -ENOMEM;
    }
    if (is_ip_literal(name)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) != 1) {
            set_err(c, "TLS to redis at %s: cannot check the address %s", c->where, name);
            return -EINVAL;
        }
    } else if (SSL_set_tlsext_host_name(c->ssl, name) != 1 || SSL_set1_host(c->ssl, name) != 1) {
        set_err(c, "TLS to redis at %s: cannot use the server name %s", c->where, name);
        return -EINVAL;
    }
    ERR_clear_error();
    if (SSL_connect(c->ssl) != 1) {
        long v = SSL_get_verify_result(c->ssl);
        if (v != X509_V_OK) {
            set_err(c,
                    "TLS handshake with redis at %s failed: the server's certificate was "
                    "refused: %s (for name %s; check redis.tls_ca_file and "
                    "redis.tls_server_name)",
                    c->where, X509_verify_cert_error_string(v), name);
        } else {
            int saved = errno;
            const char *why = ssl_error_text(e, sizeof e);
            if (!*why) {
                /* No TLS error: the peer closed or timed out (not a TLS server?). */
                *tls_failed = false;
                why = saved ? strerror(saved) : "the server closed the connection";
            }
            set_err(c, "TLS handshake with redis at %s failed: %s", c->where, why);
        }
        return -EPROTO;
    }
    *tls_failed = false;
    return 0;
}

rconn *rconn_open(const char *host, unsigned port, const char *path, const rconn_tls *tls,
                  unsigned timeout_ms, bool *tls_failed, char *err, size_t errlen)
{
    bool tf = false;
    int rc;
    rconn *c = calloc(1, sizeof *c);
    if (tls_failed)
        *tls_failed = false;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = -1;
    bool use_tls = !path && tls && tls->enabled;
    if (path)
        snprintf(c->where, sizeof c->where, "%s", path);
    else
        snprintf(c->where, sizeof c->where, strchr(host, ':') ? "[%s]:%u%s" : "%s:%u%s", host,
                 port, use_tls ? " (TLS)" : "");
    c->rd = redisReaderCreate();
    if (!c->rd) {
        snprintf(err, errlen, "out of memory");
        rconn_close(c);
        return NULL;
    }
    rc = path ? open_unix(c, path) : open_tcp(c, host, port, timeout_ms);
    if (rc == 0 && set_timeouts(c->fd, timeout_ms) != 0) {
        set_err(c, "redis at %s: cannot set the timeout", c->where);
        rc = -EINVAL;
    }
    if (rc == 0 && use_tls)
        rc = start_tls(c, host, tls, &tf);
    if (rc != 0) {
        snprintf(err, errlen, "%s", c->err);
        if (tls_failed)
            *tls_failed = tf;
        rconn_close(c);
        return NULL;
    }
    return c;
}

void rconn_close(rconn *c)
{
    if (!c)
        return;
    if (c->ssl) {
        SSL_shutdown(c->ssl); /* a close_notify, not waiting for the peer's */
        SSL_free(c->ssl);
    }
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    if (c->rd)
        redisReaderFree(c->rd);
    free(c->out);
    free(c);
}

int rconn_append(rconn *c, int argc, const char **argv, const size_t *lens)
{
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (n < 0 || !cmd) {
        set_err(c, "out of memory");
        return -ENOMEM;
    }
    char *grown = realloc(c->out, c->out_len + (size_t)n);
    if (!grown) {
        free(cmd);
        set_err(c, "out of memory");
        return -ENOMEM;
    }
    memcpy(grown + c->out_len, cmd, (size_t)n);
    c->out = grown;
    c->out_len += (size_t)n;
    free(cmd);
    return 0;
}

/* Whether a failed SSL_read/SSL_write may simply be tried again: a signal interrupted
 * the system call under it (a timeout, EAGAIN, is a failure). */
static bool ssl_retry(rconn *c, int ret, int saved_errno)
{
    int e = SSL_get_error(c->ssl, ret);
    return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
            e == SSL_ERROR_SYSCALL) && saved_errno == EINTR;
}

static const char *io_error(rconn *c, int ret, int saved_errno)
{
    if (c->ssl) {
        int e = SSL_get_error(c->ssl, ret);
        if (e == SSL_ERROR_ZERO_RETURN)
            return "the server closed the connection";
        if (e == SSL_ERROR_SSL) {
            static __thread char buf[256];
            c->tls_refused = true;
            return ssl_error_text(buf, sizeof buf);
        }
    } else if (ret == 0) {
        return "the server closed the connection";
    }
    if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)
        return "timed out";
    return saved_errno ? strerror(saved_errno) : "the server closed the connection";
}

static int flush_out(rconn *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        size_t want = c->out_len - off;
        int chunk = want > (1u << 30) ? (1 << 30) : (int)want;
        errno = 0;
        ssize_t n = c->ssl ? SSL_write(c->ssl, c->out + off, chunk)
                           : send(c->fd, c->out + off, (size_t)chunk, MSG_NOSIGNAL);
        if (n <= 0) {
            int saved = errno;
            if (c->ssl ? ssl_retry(c, (int)n, saved) : (n < 0 && saved == EINTR))
                continue;
            if (c->ssl) {
                /* TLS 1.3 checks a client certificate after the handshake: the server's
                 * alert, if it sent one, explains the reset better than the reset does. */
                char probe[64];
                ERR_clear_error();
                int r = SSL_read(c->ssl, probe, sizeof probe);
                if (r <= 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_SSL) {
                    set_err(c, "TLS handshake with redis at %s failed: %s", c->where,
                            io_error(c, r, errno));
                    return -EPROTO;
                }
            }
            set_err(c, "redis at %s: write failed: %s", c->where, io_error(c, (int)n, saved));
            return -EIO;
        }
        off += (size_t)n;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
    return 0;
}

int rconn_reply(rconn *c, redisReply **out)
{
    *out = NULL;
    if (c->out_len && flush_out(c) != 0)
        return -EIO;
    for (;;) {
        void *r = NULL;
        if (redisReaderGetReply(c->rd, &r) != REDIS_OK) {
            set_err(c, "redis at %s: unreadable reply: %s", c->where,
                    c->rd->errstr[0] ? c->rd->errstr : "protocol error");
            return -EPROTO;
        }
        if (r) {
            c->buffered = 0;
            *out = r;
            return 0;
        }
        char buf[16384];
        errno = 0;
        ssize_t n = c->ssl ? SSL_read(c->ssl, buf, (int)sizeof buf) : recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            int saved = errno;
            if (c->ssl ? ssl_retry(c, (int)n, saved) : (n < 0 && saved == EINTR))
                continue;
            const char *why = io_error(c, (int)n, saved);
            if (c->tls_refused)
                set_err(c, "TLS handshake with redis at %s failed: %s", c->where, why);
            else
                set_err(c, "redis at %s: read failed: %s", c->where, why);
            return -EIO;
        }
        c->buffered += (size_t)n;
        if (c->buffered > READ_MAX) {
            set_err(c, "redis at %s: a reply larger than %zu MiB, refused", c->where,
                    READ_MAX >> 20);
            return -EMSGSIZE;
        }
        if (redisReaderFeed(c->rd, buf, (size_t)n) != REDIS_OK) {
            set_err(c, "redis at %s: out of memory reading a reply", c->where);
            return -ENOMEM;
        }
    }
}

redisReply *rconn_command(rconn *c, int argc, const char **argv, const size_t *lens)
{
    redisReply *r = NULL;
    if (rconn_append(c, argc, argv, lens) != 0 || rconn_reply(c, &r) != 0)
        return NULL;
    return r;
}

const char *rconn_error(const rconn *c) { return c->err; }
bool rconn_tls_refused(const rconn *c) { return c->tls_refused; }
const char *rconn_where(const rconn *c) { return c->where; }
