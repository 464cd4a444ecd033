/*
 * px_server + px_conn over real sockets, with a stub DynamoDB API: some operations answer
 * inside the call, others later from a separate "writer" thread (as the engine does for
 * writes). Checks keep-alive, pipelining in order across sync and async answers, byte-at-a-time
 * input, 100-continue, 413 before the body is read, framing errors, chunked bodies, many
 * clients on several workers, and graceful shutdown with a request in flight.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "dx_alloc.h"
#include "px_server.h"

/* ---- stub API: GetItem echoes the body at once; PutItem echoes it later from a thread ---- */

struct job {
    struct dx_reply *reply;
    dx_api_done_cb done;
    void *arg;
    int delay_ms;
    struct job *next;
};

static pthread_mutex_t jmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jcv = PTHREAD_COND_INITIALIZER;
static struct job *jobs;
static int writer_stop;
static pthread_t writer;
static int async_delay_ms = 2;

static void *writer_main(void *arg)
{
    pthread_mutex_lock(&jmu);
    for (;;) {
        while (!jobs && !writer_stop)
            pthread_cond_wait(&jcv, &jmu);
        if (!jobs && writer_stop)
            break;
        struct job *j = jobs;
        jobs = j->next;
        pthread_mutex_unlock(&jmu);
        struct timespec ts = {0, (long)j->delay_ms * 1000000L};
        nanosleep(&ts, NULL);
        j->done(j->reply, j->arg);
        free(j);
        pthread_mutex_lock(&jmu);
    }
    pthread_mutex_unlock(&jmu);
    return NULL;
}

static struct dx_reply *echo(const struct dx_call *call)
{
    char *b = dx_malloc(call->len + 1);
    memcpy(b, call->body, call->len);
    return dx_reply_new(200, b, call->len);
}

static void stub_call(void *self, const struct dx_call *call, dx_api_done_cb done, void *arg)
{
    if (call->op == DX_OP_PutItem) {
        struct job *j = calloc(1, sizeof(*j));
        j->reply = echo(call); /* the body is borrowed only until done */
        j->done = done;
        j->arg = arg;
        j->delay_ms = async_delay_ms;
        pthread_mutex_lock(&jmu);
        struct job **pp = &jobs;
        while (*pp)
            pp = &(*pp)->next;
        *pp = j;
        pthread_cond_signal(&jcv);
        pthread_mutex_unlock(&jmu);
        return;
    }
    if (call->op == DX_OP_DeleteItem) {
        done(dx_reply_errorf(DX_E_CONDITIONAL_CHECK_FAILED, "The conditional request failed"), arg);
        return;
    }
    done(echo(call), arg);
}

static const struct dx_api_vtbl stub_vt = {stub_call};

/* ---- server in a thread ---- */

static struct px_server *srv;
static pthread_t srv_thread;
static int port;
static int server_done; /* px_server_run has returned (the shutdown test ran) */

static void *server_main(void *arg)
{
    px_server_run(srv);
    return NULL;
}

static int setup(void **state)
{
    writer_stop = 0;
    pthread_create(&writer, NULL, writer_main, NULL);
    struct px_server_options o = {
        .port = 0, .threads = 3, .max_body_bytes = 100000, .header_timeout_s = 1};
    o.dispatch.no_auth = 1;
    struct dx_api api = {&stub_vt, NULL};
    assert_int_equal(px_server_new(&o, &api, &srv), 0);
    port = px_server_port(srv);
    assert_true(port > 0);
    pthread_create(&srv_thread, NULL, server_main, NULL);
    return 0;
}

static int teardown(void **state)
{
    if (!server_done) {
        px_server_stop(srv);
        pthread_join(srv_thread, NULL);
    }
    pthread_mutex_lock(&jmu);
    writer_stop = 1;
    pthread_cond_signal(&jcv);
    pthread_mutex_unlock(&jmu);
    pthread_join(writer, NULL);
    px_server_free(srv);
    return 0;
}

/* ---- client helpers ---- */

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

struct resp {
    int status;
    char head[4096];
    char *body;
    size_t len;
};

struct rbuf {
    char data[1 << 18];
    size_t len;
};

/* Reads one response; 0 on success, -1 when the connection closed first. */
static int read_resp(int fd, struct rbuf *rb, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    for (;;) {
        char *e = memmem(rb->data, rb->len, "\r\n\r\n", 4);
        if (e) {
            size_t hl = (size_t)(e + 4 - rb->data);
            memcpy(r->head, rb->data, hl < sizeof(r->head) - 1 ? hl : sizeof(r->head) - 1);
            r->status = atoi(r->head + 9);
            size_t cl = 0;
            const char *c = strstr(r->head, "Content-Length: ");
            if (c)
                cl = strtoul(c + 16, NULL, 10);
            else if (strstr(r->head, "Transfer-Encoding: chunked"))
                cl = 5; /* "0\r\n\r\n" */
            if (rb->len >= hl + cl) {
                r->body = malloc(cl + 1);
                memcpy(r->body, rb->data + hl, cl);
                r->body[cl] = 0;
                r->len = cl;
                memmove(rb->data, rb->data + hl + cl, rb->len - hl - cl);
                rb->len -= hl + cl;
                return 0;
            }
        }
        ssize_t n = recv(fd, rb->data + rb->len, sizeof(rb->data) - rb->len, 0);
        if (n <= 0)
            return -1;
        rb->len += (size_t)n;
    }
}

static int closed_by_peer(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static char *request(const char *op, const char *body, const char *extra)
{
    char *r;
    if (asprintf(&r,
                 "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.%s\r\n"
                 "Content-Type: application/x-amz-json-1.0\r\n%sContent-Length: %zu\r\n\r\n%s",
                 op, extra ? extra : "", strlen(body), body) < 0)
        abort();
    return r;
}

/* ---- tests ---- */

static void test_keepalive_sync_and_async(void **state)
{
    int fd = dial();
    struct rbuf rb = {.len = 0};
    for (int i = 0; i < 20; i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"n\":%d}", i);
        char *req = request(i % 2 ? "PutItem" : "GetItem", body, NULL);
        send_all(fd, req, strlen(req));
        free(req);
        struct resp r;
        assert_int_equal(read_resp(fd, &rb, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, body);
        assert_non_null(strstr(r.head, "Connection: keep-alive"));
        assert_non_null(strstr(r.head, "x-amzn-RequestId: "));
        assert_non_null(strstr(r.head, "Content-Type: application/x-amz-json-1.0"));
        free(r.body);
    }
    close(fd);
}

static void test_pipelined_in_order(void **state)
{
    int fd = dial();
    struct rbuf rb = {.len = 0};
    char all[16384] = "";
    static const char *const ops[] = {"PutItem", "GetItem",    "PutItem", "PutItem",
                                      "GetItem", "DeleteItem", "GetItem"};
    enum { N = sizeof(ops) / sizeof(ops[0]) };
    for (int i = 0; i < N; i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"i\":%d}", i);
        char *req = request(ops[i], body, NULL);
        strcat(all, req);
        free(req);
    }
    send_all(fd, all, strlen(all));
    for (int i = 0; i < N; i++) {
        struct resp r;
        assert_int_equal(read_resp(fd, &rb, &r), 0);
        if (!strcmp(ops[i], "DeleteItem")) {
            assert_int_equal(r.status, 400);
            assert_non_null(strstr(r.body, "ConditionalCheckFailedException"));
        } else {
            char body[64];
            snprintf(body, sizeof(body), "{\"i\":%d}", i);
            assert_int_equal(r.status, 200);
            assert_string_equal(r.body, body);
        }
        free(r.body);
    }
    close(fd);
}

static void test_byte_at_a_time(void **state)
{
    int fd = dial();
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct rbuf rb = {.len = 0};
    char *req = request("PutItem", "{\"slow\":true}", NULL);
    for (size_t i = 0; req[i]; i++) {
        send_all(fd, req + i, 1);
        if (i % 16 == 0)
            usleep(200);
    }
    free(req);
    struct resp r;
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"slow\":true}");
    free(r.body);
    close(fd);
}

static void test_expect_continue(void **state)
{
    int fd = dial();
    struct rbuf rb = {.len = 0};
    const char *body = "{\"big\":\"yes\"}";
    char head[512];
    snprintf(
        head, sizeof(head),
        "POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
        "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
        strlen(body));
    send_all(fd, head, strlen(head));
    char buf[64];
    ssize_t n = recv(fd, buf, 25, MSG_WAITALL);
    assert_int_equal(n, 25);
    assert_memory_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    send_all(fd, body, strlen(body));
    struct resp r;
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, body);
    assert_non_null(strstr(r.head, "Content-Type: application/json\r\n"));
    free(r.body);
    close(fd);
}

static void test_body_too_large(void **state)
{
    int fd = dial();
    struct rbuf rb = {.len = 0};
    size_t len = 100001; /* the server was started with max_body_bytes 100000 */
    char head[512];
    snprintf(head, sizeof(head),
             "POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
             len);
    send_all(fd, head, strlen(head));
    struct resp r;
    /* The answer comes before the body is sent. */
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.head, "Transfer-Encoding: chunked"));
    free(r.body);
    /* The body is read and dropped, then the connection closes (no reset). */
    char *body = malloc(len);
    memset(body, 'a', len);
    send_all(fd, body, len);
    free(body);
    assert_true(closed_by_peer(fd));
    close(fd);

    /* Exactly at the limit is accepted. */
    fd = dial();
    rb.len = 0;
    body = malloc(100000 + 1);
    memset(body, ' ', 100000);
    memcpy(body, "{}", 2);
    body[100000] = 0;
    char *req = request("GetItem", body, NULL);
    send_all(fd, req, strlen(req));
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 100000);
    free(r.body);
    free(req);
    free(body);
    close(fd);
}

static void test_framing_errors_close(void **state)
{
    static const struct {
        const char *raw;
        int status;
    } bad[] = {
        {"GARBAGE\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 400},
        {"POST / HTTP/3.0\r\n\r\n", 505},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int fd = dial();
        struct rbuf rb = {.len = 0};
        send_all(fd, bad[i].raw, strlen(bad[i].raw));
        struct resp r;
        assert_int_equal(read_resp(fd, &rb, &r), 0);
        assert_int_equal(r.status, bad[i].status);
        assert_non_null(strstr(r.head, "Connection: close"));
        free(r.body);
        assert_true(closed_by_peer(fd));
        close(fd);
    }
    /* A head over 64 KiB: 431. */
    int fd = dial();
    struct rbuf rb = {.len = 0};
    char *big = malloc(70000);
    memset(big, 'a', 70000);
    memcpy(big, "POST / HTTP/1.1\r\nX-Big: ", 24);
    send_all(fd, big, 70000);
    free(big);
    struct resp r;
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 431);
    free(r.body);
    close(fd);
}

static void test_connection_close_and_http10(void **state)
{
    int fd = dial();
    struct rbuf rb = {.len = 0};
    char *req = request("PutItem", "{}", "Connection: close\r\n");
    send_all(fd, req, strlen(req));
    free(req);
    struct resp r;
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Connection: close"));
    free(r.body);
    assert_true(closed_by_peer(fd));
    close(fd);

    fd = dial();
    rb.len = 0;
    const char *r10 = "GET / HTTP/1.0\r\n\r\n";
    send_all(fd, r10, strlen(r10));
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "healthy: dynamodb.us-east-1.amazonaws.com ");
    free(r.body);
    assert_true(closed_by_peer(fd));
    close(fd);
}

/* A client that sends its requests and half-closes still gets every answer. */
static void test_half_close(void **state)
{
    int fd = dial();
    struct rbuf rb = {.len = 0};
    char *a = request("PutItem", "{\"a\":1}", NULL), *b = request("GetItem", "{\"b\":2}", NULL);
    send_all(fd, a, strlen(a));
    send_all(fd, b, strlen(b));
    free(a);
    free(b);
    shutdown(fd, SHUT_WR);
    struct resp r;
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_string_equal(r.body, "{\"a\":1}");
    free(r.body);
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_string_equal(r.body, "{\"b\":2}");
    free(r.body);
    assert_true(closed_by_peer(fd));
    close(fd);
}

static void test_chunked_body(void **state)
{
    int fd = dial();
    struct rbuf rb = {.len = 0};
    const char *req = "POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
    send_all(fd, req, strlen(req));
    struct resp r;
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"a\":1}");
    free(r.body);
    /* The connection is still usable. */
    char *next = request("GetItem", "{}", NULL);
    send_all(fd, next, strlen(next));
    free(next);
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    close(fd);
}

/* A head trickling in for longer than the header timeout is cut with 408; a client that
 * goes silent mid-head is closed after the header timeout, not the long idle one. */
static void test_slow_head(void **state)
{
    int fd = dial();
    struct rbuf rb = {.len = 0};
    send_all(fd, "POST / HTTP/1.1\r\nHo", 20);
    usleep(700 * 1000);
    send_all(fd, "st: x\r\n", 7);
    usleep(700 * 1000);
    send_all(fd, "X-A: b\r\n", 8);
    struct resp r;
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 408);
    free(r.body);
    assert_true(closed_by_peer(fd));
    close(fd);

    fd = dial();
    send_all(fd, "POST / HTTP/1.1\r\n", 17);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_true(closed_by_peer(fd));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 4);
    close(fd);
}

/* HEAD gets headers only: the next response must follow them directly. */
static void test_head_method(void **state)
{
    int fd = dial();
    const char *req = "HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    send_all(fd, req, strlen(req));
    char buf[4096];
    size_t got = 0;
    const char *tail = "healthy: dynamodb.us-east-1.amazonaws.com ";
    while (got < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
        buf[got] = 0;
        if (got > strlen(tail) && strcmp(buf + got - strlen(tail), tail) == 0)
            break;
    }
    assert_true(strncmp(buf, "HTTP/1.1 404 ", 13) == 0);
    char *second = strstr(buf, "\r\n\r\n");
    assert_non_null(second);
    assert_true(strncmp(second + 4, "HTTP/1.1 200 ", 13) == 0);
    close(fd);
}

struct client_arg {
    int id;
    int ok;
};

static void *client_main(void *p)
{
    struct client_arg *ca = p;
    int fd = dial();
    struct rbuf *rb = calloc(1, sizeof(*rb));
    for (int i = 0; i < 50; i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"c\":%d,\"i\":%d}", ca->id, i);
        char *req = request(i % 3 ? "GetItem" : "PutItem", body, NULL);
        send_all(fd, req, strlen(req));
        free(req);
        struct resp r;
        if (read_resp(fd, rb, &r) != 0 || r.status != 200 || strcmp(r.body, body) != 0) {
            free(r.body);
            break;
        }
        free(r.body);
        ca->ok++;
    }
    free(rb);
    close(fd);
    return NULL;
}

static void test_many_clients(void **state)
{
    enum { N = 24 };
    async_delay_ms = 0; /* answers often arrive while the worker is still inside the call */
    pthread_t t[N];
    struct client_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (struct client_arg){i, 0};
        pthread_create(&t[i], NULL, client_main, &a[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, 50);
    }
    async_delay_ms = 2;
}

/* Shutdown lets a request in flight finish and answers it with Connection: close. */
static void test_graceful_shutdown(void **state)
{
    async_delay_ms = 300;
    int fd = dial();
    int idle = dial();
    struct rbuf rb = {.len = 0};
    char *req = request("PutItem", "{\"last\":1}", NULL);
    send_all(fd, req, strlen(req));
    free(req);
    usleep(50 * 1000); /* the request is with the writer now */
    px_server_stop(srv);
    struct resp r;
    assert_int_equal(read_resp(fd, &rb, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"last\":1}");
    assert_non_null(strstr(r.head, "Connection: close"));
    free(r.body);
    assert_true(closed_by_peer(fd));
    assert_true(closed_by_peer(idle));
    close(fd);
    close(idle);
    pthread_join(srv_thread, NULL); /* px_server_run returned */
    /* No longer accepting. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(connect(s, (struct sockaddr *)&a, sizeof(a)) != 0);
    close(s);
    async_delay_ms = 2;
    server_done = 1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_sync_and_async),
        cmocka_unit_test(test_pipelined_in_order),
        cmocka_unit_test(test_byte_at_a_time),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_framing_errors_close),
        cmocka_unit_test(test_connection_close_and_http10),
        cmocka_unit_test(test_half_close),
        cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_slow_head),
        cmocka_unit_test(test_head_method),
        cmocka_unit_test(test_many_clients),
        cmocka_unit_test(test_graceful_shutdown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
