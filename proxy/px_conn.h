/*
 * Client connections on libevent bufferevents (private to proxy/): read, frame with px_http,
 * check with px_dispatch, call the DynamoDB API, write the answer, keep-alive. One request per
 * connection is in flight at a time and reading pauses meanwhile, so pipelined requests are
 * answered in order and the framed request's bytes stay put in the input buffer (the API
 * borrows the body without a copy). Connections are freed only by the callbacks that libevent
 * or the worker queue invoke, after the work of the callback is done.
 */
#ifndef PX_CONN_H
#define PX_CONN_H

#include <pthread.h>
#include <stdint.h>
#include <event2/util.h>
#include "dx_api.h"
#include "px_dispatch.h"
#include "px_http.h"
#include "px_metrics.h"

struct event_base;
struct event;
struct evconnlistener;
struct px_conn;

/* What every worker shares (read-only while running). */
struct px_config {
    struct dx_api api;
    struct px_http_limits limits;
    struct px_dispatch_opts dispatch;
    int idle_timeout_s;
    int header_timeout_s;
    int drain_timeout_s;
    struct px_worker *workers; /* every worker, for GET /metrics to sum their counters */
    int nworkers;
    px_metrics_extra_cb metrics_extra; /* appends more metrics (the cache's); may be NULL */
    void *metrics_arg;
};

struct px_worker {
    const struct px_config *cfg;
    struct px_server *srv;
    int index;
    struct event_base *base;
    struct evconnlistener *listener;
    evutil_socket_t listen_fd;
    pthread_t thread;
    int started;

    /* Completions posted from other threads, and the wake-up for them and for shutdown. */
    int wake_fd; /* eventfd */
    struct event *wake_ev;
    pthread_mutex_t mu;
    struct px_conn *done_head, *done_tail;
    volatile int *stopping; /* the server's stop flag */

    struct px_conn *conns; /* live connections (doubly linked) */
    size_t nconns;
    int draining;
    struct event *drain_timer;
    struct event *accept_pause; /* resumes accepting after running out of descriptors */

    struct px_metrics_worker metrics; /* written only by this worker's thread */
};

/* The event_base of the worker running on the calling thread; NULL on other threads. */
struct event_base *px_worker_current_base(void);

/* Takes ownership of fd, an accepted socket. */
void px_conn_accept(struct px_worker *w, evutil_socket_t fd);
/* Runs the completions other threads posted to w. On w's thread. */
void px_worker_run_completions(struct px_worker *w);
/* Shutdown: closes idle connections now and the others after their current answer. */
void px_worker_drain(struct px_worker *w);
/* Frees the connections (after the loop ended). Unless final, a connection whose call is
 * still out stays (marked dead) until px_worker_run_completions collects its answer: the API
 * borrows its body. final: free everything (the API has been closed). */
void px_worker_close_all(struct px_worker *w, int final);

#endif
