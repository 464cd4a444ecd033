/*
 * Sharded hash table with per-shard LRU eviction and refcounted entries (cache_table.h).
 *
 * memcached's layout on a smaller scale: striped locks (one mutex per shard, the shard chosen
 * by the high bits of the key's hash), intrusive hash chains and an intrusive LRU list, and
 * entries that outlive their removal while a reader still holds them. The table holds one
 * reference to each linked entry; removal (eviction, replacement, expiry, delete) drops it.
 * Bytes are charged per shard, so a shard never needs another shard's lock.
 *
 * Bytes are real memory: an entry is charged what the allocator actually reserved for it
 * (malloc_usable_size: jemalloc's size class when ddax runs on jemalloc, glibc's chunk
 * otherwise), and each shard's bucket array counts too, so the limit holds as memory, not as a
 * sum of lengths. The charge is not stored: the allocator answers the same for the same block
 * at removal.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "cache_table.h"
#include "dx_alloc.h"
#include "dx_status.h"

struct cache_entry {
    struct cache_entry *hnext;         /* hash chain */
    struct cache_entry *lprev, *lnext; /* LRU list, most recent at the head */
    uint64_t hash;
    uint64_t expire_ms; /* 0: never */
    _Atomic uint32_t refs;
    uint32_t klen;
    uint32_t vlen;
    uint8_t metalen; /* rounded up to 8 in the layout */
    uint8_t linked;  /* in the table (under the shard lock) */
    uint16_t shard;
    /* meta (8-aligned, padded to 8) | key | value | NUL */
    _Alignas(8) char data[];
};

struct shard {
    pthread_mutex_t mu;
    struct cache_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    size_t bytes;    /* the entries' */
    size_t overhead; /* the bucket array's */
    size_t limit;
    struct cache_entry lru; /* sentinel: lru.lnext is the most recent */
    uint64_t evictions;
    uint64_t expirations;
} __attribute__((aligned(64)));

struct cache_table {
    unsigned nshards; /* power of two */
    unsigned shift;   /* hash >> shift picks the shard */
    struct shard *shards;
};

#define INITIAL_BUCKETS 64

/* What the allocator reserved for p. */
static size_t real_size(void *p)
{
    return malloc_usable_size(p);
}

static size_t meta_pad(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static char *entry_key(struct cache_entry *e)
{
    return e->data + meta_pad(e->metalen);
}

struct cache_table *cache_table_new(size_t max_bytes, unsigned nshards)
{
    unsigned n = 1, shift = 64;
    while (n < nshards) {
        n <<= 1;
        shift--;
    }
    struct cache_table *t = dx_calloc(1, sizeof(*t));
    t->nshards = n;
    t->shift = shift;
    t->shards = dx_calloc(n, sizeof(struct shard));
    for (unsigned i = 0; i < n; i++) {
        struct shard *s = &t->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->nbuckets = INITIAL_BUCKETS;
        s->buckets = dx_calloc(s->nbuckets, sizeof(*s->buckets));
        s->overhead = real_size(s->buckets);
        s->limit = max_bytes / n;
        s->lru.lnext = s->lru.lprev = &s->lru;
    }
    return t;
}

void cache_entry_ref(struct cache_entry *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

void cache_entry_unref(struct cache_entry *e)
{
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
        dx_free(e);
}

const char *cache_entry_value(const struct cache_entry *e, size_t *len)
{
    *len = e->vlen;
    return e->data + meta_pad(e->metalen) + e->klen;
}

const char *cache_entry_key(const struct cache_entry *e, size_t *len)
{
    *len = e->klen;
    return e->data + meta_pad(e->metalen);
}

const void *cache_entry_meta(const struct cache_entry *e, size_t *len)
{
    *len = e->metalen;
    return e->data;
}

void cache_table_free(struct cache_table *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->nshards; i++) {
        struct shard *s = &t->shards[i];
        struct cache_entry *e = s->lru.lnext;
        while (e != &s->lru) {
            struct cache_entry *next = e->lnext;
            e->linked = 0;
            cache_entry_unref(e);
            e = next;
        }
        dx_free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    dx_free(t->shards);
    dx_free(t);
}

static struct shard *shard_of(struct cache_table *t, uint64_t hash)
{
    return &t->shards[t->shift >= 64 ? 0 : hash >> t->shift];
}

/* --- under the shard lock --- */

static struct cache_entry **do_find(struct shard *s, uint64_t hash, const void *key, size_t klen)
{
    struct cache_entry **pp = &s->buckets[hash & (s->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext) {
        struct cache_entry *e = *pp;
        if (e->hash == hash && e->klen == klen && memcmp(entry_key(e), key, klen) == 0)
            return pp;
    }
    return pp;
}

static void lru_unlink(struct cache_entry *e)
{
    e->lprev->lnext = e->lnext;
    e->lnext->lprev = e->lprev;
}

static void lru_push_front(struct shard *s, struct cache_entry *e)
{
    e->lnext = s->lru.lnext;
    e->lprev = &s->lru;
    s->lru.lnext->lprev = e;
    s->lru.lnext = e;
}

/* Unlinks the entry at *pp from the table and drops the table's reference. */
static void do_remove(struct shard *s, struct cache_entry **pp)
{
    struct cache_entry *e = *pp;
    *pp = e->hnext;
    lru_unlink(e);
    s->count--;
    s->bytes -= real_size(e);
    e->linked = 0;
    cache_entry_unref(e);
}

static void do_remove_entry(struct shard *s, struct cache_entry *e)
{
    struct cache_entry **pp = do_find(s, e->hash, entry_key(e), e->klen);
    if (*pp == e)
        do_remove(s, pp);
}

/* Doubles the bucket array when chains get long: amortised O(1) per insert, and per shard. */
static void do_grow(struct shard *s)
{
    size_t n = s->nbuckets * 2;
    struct cache_entry **b = dx_calloc(n, sizeof(*b));
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct cache_entry *e = s->buckets[i];
        while (e) {
            struct cache_entry *next = e->hnext;
            size_t j = e->hash & (n - 1);
            e->hnext = b[j];
            b[j] = e;
            e = next;
        }
    }
    dx_free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    s->overhead = real_size(b);
}

/* Evicts from the LRU tail (never keep) while the shard holds more than limit - need. */
static void do_evict(struct shard *s, size_t need, const struct cache_entry *keep, uint64_t now_ms)
{
    while (s->bytes + s->overhead + need > s->limit && s->lru.lprev != &s->lru &&
           s->lru.lprev != keep) {
        struct cache_entry *victim = s->lru.lprev;
        if (victim->expire_ms && victim->expire_ms <= now_ms)
            s->expirations++;
        else
            s->evictions++;
        do_remove_entry(s, victim);
    }
}

/* --- public operations --- */

int cache_table_put(struct cache_table *t, uint64_t hash, const void *key, size_t klen,
                    const void *value, size_t vlen, const void *meta, size_t metalen,
                    uint64_t expire_ms, uint64_t now_ms)
{
    struct shard *s = shard_of(t, hash);
    if (metalen > 255 || klen > UINT32_MAX || vlen > UINT32_MAX)
        return DX_EINVAL;
    size_t datalen = meta_pad(metalen) + klen + vlen + 1;
    if (sizeof(struct cache_entry) + datalen > s->limit / 2)
        return DX_EFULL; /* one entry may not take more than half a shard */

    /* Build the entry outside the lock: the copy is the expensive part. */
    struct cache_entry *e = dx_malloc(sizeof(*e) + datalen);
    size_t charge = real_size(e);
    memset(e, 0, sizeof(*e));
    e->hash = hash;
    e->expire_ms = expire_ms;
    atomic_init(&e->refs, 1);
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    e->metalen = (uint8_t)metalen;
    if (metalen)
        memcpy(e->data, meta, metalen);
    memcpy(entry_key(e), key, klen);
    memcpy(entry_key(e) + klen, value, vlen);
    entry_key(e)[klen + vlen] = '\0';

    pthread_mutex_lock(&s->mu);
    struct cache_entry **pp = do_find(s, hash, key, klen);
    if (*pp)
        do_remove(s, pp);
    do_evict(s, charge, NULL, now_ms);
    pp = do_find(s, hash, key, klen); /* removals may have reordered the chain */
    e->hnext = *pp;
    *pp = e;
    lru_push_front(s, e);
    e->linked = 1;
    s->count++;
    s->bytes += charge;
    if (s->count > 2 * s->nbuckets) { /* chains of two on average: 4 to 8 bytes an entry */
        do_grow(s);
        do_evict(s, 0, e, now_ms); /* the larger bucket array counts too */
    }
    pthread_mutex_unlock(&s->mu);
    return DX_OK;
}

struct cache_entry *cache_table_get(struct cache_table *t, uint64_t hash, const void *key,
                                    size_t klen, uint64_t now_ms)
{
    struct shard *s = shard_of(t, hash);
    struct cache_entry *e = NULL;
    pthread_mutex_lock(&s->mu);
    struct cache_entry **pp = do_find(s, hash, key, klen);
    if (*pp) {
        e = *pp;
        if (e->expire_ms && e->expire_ms <= now_ms) {
            s->expirations++;
            do_remove(s, pp);
            e = NULL;
        } else {
            if (s->lru.lnext != e) {
                lru_unlink(e);
                lru_push_front(s, e);
            }
            cache_entry_ref(e);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

void cache_table_del(struct cache_table *t, uint64_t hash, const void *key, size_t klen)
{
    struct shard *s = shard_of(t, hash);
    pthread_mutex_lock(&s->mu);
    struct cache_entry **pp = do_find(s, hash, key, klen);
    if (*pp)
        do_remove(s, pp);
    pthread_mutex_unlock(&s->mu);
}

void cache_table_del_entry(struct cache_table *t, struct cache_entry *e)
{
    struct shard *s = shard_of(t, e->hash);
    pthread_mutex_lock(&s->mu);
    if (e->linked)
        do_remove_entry(s, e);
    pthread_mutex_unlock(&s->mu);
}

void cache_table_stats(struct cache_table *t, struct cache_table_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < t->nshards; i++) {
        struct shard *s = &t->shards[i];
        pthread_mutex_lock(&s->mu);
        out->entries += s->count;
        out->bytes += s->bytes + s->overhead;
        out->evictions += s->evictions;
        out->expirations += s->expirations;
        pthread_mutex_unlock(&s->mu);
    }
}
