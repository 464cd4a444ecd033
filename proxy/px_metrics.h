/*
 * Prometheus metrics for GET /metrics (text exposition format 0.0.4). Each worker thread owns
 * a struct px_metrics_worker and is its only writer, so the request path takes no lock and
 * shares no cache line with other workers; a scrape (on any worker) sums every worker's
 * counters with relaxed atomic loads. Names follow DAX's CloudWatch metrics (namespace
 * AWS/DAX) as ddax_<CloudWatchName> where DAX has one, snake_case Prometheus names otherwise.
 */
#ifndef PX_METRICS_H
#define PX_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "dx_buf.h"
#include "dx_op.h"

struct cache_stats;

/* Upper bounds (seconds) of the latency histogram buckets; +Inf is implied. */
/* clang-format off */
#define PX_METRICS_BUCKETS(X)                                                                      \
    X(0.00001) X(0.000025) X(0.00005)                                                              \
    X(0.0001) X(0.00025) X(0.0005)                                                                 \
    X(0.001) X(0.0025) X(0.005)                                                                    \
    X(0.01) X(0.025) X(0.05)                                                                       \
    X(0.1) X(0.25) X(0.5)                                                                          \
    X(1)
/* clang-format on */
#define PX_METRICS_COUNT_ONE(le) +1
enum { PX_METRICS_NBUCKETS = 0 PX_METRICS_BUCKETS(PX_METRICS_COUNT_ONE) };

/* One worker's counters. Zero-initialise; written only by the owning thread. Requests are
 * counted per operation; index DX_OP_NONE holds requests refused before they named a valid
 * operation (bad JSON, unknown target, missing authentication). */
struct px_metrics_worker {
    uint64_t requests[DX_OP__COUNT];
    uint64_t errors_4xx[DX_OP__COUNT];
    uint64_t errors_5xx[DX_OP__COUNT];
    uint64_t latency[DX_OP__COUNT][PX_METRICS_NBUCKETS + 1]; /* per bucket, last: +Inf only */
    uint64_t latency_sum_ns[DX_OP__COUNT];
    int64_t connections; /* client connections open now */
};

/* Stats the server cannot see itself (the cache's): appended to the scrape by the embedder. */
typedef void (*px_metrics_extra_cb)(struct dx_buf *out, void *arg);

/* Counts one answered request of op with HTTP status, which took ns nanoseconds from being
 * framed to its answer being queued. On m's owning thread. */
void px_metrics_request(struct px_metrics_worker *m, enum dx_op op, int status, uint64_t ns);
/* A client connection opened (+1) or closed (-1). On m's owning thread. */
void px_metrics_connections_add(struct px_metrics_worker *m, int delta);

/* Appends the server's metrics, summed over the n workers (read from any thread), to out. */
void px_metrics_write(struct px_metrics_worker *const *workers, size_t n, struct dx_buf *out);
/* Appends the cache figures of s (a snapshot from cache_stats_get) to out. */
void px_metrics_write_cache(const struct cache_stats *s, struct dx_buf *out);

/* Content-Type of the scrape answer. */
#define PX_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
