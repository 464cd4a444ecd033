/*
 * The pieces of DynamoDB's request validator the control plane shares: the constraint-error
 * collector (count, plural, the cap at ten, null vs quoted values), the SerializationException
 * texts for members of the wrong JSON type, value rendering in messages, the TableName rules
 * of the operations that also take ARNs, and CreateTable's parser on the request shapes
 * clients send (table-driven: request -> the one error DynamoDB reports first, or success).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dx_status.h"
#include "be_table_priv.h"

static char *dequote(const char *s)
{
    char *b = strdup(s);
    for (char *p = b; *p; p++)
        if (*p == '\'')
            *p = '"';
    return b;
}

static cJSON *parse(const char *s)
{
    char *t = dequote(s);
    cJSON *j = cJSON_Parse(t);
    free(t);
    assert_non_null(j);
    return j;
}

static void test_collector(void **state)
{
    (void)state;
    struct dx_error err = {0};
    struct be_verrs v = {DX_BUF_INIT, 0};
    assert_int_equal(be__verr_finish(&v, &err), DX_OK);
    assert_int_equal(err.code, DX_E_NONE);

    be__verr_add(&v, NULL, "keySchema", "Member must not be null");
    assert_int_equal(be__verr_finish(&v, &err), DX_EREQ);
    assert_int_equal(err.code, DX_E_VALIDATION);
    assert_string_equal(err.msg, "1 validation error detected: Value null at 'keySchema' failed "
                                 "to satisfy constraint: Member must not be null");

    be__verr_add(&v, "0", "limit", "Member must have value greater than or equal to 1");
    be__verr_add(&v, "a;", "tableName", "X");
    assert_int_equal(be__verr_finish(&v, &err), DX_EREQ);
    assert_string_equal(err.msg, "2 validation errors detected: Value '0' at 'limit' failed to "
                                 "satisfy constraint: Member must have value greater than or "
                                 "equal to 1; Value 'a;' at 'tableName' failed to satisfy "
                                 "constraint: X");

    /* DynamoDB reports at most ten. */
    for (int i = 0; i < 14; i++)
        be__verr_add(&v, NULL, "p", "m");
    assert_int_equal(be__verr_finish(&v, &err), DX_EREQ);
    assert_true(strncmp(err.msg, "10 validation errors detected: ", 31) == 0);
    dx_error_clear(&err);
}

/* Type errors are worded by the one shared checker (dx_json_check), so every operation
 * reports them alike; here: acceptance of absent/null/right-typed members, and a
 * SerializationException with the checker's text otherwise. */
static void test_type_checks_use_shared_checker(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        enum dx_jtype want;
        int ok;
    } cases[] = {
        {"'x'", DX_JT_STRING, 1},  {"null", DX_JT_STRING, 1}, {"5", DX_JT_STRING, 0},
        {"true", DX_JT_STRING, 0}, {"[]", DX_JT_STRING, 0},   {"{}", DX_JT_STRING, 0},
        {"5", DX_JT_LONG, 1},      {"'5'", DX_JT_LONG, 0},    {"false", DX_JT_LONG, 0},
        {"true", DX_JT_BOOL, 1},   {"[]", DX_JT_LIST, 1},     {"{}", DX_JT_LIST, 0},
        {"'a'", DX_JT_LIST, 0},    {"{}", DX_JT_STRUCT, 1},   {"[]", DX_JT_STRUCT, 0},
    };
    assert_int_equal(be__jtype(NULL, DX_JT_STRING, NULL), DX_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = parse(cases[i].json);
        struct dx_error err = {0}, ref = {0};
        int rc = be__jtype(j, cases[i].want, &err);
        int rrc = dx_json_check(j, cases[i].want, &ref);
        if (cases[i].ok) {
            assert_int_equal(rc, DX_OK);
        } else {
            assert_int_equal(rc, DX_EREQ);
            assert_int_equal(err.code, DX_E_SERIALIZATION);
            assert_int_equal(rrc, DX_EREQ);
            assert_string_equal(err.msg, ref.msg);
        }
        dx_error_clear(&err);
        dx_error_clear(&ref);
        cJSON_Delete(j);
    }
}

static void test_value_rendering(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"'abc'", "abc"},
        {"-1", "-1"},
        {"1000000000001", "1000000000001"},
        {"[]", "[]"},
        {"['a','b']", "[a, b]"},
        {"true", "true"},
        {"{'K':'v'}", "{K=v}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = parse(cases[i].json);
        struct dx_buf b = DX_BUF_INIT;
        be__jval_str(j, &b);
        assert_string_equal(b.p, cases[i].want);
        dx_buf_deinit(&b);
        cJSON_Delete(j);
    }
}

static void test_table_name_arg(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        const char *msg; /* NULL: accepted */
    } cases[] = {
        {"{'TableName':'abc'}", NULL},
        {"{'TableName':'arn:aws:dynamodb:us-east-1:000000000000:table/abc'}", NULL},
        {"{}", "The parameter 'TableName' is required but was not present in the request"},
        {"{'TableName':null}",
         "The parameter 'TableName' is required but was not present in the request"},
        {"{'TableName':''}",
         "TableName must be at least 3 characters long and at most 255 characters long"},
        {"{'TableName':'ab'}",
         "TableName must be at least 3 characters long and at most 255 characters long"},
        {"{'TableName':'a b'}",
         "1 validation error detected: Value 'a b' at 'tableName' failed to satisfy constraint: "
         "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = parse(cases[i].req);
        struct dx_error err = {0};
        const char *name = NULL;
        int rc = be__table_name_arg(j, NULL, &name, &err);
        if (!cases[i].msg) {
            assert_int_equal(rc, DX_OK);
            assert_non_null(name);
        } else {
            if (rc != DX_EREQ || strcmp(err.msg, cases[i].msg) != 0)
                fail_msg("%s: got %d %s", cases[i].req, rc, err.msg ? err.msg : "");
        }
        dx_error_clear(&err);
        cJSON_Delete(j);
    }
    /* With a collector, the caller's own errors are reported together with the name's. */
    cJSON *j = parse("{'TableName':'a;b'}");
    struct be_verrs v = {DX_BUF_INIT, 0};
    struct dx_error err = {0};
    const char *name;
    be__verr_add(&v, "0", "limit", "Member must have value greater than or equal to 1");
    assert_int_equal(be__table_name_arg(j, &v, &name, &err), DX_OK);
    assert_int_equal(be__verr_finish(&v, &err), DX_EREQ);
    assert_true(strncmp(err.msg, "2 validation errors detected: ", 30) == 0);
    dx_error_clear(&err);
    cJSON_Delete(j);
}

static void test_create_parse_builds_table(void **state)
{
    (void)state;
    cJSON *j = parse("{'TableName':'orders','AttributeDefinitions':[{'AttributeName':'pk',"
                     "'AttributeType':'B'},{'AttributeName':'sk','AttributeType':'N'},"
                     "{'AttributeName':'g','AttributeType':'S'}],'KeySchema':[{'AttributeName':"
                     "'pk','KeyType':'HASH'},{'AttributeName':'sk','KeyType':'RANGE'}],"
                     "'GlobalSecondaryIndexes':[{'IndexName':'by_g','KeySchema':[{"
                     "'AttributeName':'g','KeyType':'HASH'},{'AttributeName':'sk','KeyType':"
                     "'RANGE'}],'Projection':{'ProjectionType':'INCLUDE','NonKeyAttributes':"
                     "['a']},'ProvisionedThroughput':{'ReadCapacityUnits':2,"
                     "'WriteCapacityUnits':3}}],'ProvisionedThroughput':{'ReadCapacityUnits':4,"
                     "'WriteCapacityUnits':5},'Tags':[{'Key':'team','Value':'x'}],"
                     "'DeletionProtectionEnabled':true}");
    struct be_table *t;
    struct dx_error err = {0};
    assert_int_equal(be__table_from_create(j, "eu-west-1", "123456789012", 1700000000.5, &t, &err),
                     DX_OK);
    assert_string_equal(t->name, "orders");
    assert_string_equal(t->arn, "arn:aws:dynamodb:eu-west-1:123456789012:table/orders");
    assert_int_equal(strlen(t->table_id), 36);
    assert_true(t->created == 1700000000.5);
    assert_string_equal(t->status, "ACTIVE");
    assert_string_equal(t->hash.name, "pk");
    assert_int_equal(t->hash.type, DX_AV_B);
    assert_int_equal(t->range.type, DX_AV_N);
    assert_int_equal(t->billing, BE_BILLING_PROVISIONED);
    assert_int_equal(t->rcu, 4);
    assert_int_equal(t->wcu, 5);
    assert_int_equal(t->n_attrdefs, 3);
    assert_int_equal(t->n_gsi, 1);
    assert_true(t->gsi[0].global);
    assert_int_equal(t->gsi[0].range.type, DX_AV_N);
    assert_int_equal(t->gsi[0].projection, BE_PROJ_INCLUDE);
    assert_string_equal(t->gsi[0].nonkey[0], "a");
    assert_int_equal(t->gsi[0].rcu, 2);
    assert_true(t->deletion_protection);
    assert_null(t->table_class);
    assert_non_null(cJSON_GetObjectItem(t->extra, "Tags"));
    be_table_unref(t);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collector),
        cmocka_unit_test(test_type_checks_use_shared_checker),
        cmocka_unit_test(test_value_rendering),
        cmocka_unit_test(test_table_name_arg),
        cmocka_unit_test(test_create_parse_builds_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
