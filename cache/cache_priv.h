/*
 * Internals shared by the files of the cache layer (cache_api.c, cache_batch.c): the cache
 * object, the metadata stored with each entry, and the helpers for groups, lookups and fills.
 * Not part of the public interface (include/cache.h).
 */
#ifndef CACHE_PRIV_H
#define CACHE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "cache.h"
#include "cache_gen.h"
#include "cache_table.h"
#include "dx_buf.h"

struct cJSON;

#define CACHE_MAXDEPS      3
#define CACHE_PSHARDS      64
#define CACHE_SCHEMASHARDS 16
#define CACHE_KEYNAME_MAX  256
#define CACHE_WIDE_SLOTS   256

/* The dependencies of a fill in flight, and the meta area of a Query/Scan entry. */
struct cache_meta {
    uint16_t ck_len; /* item fills: length of the canonical key inside the item key */
    uint8_t ndeps;
    uint8_t pad[5];
    uint64_t dep[CACHE_MAXDEPS]; /* group hashes (cache_gen.h) */
    uint64_t gen[CACHE_MAXDEPS]; /* their generations when the fetch started */
};

/*
 * The meta area of an item entry, smaller (an item entry is mostly small): its three groups
 * are computed again from the entry's key (table, canonical key) instead of being stored.
 * The value of an item entry is the item's JSON map alone ({"Item": and } are added to a hit's
 * reply), empty for "no such item".
 */
struct cache_imeta {
    uint8_t negative;
    uint8_t pad;
    uint16_t ck_len;
    uint32_t pad2;
    uint64_t gen[3]; /* of cache__item_deps' three groups */
};

/* A table's key attribute names, learned from successful GetItem requests. */
struct cache_schema {
    size_t n;
    char name[2][CACHE_KEYNAME_MAX];
};

struct cache_wrapper {
    struct cache *c;
    struct dx_api inner;
    struct cache_wrapper *next;
};

struct cache_fetch;

struct cache_pshard {
    pthread_mutex_t mu;
    struct cache_fetch *head; /* fetches in flight, by key */
} __attribute__((aligned(64)));

struct cache_schema_rec;

/* Writes in flight, by group (cache_write.c): a write installs its new image only when no
 * other write of the same item overlapped it. */
struct cache_wnode;

struct cache_wshard {
    pthread_mutex_t mu;
    struct cache_wnode *head;
} __attribute__((aligned(64)));

struct cache_schema_shard {
    pthread_mutex_t mu;
    struct cache_schema_rec *head;
};

struct cache {
    struct cache_options opts;
    char **include, **exclude; /* copies, NULL-terminated, or NULL */
    struct cache_table *table;
    struct cache_gens *gens;
    struct cache_pshard pending[CACHE_PSHARDS];
    struct cache_schema_shard schema[CACHE_SCHEMASHARDS];
    struct cache_wshard wflight[CACHE_PSHARDS];
    /* table-wide writes started and in flight, by table slot; the last slot: cache-wide */
    _Atomic uint64_t wide_started[CACHE_WIDE_SLOTS + 1], wide_inflight[CACHE_WIDE_SLOTS + 1];
    pthread_mutex_t wmu;
    struct cache_wrapper *wrappers;

    _Atomic uint64_t item_hits, item_misses, negative_hits, query_hits, query_misses;
    _Atomic uint64_t scan_hits, scan_misses;
    _Atomic uint64_t coalesced, invalidations;
    _Atomic uint64_t write_images, write_negative, write_dropped;
    _Atomic uint64_t upstream[DX_OP__COUNT];
};

static inline void cache__count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

uint64_t cache__now_ms(void);
/* 1 when reads of the table may use the cache. */
int cache__table_cached(struct cache *c, const char *t, size_t tl);

/* Group hashes: table-wide (coarse) and per item / per key attribute value (fine). */
uint64_t cache__g_table(const char *t, size_t tl);  /* every entry of the table */
uint64_t cache__g_items(const char *t, size_t tl);  /* every item entry of the table */
uint64_t cache__g_writes(const char *t, size_t tl); /* any write to the table */
uint64_t cache__g_item(const char *t, size_t tl, const char *ck, size_t ckl);
uint64_t cache__g_attr(const char *t, size_t tl, const char *name, size_t nl, const char *cv,
                       size_t cvl);

/* Item-cache key of one key map: 'I' table key projection. Appends to out; *ck_off and *ck_len
 * locate the canonical primary key in it. DX_OK or DX_EINVAL. */
int cache__item_key(struct dx_buf *out, const char *t, size_t tl, const struct cJSON *key,
                    const char *proj, size_t projl, size_t *ck_off, size_t *ck_len);
/* The three dependencies of an item entry. */
void cache__item_deps(struct cache_meta *m, const char *t, size_t tl, const char *ck, size_t ckl);

/* Fills m->gen from the current generations (creating fine records). */
void cache__snapshot(struct cache *c, struct cache_meta *m);
/* 1 when every recorded generation is still current. */
int cache__current(struct cache *c, const struct cache_meta *m);

/* The live, current entry for key (a reference the caller releases), or NULL. */
struct cache_entry *cache__lookup(struct cache *c, const char *key, size_t klen, uint64_t hash);

/* Item entries: "no such item"? */
int cache__item_negative(const struct cache_entry *e);
/* The item's JSON map ("" when negative); valid while e is referenced. */
const char *cache__item_value(const struct cache_entry *e, size_t *len);
/* A GetItem reply for the item entry e: {"Item":...} or {}. */
struct dx_reply *cache__item_reply(const struct cache_entry *e);

/* Stores an item entry for body (a GetItem reply: {"Item":...} or {}) unless m is stale. */
void cache__item_store(struct cache *c, const char *key, size_t klen, uint64_t hash,
                       struct cache_meta *m, const char *body, size_t blen);
/* Stores the item entry key -> item (the JSON map; ignored when negative) with m's
 * generations, which the caller checked or took after its own write. */
void cache__item_put(struct cache *c, const char *key, size_t klen, uint64_t hash,
                     const struct cache_meta *m, int negative, const char *item, size_t ilen);
void cache__schema_learn(struct cache *c, const char *t, size_t tl, const char *const *names,
                         size_t n);
int cache__schema_get(struct cache *c, const char *t, size_t tl, struct cache_schema *out);

void cache__schema_forget(struct cache *c, const char *t, size_t tl);

/* Calls inner, counting the call. */
void cache__forward(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                    void *arg);

/* Writes and table changes, forwarded, then invalidated (cache_write.c). */
void cache__write_through(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                          void *arg);

/* DescribeTable, forwarded; its answer teaches the cache the table's key names. */
void cache__describe_table(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                           void *arg);

/* BatchGetItem (cache_batch.c). */
void cache__batch_get(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                      void *arg);

#endif
