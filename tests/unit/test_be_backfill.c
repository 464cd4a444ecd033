/*
 * Engine-level tests of UpdateTable's GlobalSecondaryIndexUpdates Create: a real backend in a
 * temporary directory driven through its dx_api (the harness of test_be_index.c). The new
 * index is CREATING (Backfilling) and unreadable until its backfill has walked the table, while
 * writes go on; then it is ACTIVE and equals a recomputation from the table. Also DynamoDB's
 * validation texts, and a restart in the middle of a backfill. Bodies use single quotes.
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
    struct env *e = env_new("backfill", 256u << 20);
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'bft','AttributeDefinitions':["
                    "{'AttributeName':'pk','AttributeType':'S'}],"
                    "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                    "'BillingMode':'PAY_PER_REQUEST'}"));
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'prov','AttributeDefinitions':["
                    "{'AttributeName':'pk','AttributeType':'S'}],"
                    "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                    "'ProvisionedThroughput':{'ReadCapacityUnits':5,'WriteCapacityUnits':5}}"));
    *state = e;
    return 0;
}

static void reopen(struct env *e)
{
    be_close(e->be);
    struct be_options o = {.data_dir = e->dir, .nosync = 1, .map_size = 256u << 20};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
}

/* n items r0..r<n-1>; two in three have the index key g (S) and gs (N), all have x and y. */
static void fill(struct env *e, int n)
{
    for (int i = 0; i < n; i++) {
        char extra[96] = "";
        if (i % 3)
            snprintf(extra, sizeof extra, ",'g':{'S':'G%d'},'gs':{'N':'%d'}", i % 17, i % 101);
        put(e, "{'TableName':'bft','Item':{'pk':{'S':'r%d'}%s,'x':{'S':'x%d'},'y':{'N':'%d'}}}", i,
            extra, i, i);
    }
}

#define CREATE_GI                                                                                  \
    "{'TableName':'bft','AttributeDefinitions':[{'AttributeName':'g','AttributeType':'S'},"        \
    "{'AttributeName':'gs','AttributeType':'N'}],'GlobalSecondaryIndexUpdates':[{'Create':{"       \
    "'IndexName':'gix','KeySchema':[{'AttributeName':'g','KeyType':'HASH'},"                       \
    "{'AttributeName':'gs','KeyType':'RANGE'}],'Projection':{'ProjectionType':'INCLUDE',"          \
    "'NonKeyAttributes':['x']}}}]}"

/* The IndexStatus of index `name` of table bft, and whether Backfilling is true. */
static void index_status(struct env *e, const char *name, char *status, size_t cap,
                         int *backfilling)
{
    cJSON *d = ok(e, DX_OP_DescribeTable, "{'TableName':'bft'}");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "Table");
    const cJSON *x;
    status[0] = 0;
    *backfilling = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(t, "GlobalSecondaryIndexes"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(x, "IndexName");
        if (strcmp(n->valuestring, name) != 0)
            continue;
        snprintf(status, cap, "%s",
                 cJSON_GetObjectItemCaseSensitive(x, "IndexStatus")->valuestring);
        *backfilling = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "Backfilling"));
    }
    cJSON_Delete(d);
}

/* Polls DescribeTable until the index is ACTIVE; checks the CREATING states seen on the way
 * (Backfilling true, reads refused). Returns how many CREATING answers were seen. */
static int wait_active(struct env *e, const char *name)
{
    int creating = 0;
    for (int i = 0; i < 20000; i++) {
        char st[32];
        int bf;
        index_status(e, name, st, sizeof st, &bf);
        if (!strcmp(st, "ACTIVE")) {
            assert_false(bf);
            return creating;
        }
        assert_string_equal(st, "CREATING");
        assert_true(bf);
        creating++;
        usleep(1000);
    }
    fail_msg("index %s never became ACTIVE", name);
    return 0;
}

/* Every item of a Scan of bft (or of its index), page by page, appended to items. */
static void scan_all(struct env *e, const char *index, int limit, cJSON *items)
{
    char *esk = NULL;
    for (;;) {
        char body[2048];
        snprintf(body, sizeof body, "{\"TableName\":\"bft\"%s%s%s,\"Limit\":%d%s%s}",
                 index ? ",\"IndexName\":\"" : "", index ? index : "", index ? "\"" : "", limit,
                 esk ? ",\"ExclusiveStartKey\":" : "", esk ? esk : "");
        free(esk);
        esk = NULL;
        struct dx_reply *r = call_raw(e, DX_OP_Scan, body);
        if (r->status != 200)
            fail_msg("Scan %s -> %d %.*s", body, r->status, (int)r->len, r->body);
        cJSON *j = cJSON_ParseWithLength(r->body, r->len);
        dx_reply_free(r);
        cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "Items"))
            cJSON_AddItemToArray(items, cJSON_Duplicate(it, 1));
        const cJSON *lek = cJSON_GetObjectItemCaseSensitive(j, "LastEvaluatedKey");
        if (lek)
            esk = cJSON_PrintUnformatted(lek);
        cJSON_Delete(j);
        if (!esk)
            return;
    }
}

/* Index gix must hold exactly the projection (pk, g, gs, x) of each item that has g and gs. */
static void check_gi(struct env *e)
{
    static const char *const need[] = {"g", "gs"};
    static const char *const proj[] = {"pk", "g", "gs", "x"};
    cJSON *table = cJSON_CreateArray(), *ix = cJSON_CreateArray();
    scan_all(e, NULL, 1000, table);
    scan_all(e, "gix", 777, ix);
    size_t cap = (size_t)cJSON_GetArraySize(table) + 1;
    char **want = calloc(cap, sizeof *want), **got = calloc(cap, sizeof *got);
    size_t nw = 0, ng = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, table)
    {
        int in = 1;
        for (size_t i = 0; i < 2; i++)
            in &= cJSON_GetObjectItemCaseSensitive(it, need[i]) != NULL;
        if (in)
            want[nw++] = canon(it, proj, 4);
    }
    cJSON_ArrayForEach(it, ix)
    {
        assert_true(ng < cap);
        got[ng++] = canon(it, NULL, 0);
    }
    assert_int_equal(ng, nw);
    assert_true(nw > 1000);
    qsort(want, nw, sizeof *want, str_cmp);
    qsort(got, ng, sizeof *got, str_cmp);
    for (size_t i = 0; i < nw; i++) {
        assert_string_equal(got[i], want[i]);
        free(got[i]);
        free(want[i]);
    }
    free(want);
    free(got);
    cJSON_Delete(table);
    cJSON_Delete(ix);
}

/* ---- concurrent writes during the backfill ---- */

struct churn {
    struct env *e;
    volatile int stop;
    int writes;
};

/* Puts, updates (moving items between index partitions, in and out of the index) and
 * deletes over the whole key range until told to stop. */
static void *churn_main(void *arg)
{
    struct churn *c = arg;
    unsigned seed = 777;
    while (!c->stop) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        int pk = (int)(r % 3500), op = (int)((r >> 12) % 10), g = (int)((r >> 16) % 9);
        if (op < 2)
            cJSON_Delete(
                ok(c->e, DX_OP_DeleteItem, "{'TableName':'bft','Key':{'pk':{'S':'r%d'}}}", pk));
        else if (op < 6)
            cJSON_Delete(ok(c->e, DX_OP_UpdateItem,
                            "{'TableName':'bft','Key':{'pk':{'S':'r%d'}},'UpdateExpression':"
                            "'%s','ExpressionAttributeValues':{':g':{'S':'C%d'},':x':{'S':"
                            "'w%d'}}}",
                            pk, g & 1 ? "SET g = :g, x = :x" : "SET x = :x, y = :g REMOVE gs", g,
                            c->writes));
        else
            put(c->e,
                "{'TableName':'bft','Item':{'pk':{'S':'r%d'},'g':{'S':'P%d'},"
                "'gs':{'N':'%d'},'x':{'S':'p%d'}}}",
                pk, g, c->writes, c->writes);
        c->writes++;
    }
    return NULL;
}

static void test_backfill_with_writes(void **state)
{
    struct env *e = *state;
    fill(e, 3000);
    struct churn c = {e, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, churn_main, &c), 0);
    usleep(20000);
    cJSON *resp = ok(e, DX_OP_UpdateTable, "%s", CREATE_GI);
    const cJSON *td = cJSON_GetObjectItemCaseSensitive(resp, "TableDescription");
    const cJSON *gsis = cJSON_GetObjectItemCaseSensitive(td, "GlobalSecondaryIndexes");
    assert_int_equal(cJSON_GetArraySize(gsis), 1);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(gsis, 0), "IndexStatus")->valuestring,
        "CREATING");
    /* The definitions of the new keys were merged into the table's. */
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(td, "AttributeDefinitions")), 3);
    cJSON_Delete(resp);
    wait_active(e, "gix");
    c.stop = 1;
    pthread_join(th, NULL);
    assert_true(c.writes > 0);
    check_gi(e);
    /* Reads work now; writes keep the index current after the backfill too. */
    put(e, "{'TableName':'bft','Item':{'pk':{'S':'new'},'g':{'S':'Z'},'gs':{'N':'1'}}}");
    cJSON *q = ok(e, DX_OP_Query,
                  "{'TableName':'bft','IndexName':'gix','KeyConditionExpression':'g = :g',"
                  "'ExpressionAttributeValues':{':g':{'S':'Z'}}}");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(q, "Count")->valueint, 1);
    cJSON_Delete(q);
}

/* A table of 3000 items: CREATING is observable, reads are refused with DynamoDB's text. */
static void test_creating_refuses_reads(void **state)
{
    struct env *e = *state;
    fill(e, 3000);
    /* Many writes queued behind the index creation keep it CREATING for a while. */
    cJSON_Delete(ok(e, DX_OP_UpdateTable, "%s", CREATE_GI));
    char st[32];
    int bf;
    index_status(e, "gix", st, sizeof st, &bf);
    if (!strcmp(st, "CREATING")) {
        assert_true(bf);
        fails(e, DX_OP_Query,
              "{'TableName':'bft','IndexName':'gix','KeyConditionExpression':'g = :g',"
              "'ExpressionAttributeValues':{':g':{'S':'G1'}}}",
              "ValidationException", "Cannot read from backfilling global secondary index: gix");
        fails(e, DX_OP_Scan, "{'TableName':'bft','IndexName':'gix'}", "ValidationException",
              "Cannot read from backfilling global secondary index: gix");
        /* A second online index operation waits for this one. */
        fails(e, DX_OP_UpdateTable,
              "{'TableName':'bft','GlobalSecondaryIndexUpdates':[{'Delete':{'IndexName':'gix'}}]}",
              "LimitExceededException",
              "Subscriber limit exceeded: Only 1 online index can be created or deleted "
              "simultaneously per table");
    }
    wait_active(e, "gix");
    check_gi(e);
    /* An empty table's index becomes ACTIVE too. */
    cJSON_Delete(ok(e, DX_OP_UpdateTable,
                    "{'TableName':'prov','AttributeDefinitions':[{'AttributeName':'a',"
                    "'AttributeType':'S'}],'GlobalSecondaryIndexUpdates':[{'Create':{"
                    "'IndexName':'aix','KeySchema':[{'AttributeName':'a','KeyType':'HASH'}],"
                    "'Projection':{'ProjectionType':'ALL'},'ProvisionedThroughput':{"
                    "'ReadCapacityUnits':1,'WriteCapacityUnits':1}}}]}"));
    for (int i = 0; i < 5000; i++) {
        cJSON *d = ok(e, DX_OP_DescribeTable, "{'TableName':'prov'}");
        const cJSON *x = cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "Table"),
                                             "GlobalSecondaryIndexes"),
            0);
        int active =
            !strcmp(cJSON_GetObjectItemCaseSensitive(x, "IndexStatus")->valuestring, "ACTIVE");
        cJSON_Delete(d);
        if (active)
            return;
        usleep(1000);
    }
    fail_msg("index aix never became ACTIVE");
}

static void test_validation(void **state)
{
    struct env *e = *state;
    static const struct {
        const char *body, *type, *msg;
    } cases[] = {
        {"{'TableName':'bft','AttributeDefinitions':[{'AttributeName':'g','AttributeType':'S'}],"
         "'GlobalSecondaryIndexUpdates':[{'Create':{'IndexName':'aix','KeySchema':[{'AttributeName'"
         ":'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}},{'Create':{'IndexName':"
         "'bix','KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],'Projection':{'ProjectionType'"
         ":'ALL'}}}]}",
         "LimitExceededException",
         "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously "
         "per table"},
        {"{'TableName':'bft','GlobalSecondaryIndexUpdates':[{'Create':{'IndexName':'aix','"
         "KeySchema'"
         ":[{'AttributeName':'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}}]}",
         "ValidationException",
         "One or more parameter values were invalid: Some index key attributes are not defined in "
         "AttributeDefinitions. Keys: [g], AttributeDefinitions: []"},
        {"{'TableName':'bft','AttributeDefinitions':[{'AttributeName':'h','AttributeType':'S'}],"
         "'GlobalSecondaryIndexUpdates':[{'Create':{'IndexName':'aix','KeySchema':[{'AttributeName'"
         ":'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}}]}",
         "ValidationException",
         "One or more parameter values were invalid: Some index key attributes are not defined in "
         "AttributeDefinitions. Keys: [g], AttributeDefinitions: [h]"},
        {"{'TableName':'bft','AttributeDefinitions':[{'AttributeName':'g','AttributeType':'S'}],"
         "'GlobalSecondaryIndexUpdates':[{'Create':{'IndexName':'aix','KeySchema':[{'AttributeName'"
         ":'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'},'ProvisionedThroughput':"
         "{'ReadCapacityUnits':1,'WriteCapacityUnits':1}}}]}",
         "ValidationException",
         "One or more parameter values were invalid: ProvisionedThroughput should not be "
         "specified for index: aix when BillingMode is PAY_PER_REQUEST"},
        {"{'TableName':'prov','AttributeDefinitions':[{'AttributeName':'g','AttributeType':'S'}],"
         "'GlobalSecondaryIndexUpdates':[{'Create':{'IndexName':'aix','KeySchema':[{'AttributeName'"
         ":'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}}]}",
         "ValidationException",
         "One or more parameter values were invalid: ProvisionedThroughput is not specified for "
         "index: aix"},
        {"{'TableName':'bft','AttributeDefinitions':[{'AttributeName':'g','AttributeType':'S'}],"
         "'GlobalSecondaryIndexUpdates':[{'Create':{'IndexName':'aix','KeySchema':[{'AttributeName'"
         ":'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'INCLUDE'}}}]}",
         "ValidationException",
         "One or more parameter values were invalid: ProjectionType is INCLUDE, but "
         "NonKeyAttributes is not specified"},
        {"{'TableName':'bft','AttributeDefinitions':[{'AttributeName':'g','AttributeType':'S'}],"
         "'GlobalSecondaryIndexUpdates':[{'Create':{'IndexName':'aix','KeySchema':[{'AttributeName'"
         ":'g','KeyType':'RANGE'}],'Projection':{'ProjectionType':'ALL'}}}]}",
         "ValidationException",
         "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fails(e, DX_OP_UpdateTable, cases[i].body, cases[i].type, cases[i].msg);
    /* An existing name. */
    cJSON_Delete(ok(e, DX_OP_UpdateTable, "%s", CREATE_GI));
    wait_active(e, "gix");
    fails(e, DX_OP_UpdateTable, CREATE_GI, "ValidationException",
          "Attempting to create an index which already exists");
}

/* The server stops in the middle of a backfill: the next open finishes it. */
static void test_restart(void **state)
{
    struct env *e = *state;
    fill(e, 3000);
    cJSON_Delete(ok(e, DX_OP_UpdateTable, "%s", CREATE_GI));
    reopen(e); /* be_close drains the writer; the chain is cut wherever it was */
    wait_active(e, "gix");
    check_gi(e);
    /* The ACTIVE state is durable. */
    reopen(e);
    char st[32];
    int bf;
    index_status(e, "gix", st, sizeof st, &bf);
    assert_string_equal(st, "ACTIVE");
    check_gi(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backfill_with_writes, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_creating_refuses_reads, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
