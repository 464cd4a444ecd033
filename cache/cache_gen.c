/*
 * Generation counters for invalidation (cache_gen.h).
 *
 * Fine groups live in 64 shards of open-addressing tables with linear probing and
 * backward-shift deletion (no tombstones), each under its own mutex. Per shard, `floor` is the
 * generation of every group without a record: it only grows, and an evicted record's group
 * reads as the floor afterwards, which is above the record's last generation, so every
 * generation a group shows is at least the one before and changes when a snapshot must fail.
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
    uint64_t *keys; /* 0: empty */
    uint64_t *gens;
    uint8_t *ref;
    size_t cap; /* power of two */
    size_t count;
    size_t hand;
    uint64_t floor;
} __attribute__((aligned(64)));

struct cache_gens {
    struct gshard shards[NSHARDS];
    _Atomic uint64_t coarse[COARSE_SLOTS];
};

struct cache_gens *cache_gens_new(size_t max_records)
{
    struct cache_gens *g = dx_calloc(1, sizeof(*g));
    size_t per = 64;
    while (per * NSHARDS * 3 / 4 < max_records)
        per <<= 1;
    for (int i = 0; i < NSHARDS; i++) {
        struct gshard *s = &g->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->cap = per;
        s->keys = dx_calloc(per, sizeof(*s->keys));
        s->gens = dx_calloc(per, sizeof(*s->gens));
        s->ref = dx_calloc(per, 1);
    }
    for (int i = 0; i < COARSE_SLOTS; i++)
        atomic_init(&g->coarse[i], 0);
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

static size_t home(const struct gshard *s, uint64_t h)
{
    return (h >> 1) & (s->cap - 1);
}

/* Slot of h, or of the empty slot where it would go. Under the lock. */
static size_t do_find(const struct gshard *s, uint64_t h)
{
    size_t i = home(s, h);
    while (s->keys[i] && s->keys[i] != h)
        i = (i + 1) & (s->cap - 1);
    return i;
}

static void do_delete(struct gshard *s, size_t i)
{
    size_t mask = s->cap - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!s->keys[j])
            break;
        size_t k = home(s, s->keys[j]);
        /* the record at j may move back to i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
        if (!stays) {
            s->keys[i] = s->keys[j];
            s->gens[i] = s->gens[j];
            s->ref[i] = s->ref[j];
            i = j;
        }
    }
    s->keys[i] = 0;
    s->ref[i] = 0;
    s->count--;
}

/* Evicts one record, preferring one not used since the hand last passed. */
static void do_evict(struct gshard *s)
{
    size_t mask = s->cap - 1;
    for (int steps = 0;; steps++) {
        size_t i = s->hand;
        s->hand = (s->hand + 1) & mask;
        if (!s->keys[i])
            continue;
        if (s->ref[i] && steps < CLOCK_STEPS) {
            s->ref[i] = 0;
            continue;
        }
        if (s->gens[i] + 1 > s->floor)
            s->floor = s->gens[i] + 1;
        do_delete(s, i);
        return;
    }
}

uint64_t cache_gens_snapshot(struct cache_gens *g, uint64_t h)
{
    if (!(h & 1))
        return atomic_load_explicit(&g->coarse[(h >> 1) % COARSE_SLOTS], memory_order_acquire);
    struct gshard *s = shard_of(g, h);
    pthread_mutex_lock(&s->mu);
    size_t i = do_find(s, h);
    if (!s->keys[i]) {
        if (s->count + 1 > s->cap * 3 / 4) {
            do_evict(s);
            i = do_find(s, h);
        }
        s->keys[i] = h;
        s->gens[i] = s->floor;
        s->count++;
    }
    s->ref[i] = 1;
    uint64_t gen = s->gens[i];
    pthread_mutex_unlock(&s->mu);
    return gen;
}

uint64_t cache_gens_peek(struct cache_gens *g, uint64_t h)
{
    if (!(h & 1))
        return atomic_load_explicit(&g->coarse[(h >> 1) % COARSE_SLOTS], memory_order_acquire);
    struct gshard *s = shard_of(g, h);
    pthread_mutex_lock(&s->mu);
    size_t i = do_find(s, h);
    uint64_t gen = s->floor;
    if (s->keys[i]) {
        gen = s->gens[i];
        s->ref[i] = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return gen;
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
    size_t i = do_find(s, h);
    if (s->keys[i])
        s->gens[i]++;
    pthread_mutex_unlock(&s->mu);
}
