/*
 * The remote upstream client (see px_upstream.h): per-worker pools of keep-alive HTTP/1.1
 * connections on libevent bufferevents, a small response framer, timeouts, and one retry for
 * the stale keep-alive race.
 *
 * A request (struct up_req) keeps its bytes until it is answered, so when a reused keep-alive
 * connection turns out to have been closed by the upstream (it timed the connection out while
 * we were sending), the same bytes go once more on a fresh connection — only where that is
 * safe: a read that got no answer byte, or a write whose bytes had not yet left our buffer.
 * A write the upstream may have received is never resent (it may have acted on it), nor
 * anything on a connection's first use. Idle connections are checked before reuse (a peek
 * for a close that already arrived), which takes most stale ones out before they are used.
 * Connections are freed only from their own callbacks or from the request timer, and always
 * detached from their request first.
 *
 * https upstreams: one SSL_CTX per client (TLS 1.2 or newer, the system CA store or the
 * configured CA file), each connection an OpenSSL bufferevent with SNI and a verified
 * certificate for the upstream's host name (or IP address). A handshake or verification failure
 * is a connection that never came up: 503, with the reason (the verify result) logged.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include "dx_alloc.h"
#include "dx_log.h"
#include "dx_status.h"
#include "px_conn.h"
#include "px_http.h"
#include "px_sigv4.h"
#include "px_upstream.h"

#define MAX_RESPONSE_HEAD (64u * 1024u)
#define MAX_RESPONSE_BODY ((uint64_t)64 * 1024 * 1024)

struct up_pool;
struct up_req;

struct up_conn {
    struct up_pool *pool;
    struct bufferevent *bev;
    struct up_conn *prev, *next; /* the pool's list of every connection */
    struct up_conn *idle_next;   /* the pool's idle stack */
    struct up_req *req;          /* NULL: idle */
    unsigned connected : 1;
    unsigned reused : 1; /* answered a request before: may have been closed meanwhile */
    unsigned got : 1;    /* answer bytes arrived for the current request */
    unsigned sent : 1;   /* the current request's bytes all left our output buffer */
    unsigned head_done : 1;
    struct px_upresp resp;
    struct px_http_chunked chunk;
};

struct up_pool {
    struct px_upstream *u;
    struct event_base *base;
    struct up_pool *next;
    struct up_conn *conns;
    struct up_conn *idle;
    int nidle;
};

struct up_req {
    struct up_pool *pool;
    struct up_conn *conn;
    char *buf; /* the whole request, kept for a retry */
    size_t len;
    enum dx_op op;
    dx_api_done_cb done;
    void *arg;
    struct event *timer;
    unsigned retried : 1;
};

struct px_upstream {
    char url[512];
    char host[256];
    char hostport[300]; /* for our own Host header */
    int port;
    int tls;      /* https */
    int ip_host;  /* host is an IP literal: no SNI, the certificate must name the address */
    SSL_CTX *ctx; /* with tls */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int timeout_ms;
    int max_idle;
    int resign;       /* sign with our own credentials (below) */
    char *access_key; /* owned copies; secret_key is wiped before it is freed */
    char *secret_key;
    char *session_token; /* NULL: none */
    char *region;
    uint64_t id; /* tells thread-local caches apart across instances */
    pthread_mutex_t mu;
    struct up_pool *pools;
};

static uint64_t next_id = 1;

/* --- failure counts and their log lines (px_upstream.h) --- */

static _Atomic uint64_t failures[PX_UPFAIL__COUNT];
static _Atomic int any_upstream;
static pthread_mutex_t flog_mu = PTHREAD_MUTEX_INITIALIZER;
static time_t flog_sec;       /* the second being counted */
static unsigned flog_lines;   /* lines logged in it */
static uint64_t flog_dropped; /* lines not logged since the last summary */

const char *px_upstream_failure_name(enum px_upstream_failure kind)
{
    static const char *const names[PX_UPFAIL__COUNT] = {"timeout", "connect", "5xx", "transport"};
    return (unsigned)kind < PX_UPFAIL__COUNT ? names[kind] : "unknown";
}

int px_upstream_failures(uint64_t out[PX_UPFAIL__COUNT])
{
    for (int i = 0; i < PX_UPFAIL__COUNT; i++)
        out[i] = atomic_load_explicit(&failures[i], memory_order_relaxed);
    return atomic_load_explicit(&any_upstream, memory_order_relaxed);
}

void px_upstream_failure_note(enum px_upstream_failure kind, const char *what)
{
    if ((unsigned)kind < PX_UPFAIL__COUNT)
        atomic_fetch_add_explicit(&failures[kind], 1, memory_order_relaxed);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t dropped = 0;
    int log = 0;
    pthread_mutex_lock(&flog_mu);
    if (ts.tv_sec != flog_sec) {
        flog_sec = ts.tv_sec;
        flog_lines = 0;
        dropped = flog_dropped;
        flog_dropped = 0;
    }
    if (flog_lines < PX_UPSTREAM_LOG_PER_SEC) {
        flog_lines++;
        log = 1;
    } else {
        flog_dropped++;
    }
    pthread_mutex_unlock(&flog_mu);
    if (dropped)
        dx_warn("upstream: %llu more failures were not logged (at most %d lines a second)",
                (unsigned long long)dropped, PX_UPSTREAM_LOG_PER_SEC);
    if (log)
        dx_warn("upstream %s (%s)", what, px_upstream_failure_name(kind));
}
static __thread struct event_base *tl_base;
static __thread struct up_pool *tl_pool;
static __thread uint64_t tl_pool_id;

void px_upstream_use_base(struct event_base *base)
{
    tl_base = base;
}

/* --- URL --- */

int px_upstream_parse_url(const char *url, char *host, size_t hostcap, int *port, const char **why)
{
    const char *p;
    *why = NULL;
    int tls = !strncasecmp(url, "https://", 8);
    if (!tls && strncasecmp(url, "http://", 7)) {
        *why = "the upstream URL must start with http:// or https://";
        return DX_EINVAL;
    }
    p = url + (tls ? 8 : 7);
    const char *hs, *he, *rest;
    if (*p == '[') {
        hs = p + 1;
        he = strchr(hs, ']');
        if (!he) {
            *why = "unterminated [IPv6] address in the upstream URL";
            return DX_EINVAL;
        }
        rest = he + 1;
    } else {
        hs = p;
        he = p + strcspn(p, ":/?#");
        rest = he;
    }
    if (he == hs || (size_t)(he - hs) >= hostcap) {
        *why = "no host in the upstream URL";
        return DX_EINVAL;
    }
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    *port = tls ? 443 : 80;
    if (*rest == ':') {
        char *end;
        errno = 0;
        long v = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || errno || v < 1 || v > 65535) {
            *why = "bad port in the upstream URL";
            return DX_EINVAL;
        }
        *port = (int)v;
        rest = end;
    }
    if (*rest && strcmp(rest, "/")) {
        *why = "the upstream URL must not have a path or query (http[s]://HOST:PORT)";
        return DX_EINVAL;
    }
    return DX_OK;
}

/* --- response framing --- */

static int ieq(const char *a, size_t alen, const char *lit)
{
    return strlen(lit) == alen && !strncasecmp(a, lit, alen);
}

/* Does the comma-separated list v[0..n) contain token tok? */
static int has_token(const char *v, size_t n, const char *tok)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s && ieq(v + s, e - s, tok))
            return 1;
    }
    return 0;
}

/* Last token of a list (for Transfer-Encoding). */
static int last_token_is(const char *v, size_t n, const char *tok)
{
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    size_t s = n;
    while (s && v[s - 1] != ',')
        s--;
    while (s < n && (v[s] == ' ' || v[s] == '\t'))
        s++;
    return ieq(v + s, n - s, tok);
}

static const char *find_crlfcrlf(const char *p, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return p + i;
    return NULL;
}

enum px_upresp_result px_upresp_parse(const char *buf, size_t len, struct px_upresp *out)
{
    size_t pos = 0;
    for (;;) {
        memset(out, 0, sizeof(*out));
        const char *p = buf + pos;
        size_t n = len - pos;
        /* Fail early on garbage instead of waiting for a blank line that never comes. */
        static const char proto[] = "HTTP/1.";
        for (size_t i = 0; i < n && i < 7; i++)
            if (p[i] != proto[i])
                return PX_UPRESP_ERROR;
        const char *end = find_crlfcrlf(p, n);
        if (!end)
            return n > MAX_RESPONSE_HEAD ? PX_UPRESP_ERROR : PX_UPRESP_AGAIN;
        size_t hl = (size_t)(end - p) + 4;
        if (hl < 13 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
            return PX_UPRESP_ERROR;
        int minor = p[7] - '0';
        int status = 0;
        for (int i = 9; i < 12; i++) {
            if (p[i] < '0' || p[i] > '9')
                return PX_UPRESP_ERROR;
            status = status * 10 + (p[i] - '0');
        }
        if (p[12] != ' ' && p[12] != '\r')
            return PX_UPRESP_ERROR;
        if (status < 100)
            return PX_UPRESP_ERROR;
        if (status >= 100 && status < 200) {
            if (status == 101)
                return PX_UPRESP_ERROR; /* we never ask to switch protocols */
            pos += hl;
            continue;
        }
        out->status = status;
        out->keep_alive = minor >= 1;
        int conn_close = 0, conn_keep = 0, te = 0;
        const char *line = memchr(p, '\n', hl) + 1;
        const char *stop = p + hl - 2;
        while (line < stop) {
            const char *eol = memchr(line, '\n', (size_t)(stop + 2 - line));
            size_t ll = (size_t)(eol - line);
            if (ll && line[ll - 1] == '\r')
                ll--;
            const char *colon = memchr(line, ':', ll);
            if (!colon || colon == line)
                return PX_UPRESP_ERROR;
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1;
            size_t vl = ll - nl - 1;
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (ieq(line, nl, "content-length")) {
                uint64_t cl = 0;
                if (!vl || vl > 15)
                    return PX_UPRESP_ERROR;
                for (size_t i = 0; i < vl; i++) {
                    if (v[i] < '0' || v[i] > '9')
                        return PX_UPRESP_ERROR;
                    cl = cl * 10 + (uint64_t)(v[i] - '0');
                }
                if (out->has_content_length && out->content_length != cl)
                    return PX_UPRESP_ERROR;
                out->has_content_length = 1;
                out->content_length = cl;
            } else if (ieq(line, nl, "transfer-encoding")) {
                te = 1;
                out->chunked = (unsigned)last_token_is(v, vl, "chunked");
            } else if (ieq(line, nl, "connection")) {
                conn_close |= has_token(v, vl, "close");
                conn_keep |= has_token(v, vl, "keep-alive");
            }
            line = eol + 1;
        }
        if (conn_close)
            out->keep_alive = 0;
        else if (conn_keep)
            out->keep_alive = 1;
        out->header_len = pos + hl;
        if (status == 204 || status == 304) {
            out->chunked = 0;
            out->has_content_length = 1;
            out->content_length = 0;
        } else if (te) {
            out->has_content_length = 0;
            out->content_length = 0;
            if (!out->chunked) {
                out->until_close = 1;
                out->keep_alive = 0;
            }
        } else if (!out->has_content_length) {
            out->until_close = 1;
            out->keep_alive = 0;
        }
        if (out->content_length > MAX_RESPONSE_BODY)
            return PX_UPRESP_ERROR;
        return PX_UPRESP_DONE;
    }
}

/* --- pools and connections --- */

static struct up_pool *pool_get(struct px_upstream *u)
{
    struct event_base *base = tl_base ? tl_base : px_worker_current_base();
    if (!base)
        return NULL;
    if (tl_pool && tl_pool_id == u->id && tl_pool->base == base)
        return tl_pool;
    pthread_mutex_lock(&u->mu);
    struct up_pool *p = u->pools;
    while (p && p->base != base)
        p = p->next;
    if (!p) {
        p = dx_calloc(1, sizeof(*p));
        p->u = u;
        p->base = base;
        p->next = u->pools;
        u->pools = p;
    }
    pthread_mutex_unlock(&u->mu);
    tl_pool = p;
    tl_pool_id = u->id;
    return p;
}

static void idle_remove(struct up_conn *c)
{
    struct up_pool *p = c->pool;
    for (struct up_conn **pp = &p->idle; *pp; pp = &(*pp)->idle_next)
        if (*pp == c) {
            *pp = c->idle_next;
            c->idle_next = NULL;
            p->nidle--;
            return;
        }
}

/* Unlinks c from its pool's list and frees it; c is on no idle stack. */
static void conn_destroy(struct up_conn *c)
{
    struct up_pool *p = c->pool;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bufferevent_free(c->bev);
    dx_free(c);
}

/* Frees c; it must have no request (detach first). */
static void conn_free(struct up_conn *c)
{
    if (!c->req)
        idle_remove(c);
    conn_destroy(c);
}

static void req_finish(struct up_req *r, struct dx_reply *reply)
{
    if (r->timer)
        event_free(r->timer);
    dx_free(r->buf);
    dx_api_done_cb done = r->done;
    void *arg = r->arg;
    dx_free(r);
    done(reply, arg);
}

/* kind PX_UPFAIL__COUNT: not the upstream's failure (shutting down): logged, not counted. */
static void req_fail(struct up_req *r, int unavailable, const char *reason,
                     enum px_upstream_failure kind)
{
    struct px_upstream *u = r->pool->u;
    char what[640];
    snprintf(what, sizeof(what), "%s: %s %s (answered %d)", u->url, dx_op_name(r->op), reason,
             unavailable ? 503 : 500);
    if (kind == PX_UPFAIL__COUNT)
        dx_warn("upstream %s", what);
    else
        px_upstream_failure_note(kind, what);
    struct dx_reply *reply =
        unavailable ? dx_reply_errorf(DX_E_SERVICE_UNAVAILABLE, "Service unavailable")
                    : dx_reply_errorf(DX_E_INTERNAL_SERVER_ERROR,
                                      "The server encountered an internal error trying to "
                                      "fulfill the request.");
    req_finish(r, reply);
}

static void req_start(struct up_req *r, int fresh);

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static struct up_conn *conn_new(struct up_pool *p)
{
    struct px_upstream *u = p->u;
    struct bufferevent *bev;
    if (u->tls) {
        SSL *ssl = SSL_new(u->ctx);
        if (!ssl)
            return NULL;
        /* SNI only for names (RFC 6066); the certificate check is for the name or the address. */
        int ok = u->ip_host ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u->host)
                            : SSL_set_tlsext_host_name(ssl, u->host) && SSL_set1_host(ssl, u->host);
        if (!ok) {
            SSL_free(ssl);
            return NULL;
        }
        bev = bufferevent_openssl_socket_new(p->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (!bev)
            return NULL; /* libevent freed ssl */
        /* An upstream that closes without close_notify after a complete answer is fine:
         * the framing tells complete from cut-off answers. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev)
        return NULL;
    struct up_conn *c = dx_calloc(1, sizeof(*c));
    c->pool = p;
    c->bev = bev;
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&u->addr, (int)u->addrlen) != 0) {
        conn_destroy(c);
        return NULL;
    }
    return c;
}

/* Detaches the request of c (if any) and returns it. */
static struct up_req *conn_detach(struct up_conn *c)
{
    struct up_req *r = c->req;
    c->req = NULL;
    if (r)
        r->conn = NULL;
    return r;
}

/* The answer of c is complete: body [hl, hl+blen) of the input, decoded already. */
static void conn_answered(struct up_conn *c, int status, const char *body, size_t blen,
                          size_t consumed)
{
    struct up_pool *p = c->pool;
    char *copy = dx_malloc(blen + 1);
    memcpy(copy, body, blen);
    copy[blen] = '\0';
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, consumed);
    struct up_req *r = conn_detach(c);
    int keep = c->resp.keep_alive && evbuffer_get_length(in) == 0 && p->nidle < p->u->max_idle;
    c->head_done = 0;
    c->got = 0;
    memset(&c->chunk, 0, sizeof(c->chunk));
    if (keep) {
        c->reused = 1;
        c->idle_next = p->idle;
        p->idle = c;
        p->nidle++;
    } else {
        conn_free(c);
    }
    if (status >= 500) {
        /* passed on as sent; counted and logged with the start of its body (the __type) */
        char what[640];
        int n = blen > 200 ? 200 : (int)blen;
        snprintf(what, sizeof(what), "%s: %s answered %d %.*s", p->u->url, dx_op_name(r->op),
                 status, n, copy);
        px_upstream_failure_note(PX_UPFAIL_5XX, what);
    }
    req_finish(r, dx_reply_new(status, copy, blen));
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct up_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    if (!c->req) {
        /* An idle connection has nothing to say: drop it. */
        conn_free(c);
        return;
    }
    if (!len)
        return;
    c->got = 1;
    /* A sized body: wait for all of it before making the input contiguous (once). */
    if (c->head_done && !c->resp.chunked && !c->resp.until_close &&
        len < c->resp.header_len + c->resp.content_length)
        return;
    char *p = (char *)evbuffer_pullup(in, -1);
    if (!c->head_done) {
        enum px_upresp_result rr = px_upresp_parse(p, len, &c->resp);
        if (rr == PX_UPRESP_AGAIN)
            return;
        if (rr == PX_UPRESP_ERROR) {
            struct up_req *r = conn_detach(c);
            conn_free(c);
            req_fail(r, 0, "sent a malformed HTTP response", PX_UPFAIL_TRANSPORT);
            return;
        }
        c->head_done = 1;
    }
    size_t hl = c->resp.header_len;
    if (c->resp.chunked) {
        size_t consumed;
        enum px_http_result cr =
            px_http_chunked_scan(p + hl, len - hl, MAX_RESPONSE_BODY, &c->chunk, &consumed);
        if (cr == PX_HTTP_AGAIN)
            return;
        if (cr == PX_HTTP_ERROR) {
            struct up_req *r = conn_detach(c);
            conn_free(c);
            req_fail(r, 0, "sent a malformed chunked body", PX_UPFAIL_TRANSPORT);
            return;
        }
        size_t blen;
        px_http_chunked_decode(p + hl, consumed, &blen);
        conn_answered(c, c->resp.status, p + hl, blen, hl + consumed);
        return;
    }
    if (c->resp.until_close)
        return; /* complete at EOF */
    if (len - hl < c->resp.content_length)
        return;
    conn_answered(c, c->resp.status, p + hl, (size_t)c->resp.content_length,
                  hl + (size_t)c->resp.content_length);
}

/* The output buffer drained: the request is in the kernel's hands (or the upstream's). */
static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct up_conn *c = arg;
    if (c->req)
        c->sent = 1;
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct up_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        c->connected = 1;
        return;
    }
    if (!c->req) {
        conn_free(c); /* an idle connection closed by the upstream */
        return;
    }
    if ((what & BEV_EVENT_EOF) && c->head_done && c->resp.until_close) {
        struct evbuffer *in = bufferevent_get_input(bev);
        size_t len = evbuffer_get_length(in);
        char *p = (char *)evbuffer_pullup(in, -1);
        size_t hl = c->resp.header_len;
        c->resp.keep_alive = 0;
        conn_answered(c, c->resp.status, p + hl, len - hl, len);
        return;
    }
    char reason[400];
    SSL *ssl = c->pool->u->tls ? bufferevent_openssl_get_ssl(bev) : NULL;
    unsigned long tls_err = ssl ? bufferevent_get_openssl_error(bev) : 0;
    long vr = ssl && !c->connected ? SSL_get_verify_result(ssl) : X509_V_OK;
    if ((what & BEV_EVENT_ERROR) && vr != X509_V_OK) {
        snprintf(reason, sizeof(reason), "TLS certificate verification failed for %s: %s",
                 c->pool->u->host, X509_verify_cert_error_string(vr));
    } else if ((what & BEV_EVENT_ERROR) && tls_err) {
        char es[256];
        ERR_error_string_n(tls_err, es, sizeof(es));
        snprintf(reason, sizeof(reason), "%s: %s",
                 c->connected ? "TLS connection failed" : "TLS handshake failed", es);
    } else if ((what & BEV_EVENT_ERROR) && ssl && !c->connected && !EVUTIL_SOCKET_ERROR()) {
        snprintf(reason, sizeof(reason), "TLS handshake failed (the upstream hung up)");
    } else if (what & BEV_EVENT_ERROR) {
        int e = EVUTIL_SOCKET_ERROR();
        snprintf(reason, sizeof(reason), "%s: %s",
                 c->connected ? "connection failed" : "cannot connect",
                 e ? evutil_socket_error_to_string(e) : "error");
    } else if (ssl && !c->connected) {
        snprintf(reason, sizeof(reason), "TLS handshake failed (the upstream hung up)");
    } else {
        snprintf(reason, sizeof(reason), "closed the connection %s",
                 c->got ? "in the middle of an answer" : "without answering");
    }
    int retry = c->reused && !c->got && (!(dx_op_flags(c->req->op) & DX_OPF_WRITE) || !c->sent);
    int unavailable = !c->connected;
    struct up_req *r = conn_detach(c);
    conn_free(c);
    if (retry && !r->retried) {
        dx_debug("upstream: reused connection was closed (%s); retrying once", reason);
        r->retried = 1;
        req_start(r, 1);
        return;
    }
    req_fail(r, unavailable, reason, unavailable ? PX_UPFAIL_CONNECT : PX_UPFAIL_TRANSPORT);
}

static void req_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct up_req *r = arg;
    struct up_conn *c = r->conn;
    int unavailable = c && !c->connected;
    if (c) {
        conn_detach(c);
        conn_free(c);
    }
    char reason[96];
    snprintf(reason, sizeof(reason), "%s within %d ms",
             !unavailable      ? "no answer"
             : r->pool->u->tls ? "no connection (TCP and TLS handshake)"
                               : "no connection",
             r->pool->u->timeout_ms);
    req_fail(r, unavailable, reason, PX_UPFAIL_TIMEOUT);
}

/* Sends r on an idle connection (unless fresh) or a new one. */
static void req_start(struct up_req *r, int fresh)
{
    struct up_pool *p = r->pool;
    struct up_conn *c = NULL;
    while (!fresh && p->idle && !c) {
        c = p->idle;
        p->idle = c->idle_next;
        c->idle_next = NULL;
        p->nidle--;
        /* Closed by the upstream (or talking out of turn) while idle: not usable. */
        char b;
        ssize_t n = recv(bufferevent_getfd(c->bev), &b, 1, MSG_PEEK | MSG_DONTWAIT);
        /* Over TLS, pending bytes may be a late session ticket: only EOF rules it out (a
         * close_notify that is still unread is caught by the retry). */
        int closed = p->u->tls ? n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                               : n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
        if (closed) {
            conn_destroy(c);
            c = NULL;
        }
    }
    if (!c)
        c = conn_new(p);
    if (!c) {
        req_fail(r, 1, "cannot create a connection", PX_UPFAIL_CONNECT);
        return;
    }
    c->req = r;
    r->conn = c;
    c->got = 0;
    c->sent = 0;
    c->head_done = 0;
    memset(&c->chunk, 0, sizeof(c->chunk));
    bufferevent_write(c->bev, r->buf, r->len);
}

/* --- building the request --- */

/* Headers never forwarded: hop-by-hop ones, the length we recompute, and Accept-Encoding
 * (the answer body is passed on as is, so it must not come back compressed). */
static int skip_header(const char *name, size_t n)
{
    static const char *const skip[] = {"connection",
                                       "keep-alive",
                                       "proxy-connection",
                                       "transfer-encoding",
                                       "content-length",
                                       "expect",
                                       "te",
                                       "upgrade",
                                       "trailer",
                                       "accept-encoding",
                                       "proxy-authorization"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (ieq(name, n, skip[i]))
            return 1;
    return 0;
}

static void put(char **w, const void *s, size_t n)
{
    memcpy(*w, s, n);
    *w += n;
}

/*
 * Re-signing: our own fixed header set, signed over all of it and the body. The client's head
 * is not consulted at all (its Authorization would not verify against our Host anyway), and
 * the target comes from the operation, which the front derived from the client's X-Amz-Target.
 */
static void build_resigned(struct px_upstream *u, const struct dx_call *call, struct up_req *r)
{
    char target[96], amz_date[32];
    snprintf(target, sizeof(target), "%s.%s",
             dx_op_service(call->op) == DX_SVC_STREAMS ? "DynamoDBStreams_20120810"
                                                       : "DynamoDB_20120810",
             dx_op_name(call->op));
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
    static const char ctype[] = "application/x-amz-json-1.0";
#define HDR(n, v)                                                                                  \
    {                                                                                              \
        n, sizeof(n) - 1, v, strlen(v)                                                             \
    }
    struct px_sigv4_header h[5] = {
        HDR("Host", u->hostport),
        HDR("X-Amz-Date", amz_date),
        HDR("X-Amz-Target", target),
        HDR("Content-Type", ctype),
        HDR("X-Amz-Security-Token", u->session_token ? u->session_token : ""),
    };
#undef HDR
    size_t nh = u->session_token ? 5 : 4;
    struct px_sigv4_request req = {.method = "POST",
                                   .method_len = 4,
                                   .path = "/",
                                   .path_len = 1,
                                   .query = "",
                                   .query_len = 0,
                                   .headers = h,
                                   .nheaders = nh,
                                   .body = call->body,
                                   .body_len = call->len};
    struct px_sigv4_params sp = {.access_key = u->access_key,
                                 .secret_key = u->secret_key,
                                 .region = u->region,
                                 .service = "dynamodb",
                                 .amz_date = amz_date,
                                 .normalize_path = 1};
    struct px_sigv4_result sr;
    px_sigv4_result_init(&sr);
    /* Cannot fail: every string was checked at px_upstream_new. */
    px_sigv4_sign(&req, &sp, &sr);
    size_t cap = call->len + sr.authorization.len + 512 + strlen(u->hostport) +
                 (u->session_token ? strlen(u->session_token) : 0);
    char *buf = dx_malloc(cap);
    char *w = buf;
    put(&w, "POST / HTTP/1.1\r\n", 17);
    for (size_t i = 0; i < nh; i++) {
        put(&w, h[i].name, h[i].name_len);
        put(&w, ": ", 2);
        put(&w, h[i].value, h[i].value_len);
        put(&w, "\r\n", 2);
    }
    put(&w, "Authorization: ", 15);
    put(&w, sr.authorization.p, sr.authorization.len);
    w += sprintf(w, "\r\nContent-Length: %zu\r\n\r\n", call->len);
    put(&w, call->body, call->len);
    px_sigv4_result_deinit(&sr);
    r->buf = buf;
    r->len = (size_t)(w - buf);
}

static void build_request(struct px_upstream *u, const struct dx_call *call, struct up_req *r)
{
    if (u->resign) {
        build_resigned(u, call, r);
        return;
    }
    size_t cap = call->len + call->head_len + strlen(u->hostport) + 256;
    char *buf = dx_malloc(cap);
    char *w = buf;
    put(&w, "POST / HTTP/1.1\r\n", 17);
    int have_host = 0, have_target = 0, have_ctype = 0;
    if (call->head && call->head_len) {
        const char *p = call->head, *end = call->head + call->head_len;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end; /* skip the request line */
        while (p < end) {
            const char *eol = memchr(p, '\n', (size_t)(end - p));
            if (!eol)
                eol = end;
            size_t ll = (size_t)(eol - p);
            if (ll && p[ll - 1] == '\r')
                ll--;
            if (!ll)
                break; /* the blank line */
            const char *colon = memchr(p, ':', ll);
            if (colon) {
                size_t nlen = (size_t)(colon - p);
                if (!skip_header(p, nlen)) {
                    have_host |= ieq(p, nlen, "host");
                    have_target |= ieq(p, nlen, "x-amz-target");
                    have_ctype |= ieq(p, nlen, "content-type");
                    put(&w, p, ll);
                    put(&w, "\r\n", 2);
                }
            }
            p = eol + 1;
        }
    }
    if (!have_host)
        w += sprintf(w, "Host: %s\r\n", u->hostport);
    if (!have_target)
        w += sprintf(w, "X-Amz-Target: %s.%s\r\n",
                     dx_op_service(call->op) == DX_SVC_STREAMS ? "DynamoDBStreams_20120810"
                                                               : "DynamoDB_20120810",
                     dx_op_name(call->op));
    if (!have_ctype)
        w += sprintf(w, "Content-Type: application/x-amz-json-1.0\r\n");
    w += sprintf(w, "Content-Length: %zu\r\n\r\n", call->len);
    put(&w, call->body, call->len);
    r->buf = buf;
    r->len = (size_t)(w - buf);
}

static void api_call(void *self, const struct dx_call *call, dx_api_done_cb done, void *arg)
{
    struct px_upstream *u = self;
    struct up_pool *p = pool_get(u);
    if (!p) {
        dx_error_log("upstream: called outside a worker thread");
        done(dx_reply_errorf(DX_E_INTERNAL_SERVER_ERROR, "The server encountered an internal "
                                                         "error trying to fulfill the request."),
             arg);
        return;
    }
    struct up_req *r = dx_calloc(1, sizeof(*r));
    r->pool = p;
    r->op = call->op;
    r->done = done;
    r->arg = arg;
    build_request(u, call, r);
    r->timer = evtimer_new(p->base, req_timeout_cb, r);
    struct timeval tv = {u->timeout_ms / 1000, (u->timeout_ms % 1000) * 1000};
    evtimer_add(r->timer, &tv);
    req_start(r, 0);
}

static const struct dx_api_vtbl upstream_vtbl = {.call = api_call};

struct dx_api px_upstream_api(struct px_upstream *u)
{
    struct dx_api a = {.vt = &upstream_vtbl, .self = u};
    return a;
}

/* Logs the OpenSSL error queue's oldest reason after what (and clears the queue). */
static void log_ssl_error(const char *what)
{
    char es[256] = "unknown error";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, es, sizeof(es));
    ERR_clear_error();
    dx_error_log("%s: %s", what, es);
}

/* The TLS context of u: TLS 1.2+, peer verification on, trusting ca_file or the system store. */
static int tls_ctx_new(struct px_upstream *u, const char *ca_file)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        log_ssl_error("cannot create a TLS context");
        return DX_EINVAL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (ca_file && *ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            char what[600];
            snprintf(what, sizeof(what), "cannot load the upstream CA file '%s'", ca_file);
            log_ssl_error(what);
            SSL_CTX_free(ctx);
            return DX_EINVAL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        log_ssl_error("cannot load the system's CA certificates");
        SSL_CTX_free(ctx);
        return DX_EINVAL;
    }
    u->ctx = ctx;
    return DX_OK;
}

static void upstream_free_fields(struct px_upstream *u)
{
    if (u->secret_key) {
        /* volatile stores: not optimized away as dead before the free */
        for (volatile char *c = u->secret_key; *c; c++)
            *c = 0;
    }
    dx_free(u->access_key);
    dx_free(u->secret_key);
    dx_free(u->session_token);
    dx_free(u->region);
    if (u->ctx)
        SSL_CTX_free(u->ctx);
}

int px_upstream_new(const struct px_upstream_options *o, struct px_upstream **out)
{
    struct px_upstream *u = dx_calloc(1, sizeof(*u));
    const char *why;
    if (strlen(o->url) >= sizeof(u->url) ||
        px_upstream_parse_url(o->url, u->host, sizeof(u->host), &u->port, &why) != DX_OK) {
        dx_error_log("bad upstream URL '%s': %s", o->url, why ? why : "too long");
        dx_free(u);
        return DX_EINVAL;
    }
    snprintf(u->url, sizeof(u->url), "%s", o->url);
    int v6 = strchr(u->host, ':') != NULL;
    u->tls = !strncasecmp(o->url, "https://", 8);
    /* Host as a browser would send it: no port when it is https's default (AWS signs it so). */
    if (u->tls && u->port == 443)
        snprintf(u->hostport, sizeof(u->hostport), "%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "");
    else
        snprintf(u->hostport, sizeof(u->hostport), "%s%s%s:%d", v6 ? "[" : "", u->host,
                 v6 ? "]" : "", u->port);
    unsigned char ipbuf[16];
    u->ip_host =
        inet_pton(AF_INET, u->host, ipbuf) == 1 || inet_pton(AF_INET6, u->host, ipbuf) == 1;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", u->port);
    int gai = getaddrinfo(u->host, ps, &hints, &res);
    if (gai != 0) {
        dx_error_log("cannot resolve upstream host '%s': %s", u->host, gai_strerror(gai));
        dx_free(u);
        return DX_EINVAL;
    }
    memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
    u->addrlen = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    if (o->resign) {
        if (!o->access_key || !*o->access_key || !o->secret_key || !*o->secret_key || !o->region ||
            !*o->region) {
            dx_error_log("re-signing upstream requests needs an access key, a secret key and a "
                         "region");
            dx_free(u);
            return DX_EINVAL;
        }
        u->resign = 1;
        u->access_key = dx_strdup(o->access_key);
        u->secret_key = dx_strdup(o->secret_key);
        u->region = dx_strdup(o->region);
        if (o->session_token && *o->session_token)
            u->session_token = dx_strdup(o->session_token);
    }
    if (u->tls && tls_ctx_new(u, o->ca_file) != DX_OK) {
        upstream_free_fields(u);
        dx_free(u);
        return DX_EINVAL;
    }
    u->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    u->max_idle = o->max_idle_conns > 0 ? o->max_idle_conns : 64;
    u->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_SEQ_CST);
    atomic_store(&any_upstream, 1);
    pthread_mutex_init(&u->mu, NULL);
    *out = u;
    return DX_OK;
}

void px_upstream_free(struct px_upstream *u)
{
    if (!u)
        return;
    struct up_pool *p = u->pools;
    while (p) {
        struct up_pool *next = p->next;
        while (p->conns) {
            struct up_conn *c = p->conns;
            struct up_req *r = conn_detach(c);
            conn_free(c);
            if (r)
                req_fail(r, 1, "shutting down", PX_UPFAIL__COUNT);
        }
        dx_free(p);
        p = next;
    }
    pthread_mutex_destroy(&u->mu);
    upstream_free_fields(u);
    dx_free(u);
}
