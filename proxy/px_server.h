/*
 * The listener and the worker threads. Each worker has its own libevent event_base and its
 * own listening socket on the shared address (SO_REUSEPORT: the kernel spreads connections),
 * and handles every request of the connections it accepted from start to finish. Completions
 * that the DynamoDB API reports from another thread (the engine's writer) hop back to the
 * worker through a per-worker queue and an eventfd.
 */
#ifndef PX_SERVER_H
#define PX_SERVER_H

#include <stddef.h>
#include "dx_api.h"
#include "px_dispatch.h"
#include "px_metrics.h"

struct px_server_options {
    const char *bind;        /* address to listen on; NULL = "127.0.0.1" */
    int port;                /* 0 = a free port (see px_server_port) */
    int threads;             /* worker threads; 0 = number of cores */
    size_t max_body_bytes;   /* 0 = 16 MiB (DynamoDB's limit: 413 above it) */
    size_t max_header_bytes; /* 0 = 64 KiB */
    int idle_timeout_s;      /* close idle connections after this; 0 = 300 */
    int header_timeout_s;    /* a request head must be complete this long after its first
                                byte (slow-header attacks); 0 = 10 */
    int drain_timeout_s;     /* on shutdown, wait this long for in-flight requests; 0 = 10 */
    struct px_dispatch_opts dispatch;
    /* GET /metrics (no authentication) answers the server's own counters, then calls
     * metrics_extra(out, metrics_arg) when set, from any worker thread, to append more. */
    px_metrics_extra_cb metrics_extra;
    void *metrics_arg;
};

struct px_server;

/* Binds the listening sockets (so the port is known and taken when this returns) and
 * prepares the workers; nothing runs yet. api is copied; it must stay usable until
 * px_server_free. Returns DX_OK or DX_ESYS (logged with the reason). */
int px_server_new(const struct px_server_options *opts, const struct dx_api *api,
                  struct px_server **out);

/* The port actually bound (useful with port 0). */
int px_server_port(const struct px_server *s);

/*
 * Runs the workers (the calling thread is one of them) until SIGINT or SIGTERM arrives or
 * px_server_stop is called; then stops accepting, lets in-flight requests finish (up to the
 * drain timeout), closes the connections and returns DX_OK. Ignores SIGPIPE process-wide.
 * Call once.
 */
int px_server_run(struct px_server *s);

/* Asks px_server_run to shut down. Thread-safe and async-signal-safe. */
void px_server_stop(struct px_server *s);

/* Frees the server. Call after px_server_run has returned AND after the DynamoDB API
 * implementation has stopped calling back (be_close): completions that arrive after the
 * workers stopped are parked in the workers' queues and released here. */
void px_server_free(struct px_server *s);

#endif
