/*
 * Engine-level tests of Time to Live (be_ttl.c, be_ttl_ops.c): a real backend in a temporary
 * directory driven through its dx_api (be_test_env.h). UpdateTimeToLive's validation texts and
 * state rules, DescribeTimeToLive's statuses (also while a change settles), the sweeper deleting
 * exactly the expired items together with their index entries, in bounded slices, the setting
 * surviving a restart, and tables deleted under the sweeper. Bodies use single quotes.
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
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "backend.h"
#include "be_engine.h"
#include "be_ttl.h"
#include "dx_api.h"
#include "dx_buf.h"
#include "dx_op.h"

#include "be_test_env.h"

#define VERR1 "1 validation error detected: "

/* A backend with the sweeper period and the settle delay of the test. */
static struct env *env_ttl(const char *tag, unsigned ttl_ms, unsigned delay_ms)
{
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ddax-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(e->dir));
    struct be_options o = {.data_dir = e->dir,
                           .nosync = 1,
                           .map_size = 256u << 20,
                           .ttl_interval_ms = ttl_ms,
                           .status_delay_ms = delay_ms};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
    return e;
}

static void reopen(struct env *e, unsigned ttl_ms)
{
    be_close(e->be);
    struct be_options o = {
        .data_dir = e->dir, .nosync = 1, .map_size = 256u << 20, .ttl_interval_ms = ttl_ms};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
}

/* Table tt: hash pk (S), range sk (N), GSI gix on g (S), LSI lix on l (S), both ALL. */
static void create_tt(struct env *e, const char *name)
{
    cJSON_Delete(
        ok(e, DX_OP_CreateTable,
           "{'TableName':'%s','AttributeDefinitions':["
           "{'AttributeName':'pk','AttributeType':'S'},"
           "{'AttributeName':'sk','AttributeType':'N'},"
           "{'AttributeName':'g','AttributeType':'S'},"
           "{'AttributeName':'l','AttributeType':'S'}],"
           "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
           "{'AttributeName':'sk','KeyType':'RANGE'}],"
           "'GlobalSecondaryIndexes':[{'IndexName':'gix','KeySchema':["
           "{'AttributeName':'g','KeyType':'HASH'}],"
           "'Projection':{'ProjectionType':'ALL'}}],"
           "'LocalSecondaryIndexes':[{'IndexName':'lix','KeySchema':["
           "{'AttributeName':'pk','KeyType':'HASH'},{'AttributeName':'l','KeyType':'RANGE'}],"
           "'Projection':{'ProjectionType':'ALL'}}],"
           "'BillingMode':'PAY_PER_REQUEST'}",
           name));
}

static void create_simple(struct env *e, const char *name)
{
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'%s','AttributeDefinitions':["
                    "{'AttributeName':'pk','AttributeType':'S'}],"
                    "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                    "'BillingMode':'PAY_PER_REQUEST'}",
                    name));
}

static void ttl_set(struct env *e, const char *table, const char *attr, int enabled)
{
    cJSON *j = ok(e, DX_OP_UpdateTimeToLive,
                  "{'TableName':'%s','TimeToLiveSpecification':{'AttributeName':'%s',"
                  "'Enabled':%s}}",
                  table, attr, enabled ? "true" : "false");
    char *got = cJSON_PrintUnformatted(j);
    char want[512];
    snprintf(want, sizeof want,
             "{\"TimeToLiveSpecification\":{\"Enabled\":%s,\"AttributeName\":\"%s\"}}",
             enabled ? "true" : "false", attr);
    assert_string_equal(got, want);
    free(got);
    cJSON_Delete(j);
}

/* DescribeTimeToLive's answer as compact JSON. */
static void ttl_describe(struct env *e, const char *table, char *out, size_t cap)
{
    cJSON *j = ok(e, DX_OP_DescribeTimeToLive, "{'TableName':'%s'}", table);
    char *s = cJSON_PrintUnformatted(j);
    snprintf(out, cap, "%s", s);
    free(s);
    cJSON_Delete(j);
}

static void assert_describe(struct env *e, const char *table, const char *status, const char *attr)
{
    char got[512], want[512];
    ttl_describe(e, table, got, sizeof got);
    if (attr)
        snprintf(
            want, sizeof want,
            "{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"%s\",\"AttributeName\":\"%s\"}}",
            status, attr);
    else
        snprintf(want, sizeof want, "{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"%s\"}}",
                 status);
    assert_string_equal(got, want);
}

static long long now_s(void)
{
    return (long long)time(NULL);
}

/* Kicks the sweeper and waits until it has made `rounds` more rounds. */
static void sweep(struct env *e, int rounds)
{
    struct backend *be = e->be;
    struct be_ttl_stats s0, s;
    be_ttl_stats_get(be->ttl, &s0);
    for (int i = 0; i < 20000; i++) {
        be_ttl_kick(be->ttl);
        be_ttl_stats_get(be->ttl, &s);
        if (s.rounds >= s0.rounds + (uint64_t)rounds)
            return;
        usleep(1000);
    }
    fail_msg("the sweeper made no round");
}

/* Items of a Scan (ConsistentRead) of table, or of one of its indexes. */
static int scan_count(struct env *e, const char *table, const char *index)
{
    cJSON *j;
    if (index)
        j = ok(e, DX_OP_Scan, "{'TableName':'%s','IndexName':'%s','Select':'COUNT'}", table, index);
    else
        j = ok(e, DX_OP_Scan, "{'TableName':'%s','ConsistentRead':true,'Select':'COUNT'}", table);
    int n = count_of(j, "Count");
    cJSON_Delete(j);
    return n;
}

static int item_exists(struct env *e, const char *table, const char *pk, int sk)
{
    cJSON *j = ok(e, DX_OP_GetItem,
                  "{'TableName':'%s','Key':{'pk':{'S':'%s'},'sk':{'N':'%d'}},"
                  "'ConsistentRead':true}",
                  table, pk, sk);
    int found = cJSON_GetObjectItemCaseSensitive(j, "Item") != NULL;
    cJSON_Delete(j);
    return found;
}

/* The engine's metric `name` of table `table` (not of an index) as text; "" when absent. */
static void metric(struct env *e, const char *name, const char *table, char *out, size_t cap)
{
    struct dx_buf b = DX_BUF_INIT;
    be_metrics_write(e->be, &b);
    dx_buf_putc(&b, 0);
    char needle[256];
    snprintf(needle, sizeof needle, "ddax_%s{table=\"%s\"} ", name, table);
    const char *p = strstr(b.p, needle);
    out[0] = 0;
    if (p) {
        p += strlen(needle);
        size_t n = strcspn(p, "\n");
        snprintf(out, cap, "%.*s", (int)n, p);
    }
    dx_buf_deinit(&b);
}

/* ---- validation ---- */

static int setup_plain(void **state)
{
    struct env *e = env_ttl("ttl", 50, 0);
    create_simple(e, "vtab");
    *state = e;
    return 0;
}

struct fail_case {
    enum dx_op op;
    const char *body;
    const char *type;
    const char *msg;
};

static void test_validation(void **state)
{
    struct env *e = *state;
    char longname[300], body[600], msg[800];
    memset(longname, 'a', 256);
    longname[256] = 0;
    static const struct fail_case cases[] = {
        {DX_OP_UpdateTimeToLive, "{}", "ValidationException",
         "The parameter 'TableName' is required but was not present in the request"},
        {DX_OP_UpdateTimeToLive, "{'TableName':'ab'}", "ValidationException",
         "TableName must be at least 3 characters long and at most 255 characters long"},
        {DX_OP_UpdateTimeToLive, "{'TableName':123}", "SerializationException",
         "NUMBER_VALUE cannot be converted to String"},
        {DX_OP_UpdateTimeToLive, "{'TableName':'vtab','TimeToLiveSpecification':'x'}",
         "SerializationException", "Expected null"},
        {DX_OP_UpdateTimeToLive,
         "{'TableName':'vtab','TimeToLiveSpecification':{'AttributeName':1,'Enabled':true}}",
         "SerializationException", "NUMBER_VALUE cannot be converted to String"},
        {DX_OP_UpdateTimeToLive, "{'TableName':'vtab'}", "ValidationException",
         VERR1 "Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member "
               "must not be null"},
        {DX_OP_UpdateTimeToLive, "{'TableName':'abc;'}", "ValidationException",
         "2 validation errors detected: Value 'abc;' at 'tableName' failed to satisfy "
         "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value "
         "null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be "
         "null"},
        {DX_OP_UpdateTimeToLive, "{'TableName':'vtab','TimeToLiveSpecification':{}}",
         "ValidationException",
         "2 validation errors detected: Value null at 'timeToLiveSpecification.attributeName' "
         "failed to satisfy constraint: Member must not be null; Value null at "
         "'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be "
         "null"},
        {DX_OP_UpdateTimeToLive,
         "{'TableName':'vtab','TimeToLiveSpecification':{'AttributeName':null,'Enabled':true}}",
         "ValidationException",
         VERR1 "Value null at 'timeToLiveSpecification.attributeName' failed to satisfy "
               "constraint: Member must not be null"},
        {DX_OP_UpdateTimeToLive,
         "{'TableName':'vtab','TimeToLiveSpecification':{'AttributeName':'','Enabled':true}}",
         "ValidationException", "TimeToLiveSpecification.AttributeName must be non empty"},
        {DX_OP_UpdateTimeToLive,
         "{'TableName':'nope','TimeToLiveSpecification':{'AttributeName':'a','Enabled':true}}",
         "ResourceNotFoundException", "Requested resource not found: Table: nope not found"},
        {DX_OP_UpdateTimeToLive,
         "{'TableName':'arn:aws:dynamodb:us-east-1:000000000000:table/nope',"
         "'TimeToLiveSpecification':{'AttributeName':'a','Enabled':true}}",
         "ResourceNotFoundException",
         "Requested resource not found: Table: "
         "arn:aws:dynamodb:us-east-1:000000000000:table/nope not found"},
        {DX_OP_DescribeTimeToLive, "{}", "ValidationException",
         "The parameter 'TableName' is required but was not present in the request"},
        {DX_OP_DescribeTimeToLive, "{'TableName':true}", "SerializationException",
         "TRUE_VALUE cannot be converted to String"},
        {DX_OP_DescribeTimeToLive, "{'TableName':'abc;'}", "ValidationException",
         VERR1 "Value 'abc;' at 'tableName' failed to satisfy constraint: Member must satisfy "
               "regular expression pattern: [a-zA-Z0-9_.-]+"},
        {DX_OP_DescribeTimeToLive, "{'TableName':'nope'}", "ResourceNotFoundException",
         "Requested resource not found: Table: nope not found"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fails(e, cases[i].op, cases[i].body, cases[i].type, cases[i].msg);

    snprintf(body, sizeof body,
             "{'TableName':'vtab','TimeToLiveSpecification':{'AttributeName':'%s','Enabled':true}}",
             longname);
    snprintf(msg, sizeof msg,
             VERR1 "Value '%s' at 'timeToLiveSpecification.attributeName' failed to satisfy "
                   "constraint: Member must have length less than or equal to 255",
             longname);
    fails(e, DX_OP_UpdateTimeToLive, body, "ValidationException", msg);
    /* 255 characters is fine (multi-byte characters count once). */
    longname[255] = 0;
    ttl_set(e, "vtab", longname, 1);
    ttl_set(e, "vtab", longname, 0);
    ttl_set(e, "vtab", "\xc3\xa9t\xc3\xa9", 1);
    ttl_set(e, "vtab", "\xc3\xa9t\xc3\xa9", 0);
    /* Nothing above changed the setting. */
    assert_describe(e, "vtab", "DISABLED", NULL);
}

/* ---- enabling and disabling ---- */

static void test_enable_disable(void **state)
{
    struct env *e = *state;
    assert_describe(e, "vtab", "DISABLED", NULL);
    fails(e, DX_OP_UpdateTimeToLive,
          "{'TableName':'vtab','TimeToLiveSpecification':{'AttributeName':'exp','Enabled':false}}",
          "ValidationException", "TimeToLive is already disabled");

    ttl_set(e, "vtab", "exp", 1);
    assert_describe(e, "vtab", "ENABLED", "exp");
    fails(e, DX_OP_UpdateTimeToLive,
          "{'TableName':'vtab','TimeToLiveSpecification':{'AttributeName':'exp','Enabled':true}}",
          "ValidationException", "TimeToLive is already enabled");
    fails(e, DX_OP_UpdateTimeToLive,
          "{'TableName':'vtab','TimeToLiveSpecification':{'AttributeName':'other','Enabled':true}}",
          "ValidationException",
          "TimeToLive is active on a different AttributeName: current AttributeName is exp");
    fails(
        e, DX_OP_UpdateTimeToLive,
        "{'TableName':'vtab','TimeToLiveSpecification':{'AttributeName':'other','Enabled':false}}",
        "ValidationException",
        "TimeToLive is active on a different AttributeName: current AttributeName is exp");
    assert_describe(e, "vtab", "ENABLED", "exp");

    ttl_set(e, "vtab", "exp", 0);
    assert_describe(e, "vtab", "DISABLED", NULL);
    fails(
        e, DX_OP_UpdateTimeToLive,
        "{'TableName':'vtab','TimeToLiveSpecification':{'AttributeName':'other','Enabled':false}}",
        "ValidationException", "TimeToLive is already disabled");

    /* Another attribute after a disable; the table's ARN works as its name. */
    cJSON *j = ok(e, DX_OP_UpdateTimeToLive,
                  "{'TableName':'arn:aws:dynamodb:us-east-1:000000000000:table/vtab',"
                  "'TimeToLiveSpecification':{'AttributeName':'other','Enabled':true}}");
    cJSON_Delete(j);
    j = ok(e, DX_OP_DescribeTimeToLive,
           "{'TableName':'arn:aws:dynamodb:us-east-1:000000000000:table/vtab'}");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "TimeToLiveDescription");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "AttributeName")->valuestring, "other");
    cJSON_Delete(j);

    /* The TTL setting is not part of DescribeTable, and UpdateTable keeps it. */
    j = ok(e, DX_OP_DescribeTable, "{'TableName':'vtab'}");
    char *s = cJSON_PrintUnformatted(j);
    assert_null(strstr(s, "other"));
    free(s);
    cJSON_Delete(j);
    cJSON_Delete(
        ok(e, DX_OP_UpdateTable, "{'TableName':'vtab','DeletionProtectionEnabled':false}"));
    assert_describe(e, "vtab", "ENABLED", "other");
    ttl_set(e, "vtab", "other", 0);
}

/* ENABLING / DISABLING while a change settles (status_delay_ms), and no second change then. */
static void test_settling(void **state)
{
    (void)state;
    struct env *e = env_ttl("ttl-settle", 50, 400);
    create_simple(e, "stab");
    /* Not while the table is being created. */
    fails(e, DX_OP_DescribeTimeToLive, "{'TableName':'stab'}", "ValidationException",
          "Cannot describe time to live while table is in CREATING state: Current table state "
          "is CREATING");
    fails(e, DX_OP_UpdateTimeToLive,
          "{'TableName':'stab','TimeToLiveSpecification':{'AttributeName':'exp','Enabled':true}}",
          "ResourceInUseException",
          "Attempt to change a resource which is still in use: Table stab is being created");
    usleep(450 * 1000); /* the table itself settles */
    ttl_set(e, "stab", "exp", 1);
    assert_describe(e, "stab", "ENABLING", "exp");
    /* What the change would do is judged first ... */
    fails(e, DX_OP_UpdateTimeToLive,
          "{'TableName':'stab','TimeToLiveSpecification':{'AttributeName':'exp','Enabled':true}}",
          "ValidationException", "TimeToLive is already enabled");
    /* ... then how soon it comes. */
    fails(e, DX_OP_UpdateTimeToLive,
          "{'TableName':'stab','TimeToLiveSpecification':{'AttributeName':'exp','Enabled':false}}",
          "ValidationException",
          "Time to live has been modified multiple times within a fixed interval");
    usleep(450 * 1000);
    assert_describe(e, "stab", "ENABLED", "exp");
    ttl_set(e, "stab", "exp", 0);
    assert_describe(e, "stab", "DISABLING", "exp");
    fails(e, DX_OP_UpdateTimeToLive,
          "{'TableName':'stab','TimeToLiveSpecification':{'AttributeName':'exp','Enabled':true}}",
          "ValidationException",
          "Time to live has been modified multiple times within a fixed interval");
    usleep(450 * 1000);
    assert_describe(e, "stab", "DISABLED", NULL);
    /* While it is being deleted: no description, but a change is accepted. */
    cJSON_Delete(ok(e, DX_OP_DeleteTable, "{'TableName':'stab'}"));
    fails(e, DX_OP_DescribeTimeToLive, "{'TableName':'stab'}", "ValidationException",
          "Cannot describe time to live while table is in DELETING state: Current table state "
          "is DELETING");
    ttl_set(e, "stab", "exp", 1);
    usleep(450 * 1000);
    fails(e, DX_OP_DescribeTimeToLive, "{'TableName':'stab'}", "ResourceNotFoundException",
          "Requested resource not found: Table: stab not found");
    void *p = e;
    env_teardown(&p);
}

/* ---- the sweeper ---- */

static int setup_sweep(void **state)
{
    struct env *e = env_ttl("ttl-sweep", 50, 0);
    create_tt(e, "ttab");
    *state = e;
    return 0;
}

static void put_tt(struct env *e, const char *pk, int sk, const char *ttl_json)
{
    put(e,
        "{'TableName':'ttab','Item':{'pk':{'S':'%s'},'sk':{'N':'%d'},'g':{'S':'G%d'},"
        "'l':{'S':'L%d'}%s%s}}",
        pk, sk, sk % 3, sk, ttl_json ? ",'exp':" : "", ttl_json ? ttl_json : "");
}

static void test_sweeper_deletes_only_expired(void **state)
{
    struct env *e = *state;
    long long now = now_s();
    char v[64];
    /* Kept: future, non-number, number set, absent, more than five years past, on another
     * attribute. */
    snprintf(v, sizeof v, "{'N':'%lld'}", now + 3600);
    put_tt(e, "keep", 1, v);
    snprintf(v, sizeof v, "{'S':'%lld'}", now - 100);
    put_tt(e, "keep", 2, v);
    snprintf(v, sizeof v, "{'NS':['%lld']}", now - 100);
    put_tt(e, "keep", 3, v);
    put_tt(e, "keep", 4, NULL);
    snprintf(v, sizeof v, "{'N':'%lld'}", now - 6LL * 365 * 86400);
    put_tt(e, "keep", 5, v);
    snprintf(v, sizeof v, "{'M':{'exp':{'N':'%lld'}}}", now - 100);
    put_tt(e, "keep", 6, v);
    /* Deleted: past, fractional past, just past, about four years past. */
    snprintf(v, sizeof v, "{'N':'%lld'}", now - 100);
    put_tt(e, "gone", 1, v);
    snprintf(v, sizeof v, "{'N':'%lld.25'}", now - 2);
    put_tt(e, "gone", 2, v);
    snprintf(v, sizeof v, "{'N':'%lld'}", now - 1);
    put_tt(e, "gone", 3, v);
    snprintf(v, sizeof v, "{'N':'%lld'}", now - 4LL * 365 * 86400);
    put_tt(e, "gone", 4, v);
    snprintf(v, sizeof v, "{'N':'%lld'}", now - 50);
    put_tt(e, "keep", 7, v); /* expired, but deleted by hand before the sweep */

    /* Not enabled yet: nothing goes. */
    sweep(e, 2);
    assert_int_equal(scan_count(e, "ttab", NULL), 11);

    /* Enabled on another attribute: still nothing. */
    ttl_set(e, "ttab", "other", 1);
    sweep(e, 2);
    assert_int_equal(scan_count(e, "ttab", NULL), 11);
    ttl_set(e, "ttab", "other", 0);

    cJSON_Delete(
        ok(e, DX_OP_DeleteItem, "{'TableName':'ttab','Key':{'pk':{'S':'keep'},'sk':{'N':'7'}}}"));
    struct be_ttl_stats s0, s;
    be_ttl_stats_get(e->be->ttl, &s0);
    ttl_set(e, "ttab", "exp", 1);
    char wcu0[64], wcu1[64], rcu0[64], rcu1[64];
    metric(e, "ConsumedWriteCapacityUnits", "ttab", wcu0, sizeof wcu0);
    metric(e, "ConsumedReadCapacityUnits", "ttab", rcu0, sizeof rcu0);
    sweep(e, 2);
    be_ttl_stats_get(e->be->ttl, &s);
    assert_int_equal(s.deleted - s0.deleted, 4);
    /* TTL deletions consume no capacity. */
    metric(e, "ConsumedWriteCapacityUnits", "ttab", wcu1, sizeof wcu1);
    metric(e, "ConsumedReadCapacityUnits", "ttab", rcu1, sizeof rcu1);
    assert_true(wcu0[0] != 0);
    assert_string_equal(wcu0, wcu1);
    assert_string_equal(rcu0, rcu1);
    for (int i = 1; i <= 6; i++)
        assert_true(item_exists(e, "ttab", "keep", i));
    for (int i = 1; i <= 4; i++)
        assert_false(item_exists(e, "ttab", "gone", i));
    /* The index entries went with the items. */
    assert_int_equal(scan_count(e, "ttab", NULL), 6);
    assert_int_equal(scan_count(e, "ttab", "gix"), 6);
    assert_int_equal(scan_count(e, "ttab", "lix"), 6);
    cJSON *q = ok(e, DX_OP_Query,
                  "{'TableName':'ttab','IndexName':'lix','KeyConditionExpression':'pk = :p',"
                  "'ExpressionAttributeValues':{':p':{'S':'gone'}},'Select':'COUNT'}");
    assert_int_equal(count_of(q, "Count"), 0);
    cJSON_Delete(q);

    /* An expired item written now goes on the next pass; one updated into the future stays. */
    snprintf(v, sizeof v, "{'N':'%lld'}", now - 10);
    put_tt(e, "late", 1, v);
    cJSON_Delete(ok(e, DX_OP_UpdateItem,
                    "{'TableName':'ttab','Key':{'pk':{'S':'keep'},'sk':{'N':'1'}},"
                    "'UpdateExpression':'SET exp = :e','ExpressionAttributeValues':"
                    "{':e':{'N':'%lld'}}}",
                    now + 7200));
    sweep(e, 2);
    assert_false(item_exists(e, "ttab", "late", 1));
    assert_true(item_exists(e, "ttab", "keep", 1));

    /* Disabled: expired items stay. */
    ttl_set(e, "ttab", "exp", 0);
    put_tt(e, "late", 2, v);
    sweep(e, 2);
    assert_true(item_exists(e, "ttab", "late", 2));
}

/* Writes items k<from>..k<from+n-1> (6 digits) to table by BatchWriteItem: every third one
 * (k % 3 == 0) with exp = later, the others with exp = expired. */
static void put_expiring(struct env *e, const char *table, int from, int n, long long expired,
                         long long later)
{
    for (int i = from; i < from + n; i += 25) {
        char body[8192];
        int used = snprintf(body, sizeof body, "{'RequestItems':{'%s':[", table);
        for (int k = i; k < i + 25 && k < from + n; k++)
            used += snprintf(body + used, sizeof body - (size_t)used,
                             "%s{'PutRequest':{'Item':{'pk':{'S':'k%06d'},'exp':{'N':'%lld'}}}}",
                             k > i ? "," : "", k, k % 3 ? expired : later);
        snprintf(body + used, sizeof body - (size_t)used, "]}}");
        char *text = dequote(body);
        struct dx_reply *r = call_raw(e, DX_OP_BatchWriteItem, text);
        assert_int_equal(r->status, 200);
        dx_reply_free(r);
        free(text);
    }
}

/* A large table is swept in slices of at most BE_TTL_SLICE items, each followed by at most
 * one job of at most BE_TTL_SLICE deletes, while reads and writes go on. */
static void test_sweeper_bounded_slices(void **state)
{
    (void)state;
    struct env *e = env_ttl("ttl-slices", 30, 0);
    create_simple(e, "bigt");
    long long now = now_s();
    const int n = 1500;
    put_expiring(e, "bigt", 0, n, now - 5, now + 3600);
    ttl_set(e, "bigt", "exp", 1);
    int keep = n / 3;
    for (int i = 0; i < 20000; i++) {
        /* A read and a write between the sweeper's slices. */
        cJSON_Delete(ok(e, DX_OP_GetItem, "{'TableName':'bigt','Key':{'pk':{'S':'k000000'}}}"));
        put(e, "{'TableName':'bigt','Item':{'pk':{'S':'w%d'}}}", i % 10);
        if (scan_count(e, "bigt", NULL) == keep + 10)
            break;
        usleep(2000);
    }
    assert_int_equal(scan_count(e, "bigt", NULL), keep + 10);
    struct be_ttl_stats s;
    /* A job's deletions are visible once its group commits, its count a moment later (the
     * writer completes jobs after the commit): wait for the count to catch up. */
    for (int i = 0; i < 2000; i++) {
        be_ttl_stats_get(e->be->ttl, &s);
        if (s.deleted >= (uint64_t)(n - keep))
            break;
        usleep(1000);
    }
    assert_int_equal(s.deleted, n - keep);
    assert_true(s.max_slice <= BE_TTL_SLICE);
    assert_true(s.max_job <= BE_TTL_SLICE);
    assert_true(s.slices >= (uint64_t)(n / BE_TTL_SLICE));
    assert_true(s.jobs >= (uint64_t)((n - keep) / BE_TTL_SLICE));
    assert_int_equal(s.failed_jobs, 0);
    void *p = e;
    env_teardown(&p);
}

/* The setting survives a restart, and the sweeper runs on it after the restart. */
static void test_restart(void **state)
{
    (void)state;
    struct env *e = env_ttl("ttl-restart", 50, 0);
    create_simple(e, "rsta");
    create_simple(e, "rst2");
    ttl_set(e, "rsta", "exp", 1);
    ttl_set(e, "rst2", "x", 1);
    ttl_set(e, "rst2", "x", 0);
    reopen(e, 50);
    assert_describe(e, "rsta", "ENABLED", "exp");
    assert_describe(e, "rst2", "DISABLED", NULL);
    fails(e, DX_OP_UpdateTimeToLive,
          "{'TableName':'rsta','TimeToLiveSpecification':{'AttributeName':'exp','Enabled':true}}",
          "ValidationException", "TimeToLive is already enabled");
    put(e, "{'TableName':'rsta','Item':{'pk':{'S':'a'},'exp':{'N':'%lld'}}}", now_s() - 10);
    put(e, "{'TableName':'rsta','Item':{'pk':{'S':'b'},'exp':{'N':'%lld'}}}", now_s() + 3600);
    /* Closed with the sweeper idle or busy: either way it stops cleanly. */
    reopen(e, 50);
    sweep(e, 2);
    assert_int_equal(scan_count(e, "rsta", NULL), 1);
    void *p = e;
    env_teardown(&p);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* be_close stops a busy sweeper promptly, and the walk starts again after the restart. */
static void test_stop_while_busy(void **state)
{
    (void)state;
    struct env *e = env_ttl("ttl-stop", 20, 0);
    create_simple(e, "stopt");
    const int n = 6000;
    put_expiring(e, "stopt", 0, n, now_s() - 5, now_s() - 5);
    ttl_set(e, "stopt", "exp", 1);
    struct be_ttl_stats s;
    for (int i = 0; i < 20000; i++) {
        be_ttl_stats_get(e->be->ttl, &s);
        if (s.deleted > 0)
            break;
        usleep(200);
    }
    assert_true(s.deleted > 0);
    double t0 = mono_now();
    be_close(e->be);
    double took = mono_now() - t0;
    assert_true(took < 1.0);
    struct be_options o = {
        .data_dir = e->dir, .nosync = 1, .map_size = 256u << 20, .ttl_interval_ms = 20};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
    for (int i = 0; i < 2000 && scan_count(e, "stopt", NULL) > 0; i++)
        usleep(5000);
    assert_int_equal(scan_count(e, "stopt", NULL), 0);
    void *p = e;
    env_teardown(&p);
}

/* Tables deleted (and created again under the same name) while the sweeper works on them. */
static void test_table_deleted_while_sweeping(void **state)
{
    (void)state;
    struct env *e = env_ttl("ttl-drop", 10, 0);
    long long now = now_s();
    for (int round = 0; round < 6; round++) {
        create_simple(e, "drop");
        put_expiring(e, "drop", 0, 300, now - 5, now - 5);
        ttl_set(e, "drop", "exp", 1);
        usleep((useconds_t)(round * 3000));
        cJSON_Delete(ok(e, DX_OP_DeleteTable, "{'TableName':'drop'}"));
    }
    /* The last incarnation, never enabled, keeps its expired items. */
    create_simple(e, "drop");
    put(e, "{'TableName':'drop','Item':{'pk':{'S':'x'},'exp':{'N':'%lld'}}}", now - 5);
    sweep(e, 3);
    assert_int_equal(scan_count(e, "drop", NULL), 1);
    struct be_ttl_stats s;
    be_ttl_stats_get(e->be->ttl, &s);
    assert_int_equal(s.failed_jobs, 0);
    void *p = e;
    env_teardown(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_validation, setup_plain, env_teardown),
        cmocka_unit_test_setup_teardown(test_enable_disable, setup_plain, env_teardown),
        cmocka_unit_test(test_settling),
        cmocka_unit_test_setup_teardown(test_sweeper_deletes_only_expired, setup_sweep,
                                        env_teardown),
        cmocka_unit_test(test_sweeper_bounded_slices),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_stop_while_busy),
        cmocka_unit_test(test_table_deleted_while_sweeping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
