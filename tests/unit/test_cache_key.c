/* cache_key: canonical item keys, projections, normalization and key-condition equalities. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "cache_key.h"
#include "dx_status.h"

/* Canonical primary key of a Key map given as JSON text; NULL when rejected (caller frees). */
static char *primary(const char *json)
{
    cJSON *k = cJSON_Parse(json);
    assert_non_null(k);
    struct dx_buf b = DX_BUF_INIT;
    int rc = cache_key_primary(&b, k, NULL, 0);
    cJSON_Delete(k);
    if (rc != DX_OK) {
        dx_buf_deinit(&b);
        return NULL;
    }
    return dx_buf_steal(&b, NULL);
}

static void test_primary_equal(void **state)
{
    static const struct {
        const char *a, *b;
    } same[] = {
        {"{\"pk\":{\"S\":\"x\"},\"sk\":{\"N\":\"1\"}}",
         "{ \"sk\" : {\"N\":\"1\"},\n \"pk\":{\"S\":\"x\"} }"},
        {"{\"pk\":{\"N\":\"1.0\"}}", "{\"pk\":{\"N\":\"1\"}}"},
        {"{\"pk\":{\"N\":\"1e2\"}}", "{\"pk\":{\"N\":\"100\"}}"},
        {"{\"pk\":{\"N\":\"-0.50\"}}", "{\"pk\":{\"N\":\"-.5\"}}"},
        {"{\"pk\":{\"N\":\"+7\"}}", "{\"pk\":{\"N\":\"7.000\"}}"},
        {"{\"pk\":{\"B\":\"AAEC\"}}", "{\"pk\" :{\"B\": \"AAEC\"}}"},
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        char *a = primary(same[i].a), *b = primary(same[i].b);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
}

static void test_primary_differ(void **state)
{
    static const struct {
        const char *a, *b;
    } differ[] = {
        {"{\"pk\":{\"S\":\"1\"}}", "{\"pk\":{\"N\":\"1\"}}"},
        {"{\"pk\":{\"S\":\"1\"}}", "{\"pk\":{\"B\":\"1\"}}"},
        {"{\"pk\":{\"S\":\"a\"}}", "{\"pK\":{\"S\":\"a\"}}"},
        {"{\"pk\":{\"S\":\"ab\"},\"c\":{\"S\":\"d\"}}",
         "{\"pk\":{\"S\":\"a\"},\"bc\":{\"S\":\"d\"}}"},
        {"{\"pk\":{\"N\":\"1.01\"}}", "{\"pk\":{\"N\":\"1.1\"}}"},
        {"{\"a\":{\"S\":\"x\"}}", "{\"a\":{\"S\":\"x\"},\"b\":{\"S\":\"y\"}}"},
    };
    for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
        char *a = primary(differ[i].a), *b = primary(differ[i].b);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_not_equal(a, b);
        free(a);
        free(b);
    }
}

static void test_primary_rejects(void **state)
{
    static const char *bad[] = {
        "{}",
        "{\"pk\":{\"N\":\"abc\"}}",
        "{\"pk\":{\"S\":1}}",
        "{\"pk\":{\"L\":[]}}",
        "{\"pk\":{\"S\":\"a\",\"N\":\"1\"}}",
        "{\"a\":{\"S\":\"1\"},\"b\":{\"S\":\"2\"},\"c\":{\"S\":\"3\"}}",
        "{\"a\":{\"S\":\"1\"},\"a\":{\"S\":\"2\"}}",
        "[]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *a = primary(bad[i]);
        if (a)
            fail_msg("accepted %s", bad[i]);
    }
}

static void test_primary_from_item(void **state)
{
    cJSON *item = cJSON_Parse("{\"v\":{\"S\":\"z\"},\"sk\":{\"N\":\"2.0\"},\"pk\":{\"S\":\"x\"}}");
    cJSON *key = cJSON_Parse("{\"pk\":{\"S\":\"x\"},\"sk\":{\"N\":\"2\"}}");
    const char *names[] = {"sk", "pk"};
    struct dx_buf a = DX_BUF_INIT, b = DX_BUF_INIT;
    assert_int_equal(cache_key_primary(&a, item, names, 2), DX_OK);
    assert_int_equal(cache_key_primary(&b, key, NULL, 0), DX_OK);
    assert_string_equal(a.p, b.p);
    const char *missing[] = {"nope"};
    dx_buf_reset(&a);
    assert_int_equal(cache_key_primary(&a, item, missing, 1), DX_EINVAL);
    dx_buf_deinit(&a);
    dx_buf_deinit(&b);
    cJSON_Delete(item);
    cJSON_Delete(key);
}

/* Canonical projection of a request object; NULL when the request must bypass the cache. */
static char *projection(const char *json)
{
    cJSON *r = cJSON_Parse(json);
    assert_non_null(r);
    struct dx_buf b = DX_BUF_INIT;
    int rc = cache_key_projection(&b, r);
    cJSON_Delete(r);
    if (rc != DX_OK) {
        dx_buf_deinit(&b);
        return NULL;
    }
    return dx_buf_steal(&b, NULL);
}

static void test_projection(void **state)
{
    static const struct {
        const char *a, *b;
        int equal;
    } cases[] = {
        {"{\"ProjectionExpression\":\"a, b\"}", "{\"ProjectionExpression\":\"a,b\"}", 1},
        {"{\"ProjectionExpression\":\" a . b [ 1 ] \"}", "{\"ProjectionExpression\":\"a.b[1]\"}",
         1},
        /* placeholders are substituted: the placeholder's own name does not matter */
        {"{\"ProjectionExpression\":\"#p, b\",\"ExpressionAttributeNames\":{\"#p\":\"a\"}}",
         "{\"ProjectionExpression\":\"#q,b\",\"ExpressionAttributeNames\":{\"#q\":\"a\"}}", 1},
        {"{}", "{\"ConsistentRead\":false}", 1},
        {"{\"AttributesToGet\":[\"a\",\"b\"]}", "{\"AttributesToGet\":[\"a\", \"b\"]}", 1},
        {"{\"ProjectionExpression\":\"a\"}", "{\"ProjectionExpression\":\"b\"}", 0},
        {"{\"ProjectionExpression\":\"a\"}", "{}", 0},
        {"{\"ProjectionExpression\":\"a,b\"}", "{\"ProjectionExpression\":\"ab\"}", 0},
        {"{\"ProjectionExpression\":\"a b\"}", "{\"ProjectionExpression\":\"ab\"}", 0},
        {"{\"ProjectionExpression\":\"a\"}", "{\"AttributesToGet\":[\"a\"]}", 0},
        /* "name" is reserved: only the placeholder form is valid, so the forms stay apart */
        {"{\"ProjectionExpression\":\"#n\",\"ExpressionAttributeNames\":{\"#n\":\"name\"}}",
         "{\"ProjectionExpression\":\"name\"}", 0},
        /* a name holding punctuation is not the path it looks like */
        {"{\"ProjectionExpression\":\"#n\",\"ExpressionAttributeNames\":{\"#n\":\"a.b\"}}",
         "{\"ProjectionExpression\":\"a.b\"}", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *a = projection(cases[i].a), *b = projection(cases[i].b);
        assert_non_null(a);
        assert_non_null(b);
        if (cases[i].equal)
            assert_string_equal(a, b);
        else
            assert_string_not_equal(a, b);
        free(a);
        free(b);
    }
}

static void test_projection_rejects(void **state)
{
    static const char *bad[] = {
        "{\"ProjectionExpression\":\"#p\"}", /* undefined */
        "{\"ProjectionExpression\":\"a\",\"ExpressionAttributeNames\":{\"#p\":\"a\"}}", /* unused */
        "{\"ExpressionAttributeNames\":{\"#p\":\"a\"}}",
        "{\"ProjectionExpression\":\"a\",\"ExpressionAttributeNames\":{}}",
        "{\"ProjectionExpression\":\"a\",\"AttributesToGet\":[\"a\"]}",
        "{\"ProjectionExpression\":\"\"}",
        "{\"ProjectionExpression\":5}",
        "{\"AttributesToGet\":[]}",
        "{\"AttributesToGet\":[\"a\",\"a\"]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *a = projection(bad[i]);
        if (a)
            fail_msg("accepted %s", bad[i]);
    }
}

static char *normalized(const char *json, const char *drop)
{
    cJSON *r = cJSON_Parse(json);
    assert_non_null(r);
    struct dx_buf b = DX_BUF_INIT;
    cache_key_normalize(&b, r, drop);
    cJSON_Delete(r);
    return dx_buf_steal(&b, NULL);
}

static void test_normalize(void **state)
{
    char *a =
        normalized("{\"TableName\":\"T\",\"KeyConditionExpression\":\"pk = :p\","
                   "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"x\"},\":q\":{\"N\":\"1\"}},"
                   "\"Limit\":10,\"ReturnConsumedCapacity\":\"TOTAL\"}",
                   "ReturnConsumedCapacity");
    char *b =
        normalized("{ \"Limit\" : 10 ,\n\t\"ExpressionAttributeValues\": {\":q\":{\"N\":\"1\"},"
                   " \":p\":{\"S\":\"x\"}}, \"KeyConditionExpression\":\"pk = :p\","
                   "\"TableName\":\"T\"}",
                   "ReturnConsumedCapacity");
    assert_string_equal(a, b);
    assert_string_equal(
        a, "{\"ExpressionAttributeValues\":{\":p\":{\"S\":\"x\"},\":q\":{\"N\":\"1\"}},"
           "\"KeyConditionExpression\":\"pk = :p\",\"Limit\":10,\"TableName\":\"T\"}");
    free(a);
    free(b);
    /* order inside lists and inside strings is meaningful */
    a = normalized("{\"AttributesToGet\":[\"a\",\"b\"]}", NULL);
    b = normalized("{\"AttributesToGet\":[\"b\",\"a\"]}", NULL);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    a = normalized("{\"Limit\":10,\"ScanIndexForward\":false,\"X\":null}", NULL);
    assert_string_equal(a, "{\"Limit\":10,\"ScanIndexForward\":false,\"X\":null}");
    free(a);
}

struct eqs {
    int n;
    char names[4][16];
    char values[4][32];
};

static void on_eq(const char *name, size_t nl, const cJSON *value, void *arg)
{
    struct eqs *e = arg;
    memcpy(e->names[e->n], name, nl);
    e->names[e->n][nl] = '\0';
    char *v = cJSON_PrintUnformatted(value);
    strncpy(e->values[e->n], v, 31);
    free(v);
    e->n++;
}

static void test_equalities(void **state)
{
    static const struct {
        const char *req;
        int n;
        const char *name0, *value0;
    } cases[] = {
        {"{\"KeyConditionExpression\":\"pk = "
         ":p\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"x\"}}}",
         1, "pk", "{\"S\":\"x\"}"},
        {"{\"KeyConditionExpression\":\"#k=:p AND sk > "
         ":s\",\"ExpressionAttributeNames\":{\"#k\":\"pk\"},"
         "\"ExpressionAttributeValues\":{\":p\":{\"N\":\"1\"},\":s\":{\"N\":\"2\"}}}",
         1, "pk", "{\"N\":\"1\"}"},
        {"{\"KeyConditionExpression\":\":p = pk AND begins_with(sk, :s)\","
         "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"a\"},\":s\":{\"S\":\"b\"}}}",
         1, "pk", "{\"S\":\"a\"}"},
        {"{\"KeyConditionExpression\":\"(pk = :p) AND (sk = :s)\","
         "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"a\"},\":s\":{\"S\":\"b\"}}}",
         2, "pk", "{\"S\":\"a\"}"},
        {"{\"KeyConditionExpression\":\"pk = :p AND sk <= :s\","
         "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"a\"},\":s\":{\"S\":\"b\"}}}",
         1, "pk", "{\"S\":\"a\"}"},
        {"{\"KeyConditions\":{\"pk\":{\"ComparisonOperator\":\"EQ\",\"AttributeValueList\":[{\"S\":"
         "\"v\"}]},"
         "\"sk\":{\"ComparisonOperator\":\"GT\",\"AttributeValueList\":[{\"S\":\"w\"}]}}}",
         1, "pk", "{\"S\":\"v\"}"},
        /* unreadable: the caller falls back to table-wide invalidation */
        {"{\"KeyConditionExpression\":\"pk = "
         ":nope\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"x\"}}}",
         DX_EINVAL, NULL, NULL},
        {"{\"KeyConditionExpression\":\"begins_with(pk, "
         ":p)\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"x\"}}}",
         DX_EINVAL, NULL, NULL},
        {"{}", DX_EINVAL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *r = cJSON_Parse(cases[i].req);
        assert_non_null(r);
        struct eqs e = {0};
        int n = cache_key_equalities(r, on_eq, &e);
        assert_int_equal(n, cases[i].n);
        if (n > 0) {
            assert_string_equal(e.names[0], cases[i].name0);
            assert_string_equal(e.values[0], cases[i].value0);
        }
        cJSON_Delete(r);
    }
}

static void test_table_name(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"Music", "Music"},
        {"arn:aws:dynamodb:us-east-1:123456789012:table/Music", "Music"},
        {"arn:aws:dynamodb:us-east-1:123456789012:table/Music/index/ByArtist", "Music"},
        {"", NULL},
        {"arn:aws:s3:::bucket", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *s = cJSON_CreateString(cases[i].in);
        const char *n;
        size_t l;
        int rc = cache_key_table_name(s, &n, &l);
        if (cases[i].out) {
            assert_int_equal(rc, DX_OK);
            assert_int_equal(l, strlen(cases[i].out));
            assert_memory_equal(n, cases[i].out, l);
        } else {
            assert_int_equal(rc, DX_EINVAL);
        }
        cJSON_Delete(s);
    }
}

static void test_json_member(void **state)
{
    static const struct {
        const char *json, *name, *value;
        int rc;
    } cases[] = {
        {"{\"Item\":{\"a\":{\"S\":\"}\"}}}", "Item", "{\"a\":{\"S\":\"}\"}}", DX_OK},
        {"{ \"X\" : [1, {\"Item\":2}] , \"Item\" : {\"b\":{\"N\":\"1\"}} }", "Item",
         "{\"b\":{\"N\":\"1\"}}", DX_OK},
        {"{\"a\":\"\\\"Item\\\"\",\"n\":12.5,\"t\":true}", "n", "12.5", DX_OK},
        {"{}", "Item", NULL, DX_ENOTFOUND},
        {"{\"ConsumedCapacity\":{}}", "Item", NULL, DX_ENOTFOUND},
        {"[]", "Item", NULL, DX_EINVAL},
        {"{\"Item\":{\"a\":", "Item", NULL, DX_EINVAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t off = 0, len = 0;
        int rc = cache_json_member(cases[i].json, strlen(cases[i].json), cases[i].name, &off, &len);
        assert_int_equal(rc, cases[i].rc);
        if (rc == DX_OK) {
            assert_int_equal(len, strlen(cases[i].value));
            assert_memory_equal(cases[i].json + off, cases[i].value, len);
        }
    }
}

static void test_hash(void **state)
{
    assert_true(cache_hash("abc", 3, 0) == cache_hash("abc", 3, 0));
    assert_true(cache_hash("abc", 3, 0) != cache_hash("abd", 3, 0));
    assert_true(cache_hash("abc", 3, 0) != cache_hash("abc", 3, 1));
    assert_true(cache_hash("abcdefghij", 10, 0) != cache_hash("abcdefghik", 10, 0));
    assert_true(cache_hash("", 0, 0) != cache_hash("\0", 1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_primary_equal),
        cmocka_unit_test(test_primary_differ),
        cmocka_unit_test(test_primary_rejects),
        cmocka_unit_test(test_primary_from_item),
        cmocka_unit_test(test_projection),
        cmocka_unit_test(test_projection_rejects),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_equalities),
        cmocka_unit_test(test_table_name),
        cmocka_unit_test(test_json_member),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
