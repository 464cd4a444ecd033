/* dx_error and dx_op: the error bodies clients parse, and X-Amz-Target resolution. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dx_api.h"
#include "dx_error.h"
#include "dx_op.h"
#include "dx_status.h"

static void test_error_body(void **state)
{
    struct dx_error e = {0};
    assert_int_equal(dx_error_set(&e, DX_E_VALIDATION, "bad \"%s\"", "x"), DX_EREQ);
    struct dx_buf b = DX_BUF_INIT;
    dx_error_write_json(&e, &b);
    assert_string_equal(b.p, "{\"__type\":\"com.amazon.coral.validate#ValidationException\","
                             "\"message\":\"bad \\\"x\\\"\"}");
    dx_buf_reset(&b);
    dx_error_set(&e, DX_E_CONDITIONAL_CHECK_FAILED, "The conditional request failed");
    dx_buf_puts(&e.extra, ",\"Item\":{}");
    dx_error_write_json(&e, &b);
    assert_string_equal(b.p, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                             "ConditionalCheckFailedException\",\"message\":\"The conditional "
                             "request failed\",\"Item\":{}}");
    dx_buf_reset(&b);
    /* A new error replaces the old one, extra members included. */
    dx_error_set(&e, DX_E_SERIALIZATION, NULL);
    dx_error_write_json(&e, &b);
    assert_string_equal(b.p, "{\"__type\":\"com.amazon.coral.service#SerializationException\"}");
    dx_buf_deinit(&b);
    dx_error_clear(&e);
}

static void test_error_table(void **state)
{
    assert_int_equal(dx_error_http_status(DX_E_VALIDATION), 400);
    assert_int_equal(dx_error_http_status(DX_E_INTERNAL_SERVER_ERROR), 500);
    assert_int_equal(dx_error_http_status(DX_E_REQUEST_TOO_LARGE), 413);
    assert_string_equal(dx_error_name(DX_E_RESOURCE_NOT_FOUND), "ResourceNotFoundException");
    assert_true(dx_error_retryable(DX_E_PROVISIONED_THROUGHPUT_EXCEEDED));
    assert_false(dx_error_retryable(DX_E_CONDITIONAL_CHECK_FAILED));
    /* TransactionCanceledException carries a capital Message, as DynamoDB sends it. */
    struct dx_error e = {0};
    dx_error_set(&e, DX_E_TRANSACTION_CANCELED, "m");
    struct dx_reply *r = dx_reply_error(&e);
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(r->body, "\"Message\":\"m\""));
    dx_reply_free(r);
    dx_error_clear(&e);
}

static void test_targets(void **state)
{
    static const struct {
        const char *target;
        enum dx_op op;
    } cases[] = {
        {"DynamoDB_20120810.GetItem", DX_OP_GetItem},
        {"DynamoDB_20120810.CreateTable", DX_OP_CreateTable},
        {"DynamoDB_20120810.UpdateTimeToLive", DX_OP_UpdateTimeToLive},
        {"DynamoDBStreams_20120810.GetRecords", DX_OP_GetRecords},
        {"DynamoDB_20120810.GetRecords", DX_OP_NONE}, /* a streams op on the wrong service */
        {"DynamoDBStreams_20120810.GetItem", DX_OP_NONE},
        {"DynamoDB_20120810.getitem", DX_OP_NONE}, /* case matters */
        {"DynamoDB_20120810.GetItemX", DX_OP_NONE},
        {"DynamoDB_20120810.GetIte", DX_OP_NONE},
        {"DynamoDB_20120810.", DX_OP_NONE},
        {"DynamoDB_20111205.GetItem", DX_OP_NONE},
        {"", DX_OP_NONE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(dx_op_from_target(cases[i].target, strlen(cases[i].target)), cases[i].op);
    assert_string_equal(dx_op_name(DX_OP_BatchWriteItem), "BatchWriteItem");
    assert_true(dx_op_flags(DX_OP_GetItem) & DX_OPF_CACHE_ITEM);
    assert_true(dx_op_flags(DX_OP_PutItem) & DX_OPF_ITEM_WRITE);
    assert_int_equal(dx_op_service(DX_OP_ListStreams), DX_SVC_STREAMS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
