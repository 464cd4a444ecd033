/* BatchGetItem through the item cache: partial hits, one inner call with only the missing keys,
 * merged replies, unprocessed keys, and requests that must pass through whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "cache_test_fake.h"

#define PUT_KEY(k)                                                                                 \
    "{\"TableName\":\"T\",\"Item\":{\"pk\":{\"S\":\"" k "\"},\"v\":{\"S\":\"" k "\"}}}"

static void test_batch_partial_hits(void **state)
{
    start(NULL);
    call(DX_OP_PutItem, PUT_KEY("a"), NULL, 0);
    call(DX_OP_PutItem, PUT_KEY("b"), NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0); /* a is cached */
    const char *bg =
        "{\"RequestItems\":{\"T\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}},{\"pk\":{\"S\":\"b\"}},"
        "{\"pk\":{\"S\":\"c\"}}]}}}";
    char b[2048];
    assert_int_equal(call(DX_OP_BatchGetItem, bg, b, sizeof(b)), 200);
    assert_int_equal(inner(DX_OP_BatchGetItem), 1);
    /* the inner call carried only the missing keys */
    assert_null(strstr(F.last_body, "\"a\""));
    assert_non_null(strstr(F.last_body, "\"b\""));
    assert_non_null(strstr(F.last_body, "\"c\""));
    cJSON *resp = cJSON_Parse(b);
    assert_non_null(resp);
    cJSON *items = cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "Responses"), "T");
    assert_int_equal(cJSON_GetArraySize(items), 2); /* a (cache) + b (inner); c absent */
    assert_non_null(strstr(b, "\"v\":{\"S\":\"a\"}"));
    assert_non_null(strstr(b, "\"v\":{\"S\":\"b\"}"));
    assert_non_null(cJSON_GetObjectItem(resp, "UnprocessedKeys"));
    cJSON_Delete(resp);

    /* everything is cached now, c as absent: no inner call at all */
    assert_int_equal(call(DX_OP_BatchGetItem, bg, b, sizeof(b)), 200);
    assert_int_equal(inner(DX_OP_BatchGetItem), 1);
    resp = cJSON_Parse(b);
    items = cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "Responses"), "T");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    cJSON_Delete(resp);
    /* and GetItem uses what the batch stored */
    call(DX_OP_GetItem, "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"b\"}}}", b, sizeof(b));
    call(DX_OP_GetItem, "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"c\"}}}", NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 1);
    assert_non_null(strstr(b, "\"Item\""));
    stop();
}

static void test_batch_unprocessed_not_cached(void **state)
{
    start(NULL);
    const char *bg =
        "{\"RequestItems\":{\"T\":{\"Keys\":[{\"pk\":{\"S\":\"unp1\"}},{\"pk\":{\"S\":\"q\"}}]}}}";
    char b[2048];
    assert_int_equal(call(DX_OP_BatchGetItem, bg, b, sizeof(b)), 200);
    assert_non_null(strstr(b, "unp1"));
    call(DX_OP_BatchGetItem, bg, b, sizeof(b));
    assert_int_equal(inner(DX_OP_BatchGetItem), 2);
    assert_non_null(strstr(F.last_body, "unp1"));
    assert_null(strstr(F.last_body, "\"q\"")); /* q was answered (absent) and cached */
    assert_non_null(strstr(b, "unp1"));
    stop();
}

static void test_batch_passthrough(void **state)
{
    static const char *bodies[] = {
        /* duplicates must meet DynamoDB's validation */
        "{\"RequestItems\":{\"T\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}},{\"pk\":{\"S\":\"a\"}}]}}}",
        "{\"RequestItems\":{\"T\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}}]}},\"ReturnConsumedCapacity\":"
        "\"TOTAL\"}",
        "{\"RequestItems\":{\"T\":{\"Keys\":[]}}}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        start(NULL);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        call(DX_OP_BatchGetItem, bodies[i], NULL, 0);
        assert_string_equal(F.last_body, bodies[i]); /* forwarded unchanged */
        stop();
    }
    /* Over 100 keys (in one table, or across two after a first table that fits) goes to the
     * engine whole for its ValidationException; this once freed an unallocated key array. */
    for (int twotables = 0; twotables < 2; twotables++) {
        struct dx_buf big = DX_BUF_INIT;
        dx_buf_puts(&big, "{\"RequestItems\":{");
        if (twotables)
            dx_buf_puts(&big, "\"U\":{\"Keys\":[{\"pk\":{\"S\":\"u\"}}]},");
        dx_buf_puts(&big, "\"T\":{\"Keys\":[");
        for (int k = 0; k < 101 - twotables; k++)
            dx_buf_printf(&big, "%s{\"pk\":{\"S\":\"k%d\"}}", k ? "," : "", k);
        dx_buf_puts(&big, "]}}}");
        start(NULL);
        call(DX_OP_BatchGetItem, big.p, NULL, 0);
        assert_string_equal(F.last_body, big.p);
        stop();
        dx_buf_deinit(&big);
    }
    /* strongly consistent tables are fetched, and not filled */
    start(NULL);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    const char *cr =
        "{\"RequestItems\":{\"T\":{\"ConsistentRead\":true,\"Keys\":[{\"pk\":{\"S\":\"a\"}}]}}}";
    call(DX_OP_BatchGetItem, cr, NULL, 0);
    call(DX_OP_BatchGetItem, cr, NULL, 0);
    assert_int_equal(inner(DX_OP_BatchGetItem), 2);
    stop();
}

static void test_batch_two_tables(void **state)
{
    start(NULL);
    call(DX_OP_PutItem, PUT_KEY("a"), NULL, 0);
    call(DX_OP_PutItem,
         "{\"TableName\":\"R\",\"Item\":{\"pk\":{\"S\":\"p\"},\"sk\":{\"N\":\"1\"}}}", NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    /* T is answered entirely from the cache; only R goes to the inner api */
    const char *bg =
        "{\"RequestItems\":{\"T\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}}]},"
        "\"R\":{\"Keys\":[{\"sk\":{\"N\":\"1\"},\"pk\":{\"S\":\"p\"}}],"
        "\"ProjectionExpression\":\"#k, sk\",\"ExpressionAttributeNames\":{\"#k\":\"pk\"}}}}";
    char b[2048];
    assert_int_equal(call(DX_OP_BatchGetItem, bg, b, sizeof(b)), 200);
    assert_int_equal(inner(DX_OP_BatchGetItem), 1);
    assert_null(strstr(F.last_body, "\"T\""));
    assert_non_null(strstr(F.last_body, "\"R\""));
    assert_non_null(strstr(F.last_body, "ProjectionExpression"));
    cJSON *resp = cJSON_Parse(b);
    cJSON *r = cJSON_GetObjectItem(resp, "Responses");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "T")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "R")), 1);
    cJSON_Delete(resp);
    /* the R item was stored under its canonical key: "1.0" and "1" are one key */
    call(DX_OP_BatchGetItem, bg, b, sizeof(b));
    assert_int_equal(inner(DX_OP_BatchGetItem), 1);
    call(DX_OP_GetItem,
         "{\"TableName\":\"R\",\"Key\":{\"sk\":{\"N\":\"1.0\"},\"pk\":{\"S\":\"p\"}},"
         "\"ProjectionExpression\":\"#x,sk\",\"ExpressionAttributeNames\":{\"#x\":\"pk\"}}",
         b, sizeof(b));
    assert_int_equal(inner(DX_OP_GetItem), 1);
    assert_non_null(strstr(b, "\"Item\""));
    stop();
}

static void test_batch_projection_without_key(void **state)
{
    /* items projected without their key attributes cannot be matched to keys: nothing is
     * stored, and in particular no key is taken for absent */
    start(NULL);
    call(DX_OP_PutItem, PUT_KEY("a"), NULL, 0);
    const char *bg =
        "{\"RequestItems\":{\"T\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}},{\"pk\":{\"S\":\"b\"}}],"
        "\"ProjectionExpression\":\"v\"}}}";
    call(DX_OP_BatchGetItem, bg, NULL, 0);
    call(DX_OP_BatchGetItem, bg, NULL, 0);
    assert_int_equal(inner(DX_OP_BatchGetItem), 2);
    stop();
}

/* When the inner implementation checks the client's signature over the body (a pass-through
 * proxy), a batch with both hits and misses goes whole, unchanged, and is answered from the
 * inner reply; a batch of hits only is still answered from the cache. */
static void test_batch_bodies_signed(void **state)
{
    struct cache_options o;
    cache_options_init(&o);
    o.bodies_signed = 1;
    start(&o);
    call(DX_OP_PutItem, PUT_KEY("a"), NULL, 0);
    call(DX_OP_PutItem, PUT_KEY("b"), NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0); /* a is cached */
    const char *bg = "{\"RequestItems\":{\"T\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}},{\"pk\":{\"S\":"
                     "\"b\"}}]}}}";
    char b[2048];
    assert_int_equal(call(DX_OP_BatchGetItem, bg, b, sizeof(b)), 200);
    assert_int_equal(inner(DX_OP_BatchGetItem), 1);
    assert_string_equal(F.last_body, bg); /* byte for byte */
    assert_non_null(strstr(b, "\"v\":{\"S\":\"a\"}"));
    assert_non_null(strstr(b, "\"v\":{\"S\":\"b\"}"));
    /* both are cached now: no inner call */
    assert_int_equal(call(DX_OP_BatchGetItem, bg, b, sizeof(b)), 200);
    assert_int_equal(inner(DX_OP_BatchGetItem), 1);
    assert_non_null(strstr(b, "\"v\":{\"S\":\"b\"}"));
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_partial_hits),
        cmocka_unit_test(test_batch_bodies_signed),
        cmocka_unit_test(test_batch_unprocessed_not_cached),
        cmocka_unit_test(test_batch_passthrough),
        cmocka_unit_test(test_batch_two_tables),
        cmocka_unit_test(test_batch_projection_without_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
