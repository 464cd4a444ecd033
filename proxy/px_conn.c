/*
 * Client connections: the request cycle on one bufferevent.
 *
 *   HEAD    waiting for a complete request head (px_http_parse_head)
 *   BODY    head parsed, waiting for Content-Length bytes (or the end of a chunked body);
 *           answers "100 Continue" when the client asked for it
 *   CALL    the DynamoDB API has the request; reading is paused until the answer arrives
 *   DISCARD a body over the limit was refused with 413; its bytes are read and dropped so the
 *           client sees the answer rather than a reset, then the connection closes
 *
 * The API may answer inside dx_api_call (cache hit, read, validation error) or later from the
 * engine's writer thread. A later answer is queued on the worker and the worker's eventfd is
 * signalled; the worker writes it out from its own loop. Deep code never frees a connection:
 * it sets `closing` or `dead`, and the callback that libevent (or the queue) invoked frees it
 * at its end (conn_settle).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include "dx_alloc.h"
#include "dx_log.h"
#include "px_conn.h"
#include "px_response.h"

enum conn_state { CS_HEAD, CS_BODY, CS_CALL, CS_DISCARD };

/* Stop reading new requests while this much output is waiting for a slow reader. */
#define OUT_HIGH_WATER (4u * 1024 * 1024)

struct px_conn {
    struct px_worker *w;
    struct bufferevent *bev;
    struct px_conn *prev, *next; /* the worker's list */
    struct px_conn *done_next;   /* the worker's completion queue */
    struct dx_reply *posted;     /* an answer from another thread (under the worker's mutex) */
    struct dx_reply *sync_reply; /* an answer given inside dx_api_call on this thread */

    enum conn_state state;
    struct px_http_req req;
    struct px_http_chunked chunk;
    size_t req_total;      /* bytes of the current request in the input (head + body) */
    uint64_t discard_left; /* DISCARD: body bytes still to drop */
    const char *body;      /* the body handed to the API (inside the input buffer) */
    size_t body_len;

    unsigned in_call : 1;       /* inside dx_api_call on the worker thread */
    unsigned inflight : 1;      /* the API has the request and has not answered yet */
    unsigned closing : 1;       /* close once the output is flushed */
    unsigned dead : 1;          /* the peer is gone; drop the answer when it comes */
    unsigned peer_eof : 1;      /* the peer finished sending */
    unsigned paused : 1;        /* reading paused for a slow reader */
    unsigned keep_alive : 1;    /* this request's answer keeps the connection */
    unsigned sent_continue : 1; /* "100 Continue" sent for this request */
    unsigned in_process : 1;    /* conn_process is on the stack */
    unsigned short_timeout : 1; /* the read timeout is the header timeout */
    time_t head_started;        /* when the first byte of a pending head arrived; 0: none */
    uint64_t framed_ns;         /* when the current request was framed (CLOCK_MONOTONIC) */

    struct px_verdict verdict; /* reused across requests: its buffers keep their memory */
    char request_id[PX_REQUEST_ID_LEN + 1];
};

static __thread struct px_worker *cur_worker;

static void conn_process(struct px_conn *c);

static void conn_free(struct px_conn *c)
{
    struct px_worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    px_metrics_connections_add(&w->metrics, -1);
    bufferevent_free(c->bev);
    dx_reply_free(c->posted);
    dx_reply_free(c->sync_reply);
    px_verdict_clear(&c->verdict);
    dx_free(c);
    if (w->draining && w->nconns == 0 && w->base)
        event_base_loopexit(w->base, NULL);
}

static size_t out_len(struct px_conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* The one place connections are freed: at the end of a callback. Returns 1 when c is gone. */
static int conn_settle(struct px_conn *c)
{
    if (c->inflight)
        return 0;
    if (c->dead || (c->closing && out_len(c) == 0)) {
        conn_free(c);
        return 1;
    }
    return 0;
}

static void start_closing(struct px_conn *c)
{
    c->closing = 1;
    bufferevent_disable(c->bev, EV_READ);
}

/* An answer decided by the front itself (framing errors, dispatch checks). */
static void write_simple(struct px_conn *c, int status, const char *ctype, const void *body,
                         size_t len, int cors, const char *extra, int chunked_empty)
{
    struct px_response_meta m = {
        .status = status,
        .content_type = ctype,
        .request_id = c->request_id,
        .keep_alive = c->keep_alive,
        .cors = cors,
        .chunked_empty = chunked_empty,
        .extra = extra,
        .head_only = px_str_eq(c->req.method, "HEAD"),
    };
    px_response_write(bufferevent_get_output(c->bev), &m, body, len, NULL, NULL);
}

static void http_error(struct px_conn *c, int status, const char *why)
{
    dx_debug("closing connection: %s (%d)", why ? why : "bad request", status);
    px_request_id_new(c->request_id);
    c->keep_alive = 0;
    write_simple(c, status, NULL, NULL, 0, 0, NULL, 0);
    start_closing(c);
}

/* The current request is answered: drop its bytes and get ready for the next one. */
static void finish_request(struct px_conn *c)
{
    evbuffer_drain(bufferevent_get_input(c->bev), c->req_total);
    px_http_req_reset(&c->req);
    memset(&c->chunk, 0, sizeof(c->chunk));
    c->req_total = 0;
    c->body = NULL;
    c->body_len = 0;
    c->sent_continue = 0;
    c->state = CS_HEAD;
    if (!c->keep_alive)
        start_closing(c);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void count_request(struct px_conn *c, enum dx_op op, int status)
{
    uint64_t now = now_ns();
    px_metrics_request(&c->w->metrics, op, status, now > c->framed_ns ? now - c->framed_ns : 0);
}

/* GET /metrics: every worker's counters and the embedder's extra figures. An admin endpoint
 * (loopback by default), so it needs no authentication. */
static void write_metrics(struct px_conn *c)
{
    const struct px_config *cfg = c->w->cfg;
    struct px_metrics_worker **ws = dx_malloc((size_t)cfg->nworkers * sizeof(*ws));
    for (int i = 0; i < cfg->nworkers; i++)
        ws[i] = &cfg->workers[i].metrics;
    struct dx_buf out = DX_BUF_INIT;
    px_metrics_write(ws, (size_t)cfg->nworkers, &out);
    dx_free(ws);
    if (cfg->metrics_extra)
        cfg->metrics_extra(&out, cfg->metrics_arg);
    write_simple(c, 200, PX_METRICS_CONTENT_TYPE, out.p, out.len, c->req.origin.p != NULL, NULL, 0);
    dx_buf_deinit(&out);
}

static void free_reply(void *arg)
{
    dx_reply_free(arg);
}

/* Writes the API's answer. Takes ownership of r. */
static void complete(struct px_conn *c, struct dx_reply *r)
{
    c->inflight = 0;
    if (c->dead) {
        dx_reply_free(r);
        return;
    }
    if (dx_log_enabled(DX_LOG_DEBUG))
        dx_debug("%s -> %d (%zu bytes)", dx_op_name(c->verdict.op), r->status, r->len);
    struct px_response_meta m = {
        .status = r->status,
        .content_type = c->verdict.content_type ? c->verdict.content_type : PX_CT_AMZ_JSON,
        .request_id = c->request_id,
        .keep_alive = c->keep_alive && !c->w->draining,
        .cors = c->verdict.cors,
    };
    if (c->w->draining)
        c->keep_alive = 0;
    count_request(c, c->verdict.op, r->status);
    px_response_write(bufferevent_get_output(c->bev), &m, r->body, r->len, free_reply, r);
    finish_request(c);
    /* Reading was paused for the call unless the answer came inside it. */
    if (!c->in_process && !c->closing && !c->paused && !c->peer_eof)
        bufferevent_enable(c->bev, EV_READ);
}

/* dx_api completion: on the worker thread inside the call, or anywhere later. */
static void on_done(struct dx_reply *reply, void *arg)
{
    struct px_conn *c = arg;
    if (!reply)
        reply = dx_reply_errorf(DX_E_INTERNAL_SERVER_ERROR, "The server encountered an internal "
                                                            "error trying to fulfill the request.");
    if (cur_worker == c->w && c->in_call) {
        c->sync_reply = reply;
        return;
    }
    /* Another thread (or later on this one): queue it for the worker's loop. Only the mutex
     * orders these writes with the worker's reads, so nothing else of c is touched here. */
    struct px_worker *w = c->w;
    pthread_mutex_lock(&w->mu);
    c->posted = reply;
    c->done_next = NULL;
    int was_empty = w->done_head == NULL;
    if (w->done_tail)
        w->done_tail->done_next = c;
    else
        w->done_head = c;
    w->done_tail = c;
    pthread_mutex_unlock(&w->mu);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n;
        do
            n = write(w->wake_fd, &one, sizeof(one));
        while (n < 0 && errno == EINTR);
    }
}

static void dispatch(struct px_conn *c, const char *body, size_t len)
{
    const struct px_config *cfg = c->w->cfg;
    px_request_id_new(c->request_id);
    c->keep_alive = c->req.keep_alive && !c->w->draining;
    c->framed_ns = now_ns();
    int get = px_str_eq(c->req.method, "GET") || px_str_eq(c->req.method, "HEAD");
    if (get && px_str_eq(c->req.path, "/metrics")) {
        write_metrics(c);
        finish_request(c);
        return;
    }
    px_dispatch_check(&cfg->dispatch, &c->req, body, len, &c->verdict);
    struct px_verdict *v = &c->verdict;
    if (v->kind != PX_VERDICT_CALL) {
        /* Refused before reaching an operation (bad JSON, unknown target, no auth) counts as
         * a request; health checks and CORS preflights do not. */
        if (!get && !px_str_eq(c->req.method, "OPTIONS"))
            count_request(c, v->op, v->status);
        write_simple(c, v->status, v->content_type, v->body.p, v->body.len, v->cors,
                     v->extra.len ? v->extra.p : NULL, 0);
        finish_request(c);
        return;
    }
    struct dx_call call = {.op = v->op,
                           .body = body,
                           .len = len,
                           .head = c->req.head,
                           .head_len = c->req.header_len - c->req.head_start};
    c->body = body;
    c->body_len = len;
    c->state = CS_CALL;
    c->inflight = 1;
    c->in_call = 1;
    c->sync_reply = NULL;
    dx_api_call(&cfg->api, &call, on_done, c);
    c->in_call = 0;
    if (c->sync_reply) {
        struct dx_reply *r = c->sync_reply;
        c->sync_reply = NULL;
        complete(c, r);
    } else {
        /* Answer comes later: keep the request's bytes where they are. */
        bufferevent_disable(c->bev, EV_READ);
    }
}

/* A complete request is in the first req_total bytes of the input. */
static void request_ready(struct px_conn *c, size_t body_len)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)c->req_total);
    if (p + c->req.head_start != c->req.head) {
        /* pullup moved the bytes: frame the head again where they are now. */
        struct px_http_req again;
        px_http_req_reset(&again);
        px_http_parse_head(p, c->req.header_len, &c->w->cfg->limits, &again);
        again.chunked = c->req.chunked;
        c->req = again;
    }
    const char *body = p + c->req.header_len;
    dispatch(c, body, body_len);
}

static void set_read_timeout(struct px_conn *c, int seconds)
{
    struct timeval tv = {seconds, 0};
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    c->short_timeout = seconds != c->w->cfg->idle_timeout_s;
}

/*
 * A head is incomplete. Returns 1 when it has been arriving for longer than the header
 * timeout (a slow-header client holding a connection); the first time, shortens the read
 * timeout so that a client that goes silent mid-head is cut as soon.
 */
static int head_pending(struct px_conn *c)
{
    struct timeval now;
    event_base_gettimeofday_cached(c->w->base, &now);
    if (!c->head_started) {
        c->head_started = now.tv_sec ? now.tv_sec : 1;
        set_read_timeout(c, c->w->cfg->header_timeout_s);
        return 0;
    }
    return now.tv_sec - c->head_started >= c->w->cfg->header_timeout_s;
}

/* The client waits for "100 Continue" before sending a body we are willing to take. */
static void maybe_continue(struct px_conn *c)
{
    if (c->req.expect_continue && !c->sent_continue && c->req.version_minor >= 1) {
        evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->sent_continue = 1;
    }
}

static void body_too_large(struct px_conn *c)
{
    px_request_id_new(c->request_id);
    c->keep_alive = 0;
    write_simple(c, 413, NULL, NULL, 0, 0, NULL, 1);
    if (c->req.expect_continue || c->req.chunked) {
        start_closing(c);
        return;
    }
    /* Drop the body the client is sending so it reads our answer instead of a reset. */
    c->discard_left = (uint64_t)c->req.header_len + c->req.content_length;
    c->state = CS_DISCARD;
}

static void conn_process(struct px_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    const struct px_http_limits *lim = &c->w->cfg->limits;
    if (c->in_process)
        return;
    c->in_process = 1;
    while (!c->inflight && !c->closing && !c->dead) {
        size_t avail = evbuffer_get_length(in);
        if (c->state == CS_DISCARD) {
            size_t n = avail < c->discard_left ? avail : (size_t)c->discard_left;
            evbuffer_drain(in, n);
            c->discard_left -= n;
            if (c->discard_left == 0)
                start_closing(c);
            break;
        }
        if (out_len(c) > OUT_HIGH_WATER) {
            c->paused = 1;
            bufferevent_disable(c->bev, EV_READ);
            break;
        }
        if (avail == 0)
            break;
        if (c->state == CS_HEAD) {
            size_t n = avail < lim->max_header_bytes + 1 ? avail : lim->max_header_bytes + 1;
            const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
            enum px_http_result r = px_http_parse_head(p, n, lim, &c->req);
            if (r == PX_HTTP_AGAIN) {
                if (head_pending(c))
                    http_error(c, 408, "request head too slow");
                break;
            }
            if (c->short_timeout)
                set_read_timeout(c, c->w->cfg->idle_timeout_s);
            c->head_started = 0;
            if (r == PX_HTTP_ERROR) {
                if (c->req.error_status == 413)
                    body_too_large(c);
                else
                    http_error(c, c->req.error_status, c->req.error);
                continue;
            }
            c->state = CS_BODY;
            c->req_total = c->req.header_len + (size_t)c->req.content_length;
        }
        /* CS_BODY */
        if (c->req.chunked) {
            const char *p = (const char *)evbuffer_pullup(in, -1);
            size_t consumed;
            enum px_http_result r =
                px_http_chunked_scan(p + c->req.header_len, avail - c->req.header_len,
                                     lim->max_body_bytes, &c->chunk, &consumed);
            if (r == PX_HTTP_ERROR) {
                if (c->chunk.error_status == 413)
                    body_too_large(c);
                else
                    http_error(c, c->chunk.error_status, "bad chunked body");
                continue;
            }
            if (r == PX_HTTP_AGAIN) {
                maybe_continue(c);
                break;
            }
            size_t body_len;
            char *body = (char *)p + c->req.header_len;
            px_http_chunked_decode(body, consumed, &body_len);
            c->req_total = c->req.header_len + consumed;
            if (p + c->req.head_start != c->req.head) {
                struct px_http_req again;
                px_http_req_reset(&again);
                px_http_parse_head(p, c->req.header_len, lim, &again);
                again.chunked = 1;
                c->req = again;
            }
            dispatch(c, body, body_len);
            continue;
        }
        if (avail < c->req_total) {
            maybe_continue(c);
            break;
        }
        request_ready(c, (size_t)c->req.content_length);
    }
    if (c->peer_eof && !c->inflight && !c->closing)
        start_closing(c); /* nothing more will arrive; a partial request is dropped */
    c->in_process = 0;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct px_conn *c = arg;
    conn_process(c);
    conn_settle(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct px_conn *c = arg;
    if (c->paused && out_len(c) <= OUT_HIGH_WATER / 2) {
        c->paused = 0;
        if (!c->closing && !c->inflight)
            bufferevent_enable(c->bev, EV_READ);
        conn_process(c);
    }
    conn_settle(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct px_conn *c = arg;
    if (what & BEV_EVENT_EOF) {
        /* Half-close: answer what was already received, then close. */
        c->peer_eof = 1;
        bufferevent_disable(c->bev, EV_READ);
        conn_process(c);
        if (!c->inflight && out_len(c) == 0)
            c->dead = 1;
    } else {
        /* Reset, error or timeout: nothing more can be delivered. */
        if (what & BEV_EVENT_ERROR)
            dx_debug("connection error: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        c->dead = 1;
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    }
    conn_settle(c);
}

void px_conn_accept(struct px_worker *w, evutil_socket_t fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct bufferevent *bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    struct px_conn *c = dx_calloc(1, sizeof(*c));
    c->w = w;
    c->bev = bev;
    c->state = CS_HEAD;
    px_http_req_reset(&c->req);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    px_metrics_connections_add(&w->metrics, 1);
    struct timeval idle = {w->cfg->idle_timeout_s, 0};
    bufferevent_set_timeouts(bev, &idle, &idle);
    bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct event_base *px_worker_current_base(void)
{
    return cur_worker ? cur_worker->base : NULL;
}

void px_worker_run_completions(struct px_worker *w)
{
    cur_worker = w;
    pthread_mutex_lock(&w->mu);
    struct px_conn *c = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (c) {
        struct px_conn *next = c->done_next;
        struct dx_reply *r = c->posted;
        c->posted = NULL;
        c->done_next = NULL;
        complete(c, r);
        if (!c->dead)
            conn_process(c);
        conn_settle(c);
        c = next;
    }
}

void px_worker_drain(struct px_worker *w)
{
    w->draining = 1;
    struct px_conn *c = w->conns;
    while (c) {
        struct px_conn *next = c->next;
        if (!c->inflight) {
            /* Idle, or in the middle of receiving a request: nothing owed. Answers already
             * written are flushed first. */
            c->keep_alive = 0;
            start_closing(c);
            if (out_len(c) == 0)
                c->dead = 1;
            conn_settle(c);
        }
        c = next;
    }
    if (w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

void px_worker_close_all(struct px_worker *w, int final)
{
    struct px_conn *c = w->conns;
    while (c) {
        struct px_conn *next = c->next;
        c->dead = 1;
        if (c->inflight && !final) {
            /* The API still borrows the body, which lives in this connection's input buffer:
             * keep both until the completion arrives. */
            bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        } else {
            c->inflight = 0;
            conn_free(c);
        }
        c = next;
    }
}
