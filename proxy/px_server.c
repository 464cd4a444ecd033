/*
 * Listener and workers. Every worker owns an event_base (created without locks: nothing but
 * the worker's thread touches it), a listening socket bound with SO_REUSEPORT to the common
 * address (one shared socket when the kernel refuses), and an eventfd that other threads write
 * to when they post a completion or ask for shutdown.
 *
 * Shutdown (SIGINT, SIGTERM or px_server_stop): each worker closes its listening socket,
 * closes idle connections, lets connections with a request in flight write their answer (with
 * "Connection: close"), and leaves its loop when it has no connections left or the drain
 * timeout passes. px_server_run then returns, so main can close the engine.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/listener.h>
#include "dx_alloc.h"
#include "dx_log.h"
#include "dx_status.h"
#include "px_conn.h"
#include "px_server.h"

struct px_server {
    struct px_config cfg;
    int nworkers;
    struct px_worker *workers;
    int port;
    int shared_socket; /* all workers accept on workers[0].listen_fd */
    volatile int stopping;
    volatile int force;
    struct event *sig_int, *sig_term;
};

int px_server_port(const struct px_server *s)
{
    return s->port;
}

void px_server_stop(struct px_server *s)
{
    if (__atomic_exchange_n(&s->stopping, 1, __ATOMIC_SEQ_CST))
        __atomic_store_n(&s->force, 1, __ATOMIC_SEQ_CST); /* asked twice: stop waiting */
    for (int i = 0; i < s->nworkers; i++) {
        uint64_t one = 1;
        if (s->workers[i].wake_fd >= 0 && write(s->workers[i].wake_fd, &one, sizeof(one)) < 0) {
            /* the counter is saturated or closed: the worker is awake or gone anyway */
        }
    }
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;
    dx_warn("worker %d: %zu connection(s) still busy at the shutdown deadline", w->index,
            w->nconns);
    event_base_loopexit(w->base, NULL);
}

static void begin_drain(struct px_worker *w)
{
    struct px_server *s = w->srv;
    if (w->draining)
        return;
    if (w->listener) {
        evconnlistener_free(w->listener); /* closes the socket unless it is shared */
        w->listener = NULL;
    }
    struct timeval tv = {s->cfg.drain_timeout_s, 0};
    w->drain_timer = evtimer_new(w->base, drain_timeout_cb, w);
    evtimer_add(w->drain_timer, &tv);
    px_worker_drain(w);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0) {
        /* EAGAIN: a spurious wake-up; the queue is checked anyway */
    }
    struct px_server *s = w->srv;
    if (__atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST))
        begin_drain(w);
    px_worker_run_completions(w);
    if (__atomic_load_n(&s->force, __ATOMIC_SEQ_CST))
        event_base_loopexit(w->base, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    dx_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    px_server_stop(arg);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int socklen, void *arg)
{
    struct px_worker *w = arg;
    if (w->draining) {
        evutil_closesocket(fd);
        return;
    }
    px_conn_accept(w, fd);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;
    if (w->listener && !w->draining)
        evconnlistener_enable(w->listener);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct px_worker *w = arg;
    int e = EVUTIL_SOCKET_ERROR();
    dx_warn("accept: %s", evutil_socket_error_to_string(e));
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        /* Out of descriptors or memory: the pending connection stays pending and the socket
         * stays readable, so pause accepting briefly instead of spinning on the error. */
        static const struct timeval pause = {0, 100 * 1000};
        evconnlistener_disable(l);
        if (!w->accept_pause)
            w->accept_pause = evtimer_new(w->base, accept_resume_cb, w);
        evtimer_add(w->accept_pause, &pause);
    }
}

/* A listening socket on addr; SO_REUSEPORT when reuseport. Returns the fd or -1. */
static int listen_on(const struct sockaddr *addr, socklen_t len, int reuseport, int *reuse_ok)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        *reuse_ok = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0;
    if (bind(fd, addr, len) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int bind_all(struct px_server *s, const char *host, int port)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        dx_error_log("cannot resolve bind address '%s': %s", host, gai_strerror(gai));
        return DX_ESYS;
    }
    struct sockaddr_storage ss;
    socklen_t sslen = (socklen_t)res->ai_addrlen;
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);

    if (s->nworkers > 1) {
        /* SO_REUSEPORT would let us share the port with another server that uses it too (a
         * second ddax started by mistake) and split its traffic silently. A plain bind first
         * proves the address is free, and with port 0 picks the port. */
        int probe = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (probe < 0 || bind(probe, (struct sockaddr *)&ss, sslen) != 0) {
            dx_error_log("cannot listen on %s:%d: %s", host, port, strerror(errno));
            if (probe >= 0)
                close(probe);
            return DX_ESYS;
        }
        struct sockaddr_storage got;
        socklen_t glen = sizeof(got);
        getsockname(probe, (struct sockaddr *)&got, &glen);
        close(probe);
        set_port(&ss, ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                      : ((struct sockaddr_in *)&got)->sin_port));
    }
    int reuse_ok = 0;
    int fd = listen_on((struct sockaddr *)&ss, sslen, s->nworkers > 1, &reuse_ok);
    if (fd < 0) {
        dx_error_log("cannot listen on %s:%d: %s", host, port, strerror(errno));
        return DX_ESYS;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    getsockname(fd, (struct sockaddr *)&bound, &blen);
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    s->workers[0].listen_fd = fd;
    set_port(&ss, s->port);
    s->shared_socket = !reuse_ok;
    for (int i = 1; i < s->nworkers; i++) {
        if (s->shared_socket) {
            s->workers[i].listen_fd = fd;
            continue;
        }
        int ok = 0;
        int f = listen_on((struct sockaddr *)&ss, sslen, 1, &ok);
        if (f < 0) {
            /* Should not happen after the first bind worked; fall back to sharing. */
            dx_warn("SO_REUSEPORT listen failed (%s); workers share one socket", strerror(errno));
            for (int j = 1; j < i; j++) {
                close(s->workers[j].listen_fd);
                s->workers[j].listen_fd = fd;
            }
            s->shared_socket = 1;
            s->workers[i].listen_fd = fd;
            continue;
        }
        s->workers[i].listen_fd = f;
    }
    return DX_OK;
}

static int worker_init(struct px_server *s, struct px_worker *w)
{
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
    w->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!w->base)
        return DX_ESYS;
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0)
        return DX_ESYS;
    w->wake_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, wake_cb, w);
    event_add(w->wake_ev, NULL);
    unsigned flags = LEV_OPT_REUSEABLE;
    if (!s->shared_socket || w->index == 0)
        flags |= LEV_OPT_CLOSE_ON_FREE;
    w->listener = evconnlistener_new(w->base, accept_cb, w, flags, -1, w->listen_fd);
    if (!w->listener)
        return DX_ESYS;
    evconnlistener_set_error_cb(w->listener, accept_error_cb);
    return DX_OK;
}

int px_server_new(const struct px_server_options *o, const struct dx_api *api,
                  struct px_server **out)
{
    struct px_server *s = dx_calloc(1, sizeof(*s));
    s->cfg.api = *api;
    px_http_limits_default(&s->cfg.limits);
    if (o->max_body_bytes)
        s->cfg.limits.max_body_bytes = o->max_body_bytes;
    if (o->max_header_bytes)
        s->cfg.limits.max_header_bytes = o->max_header_bytes;
    s->cfg.dispatch = o->dispatch;
    s->cfg.idle_timeout_s = o->idle_timeout_s > 0 ? o->idle_timeout_s : 300;
    s->cfg.header_timeout_s = o->header_timeout_s > 0 ? o->header_timeout_s : 10;
    s->cfg.drain_timeout_s = o->drain_timeout_s > 0 ? o->drain_timeout_s : 10;
    s->nworkers = o->threads;
    if (s->nworkers <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->nworkers = n > 0 ? (int)n : 1;
    }
    s->workers = dx_calloc((size_t)s->nworkers, sizeof(*s->workers));
    s->cfg.workers = s->workers;
    s->cfg.nworkers = s->nworkers;
    s->cfg.metrics_extra = o->metrics_extra;
    s->cfg.metrics_arg = o->metrics_arg;
    for (int i = 0; i < s->nworkers; i++) {
        struct px_worker *w = &s->workers[i];
        w->cfg = &s->cfg;
        w->srv = s;
        w->index = i;
        w->listen_fd = -1;
        w->wake_fd = -1;
        w->stopping = &s->stopping;
        pthread_mutex_init(&w->mu, NULL);
    }
    int rc = bind_all(s, o->bind ? o->bind : "127.0.0.1", o->port);
    for (int i = 0; rc == DX_OK && i < s->nworkers; i++) {
        rc = worker_init(s, &s->workers[i]);
        if (rc != DX_OK)
            dx_error_log("cannot set up worker %d: %s", i, strerror(errno));
    }
    if (rc != DX_OK) {
        /* Sockets not yet owned by a listener are closed here. */
        for (int i = 0; i < s->nworkers; i++) {
            struct px_worker *w = &s->workers[i];
            if (!w->listener && w->listen_fd >= 0 && (!s->shared_socket || i == 0))
                close(w->listen_fd);
            w->listen_fd = -1;
        }
        px_server_free(s);
        return rc;
    }
    *out = s;
    return DX_OK;
}

static void *worker_main(void *arg)
{
    struct px_worker *w = arg;
    px_worker_run_completions(w); /* binds this thread to w; the queue is empty */
    event_base_dispatch(w->base);
    return NULL;
}

int px_server_run(struct px_server *s)
{
    signal(SIGPIPE, SIG_IGN);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* Workers inherit a mask without SIGINT/SIGTERM: the calling thread (worker 0) takes them. */
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (int i = 1; i < s->nworkers; i++) {
        struct px_worker *w = &s->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            dx_error_log("cannot start worker thread %d: %s", i, strerror(errno));
            continue; /* its listener simply never accepts; others carry the load */
        }
        w->started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    struct px_worker *w0 = &s->workers[0];
    s->sig_int = evsignal_new(w0->base, SIGINT, signal_cb, s);
    s->sig_term = evsignal_new(w0->base, SIGTERM, signal_cb, s);
    event_add(s->sig_int, NULL);
    event_add(s->sig_term, NULL);
    if (__atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST))
        begin_drain(w0);
    worker_main(w0);

    for (int i = 1; i < s->nworkers; i++)
        if (s->workers[i].started)
            pthread_join(s->workers[i].thread, NULL);
    event_free(s->sig_int);
    event_free(s->sig_term);
    s->sig_int = s->sig_term = NULL;
    for (int i = 0; i < s->nworkers; i++)
        px_worker_close_all(&s->workers[i], 0);
    return DX_OK;
}

void px_server_free(struct px_server *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nworkers; i++) {
        struct px_worker *w = &s->workers[i];
        if (w->base) {
            px_worker_run_completions(w); /* answers that arrived after the loops ended */
            px_worker_close_all(w, 1);
        }
        if (w->listener)
            evconnlistener_free(w->listener);
        if (w->drain_timer)
            event_free(w->drain_timer);
        if (w->accept_pause)
            event_free(w->accept_pause);
        if (w->wake_ev)
            event_free(w->wake_ev);
        if (w->wake_fd >= 0)
            close(w->wake_fd);
        if (w->base)
            event_base_free(w->base);
        pthread_mutex_destroy(&w->mu);
    }
    dx_free(s->workers);
    dx_free(s);
}
