/* Write-through: every write kind drops the items it touched (all projections) or replaces
 * them with the new image, leaves other items, and failed writes drop only when their effect
 * is unknown (or the item may be stale); concurrent writes never leave an older image. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "cache_test_fake.h"

static void test_writes_invalidate_items(void **state)
{
    static const struct {
        enum dx_op op;
        const char *body;
        int image; /* the unprojected entry holds the new image afterwards */
    } writes[] = {
        {DX_OP_PutItem, PUT_A2, 1},
        {DX_OP_UpdateItem,
         "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},"
         "\"UpdateExpression\":\"SET v = :v\"}",
         1},
        {DX_OP_DeleteItem, "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}}}", 1},
        {DX_OP_BatchWriteItem,
         "{\"RequestItems\":{\"T\":[{\"DeleteRequest\":{\"Key\":{\"pk\":{\"S\":\"a\"}}}}]}}", 1},
        {DX_OP_BatchWriteItem,
         "{\"RequestItems\":{\"T\":[{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"a\"},"
         "\"v\":{\"N\":\"3\"}}}}]}}",
         1},
        {DX_OP_TransactWriteItems,
         "{\"TransactItems\":[{\"Update\":{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}}}}]}",
         0},
        {DX_OP_TransactWriteItems,
         "{\"TransactItems\":[{\"Put\":{\"TableName\":\"T\",\"Item\":{\"pk\":{\"S\":\"a\"}}}}]}",
         0},
        {DX_OP_DeleteTable, "{\"TableName\":\"T\"}", 0},
        {DX_OP_UpdateTable, "{\"TableName\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T\"}",
         0},
    };
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        start(NULL);
        call(DX_OP_PutItem, PUT_A, NULL, 0);
        const char *proj =
            "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},"
            "\"ProjectionExpression\":\"#v\",\"ExpressionAttributeNames\":{\"#v\":\"v\"}}";
        call(DX_OP_GetItem, GET_A, NULL, 0);
        call(DX_OP_GetItem, proj, NULL, 0);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        call(DX_OP_GetItem, proj, NULL, 0);
        assert_int_equal(inner(DX_OP_GetItem), 2);
        assert_int_equal(call(writes[i].op, writes[i].body, NULL, 0), 200);
        call(DX_OP_GetItem, GET_A, NULL, 0); /* the new image, or a miss */
        call(DX_OP_GetItem, proj, NULL, 0);  /* projections are always gone */
        if (inner(DX_OP_GetItem) != 4 - writes[i].image)
            fail_msg("write %zu: %d inner GetItems", i, inner(DX_OP_GetItem));
        stop();
    }
}

static void test_write_leaves_other_items(void **state)
{
    start(NULL);
    const char *get_b = "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"b\"}}}";
    call(DX_OP_GetItem, GET_A, NULL, 0); /* learns T's key: pk */
    call(DX_OP_GetItem, get_b, NULL, 0);
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    call(DX_OP_GetItem, get_b, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    call(DX_OP_GetItem, GET_A, NULL, 0); /* the Put's image */
    assert_int_equal(inner(DX_OP_GetItem), 2);
    stop();
}

static void test_put_before_key_is_known(void **state)
{
    /* The cache learns a table's key names when a GetItem or BatchGetItem succeeds. A Put that
     * completes before that (while the first read is still in flight) cannot compute the item's
     * key, and must still keep the read's old result out of the cache. */
    start(NULL);
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    F.mode = FAKE_HOLD;
    struct result r;
    result_init(&r);
    struct dx_call c = {.op = DX_OP_GetItem, .body = GET_A, .len = strlen(GET_A)};
    dx_api_call(&API, &c, on_done, &r); /* reads v=1, answer held */
    F.mode = FAKE_SYNC;
    assert_int_equal(call(DX_OP_PutItem, PUT_A2, NULL, 0), 200);
    release_from_thread();
    result_wait(&r);
    assert_non_null(strstr(r.body, "\"1\""));
    char b[512];
    call(DX_OP_GetItem, GET_A, b, sizeof(b));
    assert_non_null(strstr(b, "\"2\""));
    assert_int_equal(inner(DX_OP_GetItem), 2);

    /* the same through a batch fill */
    const char *bg = "{\"RequestItems\":{\"T\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}}]}}}";
    call(DX_OP_BatchGetItem, bg, NULL, 0);
    call(DX_OP_BatchGetItem, bg, NULL, 0);
    assert_int_equal(inner(DX_OP_BatchGetItem), 0); /* a is cached from the GetItem */
    call(DX_OP_PutItem, PUT_A, NULL, 0);            /* key names known now: its image */
    call(DX_OP_BatchGetItem, bg, b, sizeof(b));
    assert_int_equal(inner(DX_OP_BatchGetItem), 0);
    assert_non_null(strstr(b, "\"1\""));
    stop();
}

static void test_failed_writes(void **state)
{
    static const struct {
        int status;
        int invalidates;
    } cases[] = {
        {400, 0}, /* ConditionalCheckFailed, validation: nothing changed */
        {500, 1}, /* may have happened */
        {503, 1},
        {0, 1}, /* no reply at all */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        start(NULL);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        F.force_status = cases[i].status ? cases[i].status : 500;
        F.force_body = "{\"__type\":\"x#InternalServerError\",\"message\":\"m\"}";
        if (cases[i].status == 0) {
            /* a reply-less failure: the fake hands NULL to done */
            F.mode = FAKE_HOLD;
            struct result r;
            result_init(&r);
            struct dx_call c = {.op = DX_OP_DeleteItem, .body = GET_A, .len = strlen(GET_A)};
            dx_api_call(&API, &c, on_done, &r);
            dx_reply_free(F.held[0].reply);
            F.held[0].reply = NULL;
            release_from_thread();
            result_wait(&r);
            assert_int_equal(r.status, -1);
            F.mode = FAKE_SYNC;
        } else {
            assert_int_equal(call(DX_OP_DeleteItem, GET_A, NULL, 0), cases[i].status);
        }
        F.force_status = 0;
        call(DX_OP_GetItem, GET_A, NULL, 0);
        assert_int_equal(inner(DX_OP_GetItem), 1 + cases[i].invalidates);
        stop();
    }
}

static void test_partiql_writes(void **state)
{
    static const struct {
        enum dx_op op;
        const char *body;
        int drops_t, drops_r;
    } cases[] = {
        {DX_OP_ExecuteStatement, "{\"Statement\":\"SELECT * FROM \\\"T\\\"\"}", 0, 0},
        {DX_OP_ExecuteStatement, "{\"Statement\":\"update \\\"T\\\" SET v = 5 WHERE pk = 'a'\"}", 1,
         0},
        {DX_OP_ExecuteStatement, "{\"Statement\":\"INSERT INTO T VALUE {'pk': 'z'}\"}", 1, 0},
        {DX_OP_ExecuteStatement, "{\"Statement\":\"DELETE FROM \\\"R\\\" WHERE pk = 'p'\"}", 0, 1},
        {DX_OP_BatchExecuteStatement,
         "{\"Statements\":[{\"Statement\":\"SELECT * FROM T\"},{\"Statement\":\"DELETE FROM R "
         "WHERE pk = 'p'\"}]}",
         0, 1},
        {DX_OP_ExecuteTransaction, "{\"TransactStatements\":[{\"Statement\":\"UPSERT T\"}]}", 1, 1},
        {DX_OP_ExecuteStatement, "{\"Statement\":7}", 1, 1},
    };
    const char *q = "{\"TableName\":\"R\",\"KeyConditionExpression\":\"pk = :p\","
                    "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p\"}}}";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        start(NULL);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        call(DX_OP_Query, q, NULL, 0);
        assert_int_equal(call(cases[i].op, cases[i].body, NULL, 0), 200);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        call(DX_OP_Query, q, NULL, 0);
        if (inner(DX_OP_GetItem) != 1 + cases[i].drops_t ||
            inner(DX_OP_Query) != 1 + cases[i].drops_r)
            fail_msg("case %zu: GetItem %d Query %d", i, inner(DX_OP_GetItem), inner(DX_OP_Query));
        stop();
    }
}

/* TransactWriteItems drops every item it names (Put, Update, Delete, ConditionCheck, across
 * tables, table names or ARNs) and the Query pages of their partitions, whatever the answer:
 * success, cancellation (400) or no answer (500). Items it does not name stay cached. */
static void test_transact_write_invalidates(void **state)
{
    static const struct {
        const char *items; /* the TransactItems array */
        int status;        /* the inner answer; 0: success */
        int drops_a, drops_r, drops_q;
    } cases[] = {
        {"[{\"Put\":{\"TableName\":\"T\",\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"5\"}}}},"
         "{\"ConditionCheck\":{\"TableName\":\"R\",\"Key\":{\"pk\":{\"S\":\"p\"},\"sk\":{\"S\":"
         "\"1\"}},\"ConditionExpression\":\"attribute_exists(pk)\"}}]",
         0, 1, 1, 1},
        {"[{\"ConditionCheck\":{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},"
         "\"ConditionExpression\":\"attribute_exists(pk)\"}}]",
         400, 1, 0, 0},
        {"[{\"Update\":{\"TableName\":\"R\",\"Key\":{\"pk\":{\"S\":\"p\"},\"sk\":{\"S\":\"1\"}},"
         "\"UpdateExpression\":\"SET v = :v\"}}]",
         500, 0, 1, 1},
        {"[{\"Delete\":{\"TableName\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T\","
         "\"Key\":{\"pk\":{\"S\":\"a\"}}}}]",
         0, 1, 0, 0},
        {"[{\"Delete\":{\"TableName\":\"R\",\"Key\":{\"pk\":{\"S\":\"other\"},\"sk\":{\"S\":"
         "\"1\"}}}}]",
         0, 0, 0, 0},
    };
    const char *get_r = "{\"TableName\":\"R\",\"Key\":{\"pk\":{\"S\":\"p\"},\"sk\":{\"S\":\"1\"}}}";
    const char *q = "{\"TableName\":\"R\",\"KeyConditionExpression\":\"pk = :p\","
                    "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p\"}}}";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        start(NULL);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        call(DX_OP_GetItem, get_r, NULL, 0);
        call(DX_OP_Query, q, NULL, 0);
        char body[1024];
        snprintf(body, sizeof(body), "{\"TransactItems\":%s}", cases[i].items);
        if (cases[i].status) {
            F.force_status = cases[i].status;
            F.force_body = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                           "TransactionCanceledException\",\"message\":\"m\"}";
        }
        assert_int_equal(call(DX_OP_TransactWriteItems, body, NULL, 0),
                         cases[i].status ? cases[i].status : 200);
        F.force_status = 0;
        call(DX_OP_GetItem, GET_A, NULL, 0);
        call(DX_OP_GetItem, get_r, NULL, 0);
        call(DX_OP_Query, q, NULL, 0);
        if (inner(DX_OP_GetItem) != 2 + cases[i].drops_a + cases[i].drops_r ||
            inner(DX_OP_Query) != 1 + cases[i].drops_q)
            fail_msg("case %zu: GetItem %d Query %d", i, inner(DX_OP_GetItem), inner(DX_OP_Query));
        assert_int_equal(inner(DX_OP_TransactWriteItems), 1);
        stop();
    }
}

/* TransactGetItems always reaches the inner implementation and neither reads nor fills the
 * item cache. */
static void test_transact_get_bypasses_cache(void **state)
{
    start(NULL);
    const char *tg = "{\"TransactItems\":[{\"Get\":{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":"
                     "\"a\"}}}},{\"Get\":{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"b\"}}}}]}";
    const char *get_b = "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"b\"}}}";
    call(DX_OP_GetItem, GET_A, NULL, 0); /* a cached */
    for (int i = 0; i < 3; i++)
        assert_int_equal(call(DX_OP_TransactGetItems, tg, NULL, 0), 200);
    assert_int_equal(inner(DX_OP_TransactGetItems), 3);
    call(DX_OP_GetItem, GET_A, NULL, 0); /* still a hit */
    assert_int_equal(inner(DX_OP_GetItem), 1);
    call(DX_OP_GetItem, get_b, NULL, 0); /* b was never filled by the transaction */
    assert_int_equal(inner(DX_OP_GetItem), 2);
    struct cache_stats st;
    cache_stats_get(C, &st);
    assert_int_equal(st.upstream[DX_OP_TransactGetItems], 3);
    stop();
}

static struct cache_stats stats(void)
{
    struct cache_stats st;
    cache_stats_get(C, &st);
    return st;
}

/* PutItem: the next eventual GetItem is answered from the request's Item, numbers in canonical
 * form, without an inner call; DeleteItem leaves a negative entry. */
static void test_put_and_delete_images(void **state)
{
    start(NULL);
    char b[512];
    call(DX_OP_GetItem, GET_A, NULL, 0); /* learns the key names; a negative entry */
    const char *put =
        "{\"TableName\":\"T\",\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"01.50\"},"
        "\"m\":{\"M\":{\"x\":{\"NS\":[\"2.0\",\"3\"]},\"l\":{\"L\":[{\"N\":\"-0\"}]}}},"
        "\"s\":{\"S\":\"h\\u00e9\\\"\"}}}";
    assert_int_equal(call(DX_OP_PutItem, put, b, sizeof(b)), 200);
    assert_string_equal(b, "{}");
    call(DX_OP_GetItem, GET_A, b, sizeof(b));
    assert_int_equal(inner(DX_OP_GetItem), 1);
    cJSON *got = cJSON_Parse(b);
    cJSON *want = cJSON_Parse("{\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"1.5\"},"
                              "\"m\":{\"M\":{\"x\":{\"NS\":[\"2\",\"3\"]},\"l\":{\"L\":[{\"N\":"
                              "\"0\"}]}}},\"s\":{\"S\":\"h\\u00e9\\\"\"}}}");
    assert_true(cJSON_Compare(got, want, 1));
    cJSON_Delete(got);
    cJSON_Delete(want);
    assert_int_equal(stats().write_images, 1);

    /* and the image serves BatchGetItem too */
    call(DX_OP_BatchGetItem, "{\"RequestItems\":{\"T\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}}]}}}", b,
         sizeof(b));
    assert_non_null(strstr(b, "\"1.5\""));
    assert_int_equal(inner(DX_OP_BatchGetItem), 0);

    assert_int_equal(call(DX_OP_DeleteItem, GET_A, NULL, 0), 200);
    call(DX_OP_GetItem, GET_A, b, sizeof(b));
    assert_string_equal(b, "{}");
    assert_int_equal(inner(DX_OP_GetItem), 1);
    assert_int_equal(stats().write_negative, 1);
    assert_int_equal(stats().negative_hits, 1);
    stop();

    /* with negative caching off, a delete only drops */
    struct cache_options o;
    cache_options_init(&o);
    o.negative_ttl_ms = 0;
    start(&o);
    call(DX_OP_DeleteItem, GET_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 2);
    stop();
}

/* UpdateItem: the cache asks for ALL_NEW when the client asked for NONE (and gives the client
 * no Attributes), caches ALL_NEW answers, drops the entry for other ReturnValues, and never
 * changes the body when the inner implementation checks the client's signature over it. */
static void test_update_images(void **state)
{
    static const struct {
        const char *rv;     /* ReturnValues member, or "" */
        int bodies_signed;  /* option */
        int asks_all_new;   /* the inner call carries ALL_NEW */
        const char *answer; /* what the client gets: a substring, or "{}" exactly */
        int cached;         /* the next GetItem is a hit */
    } cases[] = {
        {"", 0, 1, "{\"ConsumedCapacity\":{}}", 1},
        {",\"ReturnValues\":\"NONE\"", 0, 1, "{\"ConsumedCapacity\":{}}", 1},
        {",\"ReturnValues\":\"ALL_NEW\"", 0, 1, "\"Attributes\"", 1},
        {",\"ReturnValues\":\"ALL_OLD\"", 0, 0, "\"Attributes\"", 0},
        {",\"ReturnValues\":\"UPDATED_NEW\"", 0, 0, "{\"ConsumedCapacity\":{}}", 0},
        {"", 1, 0, "{\"ConsumedCapacity\":{}}", 0},
        {",\"ReturnValues\":\"ALL_NEW\"", 1, 1, "\"Attributes\"", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cache_options o;
        cache_options_init(&o);
        o.bodies_signed = cases[i].bodies_signed;
        start(&o);
        call(DX_OP_PutItem, PUT_A, NULL, 0);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        char body[512], b[512];
        snprintf(body, sizeof(body),
                 "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},\"UpdateExpression\":"
                 "\"SET v = :v\",\"ExpressionAttributeValues\":{\":v\":{\"N\":\"7\"}}%s}",
                 cases[i].rv);
        assert_int_equal(call(DX_OP_UpdateItem, body, b, sizeof(b)), 200);
        if ((strstr(F.last_body, "\"ALL_NEW\"") != NULL) != cases[i].asks_all_new)
            fail_msg("case %zu: inner request %s", i, F.last_body);
        if (cases[i].answer[0] == '{' ? strcmp(b, cases[i].answer) != 0
                                      : !strstr(b, cases[i].answer))
            fail_msg("case %zu: answer %s", i, b);
        call(DX_OP_GetItem, GET_A, b, sizeof(b));
        assert_non_null(strstr(b, "\"7\""));
        if (inner(DX_OP_GetItem) != 2 - cases[i].cached)
            fail_msg("case %zu: %d inner GetItems", i, inner(DX_OP_GetItem));
        stop();
    }
}

/* The answer stripped of Attributes keeps every other member, whatever their order. */
static void test_update_answer_stripping(void **state)
{
    static const char *const answers[][2] = {
        {"{\"Attributes\":{\"pk\":{\"S\":\"a\"}}}", "{}"},
        {"{ \"Attributes\" : {\"pk\":{\"S\":\"a\"}} , \"ConsumedCapacity\":{\"TableName\":\"T\"}}",
         "{\"ConsumedCapacity\":{\"TableName\":\"T\"}}"},
        {"{\"ConsumedCapacity\":{\"TableName\":\"T\"},\"Attributes\":{\"pk\":{\"S\":\"a\"}}}",
         "{\"ConsumedCapacity\":{\"TableName\":\"T\"}}"},
        {"{\"A\":1,\"Attributes\":{\"pk\":{\"S\":\"a\"}},\"B\":[2]}", "{\"A\":1,\"B\":[2]}"},
    };
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        start(NULL);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        F.force_status = 200;
        F.force_body = answers[i][0];
        char b[512];
        call(DX_OP_UpdateItem,
             "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},\"UpdateExpression\":\"REMOVE "
             "v\"}",
             b, sizeof(b));
        assert_string_equal(b, answers[i][1]);
        F.force_status = 0;
        call(DX_OP_GetItem, GET_A, b, sizeof(b)); /* the ALL_NEW image: just the key */
        assert_string_equal(b, "{\"Item\":{\"pk\":{\"S\":\"a\"}}}");
        assert_int_equal(inner(DX_OP_GetItem), 1);
        stop();
    }
}

/* Failed writes: 5xx and no answer drop, a ConditionalCheckFailedException drops the item (it
 * may be stale) but not the partition's pages, any other 4xx leaves everything. */
static void test_failed_write_images(void **state)
{
    static const struct {
        int status;
        const char *type;
        int drops_item, drops_page;
    } cases[] = {
        {500, "com.amazonaws.dynamodb.v20120810#InternalServerError", 1, 1},
        {400, "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", 1, 0},
        {400, "ConditionalCheckFailedException", 1, 0},
        {400, "com.amazon.coral.validate#ValidationException", 0, 0},
        {400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", 0, 0},
    };
    const char *get_r = "{\"TableName\":\"R\",\"Key\":{\"pk\":{\"S\":\"p\"},\"sk\":{\"S\":\"1\"}}}";
    const char *q = "{\"TableName\":\"R\",\"KeyConditionExpression\":\"pk = :p\","
                    "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p\"}}}";
    const char *put_r = "{\"TableName\":\"R\",\"Item\":{\"pk\":{\"S\":\"p\"},\"sk\":{\"S\":\"1\"},"
                        "\"v\":{\"N\":\"9\"}},\"ConditionExpression\":\"attribute_exists(v)\"}";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        start(NULL);
        call(DX_OP_GetItem, get_r, NULL, 0);
        call(DX_OP_Query, q, NULL, 0);
        char err[256];
        snprintf(err, sizeof(err), "{\"__type\":\"%s\",\"message\":\"m\"}", cases[i].type);
        F.force_status = cases[i].status;
        F.force_body = err;
        assert_int_equal(call(DX_OP_PutItem, put_r, NULL, 0), cases[i].status);
        F.force_status = 0;
        call(DX_OP_GetItem, get_r, NULL, 0);
        call(DX_OP_Query, q, NULL, 0);
        if (inner(DX_OP_GetItem) != 1 + cases[i].drops_item ||
            inner(DX_OP_Query) != 1 + cases[i].drops_page)
            fail_msg("case %zu: GetItem %d Query %d", i, inner(DX_OP_GetItem), inner(DX_OP_Query));
        assert_int_equal(stats().write_images, 0);
        assert_int_equal(stats().write_dropped, cases[i].drops_item);
        stop();
    }
}

/* BatchWriteItem: Put images and Delete negatives cached, UnprocessedItems only dropped. */
static void test_batch_write_images(void **state)
{
    start(NULL);
    const char *get_b = "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"b\"}}}";
    const char *get_u = "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"unp1\"}}}";
    call(DX_OP_PutItem, "{\"TableName\":\"T\",\"Item\":{\"pk\":{\"S\":\"b\"}}}", NULL, 0);
    call(DX_OP_GetItem, get_b, NULL, 0); /* learns the key names */
    call(DX_OP_GetItem, get_u, NULL, 0); /* negative */
    assert_int_equal(inner(DX_OP_GetItem), 2);
    char b[512];
    assert_int_equal(
        call(DX_OP_BatchWriteItem,
             "{\"RequestItems\":{\"T\":[{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{"
             "\"N\":\"4\"}}}},{\"DeleteRequest\":{\"Key\":{\"pk\":{\"S\":\"b\"}}}},"
             "{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"unp1\"},\"v\":{\"N\":\"5\"}}}}]}}",
             b, sizeof(b)),
        200);
    assert_non_null(strstr(b, "unp1"));
    call(DX_OP_GetItem, GET_A, b, sizeof(b));
    assert_non_null(strstr(b, "\"4\""));
    call(DX_OP_GetItem, get_b, b, sizeof(b));
    assert_string_equal(b, "{}");
    assert_int_equal(inner(DX_OP_GetItem), 2);
    call(DX_OP_GetItem, get_u, b, sizeof(b)); /* unprocessed: dropped, fetched again */
    assert_string_equal(b, "{}");
    assert_int_equal(inner(DX_OP_GetItem), 3);
    struct cache_stats st = stats();
    assert_int_equal(st.write_images, 1);
    assert_int_equal(st.write_negative, 1);
    assert_int_equal(st.write_dropped, 2); /* the first Put (key names unknown), unp1 */
    stop();
}

/* Two writes of one item answered in the opposite order (as two upstream connections may):
 * neither image is kept, the next read goes to the inner implementation. */
static void test_overlapping_writes_keep_no_image(void **state)
{
    start(NULL);
    call(DX_OP_GetItem, GET_A, NULL, 0);
    F.mode = FAKE_HOLD;
    struct result r1, r2;
    result_init(&r1);
    result_init(&r2);
    struct dx_call c1 = {.op = DX_OP_PutItem, .body = PUT_A, .len = strlen(PUT_A)};
    struct dx_call c2 = {.op = DX_OP_PutItem, .body = PUT_A2, .len = strlen(PUT_A2)};
    dx_api_call(&API, &c1, on_done, &r1);
    dx_api_call(&API, &c2, on_done, &r2);
    F.mode = FAKE_SYNC;
    struct held h0 = F.held[0], h1 = F.held[1];
    F.nheld = 0;
    h1.done(h1.reply, h1.arg); /* the later write answers first ... */
    h0.done(h0.reply, h0.arg); /* ... the earlier one last */
    result_wait(&r1);
    result_wait(&r2);
    char b[512];
    call(DX_OP_GetItem, GET_A, b, sizeof(b));
    assert_int_equal(inner(DX_OP_GetItem), 2);
    assert_non_null(strstr(b, "\"2\"")); /* the fake applied them in call order */
    assert_int_equal(stats().write_images, 0);
    assert_int_equal(stats().write_dropped, 2);

    /* once alone again, a write installs its image */
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    call(DX_OP_GetItem, GET_A, b, sizeof(b));
    assert_non_null(strstr(b, "\"1\""));
    assert_int_equal(inner(DX_OP_GetItem), 2);
    stop();
}

/* A read miss that started before a write and answers after it (with the old item) neither
 * replaces the write's image nor is served. */
static void test_older_read_does_not_replace_image(void **state)
{
    start(NULL);
    call(DX_OP_PutItem, PUT_A, NULL, 0);
    call(DX_OP_GetItem, "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"x\"}}}", NULL, 0);
    call(DX_OP_DeleteItem, GET_A, NULL, 0); /* key names known; a is a negative entry */
    call(DX_OP_PutItem, PUT_A, NULL, 0);    /* and now holds v=1 */
    call(DX_OP_DeleteItem, GET_A, NULL, 0); /* absent again: negative entry */
    /* drop the entry so the next read misses (a failed write) */
    F.force_status = 500;
    F.force_body = "{}";
    call(DX_OP_DeleteItem, GET_A, NULL, 0);
    F.force_status = 0;
    F.mode = FAKE_HOLD;
    struct result r;
    result_init(&r);
    struct dx_call c = {.op = DX_OP_GetItem, .body = GET_A, .len = strlen(GET_A)};
    dx_api_call(&API, &c, on_done, &r); /* reads "absent", answer held */
    F.mode = FAKE_SYNC;
    int before = inner(DX_OP_GetItem);
    assert_int_equal(call(DX_OP_PutItem, PUT_A2, NULL, 0), 200); /* image v=2 */
    release_from_thread();                                       /* the old "absent" arrives */
    result_wait(&r);
    assert_string_equal(r.body, "{}");
    char b[512];
    call(DX_OP_GetItem, GET_A, b, sizeof(b));
    assert_non_null(strstr(b, "\"2\""));
    assert_int_equal(inner(DX_OP_GetItem), before); /* the image, not the older read */
    stop();
}

/* The key names come from CreateTable and DescribeTable too, so a Put's image is cached
 * before any read of the table. */
static void test_key_names_from_table_ops(void **state)
{
    static const struct {
        enum dx_op op;
        const char *body;
        const char *answer;
    } cases[] = {
        {DX_OP_CreateTable,
         "{\"TableName\":\"N\",\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]}",
         "{}"},
        {DX_OP_DescribeTable, "{\"TableName\":\"N\"}",
         "{\"Table\":{\"TableName\":\"N\",\"KeySchema\":[{\"AttributeName\":\"pk\","
         "\"KeyType\":\"HASH\"}]}}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        start(NULL);
        F.force_status = 200;
        F.force_body = cases[i].answer;
        call(cases[i].op, cases[i].body, NULL, 0);
        F.force_status = 0;
        call(DX_OP_PutItem,
             "{\"TableName\":\"N\",\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"S\":\"x\"}}}", NULL, 0);
        char b[512];
        call(DX_OP_GetItem, "{\"TableName\":\"N\",\"Key\":{\"pk\":{\"S\":\"a\"}}}", b, sizeof(b));
        assert_non_null(strstr(b, "\"x\""));
        if (inner(DX_OP_GetItem) != 0)
            fail_msg("case %zu: the Put's image was not cached", i);
        stop();
    }
}

/* A table-wide write (PartiQL) overlapping a Put of the same table, in either order: the Put
 * keeps no image. Alone again, it does. */
static void test_wide_write_overlap(void **state)
{
    const char *stmt = "{\"Statement\":\"UPDATE T SET v = 9 WHERE pk = 'a'\"}";
    for (int order = 0; order < 2; order++) {
        start(NULL);
        call(DX_OP_GetItem, GET_A, NULL, 0); /* key names known */
        struct result r;
        result_init(&r);
        F.mode = FAKE_HOLD;
        struct dx_call c =
            order == 0
                ? (struct dx_call){.op = DX_OP_ExecuteStatement, .body = stmt, .len = strlen(stmt)}
                : (struct dx_call){.op = DX_OP_PutItem, .body = PUT_A2, .len = strlen(PUT_A2)};
        dx_api_call(&API, &c, on_done, &r); /* held */
        F.mode = FAKE_SYNC;
        if (order == 0)
            assert_int_equal(call(DX_OP_PutItem, PUT_A2, NULL, 0), 200);
        else
            assert_int_equal(call(DX_OP_ExecuteStatement, stmt, NULL, 0), 200);
        release_from_thread();
        result_wait(&r);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        if (inner(DX_OP_GetItem) != 2)
            fail_msg("order %d: the Put's image was kept", order);
        call(DX_OP_PutItem, PUT_A, NULL, 0);
        call(DX_OP_GetItem, GET_A, NULL, 0);
        assert_int_equal(inner(DX_OP_GetItem), 2);
        stop();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_invalidate_items),
        cmocka_unit_test(test_write_leaves_other_items),
        cmocka_unit_test(test_put_before_key_is_known),
        cmocka_unit_test(test_failed_writes),
        cmocka_unit_test(test_partiql_writes),
        cmocka_unit_test(test_transact_write_invalidates),
        cmocka_unit_test(test_transact_get_bypasses_cache),
        cmocka_unit_test(test_put_and_delete_images),
        cmocka_unit_test(test_update_images),
        cmocka_unit_test(test_update_answer_stripping),
        cmocka_unit_test(test_failed_write_images),
        cmocka_unit_test(test_batch_write_images),
        cmocka_unit_test(test_overlapping_writes_keep_no_image),
        cmocka_unit_test(test_older_read_does_not_replace_image),
        cmocka_unit_test(test_wide_write_overlap),
        cmocka_unit_test(test_key_names_from_table_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
