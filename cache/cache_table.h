/*
 * The cache's storage: a sharded hash table of immutable, refcounted entries.
 *
 * Each shard has its own mutex, hash chains and LRU list, and a byte budget (max_bytes divided
 * by the shard count) enforced by evicting from the LRU tail when an entry is stored: work per
 * operation is bounded by what the new entry needs, never a sweep of the table. An entry is one
 * allocation holding its key, its value and a small opaque "meta" area the caller interprets
 * (the cache stores its invalidation dependencies there). Entries expire at a per-entry time;
 * an expired entry is dropped when it is next looked up or reaches the LRU tail.
 *
 * A lookup returns a reference: the entry stays valid (even if evicted or replaced meanwhile)
 * until cache_entry_unref. Times are milliseconds on any monotonic clock the caller chooses.
 */
#ifndef CACHE_TABLE_H
#define CACHE_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct cache_table;
struct cache_entry;

/* A table of at most max_bytes split over nshards shards (rounded up to a power of two,
 * at least 1). Never NULL. */
struct cache_table *cache_table_new(size_t max_bytes, unsigned nshards);
/* Frees the table; entries still referenced stay valid until their last unref. */
void cache_table_free(struct cache_table *t);

/*
 * Stores key -> value (both copied) with meta (copied; metalen <= 255) and expiry time
 * expire_ms (0: never), replacing an entry with the same key. hash must be a hash of the key
 * (the same for every call with that key). Evicts least recently used entries of the shard
 * until the new one fits. Returns DX_OK, or DX_EFULL when the entry alone would take more than
 * half the shard's budget (nothing stored).
 */
int cache_table_put(struct cache_table *t, uint64_t hash, const void *key, size_t klen,
                    const void *value, size_t vlen, const void *meta, size_t metalen,
                    uint64_t expire_ms, uint64_t now_ms);

/* The live entry for key with a reference taken (release with cache_entry_unref), or NULL.
 * An expired entry is dropped and NULL returned. A hit makes the entry most recently used. */
struct cache_entry *cache_table_get(struct cache_table *t, uint64_t hash, const void *key,
                                    size_t klen, uint64_t now_ms);

/* Drops the entry for key, if any. */
void cache_table_del(struct cache_table *t, uint64_t hash, const void *key, size_t klen);
/* Drops e from the table if it is still the stored entry for its key (the caller's reference
 * stays valid). */
void cache_table_del_entry(struct cache_table *t, struct cache_entry *e);

void cache_entry_ref(struct cache_entry *e);
void cache_entry_unref(struct cache_entry *e);
/* The value bytes (followed by a NUL not counted in *len); valid while referenced. */
const char *cache_entry_value(const struct cache_entry *e, size_t *len);
/* The key bytes; valid while referenced. */
const char *cache_entry_key(const struct cache_entry *e, size_t *len);
/* The meta bytes (8-byte aligned); valid while referenced. */
const void *cache_entry_meta(const struct cache_entry *e, size_t *len);

struct cache_table_stats {
    uint64_t entries;
    uint64_t bytes; /* memory held: each entry's allocation (header, meta, key, value, as the
                     * allocator rounded it) and the bucket arrays */
    uint64_t evictions;
    uint64_t expirations;
};
void cache_table_stats(struct cache_table *t, struct cache_table_stats *out);

#endif
