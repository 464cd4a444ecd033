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

/* Stored with every entry (the table's meta area). */
struct cache_meta {
    uint32_t item_off, item_len; /* item entries: the "Item" value inside the reply body */
    uint8_t ndeps;
    uint8_t negative; /* item entries: "no such item" */
    uint8_t pad[6];
    uint64_t epoch;              /* the cache-wide generation (struct cache) */
    uint64_t dep[CACHE_MAXDEPS]; /* group hashes (cache_gen.h) */
    uint64_t gen[CACHE_MAXDEPS]; /* their generations when the fetch started */
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
    pthread_mutex_t wmu;
    struct cache_wrapper *wrappers;

    _Atomic uint64_t item_hits, item_misses, negative_hits, query_hits, query_misses;
    _Atomic uint64_t coalesced, invalidations;
    /* bumped by a write whose targets cannot be told (an unreadable PartiQL statement): every
     * entry depends on it */
    _Atomic uint64_t epoch;
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

/* Stores an item entry for body (a GetItem reply: {"Item":...} or {}) unless m is stale.
 * Learns the table's key names (keynames may be NULL). */
void cache__item_store(struct cache *c, const char *key, size_t klen, uint64_t hash,
                       struct cache_meta *m, const char *body, size_t blen);
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

/* BatchGetItem (cache_batch.c). */
void cache__batch_get(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                      void *arg);

#endif
