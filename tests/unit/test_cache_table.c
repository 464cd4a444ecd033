/* cache_table: store/lookup, the byte limit under eviction, LRU order, TTL expiry, and entries
 * that stay readable while referenced after they left the table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "cache_key.h"
#include "cache_table.h"
#include "dx_status.h"

static uint64_t h(const char *k)
{
    return cache_hash(k, strlen(k), 0);
}

static int put(struct cache_table *t, const char *k, const char *v, uint64_t exp, uint64_t now)
{
    return cache_table_put(t, h(k), k, strlen(k), v, strlen(v), NULL, 0, exp, now);
}

/* The value stored for k, or NULL (static buffer). */
static const char *get(struct cache_table *t, const char *k, uint64_t now)
{
    static char buf[4096];
    struct cache_entry *e = cache_table_get(t, h(k), k, strlen(k), now);
    if (!e)
        return NULL;
    size_t len;
    const char *v = cache_entry_value(e, &len);
    memcpy(buf, v, len + 1);
    cache_entry_unref(e);
    return buf;
}

static void test_put_get_replace_del(void **state)
{
    struct cache_table *t = cache_table_new(1 << 20, 4);
    assert_null(get(t, "a", 0));
    assert_int_equal(put(t, "a", "one", 0, 0), DX_OK);
    assert_int_equal(put(t, "b", "two", 0, 0), DX_OK);
    assert_string_equal(get(t, "a", 0), "one");
    assert_string_equal(get(t, "b", 0), "two");
    assert_int_equal(put(t, "a", "uno", 0, 0), DX_OK);
    assert_string_equal(get(t, "a", 0), "uno");
    struct cache_table_stats st;
    cache_table_stats(t, &st);
    assert_int_equal(st.entries, 2);
    cache_table_del(t, h("a"), "a", 1);
    assert_null(get(t, "a", 0));
    assert_string_equal(get(t, "b", 0), "two");
    cache_table_stats(t, &st);
    assert_int_equal(st.entries, 1);
    cache_table_free(t);
}

static void test_meta_round_trip(void **state)
{
    struct cache_table *t = cache_table_new(1 << 20, 1);
    uint64_t meta[3] = {1, 2, 3};
    assert_int_equal(cache_table_put(t, h("k"), "k", 1, "v", 1, meta, sizeof(meta), 0, 0), DX_OK);
    struct cache_entry *e = cache_table_get(t, h("k"), "k", 1, 0);
    assert_non_null(e);
    size_t ml;
    const uint64_t *m = cache_entry_meta(e, &ml);
    assert_int_equal(ml, sizeof(meta));
    assert_memory_equal(m, meta, sizeof(meta));
    cache_entry_unref(e);
    cache_table_free(t);
}

static void test_eviction_bounds_bytes(void **state)
{
    const size_t limit = 64 * 1024;
    struct cache_table *t = cache_table_new(limit, 4);
    char k[32], v[300];
    memset(v, 'x', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "key-%d", i);
        assert_int_equal(put(t, k, v, 0, 0), DX_OK);
        struct cache_table_stats st;
        cache_table_stats(t, &st);
        assert_true(st.bytes <= limit);
    }
    struct cache_table_stats st;
    cache_table_stats(t, &st);
    assert_true(st.evictions > 4000);
    assert_true(st.entries > 100); /* the limit is used, not wasted */
    assert_non_null(get(t, "key-4999", 0));
    assert_null(get(t, "key-0", 0));
    cache_table_free(t);
}

static void test_lru_keeps_recently_read(void **state)
{
    struct cache_table *t = cache_table_new(8 * 1024, 1);
    char k[32], v[200];
    memset(v, 'y', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    assert_int_equal(put(t, "hot", v, 0, 0), DX_OK);
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "cold-%d", i);
        put(t, k, v, 0, 0);
        assert_non_null(get(t, "hot", 0)); /* read between writes: never the LRU tail */
    }
    cache_table_free(t);
}

static void test_too_large(void **state)
{
    struct cache_table *t = cache_table_new(4096, 1);
    char *v = malloc(8192);
    memset(v, 'z', 8191);
    v[8191] = '\0';
    assert_int_equal(put(t, "big", v, 0, 0), DX_EFULL);
    assert_null(get(t, "big", 0));
    free(v);
    cache_table_free(t);
}

static void test_ttl(void **state)
{
    struct cache_table *t = cache_table_new(1 << 20, 2);
    assert_int_equal(put(t, "a", "1", 1000, 0), DX_OK); /* expires at 1000 */
    assert_int_equal(put(t, "forever", "2", 0, 0), DX_OK);
    assert_string_equal(get(t, "a", 999), "1");
    assert_null(get(t, "a", 1000));
    assert_null(get(t, "a", 999)); /* gone, not hidden */
    assert_string_equal(get(t, "forever", 1u << 30), "2");
    struct cache_table_stats st;
    cache_table_stats(t, &st);
    assert_int_equal(st.expirations, 1);
    assert_int_equal(st.entries, 1);
    cache_table_free(t);
}

static void test_reference_survives_eviction(void **state)
{
    struct cache_table *t = cache_table_new(4096, 1);
    assert_int_equal(put(t, "held", "precious bytes", 0, 0), DX_OK);
    struct cache_entry *e = cache_table_get(t, h("held"), "held", 4, 0);
    assert_non_null(e);
    char k[32], v[500];
    memset(v, 'q', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "flood-%d", i);
        put(t, k, v, 0, 0);
    }
    assert_null(get(t, "held", 0)); /* evicted from the table ... */
    size_t len;
    assert_string_equal(cache_entry_value(e, &len), "precious bytes"); /* ... still readable */
    assert_int_equal(len, 14);
    /* replaced and deleted entries too */
    put(t, "r", "old", 0, 0);
    struct cache_entry *r = cache_table_get(t, h("r"), "r", 1, 0);
    put(t, "r", "new", 0, 0);
    cache_table_del(t, h("r"), "r", 1);
    assert_string_equal(cache_entry_value(r, &len), "old");
    cache_entry_unref(r);
    cache_table_free(t);
    assert_string_equal(cache_entry_value(e, &len), "precious bytes"); /* outlives the table */
    cache_entry_unref(e);
}

static void test_del_entry_only_if_current(void **state)
{
    struct cache_table *t = cache_table_new(1 << 20, 1);
    put(t, "k", "v1", 0, 0);
    struct cache_entry *old = cache_table_get(t, h("k"), "k", 1, 0);
    put(t, "k", "v2", 0, 0);
    cache_table_del_entry(t, old); /* stale handle: must not drop the new value */
    assert_string_equal(get(t, "k", 0), "v2");
    struct cache_entry *cur = cache_table_get(t, h("k"), "k", 1, 0);
    cache_table_del_entry(t, cur);
    assert_null(get(t, "k", 0));
    cache_entry_unref(old);
    cache_entry_unref(cur);
    cache_table_free(t);
}

/*
 * What an entry costs beyond its key and value bytes, as memory. Each entry is charged what the
 * allocator reserved for it (malloc_usable_size: its header, struct cache_entry, 56 bytes on
 * LP64, the meta rounded up to 8 (none here), key, value and the value's trailing NUL, rounded
 * up by the allocator), and the shard's bucket arrays are charged too. The bound asserted, 96,
 * leaves room for the allocator's rounding; under glibc the charge is checked against what
 * malloc really handed out (mallinfo2: only its 8-byte chunk headers are not charged).
 */
#define OVERHEAD_BOUND 96

static void test_entry_overhead_bounded(void **state)
{
    enum { N = 10000, KLEN = 40, VLEN = 300 };
    static char value[VLEN + 1];
    memset(value, 'v', VLEN);
#ifdef __GLIBC__
    struct mallinfo2 before = mallinfo2();
#endif
    struct cache_table *t = cache_table_new((size_t)256 << 20, 8);
    size_t payload = 0;
    for (int i = 0; i < N; i++) {
        char key[KLEN + 1];
        snprintf(key, sizeof(key), "table-item-key-%025d", i);
        assert_int_equal(strlen(key), KLEN);
        assert_int_equal(put(t, key, value, 0, 0), DX_OK);
        payload += KLEN + VLEN;
    }
    struct cache_table_stats st;
    cache_table_stats(t, &st);
    assert_int_equal(st.entries, N);
    assert_int_equal(st.evictions, 0);
    assert_true(st.bytes >= payload);
    double per_entry = (double)(st.bytes - payload) / N;
    assert_true(per_entry <= OVERHEAD_BOUND);
#ifdef __GLIBC__
    struct mallinfo2 after = mallinfo2();
    size_t heap = after.uordblks - before.uordblks;
    print_message("cache entry: %zu payload bytes, %llu accounted (%.1f overhead/entry), "
                  "%zu allocated by malloc (%.1f overhead/entry)\n",
                  payload, (unsigned long long)st.bytes, per_entry, heap,
                  ((double)heap - (double)payload) / N);
    if (heap >= payload) { /* not under the sanitizers, whose allocator mallinfo2 does not see */
        assert_true(st.bytes <= heap);
        assert_true(st.bytes + (size_t)N * 16 >= heap);
    }
#endif
    cache_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_del),
        cmocka_unit_test(test_meta_round_trip),
        cmocka_unit_test(test_eviction_bounds_bytes),
        cmocka_unit_test(test_lru_keeps_recently_read),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_reference_survives_eviction),
        cmocka_unit_test(test_del_entry_only_if_current),
        cmocka_unit_test(test_entry_overhead_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
