/*
 * Invalidation by generation counters.
 *
 * Every cached entry depends on a few "groups" (its table, its item, its partition, all writes
 * to its table) and records each group's generation when its fetch started. A write bumps the
 * generations of the groups it touched; an entry whose recorded generations are no longer
 * current is stale and is dropped on lookup. This makes invalidation O(groups touched) instead
 * of a search for entries, and it closes the classic race for free: a read that started before
 * a write and completes after it stores its (old) result with old generations, so the result is
 * never served.
 *
 * Two kinds of group, told apart by the low bit of the group hash:
 * - coarse (low bit 0): table-wide groups, few and read on every hit, live in a fixed array of
 *   atomic counters (lock-free reads; two tables sharing a slot only cost extra misses);
 * - fine (low bit 1): one per item key or partition value, in a bounded, sharded map. A
 *   snapshot creates the group's record; when the map is full a record is evicted (CLOCK) and
 *   its shard's floor rises above it, which makes entries that depended on it stale: never
 *   wrong, only an extra miss.
 * Every generation read also includes one cache-wide counter, so cache_gens_bump_all makes every
 * snapshot stale at once (both counters only grow, so their sum changes whenever one does).
 */
#ifndef CACHE_GEN_H
#define CACHE_GEN_H

#include <stddef.h>
#include <stdint.h>

struct cache_gens;

/* A group map holding up to about max_records fine groups. Never NULL. */
struct cache_gens *cache_gens_new(size_t max_records);
void cache_gens_free(struct cache_gens *g);

static inline uint64_t cache_gen_fine(uint64_t h)
{
    return h | 1;
}
static inline uint64_t cache_gen_coarse(uint64_t h)
{
    return h & ~(uint64_t)1;
}

/* The group's generation now, creating its record (fine groups): taken before a fetch. */
uint64_t cache_gens_snapshot(struct cache_gens *g, uint64_t h);
/* The group's generation now, without creating anything: the check on a hit. */
uint64_t cache_gens_peek(struct cache_gens *g, uint64_t h);
/* Makes every snapshot taken so far of the group stale. */
void cache_gens_bump(struct cache_gens *g, uint64_t h);
/* Makes every snapshot taken so far of every group stale (a write whose targets are unknown). */
void cache_gens_bump_all(struct cache_gens *g);
/* Bytes of the fine-group records (fixed at creation; the fixed-size coarse array of about
 * 128 KiB is not included). */
size_t cache_gens_bytes(const struct cache_gens *g);

#endif
