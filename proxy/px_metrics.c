/*
 * The metric table and the text exposition writer. Every metric is one row of PX_METRICS
 * (id, Prometheus name, type, help); the writers emit "# HELP" and "# TYPE" from the row and
 * then the samples. Counters are plain uint64_t updated by their owning thread with relaxed
 * atomic load/store (no read-modify-write: nobody else writes them), read by the scraping
 * thread with relaxed loads: a scrape may see one worker a request ahead of another, never a
 * torn value.
 */
#include <string.h>
#include "cache.h"
#include "px_metrics.h"
#include "px_upstream.h"

/* id, name, type, help */
#define PX_METRICS(X)                                                                              \
    X(TOTAL, "ddax_TotalRequestCount", "counter",                                                  \
      "Requests handled by the server (DAX TotalRequestCount).")                                   \
    X(ERROR, "ddax_ErrorRequestCount", "counter",                                                  \
      "Requests that resulted in a user error, HTTP 4xx (DAX ErrorRequestCount).")                 \
    X(FAULT, "ddax_FaultRequestCount", "counter",                                                  \
      "Requests that resulted in a server error, HTTP 5xx (DAX FaultRequestCount).")               \
    X(REQUESTS, "ddax_requests_total", "counter", "Requests handled, by operation.")               \
    X(ERRORS, "ddax_request_errors_total", "counter",                                              \
      "Requests answered with an error, by operation and class (4xx, 5xx).")                       \
    X(LATENCY, "ddax_request_duration_seconds", "histogram",                                       \
      "Time from request framed to response queued, by operation.")                                \
    X(CONNS, "ddax_ClientConnections", "gauge",                                                    \
      "Client connections open now (DAX ClientConnections).")                                      \
    X(UPFAIL, "ddax_upstream_failures_total", "counter",                                           \
      "Failed calls to the upstream endpoint (ddax proxy), by kind: timeout, connect, 5xx, "       \
      "transport.")                                                                                \
    X(ITEM_HITS, "ddax_ItemCacheHits", "counter",                                                  \
      "GetItem and BatchGetItem keys answered from the item cache (DAX ItemCacheHits).")           \
    X(ITEM_MISSES, "ddax_ItemCacheMisses", "counter",                                              \
      "Item cache keys fetched from the backing store (DAX ItemCacheMisses).")                     \
    X(NEG_HITS, "ddax_item_cache_negative_hits_total", "counter",                                  \
      "Item cache hits that answered 'no such item'.")                                             \
    X(QUERY_HITS, "ddax_QueryCacheHits", "counter",                                                \
      "Query pages answered from the query cache (DAX QueryCacheHits).")                           \
    X(QUERY_MISSES, "ddax_QueryCacheMisses", "counter",                                            \
      "Query pages fetched from the backing store (DAX QueryCacheMisses).")                        \
    X(SCAN_HITS, "ddax_ScanCacheHits", "counter",                                                  \
      "Scan pages answered from the query cache (DAX ScanCacheHits).")                             \
    X(SCAN_MISSES, "ddax_ScanCacheMisses", "counter",                                              \
      "Scan pages fetched from the backing store (DAX ScanCacheMisses).")                          \
    X(COALESCED, "ddax_coalesced_requests_total", "counter",                                       \
      "Cache misses that waited for an identical request already in flight.")                      \
    X(INVALIDATIONS, "ddax_cache_invalidations_total", "counter",                                  \
      "Writes and table changes that dropped cached entries.")                                     \
    X(WRITE_IMAGES, "ddax_cache_write_images_total", "counter",                                    \
      "New item images cached by writes (PutItem, UpdateItem, BatchWriteItem).")                   \
    X(WRITE_NEGATIVE, "ddax_cache_write_negative_total", "counter",                                \
      "'No such item' entries cached by deletes (DeleteItem, BatchWriteItem).")                    \
    X(WRITE_DROPPED, "ddax_cache_write_dropped_total", "counter",                                  \
      "Items written whose new image was not known exactly: the entry was dropped instead.")       \
    X(EVICTIONS, "ddax_cache_evictions_total", "counter",                                          \
      "Cache entries evicted for memory (DAX EvictedSize counts bytes; this counts entries).")     \
    X(ENTRIES, "ddax_cache_entries", "gauge", "Entries in the cache now.")                         \
    X(BYTES, "ddax_cache_bytes", "gauge", "Bytes held by the cache now, with overhead.")           \
    X(UPSTREAM, "ddax_upstream_requests_total", "counter",                                         \
      "Calls the cache made to the engine or upstream endpoint, by operation.")

enum metric_id {
#define PX_METRIC_ID(id, name, type, help) M_##id,
    PX_METRICS(PX_METRIC_ID)
#undef PX_METRIC_ID
};

static const struct {
    const char *name, *type, *help;
} metrics[] = {
#define PX_METRIC_ROW(id, name, type, help) {name, type, help},
    PX_METRICS(PX_METRIC_ROW)
#undef PX_METRIC_ROW
};

static const double bucket_le[PX_METRICS_NBUCKETS] = {
#define PX_METRICS_LE(le) le,
    PX_METRICS_BUCKETS(PX_METRICS_LE)
#undef PX_METRICS_LE
};

static void bump(uint64_t *p, uint64_t n)
{
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void px_metrics_request(struct px_metrics_worker *m, enum dx_op op, int status, uint64_t ns)
{
    if ((unsigned)op >= DX_OP__COUNT)
        op = DX_OP_NONE;
    bump(&m->requests[op], 1);
    if (status >= 500)
        bump(&m->errors_5xx[op], 1);
    else if (status >= 400)
        bump(&m->errors_4xx[op], 1);
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < PX_METRICS_NBUCKETS && s > bucket_le[b])
        b++;
    bump(&m->latency[op][b], 1);
    bump(&m->latency_sum_ns[op], ns);
}

void px_metrics_connections_add(struct px_metrics_worker *m, int delta)
{
    int64_t v = __atomic_load_n(&m->connections, __ATOMIC_RELAXED);
    __atomic_store_n(&m->connections, v + delta, __ATOMIC_RELAXED);
}

static void head(struct dx_buf *out, enum metric_id id)
{
    dx_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", metrics[id].name, metrics[id].help,
                  metrics[id].name, metrics[id].type);
}

static const char *op_label(enum dx_op op)
{
    return op == DX_OP_NONE ? "none" : dx_op_name(op);
}

/* Sum over workers of the field at byte offset off of each struct px_metrics_worker. */
static uint64_t sum(struct px_metrics_worker *const *w, size_t n, size_t off)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += get((const uint64_t *)((const char *)w[i] + off));
    return t;
}

#define FIELD(f) offsetof(struct px_metrics_worker, f)

void px_metrics_write(struct px_metrics_worker *const *w, size_t n, struct dx_buf *out)
{
    uint64_t total = 0, e4 = 0, e5 = 0;
    for (int op = 0; op < DX_OP__COUNT; op++) {
        total += sum(w, n, FIELD(requests[op]));
        e4 += sum(w, n, FIELD(errors_4xx[op]));
        e5 += sum(w, n, FIELD(errors_5xx[op]));
    }
    head(out, M_TOTAL);
    dx_buf_printf(out, "%s %llu\n", metrics[M_TOTAL].name, (unsigned long long)total);
    head(out, M_ERROR);
    dx_buf_printf(out, "%s %llu\n", metrics[M_ERROR].name, (unsigned long long)e4);
    head(out, M_FAULT);
    dx_buf_printf(out, "%s %llu\n", metrics[M_FAULT].name, (unsigned long long)e5);

    /* Per-operation series only for operations seen, so the scrape stays short. */
    head(out, M_REQUESTS);
    for (int op = 0; op < DX_OP__COUNT; op++) {
        uint64_t v = sum(w, n, FIELD(requests[op]));
        if (v)
            dx_buf_printf(out, "%s{op=\"%s\"} %llu\n", metrics[M_REQUESTS].name, op_label(op),
                          (unsigned long long)v);
    }
    head(out, M_ERRORS);
    for (int op = 0; op < DX_OP__COUNT; op++) {
        uint64_t v4 = sum(w, n, FIELD(errors_4xx[op])), v5 = sum(w, n, FIELD(errors_5xx[op]));
        if (v4)
            dx_buf_printf(out, "%s{op=\"%s\",class=\"4xx\"} %llu\n", metrics[M_ERRORS].name,
                          op_label(op), (unsigned long long)v4);
        if (v5)
            dx_buf_printf(out, "%s{op=\"%s\",class=\"5xx\"} %llu\n", metrics[M_ERRORS].name,
                          op_label(op), (unsigned long long)v5);
    }
    head(out, M_LATENCY);
    const char *ln = metrics[M_LATENCY].name;
    for (int op = 0; op < DX_OP__COUNT; op++) {
        if (!sum(w, n, FIELD(requests[op])))
            continue;
        /* Buckets are stored per interval and written cumulative, as Prometheus wants. */
        uint64_t cum = 0;
        for (size_t b = 0; b <= PX_METRICS_NBUCKETS; b++) {
            cum += sum(w, n, FIELD(latency[op][b]));
            if (b < PX_METRICS_NBUCKETS)
                dx_buf_printf(out, "%s_bucket{op=\"%s\",le=\"%g\"} %llu\n", ln, op_label(op),
                              bucket_le[b], (unsigned long long)cum);
            else
                dx_buf_printf(out, "%s_bucket{op=\"%s\",le=\"+Inf\"} %llu\n", ln, op_label(op),
                              (unsigned long long)cum);
        }
        uint64_t ns = sum(w, n, FIELD(latency_sum_ns[op]));
        dx_buf_printf(out, "%s_sum{op=\"%s\"} %.9f\n", ln, op_label(op), (double)ns / 1e9);
        dx_buf_printf(out, "%s_count{op=\"%s\"} %llu\n", ln, op_label(op), (unsigned long long)cum);
    }
    int64_t conns = 0;
    for (size_t i = 0; i < n; i++)
        conns += __atomic_load_n(&w[i]->connections, __ATOMIC_RELAXED);
    head(out, M_CONNS);
    dx_buf_printf(out, "%s %lld\n", metrics[M_CONNS].name, (long long)conns);
    uint64_t fails[PX_UPFAIL__COUNT];
    if (px_upstream_failures(fails)) {
        head(out, M_UPFAIL);
        for (int k = 0; k < PX_UPFAIL__COUNT; k++)
            dx_buf_printf(out, "%s{kind=\"%s\"} %llu\n", metrics[M_UPFAIL].name,
                          px_upstream_failure_name(k), (unsigned long long)fails[k]);
    }
}

static void one(struct dx_buf *out, enum metric_id id, uint64_t v)
{
    head(out, id);
    dx_buf_printf(out, "%s %llu\n", metrics[id].name, (unsigned long long)v);
}

void px_metrics_write_cache(const struct cache_stats *s, struct dx_buf *out)
{
    one(out, M_ITEM_HITS, s->item_hits);
    one(out, M_ITEM_MISSES, s->item_misses);
    one(out, M_NEG_HITS, s->negative_hits);
    one(out, M_QUERY_HITS, s->query_hits);
    one(out, M_QUERY_MISSES, s->query_misses);
    one(out, M_SCAN_HITS, s->scan_hits);
    one(out, M_SCAN_MISSES, s->scan_misses);
    one(out, M_COALESCED, s->coalesced);
    one(out, M_INVALIDATIONS, s->invalidations);
    one(out, M_WRITE_IMAGES, s->write_images);
    one(out, M_WRITE_NEGATIVE, s->write_negative);
    one(out, M_WRITE_DROPPED, s->write_dropped);
    one(out, M_EVICTIONS, s->evictions);
    one(out, M_ENTRIES, s->entries);
    one(out, M_BYTES, s->bytes);
    head(out, M_UPSTREAM);
    for (int op = 1; op < DX_OP__COUNT; op++)
        if (s->upstream[op])
            dx_buf_printf(out, "%s{op=\"%s\"} %llu\n", metrics[M_UPSTREAM].name, dx_op_name(op),
                          (unsigned long long)s->upstream[op]);
}
