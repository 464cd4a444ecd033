/*
 * The TableDescription writer: members DynamoDB leaves out (BillingModeSummary for tables
 * that were never on-demand, DeletionProtectionEnabled in CreateTable's answer when not
 * requested), item statistics, status overrides, and NumberOfDecreasesToday starting again
 * on a new UTC day.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dx_status.h"
#include "be_table_priv.h"

static cJSON *parse(const char *s)
{
    char *b = strdup(s);
    for (char *p = b; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *j = cJSON_Parse(b);
    free(b);
    assert_non_null(j);
    return j;
}

static void test_desc_provisioned_and_flags(void **state)
{
    (void)state;
    cJSON *j = parse("{'TableName':'prov','AttributeDefinitions':[{'AttributeName':'pk',"
                     "'AttributeType':'S'}],'KeySchema':[{'AttributeName':'pk','KeyType':"
                     "'HASH'}],'ProvisionedThroughput':{'ReadCapacityUnits':4,"
                     "'WriteCapacityUnits':5}}");
    struct be_table *t;
    struct dx_error err = {0};
    assert_int_equal(be__table_from_create(j, "us-east-1", "000000000000", 1700000000.0, &t, &err),
                     DX_OK);
    t->last_decrease = 1700000000.0 + 10;
    t->decreases_today = 3;
    struct dx_buf b = DX_BUF_INIT;
    struct be_desc_stats st = {.items = 2, .bytes = 10};
    be__table_desc(&b, t, NULL, &st, BE_DESC_NO_DP, 1700000000.0 + 20);
    cJSON *d = cJSON_Parse(b.p);
    assert_non_null(d);
    /* Provisioned tables that never were on-demand carry no BillingModeSummary. */
    assert_null(cJSON_GetObjectItem(d, "BillingModeSummary"));
    assert_null(cJSON_GetObjectItem(d, "DeletionProtectionEnabled"));
    assert_null(cJSON_GetObjectItem(d, "TableClassSummary"));
    assert_null(cJSON_GetObjectItem(d, "StreamSpecification"));
    assert_int_equal(cJSON_GetObjectItem(d, "ItemCount")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(d, "TableSizeBytes")->valueint, 10);
    cJSON *pt = cJSON_GetObjectItem(d, "ProvisionedThroughput");
    assert_int_equal(cJSON_GetObjectItem(pt, "NumberOfDecreasesToday")->valueint, 3);
    assert_non_null(cJSON_GetObjectItem(pt, "LastDecreaseDateTime"));
    assert_null(cJSON_GetObjectItem(pt, "LastIncreaseDateTime"));
    assert_string_equal(cJSON_GetObjectItem(d, "TableStatus")->valuestring, "ACTIVE");
    cJSON_Delete(d);

    /* The day after, the decrease count starts again. */
    dx_buf_reset(&b);
    be__table_desc(&b, t, "DELETING", NULL, 0, 1700000000.0 + 86400 * 2);
    d = cJSON_Parse(b.p);
    pt = cJSON_GetObjectItem(d, "ProvisionedThroughput");
    assert_int_equal(cJSON_GetObjectItem(pt, "NumberOfDecreasesToday")->valueint, 0);
    assert_string_equal(cJSON_GetObjectItem(d, "TableStatus")->valuestring, "DELETING");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(d, "DeletionProtectionEnabled")));
    assert_non_null(cJSON_GetObjectItem(d, "DeletionProtectionEnabled"));
    cJSON_Delete(d);
    dx_buf_deinit(&b);
    be_table_unref(t);
    cJSON_Delete(j);
}

static void test_desc_on_demand_and_indexes(void **state)
{
    (void)state;
    cJSON *j = parse("{'TableName':'ondemand','AttributeDefinitions':[{'AttributeName':'pk',"
                     "'AttributeType':'S'},{'AttributeName':'g','AttributeType':'N'}],"
                     "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],'BillingMode':"
                     "'PAY_PER_REQUEST','GlobalSecondaryIndexes':[{'IndexName':'gix','KeySchema':"
                     "[{'AttributeName':'g','KeyType':'HASH'}],'Projection':{'ProjectionType':"
                     "'ALL'}}],'TableClass':'STANDARD'}");
    struct be_table *t;
    struct dx_error err = {0};
    assert_int_equal(be__table_from_create(j, "us-east-1", "000000000000", 1700000000.25, &t, &err),
                     DX_OK);
    struct dx_buf b = DX_BUF_INIT;
    struct be_desc_stats st = {0};
    st.gsi_items[0] = 4;
    st.gsi_bytes[0] = 40;
    be__table_desc(&b, t, "CREATING", &st, BE_DESC_GSI_CREATING, 1700000001.0);
    cJSON *d = cJSON_Parse(b.p);
    assert_non_null(d);
    cJSON *bms = cJSON_GetObjectItem(d, "BillingModeSummary");
    assert_string_equal(cJSON_GetObjectItem(bms, "BillingMode")->valuestring, "PAY_PER_REQUEST");
    assert_true(cJSON_GetObjectItem(bms, "LastUpdateToPayPerRequestDateTime")->valuedouble ==
                1700000000.25);
    assert_true(cJSON_GetObjectItem(d, "CreationDateTime")->valuedouble == 1700000000.25);
    cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "GlobalSecondaryIndexes"), 0);
    assert_string_equal(cJSON_GetObjectItem(g, "IndexStatus")->valuestring, "CREATING");
    assert_string_equal(cJSON_GetObjectItem(g, "IndexArn")->valuestring,
                        "arn:aws:dynamodb:us-east-1:000000000000:table/ondemand/index/gix");
    assert_int_equal(cJSON_GetObjectItem(g, "ItemCount")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItem(g, "IndexSizeBytes")->valueint, 40);
    cJSON *gpt = cJSON_GetObjectItem(g, "ProvisionedThroughput");
    assert_int_equal(cJSON_GetObjectItem(gpt, "ReadCapacityUnits")->valueint, 0);
    cJSON *tcs = cJSON_GetObjectItem(d, "TableClassSummary");
    assert_string_equal(cJSON_GetObjectItem(tcs, "TableClass")->valuestring, "STANDARD");
    cJSON_Delete(d);
    dx_buf_deinit(&b);
    be_table_unref(t);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_desc_provisioned_and_flags),
        cmocka_unit_test(test_desc_on_demand_and_indexes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
