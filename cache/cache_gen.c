/*
 * Generation counters for invalidation (cache_gen.h).
 *
 * Fine groups live in 64 shards of open-addressing tables with linear probing and
 * backward-shift deletion (no tombstones). A record is 9 bytes: a 32-bit key, a 32-bit
 * generation and a CLOCK bit (a generation repeats only after 2^32 writes of one item between
 * a fill and its read, which is taken as never). Per shard, `floor` is the generation of every
 * group without a record: it only grows, and an evicted record's group reads as the floor
 * afterwards, which is above the record's last generation, so every generation a group shows
 * is at least the one before and changes when a snapshot must fail.
 *
 * Writers (snapshots that add a record, evictions, bumps) take the shard's mutex. The check on
 * a cache hit (cache_gens_peek) takes no lock: each shard has a sequence counter, odd while a
 * writer changes the shard; a reader reads the slots with relaxed atomic loads between two
 * reads of the counter and retries when it changed (a seqlock), falling back to the mutex
 * after a few tries. A cache hit thus takes one mutex (the table shard's), not two. The CLOCK
 * bit a reader sets is only a hint.
 */
#include <pthread.h>
#include <stdatomic.h>
#include "cache_gen.h"
#include "dx_alloc.h"

#define NSHARDS      64
#define COARSE_SLOTS 16384
#define CLOCK_STEPS  64

struct gshard {
    pthread_mutex_t mu;
    _Atomic uint32_t seq; /* odd: a writer is changing the slots */
    uint32_t *keys;       /* 0: empty */
    uint32_t *gens;
    uint8_t *ref;
    size_t cap;
    size_t count;
    size_t hand;
    uint32_t floor;
} __attribute__((aligned(64)));

struct cache_gens {
    struct gshard shards[NSHARDS];
    _Atomic uint64_t coarse[COARSE_SLOTS];
    _Atomic uint64_t all; /* added to every generation read */
    size_t bytes;
};

struct cache_gens *cache_gens_new(size_t max_records)
{
    struct cache_gens *g = dx_calloc(1, sizeof(*g));
    /* slots for max_records at a load of 3/4 (any count: no power of two needed) */
    size_t per = (max_records * 4 / 3 + NSHARDS - 1) / NSHARDS;
    per = (per + 7) & ~(size_t)7;
    if (per < 8)
        per = 8;
    for (int i = 0; i < NSHARDS; i++) {
        struct gshard *s = &g->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        atomic_init(&s->seq, 0);
        s->cap = per;
        s->keys = dx_calloc(per, sizeof(*s->keys));
        s->gens = dx_calloc(per, sizeof(*s->gens));
        s->ref = dx_calloc(per, 1);
    }
    for (int i = 0; i < COARSE_SLOTS; i++)
        atomic_init(&g->coarse[i], 0);
    atomic_init(&g->all, 0);
    /* the record arrays, which grow with the cache; the fixed coarse array (128 KiB) is not
     * counted */
    g->bytes = NSHARDS * per * (sizeof(uint32_t) * 2 + 1);
    return g;
}

void cache_gens_free(struct cache_gens *g)
{
    if (!g)
        return;
    for (int i = 0; i < NSHARDS; i++) {
        struct gshard *s = &g->shards[i];
        dx_free(s->keys);
        dx_free(s->gens);
        dx_free(s->ref);
        pthread_mutex_destroy(&s->mu);
    }
    dx_free(g);
}

static struct gshard *shard_of(struct cache_gens *g, uint64_t h)
{
    return &g->shards[h >> 58];
}

/* Slots are read without the lock by cache_gens_peek: every access is a relaxed atomic. */
static inline uint32_t ld(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void st8(uint8_t *p, uint8_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* A writer's section, under the mutex: the counter is odd inside. */
static void write_begin(struct gshard *s)
{
    atomic_store_explicit(&s->seq, atomic_load_explicit(&s->seq, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void write_end(struct gshard *s)
{
    atomic_store_explicit(&s->seq, atomic_load_explicit(&s->seq, memory_order_relaxed) + 1,
                          memory_order_release);
}

/* The 32-bit record key of group h (never 0): bits apart from the shard's. Two groups with
 * one key share a record, which only makes their entries stale together: never wrong. */
static uint32_t rkey(uint64_t h)
{
    uint32_t k = (uint32_t)(h >> 26);
    return k ? k : 1;
}

static size_t home(const struct gshard *s, uint32_t k)
{
    return (size_t)(((uint64_t)(k * 0x9E3779B1u) * s->cap) >> 32);
}

/* Slot of key k, or of the empty slot where it would go. Under the lock. */
static size_t do_find(const struct gshard *s, uint32_t k)
{
    size_t i = home(s, k);
    while (ld(&s->keys[i]) && ld(&s->keys[i]) != k)
        i = i + 1 == s->cap ? 0 : i + 1;
    return i;
}

static void do_delete(struct gshard *s, size_t i)
{
    size_t j = i;
    for (;;) {
        j = j + 1 == s->cap ? 0 : j + 1;
        if (!ld(&s->keys[j]))
            break;
        size_t k = home(s, ld(&s->keys[j]));
        /* the record at j may move back to i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
        if (!stays) {
            st(&s->keys[i], ld(&s->keys[j]));
            st(&s->gens[i], ld(&s->gens[j]));
            st8(&s->ref[i], __atomic_load_n(&s->ref[j], __ATOMIC_RELAXED));
            i = j;
        }
    }
    st(&s->keys[i], 0);
    st8(&s->ref[i], 0);
    s->count--;
}

/* Evicts one record, preferring one not used since the hand last passed. */
static void do_evict(struct gshard *s)
{
    for (int steps = 0;; steps++) {
        size_t i = s->hand;
        s->hand = s->hand + 1 == s->cap ? 0 : s->hand + 1;
        if (!ld(&s->keys[i]))
            continue;
        if (__atomic_load_n(&s->ref[i], __ATOMIC_RELAXED) && steps < CLOCK_STEPS) {
            st8(&s->ref[i], 0);
            continue;
        }
        if (ld(&s->gens[i]) + 1 > ld(&s->floor))
            st(&s->floor, ld(&s->gens[i]) + 1);
        do_delete(s, i);
        return;
    }
}

static uint64_t all_of(struct cache_gens *g)
{
    return atomic_load_explicit(&g->all, memory_order_acquire);
}

uint64_t cache_gens_snapshot(struct cache_gens *g, uint64_t h)
{
    if (!(h & 1))
        return all_of(g) +
               atomic_load_explicit(&g->coarse[(h >> 1) % COARSE_SLOTS], memory_order_acquire);
    struct gshard *s = shard_of(g, h);
    uint32_t k = rkey(h);
    pthread_mutex_lock(&s->mu);
    size_t i = do_find(s, k);
    if (!ld(&s->keys[i])) {
        write_begin(s);
        if (s->count + 1 > s->cap * 3 / 4) {
            do_evict(s);
            i = do_find(s, k);
        }
        st(&s->gens[i], ld(&s->floor));
        st(&s->keys[i], k);
        s->count++;
        write_end(s);
    }
    st8(&s->ref[i], 1);
    uint64_t gen = ld(&s->gens[i]);
    pthread_mutex_unlock(&s->mu);
    return all_of(g) + gen;
}

uint64_t cache_gens_peek(struct cache_gens *g, uint64_t h)
{
    if (!(h & 1))
        return all_of(g) +
               atomic_load_explicit(&g->coarse[(h >> 1) % COARSE_SLOTS], memory_order_acquire);
    struct gshard *s = shard_of(g, h);
    uint32_t k = rkey(h);
    for (int tries = 0; tries < 8; tries++) {
        uint32_t q = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (q & 1)
            continue;
        uint32_t gen = ld(&s->floor);
        size_t i = home(s, k), steps = 0;
        int found = 0;
        for (uint32_t kk; steps < s->cap && (kk = ld(&s->keys[i])); steps++) {
            if (kk == k) {
                gen = ld(&s->gens[i]);
                found = 1;
                break;
            }
            i = i + 1 == s->cap ? 0 : i + 1;
        }
        atomic_thread_fence(memory_order_acquire);
        if (steps < s->cap && atomic_load_explicit(&s->seq, memory_order_relaxed) == q) {
            if (found && !__atomic_load_n(&s->ref[i], __ATOMIC_RELAXED))
                st8(&s->ref[i], 1); /* may land on a record that moved: only a hint */
            return all_of(g) + gen;
        }
    }
    /* a writer kept the shard busy: wait for it */
    pthread_mutex_lock(&s->mu);
    size_t i = do_find(s, k);
    uint64_t gen = ld(&s->floor);
    if (ld(&s->keys[i])) {
        gen = ld(&s->gens[i]);
        st8(&s->ref[i], 1);
    }
    pthread_mutex_unlock(&s->mu);
    return all_of(g) + gen;
}

void cache_gens_bump(struct cache_gens *g, uint64_t h)
{
    if (!(h & 1)) {
        atomic_fetch_add_explicit(&g->coarse[(h >> 1) % COARSE_SLOTS], 1, memory_order_acq_rel);
        return;
    }
    /* A group without a record has no snapshot that could still pass: nothing to do. */
    struct gshard *s = shard_of(g, h);
    pthread_mutex_lock(&s->mu);
    size_t i = do_find(s, rkey(h));
    if (ld(&s->keys[i])) {
        write_begin(s);
        st(&s->gens[i], ld(&s->gens[i]) + 1);
        write_end(s);
    }
    pthread_mutex_unlock(&s->mu);
}

void cache_gens_bump_all(struct cache_gens *g)
{
    atomic_fetch_add_explicit(&g->all, 1, memory_order_acq_rel);
}

size_t cache_gens_bytes(const struct cache_gens *g)
{
    return g->bytes;
}
