/*
 * Condition evaluation: a ConditionExpression (or legacy Expected / ScanFilter) with its
 * names and values against an item gives the result DynamoDB gives. JSON uses ' for ".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "expr_test_util.h"
#include <cjson/cJSON.h>
#include "be_expr.h"
#include "dx_status.h"

static const char *ITEM =
    "{'id':{'S':'k'},'n':{'N':'10'},'s':{'S':'hello'},'b':{'B':'AQID'},"
    "'t':{'BOOL':true},'z':{'NULL':true},'ss':{'SS':['a','b']},"
    "'ns':{'NS':['1','2']},'l':{'L':[{'S':'x'},{'N':'2'},{'M':{'q':{'N':'1'}}}]},"
    "'m':{'M':{'a':{'M':{'b':{'S':'deep'}}},'n':{'N':'-1.5'}}},'e':{'S':'a'}}";

struct ecase {
    const char *req;  /* request members besides the item */
    const char *item; /* NULL: ITEM; "" : no item */
    int want;
};

static const struct ecase cases[] = {
    /* comparisons */
    {"'ConditionExpression':'n = :v','ExpressionAttributeValues':{':v':{'N':'10.0'}}", NULL, 1},
    {"'ConditionExpression':'n = :v','ExpressionAttributeValues':{':v':{'S':'10'}}", NULL, 0},
    {"'ConditionExpression':'n <> :v','ExpressionAttributeValues':{':v':{'S':'10'}}", NULL, 1},
    {"'ConditionExpression':'nope <> :v','ExpressionAttributeValues':{':v':{'S':'10'}}", NULL, 1},
    {"'ConditionExpression':'nope = :v','ExpressionAttributeValues':{':v':{'S':'10'}}", NULL, 0},
    {"'ConditionExpression':'n < :v','ExpressionAttributeValues':{':v':{'N':'9'}}", NULL, 0},
    {"'ConditionExpression':'n > :v','ExpressionAttributeValues':{':v':{'N':'9'}}", NULL, 1},
    {"'ConditionExpression':'n >= :v','ExpressionAttributeValues':{':v':{'N':'1E1'}}", NULL, 1},
    {"'ConditionExpression':'n <= :v','ExpressionAttributeValues':{':v':{'N':'9.99'}}", NULL, 0},
    {"'ConditionExpression':'m.n < :v','ExpressionAttributeValues':{':v':{'N':'-1'}}", NULL, 1},
    {"'ConditionExpression':'s < :v','ExpressionAttributeValues':{':v':{'S':'help'}}", NULL, 1},
    {"'ConditionExpression':'s > :v','ExpressionAttributeValues':{':v':{'S':'hello'}}", NULL, 0},
    {"'ConditionExpression':'n < :v','ExpressionAttributeValues':{':v':{'S':'zzz'}}", NULL, 0},
    {"'ConditionExpression':'b < :v','ExpressionAttributeValues':{':v':{'B':'AQIE'}}", NULL, 1},
    {"'ConditionExpression':'ss = :v','ExpressionAttributeValues':{':v':{'SS':['b','a']}}", NULL,
     1},
    {"'ConditionExpression':'l[1] = :v','ExpressionAttributeValues':{':v':{'N':'2'}}", NULL, 1},
    {"'ConditionExpression':'l[2].q = :v','ExpressionAttributeValues':{':v':{'N':'1'}}", NULL, 1},
    {"'ConditionExpression':'#m.#a.b = "
     ":v','ExpressionAttributeNames':{'#m':'m','#a':'a'},'ExpressionAttributeValues':{':v':{'S':'"
     "deep'}}",
     NULL, 1},
    {"'ConditionExpression':'n = e'", NULL, 0},
    {"'ConditionExpression':'s = s2 OR e = :v','ExpressionAttributeValues':{':v':{'S':'q'}}",
     "{'s':{'S':'a'},'s2':{'S':'a'},'e':{'S':'x'}}", 1},
    /* BETWEEN and IN */
    {"'ConditionExpression':'n BETWEEN :a AND "
     ":b','ExpressionAttributeValues':{':a':{'N':'10'},':b':{'N':'11'}}",
     NULL, 1},
    {"'ConditionExpression':'n BETWEEN :a AND "
     ":b','ExpressionAttributeValues':{':a':{'N':'11'},':b':{'N':'12'}}",
     NULL, 0},
    {"'ConditionExpression':'s BETWEEN :a AND "
     ":b','ExpressionAttributeValues':{':a':{'S':'a'},':b':{'S':'i'}}",
     NULL, 1},
    {"'ConditionExpression':'n IN (:a, "
     ":b)','ExpressionAttributeValues':{':a':{'N':'1'},':b':{'N':'10'}}",
     NULL, 1},
    {"'ConditionExpression':'n IN (:a)','ExpressionAttributeValues':{':a':{'S':'10'}}", NULL, 0},
    {"'ConditionExpression':'nope IN (:a)','ExpressionAttributeValues':{':a':{'S':'10'}}", NULL, 0},
    /* logic and precedence: NOT > AND > OR */
    {"'ConditionExpression':'attribute_exists(n) OR attribute_exists(x) AND attribute_exists(y)'",
     NULL, 1},
    {"'ConditionExpression':'(attribute_exists(n) OR attribute_exists(x)) AND attribute_exists(y)'",
     NULL, 0},
    {"'ConditionExpression':'NOT attribute_exists(x) AND attribute_exists(n)'", NULL, 1},
    {"'ConditionExpression':'NOT (attribute_exists(x) OR attribute_exists(n))'", NULL, 0},
    {"'ConditionExpression':'not not attribute_exists(n)'", NULL, 1},
    /* functions */
    {"'ConditionExpression':'attribute_exists(m.a.b)'", NULL, 1},
    {"'ConditionExpression':'attribute_exists(m.a.c)'", NULL, 0},
    {"'ConditionExpression':'attribute_exists(l[5])'", NULL, 0},
    {"'ConditionExpression':'attribute_not_exists(id)'", "", 1},
    {"'ConditionExpression':'attribute_not_exists(id)'", NULL, 0},
    {"'ConditionExpression':'attribute_exists(id)'", "", 0},
    {"'ConditionExpression':'attribute_type(ss, :t)','ExpressionAttributeValues':{':t':{'S':'SS'}}",
     NULL, 1},
    {"'ConditionExpression':'attribute_type(z, "
     ":t)','ExpressionAttributeValues':{':t':{'S':'NULL'}}",
     NULL, 1},
    {"'ConditionExpression':'attribute_type(n, :t)','ExpressionAttributeValues':{':t':{'S':'S'}}",
     NULL, 0},
    {"'ConditionExpression':'begins_with(s, :p)','ExpressionAttributeValues':{':p':{'S':'he'}}",
     NULL, 1},
    {"'ConditionExpression':'begins_with(s, :p)','ExpressionAttributeValues':{':p':{'S':'lo'}}",
     NULL, 0},
    {"'ConditionExpression':'begins_with(b, :p)','ExpressionAttributeValues':{':p':{'B':'AQ=='}}",
     NULL, 1},
    {"'ConditionExpression':'contains(s, :p)','ExpressionAttributeValues':{':p':{'S':'ell'}}", NULL,
     1},
    {"'ConditionExpression':'contains(ss, :p)','ExpressionAttributeValues':{':p':{'S':'b'}}", NULL,
     1},
    {"'ConditionExpression':'contains(ss, :p)','ExpressionAttributeValues':{':p':{'S':'c'}}", NULL,
     0},
    {"'ConditionExpression':'contains(ns, :p)','ExpressionAttributeValues':{':p':{'N':'2.0'}}",
     NULL, 1},
    {"'ConditionExpression':'contains(l, :p)','ExpressionAttributeValues':{':p':{'S':'x'}}", NULL,
     1},
    {"'ConditionExpression':'contains(n, :p)','ExpressionAttributeValues':{':p':{'N':'1'}}", NULL,
     0},
    {"'ConditionExpression':'size(s) = :v','ExpressionAttributeValues':{':v':{'N':'5'}}", NULL, 1},
    {"'ConditionExpression':'size(l) = :v','ExpressionAttributeValues':{':v':{'N':'3'}}", NULL, 1},
    {"'ConditionExpression':'size(m) = :v','ExpressionAttributeValues':{':v':{'N':'2'}}", NULL, 1},
    {"'ConditionExpression':'size(b) > :v','ExpressionAttributeValues':{':v':{'N':'2'}}", NULL, 1},
    {"'ConditionExpression':'size(ss) < size(l)'", NULL, 1},
    {"'ConditionExpression':'size(n) = :v','ExpressionAttributeValues':{':v':{'N':'2'}}", NULL, 0},
    /* legacy Expected */
    {"'Expected':{'n':{'Value':{'N':'10'}}}", NULL, 1},
    {"'Expected':{'n':{'Exists':false}}", NULL, 0},
    {"'Expected':{'x':{'Exists':false}}", NULL, 1},
    {"'Expected':{'x':{'Exists':false},'n':{'Value':{'N':'11'}}}", NULL, 0},
    {"'Expected':{'x':{'Exists':false},'n':{'Value':{'N':'11'}}},'ConditionalOperator':'OR'", NULL,
     1},
    {"'Expected':{'s':{'ComparisonOperator':'BEGINS_WITH','AttributeValueList':[{'S':'h'}]}}", NULL,
     1},
    {"'Expected':{'ss':{'ComparisonOperator':'NOT_CONTAINS','AttributeValueList':[{'S':'z'}]}}",
     NULL, 1},
    {"'Expected':{'x':{'ComparisonOperator':'NOT_CONTAINS','AttributeValueList':[{'S':'z'}]}}",
     NULL, 1},
    {"'Expected':{'n':{'ComparisonOperator':'NE','AttributeValueList':[{'N':'10'}]}}", NULL, 0},
    {"'Expected':{'n':{'ComparisonOperator':'NOT_NULL'}}", NULL, 1},
    {"'Expected':{'n':{'ComparisonOperator':'NULL'}}", NULL, 0},
    {"'Expected':{'n':{'ComparisonOperator':'GT','Value':{'N':'3'}}}", NULL, 1},
    {"'Expected':{'n':{'ComparisonOperator':'BETWEEN','AttributeValueList':[{'N':'1'},{'N':'10'}]}"
     "}",
     NULL, 1},
    {"'Expected':{'n':{'ComparisonOperator':'IN','AttributeValueList':[{'N':'1'},{'N':'10'}]}}",
     NULL, 1},
};

static void test_cases(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ecase *c = &cases[i];
        char buf[2048];
        snprintf(buf, sizeof(buf), "{%s}", c->req);
        char *rj = jsonify(buf), *ij = jsonify(c->item ? c->item : ITEM);
        cJSON *req = cJSON_Parse(rj), *ijs = cJSON_Parse(ij);
        struct dx_arena a;
        struct dx_error err = {0};
        struct be_exprs *x = NULL;
        struct dx_av *item = NULL;
        int ok = -1;
        dx_arena_init(&a);
        assert_non_null(req);
        if (c->item == NULL || c->item[0])
            assert_int_equal(dx_av_map_from_json(&a, ijs, &item, &err), DX_OK);
        int rc = be_exprs_parse(&a, DX_OP_PutItem, req, NULL, &x, &err);
        if (rc == DX_OK)
            rc = be_exprs_check_condition(x, item, &ok, &err);
        if (rc != DX_OK || ok != c->want) {
            fprintf(stderr, "case %zu %s: want %d got %d (%s)\n", i, c->req, c->want, ok,
                    rc == DX_OK ? "" : err.msg);
            failures++;
        }
        dx_error_clear(&err);
        dx_arena_deinit(&a);
        cJSON_Delete(req);
        cJSON_Delete(ijs);
        free(rj);
        free(ij);
    }
    fprintf(stderr, "%zu cases, %d failed\n", sizeof(cases) / sizeof(cases[0]), failures);
    assert_int_equal(failures, 0);
}

/* Legacy ScanFilter and FilterExpression select the same items. */
static void test_filters(void **state)
{
    static const struct {
        const char *req;
        int want;
    } fc[] = {
        {"{'ScanFilter':{'n':{'ComparisonOperator':'GT','AttributeValueList':[{'N':'9'}]}}}", 1},
        {"{'ScanFilter':{'n':{'ComparisonOperator':'GT','AttributeValueList':[{'N':'9'}]},'s':{'"
         "ComparisonOperator':'EQ','AttributeValueList':[{'S':'x'}]}}}",
         0},
        {"{'ScanFilter':{'n':{'ComparisonOperator':'GT','AttributeValueList':[{'N':'9'}]},'s':{'"
         "ComparisonOperator':'EQ','AttributeValueList':[{'S':'x'}]}},'ConditionalOperator':'OR'}",
         1},
        {"{'ScanFilter':{'ss':{'ComparisonOperator':'CONTAINS','AttributeValueList':[{'S':'a'}]}}}",
         1},
        {"{'ScanFilter':{'nope':{'ComparisonOperator':'NULL'}}}", 1},
        {"{'FilterExpression':'n > :v AND contains(ss, "
         ":a)','ExpressionAttributeValues':{':v':{'N':'9'},':a':{'S':'a'}}}",
         1},
        {"{'FilterExpression':'size(l) > :v','ExpressionAttributeValues':{':v':{'N':'3'}}}", 0},
    };
    for (size_t i = 0; i < sizeof(fc) / sizeof(fc[0]); i++) {
        char *rj = jsonify(fc[i].req), *ij = jsonify(ITEM);
        cJSON *req = cJSON_Parse(rj), *ijs = cJSON_Parse(ij);
        struct dx_arena a;
        struct dx_error err = {0};
        struct be_exprs *x = NULL;
        struct dx_av *item = NULL;
        int ok = -1;
        dx_arena_init(&a);
        assert_int_equal(dx_av_map_from_json(&a, ijs, &item, &err), DX_OK);
        assert_int_equal(be_exprs_parse(&a, DX_OP_Scan, req, NULL, &x, &err), DX_OK);
        assert_true(be_exprs_has_filter(x));
        assert_int_equal(be_exprs_check_filter(x, item, &ok, &err), DX_OK);
        if (ok != fc[i].want)
            fprintf(stderr, "filter case %zu %s: want %d got %d\n", i, fc[i].req, fc[i].want, ok);
        assert_int_equal(ok, fc[i].want);
        dx_arena_deinit(&a);
        cJSON_Delete(req);
        cJSON_Delete(ijs);
        free(rj);
        free(ij);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
