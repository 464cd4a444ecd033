/*
 * Engine-level tests of BatchGetItem and BatchWriteItem: a real backend in a temporary
 * directory, driven through its dx_api with JSON bodies exactly as a client sends them,
 * checking responses and DynamoDB's error types and texts, and that a rejected batch writes
 * nothing.
 *
 * Writes complete on the engine's writer thread, so every call waits for its done callback.
 * Request bodies are written with single quotes for readability; the harness turns them into
 * double quotes before sending.
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
    struct env *e = env_new("batch", 256u << 20);
    call_ok(e, DX_OP_CreateTable,
            "{'TableName':'hash_t','AttributeDefinitions':[{'AttributeName':'id',"
            "'AttributeType':'S'}],'KeySchema':[{'AttributeName':'id','KeyType':'HASH'}],"
            "'BillingMode':'PAY_PER_REQUEST'}");
    call_ok(e, DX_OP_CreateTable,
            "{'TableName':'range_t','AttributeDefinitions':[{'AttributeName':'p',"
            "'AttributeType':'S'},{'AttributeName':'s','AttributeType':'N'}],"
            "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'},{'AttributeName':'s',"
            "'KeyType':'RANGE'}],'BillingMode':'PAY_PER_REQUEST'}");
    *state = e;
    return 0;
}

#define BGET     DX_OP_BatchGetItem
#define BWRITE   DX_OP_BatchWriteItem
#define GET      DX_OP_GetItem
#define PUT      DX_OP_PutItem
#define VE       "ValidationException"
#define RNF      "ResourceNotFoundException"
#define SER      "SerializationException"
#define MISMATCH "The provided key element does not match the schema"
#define DUPS     "Provided list of item keys contains duplicates"

/* Writes over two tables, then gets over both with projections; absent keys are not returned
 * and a table none of whose keys exist answers an empty list. */
static void test_write_then_get(void **state)
{
    static const struct step steps[] = {
        {BWRITE,
         "{'RequestItems':{'hash_t':[{'PutRequest':{'Item':{'id':{'S':'a'},'v':{'N':'1'},"
         "'w':{'S':'x'}}}},{'PutRequest':{'Item':{'id':{'S':'b'},'v':{'N':'2'}}}}],"
         "'range_t':[{'PutRequest':{'Item':{'p':{'S':'x'},'s':{'N':'1'},'m':{'M':{'q':{'S':'r'}}}}}"
         "}]}}",
         NULL, "{'UnprocessedItems':{}}"},
        {BGET,
         "{'RequestItems':{'hash_t':{'Keys':[{'id':{'S':'a'}},{'id':{'S':'zz'}},{'id':{'S':'b'}}]},"
         "'range_t':{'Keys':[{'p':{'S':'x'},'s':{'N':'1.0'}}],'ProjectionExpression':'#m.q',"
         "'ExpressionAttributeNames':{'#m':'m'}}}}",
         NULL,
         "{'Responses':{'hash_t':[{'id':{'S':'a'},'v':{'N':'1'},'w':{'S':'x'}},"
         "{'id':{'S':'b'},'v':{'N':'2'}}],'range_t':[{'m':{'M':{'q':{'S':'r'}}}}]},"
         "'UnprocessedKeys':{}}"},
        {BGET,
         "{'RequestItems':{'hash_t':{'Keys':[{'id':{'S':'a'}}],'AttributesToGet':['w','id'],"
         "'ConsistentRead':true},'range_t':{'Keys':[{'p':{'S':'nope'},'s':{'N':'1'}}]}}}",
         NULL,
         "{'Responses':{'hash_t':[{'id':{'S':'a'},'w':{'S':'x'}}],'range_t':[]},"
         "'UnprocessedKeys':{}}"},
        /* overwrite one, delete another, in one batch over both tables */
        {BWRITE,
         "{'RequestItems':{'hash_t':[{'PutRequest':{'Item':{'id':{'S':'a'},'v':{'N':'9'}}}},"
         "{'DeleteRequest':{'Key':{'id':{'S':'b'}}}},{'DeleteRequest':{'Key':{'id':{'S':'none'}}}}]"
         ","
         "'range_t':[{'DeleteRequest':{'Key':{'p':{'S':'x'},'s':{'N':'1'}}}}]}}",
         NULL, "{'UnprocessedItems':{}}"},
        {BGET,
         "{'RequestItems':{'hash_t':{'Keys':[{'id':{'S':'a'}},{'id':{'S':'b'}}]},"
         "'range_t':{'Keys':[{'p':{'S':'x'},'s':{'N':'1'}}]}}}",
         NULL,
         "{'Responses':{'hash_t':[{'id':{'S':'a'},'v':{'N':'9'}}],'range_t':[]},"
         "'UnprocessedKeys':{}}"},
        {GET, "{'TableName':'hash_t','Key':{'id':{'S':'a'}}}", NULL,
         "{'Item':{'id':{'S':'a'},'v':{'N':'9'}}}"},
    };
    RUN(*state, steps);
}

/* Consumed capacity: one entry per table, per the single-item rules. */
static void test_capacity(void **state)
{
    static const struct step steps[] = {
        {BWRITE,
         "{'ReturnConsumedCapacity':'TOTAL','RequestItems':{'hash_t':[{'PutRequest':{'Item':"
         "{'id':{'S':'a'}}}},{'PutRequest':{'Item':{'id':{'S':'b'}}}}],'range_t':[{'DeleteRequest':"
         "{'Key':{'p':{'S':'x'},'s':{'N':'1'}}}}]}}",
         NULL,
         "{'UnprocessedItems':{},'ConsumedCapacity':[{'TableName':'hash_t','CapacityUnits':2.0},"
         "{'TableName':'range_t','CapacityUnits':1.0}]}"},
        {BGET,
         "{'ReturnConsumedCapacity':'INDEXES','RequestItems':{'hash_t':{'Keys':[{'id':{'S':'a'}},"
         "{'id':{'S':'b'}}],'ConsistentRead':true},'range_t':{'Keys':[{'p':{'S':'x'},'s':{'N':'1'}}"
         "]}}}",
         NULL,
         "{'Responses':{'hash_t':[{'id':{'S':'a'}},{'id':{'S':'b'}}],'range_t':[]},"
         "'UnprocessedKeys':{},'ConsumedCapacity':[{'TableName':'hash_t','CapacityUnits':2.0,"
         "'Table':{'CapacityUnits':2.0}},{'TableName':'range_t','CapacityUnits':0.5,"
         "'Table':{'CapacityUnits':0.5}}]}"},
    };
    RUN(*state, steps);
}

/* ItemCollectionMetrics: for tables with local secondary indexes only, one entry per write;
 * INDEXES capacity adds each index's part. */
static void test_collection_metrics(void **state)
{
    struct env *e = *state;
    call_ok(
        e, DX_OP_CreateTable,
        "{'TableName':'lsi_t','AttributeDefinitions':[{'AttributeName':'p','AttributeType':'S'},"
        "{'AttributeName':'s','AttributeType':'S'},{'AttributeName':'l','AttributeType':'S'}],"
        "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'},{'AttributeName':'s',"
        "'KeyType':'RANGE'}],'LocalSecondaryIndexes':[{'IndexName':'by_l','KeySchema':["
        "{'AttributeName':'p','KeyType':'HASH'},{'AttributeName':'l','KeyType':'RANGE'}],"
        "'Projection':{'ProjectionType':'KEYS_ONLY'}}],'BillingMode':'PAY_PER_REQUEST'}");
    static const struct step steps[] = {
        {BWRITE,
         "{'ReturnItemCollectionMetrics':'SIZE','ReturnConsumedCapacity':'INDEXES',"
         "'RequestItems':{'lsi_t':[{'PutRequest':{'Item':{'p':{'S':'a'},'s':{'S':'1'},"
         "'l':{'S':'x'}}}},{'DeleteRequest':{'Key':{'p':{'S':'b'},'s':{'S':'1'}}}}],"
         "'hash_t':[{'PutRequest':{'Item':{'id':{'S':'a'}}}}]}}",
         NULL,
         "{'UnprocessedItems':{},'ConsumedCapacity':[{'TableName':'lsi_t','CapacityUnits':3.0,"
         "'Table':{'CapacityUnits':2.0},'LocalSecondaryIndexes':{'by_l':{'CapacityUnits':1.0}}},"
         "{'TableName':'hash_t','CapacityUnits':1.0,'Table':{'CapacityUnits':1.0}}],"
         "'ItemCollectionMetrics':{'lsi_t':[{'ItemCollectionKey':{'p':{'S':'a'}},"
         "'SizeEstimateRangeGB':[0.0,1.0]},{'ItemCollectionKey':{'p':{'S':'b'}},"
         "'SizeEstimateRangeGB':[0.0,1.0]}]}}"},
    };
    RUN(e, steps);
}

/* Generic validation and the custom checks, with DynamoDB's texts. */
static void test_validation(void **state)
{
    static const struct step steps[] = {
        {BGET, "{}", VE,
         "1 validation error detected: Value null at 'requestItems' failed to satisfy "
         "constraint: Member must not be null"},
        {BWRITE, "{}", VE,
         "1 validation error detected: Value null at 'requestItems' failed to satisfy "
         "constraint: Member must not be null"},
        {BGET, "{'RequestItems':{}}", VE,
         "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy "
         "constraint: Member must have length greater than or equal to 1"},
        {BGET, "{'RequestItems':[]}", SER, "*"},
        {BGET, "{'RequestItems':{'a':{'Keys':[{'id':{'S':'a'}}]}}}", VE,
         "1 validation error detected: Value '*"},
        {BGET, "{'RequestItems':{'aa;':{}},'ReturnConsumedCapacity':'hi'}", VE,
         "3 validation errors detected: Value 'hi' at 'returnConsumedCapacity' failed to "
         "satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; "
         "Value '{*"},
        {BGET, "{'RequestItems':{'hash_t':{'Keys':[]}}}", VE,
         "1 validation error detected: Value '[]' at 'requestItems.hash_t.member.keys' failed "
         "to satisfy constraint: Member must have length greater than or equal to 1"},
        {BWRITE,
         "{'RequestItems':{'aa;':[{'PutRequest':{},'DeleteRequest':{}}]},"
         "'ReturnConsumedCapacity':'hi','ReturnItemCollectionMetrics':'hi'}",
         VE,
         "5 validation errors detected: Value 'hi' at 'returnConsumedCapacity' failed to "
         "satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; "
         "Value 'hi' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member "
         "must satisfy enum value set: [SIZE, NONE]; Value '*"},
        {BWRITE, "{'RequestItems':{'hash_t':[]}}", VE,
         "1 validation error detected: Value '{*}' at 'requestItems' failed to satisfy "
         "constraint: Map value must satisfy constraint: [Member must have length less than "
         "or equal to 25, Member must have length greater than or equal to 1]"},
        {BWRITE, "{'RequestItems':{'hash_t':[{}]}}", VE,
         "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
         "the supported datatypes"},
        {BWRITE,
         "{'RequestItems':{'nosuch':[{'PutRequest':{'Item':{'id':{'S':'a'},'n':{'N':'1e126'}}}}]}}",
         VE,
         "Number overflow. Attempting to store a number with magnitude larger than supported "
         "range"},
        {BWRITE, "{'RequestItems':{'nosuch':[{'DeleteRequest':{'Key':{'id':{'S':'a','N':'1'}}}}]}}",
         VE,
         "Supplied AttributeValue has more than one datatypes set, must contain exactly one "
         "of the supported datatypes"},
        {BGET, "{'RequestItems':{'nosuch':{'Keys':[{'id':{'N':'b'}}]}}}", VE,
         "The parameter cannot be converted to a numeric value: b"},
        {BGET,
         "{'RequestItems':{'hash_t':{'Keys':[{'id':{'S':'a'}}],'AttributesToGet':['a','a']}}}", VE,
         "One or more parameter values were invalid: Duplicate value in attribute name: a"},
        {BGET,
         "{'RequestItems':{'hash_t':{'Keys':[{'id':{'S':'a'}}],'ProjectionExpression':'#x'}}}", VE,
         "*"},
        /* unknown tables, after the value checks; before the schema checks */
        {BGET, "{'RequestItems':{'nosuch':{'Keys':[{}]}}}", RNF, "Requested resource not found"},
        {BGET,
         "{'RequestItems':{'hash_t':{'Keys':[{'id':{'S':'a'}}]},'nosuch':{'Keys':[{'x':{'S':'a'}}]}"
         "}}",
         RNF, "Requested resource not found"},
        {BWRITE, "{'RequestItems':{'nosuch':[{'DeleteRequest':{'Key':{'x':{'S':'a'}}}}]}}", RNF,
         "Requested resource not found"},
        /* schema */
        {BGET, "{'RequestItems':{'hash_t':{'Keys':[{}]}}}", VE, MISMATCH},
        {BGET, "{'RequestItems':{'range_t':{'Keys':[{'p':{'S':'a'}}]}}}", VE, MISMATCH},
        {BGET, "{'RequestItems':{'hash_t':{'Keys':[{'id':{'N':'1'}}]}}}", VE, MISMATCH},
        {BWRITE, "{'RequestItems':{'hash_t':[{'PutRequest':{'Item':{'x':{'S':'a'}}}}]}}", VE,
         MISMATCH},
        {BWRITE, "{'RequestItems':{'hash_t':[{'PutRequest':{'Item':{'id':{'N':'1'}}}}]}}", VE,
         MISMATCH},
        {BWRITE,
         "{'RequestItems':{'hash_t':[{'DeleteRequest':{'Key':{'id':{'S':'a'},'x':{'S':'b'}}}}]}}",
         VE, MISMATCH},
    };
    RUN(*state, steps);
}

/* Duplicate keys: within one table only, in either request order. */
static void test_duplicates(void **state)
{
    static const struct step steps[] = {
        {BGET,
         "{'RequestItems':{'hash_t':{'Keys':[{'id':{'S':'a'}},{'id':{'S':'b'}},{'id':{'S':'a'}}]}}"
         "}",
         VE, DUPS},
        {BGET,
         "{'RequestItems':{'range_t':{'Keys':[{'p':{'S':'a'},'s':{'N':'1'}},{'s':{'N':'1'},'p':{'S'"
         ":'a'}}]}}}",
         VE, DUPS},
        {BWRITE,
         "{'RequestItems':{'hash_t':[{'PutRequest':{'Item':{'id':{'S':'a'},'c':{'S':'c'}}}},"
         "{'DeleteRequest':{'Key':{'id':{'S':'a'}}}}]}}",
         VE, DUPS},
        {BWRITE,
         "{'RequestItems':{'hash_t':[{'DeleteRequest':{'Key':{'id':{'S':'a'}}}},"
         "{'PutRequest':{'Item':{'id':{'S':'a'}}}}]}}",
         VE, DUPS},
        {BWRITE,
         "{'RequestItems':{'range_t':[{'PutRequest':{'Item':{'p':{'S':'a'},'s':{'N':'1'}}}},"
         "{'PutRequest':{'Item':{'p':{'S':'a'},'s':{'N':'1.00'}}}}]}}",
         VE, DUPS},
        {GET, "{'TableName':'hash_t','Key':{'id':{'S':'a'}}}", NULL, "{}"},
        /* the same key value in two tables is two items */
        {BWRITE,
         "{'RequestItems':{'hash_t':[{'PutRequest':{'Item':{'id':{'S':'a'}}}}],"
         "'range_t':[{'PutRequest':{'Item':{'p':{'S':'a'},'s':{'N':'1'}}}},"
         "{'PutRequest':{'Item':{'p':{'S':'a'},'s':{'N':'2'}}}}]}}",
         NULL, "{'UnprocessedItems':{}}"},
    };
    RUN(*state, steps);
}

/* A batch with one bad request writes nothing. */
static void test_all_or_nothing(void **state)
{
    static const struct step steps[] = {
        {BWRITE,
         "{'RequestItems':{'hash_t':[{'PutRequest':{'Item':{'id':{'S':'ok1'}}}}],"
         "'range_t':[{'PutRequest':{'Item':{'p':{'S':'ok2'},'s':{'N':'1'}}}},"
         "{'PutRequest':{'Item':{'p':{'S':'bad'}}}}]}}",
         VE, MISMATCH},
        {BWRITE,
         "{'RequestItems':{'hash_t':[{'PutRequest':{'Item':{'id':{'S':'ok1'}}}}],"
         "'nosuch':[{'PutRequest':{'Item':{'id':{'S':'x'}}}}]}}",
         RNF, "Requested resource not found"},
        {BGET,
         "{'RequestItems':{'hash_t':{'Keys':[{'id':{'S':'ok1'}}]},"
         "'range_t':{'Keys':[{'p':{'S':'ok2'},'s':{'N':'1'}}]}}}",
         NULL, "{'Responses':{'hash_t':[],'range_t':[]},'UnprocessedKeys':{}}"},
    };
    RUN(*state, steps);
}

/* Bodies with n requests: BatchWriteItem puts over (up to) two tables, BatchGetItem keys. */
static char *write_body(int n_hash, int n_range)
{
    size_t cap = 256 + (size_t)(n_hash + n_range) * 96;
    char *b = malloc(cap);
    size_t len = (size_t)snprintf(b, cap, "{'RequestItems':{");
    if (n_hash) {
        len += (size_t)snprintf(b + len, cap - len, "'hash_t':[");
        for (int i = 0; i < n_hash; i++)
            len +=
                (size_t)snprintf(b + len, cap - len, "%s{'PutRequest':{'Item':{'id':{'S':'k%d'}}}}",
                                 i ? "," : "", i);
        len += (size_t)snprintf(b + len, cap - len, "]%s", n_range ? "," : "");
    }
    if (n_range) {
        len += (size_t)snprintf(b + len, cap - len, "'range_t':[");
        for (int i = 0; i < n_range; i++)
            len += (size_t)snprintf(b + len, cap - len,
                                    "%s{'DeleteRequest':{'Key':{'p':{'S':'k'},'s':{'N':'%d'}}}}",
                                    i ? "," : "", i);
        len += (size_t)snprintf(b + len, cap - len, "]");
    }
    snprintf(b + len, cap - len, "}}");
    return b;
}

static char *get_body(const char *table, int n, const char *table2, int n2)
{
    size_t cap = 256 + (size_t)(n + n2) * 40;
    char *b = malloc(cap);
    size_t len = (size_t)snprintf(b, cap, "{'RequestItems':{'%s':{'Keys':[", table);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(b + len, cap - len, "%s{'id':{'S':'k%d'}}", i ? "," : "", i);
    len += (size_t)snprintf(b + len, cap - len, "]}");
    if (table2) {
        len += (size_t)snprintf(b + len, cap - len, ",'%s':{'Keys':[", table2);
        for (int i = 0; i < n2; i++)
            len += (size_t)snprintf(b + len, cap - len, "%s{'id':{'S':'k%d'}}", i ? "," : "", i);
        len += (size_t)snprintf(b + len, cap - len, "]}");
    }
    snprintf(b + len, cap - len, "}}");
    return b;
}

static void run_one(struct env *e, enum dx_op op, char *body, const char *type, const char *want)
{
    struct step s = {op, body, type, want, NULL};
    struct dx_reply *r = call(e, op, body);
    step_check(0, &s, r);
    dx_reply_free(r);
    free(body);
}

/* 25 writes pass, 26 do not, whether in one table or over two; 100 keys pass, 101 not. */
static void test_limits(void **state)
{
    struct env *e = *state;
    run_one(e, BWRITE, write_body(25, 0), NULL, "{'UnprocessedItems':{}}");
    run_one(e, BWRITE, write_body(13, 12), NULL, "{'UnprocessedItems':{}}");
    run_one(e, BWRITE, write_body(26, 0), VE,
            "1 validation error detected: Value '{*' at 'requestItems' failed to satisfy "
            "constraint: Map value must satisfy constraint: [Member must have length less than "
            "or equal to 25, Member must have length greater than or equal to 1]");
    run_one(e, BWRITE, write_body(13, 13), VE,
            "Too many items requested for the BatchWriteItem call");
    run_one(e, BGET, get_body("hash_t", 101, NULL, 0), VE,
            "1 validation error detected: Value '[*' at 'requestItems.hash_t.member.keys' failed "
            "to satisfy constraint: Member must have length less than or equal to 100");
    run_one(e, BGET, get_body("hash_t", 100, "nosuch", 1), VE,
            "Too many items requested for the BatchGetItem call");
    run_one(e, BGET, get_body("nosuch", 100, NULL, 0), RNF, "Requested resource not found");
    /* 100 keys of which 25 exist */
    char *body = get_body("hash_t", 100, NULL, 0);
    struct dx_reply *r = call(e, BGET, body);
    free(body);
    assert_int_equal(r->status, 200);
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "Responses"), "hash_t");
    assert_int_equal(cJSON_GetArraySize(items), 25);
    cJSON_Delete(j);
    dx_reply_free(r);
}

/* Items that would take the response past 16 MB come back as UnprocessedKeys, with the
 * table's other parameters. */
static void test_unprocessed(void **state)
{
    struct env *e = *state;
    size_t big = 380 * 1024;
    char *blob = malloc(big + 1);
    memset(blob, 'x', big);
    blob[big] = 0;
    size_t cap = big + 256;
    char *body = malloc(cap);
    for (int i = 0; i < 50; i++) {
        snprintf(body, cap, "{'TableName':'hash_t','Item':{'id':{'S':'k%d'},'b':{'S':'%s'}}}", i,
                 blob);
        call_ok(e, PUT, body);
    }
    free(body);
    free(blob);
    char *gb = get_body("hash_t", 50, NULL, 0);
    /* add the projection parameters that must come back with the unprocessed keys */
    char *p = strstr(gb, "]}}}");
    assert_non_null(p);
    size_t cap2 = strlen(gb) + 128;
    char *req = malloc(cap2);
    snprintf(req, cap2, "%.*s],'ConsistentRead':true,'ProjectionExpression':'id, b'}}}",
             (int)(p - gb), gb);
    free(gb);
    struct dx_reply *r = call(e, BGET, req);
    free(req);
    assert_int_equal(r->status, 200);
    assert_true(r->len <= 16u * 1024 * 1024);
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    assert_non_null(j);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "Responses"), "hash_t");
    const cJSON *unp = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "UnprocessedKeys"), "hash_t");
    int got = cJSON_GetArraySize(items);
    int left = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(unp, "Keys"));
    assert_true(got > 30 && got < 50);
    assert_int_equal(got + left, 50);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(unp, "ConsistentRead")));
    const cJSON *pe = cJSON_GetObjectItemCaseSensitive(unp, "ProjectionExpression");
    assert_true(cJSON_IsString(pe) && strcmp(pe->valuestring, "id, b") == 0);
    cJSON_Delete(j);
    dx_reply_free(r);
}

/* A batch whose table was deleted after validation fails whole in apply. */
static void test_deleted_table(void **state)
{
    struct env *e = *state;
    call_ok(e, DX_OP_DeleteTable, "{'TableName':'range_t'}");
    run_one(e, BWRITE,
            strdup("{'RequestItems':{'hash_t':[{'PutRequest':{'Item':{'id':{'S':'z'}}}}],"
                   "'range_t':[{'PutRequest':{'Item':{'p':{'S':'z'},'s':{'N':'1'}}}}]}}"),
            RNF, "Requested resource not found");
    run_one(e, GET, strdup("{'TableName':'hash_t','Key':{'id':{'S':'z'}}}"), NULL, "{}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_then_get, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_capacity, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_collection_metrics, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_unprocessed, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_deleted_table, setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
