/*
 * The cache layer: a DAX-like item cache and query cache that wraps any implementation of the
 * DynamoDB API interface (dx_api.h) and is itself one.
 *
 * `ddax serve` runs HTTP front -> cache -> engine, `ddax proxy` HTTP front -> cache -> remote
 * upstream. Eventually consistent GetItem / BatchGetItem are served from the item cache,
 * eventually consistent Query / Scan from the query cache; strongly consistent reads and
 * TransactGetItems always go to the inner implementation. Writes go to the inner implementation
 * first; once they are done (or failed ambiguously) the cache drops every entry they may have
 * changed: the items written, the Query pages of their partitions and the Scans of the table,
 * and stores the new item images it knows exactly (PutItem, DeleteItem, UpdateItem's ALL_NEW,
 * BatchWriteItem): see cache/README.md.
 * Concurrent misses for the same request share one inner call.
 *
 * Thread-safe: one struct cache is shared by all worker threads (sharded locks, no global one).
 */
#ifndef CACHE_H
#define CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "dx_api.h"
#include "dx_op.h"

struct cache;

struct cache_options {
    size_t max_bytes;         /* memory limit for cached entries (default 256 MiB) */
    uint64_t item_ttl_ms;     /* item cache TTL (default 300000 as DAX); 0: no time expiry */
    uint64_t query_ttl_ms;    /* query cache TTL (default 300000); 0: Query/Scan not cached */
    uint64_t negative_ttl_ms; /* TTL of "item absent" entries (default 300000); 0: not cached */
    int enabled;              /* 0: every call passes straight through (default 1) */
    /* 1: the inner implementation verifies the client's signature over the request body (a
     * pass-through proxy), so the cache must forward every request byte for byte: no partial
     * BatchGetItem, no ReturnValues=ALL_NEW added to an UpdateItem (default 0). */
    int bodies_signed;
    /* NULL-terminated lists of table names, or NULL. With an include list only those tables
     * are cached; tables on the exclude list never are. Copied by cache_new. */
    const char *const *include_tables;
    const char *const *exclude_tables;
};

/* Fills o with the defaults above. */
void cache_options_init(struct cache_options *o);

/* A new cache (opts NULL: defaults). Returns DX_OK or DX_EINVAL; free with cache_free. */
int cache_new(const struct cache_options *opts, struct cache **out);
/* Frees the cache and every api cache_wrap returned. No call may be in flight. */
void cache_free(struct cache *c);

/*
 * The caching api around inner (borrowed: it must outlive the cache). The returned api is
 * valid until cache_free. Like any dx_api, its done callback may run before the call returns
 * (a hit) or later on the thread where inner completes.
 */
struct dx_api cache_wrap(struct cache *c, struct dx_api inner);

/* Drops every cached entry of `table` (items, Query and Scan pages): for changes the cache did
 * not see go through it, such as the embedded engine's TTL deletions. Any thread. */
void cache_invalidate_table(struct cache *c, const char *table);

/* Counters since cache_new, for /metrics. */
struct cache_stats {
    uint64_t item_hits;      /* GetItem and BatchGetItem keys answered from the cache */
    uint64_t item_misses;    /* ... fetched from inner */
    uint64_t negative_hits;  /* item hits that answered "no such item" */
    uint64_t query_hits;     /* Query pages answered from the cache */
    uint64_t query_misses;   /* ... fetched from inner */
    uint64_t scan_hits;      /* Scan pages answered from the cache */
    uint64_t scan_misses;    /* ... fetched from inner */
    uint64_t coalesced;      /* misses that waited for an identical request in flight */
    uint64_t invalidations;  /* writes and table changes that dropped cached entries */
    uint64_t write_images;   /* new item images cached by PutItem/UpdateItem/BatchWriteItem */
    uint64_t write_negative; /* "no such item" entries cached by DeleteItem/BatchWriteItem */
    uint64_t write_dropped;  /* items written whose new image is not known: entry dropped */
    uint64_t evictions;      /* entries dropped for memory */
    uint64_t entries;        /* entries held now */
    uint64_t bytes;          /* bytes held now (entries with their overhead) */
    uint64_t upstream[DX_OP__COUNT]; /* calls made to inner, per operation */
};

void cache_stats_get(struct cache *c, struct cache_stats *out);

#endif
