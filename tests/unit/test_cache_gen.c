/* cache_gen: a bump makes earlier snapshots stale, other groups keep theirs, and evicting a
 * group's record never lets an old snapshot pass. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <cmocka.h>
#include "cache_gen.h"

static void test_bump_invalidates(void **state)
{
    struct cache_gens *g = cache_gens_new(1000);
    const uint64_t groups[] = {cache_gen_fine(0x1234567890abcdefULL), cache_gen_coarse(42 << 1)};
    for (size_t i = 0; i < 2; i++) {
        uint64_t a = groups[i], other = groups[1 - i];
        uint64_t s = cache_gens_snapshot(g, a);
        uint64_t so = cache_gens_snapshot(g, other);
        assert_true(cache_gens_peek(g, a) == s);
        cache_gens_bump(g, a);
        assert_true(cache_gens_peek(g, a) != s);
        assert_true(cache_gens_peek(g, other) == so);
        uint64_t s2 = cache_gens_snapshot(g, a);
        assert_true(cache_gens_peek(g, a) == s2);
    }
    cache_gens_free(g);
}

static void test_record_eviction_is_safe(void **state)
{
    struct cache_gens *g = cache_gens_new(100); /* tiny: records get evicted */
    enum { N = 20000 };
    uint64_t *snap = malloc(N * sizeof(*snap));
    for (uint64_t i = 0; i < N; i++)
        snap[i] = cache_gens_snapshot(g, cache_gen_fine(i * 0x9E3779B97F4A7C15ULL));
    /* bump every group: no snapshot may still look current, evicted or not */
    for (uint64_t i = 0; i < N; i++)
        cache_gens_bump(g, cache_gen_fine(i * 0x9E3779B97F4A7C15ULL));
    for (uint64_t i = 0; i < N; i++)
        assert_true(cache_gens_peek(g, cache_gen_fine(i * 0x9E3779B97F4A7C15ULL)) != snap[i]);
    free(snap);
    cache_gens_free(g);
}

static void test_recent_records_survive(void **state)
{
    struct cache_gens *g = cache_gens_new(4096);
    uint64_t hot = cache_gen_fine(0xabcdefULL << 8);
    uint64_t s = cache_gens_snapshot(g, hot);
    int still = 0;
    for (uint64_t i = 1; i < 2000; i++) {
        cache_gens_snapshot(g, cache_gen_fine(i * 0x9E3779B97F4A7C15ULL));
        still += cache_gens_peek(g, hot) == s;
    }
    assert_int_equal(still, 1999);
    cache_gens_free(g);
}

/* The lock-free check (cache_gens_peek) against writers that bump, add and evict records in the
 * same shards at once: a group's generation never goes back, and once the writers are done
 * every snapshot taken before a group's last bump fails. */
enum { CG_GROUPS = 64, CG_ITERS = 40000 };
static struct cache_gens *CG;
static _Atomic int cg_stop;
static uint64_t cg_snap[CG_GROUPS]; /* before the final bumps */

static uint64_t cg_group(uint64_t i)
{
    /* every group in shard 0 (the top bits choose the shard): the most contention */
    return cache_gen_fine((i * 0x9E3779B97F4A7C15ULL) >> 6);
}

static void *cg_writer(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg * 7919 + 1;
    for (int n = 0; n < CG_ITERS; n++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t i = (x >> 33) % (CG_GROUPS * 8); /* groups beyond CG_GROUPS force evictions */
        if (n & 1)
            cache_gens_bump(CG, cg_group(i));
        else
            cache_gens_snapshot(CG, cg_group(i));
    }
    return NULL;
}

static void *cg_reader(void *arg)
{
    uint64_t last[CG_GROUPS] = {0};
    int bad = 0;
    while (!atomic_load(&cg_stop)) {
        for (uint64_t i = 0; i < CG_GROUPS; i++) {
            uint64_t v = cache_gens_peek(CG, cg_group(i));
            bad |= v < last[i];
            last[i] = v;
        }
    }
    return (void *)(uintptr_t)bad;
}

static void test_lock_free_peek(void **state)
{
    CG = cache_gens_new(48); /* one small shard's worth: constant eviction */
    atomic_store(&cg_stop, 0);
    pthread_t w[2], r[2];
    for (uintptr_t i = 0; i < 2; i++) {
        pthread_create(&w[i], NULL, cg_writer, (void *)i);
        pthread_create(&r[i], NULL, cg_reader, NULL);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    for (uint64_t i = 0; i < CG_GROUPS; i++)
        cg_snap[i] = cache_gens_snapshot(CG, cg_group(i));
    for (uint64_t i = 0; i < CG_GROUPS; i++)
        cache_gens_bump(CG, cg_group(i));
    atomic_store(&cg_stop, 1);
    for (int i = 0; i < 2; i++) {
        void *bad;
        pthread_join(r[i], &bad);
        assert_null(bad);
    }
    for (uint64_t i = 0; i < CG_GROUPS; i++)
        assert_true(cache_gens_peek(CG, cg_group(i)) != cg_snap[i]);
    cache_gens_free(CG);
}

static void test_bump_all(void **state)
{
    struct cache_gens *g = cache_gens_new(1000);
    uint64_t f = cache_gen_fine(0x777ULL << 20), c = cache_gen_coarse(99 << 1);
    uint64_t sf = cache_gens_snapshot(g, f), sc = cache_gens_snapshot(g, c);
    cache_gens_bump_all(g);
    assert_true(cache_gens_peek(g, f) != sf);
    assert_true(cache_gens_peek(g, c) != sc);
    assert_true(cache_gens_peek(g, cache_gen_fine(0x12345ULL << 20)) != 0);
    cache_gens_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bump_invalidates),
        cmocka_unit_test(test_record_eviction_is_safe),
        cmocka_unit_test(test_recent_records_survive),
        cmocka_unit_test(test_lock_free_peek),
        cmocka_unit_test(test_bump_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
