/*
 * px_upstream: the response framer (a table, each case also fed one byte at a time: every
 * strict prefix of a good head must say "need more bytes"), the URL parser, and real loopback
 * exchanges with a small fake upstream written here with plain sockets and a thread:
 * forwarding with the client's headers, keep-alive reuse, an upstream 400 passed through as
 * sent, the stale keep-alive retry, upstream down (503) and a silent upstream (timeout, 500).
 * Re-signing: the fake upstream's received request verifies with px_sigv4_verify against the
 * proxy's credentials (and a tampered copy does not).
 * https: a throwaway CA and server certificates made here in memory, a TLS fake upstream in a
 * thread: a forwarded request arrives and its answer comes back over one reused connection;
 * a certificate for another name, or from a CA we were not told to trust, is a 503.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "dx_api.h"
#include "dx_error.h"
#include "dx_status.h"
#include "px_sigv4.h"
#include "px_upstream.h"

/* --- response framing --- */

struct rcase {
    const char *name;
    const char *raw;
    int result;
    int status;
    int keep_alive, chunked, until_close;
    long long content_length; /* -1: none */
    size_t header_len;        /* 0: strlen(raw) */
};

static const struct rcase rcases[] = {
    {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", PX_UPRESP_DONE, 200, 1, 0,
     0, 12, 0},
    {"error passed through", "HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\n",
     PX_UPRESP_DONE, 400, 1, 0, 0, 3, 0},
    {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", PX_UPRESP_DONE, 200, 1, 1,
     0, -1, 0},
    {"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
     PX_UPRESP_DONE, 200, 0, 0, 0, 0, 0},
    {"http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", PX_UPRESP_DONE, 200, 0, 0,
     0, 1, 0},
    {"http/1.0 keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n", PX_UPRESP_DONE, 200,
     1, 0, 0, 1, 0},
    {"no length: until close", "HTTP/1.1 500 Oops\r\n\r\n", PX_UPRESP_DONE, 500, 0, 0, 1, -1, 0},
    {"204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", PX_UPRESP_DONE, 204, 1, 0, 0, 0, 0},
    {"100 continue skipped",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", PX_UPRESP_DONE,
     200, 1, 0, 0, 2, 0},
    {"header case and spaces", "HTTP/1.1 200 OK\r\nCONTENT-LENGTH:   7  \r\n\r\n", PX_UPRESP_DONE,
     200, 1, 0, 0, 7, 0},
    {"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
     PX_UPRESP_DONE, 200, 1, 0, 0, 2, 0},
    {"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
     PX_UPRESP_ERROR, 0, 0, 0, 0, 0, 0},
    {"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", PX_UPRESP_ERROR, 0, 0, 0, 0, 0,
     0},
    {"not http", "SSH-2.0-OpenSSH\r\n\r\n", PX_UPRESP_ERROR, 0, 0, 0, 0, 0, 0},
    {"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", PX_UPRESP_ERROR, 0, 0, 0, 0, 0, 0},
    {"header without colon", "HTTP/1.1 200 OK\r\nbogus\r\n\r\n", PX_UPRESP_ERROR, 0, 0, 0, 0, 0, 0},
    {"switching protocols", "HTTP/1.1 101 Switching\r\n\r\n", PX_UPRESP_ERROR, 0, 0, 0, 0, 0, 0},
};

static void check_case(const struct rcase *c, const char *buf, size_t len)
{
    struct px_upresp r;
    int got = px_upresp_parse(buf, len, &r);
    if (got != c->result)
        fail_msg("%s: result %d, want %d", c->name, got, c->result);
    if (c->result != PX_UPRESP_DONE)
        return;
    assert_int_equal(r.status, c->status);
    assert_int_equal(r.keep_alive, c->keep_alive);
    assert_int_equal(r.chunked, c->chunked);
    assert_int_equal(r.until_close, c->until_close);
    if (c->content_length >= 0) {
        assert_true(r.has_content_length);
        assert_int_equal(r.content_length, c->content_length);
    } else {
        assert_false(r.has_content_length);
    }
    assert_int_equal(r.header_len, c->header_len ? c->header_len : strlen(c->raw));
}

static void test_response_table(void **state)
{
    for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
        const struct rcase *c = &rcases[i];
        size_t n = strlen(c->raw);
        check_case(c, c->raw, n);
        /* with body bytes after the head: same head */
        char big[512];
        snprintf(big, sizeof(big), "%sBODYBYTES", c->raw);
        check_case(c, big, strlen(big));
        /* byte at a time: a good head is "need more" until its last byte */
        if (c->result == PX_UPRESP_DONE) {
            for (size_t k = 0; k < n; k++) {
                struct px_upresp r;
                if (px_upresp_parse(c->raw, k, &r) != PX_UPRESP_AGAIN)
                    fail_msg("%s: prefix of %zu bytes is not AGAIN", c->name, k);
            }
        }
    }
}

static void test_url(void **state)
{
    static const struct {
        const char *url;
        int ok;
        const char *host;
        int port;
    } cases[] = {
        {"http://127.0.0.1:8000", 1, "127.0.0.1", 8000},
        {"http://localhost:8000/", 1, "localhost", 8000},
        {"http://example.com", 1, "example.com", 80},
        {"HTTP://[::1]:9000", 1, "::1", 9000},
        {"https://dynamodb.us-east-1.amazonaws.com", 1, "dynamodb.us-east-1.amazonaws.com", 443},
        {"HTTPS://127.0.0.1:8443/", 1, "127.0.0.1", 8443},
        {"https://", 0, NULL, 0},
        {"ftp://x", 0, NULL, 0},
        {"http://", 0, NULL, 0},
        {"http://h:0", 0, NULL, 0},
        {"http://h:99999", 0, NULL, 0},
        {"http://h:80/path", 0, NULL, 0},
        {"http://[::1", 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[64];
        int port = -1;
        const char *why = NULL;
        int rc = px_upstream_parse_url(cases[i].url, host, sizeof(host), &port, &why);
        if (!cases[i].ok) {
            assert_int_equal(rc, DX_EINVAL);
            assert_non_null(why);
            continue;
        }
        assert_int_equal(rc, DX_OK);
        assert_string_equal(host, cases[i].host);
        assert_int_equal(port, cases[i].port);
    }
}

/* --- a fake upstream: plain TCP, or TLS when started with fake_start_tls --- */

enum fake_mode { FAKE_ANSWER, FAKE_SILENT, FAKE_CLOSE_SECOND };

struct fake {
    int lfd, port;
    pthread_t th;
    enum fake_mode mode;
    const char *response; /* the whole answer, head and body */
    SSL_CTX *ctx;         /* TLS: the server's certificate and key; NULL: plain TCP */
    int accepted, handshakes, requests;
    char sni[256]; /* TLS: the server name the client asked for ("": none) */
    char last[8192];
    size_t last_len;
    char buf[8192]; /* the request being read: the test reads last meanwhile */
    volatile int stop;
};

static ssize_t fake_recv(SSL *ssl, int fd, char *p, size_t n)
{
    return ssl ? SSL_read(ssl, p, (int)n) : read(fd, p, n);
}

static ssize_t fake_send(SSL *ssl, int fd, const char *p, size_t n)
{
    return ssl ? SSL_write(ssl, p, (int)n) : write(fd, p, n);
}

/* Reads one request from fd (over ssl when not NULL) into f->last. Returns 0, or -1 at
 * EOF/error/stop. */
static int fake_read_request(struct fake *f, SSL *ssl, int fd)
{
    size_t have = 0;
    for (;;) {
        f->buf[have] = '\0';
        char *end = strstr(f->buf, "\r\n\r\n");
        if (end) {
            const char *cl = strstr(f->buf, "Content-Length: ");
            size_t want = (size_t)(end + 4 - f->buf) + (cl ? (size_t)atoi(cl + 16) : 0);
            if (have >= want) {
                memcpy(f->last, f->buf, have + 1);
                f->last_len = have;
                return 0;
            }
        }
        if (!ssl || !SSL_pending(ssl)) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 100) == 0) {
                if (f->stop)
                    return -1;
                continue;
            }
        }
        ssize_t n = fake_recv(ssl, fd, f->buf + have, sizeof(f->buf) - 1 - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
}

/* One client connection: the TLS handshake if any, then requests and answers by mode. */
static void fake_serve(struct fake *f, int fd)
{
    SSL *ssl = NULL;
    if (f->ctx) {
        struct timeval tv = {2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ssl = SSL_new(f->ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) {
            ERR_clear_error();
            SSL_free(ssl);
            return;
        }
        const char *sn = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        snprintf(f->sni, sizeof(f->sni), "%s", sn ? sn : "");
        __atomic_add_fetch(&f->handshakes, 1, __ATOMIC_SEQ_CST);
    }
    int on_conn = 0;
    while (!f->stop && fake_read_request(f, ssl, fd) == 0) {
        on_conn++;
        __atomic_add_fetch(&f->requests, 1, __ATOMIC_SEQ_CST);
        if (f->mode == FAKE_SILENT)
            continue; /* never answers; waits for the client to give up */
        if (f->mode == FAKE_CLOSE_SECOND && on_conn == 2)
            break; /* a keep-alive connection closed under a request */
        if (fake_send(ssl, fd, f->response, strlen(f->response)) <= 0)
            break;
    }
    if (ssl) {
        ERR_clear_error();
        SSL_free(ssl);
    }
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    while (!f->stop) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        __atomic_add_fetch(&f->accepted, 1, __ATOMIC_SEQ_CST);
        fake_serve(f, fd);
        close(fd);
    }
    return NULL;
}

/* Listens on a free loopback port; ctx (owned by f from now on) NULL for plain TCP. */
static void fake_listen(struct fake *f, enum fake_mode mode, const char *response, SSL_CTX *ctx)
{
    memset(f, 0, sizeof(*f));
    f->mode = mode;
    f->response = response;
    f->ctx = ctx;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->lfd, 16), 0);
    socklen_t l = sizeof(a);
    getsockname(f->lfd, (struct sockaddr *)&a, &l);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->th, NULL, fake_main, f);
}

static void fake_start(struct fake *f, enum fake_mode mode, const char *response)
{
    fake_listen(f, mode, response, NULL);
}

static void fake_stop(struct fake *f)
{
    f->stop = 1;
    pthread_join(f->th, NULL);
    close(f->lfd);
    SSL_CTX_free(f->ctx);
}

/* --- the client side --- */

struct result {
    struct event_base *base;
    int done;
    int status;
    char body[1024];
    size_t body_len;
};

static void on_done(struct dx_reply *r, void *arg)
{
    struct result *res = arg;
    res->done = 1;
    res->status = r->status;
    res->body_len = r->len;
    snprintf(res->body, sizeof(res->body), "%.*s", (int)r->len, r->body);
    dx_reply_free(r);
    event_base_loopbreak(res->base);
}

static void call(struct event_base *base, struct px_upstream *u, const struct dx_call *c,
                 struct result *res)
{
    memset(res, 0, sizeof(*res));
    res->base = base;
    struct dx_api api = px_upstream_api(u);
    dx_api_call(&api, c, on_done, res);
    while (!res->done)
        event_base_loop(base, EVLOOP_ONCE);
}

static struct px_upstream *upstream_to(int port, int timeout_ms)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    struct px_upstream_options o = {.url = url, .timeout_ms = timeout_ms};
    struct px_upstream *u = NULL;
    assert_int_equal(px_upstream_new(&o, &u), DX_OK);
    return u;
}

#define OK_ANSWER "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"Item\":{}}"
#define LIST_BODY "{}"

/* A fake upstream (mode, response) and a px_upstream pointed at it with timeout_ms, on an
 * event base of the test's own; rig_stop releases all three. */
static void rig_start(struct fake *f, struct event_base **base, struct px_upstream **u,
                      enum fake_mode mode, const char *response, int timeout_ms)
{
    fake_start(f, mode, response);
    *base = event_base_new();
    px_upstream_use_base(*base);
    *u = upstream_to(f->port, timeout_ms);
}

static void rig_stop(struct fake *f, struct event_base *base, struct px_upstream *u)
{
    px_upstream_free(u);
    px_upstream_use_base(NULL);
    event_base_free(base);
    fake_stop(f);
}

static void test_forwarding_and_keepalive(void **state)
{
    struct fake f;
    struct event_base *base;
    struct px_upstream *u;
    rig_start(&f, &base, &u, FAKE_ANSWER, OK_ANSWER, 5000);

    /* Without a client head: our own target, content type and host. */
    struct dx_call c = {.op = DX_OP_GetItem, .body = LIST_BODY, .len = 2};
    struct result res;
    call(base, u, &c, &res);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "{\"Item\":{}}");
    assert_non_null(strstr(f.last, "POST / HTTP/1.1\r\n"));
    assert_non_null(strstr(f.last, "X-Amz-Target: DynamoDB_20120810.GetItem\r\n"));
    assert_non_null(strstr(f.last, "Content-Type: application/x-amz-json-1.0\r\n"));
    char host[64];
    snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\r\n", f.port);
    assert_non_null(strstr(f.last, host));
    assert_non_null(strstr(f.last, "\r\n\r\n{}"));

    /* With the client's head: its headers go along unchanged, hop-by-hop ones do not. */
    static const char head[] = "POST / HTTP/1.1\r\n"
                               "Host: client.example:8000\r\n"
                               "X-Amz-Target: DynamoDB_20120810.GetItem\r\n"
                               "Content-Type: application/x-amz-json-1.0\r\n"
                               "X-Amz-Date: 20261125T093000Z\r\n"
                               "X-Amz-Security-Token: tok\r\n"
                               "Authorization: AWS4-HMAC-SHA256 Credential=x, Signature=abc\r\n"
                               "Connection: keep-alive\r\n"
                               "Accept-Encoding: gzip\r\n"
                               "Content-Length: 2\r\n"
                               "\r\n";
    c.head = head;
    c.head_len = sizeof(head) - 1;
    call(base, u, &c, &res);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(f.last, "Host: client.example:8000\r\n"));
    assert_null(strstr(f.last, host));
    assert_non_null(strstr(f.last, "X-Amz-Date: 20261125T093000Z\r\n"));
    assert_non_null(strstr(f.last, "X-Amz-Security-Token: tok\r\n"));
    assert_non_null(strstr(f.last, "Authorization: AWS4-HMAC-SHA256 Credential=x, Signature=abc"));
    assert_null(strstr(f.last, "gzip"));
    assert_null(strstr(f.last, "Connection:"));
    assert_non_null(strstr(f.last, "Content-Length: 2\r\n\r\n{}"));

    /* A Streams operation gets the Streams prefix. */
    struct dx_call s = {.op = DX_OP_ListStreams, .body = LIST_BODY, .len = 2};
    call(base, u, &s, &res);
    assert_non_null(strstr(f.last, "X-Amz-Target: DynamoDBStreams_20120810.ListStreams\r\n"));

    /* All of that on one keep-alive connection. */
    assert_int_equal(f.requests, 3);
    assert_int_equal(f.accepted, 1);

    rig_stop(&f, base, u);
}

static void test_error_passed_through(void **state)
{
    static const char answer[] =
        "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        "a\r\n{\"__type\":\r\n"
        "3e\r\n\"com.amazon.coral.validate#ValidationException\",\"message\":\"x\"}\r\n"
        "0\r\n\r\n";
    struct fake f;
    struct event_base *base;
    struct px_upstream *u;
    rig_start(&f, &base, &u, FAKE_ANSWER, answer, 5000);
    struct dx_call c = {.op = DX_OP_PutItem, .body = LIST_BODY, .len = 2};
    struct result res;
    call(base, u, &c, &res);
    assert_int_equal(res.status, 400);
    assert_string_equal(res.body,
                        "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":"
                        "\"x\"}");
    rig_stop(&f, base, u);
}

static void test_large_body_in_pieces(void **state)
{
    /* 1 MiB of body arrives over many reads; framed whole, then the next call reuses it */
    size_t n = 1024 * 1024;
    char *resp = malloc(n + 128);
    int hl = sprintf(resp, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
    memset(resp + hl, 'x', n);
    resp[hl + n] = '\0';
    struct fake f;
    struct event_base *base;
    struct px_upstream *u;
    rig_start(&f, &base, &u, FAKE_ANSWER, resp, 5000);
    struct dx_call c = {.op = DX_OP_Scan, .body = LIST_BODY, .len = 2};
    struct result res;
    for (int i = 0; i < 2; i++) {
        call(base, u, &c, &res);
        assert_int_equal(res.status, 200);
        assert_int_equal(res.body_len, n);
    }
    assert_int_equal(f.accepted, 1);
    rig_stop(&f, base, u);
    free(resp);
}

static void test_stale_keepalive_retried_once(void **state)
{
    struct fake f;
    struct event_base *base;
    struct px_upstream *u;
    rig_start(&f, &base, &u, FAKE_CLOSE_SECOND, OK_ANSWER, 5000);
    struct dx_call c = {.op = DX_OP_GetItem, .body = LIST_BODY, .len = 2};
    struct result res;
    call(base, u, &c, &res);
    assert_int_equal(res.status, 200);
    /* second request on the reused connection: closed without an answer, resent on a new one */
    call(base, u, &c, &res);
    assert_int_equal(res.status, 200);
    assert_int_equal(f.accepted, 2);
    assert_int_equal(f.requests, 3);
    rig_stop(&f, base, u);
}

static void test_sent_write_not_retried(void **state)
{
    /* A write that reached the upstream is never sent twice: the upstream may have done it. */
    struct fake f;
    struct event_base *base;
    struct px_upstream *u;
    rig_start(&f, &base, &u, FAKE_CLOSE_SECOND, OK_ANSWER, 5000);
    struct dx_call c = {.op = DX_OP_UpdateItem, .body = LIST_BODY, .len = 2};
    struct result res;
    call(base, u, &c, &res);
    assert_int_equal(res.status, 200);
    call(base, u, &c, &res);
    assert_int_equal(res.status, 500);
    assert_non_null(strstr(res.body, "InternalServerError"));
    assert_int_equal(f.accepted, 1);
    assert_int_equal(f.requests, 2);
    rig_stop(&f, base, u);
}

static void test_upstream_down(void **state)
{
    /* a port nobody listens on */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);

    struct event_base *base = event_base_new();
    px_upstream_use_base(base);
    struct px_upstream *u = upstream_to(ntohs(a.sin_port), 5000);
    struct dx_call c = {.op = DX_OP_GetItem, .body = LIST_BODY, .len = 2};
    struct result res;
    call(base, u, &c, &res);
    assert_int_equal(res.status, 503);
    assert_non_null(
        strstr(res.body, "\"com.amazonaws.dynamodb.v20120810#ServiceUnavailableException\""));
    px_upstream_free(u);
    px_upstream_use_base(NULL);
    event_base_free(base);
}

static void test_timeout(void **state)
{
    struct fake f;
    struct event_base *base;
    struct px_upstream *u;
    rig_start(&f, &base, &u, FAKE_SILENT, OK_ANSWER, 200);
    struct dx_call c = {.op = DX_OP_GetItem, .body = LIST_BODY, .len = 2};
    struct result res;
    call(base, u, &c, &res);
    assert_int_equal(res.status, 500);
    assert_non_null(strstr(res.body, "\"com.amazonaws.dynamodb.v20120810#InternalServerError\""));
    rig_stop(&f, base, u);
}

static void on_done_nobase(struct dx_reply *r, void *arg)
{
    *(int *)arg = r->status;
    dx_reply_free(r);
}

static void test_outside_worker(void **state)
{
    /* no event loop on this thread: an error answer at once, not a crash */
    struct px_upstream *u = upstream_to(9, 1000);
    struct dx_call c = {.op = DX_OP_GetItem, .body = LIST_BODY, .len = 2};
    int status = 0;
    struct dx_api api = px_upstream_api(u);
    dx_api_call(&api, &c, on_done_nobase, &status);
    assert_int_equal(status, 500);
    px_upstream_free(u);
}

/* --- re-signing --- */

#define RS_KEY    "AKIDPROXY"
#define RS_SECRET "proxysecret/K7MDENG"
#define RS_REGION "eu-west-3"

static int rs_lookup(void *ctx, const char *ak, size_t len, const char **secret)
{
    if (len == strlen(RS_KEY) && !memcmp(ak, RS_KEY, len)) {
        *secret = RS_SECRET;
        return 1;
    }
    return 0;
}

/* Parses the raw request the fake received (its headers, at most 16) and verifies it as a
 * DynamoDB endpoint would, with the proxy's credentials. */
static int rs_verify(const char *raw, size_t len, struct dx_error *err)
{
    struct px_sigv4_header h[16];
    size_t nh = 0;
    const char *p = strstr(raw, "\r\n") + 2;
    const char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    while (p < end) {
        const char *eol = strstr(p, "\r\n");
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        assert_non_null(colon);
        assert_true(nh < 16);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        h[nh++] = (struct px_sigv4_header){p, (size_t)(colon - p), v, (size_t)(eol - v)};
        p = eol + 2;
    }
    struct px_sigv4_request req = {.method = "POST",
                                   .method_len = 4,
                                   .path = "/",
                                   .path_len = 1,
                                   .query = "",
                                   .headers = h,
                                   .nheaders = nh,
                                   .body = end + 4,
                                   .body_len = len - (size_t)(end + 4 - raw)};
    struct px_sigv4_verify_opts o = {.region = RS_REGION,
                                     .now = (int64_t)time(NULL),
                                     .normalize_path = 1,
                                     .require_dynamodb_headers = 1,
                                     .lookup = rs_lookup};
    return px_sigv4_verify(&req, &o, err);
}

static void test_resign(void **state)
{
    static const struct {
        const char *name;
        const char *token; /* NULL: no session token */
        const char *head;  /* the client's head, or NULL (a request the cache rebuilt) */
        enum dx_op op;
        const char *body;
        const char *target;
    } cases[] = {
        {"rebuilt by the cache", NULL, NULL, DX_OP_BatchGetItem,
         "{\"RequestItems\":{\"t\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}}]}}}",
         "DynamoDB_20120810.BatchGetItem"},
        {"client head replaced", NULL,
         "POST / HTTP/1.1\r\nHost: client.example:8000\r\n"
         "X-Amz-Target: DynamoDB_20120810.GetItem\r\n"
         "X-Amz-Date: 20200101T000000Z\r\nX-Amz-Security-Token: clienttok\r\n"
         "Authorization: AWS4-HMAC-SHA256 Credential=AKIDCLIENT/20200101/us-east-1/dynamodb/"
         "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc\r\n"
         "Content-Length: 2\r\n\r\n",
         DX_OP_GetItem, "{}", "DynamoDB_20120810.GetItem"},
        {"session token signed", "FQoGZXIvYXdzEXAMPLE", NULL, DX_OP_PutItem,
         "{\"TableName\":\"t\"}", "DynamoDB_20120810.PutItem"},
        {"streams target", NULL, NULL, DX_OP_ListStreams, "{}",
         "DynamoDBStreams_20120810.ListStreams"},
    };
    struct fake f;
    fake_start(&f, FAKE_ANSWER, OK_ANSWER);
    struct event_base *base = event_base_new();
    px_upstream_use_base(base);
    char url[64], host[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
    snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\r\n", f.port);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct px_upstream_options o = {.url = url,
                                        .timeout_ms = 5000,
                                        .resign = 1,
                                        .access_key = RS_KEY,
                                        .secret_key = RS_SECRET,
                                        .session_token = cases[i].token,
                                        .region = RS_REGION};
        struct px_upstream *u = NULL;
        assert_int_equal(px_upstream_new(&o, &u), DX_OK);
        struct dx_call c = {.op = cases[i].op, .body = cases[i].body, .len = strlen(cases[i].body)};
        if (cases[i].head) {
            c.head = cases[i].head;
            c.head_len = strlen(cases[i].head);
        }
        struct result res;
        call(base, u, &c, &res);
        assert_int_equal(res.status, 200);

        char raw[8192];
        size_t len = f.last_len;
        memcpy(raw, f.last, len);
        raw[len] = '\0';
        struct dx_error err = {0};
        if (rs_verify(raw, len, &err) != DX_OK)
            fail_msg("%s: does not verify: %s", cases[i].name, err.msg ? err.msg : "");
        /* Exactly our headers: the upstream's Host, nothing of the client's. */
        assert_non_null(strstr(raw, host));
        char target[128];
        snprintf(target, sizeof(target), "X-Amz-Target: %s\r\n", cases[i].target);
        assert_non_null(strstr(raw, target));
        assert_non_null(strstr(raw, "Content-Type: application/x-amz-json-1.0\r\n"));
        assert_non_null(strstr(raw, "Credential=" RS_KEY "/"));
        assert_non_null(strstr(raw, "/" RS_REGION "/dynamodb/aws4_request"));
        assert_null(strstr(raw, "client"));
        assert_null(strstr(raw, "AKIDCLIENT"));
        assert_null(strstr(raw, RS_SECRET));
        if (cases[i].token) {
            assert_non_null(strstr(raw, "x-amz-security-token"));
            char tok[128];
            snprintf(tok, sizeof(tok), "X-Amz-Security-Token: %s\r\n", cases[i].token);
            assert_non_null(strstr(raw, tok));
        } else {
            assert_null(strstr(raw, "X-Amz-Security-Token"));
        }

        /* Tampered: a changed body byte, or the body signed for another region/secret. */
        char bad[8192];
        memcpy(bad, raw, len + 1);
        bad[len - 1] ^= 1;
        assert_int_equal(rs_verify(bad, len, &err), DX_EREQ);
        assert_int_equal(err.code, DX_E_INVALID_SIGNATURE);
        memcpy(bad, raw, len + 1);
        char *t = strstr(bad, "X-Amz-Target: ") + 14;
        *t = 'X'; /* the target is signed too */
        assert_int_equal(rs_verify(bad, len, &err), DX_EREQ);
        dx_error_clear(&err);
        px_upstream_free(u);
    }
    /* A wrong secret does not verify either: the signature is over our secret. */
    struct px_upstream_options o = {.url = url,
                                    .resign = 1,
                                    .access_key = RS_KEY,
                                    .secret_key = "someoneelse",
                                    .region = RS_REGION};
    struct px_upstream *u = NULL;
    assert_int_equal(px_upstream_new(&o, &u), DX_OK);
    struct dx_call c = {.op = DX_OP_GetItem, .body = LIST_BODY, .len = 2};
    struct result res;
    call(base, u, &c, &res);
    struct dx_error err = {0};
    assert_int_equal(rs_verify(f.last, f.last_len, &err), DX_EREQ);
    assert_int_equal(err.code, DX_E_INVALID_SIGNATURE);
    dx_error_clear(&err);
    px_upstream_free(u);

    /* Re-signing without a secret or a region is refused. */
    o.secret_key = NULL;
    assert_int_equal(px_upstream_new(&o, &u), DX_EINVAL);
    o.secret_key = "s";
    o.region = "";
    assert_int_equal(px_upstream_new(&o, &u), DX_EINVAL);

    px_upstream_use_base(NULL);
    event_base_free(base);
    fake_stop(&f);
}

/* --- https --- */

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A certificate for key, named cn, signed by issuer/ikey (NULL: self-signed CA). san: the
 * subjectAltName of a server certificate. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, const char *san)
{
    static long serial = 1;
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600);
    X509_set_pubkey(c, key);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    if (!issuer) {
        add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(c, issuer, NID_basic_constraints, "CA:FALSE");
        add_ext(c, issuer, NID_ext_key_usage, "serverAuth");
        add_ext(c, issuer, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(c, ikey ? ikey : key, EVP_sha256()) > 0);
    return c;
}

/* A TLS fake upstream presenting cert (with key), answering every request with OK_ANSWER. */
static void fake_start_tls(struct fake *f, X509 *cert, EVP_PKEY *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate(ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
    fake_listen(f, FAKE_ANSWER, OK_ANSWER, ctx);
}

/* Writes cert as PEM to a new temporary file; path gets its name. */
static void write_pem(X509 *cert, char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/test_px_upstream_ca_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    assert_int_equal(PEM_write_X509(fp, cert), 1);
    fclose(fp);
}

/* Does "localhost" resolve to 127.0.0.1 first (as px_upstream connects to the first address)? */
static int localhost_is_v4(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo("localhost", "443", &hints, &res) != 0)
        return 0;
    int v4 = res->ai_family == AF_INET;
    freeaddrinfo(res);
    return v4;
}

struct tls_case {
    const char *name;
    const char *host; /* in the URL */
    const char *san;  /* of the server certificate */
    int other_ca;     /* signed by a CA that is not in the CA file */
    int want_status;  /* 200: answered; 503: refused before any request */
};

static void test_https(void **state)
{
    static const struct tls_case cases[] = {
        {"trusted, right address", "127.0.0.1", "IP:127.0.0.1,DNS:localhost", 0, 200},
        {"trusted, right name", "localhost", "DNS:localhost", 0, 200},
        {"certificate for another address", "127.0.0.1", "DNS:wrong.example,IP:127.0.0.2", 0, 503},
        {"certificate for another name", "localhost", "DNS:wrong.example,IP:127.0.0.1", 0, 503},
        {"untrusted CA", "127.0.0.1", "IP:127.0.0.1", 1, 503},
    };
    EVP_PKEY *ca_key = new_key(), *other_key = new_key(), *srv_key = new_key();
    X509 *ca = new_cert(ca_key, "ddax test CA", NULL, NULL, NULL);
    X509 *other = new_cert(other_key, "someone else's CA", NULL, NULL, NULL);
    char ca_path[64];
    write_pem(ca, ca_path, sizeof(ca_path));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct tls_case *tc = &cases[i];
        if (!strcmp(tc->host, "localhost") && !localhost_is_v4())
            continue; /* the fake listens on 127.0.0.1 only */
        X509 *srv = tc->other_ca ? new_cert(srv_key, "server", other, other_key, tc->san)
                                 : new_cert(srv_key, "server", ca, ca_key, tc->san);
        struct fake f;
        fake_start_tls(&f, srv, srv_key);
        struct event_base *base = event_base_new();
        px_upstream_use_base(base);
        char url[64];
        snprintf(url, sizeof(url), "https://%s:%d", tc->host, f.port);
        struct px_upstream_options o = {.url = url, .timeout_ms = 5000, .ca_file = ca_path};
        struct px_upstream *u = NULL;
        assert_int_equal(px_upstream_new(&o, &u), DX_OK);
        struct dx_call c = {.op = DX_OP_GetItem, .body = LIST_BODY, .len = 2};
        struct result res;
        for (int k = 0; k < 3; k++) {
            call(base, u, &c, &res);
            if (res.status != tc->want_status)
                fail_msg("%s: status %d, want %d (%s)", tc->name, res.status, tc->want_status,
                         res.body);
        }
        if (tc->want_status == 200) {
            assert_string_equal(res.body, "{\"Item\":{}}");
            assert_non_null(strstr(f.last, "X-Amz-Target: DynamoDB_20120810.GetItem\r\n"));
            char host[64];
            snprintf(host, sizeof(host), "Host: %s:%d\r\n", tc->host, f.port);
            assert_non_null(strstr(f.last, host));
            /* SNI for names only (RFC 6066 has none for addresses) */
            assert_string_equal(f.sni, strcmp(tc->host, "localhost") ? "" : "localhost");
            assert_non_null(strstr(f.last, "\r\n\r\n{}"));
            /* keep-alive: one handshake for all three */
            assert_int_equal(f.requests, 3);
            assert_int_equal(f.handshakes, 1);
        } else {
            assert_non_null(strstr(
                res.body, "\"com.amazonaws.dynamodb.v20120810#ServiceUnavailableException\""));
            assert_int_equal(f.requests, 0);
        }
        px_upstream_free(u);
        px_upstream_use_base(NULL);
        event_base_free(base);
        fake_stop(&f);
        X509_free(srv);
    }
    unlink(ca_path);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(srv_key);
}

static void test_https_options(void **state)
{
    struct px_upstream *u = NULL;
    /* A CA file that cannot be read: refused at startup, not at the first request. */
    struct px_upstream_options o = {.url = "https://127.0.0.1:8443",
                                    .ca_file = "/nonexistent/ca.pem"};
    assert_int_equal(px_upstream_new(&o, &u), DX_EINVAL);
    /* A plain http server at an https URL never completes a handshake: 503. */
    struct fake f;
    fake_start(&f, FAKE_ANSWER, OK_ANSWER);
    struct event_base *base = event_base_new();
    px_upstream_use_base(base);
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", f.port);
    struct px_upstream_options h = {.url = url, .timeout_ms = 300};
    assert_int_equal(px_upstream_new(&h, &u), DX_OK);
    struct dx_call c = {.op = DX_OP_GetItem, .body = LIST_BODY, .len = 2};
    struct result res;
    call(base, u, &c, &res);
    assert_int_equal(res.status, 503);
    assert_int_equal(f.requests, 0);
    rig_stop(&f, base, u);
    /* The system store; the URL's default port. */
    struct px_upstream_options d = {.url = "https://127.0.0.1"};
    assert_int_equal(px_upstream_new(&d, &u), DX_OK);
    px_upstream_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_table),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_forwarding_and_keepalive),
        cmocka_unit_test(test_error_passed_through),
        cmocka_unit_test(test_large_body_in_pieces),
        cmocka_unit_test(test_stale_keepalive_retried_once),
        cmocka_unit_test(test_sent_write_not_retried),
        cmocka_unit_test(test_upstream_down),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_outside_worker),
        cmocka_unit_test(test_resign),
        cmocka_unit_test(test_https),
        cmocka_unit_test(test_https_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
