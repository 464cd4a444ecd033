/* cache_gen: a bump makes earlier snapshots stale, other groups keep theirs, and evicting a
 * group's record never lets an old snapshot pass. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bump_invalidates),
        cmocka_unit_test(test_record_eviction_is_safe),
        cmocka_unit_test(test_recent_records_survive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
