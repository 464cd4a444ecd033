/*
 * Capacity (backend/be_capacity.c): the token buckets (refill at the rate, burst cap, debt),
 * admission of provisioned tables and GSIs against a test clock (throttling that starts when
 * a bucket empties and stops as it refills, UpdateTable lifting it, a re-created table starting
 * afresh, batches throttled only when every table is), the on-demand ceiling, and the metrics
 * text (consumed units, throttles, provisioned gauges, estimated cost).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "be_capacity.h"
#include "be_engine.h"
#include "be_test_env.h"
#include "dx_buf.h"

#define SEC 1000000000ull

struct env;
static char *metrics(struct env *e);
static void has_line(const char *text, const char *line);

/* ---- buckets ---- */

static void test_bucket_refill(void **state)
{
    (void)state;
    static const struct {
        double level, rate, cap;
        uint64_t dt_ns;
        double want;
    } cases[] = {
        {0, 5, 1500, SEC, 5},          /* one second at 5/s */
        {0, 5, 1500, SEC / 10, 0.5},   /* a tenth of it */
        {2, 1, 300, 10 * SEC, 12},     /* adds to what is left */
        {0, 1, 300, 1000 * SEC, 300},  /* burst: at most 300 s of the rate */
        {299.5, 1, 300, 5 * SEC, 300}, /* capped */
        {-10, 2, 600, 3 * SEC, -4},    /* a debt is paid back first */
        {-10, 2, 600, 5 * SEC, 0},     /* ... to zero */
        {500, 1, 300, 0, 300},         /* a lower rate (UpdateTable) cuts the level */
        {3, 0, 0, 10 * SEC, 0},        /* no capacity at all */
        {1, 10, 3000, 0, 1},           /* no time: no change */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct be_bucket b = {cases[i].level, 100 * SEC};
        be_bucket_refill(&b, cases[i].rate, cases[i].cap, 100 * SEC + cases[i].dt_ns);
        if (fabs(b.level - cases[i].want) > 1e-9)
            fail_msg("case %zu: level %g, want %g", i, b.level, cases[i].want);
        assert_int_equal(b.at_ns, 100 * SEC + cases[i].dt_ns);
    }
    /* A clock that goes backwards changes nothing. */
    struct be_bucket b = {1, 100 * SEC};
    be_bucket_refill(&b, 5, 10, 99 * SEC);
    assert_true(b.level == 1 && b.at_ns == 100 * SEC);
}

static void test_bucket_take(void **state)
{
    (void)state;
    struct be_bucket b = {3, 0};
    be_bucket_take(&b, 2, 300);
    assert_true(b.level == 1);
    be_bucket_take(&b, 5.5, 300); /* charged after the fact: a debt */
    assert_true(b.level == -4.5);
    be_bucket_take(&b, 1000, 300); /* bounded by the burst */
    assert_true(b.level == -300);
}

/* ---- the engine with a test clock ---- */

static uint64_t fake_ns = 1000 * SEC;

static uint64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_ns;
}

static void advance(double seconds)
{
    fake_ns += (uint64_t)(seconds * 1e9);
}

static struct env *cap_env(const char *tag, double od_rcu, double burst)
{
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ddax-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(e->dir));
    struct be_options o = {.data_dir = e->dir,
                           .nosync = 1,
                           .ondemand_max_rcu = od_rcu,
                           .capacity_burst_seconds = burst,
                           .price_read_million = 0.25,
                           .price_write_million = 1.25};
    assert_int_equal(be_open(&o, &e->be), 0);
    be_capacity_set_clock(e->be->cap, fake_clock, NULL);
    e->api = be_api(e->be);
    return e;
}

static int setup(void **state)
{
    *state = cap_env("cap", 0, 0);
    return 0;
}

static int setup_ondemand_max(void **state)
{
    *state = cap_env("capod", 2, 0);
    return 0;
}

static int setup_burst3(void **state)
{
    *state = cap_env("capb", 0, 3);
    return 0;
}

static void create(struct env *e, const char *name, int rcu, int wcu)
{
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'%s','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                    "'AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'}],"
                    "'ProvisionedThroughput':{'ReadCapacityUnits':%d,'WriteCapacityUnits':%d}}",
                    name, rcu, wcu));
}

static void create_gsi(struct env *e, const char *name, int rcu, int wcu, int grcu, int gwcu)
{
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'%s','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                    "'AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
                    "{'AttributeName':'g','AttributeType':'S'}],"
                    "'ProvisionedThroughput':{'ReadCapacityUnits':%d,'WriteCapacityUnits':%d},"
                    "'GlobalSecondaryIndexes':[{'IndexName':'gix','KeySchema':[{'AttributeName':"
                    "'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'},"
                    "'ProvisionedThroughput':{'ReadCapacityUnits':%d,'WriteCapacityUnits':%d}}]}",
                    name, rcu, wcu, grcu, gwcu));
}

/* The reply's status and __type suffix (after '#'), and the first ThrottlingReason. */
struct outcome {
    int status;
    char type[96];
    char msg[400];
    char reason[96];
    char resource[200];
};

static struct outcome call_body(struct env *e, enum dx_op op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct outcome call_body(struct env *e, enum dx_op op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    struct dx_reply *r = call_raw(e, op, text);
    struct outcome o;
    memset(&o, 0, sizeof o);
    o.status = r->status;
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "__type");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (!m)
        m = cJSON_GetObjectItemCaseSensitive(j, "Message");
    if (cJSON_IsString(t))
        snprintf(o.type, sizeof o.type, "%s",
                 strchr(t->valuestring, '#') ? strchr(t->valuestring, '#') + 1 : t->valuestring);
    if (cJSON_IsString(m))
        snprintf(o.msg, sizeof o.msg, "%s", m->valuestring);
    const cJSON *tr =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "ThrottlingReasons"), 0);
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(tr, "reason");
    const cJSON *rr = cJSON_GetObjectItemCaseSensitive(tr, "resource");
    if (cJSON_IsString(rs))
        snprintf(o.reason, sizeof o.reason, "%s", rs->valuestring);
    if (cJSON_IsString(rr))
        snprintf(o.resource, sizeof o.resource, "%s", rr->valuestring);
    cJSON_Delete(j);
    dx_reply_free(r);
    free(text);
    return o;
}

#define MSG_TABLE                                                                                  \
    "The level of configured provisioned throughput for the table was exceeded. Consider "         \
    "increasing your provisioning level with the UpdateTable API"
#define MSG_GSI                                                                                    \
    "The level of configured provisioned throughput for one or more global secondary indexes of "  \
    "the table was exceeded. Consider increasing your provisioning level for the "                 \
    "under-provisioned global secondary indexes with the UpdateTable API"

/* A strongly consistent GetItem of an absent item: exactly 1 read unit. */
static struct outcome get1(struct env *e, const char *table)
{
    return call_body(e, DX_OP_GetItem,
                     "{'TableName':'%s','Key':{'pk':{'S':'nope'}},'ConsistentRead':true}", table);
}

static void assert_throttled(const struct outcome *o, const char *msg, const char *reason)
{
    if (o->status != 400 || strcmp(o->type, "ProvisionedThroughputExceededException") != 0 ||
        strcmp(o->msg, msg) != 0 || strcmp(o->reason, reason) != 0)
        fail_msg("want throttled (%s), got %d %s: %s [%s]", reason, o->status, o->type, o->msg,
                 o->reason);
}

static void test_table_read_throttles_and_refills(void **state)
{
    struct env *e = *state;
    create(e, "rt_t", 2, 5);
    /* A new bucket holds one second of the rate: 2 units. */
    assert_int_equal(get1(e, "rt_t").status, 200);
    assert_int_equal(get1(e, "rt_t").status, 200);
    struct outcome o = get1(e, "rt_t");
    assert_throttled(&o, MSG_TABLE, "TableReadProvisionedThroughputExceeded");
    assert_string_equal(o.resource, "arn:aws:dynamodb:us-east-1:000000000000:table/rt_t");
    assert_int_equal(get1(e, "rt_t").status, 400); /* no time passed */
    /* Half a second at 2/s refills one unit: one read, then throttled again. */
    advance(0.5);
    assert_int_equal(get1(e, "rt_t").status, 200);
    assert_int_equal(get1(e, "rt_t").status, 400);
    /* Eventually consistent reads cost half: 1 unit buys two. */
    advance(0.5);
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            call_body(e, DX_OP_GetItem, "{'TableName':'rt_t','Key':{'pk':{'S':'x'}}}").status, 200);
    assert_int_equal(get1(e, "rt_t").status, 400);
    /* Writes have their own bucket. */
    assert_int_equal(
        call_body(e, DX_OP_PutItem, "{'TableName':'rt_t','Item':{'pk':{'S':'a'}}}").status, 200);
}

static void test_burst_is_capped(void **state)
{
    struct env *e = *state; /* burst: 3 seconds */
    create(e, "bc_t", 2, 1);
    /* A bucket is made at the table's first request, with one second of capacity. */
    assert_int_equal(get1(e, "bc_t").status, 200);
    advance(1000); /* idle: the bucket keeps 3 s of 2/s */
    for (int i = 0; i < 6; i++)
        assert_int_equal(get1(e, "bc_t").status, 200);
    assert_int_equal(get1(e, "bc_t").status, 400);
}

static void test_debt_is_waited_out(void **state)
{
    struct env *e = *state;
    create(e, "dt_t", 1, 100);
    /* 8 items of ~3 KB: a consistent Scan reads ~24 KB = 6 units from a bucket of 1. */
    char big[3001];
    memset(big, 'x', 3000);
    big[3000] = 0;
    for (int i = 0; i < 8; i++)
        put(e, "{'TableName':'dt_t','Item':{'pk':{'S':'k%d'},'v':{'S':'%s'}}}", i, big);
    cJSON *s = ok(e, DX_OP_Scan,
                  "{'TableName':'dt_t','ConsistentRead':true,'ReturnConsumedCapacity':'TOTAL'}");
    const cJSON *cu = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s, "ConsumedCapacity"), "CapacityUnits");
    assert_true(cJSON_IsNumber(cu) && cu->valuedouble == 6);
    cJSON_Delete(s);
    /* Level 1 - 6 = -5: five seconds to pay the debt, a little more to read again. */
    advance(4.9);
    assert_int_equal(get1(e, "dt_t").status, 400);
    advance(0.2);
    assert_int_equal(get1(e, "dt_t").status, 200);
}

static void test_gsi_write_throttles_the_table(void **state)
{
    struct env *e = *state;
    create_gsi(e, "gw_t", 100, 100, 100, 1);
    /* The GSI's bucket holds 1 unit: an item with the index key uses it. */
    assert_int_equal(
        call_body(e, DX_OP_PutItem, "{'TableName':'gw_t','Item':{'pk':{'S':'a'},'g':{'S':'x'}}}")
            .status,
        200);
    struct outcome o =
        call_body(e, DX_OP_PutItem, "{'TableName':'gw_t','Item':{'pk':{'S':'b'},'g':{'S':'y'}}}");
    assert_throttled(&o, MSG_GSI, "IndexWriteProvisionedThroughputExceeded");
    assert_string_equal(o.resource, "arn:aws:dynamodb:us-east-1:000000000000:table/gw_t/index/gix");
    /* Even a write that would not touch the index waits for it, as DynamoDB's back-pressure. */
    o = call_body(e, DX_OP_DeleteItem, "{'TableName':'gw_t','Key':{'pk':{'S':'zz'}}}");
    assert_throttled(&o, MSG_GSI, "IndexWriteProvisionedThroughputExceeded");
    /* Reads of the table are not affected. */
    assert_int_equal(get1(e, "gw_t").status, 200);
    advance(1);
    assert_int_equal(
        call_body(e, DX_OP_PutItem, "{'TableName':'gw_t','Item':{'pk':{'S':'b'},'g':{'S':'y'}}}")
            .status,
        200);
}

static void test_gsi_read_throttles_queries_of_it(void **state)
{
    struct env *e = *state;
    create_gsi(e, "gr_t", 100, 100, 1, 100);
    const char *q = "{'TableName':'gr_t','IndexName':'gix','KeyConditionExpression':'g = :g',"
                    "'ExpressionAttributeValues':{':g':{'S':'x'}}}";
    /* Eventually consistent (the only kind on a GSI): 0.5 each from a bucket of 1. */
    assert_int_equal(call_body(e, DX_OP_Query, "%s", q).status, 200);
    assert_int_equal(call_body(e, DX_OP_Query, "%s", q).status, 200);
    struct outcome o = call_body(e, DX_OP_Query, "%s", q);
    assert_int_equal(o.status, 400);
    assert_string_equal(o.type, "ProvisionedThroughputExceededException");
    assert_string_equal(o.reason, "IndexReadProvisionedThroughputExceeded");
    /* The table itself still reads. */
    assert_int_equal(get1(e, "gr_t").status, 200);
}

static void test_update_table_lifts_throttling(void **state)
{
    struct env *e = *state;
    create(e, "ut_t", 1, 1);
    assert_int_equal(get1(e, "ut_t").status, 200);
    assert_int_equal(get1(e, "ut_t").status, 400);
    cJSON_Delete(ok(e, DX_OP_UpdateTable,
                    "{'TableName':'ut_t','ProvisionedThroughput':{'ReadCapacityUnits':100,"
                    "'WriteCapacityUnits':1}}"));
    advance(0.1); /* 10 units at the new rate */
    for (int i = 0; i < 10; i++)
        assert_int_equal(get1(e, "ut_t").status, 200);
    assert_int_equal(get1(e, "ut_t").status, 400);
    /* Switching to on-demand ends throttling altogether. */
    cJSON_Delete(ok(e, DX_OP_UpdateTable, "{'TableName':'ut_t','BillingMode':'PAY_PER_REQUEST'}"));
    for (int i = 0; i < 20; i++)
        assert_int_equal(get1(e, "ut_t").status, 200);
}

static void test_failed_condition_consumes_write_capacity(void **state)
{
    struct env *e = *state;
    create(e, "cf_t", 5, 2);
    assert_int_equal(
        call_body(e, DX_OP_PutItem, "{'TableName':'cf_t','Item':{'pk':{'S':'a'}}}").status, 200);
    /* The condition fails: no write, but DynamoDB still charges the existing item's unit. */
    struct outcome o = call_body(e, DX_OP_PutItem,
                                 "{'TableName':'cf_t','Item':{'pk':{'S':'a'}},"
                                 "'ConditionExpression':'attribute_not_exists(pk)'}");
    assert_string_equal(o.type, "ConditionalCheckFailedException");
    o = call_body(e, DX_OP_PutItem, "{'TableName':'cf_t','Item':{'pk':{'S':'b'}}}");
    assert_throttled(&o, MSG_TABLE, "TableWriteProvisionedThroughputExceeded");
    char *m = metrics(e);
    has_line(m, "ddax_ConsumedWriteCapacityUnits{table=\"cf_t\"} 2");
    has_line(m, "ddax_WriteThrottleEvents{table=\"cf_t\"} 1");
    has_line(m, "ddax_ThrottledRequests{table=\"cf_t\",operation=\"PutItem\"} 1");
    free(m);
}

static void test_recreated_table_starts_fresh(void **state)
{
    struct env *e = *state;
    create(e, "rc_t", 1, 1);
    assert_int_equal(get1(e, "rc_t").status, 200);
    assert_int_equal(get1(e, "rc_t").status, 400);
    cJSON_Delete(ok(e, DX_OP_DeleteTable, "{'TableName':'rc_t'}"));
    create(e, "rc_t", 1, 1);
    assert_int_equal(get1(e, "rc_t").status, 200);
}

static void test_batches_throttle_when_every_table_is_out(void **state)
{
    struct env *e = *state;
    create(e, "b1_t", 1, 1);
    create(e, "b2_t", 1, 1);
    const char *both = "{'RequestItems':{'b1_t':{'Keys':[{'pk':{'S':'a'}}],'ConsistentRead':true},"
                       "'b2_t':{'Keys':[{'pk':{'S':'a'}}],'ConsistentRead':true}}}";
    assert_int_equal(call_body(e, DX_OP_BatchGetItem, "%s", both).status, 200); /* both at 0 */
    advance(1);
    assert_int_equal(get1(e, "b1_t").status, 200); /* b1 at 0, b2 at 1 */
    /* b2 still has capacity: the batch runs, and b1's keys come back unprocessed. */
    cJSON *j = ok(e, DX_OP_BatchGetItem, "%s", both);
    char *left = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "UnprocessedKeys"));
    assert_string_equal(left, "{\"b1_t\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}}],"
                              "\"ConsistentRead\":true}}");
    free(left);
    cJSON_Delete(j);
    struct outcome o = call_body(e, DX_OP_BatchGetItem, "%s", both); /* both out */
    assert_throttled(&o, MSG_TABLE, "TableReadProvisionedThroughputExceeded");
    /* BatchWriteItem likewise, on the write buckets. */
    const char *w = "{'RequestItems':{'b1_t':[{'PutRequest':{'Item':{'pk':{'S':'a'}}}}],"
                    "'b2_t':[{'PutRequest':{'Item':{'pk':{'S':'a'}}}}]}}";
    /* The write buckets began with the read ones (1 unit) and gained a second since. */
    assert_int_equal(call_body(e, DX_OP_BatchWriteItem, "%s", w).status, 200);
    assert_int_equal(call_body(e, DX_OP_BatchWriteItem, "%s", w).status, 200);
    o = call_body(e, DX_OP_BatchWriteItem, "%s", w);
    assert_throttled(&o, MSG_TABLE, "TableWriteProvisionedThroughputExceeded");
    advance(1);
    put(e, "{'TableName':'b1_t','Item':{'pk':{'S':'b'}}}"); /* b1 at 0, b2 at 1 */
    j = ok(e, DX_OP_BatchWriteItem, "%s", w);
    left = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "UnprocessedItems"));
    assert_string_equal(left, "{\"b1_t\":[{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"a\"}}}}]}");
    free(left);
    cJSON_Delete(j);
    char *m = metrics(e);
    has_line(m, "ddax_ThrottledRequests{table=\"b1_t\",operation=\"BatchGetItem\"} 2");
    has_line(m, "ddax_ThrottledRequests{table=\"b2_t\",operation=\"BatchGetItem\"} 1");
    has_line(m, "ddax_ThrottledRequests{table=\"b1_t\",operation=\"BatchWriteItem\"} 2");
    free(m);
}

static void test_transactions_cancelled_for_throttled_tables(void **state)
{
    struct env *e = *state;
    create(e, "tx_t", 1, 1);
    create(e, "tz_t", 100, 100);
    put(e, "{'TableName':'tx_t','Item':{'pk':{'S':'a'}}}"); /* tx_t's write bucket: 0 */
    const char *w = "{'TransactItems':[{'Put':{'TableName':'tx_t','Item':{'pk':{'S':'b'}}}},"
                    "{'Put':{'TableName':'tz_t','Item':{'pk':{'S':'b'}}}}]}";
    char *text = dequote(w);
    struct dx_reply *r = call_raw(e, DX_OP_TransactWriteItems, text);
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    assert_int_equal(r->status, 400);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "__type");
    assert_non_null(strstr(t->valuestring, "#TransactionCanceledException"));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "Message")->valuestring,
                        "Transaction cancelled, please refer cancellation reasons for specific "
                        "reasons [ProvisionedThroughputExceeded, None]");
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(j, "CancellationReasons");
    assert_int_equal(cJSON_GetArraySize(reasons), 2);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(reasons, 0), "Code")->valuestring,
        "ProvisionedThroughputExceeded");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(reasons, 0), "Message")->valuestring,
        MSG_TABLE);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(reasons, 1), "Code")->valuestring,
        "None");
    cJSON_Delete(j);
    dx_reply_free(r);
    /* Nothing was written. */
    cJSON *g = ok(e, DX_OP_GetItem, "{'TableName':'tz_t','Key':{'pk':{'S':'b'}}}");
    assert_null(cJSON_GetObjectItemCaseSensitive(g, "Item"));
    cJSON_Delete(g);
    /* Refilled, it runs, and is charged at the transactional rate (2 units per write). */
    advance(1);
    r = call_raw(e, DX_OP_TransactWriteItems, text);
    assert_int_equal(r->status, 200);
    dx_reply_free(r);
    free(text);
    char *m = metrics(e);
    has_line(m, "ddax_ConsumedWriteCapacityUnits{table=\"tx_t\"} 3");
    has_line(m, "ddax_ConsumedWriteCapacityUnits{table=\"tz_t\"} 2");
    has_line(m, "ddax_ThrottledRequests{table=\"tx_t\",operation=\"TransactWriteItems\"} 1");
    free(m);
}

static void test_ondemand_is_never_throttled(void **state)
{
    struct env *e = *state;
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'od_t','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                    "'AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'}],"
                    "'BillingMode':'PAY_PER_REQUEST'}"));
    for (int i = 0; i < 200; i++)
        assert_int_equal(get1(e, "od_t").status, 200);
}

static void test_ondemand_ceiling(void **state)
{
    struct env *e = *state; /* ondemand_max_rcu = 2 */
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'om_t','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                    "'AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'}],"
                    "'BillingMode':'PAY_PER_REQUEST'}"));
    assert_int_equal(get1(e, "om_t").status, 200);
    assert_int_equal(get1(e, "om_t").status, 200);
    struct outcome o = get1(e, "om_t");
    assert_int_equal(o.status, 400);
    assert_string_equal(o.type, "ThrottlingException");
    assert_string_equal(o.msg,
                        "Throughput exceeds the maximum OnDemandThroughput configured on table or "
                        "index");
    assert_string_equal(o.reason, "TableReadMaxOnDemandThroughputExceeded");
    /* Writes have no ceiling here. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(
            call_body(e, DX_OP_PutItem, "{'TableName':'om_t','Item':{'pk':{'S':'a'}}}").status,
            200);
    advance(1);
    assert_int_equal(get1(e, "om_t").status, 200);
}

static void test_table_ondemand_throughput(void **state)
{
    struct env *e = *state; /* no engine-wide ceiling */
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'ot_t','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                    "'AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'}],"
                    "'BillingMode':'PAY_PER_REQUEST'}"));
    cJSON_Delete(ok(e, DX_OP_UpdateTable,
                    "{'TableName':'ot_t','OnDemandThroughput':{'MaxReadRequestUnits':3,"
                    "'MaxWriteRequestUnits':-1}}"));
    for (int i = 0; i < 3; i++)
        assert_int_equal(get1(e, "ot_t").status, 200);
    struct outcome o = get1(e, "ot_t");
    assert_string_equal(o.type, "ThrottlingException");
    assert_string_equal(o.reason, "TableReadMaxOnDemandThroughputExceeded");
    for (int i = 0; i < 10; i++) /* -1: no write ceiling */
        assert_int_equal(
            call_body(e, DX_OP_PutItem, "{'TableName':'ot_t','Item':{'pk':{'S':'a'}}}").status,
            200);
    /* Removing the ceiling (-1) ends the throttling. */
    cJSON_Delete(ok(e, DX_OP_UpdateTable,
                    "{'TableName':'ot_t','OnDemandThroughput':{'MaxReadRequestUnits':-1}}"));
    for (int i = 0; i < 10; i++)
        assert_int_equal(get1(e, "ot_t").status, 200);
}

static char *metrics(struct env *e)
{
    struct dx_buf b = DX_BUF_INIT;
    be_metrics_write(e->be, &b);
    dx_buf_putc(&b, 0);
    char *s = strdup(b.p);
    dx_buf_deinit(&b);
    return s;
}

static void has_line(const char *text, const char *line)
{
    char want[512];
    snprintf(want, sizeof want, "\n%s\n", line);
    char *all = malloc(strlen(text) + 2);
    all[0] = '\n';
    strcpy(all + 1, text);
    if (!strstr(all, want))
        fail_msg("metrics lack the line '%s':\n%s", line, text);
    free(all);
}

static void test_metrics_text(void **state)
{
    struct env *e = *state; /* prices 0.25 and 1.25 USD per million */
    create_gsi(e, "mt_t", 5, 5, 5, 5);
    put(e, "{'TableName':'mt_t','Item':{'pk':{'S':'a'},'g':{'S':'x'}}}"); /* 1 + GSI 1 */
    put(e, "{'TableName':'mt_t','Item':{'pk':{'S':'b'}}}");               /* 1 */
    get1(e, "mt_t");                                                      /* 1 */
    cJSON_Delete(ok(e, DX_OP_GetItem, "{'TableName':'mt_t','Key':{'pk':{'S':'a'}}}")); /* 0.5 */
    cJSON_Delete(ok(e, DX_OP_Query,
                    "{'TableName':'mt_t','IndexName':'gix','KeyConditionExpression':'g = :g',"
                    "'ExpressionAttributeValues':{':g':{'S':'x'}}}")); /* GSI 0.5 */
    /* Drain the read bucket (5 units at first, 1.5 used) and get throttled once. */
    for (int i = 0; i < 4; i++)
        get1(e, "mt_t");
    assert_int_equal(get1(e, "mt_t").status, 400);

    char *m = metrics(e);
    has_line(m, "# TYPE ddax_ConsumedReadCapacityUnits counter");
    has_line(m, "ddax_ConsumedReadCapacityUnits{table=\"mt_t\"} 5.5");
    has_line(m, "ddax_ConsumedReadCapacityUnits{table=\"mt_t\",index=\"gix\"} 0.5");
    has_line(m, "ddax_ConsumedWriteCapacityUnits{table=\"mt_t\"} 2");
    has_line(m, "ddax_ConsumedWriteCapacityUnits{table=\"mt_t\",index=\"gix\"} 1");
    has_line(m, "ddax_ReadThrottleEvents{table=\"mt_t\"} 1");
    has_line(m, "ddax_WriteThrottleEvents{table=\"mt_t\"} 0");
    has_line(m, "ddax_ThrottledRequests{table=\"mt_t\",operation=\"GetItem\"} 1");
    has_line(m, "# TYPE ddax_ProvisionedReadCapacityUnits gauge");
    has_line(m, "ddax_ProvisionedReadCapacityUnits{table=\"mt_t\"} 5");
    has_line(m, "ddax_ProvisionedWriteCapacityUnits{table=\"mt_t\",index=\"gix\"} 5");
    /* 6 read units x 0.25 + 3 write units x 1.25, per million. */
    has_line(m, "ddax_estimated_on_demand_cost_usd{table=\"mt_t\"} 5.25e-06");
    /* Every family has its HELP and TYPE once. */
    const char *fams[] = {"ConsumedReadCapacityUnits",
                          "ConsumedWriteCapacityUnits",
                          "ReadThrottleEvents",
                          "WriteThrottleEvents",
                          "ThrottledRequests",
                          "estimated_on_demand_cost_usd",
                          "ProvisionedReadCapacityUnits",
                          "ProvisionedWriteCapacityUnits"};
    for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
        char h[128];
        snprintf(h, sizeof h, "# HELP ddax_%s ", fams[i]);
        const char *p = strstr(m, h);
        assert_non_null(p);
        assert_null(strstr(p + 1, h));
    }
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_refill),
        cmocka_unit_test(test_bucket_take),
        cmocka_unit_test_setup_teardown(test_table_read_throttles_and_refills, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_burst_is_capped, setup_burst3, env_teardown),
        cmocka_unit_test_setup_teardown(test_debt_is_waited_out, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_gsi_write_throttles_the_table, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_gsi_read_throttles_queries_of_it, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_update_table_lifts_throttling, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_failed_condition_consumes_write_capacity, setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_recreated_table_starts_fresh, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_batches_throttle_when_every_table_is_out, setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_transactions_cancelled_for_throttled_tables, setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_ondemand_is_never_throttled, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_ondemand_ceiling, setup_ondemand_max, env_teardown),
        cmocka_unit_test_setup_teardown(test_table_ondemand_throughput, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_metrics_text, setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
