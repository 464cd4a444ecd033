/*
 * The item-collection size limit of tables with local secondary indexes, through the real
 * engine (be_api): a collection (the items of one partition key value plus their LSI entries,
 * each entry its projected attributes + 100 bytes) may not grow past the limit; the write that
 * would fails with ItemCollectionSizeLimitExceededException and changes nothing. The backend
 * is opened with a 1000-byte limit. Every item here is {pk, sk (1 char), l (1 char), d} with
 * d of 83 characters: 9 + 83 = 92 bytes, and its KEYS_ONLY LSI entry 8 + 100 bytes, so each
 * item takes exactly 200 bytes of its collection and five fill one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "be_test_env.h"

#define LIMIT 1000
#define EXC   "ItemCollectionSizeLimitExceededException"
#define MSG   "The total size of an item collection has exceeded the maximum limit of 10 gigabytes."

static char d83[84], d84[85], d40[41];

static void reopen(struct env *e)
{
    struct be_options o = {
        .data_dir = e->dir, .nosync = 1, .map_size = 64u << 20, .item_collection_limit = LIMIT};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
}

static int setup(void **state)
{
    memset(d83, 'x', 83);
    memset(d84, 'x', 84);
    memset(d40, 'y', 40);
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ddax-coll-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    reopen(e);
    cJSON_Delete(
        ok(e, DX_OP_CreateTable,
           "{'TableName':'col','AttributeDefinitions':["
           "{'AttributeName':'pk','AttributeType':'S'},"
           "{'AttributeName':'sk','AttributeType':'S'},"
           "{'AttributeName':'l','AttributeType':'S'}],"
           "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
           "{'AttributeName':'sk','KeyType':'RANGE'}],"
           "'LocalSecondaryIndexes':[{'IndexName':'byl','KeySchema':["
           "{'AttributeName':'pk','KeyType':'HASH'},{'AttributeName':'l','KeyType':'RANGE'}],"
           "'Projection':{'ProjectionType':'KEYS_ONLY'}}],"
           "'BillingMode':'PAY_PER_REQUEST'}"));
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'plain','AttributeDefinitions':["
                    "{'AttributeName':'pk','AttributeType':'S'},"
                    "{'AttributeName':'sk','AttributeType':'S'}],"
                    "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
                    "{'AttributeName':'sk','KeyType':'RANGE'}],"
                    "'BillingMode':'PAY_PER_REQUEST'}"));
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    be_close(e->be);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    if (system(cmd) != 0)
        return -1;
    free(e);
    return 0;
}

static char *body(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *body(const char *fmt, ...)
{
    static char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

static void fill(struct env *e, const char *pk)
{
    for (int i = 1; i <= 5; i++)
        put(e,
            "{'TableName':'col','Item':{'pk':{'S':'%s'},'sk':{'S':'%d'},'l':{'S':'x'},"
            "'d':{'S':'%s'}}}",
            pk, i, d83);
}

/* The d of item (pk, sk), or "" when the item is absent. */
static void get_d(struct env *e, const char *pk, const char *sk, char *out, size_t cap)
{
    cJSON *r = ok(e, DX_OP_GetItem,
                  "{'TableName':'col','Key':{'pk':{'S':'%s'},'sk':{'S':'%s'}},"
                  "'ConsistentRead':true}",
                  pk, sk);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "Item"), "d"), "S");
    snprintf(out, cap, "%s", cJSON_IsString(d) ? d->valuestring : "");
    cJSON_Delete(r);
}

static void test_put_limit(void **state)
{
    struct env *e = *state;
    char got[128];
    fill(e, "a");
    /* The sixth item would take the collection to 1200 bytes. */
    fails(e, DX_OP_PutItem,
          body("{'TableName':'col','Item':{'pk':{'S':'a'},'sk':{'S':'6'},'l':{'S':'x'},"
               "'d':{'S':'%s'}}}",
               d83),
          EXC, MSG);
    get_d(e, "a", "6", got, sizeof got);
    assert_string_equal(got, "");
    /* Growing an item of a full collection by one byte fails and leaves it as it was... */
    fails(e, DX_OP_PutItem,
          body("{'TableName':'col','Item':{'pk':{'S':'a'},'sk':{'S':'1'},'l':{'S':'x'},"
               "'d':{'S':'%s'}}}",
               d84),
          EXC, MSG);
    get_d(e, "a", "1", got, sizeof got);
    assert_string_equal(got, d83);
    /* ...while replacing it by one of the same size, or a smaller one, succeeds. */
    put(e,
        "{'TableName':'col','Item':{'pk':{'S':'a'},'sk':{'S':'1'},'l':{'S':'z'},'d':{'S':'%s'}}}",
        d83);
    put(e,
        "{'TableName':'col','Item':{'pk':{'S':'a'},'sk':{'S':'2'},'l':{'S':'x'},'d':{'S':'%s'}}}",
        d40);
    /* Another partition key is another collection. */
    fill(e, "b");
    /* The failed write left the LSI alone too: the index holds the five items of 'a'. */
    cJSON *q = ok(e, DX_OP_Query,
                  "{'TableName':'col','IndexName':'byl','KeyConditionExpression':'pk = :p',"
                  "'ExpressionAttributeValues':{':p':{'S':'a'}},'Select':'COUNT'}");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(q, "Count")->valueint, 5);
    cJSON_Delete(q);
}

static void test_delete_frees_room(void **state)
{
    struct env *e = *state;
    char got[128];
    fill(e, "a");
    cJSON_Delete(
        ok(e, DX_OP_DeleteItem, "{'TableName':'col','Key':{'pk':{'S':'a'},'sk':{'S':'5'}}}"));
    put(e,
        "{'TableName':'col','Item':{'pk':{'S':'a'},'sk':{'S':'6'},'l':{'S':'x'},'d':{'S':'%s'}}}",
        d83);
    get_d(e, "a", "6", got, sizeof got);
    assert_string_equal(got, d83);
    /* Full again. */
    fails(e, DX_OP_PutItem,
          body("{'TableName':'col','Item':{'pk':{'S':'a'},'sk':{'S':'7'},'l':{'S':'x'},"
               "'d':{'S':'%s'}}}",
               d83),
          EXC, MSG);
    /* An item outside the LSI (no l) has no entry: 92 - 2 bytes; room for it after a delete
     * of an item with one. */
    cJSON_Delete(
        ok(e, DX_OP_DeleteItem, "{'TableName':'col','Key':{'pk':{'S':'a'},'sk':{'S':'6'}}}"));
    put(e, "{'TableName':'col','Item':{'pk':{'S':'a'},'sk':{'S':'6'},'d':{'S':'%s'}}}", d83);
}

static void test_update(void **state)
{
    struct env *e = *state;
    char got[128];
    fill(e, "a");
    fails(e, DX_OP_UpdateItem,
          body("{'TableName':'col','Key':{'pk':{'S':'a'},'sk':{'S':'1'}},"
               "'UpdateExpression':'SET d = :d','ExpressionAttributeValues':{':d':{'S':'%s'}}}",
               d84),
          EXC, MSG);
    get_d(e, "a", "1", got, sizeof got);
    assert_string_equal(got, d83);
    fails(e, DX_OP_UpdateItem,
          body("{'TableName':'col','Key':{'pk':{'S':'a'},'sk':{'S':'9'}},"
               "'UpdateExpression':'SET d = :d','ExpressionAttributeValues':{':d':{'S':'q'}}}"),
          EXC, MSG);
    get_d(e, "a", "9", got, sizeof got);
    assert_string_equal(got, "");
    /* Shrinking succeeds, and makes room. */
    cJSON_Delete(ok(e, DX_OP_UpdateItem,
                    "{'TableName':'col','Key':{'pk':{'S':'a'},'sk':{'S':'1'}},"
                    "'UpdateExpression':'REMOVE d'}"));
    cJSON_Delete(
        ok(e, DX_OP_UpdateItem,
           "{'TableName':'col','Key':{'pk':{'S':'a'},'sk':{'S':'9'}},"
           "'UpdateExpression':'SET d = :d','ExpressionAttributeValues':{':d':{'S':'q'}}}"));
}

static void test_batch(void **state)
{
    struct env *e = *state;
    char got[128];
    fill(e, "a");
    /* One request of the batch overflows: nothing of the batch is written. */
    fails(e, DX_OP_BatchWriteItem,
          body("{'RequestItems':{'col':["
               "{'PutRequest':{'Item':{'pk':{'S':'b'},'sk':{'S':'1'},'d':{'S':'v'}}}},"
               "{'PutRequest':{'Item':{'pk':{'S':'a'},'sk':{'S':'6'},'l':{'S':'x'},"
               "'d':{'S':'%s'}}}}]}}",
               d83),
          EXC, MSG);
    get_d(e, "b", "1", got, sizeof got);
    assert_string_equal(got, "");
    get_d(e, "a", "6", got, sizeof got);
    assert_string_equal(got, "");
    /* A delete and a put in one batch: the delete makes the room. */
    cJSON *r = ok(e, DX_OP_BatchWriteItem,
                  "{'RequestItems':{'col':["
                  "{'DeleteRequest':{'Key':{'pk':{'S':'a'},'sk':{'S':'5'}}}},"
                  "{'PutRequest':{'Item':{'pk':{'S':'a'},'sk':{'S':'6'},'l':{'S':'x'},"
                  "'d':{'S':'%s'}}}}]},'ReturnItemCollectionMetrics':'SIZE'}",
                  d83);
    char *text =
        cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "ItemCollectionMetrics"));
    assert_non_null(strstr(text, "\"SizeEstimateRangeGB\":[0,1]"));
    free(text);
    cJSON_Delete(r);
    get_d(e, "a", "6", got, sizeof got);
    assert_string_equal(got, d83);
}

static void test_no_lsi_no_limit(void **state)
{
    struct env *e = *state;
    for (int i = 0; i < 20; i++)
        put(e, "{'TableName':'plain','Item':{'pk':{'S':'a'},'sk':{'S':'%d'},'d':{'S':'%s'}}}", i,
            d83);
}

static void test_metrics(void **state)
{
    struct env *e = *state;
    cJSON *r = ok(e, DX_OP_PutItem,
                  "{'TableName':'col','Item':{'pk':{'S':'m'},'sk':{'S':'1'},'l':{'S':'x'}},"
                  "'ReturnItemCollectionMetrics':'SIZE'}");
    char *text = cJSON_PrintUnformatted(r);
    assert_string_equal(text, "{\"ItemCollectionMetrics\":{\"ItemCollectionKey\":{\"pk\":{\"S\":"
                              "\"m\"}},\"SizeEstimateRangeGB\":[0,1]}}");
    free(text);
    cJSON_Delete(r);
}

static void test_restart(void **state)
{
    struct env *e = *state;
    fill(e, "a");
    be_close(e->be);
    reopen(e);
    fails(e, DX_OP_PutItem,
          body("{'TableName':'col','Item':{'pk':{'S':'a'},'sk':{'S':'6'},'l':{'S':'x'},"
               "'d':{'S':'%s'}}}",
               d83),
          EXC, MSG);
    cJSON_Delete(
        ok(e, DX_OP_DeleteItem, "{'TableName':'col','Key':{'pk':{'S':'a'},'sk':{'S':'1'}}}"));
    put(e,
        "{'TableName':'col','Item':{'pk':{'S':'a'},'sk':{'S':'6'},'l':{'S':'x'},'d':{'S':'%s'}}}",
        d83);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_frees_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_lsi_no_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
