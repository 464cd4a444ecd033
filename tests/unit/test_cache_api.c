/* The caching dx_api: item cache hits and misses, what bypasses it, negative entries, TTLs,
 * the query cache, coalescing of concurrent misses, other threads, and configuration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "cache_test_fake.h"

/* --- item cache --- */

static void test_hit_does_not_reach_inner(void **state)
{
    start(NULL);
    char b1[512], b2[512], b3[512];
    assert_int_equal(call(DX_OP_PutItem, PUT_A, NULL, 0), 200);
    assert_int_equal(call(DX_OP_GetItem, GET_A, b1, sizeof(b1)), 200);
    assert_int_equal(inner(DX_OP_GetItem), 1);
    assert_int_equal(call(DX_OP_GetItem, GET_A, b2, sizeof(b2)), 200);
    /* same key, other spelling: whitespace, ConsistentRead false, ReturnConsumedCapacity NONE */
    assert_int_equal(call(DX_OP_GetItem,
                          "{ \"Key\" : {\"pk\": {\"S\":\"a\"}}, \"ConsistentRead\":false,"
                          "\"ReturnConsumedCapacity\":\"NONE\", \"TableName\":\"T\" }",
                          b3, sizeof(b3)),
                     200);
    assert_int_equal(inner(DX_OP_GetItem), 1);
    assert_string_equal(b1, b2);
    assert_string_equal(b1, b3);
    assert_non_null(strstr(b1, "\"Item\""));
    /* another projection is another entry */
    call(DX_OP_GetItem,
         "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},\"ProjectionExpression\":\"v\"}",
         NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    struct cache_stats st;
    cache_stats_get(C, &st);
    assert_int_equal(st.item_hits, 2);
    assert_int_equal(st.item_misses, 2);
    assert_int_equal(st.upstream[DX_OP_GetItem], 2);
    assert_true(st.entries >= 2 && st.bytes > 0);
    stop();
}

static void test_bypasses(void **state)
{
    static const char *bypass[] = {
        "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},\"ConsistentRead\":true}",
        "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},\"ReturnConsumedCapacity\":\"TOTAL\"}",
        /* DynamoDB rejects these; the cache must not answer them from an entry */
        "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},\"ExpressionAttributeNames\":{\"#x\":"
        "\"v\"}}",
        "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},\"Bogus\":1}",
        "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},\"ConsistentRead\":\"yes\"}",
        "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"N\":\"x1\"}}}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bypass) / sizeof(bypass[0]); i++) {
        start(NULL);
        call(DX_OP_PutItem, PUT_A, NULL, 0);
        call(DX_OP_GetItem, GET_A, NULL, 0); /* fills the entry */
        F.force_status = 400;
        F.force_body = "{\"__type\":\"x#ValidationException\",\"message\":\"no\"}";
        int before = inner(DX_OP_GetItem);
        assert_int_equal(call(DX_OP_GetItem, bypass[i], NULL, 0), 400);
        assert_int_equal(call(DX_OP_GetItem, bypass[i], NULL, 0), 400);
        assert_int_equal(inner(DX_OP_GetItem), before + 2);
        stop();
    }
}

static void test_consistent_read_does_not_fill(void **state)
{
    start(NULL);
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    call(DX_OP_GetItem,
         "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},\"ConsistentRead\":true}", NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    /* TransactGetItems always passes through */
    call(DX_OP_TransactGetItems, "{\"TransactItems\":[]}", NULL, 0);
    call(DX_OP_TransactGetItems, "{\"TransactItems\":[]}", NULL, 0);
    assert_int_equal(inner(DX_OP_TransactGetItems), 2);
    stop();
}

static void test_negative_entries(void **state)
{
    start(NULL);
    char b[256];
    assert_int_equal(call(DX_OP_GetItem, GET_A, b, sizeof(b)), 200);
    assert_string_equal(b, "{}");
    assert_int_equal(call(DX_OP_GetItem, GET_A, b, sizeof(b)), 200);
    assert_string_equal(b, "{}");
    assert_int_equal(inner(DX_OP_GetItem), 1);
    struct cache_stats st;
    cache_stats_get(C, &st);
    assert_int_equal(st.negative_hits, 1);
    /* a Put through the cache ends the negative entry: its image replaces it */
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, b, sizeof(b));
    assert_non_null(strstr(b, "\"Item\""));
    assert_int_equal(inner(DX_OP_GetItem), 1);
    stop();

    struct cache_options o;
    cache_options_init(&o);
    o.negative_ttl_ms = 0; /* negative caching off */
    start(&o);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    stop();
}

static void test_errors_not_cached(void **state)
{
    static const int statuses[] = {400, 500, 503};
    for (size_t i = 0; i < 3; i++) {
        start(NULL);
        F.force_status = statuses[i];
        F.force_body =
            "{\"__type\":\"x#ProvisionedThroughputExceededException\",\"message\":\"m\"}";
        assert_int_equal(call(DX_OP_GetItem, GET_A, NULL, 0), statuses[i]);
        assert_int_equal(call(DX_OP_GetItem, GET_A, NULL, 0), statuses[i]);
        F.force_status = 0;
        assert_int_equal(call(DX_OP_GetItem, GET_A, NULL, 0), 200);
        assert_int_equal(inner(DX_OP_GetItem), 3);
        stop();
    }
}

static void test_ttl_expiry(void **state)
{
    struct cache_options o;
    cache_options_init(&o);
    o.item_ttl_ms = 30;
    start(&o);
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 1);
    usleep(60 * 1000);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    stop();
}

/* --- query cache --- */

#define QUERY(p)                                                                                   \
    "{\"TableName\":\"R\",\"KeyConditionExpression\":\"pk = :p\","                                 \
    "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"" p "\"}}}"
#define PUT_R(p, s)                                                                                \
    "{\"TableName\":\"R\",\"Item\":{\"pk\":{\"S\":\"" p "\"},\"sk\":{\"S\":\"" s "\"}}}"

static void test_query_cache(void **state)
{
    start(NULL);
    char b1[1024], b2[1024];
    call(DX_OP_PutItem, PUT_R("p1", "a"), NULL, 0);
    call(DX_OP_Query, QUERY("p1"), b1, sizeof(b1));
    call(DX_OP_Query,
         "{ \"ExpressionAttributeValues\":{\":p\":{\"S\":\"p1\"}}, "
         "\"ReturnConsumedCapacity\":\"NONE\","
         " \"KeyConditionExpression\":\"pk = :p\", \"TableName\":\"R\"}",
         b2, sizeof(b2));
    assert_int_equal(inner(DX_OP_Query), 1);
    assert_string_equal(b1, b2);
    call(DX_OP_Query, QUERY("p2"), NULL, 0);
    assert_int_equal(inner(DX_OP_Query), 2);
    const char *scan = "{\"TableName\":\"R\"}";
    call(DX_OP_Scan, scan, NULL, 0);
    call(DX_OP_Scan, scan, NULL, 0);
    assert_int_equal(inner(DX_OP_Scan), 1);

    /* a write to partition p2: p1's pages stay, p2's and the Scans go */
    call(DX_OP_PutItem, PUT_R("p2", "x"), NULL, 0);
    call(DX_OP_Query, QUERY("p1"), NULL, 0);
    assert_int_equal(inner(DX_OP_Query), 2);
    call(DX_OP_Query, QUERY("p2"), b1, sizeof(b1));
    assert_int_equal(inner(DX_OP_Query), 3);
    assert_non_null(strstr(b1, "\"x\""));
    call(DX_OP_Scan, scan, NULL, 0);
    assert_int_equal(inner(DX_OP_Scan), 2);

    /* a write to another table touches nothing here */
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    call(DX_OP_Query, QUERY("p1"), NULL, 0);
    call(DX_OP_Scan, scan, NULL, 0);
    assert_int_equal(inner(DX_OP_Query), 3);
    assert_int_equal(inner(DX_OP_Scan), 2);

    /* index queries go with any write to the table */
    const char *iq =
        "{\"TableName\":\"R\",\"IndexName\":\"ix\",\"KeyConditionExpression\":\"g = :p\","
        "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p1\"}}}";
    call(DX_OP_Query, iq, NULL, 0);
    call(DX_OP_Query, iq, NULL, 0);
    assert_int_equal(inner(DX_OP_Query), 4);
    call(DX_OP_DeleteItem,
         "{\"TableName\":\"R\",\"Key\":{\"pk\":{\"S\":\"zz\"},\"sk\":{\"S\":\"1\"}}}", NULL, 0);
    call(DX_OP_Query, iq, NULL, 0);
    assert_int_equal(inner(DX_OP_Query), 5);
    call(DX_OP_Query, QUERY("p1"), NULL, 0); /* other partition: still cached */
    assert_int_equal(inner(DX_OP_Query), 5);

    /* strongly consistent and capacity-reporting queries pass through */
    const char *cq =
        "{\"TableName\":\"R\",\"KeyConditionExpression\":\"pk = :p\",\"ConsistentRead\":true,"
        "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p1\"}}}";
    call(DX_OP_Query, cq, NULL, 0);
    call(DX_OP_Query, cq, NULL, 0);
    assert_int_equal(inner(DX_OP_Query), 7);
    struct cache_stats st;
    cache_stats_get(C, &st);
    assert_true(st.query_hits >= 5);
    stop();
}

/* Changes that did not go through the cache (the embedded engine's TTL deletions):
 * cache_invalidate_table drops the table's items and pages, and only that table's. */
static void test_invalidate_table(void **state)
{
    start(NULL);
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    call(DX_OP_PutItem, PUT_R("p1", "a"), NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_Query, QUERY("p1"), NULL, 0);
    int gets = inner(DX_OP_GetItem), queries = inner(DX_OP_Query);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_Query, QUERY("p1"), NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), gets); /* both cached */
    assert_int_equal(inner(DX_OP_Query), queries);

    cache_invalidate_table(C, "T");
    call(DX_OP_GetItem, GET_A, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), gets + 1);
    call(DX_OP_Query, QUERY("p1"), NULL, 0); /* table R: untouched */
    assert_int_equal(inner(DX_OP_Query), queries);
    cache_invalidate_table(C, "R");
    call(DX_OP_Query, QUERY("p1"), NULL, 0);
    assert_int_equal(inner(DX_OP_Query), queries + 1);
    stop();
}

static void test_query_ttl_zero_disables(void **state)
{
    struct cache_options o;
    cache_options_init(&o);
    o.query_ttl_ms = 0;
    start(&o);
    call(DX_OP_Query, QUERY("p1"), NULL, 0);
    call(DX_OP_Query, QUERY("p1"), NULL, 0);
    assert_int_equal(inner(DX_OP_Query), 2);
    stop();
}

/* --- coalescing and threads --- */

static void test_concurrent_misses_coalesce(void **state)
{
    start(NULL);
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    F.mode = FAKE_HOLD;
    enum { N = 16 };
    struct result r[N];
    for (int i = 0; i < N; i++) {
        result_init(&r[i]);
        struct dx_call c = {.op = DX_OP_GetItem, .body = GET_A, .len = strlen(GET_A)};
        dx_api_call(&API, &c, on_done, &r[i]);
    }
    assert_int_equal(inner(DX_OP_GetItem), 1);
    assert_int_equal(r[0].got, 0);
    F.mode = FAKE_SYNC;
    release_from_thread();
    for (int i = 0; i < N; i++) {
        result_wait(&r[i]);
        assert_int_equal(r[i].got, 1);
        assert_int_equal(r[i].status, 200);
        assert_string_equal(r[i].body, r[0].body);
    }
    assert_non_null(strstr(r[0].body, "\"Item\""));
    call(DX_OP_GetItem, GET_A, NULL, 0); /* and the result was stored */
    assert_int_equal(inner(DX_OP_GetItem), 1);
    struct cache_stats st;
    cache_stats_get(C, &st);
    assert_int_equal(st.coalesced, N - 1);
    stop();
}

static void test_fetch_older_than_write_is_not_stored(void **state)
{
    start(NULL);
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    F.mode = FAKE_HOLD;
    struct result r1, r2;
    result_init(&r1);
    result_init(&r2);
    struct dx_call c = {.op = DX_OP_GetItem, .body = GET_A, .len = strlen(GET_A)};
    dx_api_call(&API, &c, on_done, &r1); /* reads v=1, answer held */
    F.mode = FAKE_SYNC;
    assert_int_equal(call(DX_OP_PutItem, PUT_A2, NULL, 0), 200); /* v=2, acknowledged */
    /* a read after the acknowledged write must not join the older fetch */
    F.mode = FAKE_HOLD;
    dx_api_call(&API, &c, on_done, &r2);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    F.mode = FAKE_SYNC;
    release_from_thread();
    result_wait(&r1);
    result_wait(&r2);
    assert_non_null(strstr(r1.body, "\"1\""));
    assert_non_null(strstr(r2.body, "\"2\""));
    char b[512];
    call(DX_OP_GetItem, GET_A, b, sizeof(b));
    assert_non_null(strstr(b, "\"2\"")); /* the stale v=1 reply was never stored */
    stop();
}

static void test_completion_on_other_thread(void **state)
{
    start(NULL);
    F.mode = FAKE_THREAD;
    assert_int_equal(call(DX_OP_PutItem, PUT_A, NULL, 0), 200);
    char b1[512], b2[512];
    assert_int_equal(call(DX_OP_GetItem, GET_A, b1, sizeof(b1)), 200);
    assert_int_equal(call(DX_OP_GetItem, GET_A, b2, sizeof(b2)), 200);
    assert_int_equal(inner(DX_OP_GetItem), 1);
    assert_string_equal(b1, b2);
    assert_int_equal(call(DX_OP_PutItem, PUT_A2, NULL, 0), 200);
    call(DX_OP_GetItem, GET_A, b1, sizeof(b1));
    assert_non_null(strstr(b1, "\"2\"")); /* the Put's image, written through */
    assert_int_equal(inner(DX_OP_GetItem), 1);
    stop();
}

struct hammer {
    int iters;
    int bad;
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    char b[512];
    for (int i = 0; i < h->iters; i++) {
        char get[128];
        snprintf(get, sizeof(get), "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"k%d\"}}}",
                 i % 20);
        if (call(DX_OP_GetItem, get, b, sizeof(b)) != 200)
            h->bad++;
    }
    return NULL;
}

static void test_many_threads(void **state)
{
    start(NULL);
    F.mode = FAKE_THREAD;
    enum { T = 8 };
    pthread_t th[T];
    struct hammer h[T];
    for (int i = 0; i < T; i++) {
        h[i] = (struct hammer){200, 0};
        pthread_create(&th[i], NULL, hammer_thread, &h[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(h[i].bad, 0);
    }
    assert_true(inner(DX_OP_GetItem) <= 20 * T);
    struct cache_stats st;
    cache_stats_get(C, &st);
    assert_int_equal(st.item_hits + st.item_misses, T * 200);
    usleep(20 * 1000); /* let the fake's reply threads finish */
    stop();
}

/* --- configuration --- */

static void test_disabled_and_excluded(void **state)
{
    struct cache_options o;
    cache_options_init(&o);
    o.enabled = 0;
    start(&o);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    stop();

    const char *ex[] = {"T", NULL};
    cache_options_init(&o);
    o.exclude_tables = ex;
    start(&o);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_Query, QUERY("p"), NULL, 0);
    call(DX_OP_Query, QUERY("p"), NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    assert_int_equal(inner(DX_OP_Query), 1); /* R is not excluded */
    stop();

    const char *in[] = {"R", NULL};
    cache_options_init(&o);
    o.include_tables = in;
    start(&o);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_Query, QUERY("p"), NULL, 0);
    call(DX_OP_Query, QUERY("p"), NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    assert_int_equal(inner(DX_OP_Query), 1);
    stop();
}

static void test_other_ops_pass_through(void **state)
{
    start(NULL);
    call(DX_OP_ListTables, "{}", NULL, 0);
    call(DX_OP_ListTables, "{}", NULL, 0);
    call(DX_OP_DescribeTable, "{\"TableName\":\"T\"}", NULL, 0);
    assert_int_equal(inner(DX_OP_ListTables), 2);
    assert_int_equal(inner(DX_OP_DescribeTable), 1);
    stop();
}

static void test_memory_limit(void **state)
{
    struct cache_options o;
    cache_options_init(&o);
    o.max_bytes = 64 * 1024;
    start(&o);
    char get[128];
    for (int i = 0; i < 2000; i++) {
        snprintf(get, sizeof(get), "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"key-%d\"}}}", i);
        assert_int_equal(call(DX_OP_GetItem, get, NULL, 0), 200);
    }
    struct cache_stats st;
    cache_stats_get(C, &st);
    assert_true(st.bytes <= o.max_bytes);
    assert_true(st.evictions > 0);
    assert_true(st.entries > 50);
    /* the most recent keys are still served from the cache */
    call(DX_OP_GetItem, get, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2000);
    stop();
}

/* Query and Scan pages are counted apart (DAX's QueryCacheHits/ScanCacheHits). */
static void test_query_and_scan_counted_apart(void **state)
{
    start(NULL);
    const char *q = "{\"TableName\":\"R\",\"KeyConditionExpression\":\"pk = :p\","
                    "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p1\"}}}";
    const char *sc = "{\"TableName\":\"R\"}";
    for (int i = 0; i < 3; i++)
        call(DX_OP_Scan, sc, NULL, 0);
    for (int i = 0; i < 2; i++)
        call(DX_OP_Query, q, NULL, 0);
    struct cache_stats st;
    cache_stats_get(C, &st);
    assert_int_equal(st.scan_misses, 1);
    assert_int_equal(st.scan_hits, 2);
    assert_int_equal(st.query_misses, 1);
    assert_int_equal(st.query_hits, 1);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_does_not_reach_inner),
        cmocka_unit_test(test_bypasses),
        cmocka_unit_test(test_consistent_read_does_not_fill),
        cmocka_unit_test(test_negative_entries),
        cmocka_unit_test(test_errors_not_cached),
        cmocka_unit_test(test_ttl_expiry),
        cmocka_unit_test(test_query_cache),
        cmocka_unit_test(test_query_ttl_zero_disables),
        cmocka_unit_test(test_invalidate_table),
        cmocka_unit_test(test_query_and_scan_counted_apart),
        cmocka_unit_test(test_concurrent_misses_coalesce),
        cmocka_unit_test(test_fetch_older_than_write_is_not_stored),
        cmocka_unit_test(test_completion_on_other_thread),
        cmocka_unit_test(test_many_threads),
        cmocka_unit_test(test_disabled_and_excluded),
        cmocka_unit_test(test_other_ops_pass_through),
        cmocka_unit_test(test_memory_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
