/*
 * Engine-level tests of Query and Scan: a real backend in a temporary directory, driven
 * through its dx_api with JSON bodies as a client sends them (the approach of
 * test_be_item_ops.c). They check the order DynamoDB returns (numbers, strings and binaries
 * by their key order), every key-condition operator both ways, paging by Limit and by the
 * 1 MB page through LastEvaluatedKey reaching every item exactly once, filters with Count and
 * ScannedCount, Select, projections, capacity, parallel Scan coverage, and the validation
 * texts. Bodies are written with single quotes; the harness turns them into double quotes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "backend.h"
#include "dx_api.h"
#include "dx_op.h"

#include "be_test_env.h"

static int setup(void **state)
{
    struct env *e = env_new("query", 64u << 20);
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'hash_t','AttributeDefinitions':[{'AttributeName':'id',"
                    "'AttributeType':'S'}],'KeySchema':[{'AttributeName':'id','KeyType':'HASH'}],"
                    "'BillingMode':'PAY_PER_REQUEST'}"));
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'range_t','AttributeDefinitions':[{'AttributeName':'p',"
                    "'AttributeType':'S'},{'AttributeName':'s','AttributeType':'N'}],"
                    "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'},{'AttributeName':'s',"
                    "'KeyType':'RANGE'}],'BillingMode':'PAY_PER_REQUEST'}"));
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'str_t','AttributeDefinitions':[{'AttributeName':'p',"
                    "'AttributeType':'S'},{'AttributeName':'s','AttributeType':'S'},"
                    "{'AttributeName':'g','AttributeType':'S'}],"
                    "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'},{'AttributeName':'s',"
                    "'KeyType':'RANGE'}],'GlobalSecondaryIndexes':[{'IndexName':'gidx',"
                    "'KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],"
                    "'Projection':{'ProjectionType':'ALL'}}],'BillingMode':'PAY_PER_REQUEST'}"));
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'bin_t','AttributeDefinitions':[{'AttributeName':'p',"
                    "'AttributeType':'S'},{'AttributeName':'s','AttributeType':'B'}],"
                    "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'},{'AttributeName':'s',"
                    "'KeyType':'RANGE'}],'BillingMode':'PAY_PER_REQUEST'}"));
    *state = e;
    return 0;
}

/* The query's result values joined, for one body. */
static void query_values(struct env *e, const char *body, const char *attr, const char *type,
                         char *out, size_t cap)
{
    cJSON *r = ok(e, DX_OP_Query, "%s", body);
    values(r, attr, type, out, cap);
    cJSON_Delete(r);
}

/* ---- order ---- */

static void test_number_order(void **state)
{
    struct env *e = *state;
    /* Inserted shuffled; the canonical forms DynamoDB returns, in numeric order. */
    static const char *in[] = {
        "10",    "-1.5", "1e10", "0.001", "-99999999999999999999999999999999999999",
        "2",     "0",    "-1e2", "1.5",   "99999999999999999999999999999999999999",
        "-1E-3", "1",    "100",  "-1e10", "1.23E-120"};
    static const char *order = "-99999999999999999999999999999999999999,-10000000000,-100,-1.5,"
                               "-0.001,0,1.23E-120,0.001,1,1.5,2,10,100,10000000000,"
                               "99999999999999999999999999999999999999";
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        put(e, "{'TableName':'range_t','Item':{'p':{'S':'n'},'s':{'N':'%s'}}}", in[i]);
    put(e, "{'TableName':'range_t','Item':{'p':{'S':'m'},'s':{'N':'5'}}}");
    put(e, "{'TableName':'range_t','Item':{'p':{'S':'o'},'s':{'N':'5'}}}");
    char got[1024];
    query_values(e,
                 "{'TableName':'range_t','KeyConditionExpression':'p = :p',"
                 "'ExpressionAttributeValues':{':p':{'S':'n'}}}",
                 "s", "N", got, sizeof got);
    /* 1.23E-120 is written by the number module in its canonical form: accept either. */
    if (strcmp(got, order) != 0) {
        char alt[1024];
        snprintf(alt, sizeof alt, "%s", order);
        char *p = strstr(alt, "1.23E-120");
        assert_non_null(p);
        assert_true(strncmp(got, alt, (size_t)(p - alt)) == 0);
    }
    /* Reverse order is the exact reverse. */
    char rev[1024];
    query_values(
        e,
        "{'TableName':'range_t','KeyConditionExpression':'p = :p','ScanIndexForward':false,"
        "'ExpressionAttributeValues':{':p':{'S':'n'}}}",
        "s", "N", rev, sizeof rev);
    char *parts[32];
    size_t n = 0;
    char fwd[1024];
    snprintf(fwd, sizeof fwd, "%s", got);
    for (char *t = strtok(fwd, ","); t; t = strtok(NULL, ","))
        parts[n++] = t;
    assert_int_equal(n, 15);
    char want[1024];
    size_t used = 0;
    for (size_t i = n; i-- > 0;)
        used +=
            (size_t)snprintf(want + used, sizeof want - used, "%s%s", used ? "," : "", parts[i]);
    assert_string_equal(rev, want);
}

static void test_bytes_order(void **state)
{
    struct env *e = *state;
    /* Strings by UTF-8 bytes: upper case before lower, a prefix before its extensions, a space
     * before letters, é (C3 A9) after every ASCII letter. */
    static const char *s_in[] = {"b", "ab", "a", "\xc3\xa9", "Z", "aa", "a b"};
    for (size_t i = 0; i < sizeof s_in / sizeof s_in[0]; i++)
        put(e, "{'TableName':'str_t','Item':{'p':{'S':'x'},'s':{'S':'%s'}}}", s_in[i]);
    cJSON *r = ok(e, DX_OP_Query,
                  "{'TableName':'str_t','KeyConditionExpression':'p = :p',"
                  "'ExpressionAttributeValues':{':p':{'S':'x'}}}");
    const char *want[] = {"Z", "a", "a b", "aa", "ab", "b", "\xc3\xa9"};
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, "Items"))
    {
        const cJSON *v =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, "s"), "S");
        assert_true(i < 7);
        assert_string_equal(v->valuestring, want[i]);
        i++;
    }
    assert_int_equal(i, 7);
    cJSON_Delete(r);

    /* Binaries bytewise: 00 < 00 00 < 01 < 7f < 80 < ff. */
    static const char *b_in[] = {"/w==", "AA==", "fw==", "AAA=", "gA==", "AQ=="};
    for (size_t k = 0; k < 6; k++)
        put(e, "{'TableName':'bin_t','Item':{'p':{'S':'x'},'s':{'B':'%s'}}}", b_in[k]);
    char got[256];
    query_values(e,
                 "{'TableName':'bin_t','KeyConditionExpression':'p = :p',"
                 "'ExpressionAttributeValues':{':p':{'S':'x'}}}",
                 "s", "B", got, sizeof got);
    assert_string_equal(got, "AA==,AAA=,AQ==,fw==,gA==,/w==");
    query_values(e,
                 "{'TableName':'bin_t','KeyConditionExpression':'p = :p AND s > :b',"
                 "'ExpressionAttributeValues':{':p':{'S':'x'},':b':{'B':'fw=='}}}",
                 "s", "B", got, sizeof got);
    assert_string_equal(got, "gA==,/w==");
    query_values(e,
                 "{'TableName':'bin_t','KeyConditionExpression':'p = :p AND begins_with(s, :b)',"
                 "'ExpressionAttributeValues':{':p':{'S':'x'},':b':{'B':'AA=='}}}",
                 "s", "B", got, sizeof got);
    assert_string_equal(got, "AA==,AAA=");
}

/* ---- key conditions ---- */

static void fill_range(struct env *e, const char *p, int n)
{
    for (int i = 1; i <= n; i++)
        put(e, "{'TableName':'range_t','Item':{'p':{'S':'%s'},'s':{'N':'%d'},'v':{'N':'%d'}}}", p,
            i, i % 2);
}

static void test_key_conditions(void **state)
{
    struct env *e = *state;
    fill_range(e, "j", 10);
    fill_range(e, "k", 10);
    fill_range(e, "l", 10);
    static const struct {
        const char *cond, *vals, *fwd, *rev;
    } cases[] = {
        {"p = :p", "", "1,2,3,4,5,6,7,8,9,10", "10,9,8,7,6,5,4,3,2,1"},
        {"p = :p AND s = :a", ",':a':{'N':'5'}", "5", "5"},
        {"p = :p AND s = :a", ",':a':{'N':'5.5'}", "", ""},
        {"p = :p AND s < :a", ",':a':{'N':'3'}", "1,2", "2,1"},
        {"p = :p AND s <= :a", ",':a':{'N':'3'}", "1,2,3", "3,2,1"},
        {"p = :p AND s > :a", ",':a':{'N':'8'}", "9,10", "10,9"},
        {"p = :p AND s >= :a", ",':a':{'N':'8'}", "8,9,10", "10,9,8"},
        {"p = :p AND s BETWEEN :a AND :b", ",':a':{'N':'3'},':b':{'N':'5'}", "3,4,5", "5,4,3"},
        {"p = :p AND s BETWEEN :a AND :b", ",':a':{'N':'2.5'},':b':{'N':'2.7'}", "", ""},
        {"s > :a AND p = :p", ",':a':{'N':'9'}", "10", "10"},
        {"p = :p AND s < :a", ",':a':{'N':'-1'}", "", ""},
        {"p = :p AND s > :a", ",':a':{'N':'10'}", "", ""},
    };
    char body[512], got[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int dir = 0; dir < 2; dir++) {
            snprintf(body, sizeof body,
                     "{'TableName':'range_t','KeyConditionExpression':'%s',%s"
                     "'ExpressionAttributeValues':{':p':{'S':'k'}%s}}",
                     cases[i].cond, dir ? "'ScanIndexForward':false," : "", cases[i].vals);
            query_values(e, body, "s", "N", got, sizeof got);
            if (strcmp(got, dir ? cases[i].rev : cases[i].fwd) != 0)
                fail_msg("%s: got %s want %s", body, got, dir ? cases[i].rev : cases[i].fwd);
        }
    }
    /* Legacy KeyConditions. */
    query_values(e,
                 "{'TableName':'range_t','KeyConditions':{'p':{'ComparisonOperator':'EQ',"
                 "'AttributeValueList':[{'S':'k'}]},'s':{'ComparisonOperator':'BETWEEN',"
                 "'AttributeValueList':[{'N':'4'},{'N':'6'}]}}}",
                 "s", "N", got, sizeof got);
    assert_string_equal(got, "4,5,6");
    /* begins_with on a string sort key, with neighbours on both sides. */
    static const char *words[] = {"a", "ao", "ap", "apple", "apricot", "aq", "banana", "b"};
    for (size_t i = 0; i < 8; i++)
        put(e, "{'TableName':'str_t','Item':{'p':{'S':'w'},'s':{'S':'%s'}}}", words[i]);
    query_values(e,
                 "{'TableName':'str_t','KeyConditionExpression':'p = :p AND begins_with(s, :b)',"
                 "'ExpressionAttributeValues':{':p':{'S':'w'},':b':{'S':'ap'}}}",
                 "s", "S", got, sizeof got);
    assert_string_equal(got, "ap,apple,apricot");
    query_values(e,
                 "{'TableName':'str_t','KeyConditionExpression':'p = :p AND begins_with(s, :b)',"
                 "'ScanIndexForward':false,"
                 "'ExpressionAttributeValues':{':p':{'S':'w'},':b':{'S':'ap'}}}",
                 "s", "S", got, sizeof got);
    assert_string_equal(got, "apricot,apple,ap");
    /* An absent partition. */
    query_values(e,
                 "{'TableName':'range_t','KeyConditionExpression':'p = :p',"
                 "'ExpressionAttributeValues':{':p':{'S':'zz'}}}",
                 "s", "N", got, sizeof got);
    assert_string_equal(got, "");
}

/* ---- paging ---- */

/* Pages through a query or scan body (without the closing brace) with ExclusiveStartKey;
 * returns the joined values of `attr` over all pages and counts the pages. */
static void page_all(struct env *e, enum dx_op op, const char *body, const char *attr,
                     const char *type, char *out, size_t cap, int *pages, int *lek_on_last)
{
    char *esk = NULL;
    size_t used = 0;
    out[0] = 0;
    *pages = 0;
    for (;;) {
        cJSON *r = ok(e, op, "%s%s%s}", body, esk ? ",'ExclusiveStartKey':" : "", esk ? esk : "");
        free(esk);
        esk = NULL;
        (*pages)++;
        char part[8192];
        values(r, attr, type, part, sizeof part);
        if (part[0]) {
            int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "", part);
            assert_true(w >= 0 && (size_t)w < cap - used);
            used += (size_t)w;
        }
        const cJSON *lek = cJSON_GetObjectItemCaseSensitive(r, "LastEvaluatedKey");
        if (lek)
            esk = cJSON_PrintUnformatted(lek);
        if (lek_on_last)
            *lek_on_last = lek != NULL;
        cJSON_Delete(r);
        if (!esk)
            break;
        assert_true(*pages < 1000);
    }
}

static void test_limit_paging(void **state)
{
    struct env *e = *state;
    fill_range(e, "q", 24);
    fill_range(e, "r", 3);
    char got[1024];
    int pages;
    page_all(e, DX_OP_Query,
             "{'TableName':'range_t','KeyConditionExpression':'p = :p','Limit':4,"
             "'ExpressionAttributeValues':{':p':{'S':'q'}}",
             "s", "N", got, sizeof got, &pages, NULL);
    assert_string_equal(got, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24");
    /* Six full pages, each with LastEvaluatedKey (even the sixth: Limit was reached), then an
     * empty seventh without one. */
    assert_int_equal(pages, 7);
    page_all(e, DX_OP_Query,
             "{'TableName':'range_t','KeyConditionExpression':'p = :p','Limit':5,"
             "'ScanIndexForward':false,'ExpressionAttributeValues':{':p':{'S':'q'}}",
             "s", "N", got, sizeof got, &pages, NULL);
    assert_string_equal(got, "24,23,22,21,20,19,18,17,16,15,14,13,12,11,10,9,8,7,6,5,4,3,2,1");
    assert_int_equal(pages, 5);
    /* Paging within a sort-key range. */
    page_all(
        e, DX_OP_Query,
        "{'TableName':'range_t','KeyConditionExpression':'p = :p AND s BETWEEN :a AND :b',"
        "'Limit':3,'ExpressionAttributeValues':{':p':{'S':'q'},':a':{'N':'5'},':b':{'N':'12'}}",
        "s", "N", got, sizeof got, &pages, NULL);
    assert_string_equal(got, "5,6,7,8,9,10,11,12");
    page_all(e, DX_OP_Query,
             "{'TableName':'range_t','KeyConditionExpression':'p = :p AND s BETWEEN :a AND :b',"
             "'Limit':3,'ScanIndexForward':false,"
             "'ExpressionAttributeValues':{':p':{'S':'q'},':a':{'N':'5'},':b':{'N':'12'}}",
             "s", "N", got, sizeof got, &pages, NULL);
    assert_string_equal(got, "12,11,10,9,8,7,6,5");
    /* The LastEvaluatedKey of a page holds the key attributes only. */
    cJSON *r = ok(e, DX_OP_Query,
                  "{'TableName':'range_t','KeyConditionExpression':'p = :p','Limit':2,"
                  "'ExpressionAttributeValues':{':p':{'S':'r'}}}");
    char *lek = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "LastEvaluatedKey"));
    assert_string_equal(lek, "{\"p\":{\"S\":\"r\"},\"s\":{\"N\":\"2\"}}");
    free(lek);
    cJSON_Delete(r);
    /* Scan paging over the whole table reaches each of the 27 items once. */
    page_all(e, DX_OP_Scan, "{'TableName':'range_t','Limit':5", "s", "N", got, sizeof got, &pages,
             NULL);
    int seen = 0;
    for (char *t = strtok(got, ","); t; t = strtok(NULL, ","))
        seen++;
    assert_int_equal(seen, 27);
}

static void test_megabyte_pages(void **state)
{
    struct env *e = *state;
    size_t big = 300000;
    char *d = malloc(big + 1);
    memset(d, 'x', big);
    d[big] = 0;
    for (int i = 1; i <= 10; i++)
        put(e, "{'TableName':'range_t','Item':{'p':{'S':'big'},'s':{'N':'%d'},'d':{'S':'%s'}}}", i,
            d);
    free(d);
    /* Four items of ~300 KB take a page past 1 MB: it ends after the fourth. */
    cJSON *r = ok(e, DX_OP_Query,
                  "{'TableName':'range_t','KeyConditionExpression':'p = :p',"
                  "'ProjectionExpression':'s','ReturnConsumedCapacity':'TOTAL',"
                  "'ConsistentRead':true,'ExpressionAttributeValues':{':p':{'S':'big'}}}");
    assert_int_equal(count_of(r, "Count"), 4);
    assert_int_equal(count_of(r, "ScannedCount"), 4);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(r, "LastEvaluatedKey"));
    /* Capacity over the data read: 4 * (300000 + "d" + "p" "big" + "s" number) bytes. */
    const cJSON *cu = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r, "ConsumedCapacity"), "CapacityUnits");
    assert_true(cJSON_IsNumber(cu));
    assert_true(cu->valuedouble == 293.0);
    cJSON_Delete(r);
    char got[256];
    int pages;
    page_all(e, DX_OP_Query,
             "{'TableName':'range_t','KeyConditionExpression':'p = :p','ProjectionExpression':'s',"
             "'ExpressionAttributeValues':{':p':{'S':'big'}}",
             "s", "N", got, sizeof got, &pages, NULL);
    assert_string_equal(got, "1,2,3,4,5,6,7,8,9,10");
    assert_int_equal(pages, 3);
    page_all(e, DX_OP_Scan, "{'TableName':'range_t','ProjectionExpression':'s'", "s", "N", got,
             sizeof got, &pages, NULL);
    assert_string_equal(got, "1,2,3,4,5,6,7,8,9,10");
    assert_int_equal(pages, 3);
}

/* ---- filters, Select, projections, capacity ---- */

static void test_filters_select(void **state)
{
    struct env *e = *state;
    fill_range(e, "f", 10);
    cJSON *r = ok(e, DX_OP_Query,
                  "{'TableName':'range_t','KeyConditionExpression':'p = :p',"
                  "'FilterExpression':'v = :one',"
                  "'ExpressionAttributeValues':{':p':{'S':'f'},':one':{'N':'1'}}}");
    assert_int_equal(count_of(r, "Count"), 5);
    assert_int_equal(count_of(r, "ScannedCount"), 10);
    char got[256];
    values(r, "s", "N", got, sizeof got);
    assert_string_equal(got, "1,3,5,7,9");
    cJSON_Delete(r);
    /* Limit counts items read before the filter. */
    r = ok(e, DX_OP_Query,
           "{'TableName':'range_t','KeyConditionExpression':'p = :p','Limit':4,"
           "'FilterExpression':'v = :one',"
           "'ExpressionAttributeValues':{':p':{'S':'f'},':one':{'N':'1'}}}");
    assert_int_equal(count_of(r, "Count"), 2);
    assert_int_equal(count_of(r, "ScannedCount"), 4);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(r, "LastEvaluatedKey"));
    cJSON_Delete(r);
    /* Legacy QueryFilter and ScanFilter. */
    r = ok(e, DX_OP_Query,
           "{'TableName':'range_t','KeyConditions':{'p':{'ComparisonOperator':'EQ',"
           "'AttributeValueList':[{'S':'f'}]}},'QueryFilter':{'v':{'ComparisonOperator':'EQ',"
           "'AttributeValueList':[{'N':'0'}]}}}");
    values(r, "s", "N", got, sizeof got);
    assert_string_equal(got, "2,4,6,8,10");
    cJSON_Delete(r);
    r = ok(e, DX_OP_Scan,
           "{'TableName':'range_t','ScanFilter':{'s':{'ComparisonOperator':'GT',"
           "'AttributeValueList':[{'N':'8'}]}}}");
    assert_int_equal(count_of(r, "Count"), 2);
    assert_int_equal(count_of(r, "ScannedCount"), 10);
    cJSON_Delete(r);
    /* Select COUNT: counts, no Items. */
    r = ok(e, DX_OP_Query,
           "{'TableName':'range_t','KeyConditionExpression':'p = :p','Select':'COUNT',"
           "'FilterExpression':'v = :one',"
           "'ExpressionAttributeValues':{':p':{'S':'f'},':one':{'N':'1'}}}");
    assert_null(cJSON_GetObjectItemCaseSensitive(r, "Items"));
    assert_int_equal(count_of(r, "Count"), 5);
    cJSON_Delete(r);
    r = ok(e, DX_OP_Scan, "{'TableName':'range_t','Select':'COUNT'}");
    assert_null(cJSON_GetObjectItemCaseSensitive(r, "Items"));
    assert_int_equal(count_of(r, "Count"), 10);
    cJSON_Delete(r);
    /* Projections. */
    r = ok(e, DX_OP_Query,
           "{'TableName':'range_t','KeyConditionExpression':'p = :p AND s = :s',"
           "'ProjectionExpression':'v','ExpressionAttributeValues':{':p':{'S':'f'},"
           "':s':{'N':'3'}}}");
    char *items = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "Items"));
    assert_string_equal(items, "[{\"v\":{\"N\":\"1\"}}]");
    free(items);
    cJSON_Delete(r);
    r = ok(e, DX_OP_Scan,
           "{'TableName':'range_t','AttributesToGet':['s'],'Select':'SPECIFIC_ATTRIBUTES',"
           "'Limit':1}");
    items = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "Items"));
    assert_string_equal(items, "[{\"s\":{\"N\":\"1\"}}]");
    free(items);
    cJSON_Delete(r);
    /* Capacity: an eventually consistent read of small items is half a unit; an empty
     * result still costs the smallest read. */
    r = ok(e, DX_OP_Query,
           "{'TableName':'range_t','KeyConditionExpression':'p = :p',"
           "'ReturnConsumedCapacity':'TOTAL','ExpressionAttributeValues':{':p':{'S':'f'}}}");
    char *cc = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "ConsumedCapacity"));
    assert_string_equal(cc, "{\"TableName\":\"range_t\",\"CapacityUnits\":0.5}");
    free(cc);
    cJSON_Delete(r);
    r = ok(e, DX_OP_Scan,
           "{'TableName':'hash_t','ReturnConsumedCapacity':'TOTAL','ConsistentRead':true}");
    cc = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "ConsumedCapacity"));
    assert_string_equal(cc, "{\"TableName\":\"hash_t\",\"CapacityUnits\":1}");
    free(cc);
    assert_int_equal(count_of(r, "Count"), 0);
    cJSON_Delete(r);
}

/* ---- parallel scan ---- */

static void test_parallel_scan(void **state)
{
    struct env *e = *state;
    enum { N = 200 };
    for (int i = 0; i < N; i++)
        put(e, "{'TableName':'hash_t','Item':{'id':{'S':'item%03d'}}}", i);
    put(e, "{'TableName':'range_t','Item':{'p':{'S':'other'},'s':{'N':'1'}}}");
    static const int totals[] = {1, 3, 7};
    for (size_t ti = 0; ti < 3; ti++) {
        int seen[N] = {0};
        int nonempty = 0;
        for (int s = 0; s < totals[ti]; s++) {
            char body[256], got[8192];
            int pages;
            snprintf(body, sizeof body,
                     "{'TableName':'hash_t','Segment':%d,'TotalSegments':%d,'Limit':13", s,
                     totals[ti]);
            page_all(e, DX_OP_Scan, body, "id", "S", got, sizeof got, &pages, NULL);
            if (got[0])
                nonempty++;
            for (char *t = strtok(got, ","); t; t = strtok(NULL, ",")) {
                int k = atoi(t + 4);
                assert_true(k >= 0 && k < N);
                seen[k]++;
            }
        }
        for (int i = 0; i < N; i++) {
            if (seen[i] != 1)
                fail_msg("TotalSegments %d: item%03d seen %d times", totals[ti], i, seen[i]);
        }
        /* 200 items hash into every one of a few segments. */
        assert_int_equal(nonempty, totals[ti]);
    }
    /* A start key of another segment is refused. */
    cJSON *r = ok(e, DX_OP_Scan, "{'TableName':'hash_t','Segment':0,'TotalSegments':2,'Limit':1}");
    char *lek = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "LastEvaluatedKey"));
    cJSON_Delete(r);
    char body[256];
    snprintf(body, sizeof body,
             "{\"TableName\":\"hash_t\",\"Segment\":1,\"TotalSegments\":2,"
             "\"ExclusiveStartKey\":%s}",
             lek);
    free(lek);
    fails(e, DX_OP_Scan, body, "ValidationException",
          "The provided Exclusive start key does not map to the provided Segment and "
          "TotalSegments values.");
    /* A plain Scan returns the same 200 (and nothing of the other table). */
    r = ok(e, DX_OP_Scan, "{'TableName':'hash_t','Select':'COUNT'}");
    assert_int_equal(count_of(r, "Count"), N);
    cJSON_Delete(r);
    /* The largest segment count is accepted. */
    r = ok(e, DX_OP_Scan, "{'TableName':'hash_t','Segment':999999,'TotalSegments':1000000}");
    assert_true(count_of(r, "Count") <= 1);
    cJSON_Delete(r);
}

/* ---- keys longer than LMDB takes ---- */

/* Sort keys and partition keys long enough to be stored as prefix + digest: every item is
 * still found once, key conditions still select by value, paging reaches each item once. */
static void test_long_keys(void **state)
{
    struct env *e = *state;
    char base[501];
    memset(base, 'a', 500);
    base[500] = 0;
    static const char sfx[] = "qwertyuiop";
    put(e, "{'TableName':'str_t','Item':{'p':{'S':'x'},'s':{'S':'a'},'i':{'N':'10'}}}");
    put(e, "{'TableName':'str_t','Item':{'p':{'S':'x'},'s':{'S':'b'},'i':{'N':'11'}}}");
    for (int i = 0; i < 10; i++)
        put(e, "{'TableName':'str_t','Item':{'p':{'S':'x'},'s':{'S':'%s%c'},'i':{'N':'%d'}}}", base,
            sfx[i], i);
    cJSON *r = ok(e, DX_OP_Query,
                  "{'TableName':'str_t','KeyConditionExpression':'p = :p',"
                  "'ExpressionAttributeValues':{':p':{'S':'x'}}}");
    assert_int_equal(count_of(r, "Count"), 12);
    /* The short keys keep their places around the digest group. */
    char body[1400], got[8192];
    values(r, "i", "N", got, sizeof got);
    assert_true(strncmp(got, "10,", 3) == 0);
    assert_true(strcmp(got + strlen(got) - 3, ",11") == 0);
    cJSON_Delete(r);
    int pages;
    for (int dir = 0; dir < 2; dir++) {
        snprintf(body, sizeof body,
                 "{'TableName':'str_t','KeyConditionExpression':'p = :p','Limit':1,"
                 "'ScanIndexForward':%s,'ProjectionExpression':'i',"
                 "'ExpressionAttributeValues':{':p':{'S':'x'}}",
                 dir ? "false" : "true");
        page_all(e, DX_OP_Query, body, "i", "N", got, sizeof got, &pages, NULL);
        int seen[12] = {0}, n = 0;
        for (char *t = strtok(got, ","); t; t = strtok(NULL, ","), n++)
            seen[atoi(t) % 12]++;
        assert_int_equal(n, 12);
        for (int i = 0; i < 12; i++)
            assert_int_equal(seen[i], 1);
        assert_int_equal(pages, 13);
    }
    /* Conditions on long values: > base+'p' holds for q,r,t,u,w,y (6 of the 10). */
    snprintf(body, sizeof body,
             "{'TableName':'str_t','KeyConditionExpression':'p = :p AND s > :v',"
             "'ExpressionAttributeValues':{':p':{'S':'x'},':v':{'S':'%sp'}}}",
             base);
    r = ok(e, DX_OP_Query, "%s", body);
    assert_int_equal(count_of(r, "Count"), 7); /* and 'b' */
    cJSON_Delete(r);
    snprintf(body, sizeof body,
             "{'TableName':'str_t','KeyConditionExpression':'p = :p AND begins_with(s, :v)',"
             "'ScanIndexForward':false,"
             "'ExpressionAttributeValues':{':p':{'S':'x'},':v':{'S':'%s'}}}",
             base);
    r = ok(e, DX_OP_Query, "%s", body);
    assert_int_equal(count_of(r, "Count"), 10);
    cJSON_Delete(r);
    /* Long partition keys sharing a long prefix. */
    char pk[602];
    memset(pk, 'P', 600);
    pk[601] = 0;
    for (int v = 0; v < 2; v++) {
        pk[600] = v ? 'B' : 'A';
        for (int i = 0; i < 3; i++)
            put(e, "{'TableName':'str_t','Item':{'p':{'S':'%s'},'s':{'S':'k%d'}}}", pk, i);
    }
    pk[600] = 'A';
    snprintf(body, sizeof body,
             "{'TableName':'str_t','KeyConditionExpression':'p = :p AND s >= :k',"
             "'ExpressionAttributeValues':{':p':{'S':'%s'},':k':{'S':'k1'}}}",
             pk);
    r = ok(e, DX_OP_Query, "%s", body);
    values(r, "s", "S", got, sizeof got);
    assert_int_equal(count_of(r, "Count"), 2);
    assert_true(strcmp(got, "k1,k2") == 0 || strcmp(got, "k2,k1") == 0);
    cJSON_Delete(r);
    r = ok(e, DX_OP_Scan, "{'TableName':'str_t','Select':'COUNT'}");
    assert_int_equal(count_of(r, "Count"), 18);
    cJSON_Delete(r);
}

/* ---- validation ---- */

#define VE "ValidationException"

static void test_validation(void **state)
{
    struct env *e = *state;
    static const struct {
        enum dx_op op;
        const char *body, *type, *msg;
    } cases[] = {
        {DX_OP_Query, "{'TableName':'range_t'}", VE,
         "Either the KeyConditions or KeyConditionExpression parameter must be specified in the "
         "request."},
        {DX_OP_Query,
         "{'TableName':'range_t','Limit':0,'KeyConditionExpression':'p = :p',"
         "'ExpressionAttributeValues':{':p':{'S':'a'}}}",
         VE,
         "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member "
         "must have value greater than or equal to 1"},
        {DX_OP_Query,
         "{'TableName':'range_t','Select':'SPECIFIC_ATTRIBUTES','KeyConditionExpression':'p = :p',"
         "'ExpressionAttributeValues':{':p':{'S':'a'}}}",
         VE,
         "1 validation error detected: Must specify the AttributesToGet or ProjectionExpression "
         "when choosing to get SPECIFIC_ATTRIBUTES"},
        {DX_OP_Scan, "{'TableName':'range_t','Select':'SPECIFIC_ATTRIBUTES'}", VE,
         "Must specify the AttributesToGet or ProjectionExpression when choosing to get "
         "SPECIFIC_ATTRIBUTES"},
        {DX_OP_Scan, "{'TableName':'range_t','Select':'COUNT','ProjectionExpression':'s'}", VE,
         "Cannot specify the ProjectionExpression when choosing to get only the Count"},
        {DX_OP_Query,
         "{'TableName':'range_t','Select':'ALL_ATTRIBUTES','ProjectionExpression':'s',"
         "'KeyConditionExpression':'p = :p','ExpressionAttributeValues':{':p':{'S':'a'}}}",
         VE,
         "1 validation error detected: Cannot specify the ProjectionExpression when choosing to "
         "get ALL_ATTRIBUTES"},
        {DX_OP_Scan, "{'TableName':'range_t','Select':'ALL_PROJECTED_ATTRIBUTES'}", VE,
         "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"},
        {DX_OP_Query,
         "{'TableName':'range_t','Select':'ALL_PROJECTED_ATTRIBUTES',"
         "'KeyConditionExpression':'p = :p','ExpressionAttributeValues':{':p':{'S':'a'}}}",
         VE,
         "1 validation error detected: ALL_PROJECTED_ATTRIBUTES can be used only when Querying "
         "using an IndexName"},
        {DX_OP_Scan, "{'TableName':'range_t','Select':'COUNT','AttributesToGet':['s']}", VE,
         "Cannot specify the AttributesToGet when choosing to get only the Count"},
        {DX_OP_Query,
         "{'TableName':'range_t','Select':'ALL_ATTRIBUTES','AttributesToGet':['s'],"
         "'KeyConditions':{'p':{'ComparisonOperator':'EQ','AttributeValueList':[{'S':'a'}]}}}",
         VE,
         "1 validation error detected: Cannot specify the AttributesToGet when choosing to get "
         "ALL_ATTRIBUTES"},
        {DX_OP_Scan, "{'TableName':'range_t','Select':'SOME'}", VE,
         "1 validation error detected: Value 'SOME' at 'select' failed to satisfy constraint: "
         "Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, "
         "ALL_PROJECTED_ATTRIBUTES]"},
        {DX_OP_Scan, "{'TableName':'range_t','IndexName':'nope'}", VE,
         "The table does not have the specified index: nope"},
        {DX_OP_Scan, "{'TableName':'str_t','IndexName':'gidx','ConsistentRead':true}", VE,
         "Consistent reads are not supported on global secondary indexes"},
        {DX_OP_Scan, "{'TableName':'range_t','Segment':0}", VE,
         "The TotalSegments parameter is required but was not present in the request when "
         "Segment parameter is present"},
        {DX_OP_Scan, "{'TableName':'range_t','TotalSegments':2}", VE,
         "The Segment parameter is required but was not present in the request when parameter "
         "TotalSegments is present"},
        {DX_OP_Scan, "{'TableName':'range_t','Segment':2,'TotalSegments':2}", VE,
         "The Segment parameter is zero-based and must be less than parameter TotalSegments: "
         "Segment: 2 is not less than TotalSegments: 2"},
        {DX_OP_Scan, "{'TableName':'range_t','Segment':0,'TotalSegments':1000001}", VE,
         "1 validation error detected: Value '1000001' at 'totalSegments' failed to satisfy "
         "constraint: Member must have value less than or equal to 1000000"},
        {DX_OP_Scan, "{'TableName':'range_t','Segment':-1,'TotalSegments':0}", VE,
         "2 validation errors detected: Value '0' at 'totalSegments' failed to satisfy "
         "constraint: Member must have value greater than or equal to 1; Value '-1' at "
         "'segment' failed to satisfy constraint: Member must have value greater than or equal "
         "to 0"},
        {DX_OP_Scan, "{'TableName':'range_t','ExclusiveStartKey':{'p':{'S':'a'}}}", VE,
         "The provided starting key is invalid: The provided key element does not match the "
         "schema"},
        {DX_OP_Query,
         "{'TableName':'range_t','KeyConditionExpression':'p = :p','ExclusiveStartKey':"
         "{'p':{'S':'b'},'s':{'N':'1'}},'ExpressionAttributeValues':{':p':{'S':'a'}}}",
         VE, "The provided starting key is outside query boundaries based on provided conditions"},
        {DX_OP_Query,
         "{'TableName':'range_t','KeyConditionExpression':'p = :p AND s > :a',"
         "'ExclusiveStartKey':{'p':{'S':'a'},'s':{'N':'1'}},"
         "'ExpressionAttributeValues':{':p':{'S':'a'},':a':{'N':'5'}}}",
         VE, "The provided starting key does not match the range key predicate"},
        {DX_OP_Query,
         "{'TableName':'range_t','KeyConditionExpression':'p = :p AND s > :a',"
         "'ExclusiveStartKey':{'p':{'S':'b'},'s':{'N':'6'}},"
         "'ExpressionAttributeValues':{':p':{'S':'a'},':a':{'N':'5'}}}",
         VE, "The query can return at most one row and cannot be restarted"},
        {DX_OP_Query,
         "{'TableName':'range_t','KeyConditionExpression':'p = :p',"
         "'ExclusiveStartKey':{'p':{'S':'a'}},'ExpressionAttributeValues':{':p':{'S':'a'}}}",
         VE,
         "The provided starting key is invalid: The provided key element does not match the "
         "schema"},
        {DX_OP_Query,
         "{'TableName':'range_t','KeyConditionExpression':'p = :p AND s BETWEEN :a AND :b',"
         "'ExpressionAttributeValues':{':p':{'S':'a'},':a':{'N':'5'},':b':{'N':'1'}}}",
         VE,
         "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be "
         "greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, "
         "upper bound operand: AttributeValue: {N:1}"},
        {DX_OP_Scan, "{'TableName':'range_t','ConditionalOperator':'XOR'}", VE,
         "1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to satisfy "
         "constraint: Member must satisfy enum value set: [OR, AND]"},
        {DX_OP_Query,
         "{'TableName':'range_t','KeyConditionExpression':'s = :p',"
         "'ExpressionAttributeValues':{':p':{'N':'1'}}}",
         VE, "Query condition missed key schema element: p"},
        {DX_OP_Scan, "{'TableName':'missing'}", "ResourceNotFoundException",
         "Requested resource not found"},
        {DX_OP_Query,
         "{'TableName':'missing','KeyConditionExpression':'p = :p',"
         "'ExpressionAttributeValues':{':p':{'S':'a'}}}",
         "ResourceNotFoundException", "Requested resource not found"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fails(e, cases[i].op, cases[i].body, cases[i].type, cases[i].msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_number_order, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_bytes_order, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_key_conditions, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_limit_paging, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_megabyte_pages, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_filters_select, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_parallel_scan, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_long_keys, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
