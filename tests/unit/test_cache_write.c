/* Write-through invalidation: every write kind drops the items it touched (all projections),
 * leaves other items, and failed writes drop only when their effect is unknown. */
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
    } writes[] = {
        {DX_OP_PutItem, PUT_A2},
        {DX_OP_UpdateItem, "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}},"
                           "\"UpdateExpression\":\"SET v = :v\"}"},
        {DX_OP_DeleteItem, "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}}}"},
        {DX_OP_BatchWriteItem,
         "{\"RequestItems\":{\"T\":[{\"DeleteRequest\":{\"Key\":{\"pk\":{\"S\":\"a\"}}}}]}}"},
        {DX_OP_BatchWriteItem,
         "{\"RequestItems\":{\"T\":[{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"a\"},"
         "\"v\":{\"N\":\"3\"}}}}]}}"},
        {DX_OP_TransactWriteItems,
         "{\"TransactItems\":[{\"Update\":{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}}}}]}"},
        {DX_OP_TransactWriteItems,
         "{\"TransactItems\":[{\"Put\":{\"TableName\":\"T\",\"Item\":{\"pk\":{\"S\":\"a\"}}}}]}"},
        {DX_OP_DeleteTable, "{\"TableName\":\"T\"}"},
        {DX_OP_UpdateTable, "{\"TableName\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T\"}"},
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
        call(DX_OP_GetItem, GET_A, NULL, 0); /* every projection of the item is gone */
        call(DX_OP_GetItem, proj, NULL, 0);
        if (inner(DX_OP_GetItem) != 4)
            fail_msg("write %zu did not invalidate", i);
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
    call(DX_OP_GetItem, GET_A, NULL, 0);
    assert_int_equal(inner(DX_OP_GetItem), 3);
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
    call(DX_OP_PutItem, PUT_A, NULL, 0);            /* key names known now: exact */
    call(DX_OP_BatchGetItem, bg, b, sizeof(b));
    assert_int_equal(inner(DX_OP_BatchGetItem), 1);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_invalidate_items),
        cmocka_unit_test(test_write_leaves_other_items),
        cmocka_unit_test(test_put_before_key_is_known),
        cmocka_unit_test(test_failed_writes),
        cmocka_unit_test(test_partiql_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
