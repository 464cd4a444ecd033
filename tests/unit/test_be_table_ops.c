/*
 * Engine-level tests of the control plane (CreateTable, DescribeTable, ListTables,
 * UpdateTable, DeleteTable): a real backend in a temporary directory, driven through its
 * dx_api with JSON bodies as a client sends them. Checks the TableDescription members clients
 * read, DynamoDB's error types and texts (validation order included), and that the catalog
 * survives a restart.
 *
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

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct dx_reply *reply;
};

static void on_done(struct dx_reply *reply, void *arg)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->reply = reply;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

struct env {
    char dir[64];
    struct backend *be;
    struct dx_api api;
};

static char *dequote(const char *s)
{
    char *b = strdup(s);
    for (char *p = b; *p; p++)
        if (*p == '\'')
            *p = '"';
    return b;
}

static struct dx_reply *call(struct env *e, enum dx_op op, const char *body)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL};
    char *text = dequote(body);
    struct dx_call c = {.op = op, .body = text, .len = strlen(text)};
    dx_api_call(&e->api, &c, on_done, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.reply)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    free(text);
    return w.reply;
}

/* A successful call's parsed body (the caller deletes it). */
static cJSON *ok(struct env *e, enum dx_op op, const char *body)
{
    struct dx_reply *r = call(e, op, body);
    if (r->status != 200)
        fail_msg("%s %s -> %d %.*s", dx_op_name(op), body, r->status, (int)r->len, r->body);
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    assert_non_null(j);
    dx_reply_free(r);
    return j;
}

static void ok0(struct env *e, enum dx_op op, const char *body)
{
    cJSON_Delete(ok(e, op, body));
}

/* The call must fail with error `type` (after the '#') and exactly `msg`. */
static void fails(struct env *e, enum dx_op op, const char *body, const char *type, const char *msg)
{
    struct dx_reply *r = call(e, op, body);
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    const cJSON *t = cJSON_GetObjectItem(j, "__type");
    const cJSON *m = cJSON_GetObjectItem(j, "message");
    if (!m)
        m = cJSON_GetObjectItem(j, "Message");
    const char *hash = cJSON_IsString(t) ? strchr(t->valuestring, '#') : NULL;
    /* msg NULL: any message (type errors are worded by the shared JSON checker). */
    if (r->status != 400 || !hash || strcmp(hash + 1, type) != 0 ||
        (msg && (!cJSON_IsString(m) || strcmp(m->valuestring, msg) != 0)))
        fail_msg("%s %s\n  want 400 %s: %s\n  got  %d %.*s", dx_op_name(op), body, type, msg,
                 r->status, (int)r->len, r->body);
    cJSON_Delete(j);
    dx_reply_free(r);
}

static void open_backend(struct env *e)
{
    struct be_options o = {.data_dir = e->dir, .nosync = 1, .map_size = 64u << 20};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ddax-tables-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    open_backend(e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    be_close(e->be);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    int rc = system(cmd);
    free(e);
    return rc == 0 ? 0 : -1;
}

static const cJSON *path(const cJSON *j, const char *p)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", p);
    for (char *tok = strtok(buf, "."); tok && j; tok = strtok(NULL, "."))
        j = cJSON_GetObjectItemCaseSensitive(j, tok);
    return j;
}

static void assert_str_at(const cJSON *j, const char *p, const char *want)
{
    const cJSON *v = path(j, p);
    if (!cJSON_IsString(v) || strcmp(v->valuestring, want) != 0)
        fail_msg("%s: want %s, got %s", p, want, v ? cJSON_PrintUnformatted(v) : "nothing");
}

static void assert_num_at(const cJSON *j, const char *p, double want)
{
    const cJSON *v = path(j, p);
    if (!cJSON_IsNumber(v) || v->valuedouble != want)
        fail_msg("%s: want %g, got %s", p, want, v ? cJSON_PrintUnformatted(v) : "nothing");
}

#define HASH_PPR(name)                                                                             \
    "{'TableName':'" name "','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'}]," \
    "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],'BillingMode':'PAY_PER_REQUEST'}"
#define HASH_PT5(name)                                                                             \
    "{'TableName':'" name "','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'}]," \
    "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"                                       \
    "'ProvisionedThroughput':{'ReadCapacityUnits':5,'WriteCapacityUnits':5}}"

/* Parses `want` (single-quoted JSON) and compares it with got after removing the members
 * that differ per run (TableId, CreationDateTime, LastIncrease/DecreaseDateTime, ...). */
static void strip_volatile(cJSON *j)
{
    static const char *const names[] = {"TableId",
                                        "CreationDateTime",
                                        "LastIncreaseDateTime",
                                        "LastDecreaseDateTime",
                                        "LastUpdateToPayPerRequestDateTime",
                                        "LatestStreamLabel",
                                        "LatestStreamArn"};
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(j, names[i]);
    cJSON *c;
    cJSON_ArrayForEach(c, j) strip_volatile(c);
}

static void assert_json(const cJSON *got, const char *want)
{
    char *text = dequote(want);
    cJSON *w = cJSON_Parse(text);
    free(text);
    assert_non_null(w);
    cJSON *g = cJSON_Duplicate(got, 1);
    strip_volatile(g);
    if (!cJSON_Compare(w, g, 1)) {
        char *gs = cJSON_PrintUnformatted(g), *ws = cJSON_PrintUnformatted(w);
        fail_msg("\n  want %s\n  got  %s", ws, gs);
    }
    cJSON_Delete(w);
    cJSON_Delete(g);
}

static void test_create_and_describe(void **state)
{
    struct env *e = *state;
    cJSON *c = ok(e, DX_OP_CreateTable, HASH_PPR("tab1"));
    const cJSON *d = path(c, "TableDescription");
    assert_true(cJSON_IsNumber(path(d, "CreationDateTime")));
    assert_true(path(d, "CreationDateTime")->valuedouble > 1.6e9);
    assert_int_equal(strlen(path(d, "TableId")->valuestring), 36);
    assert_true(cJSON_IsNumber(path(d, "BillingModeSummary.LastUpdateToPayPerRequestDateTime")));
    /* DynamoDB answers CREATING and leaves DeletionProtectionEnabled out unless requested. */
    assert_json(d, "{'AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'}],"
                   "'TableName':'tab1','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                   "'TableStatus':'CREATING','ProvisionedThroughput':{'NumberOfDecreasesToday':0,"
                   "'ReadCapacityUnits':0,'WriteCapacityUnits':0},'TableSizeBytes':0,"
                   "'ItemCount':0,'TableArn':'arn:aws:dynamodb:us-east-1:000000000000:table/tab1',"
                   "'BillingModeSummary':{'BillingMode':'PAY_PER_REQUEST'}}");
    char *id = strdup(path(d, "TableId")->valuestring);
    double created = path(d, "CreationDateTime")->valuedouble;

    cJSON *g = ok(e, DX_OP_DescribeTable, "{'TableName':'tab1'}");
    const cJSON *t = path(g, "Table");
    assert_str_at(t, "TableId", id);
    assert_num_at(t, "CreationDateTime", created);
    assert_json(t, "{'AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'}],"
                   "'TableName':'tab1','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}],"
                   "'TableStatus':'ACTIVE','ProvisionedThroughput':{'NumberOfDecreasesToday':0,"
                   "'ReadCapacityUnits':0,'WriteCapacityUnits':0},'TableSizeBytes':0,"
                   "'ItemCount':0,'TableArn':'arn:aws:dynamodb:us-east-1:000000000000:table/tab1',"
                   "'BillingModeSummary':{'BillingMode':'PAY_PER_REQUEST'},"
                   "'DeletionProtectionEnabled':false}");
    cJSON_Delete(g);

    /* By ARN too. */
    g = ok(e, DX_OP_DescribeTable,
           "{'TableName':'arn:aws:dynamodb:us-east-1:000000000000:table/tab1'}");
    assert_str_at(path(g, "Table"), "TableId", id);
    cJSON_Delete(g);
    free(id);
    cJSON_Delete(c);
}

static void test_describe_provisioned_with_indexes(void **state)
{
    struct env *e = *state;
    cJSON *c = ok(e, DX_OP_CreateTable,
                  "{'TableName':'idx','AttributeDefinitions':[{'AttributeName':'pk',"
                  "'AttributeType':'S'},{'AttributeName':'sk','AttributeType':'N'},"
                  "{'AttributeName':'l','AttributeType':'B'},{'AttributeName':'g',"
                  "'AttributeType':'S'}],'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
                  "{'AttributeName':'sk','KeyType':'RANGE'}],'LocalSecondaryIndexes':[{"
                  "'IndexName':'by_l','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
                  "{'AttributeName':'l','KeyType':'RANGE'}],'Projection':{'ProjectionType':"
                  "'INCLUDE','NonKeyAttributes':['x','y']}}],'GlobalSecondaryIndexes':[{"
                  "'IndexName':'by_g','KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],"
                  "'Projection':{'ProjectionType':'KEYS_ONLY'},'ProvisionedThroughput':{"
                  "'ReadCapacityUnits':3,'WriteCapacityUnits':4}}],'ProvisionedThroughput':{"
                  "'ReadCapacityUnits':5,'WriteCapacityUnits':6},'DeletionProtectionEnabled':false,"
                  "'TableClass':'STANDARD_INFREQUENT_ACCESS'}");
    /* The CreateTable response reports the new GSI as CREATING. */
    const cJSON *gsis = path(c, "TableDescription.GlobalSecondaryIndexes");
    assert_str_at(cJSON_GetArrayItem(gsis, 0), "IndexStatus", "CREATING");
    assert_false(cJSON_IsTrue(path(c, "TableDescription.DeletionProtectionEnabled")));
    assert_non_null(path(c, "TableDescription.DeletionProtectionEnabled"));
    cJSON_Delete(c);

    cJSON *g = ok(e, DX_OP_DescribeTable, "{'TableName':'idx'}");
    const char *arn = "arn:aws:dynamodb:us-east-1:000000000000:table/idx";
    (void)arn;
    assert_json(path(g, "Table"),
                "{'AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
                "{'AttributeName':'sk','AttributeType':'N'},{'AttributeName':'l',"
                "'AttributeType':'B'},{'AttributeName':'g','AttributeType':'S'}],"
                "'TableName':'idx','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
                "{'AttributeName':'sk','KeyType':'RANGE'}],'TableStatus':'ACTIVE',"
                "'ProvisionedThroughput':{'NumberOfDecreasesToday':0,'ReadCapacityUnits':5,"
                "'WriteCapacityUnits':6},'TableSizeBytes':0,'ItemCount':0,"
                "'TableArn':'arn:aws:dynamodb:us-east-1:000000000000:table/idx',"
                "'LocalSecondaryIndexes':[{'IndexName':'by_l','KeySchema':[{'AttributeName':"
                "'pk','KeyType':'HASH'},{'AttributeName':'l','KeyType':'RANGE'}],"
                "'Projection':{'ProjectionType':'INCLUDE','NonKeyAttributes':['x','y']},"
                "'IndexSizeBytes':0,'ItemCount':0,'IndexArn':"
                "'arn:aws:dynamodb:us-east-1:000000000000:table/idx/index/by_l'}],"
                "'GlobalSecondaryIndexes':[{'IndexName':'by_g','KeySchema':[{'AttributeName':"
                "'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'KEYS_ONLY'},"
                "'IndexStatus':'ACTIVE','ProvisionedThroughput':{'NumberOfDecreasesToday':0,"
                "'ReadCapacityUnits':3,'WriteCapacityUnits':4},'IndexSizeBytes':0,'ItemCount':0,"
                "'IndexArn':'arn:aws:dynamodb:us-east-1:000000000000:table/idx/index/by_g'}],"
                "'TableClassSummary':{'TableClass':'STANDARD_INFREQUENT_ACCESS'},"
                "'DeletionProtectionEnabled':false}");
    cJSON_Delete(g);
}

static void test_item_count_reported(void **state)
{
    struct env *e = *state;
    ok0(e, DX_OP_CreateTable, HASH_PPR("cnt"));
    ok0(e, DX_OP_PutItem, "{'TableName':'cnt','Item':{'pk':{'S':'a'},'v':{'S':'hello'}}}");
    ok0(e, DX_OP_PutItem, "{'TableName':'cnt','Item':{'pk':{'S':'b'}}}");
    cJSON *g = ok(e, DX_OP_DescribeTable, "{'TableName':'cnt'}");
    assert_num_at(g, "Table.ItemCount", 2);
    assert_true(path(g, "Table.TableSizeBytes")->valuedouble > 0);
    cJSON_Delete(g);
}

struct err_case {
    enum dx_op op;
    const char *body;
    const char *type;
    const char *msg;
};

#define V   "ValidationException"
#define P   "One or more parameter values were invalid: "
#define KS1 "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'}]"
#define AD1 "'AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'}]"
#define PPR "'BillingMode':'PAY_PER_REQUEST'"
#define PT5 "'ProvisionedThroughput':{'ReadCapacityUnits':5,'WriteCapacityUnits':5}"

static const struct err_case create_errors[] = {
    {DX_OP_CreateTable, "{}", V,
     "The parameter 'TableName' is required but was not present in the request"},
    {DX_OP_CreateTable, "{'TableName':'ab'," AD1 "," KS1 "," PPR "}", V,
     "TableName must be at least 3 characters long and at most 255 characters long"},
    {DX_OP_CreateTable, "{'TableName':'abc;'}", V,
     "3 validation errors detected: Value null at 'attributeDefinitions' failed to satisfy "
     "constraint: Member must not be null; Value 'abc;' at 'tableName' failed to satisfy "
     "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value null "
     "at 'keySchema' failed to satisfy constraint: Member must not be null"},
    {DX_OP_CreateTable, "{'TableName':5}", "SerializationException", NULL},
    {DX_OP_CreateTable, "{'TableName':'abc','KeySchema':{}}", "SerializationException", NULL},
    {DX_OP_CreateTable,
     "{'TableName':'abc'," AD1 "," KS1 ",'ProvisionedThroughput':{'ReadCapacityUnits':'5',"
     "'WriteCapacityUnits':5}}",
     "SerializationException", NULL},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[],'KeySchema':[],'ProvisionedThroughput':{"
     "'ReadCapacityUnits':-1,'WriteCapacityUnits':-1}}",
     V,
     "3 validation errors detected: Value '-1' at 'provisionedThroughput.writeCapacityUnits' "
     "failed to satisfy constraint: Member must have value greater than or equal to 1; Value "
     "'-1' at 'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member "
     "must have value greater than or equal to 1; Value '[]' at 'keySchema' failed to satisfy "
     "constraint: Member must have length greater than or equal to 1"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'b','AttributeType':'SS'}],"
     "'KeySchema':[{'KeyType':'HASH','AttributeName':'a'},{'KeyType':'HASH','AttributeName':"
     "'a'}]," PT5 "}",
     V,
     "1 validation error detected: Value 'SS' at 'attributeDefinitions.1.member.attributeType' "
     "failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"},
    {DX_OP_CreateTable, "{'TableName':'abc'," AD1 "," KS1 ",'BillingMode':'FREE'}", V,
     "1 validation error detected: Value 'FREE' at 'billingMode' failed to satisfy constraint: "
     "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"},
    {DX_OP_CreateTable, "{'TableName':'abc'," AD1 "," KS1 "," PPR "," PT5 "}", V,
     P "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is "
       "PAY_PER_REQUEST"},
    {DX_OP_CreateTable, "{'TableName':'abc'," AD1 "," KS1 "}", V,
     P "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is "
       "PROVISIONED"},
    {DX_OP_CreateTable,
     "{'TableName':'abc'," AD1 "," KS1 ",'ProvisionedThroughput':{'ReadCapacityUnits':"
     "1000000000001,'WriteCapacityUnits':1}}",
     V, "Given value 1000000000001 for ReadCapacityUnits is out of bounds"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'b','AttributeType':'S'}]," KS1
     "," PPR "}",
     V,
     P "Some index key attributes are not defined in AttributeDefinitions. Keys: [pk], "
       "AttributeDefinitions: [b]"},
    {DX_OP_CreateTable,
     "{'TableName':'abc'," AD1 ",'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
     "{'AttributeName':'pk','KeyType':'RANGE'}]," PPR "}",
     V, "Invalid KeySchema: Some index key attribute have no definition"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'a','AttributeType':'S'},"
     "{'AttributeName':'b','AttributeType':'S'}],'KeySchema':[{'AttributeName':'a','KeyType':"
     "'HASH'},{'AttributeName':'a','KeyType':'HASH'}]," PPR "}",
     V, "Both the Hash Key and the Range Key element in the KeySchema have the same name"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'a','AttributeType':'S'},"
     "{'AttributeName':'b','AttributeType':'S'}],'KeySchema':[{'AttributeName':'a','KeyType':"
     "'RANGE'},{'AttributeName':'b','KeyType':'HASH'}]," PPR "}",
     V, "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'a','AttributeType':'S'},"
     "{'AttributeName':'b','AttributeType':'S'}],'KeySchema':[{'AttributeName':'a','KeyType':"
     "'HASH'},{'AttributeName':'b','KeyType':'HASH'}]," PPR "}",
     V, "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'a','AttributeType':'S'},"
     "{'AttributeName':'b','AttributeType':'S'}],'KeySchema':[{'AttributeName':'a','KeyType':"
     "'HASH'},{'AttributeName':'b','KeyType':'SORT'}]," PPR "}",
     V,
     "1 validation error detected: Value 'SORT' at 'keySchema.2.member.keyType' failed to "
     "satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
     "{'AttributeName':'x','AttributeType':'S'}]," KS1 "," PPR "}",
     V,
     P "Number of attributes in KeySchema does not exactly match number of attributes defined "
       "in AttributeDefinitions"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
     "{'AttributeName':'l','AttributeType':'S'}]," KS1 "," PPR ",'LocalSecondaryIndexes':[{"
     "'IndexName':'lidx','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
     "{'AttributeName':'l','KeyType':'RANGE'}],'Projection':{'ProjectionType':'ALL'}}]}",
     V,
     P "Table KeySchema does not have a range key, which is required when specifying a "
       "LocalSecondaryIndex"},
    {DX_OP_CreateTable, "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'GlobalSecondaryIndexes':[]}",
     V, P "List of GlobalSecondaryIndexes is empty"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
     "{'AttributeName':'g','AttributeType':'S'}]," KS1 "," PPR ",'GlobalSecondaryIndexes':[{"
     "'IndexName':'gidx','KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],'Projection':{"
     "'ProjectionType':'ALL','NonKeyAttributes':['a']}}]}",
     V, P "ProjectionType is ALL, but NonKeyAttributes is specified"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
     "{'AttributeName':'g','AttributeType':'S'}]," KS1 "," PT5 ",'GlobalSecondaryIndexes':[{"
     "'IndexName':'gidx','KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],'Projection':{"
     "'ProjectionType':'ALL'}}]}",
     V, P "ProvisionedThroughput is not specified for index: gidx"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
     "{'AttributeName':'g','AttributeType':'S'}]," KS1 "," PPR ",'GlobalSecondaryIndexes':[{"
     "'IndexName':'gidx','KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],'Projection':{"
     "'ProjectionType':'ALL'}},{'IndexName':'gidx','KeySchema':[{'AttributeName':'g',"
     "'KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}]}",
     V, P "Duplicate index name: gidx"},
    {DX_OP_CreateTable,
     "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
     "{'AttributeName':'g','AttributeType':'S'},{'AttributeName':'u','AttributeType':'S'}]," KS1
     "," PPR ",'GlobalSecondaryIndexes':[{'IndexName':'gidx','KeySchema':[{"
     "'AttributeName':'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}]}",
     V,
     P "Some AttributeDefinitions are not used. AttributeDefinitions: [pk, g, u], keys used: "
       "[pk, g]"},
    {DX_OP_CreateTable, "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'TableClass':'COLD'}", V,
     "Invalid table-class parameter provided. Please try again with a valid table-class value: "
     "[STANDARD, STANDARD_INFREQUENT_ACCESS]."},
    {DX_OP_CreateTable,
     "{'TableName':'abc'," AD1 "," KS1 "," PT5 ",'OnDemandThroughput':{'MaxReadRequestUnits':5}}",
     V,
     P "MaxReadRequestUnits for OnDemandThroughput cannot be specified when table BillingMode "
       "is PROVISIONED."},
    {DX_OP_CreateTable,
     "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'OnDemandThroughput':{'MaxWriteRequestUnits':0}}",
     V,
     P "Requested MaxWriteRequestUnits for OnDemandThroughput for table is outside of valid "
       "range"},
    {DX_OP_CreateTable,
     "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'StreamSpecification':{'StreamEnabled':true}}", V,
     P "Table is being created with a stream enabled, UpdateViewType is required"},
};

static void run_errors(struct env *e, const struct err_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fails(e, cases[i].op, cases[i].body, cases[i].type, cases[i].msg);
}

static void test_create_validation(void **state)
{
    struct env *e = *state;
    run_errors(e, create_errors, sizeof create_errors / sizeof create_errors[0]);
    /* Nothing was created by any of them. */
    cJSON *l = ok(e, DX_OP_ListTables, "{}");
    assert_json(l, "{'TableNames':[]}");
    cJSON_Delete(l);
}

static void test_create_existing_and_missing(void **state)
{
    struct env *e = *state;
    ok0(e, DX_OP_CreateTable, HASH_PPR("dup"));
    fails(e, DX_OP_CreateTable, HASH_PT5("dup"), "ResourceInUseException",
          "Table already exists: dup");
    static const struct err_case cases[] = {
        {DX_OP_DescribeTable, "{'TableName':'nope'}", "ResourceNotFoundException",
         "Requested resource not found: Table: nope not found"},
        {DX_OP_DeleteTable, "{'TableName':'nope'}", "ResourceNotFoundException",
         "Requested resource not found: Table: nope not found"},
        {DX_OP_UpdateTable, "{'TableName':'nope','BillingMode':'PAY_PER_REQUEST'}",
         "ResourceNotFoundException", "Requested resource not found: Table: nope not found"},
        {DX_OP_DescribeTable, "{}", V,
         "The parameter 'TableName' is required but was not present in the request"},
        {DX_OP_DescribeTable, "{'TableName':'ab'}", V,
         "TableName must be at least 3 characters long and at most 255 characters long"},
        {DX_OP_DescribeTable, "{'TableName':'a/b'}", V,
         "1 validation error detected: Value 'a/b' at 'tableName' failed to satisfy constraint: "
         "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
        {DX_OP_DescribeTable, "{'TableName':'arn:aws:dynamodb:eu-west-1:000000000000:table/dup'}",
         "ResourceNotFoundException",
         "Requested resource not found: Table: arn:aws:dynamodb:eu-west-1:000000000000:table/dup "
         "not found"},
    };
    run_errors(e, cases, sizeof cases / sizeof cases[0]);
}

static void test_list_tables(void **state)
{
    struct env *e = *state;
    ok0(e, DX_OP_CreateTable, HASH_PPR("t-c"));
    ok0(e, DX_OP_CreateTable, HASH_PPR("t-a"));
    ok0(e, DX_OP_CreateTable, HASH_PPR("t-b"));
    cJSON *l = ok(e, DX_OP_ListTables, "{}");
    assert_json(l, "{'TableNames':['t-a','t-b','t-c']}");
    cJSON_Delete(l);
    l = ok(e, DX_OP_ListTables, "{'Limit':2}");
    assert_json(l, "{'TableNames':['t-a','t-b'],'LastEvaluatedTableName':'t-b'}");
    cJSON_Delete(l);
    l = ok(e, DX_OP_ListTables, "{'Limit':2,'ExclusiveStartTableName':'t-b'}");
    assert_json(l, "{'TableNames':['t-c']}");
    cJSON_Delete(l);
    l = ok(e, DX_OP_ListTables, "{'ExclusiveStartTableName':'t-aa'}");
    assert_json(l, "{'TableNames':['t-b','t-c']}");
    cJSON_Delete(l);
    l = ok(e, DX_OP_ListTables, "{'Limit':3}");
    assert_json(l, "{'TableNames':['t-a','t-b','t-c'],'LastEvaluatedTableName':'t-c'}");
    cJSON_Delete(l);
    l = ok(e, DX_OP_ListTables, "{'Limit':1,'ExclusiveStartTableName':'t-c'}");
    assert_json(l, "{'TableNames':[]}");
    cJSON_Delete(l);
    static const struct err_case cases[] = {
        {DX_OP_ListTables, "{'Limit':0}", V,
         "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member "
         "must have value greater than or equal to 1"},
        {DX_OP_ListTables, "{'Limit':101}", V,
         "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: "
         "Member must have value less than or equal to 100"},
        {DX_OP_ListTables, "{'Limit':101,'ExclusiveStartTableName':'a;'}", V,
         "3 validation errors detected: Value '101' at 'limit' failed to satisfy constraint: "
         "Member must have value less than or equal to 100; Value 'a;' at "
         "'exclusiveStartTableName' failed to satisfy constraint: Member must satisfy regular "
         "expression pattern: [a-zA-Z0-9_.-]+; Value 'a;' at 'exclusiveStartTableName' failed to "
         "satisfy constraint: Member must have length greater than or equal to 3"},
        {DX_OP_ListTables, "{'Limit':'1'}", "SerializationException", NULL},
    };
    run_errors(e, cases, sizeof cases / sizeof cases[0]);
}

static void test_update_throughput_and_billing(void **state)
{
    struct env *e = *state;
    ok0(e, DX_OP_CreateTable, HASH_PT5("upd"));
    static const struct err_case cases[] = {
        {DX_OP_UpdateTable, "{'TableName':'upd'}", V,
         "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
         "GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, "
         "ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, "
         "OnDemandThroughput, WarmThroughput or TableClass is required"},
        {DX_OP_UpdateTable, "{'TableName':'upd'," PT5 "}", V,
         "The provisioned throughput for the table will not change. The requested value equals "
         "the current value. Current ReadCapacityUnits provisioned for the table: 5. Requested "
         "ReadCapacityUnits: 5. Current WriteCapacityUnits provisioned for the table: 5. "
         "Requested WriteCapacityUnits: 5. Refer to the Amazon DynamoDB Developer Guide for "
         "current limits and how to request higher limits."},
        {DX_OP_UpdateTable,
         "{'TableName':'upd','ProvisionedThroughput':{'ReadCapacityUnits':0,"
         "'WriteCapacityUnits':5}}",
         V,
         "1 validation error detected: Value '0' at 'provisionedThroughput.readCapacityUnits' "
         "failed to satisfy constraint: Member must have value greater than or equal to 1"},
        {DX_OP_UpdateTable, "{'TableName':'upd'," PPR "," PT5 "}", V,
         P "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode "
           "is PAY_PER_REQUEST"},
        {DX_OP_UpdateTable, "{'TableName':'upd','TableClass':'COLD'}", V,
         "Invalid table-class parameter provided. Please try again with a valid table-class "
         "value: [STANDARD, STANDARD_INFREQUENT_ACCESS]."},
    };
    run_errors(e, cases, sizeof cases / sizeof cases[0]);

    /* An increase, then a decrease. */
    cJSON *u = ok(e, DX_OP_UpdateTable,
                  "{'TableName':'upd','ProvisionedThroughput':{'ReadCapacityUnits':7,"
                  "'WriteCapacityUnits':9}}");
    assert_str_at(u, "TableDescription.TableStatus", "UPDATING");
    assert_num_at(u, "TableDescription.ProvisionedThroughput.ReadCapacityUnits", 7);
    assert_true(
        cJSON_IsNumber(path(u, "TableDescription.ProvisionedThroughput.LastIncreaseDateTime")));
    cJSON_Delete(u);
    ok0(e, DX_OP_UpdateTable,
        "{'TableName':'upd','ProvisionedThroughput':{'ReadCapacityUnits':2,'WriteCapacityUnits':9}"
        "}");
    cJSON *g = ok(e, DX_OP_DescribeTable, "{'TableName':'upd'}");
    assert_str_at(g, "Table.TableStatus", "ACTIVE");
    assert_num_at(g, "Table.ProvisionedThroughput.ReadCapacityUnits", 2);
    assert_num_at(g, "Table.ProvisionedThroughput.WriteCapacityUnits", 9);
    assert_num_at(g, "Table.ProvisionedThroughput.NumberOfDecreasesToday", 1);
    assert_true(cJSON_IsNumber(path(g, "Table.ProvisionedThroughput.LastDecreaseDateTime")));
    assert_null(path(g, "Table.BillingModeSummary"));
    cJSON_Delete(g);

    /* To on-demand and back. */
    ok0(e, DX_OP_UpdateTable, "{'TableName':'upd'," PPR "}");
    g = ok(e, DX_OP_DescribeTable, "{'TableName':'upd'}");
    assert_str_at(g, "Table.BillingModeSummary.BillingMode", "PAY_PER_REQUEST");
    assert_num_at(g, "Table.ProvisionedThroughput.ReadCapacityUnits", 0);
    assert_num_at(g, "Table.ProvisionedThroughput.WriteCapacityUnits", 0);
    cJSON_Delete(g);
    fails(e, DX_OP_UpdateTable, "{'TableName':'upd'," PT5 "}", V,
          P "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode "
            "is PAY_PER_REQUEST");
    fails(e, DX_OP_UpdateTable, "{'TableName':'upd','BillingMode':'PROVISIONED'}", V,
          P "ProvisionedThroughput must be specified when BillingMode is PROVISIONED");
    ok0(e, DX_OP_UpdateTable,
        "{'TableName':'upd','BillingMode':'PROVISIONED','ProvisionedThroughput':{"
        "'ReadCapacityUnits':2,'WriteCapacityUnits':3}}");
    g = ok(e, DX_OP_DescribeTable, "{'TableName':'upd'}");
    assert_str_at(g, "Table.BillingModeSummary.BillingMode", "PROVISIONED");
    assert_num_at(g, "Table.ProvisionedThroughput.ReadCapacityUnits", 2);
    assert_num_at(g, "Table.ProvisionedThroughput.WriteCapacityUnits", 3);
    cJSON_Delete(g);
}

static void test_deletion_protection_and_delete(void **state)
{
    struct env *e = *state;
    ok0(e, DX_OP_CreateTable, HASH_PPR("del"));
    ok0(e, DX_OP_PutItem, "{'TableName':'del','Item':{'pk':{'S':'x'}}}");
    fails(e, DX_OP_UpdateTable, "{'TableName':'del','DeletionProtectionEnabled':true," PPR "}", V,
          P "DeletionProtection modification must be the only operation in the request");
    cJSON *u = ok(e, DX_OP_UpdateTable, "{'TableName':'del','DeletionProtectionEnabled':true}");
    assert_true(cJSON_IsTrue(path(u, "TableDescription.DeletionProtectionEnabled")));
    cJSON_Delete(u);
    fails(e, DX_OP_DeleteTable, "{'TableName':'del'}", V,
          "Resource cannot be deleted as it is currently protected against deletion. Disable "
          "deletion protection first.");
    ok0(e, DX_OP_UpdateTable, "{'TableName':'del','DeletionProtectionEnabled':false}");
    cJSON *d = ok(e, DX_OP_DeleteTable, "{'TableName':'del'}");
    assert_str_at(d, "TableDescription.TableStatus", "DELETING");
    assert_str_at(d, "TableDescription.TableName", "del");
    cJSON_Delete(d);
    fails(e, DX_OP_DescribeTable, "{'TableName':'del'}", "ResourceNotFoundException",
          "Requested resource not found: Table: del not found");
    /* A table of the same name starts empty. */
    ok0(e, DX_OP_CreateTable, HASH_PPR("del"));
    cJSON *g = ok(e, DX_OP_GetItem, "{'TableName':'del','Key':{'pk':{'S':'x'}}}");
    assert_null(path(g, "Item"));
    cJSON_Delete(g);
    g = ok(e, DX_OP_DescribeTable, "{'TableName':'del'}");
    assert_num_at(g, "Table.ItemCount", 0);
    cJSON_Delete(g);
}

static void test_stream_and_class_updates(void **state)
{
    struct env *e = *state;
    cJSON *c = ok(e, DX_OP_CreateTable,
                  "{'TableName':'str'," AD1 "," KS1 "," PPR ",'StreamSpecification':{"
                  "'StreamEnabled':true,'StreamViewType':'NEW_IMAGE'},'Tags':[{'Key':'a',"
                  "'Value':'b'}],'SSESpecification':{'Enabled':true}}");
    const cJSON *d = path(c, "TableDescription");
    assert_str_at(d, "StreamSpecification.StreamViewType", "NEW_IMAGE");
    const char *arn = path(d, "LatestStreamArn")->valuestring;
    static const char prefix[] = "arn:aws:dynamodb:us-east-1:000000000000:table/str/stream/";
    assert_true(strncmp(arn, prefix, sizeof prefix - 1) == 0);
    assert_int_equal(strlen(arn), sizeof prefix - 1 + strlen("2024-01-01T00:00:00.000"));
    assert_str_at(d, "SSEDescription.Status", "ENABLED");
    assert_str_at(d, "SSEDescription.SSEType", "KMS");
    cJSON_Delete(c);
    fails(e, DX_OP_UpdateTable,
          "{'TableName':'str','StreamSpecification':{'StreamEnabled':true,'StreamViewType':"
          "'KEYS_ONLY'}}",
          V, "Table already has an enabled stream: TableName: str");
    ok0(e, DX_OP_UpdateTable, "{'TableName':'str','StreamSpecification':{'StreamEnabled':false}}");
    cJSON *g = ok(e, DX_OP_DescribeTable, "{'TableName':'str'}");
    assert_null(path(g, "Table.StreamSpecification"));
    cJSON_Delete(g);
    fails(e, DX_OP_UpdateTable, "{'TableName':'str','StreamSpecification':{'StreamEnabled':false}}",
          V, "Table has no stream to disable: TableName: str");
    ok0(e, DX_OP_UpdateTable, "{'TableName':'str','SSESpecification':{'Enabled':false}}");
    fails(e, DX_OP_UpdateTable, "{'TableName':'str','SSESpecification':{'Enabled':false}}", V,
          P "Table is already encrypted by default");
    ok0(e, DX_OP_UpdateTable, "{'TableName':'str','TableClass':'STANDARD_INFREQUENT_ACCESS'}");
    g = ok(e, DX_OP_DescribeTable, "{'TableName':'str'}");
    assert_str_at(g, "Table.TableClassSummary.TableClass", "STANDARD_INFREQUENT_ACCESS");
    assert_true(cJSON_IsNumber(path(g, "Table.TableClassSummary.LastUpdateDateTime")));
    cJSON_Delete(g);
}

static void test_catalog_survives_restart(void **state)
{
    struct env *e = *state;
    cJSON *c = ok(e, DX_OP_CreateTable, HASH_PT5("keep"));
    char *id = strdup(path(c, "TableDescription.TableId")->valuestring);
    cJSON_Delete(c);
    ok0(e, DX_OP_CreateTable, HASH_PPR("drop"));
    ok0(e, DX_OP_PutItem, "{'TableName':'keep','Item':{'pk':{'S':'x'}}}");
    ok0(e, DX_OP_UpdateTable,
        "{'TableName':'keep','ProvisionedThroughput':{'ReadCapacityUnits':6,"
        "'WriteCapacityUnits':5}}");
    ok0(e, DX_OP_DeleteTable, "{'TableName':'drop'}");

    be_close(e->be);
    open_backend(e);

    cJSON *l = ok(e, DX_OP_ListTables, "{}");
    assert_json(l, "{'TableNames':['keep']}");
    cJSON_Delete(l);
    cJSON *g = ok(e, DX_OP_DescribeTable, "{'TableName':'keep'}");
    assert_str_at(g, "Table.TableId", id);
    assert_num_at(g, "Table.ProvisionedThroughput.ReadCapacityUnits", 6);
    assert_num_at(g, "Table.ItemCount", 1);
    cJSON_Delete(g);
    g = ok(e, DX_OP_GetItem, "{'TableName':'keep','Key':{'pk':{'S':'x'}}}");
    assert_non_null(path(g, "Item"));
    cJSON_Delete(g);
    /* A new table after the restart gets a fresh storage id: it does not see old items. */
    ok0(e, DX_OP_CreateTable, HASH_PPR("fresh"));
    g = ok(e, DX_OP_GetItem, "{'TableName':'fresh','Key':{'pk':{'S':'x'}}}");
    assert_null(path(g, "Item"));
    cJSON_Delete(g);
    free(id);
}

static void test_gsi_update_and_delete(void **state)
{
    struct env *e = *state;
    ok0(e, DX_OP_CreateTable,
        "{'TableName':'gsit','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
        "{'AttributeName':'sk','AttributeType':'S'},{'AttributeName':'g','AttributeType':'S'},"
        "{'AttributeName':'l','AttributeType':'S'}],'KeySchema':[{'AttributeName':'pk',"
        "'KeyType':'HASH'},{'AttributeName':'sk','KeyType':'RANGE'}],'LocalSecondaryIndexes':[{"
        "'IndexName':'lix','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
        "{'AttributeName':'l','KeyType':'RANGE'}],'Projection':{'ProjectionType':'ALL'}}],"
        "'GlobalSecondaryIndexes':[{'IndexName':'g1x','KeySchema':[{'AttributeName':'g',"
        "'KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'},'ProvisionedThroughput':{"
        "'ReadCapacityUnits':1,'WriteCapacityUnits':1}},{'IndexName':'g2x','KeySchema':[{"
        "'AttributeName':'g','KeyType':'HASH'}],'Projection':{'ProjectionType':'KEYS_ONLY'},"
        "'ProvisionedThroughput':{'ReadCapacityUnits':1,'WriteCapacityUnits':1}}]," PT5 "}");
#define GU(body) "{'TableName':'gsit','GlobalSecondaryIndexUpdates':[" body "]}"
    static const struct err_case cases[] = {
        {DX_OP_UpdateTable, GU("{}"), V,
         P "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
           "GlobalSecondaryIndexUpdate.Delete must not be null"},
        {DX_OP_UpdateTable, GU("{'Delete':{'IndexName':'g1x'},'Update':{'IndexName':'g2x'}}"), V,
         P "Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate "
           "object"},
        {DX_OP_UpdateTable, GU("{'Delete':{'IndexName':'g1x'}},{'Delete':{'IndexName':'g1x'}}"), V,
         P "Only one global secondary index update per index is allowed simultaneously. Index: "
           "g1x"},
        {DX_OP_UpdateTable, GU("{'Delete':{'IndexName':'g1x'}},{'Delete':{'IndexName':'g2x'}}"),
         "LimitExceededException",
         "Subscriber limit exceeded: Only 1 online index can be created or deleted "
         "simultaneously per table"},
        {DX_OP_UpdateTable, GU("{'Delete':{'IndexName':'ab'}}"), V,
         "1 validation error detected: Value 'ab' at "
         "'globalSecondaryIndexUpdates.1.member.delete.indexName' failed to satisfy constraint: "
         "Member must have length greater than or equal to 3"},
        {DX_OP_UpdateTable, GU("{'Delete':{'IndexName':'lix'}}"), V,
         "Cannot delete an index that is not a GlobalSecondaryIndex: lix"},
        {DX_OP_UpdateTable, GU("{'Delete':{'IndexName':'ghost'}}"), "ResourceNotFoundException",
         "Requested resource not found: Index ghost for table gsit"},
        {DX_OP_UpdateTable,
         GU("{'Update':{'IndexName':'g1x','ProvisionedThroughput':{'ReadCapacityUnits':1,"
            "'WriteCapacityUnits':1}}}"),
         V,
         "The provisioned throughput for the index g1x will not change. The requested value "
         "equals the current value. Current ReadCapacityUnits provisioned for the index: 1. "
         "Requested ReadCapacityUnits: 1. Current WriteCapacityUnits provisioned for the index: "
         "1. Requested WriteCapacityUnits: 1. Refer to the Amazon DynamoDB Developer Guide for "
         "current limits and how to request higher limits."},
        {DX_OP_UpdateTable,
         "{'TableName':'gsit','ProvisionedThroughput':{'ReadCapacityUnits':9,"
         "'WriteCapacityUnits':9},'GlobalSecondaryIndexUpdates':[{'Delete':{'IndexName':"
         "'g1x'}}]}",
         V, P "You cannot create or delete index while updating table IOPS"},
    };
    run_errors(e, cases, sizeof cases / sizeof cases[0]);

    cJSON *u = ok(e, DX_OP_UpdateTable,
                  GU("{'Update':{'IndexName':'g2x','ProvisionedThroughput':{'ReadCapacityUnits':"
                     "3,'WriteCapacityUnits':4}}}"));
    const cJSON *g = cJSON_GetArrayItem(path(u, "TableDescription.GlobalSecondaryIndexes"), 1);
    assert_str_at(g, "IndexStatus", "UPDATING");
    assert_num_at(g, "ProvisionedThroughput.ReadCapacityUnits", 3);
    cJSON_Delete(u);

    u = ok(e, DX_OP_UpdateTable, GU("{'Delete':{'IndexName':'g1x'}}"));
    g = cJSON_GetArrayItem(path(u, "TableDescription.GlobalSecondaryIndexes"), 0);
    assert_str_at(g, "IndexName", "g1x");
    assert_str_at(g, "IndexStatus", "DELETING");
    cJSON_Delete(u);

    cJSON *d = ok(e, DX_OP_DescribeTable, "{'TableName':'gsit'}");
    const cJSON *gs = path(d, "Table.GlobalSecondaryIndexes");
    assert_int_equal(cJSON_GetArraySize(gs), 1);
    g = cJSON_GetArrayItem(gs, 0);
    assert_str_at(g, "IndexName", "g2x");
    assert_str_at(g, "IndexStatus", "ACTIVE");
    assert_num_at(g, "ProvisionedThroughput.ReadCapacityUnits", 3);
    assert_num_at(g, "ProvisionedThroughput.WriteCapacityUnits", 4);
    cJSON_Delete(d);

    /* To on-demand and back: the remaining GSI needs its throughput in the same request. */
    ok0(e, DX_OP_UpdateTable, "{'TableName':'gsit'," PPR "}");
    d = ok(e, DX_OP_DescribeTable, "{'TableName':'gsit'}");
    g = cJSON_GetArrayItem(path(d, "Table.GlobalSecondaryIndexes"), 0);
    assert_num_at(g, "ProvisionedThroughput.ReadCapacityUnits", 0);
    cJSON_Delete(d);
    fails(e, DX_OP_UpdateTable, "{'TableName':'gsit','BillingMode':'PROVISIONED'," PT5 "}", V,
          P "ProvisionedThroughput must be specified for index: g2x");
    fails(e, DX_OP_UpdateTable, GU("{'Update':{'IndexName':'g2x'}}"), V,
          P "The only Updates for index: g2x when TableThroughputMode is PAY_PER_REQUEST can be to "
            "OnDemandThroughput, WarmThroughput");
    ok0(e, DX_OP_UpdateTable,
        "{'TableName':'gsit','BillingMode':'PROVISIONED'," PT5 ",'GlobalSecondaryIndexUpdates':[{"
        "'Update':{'IndexName':'g2x','ProvisionedThroughput':{'ReadCapacityUnits':2,"
        "'WriteCapacityUnits':2}}}]}");
    d = ok(e, DX_OP_DescribeTable, "{'TableName':'gsit'}");
    g = cJSON_GetArrayItem(path(d, "Table.GlobalSecondaryIndexes"), 0);
    assert_num_at(g, "ProvisionedThroughput.ReadCapacityUnits", 2);
    assert_str_at(g, "IndexStatus", "ACTIVE");
    cJSON_Delete(d);
#undef GU
}

/* Malformed requests get a 400 (never a 500 or a crash), and create nothing. */
static void test_malformed_requests_rejected(void **state)
{
    struct env *e = *state;
    static const struct {
        enum dx_op op;
        const char *body;
    } cases[] = {
        {DX_OP_CreateTable, "{'TableName':'abc','KeySchema':[null],'AttributeDefinitions':[null]}"},
        {DX_OP_CreateTable, "{'TableName':'abc','KeySchema':[5]," AD1 "}"},
        {DX_OP_CreateTable, "{'TableName':'abc','AttributeDefinitions':'x'," KS1 "}"},
        {DX_OP_CreateTable, "{'TableName':null," AD1 "," KS1 "," PPR "}"},
        {DX_OP_CreateTable,
         "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'GlobalSecondaryIndexes':[null]}"},
        {DX_OP_CreateTable,
         "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
         "{'AttributeName':'g','AttributeType':'S'}]," KS1 "," PPR ",'GlobalSecondaryIndexes':[{"
         "'IndexName':'gidx','KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],'Projection':{"
         "'ProjectionType':'INCLUDE','NonKeyAttributes':[null]}}]}"},
        {DX_OP_CreateTable,
         "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
         "{'AttributeName':'g','AttributeType':'S'}]," KS1 "," PPR ",'GlobalSecondaryIndexes':[{"
         "'IndexName':'gidx','KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],'Projection':{"
         "'ProjectionType':'INCLUDE','NonKeyAttributes':['a','a']}}]}"},
        {DX_OP_CreateTable,
         "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
         "{'AttributeName':'g','AttributeType':'S'}]," KS1 "," PPR ",'GlobalSecondaryIndexes':[{"
         "'IndexName':'gidx','KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],'Projection':{"
         "'ProjectionType':'INCLUDE'}}]}"},
        {DX_OP_CreateTable,
         "{'TableName':'abc','AttributeDefinitions':[{'AttributeName':'pk','AttributeType':'S'},"
         "{'AttributeName':'sk','AttributeType':'S'}],'KeySchema':[{'AttributeName':'pk',"
         "'KeyType':'HASH'},{'AttributeName':'sk','KeyType':'RANGE'}]," PPR
         ",'LocalSecondaryIndexes':[{'IndexName':'lidx','KeySchema':[{'AttributeName':'pk',"
         "'KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}]}"},
        {DX_OP_CreateTable,
         "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'Tags':[{'Key':'aws:x','Value':'v'}]}"},
        {DX_OP_CreateTable, "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'Tags':[{'Value':'v'}]}"},
        {DX_OP_CreateTable, "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'StreamSpecification':{}}"},
        {DX_OP_CreateTable, "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'SSESpecification':5}"},
        {DX_OP_CreateTable,
         "{'TableName':'abc'," AD1 "," KS1 "," PPR ",'DeletionProtectionEnabled':'yes'}"},
        {DX_OP_CreateTable,
         "{'TableName':'abc'," AD1 "," KS1 ",'ProvisionedThroughput':{'ReadCapacityUnits':1}}"},
        {DX_OP_UpdateTable, "{'TableName':'abc','ProvisionedThroughput':{}}"},
        {DX_OP_UpdateTable, "{'TableName':'abc','StreamSpecification':{}}"},
        {DX_OP_UpdateTable, "{'TableName':'abc','BillingMode':5}"},
        {DX_OP_UpdateTable, "{'BillingMode':'PAY_PER_REQUEST'}"},
        {DX_OP_UpdateTable, "{'TableName':'abc','GlobalSecondaryIndexUpdates':[null]}"},
        {DX_OP_UpdateTable, "{'TableName':'abc','GlobalSecondaryIndexUpdates':[5]}"},
        {DX_OP_UpdateTable, "{'TableName':'abc','GlobalSecondaryIndexUpdates':[{'Update':{}}]}"},
        {DX_OP_UpdateTable, "{'TableName':'abc','GlobalSecondaryIndexUpdates':[{'Create':{}}]}"},
        {DX_OP_UpdateTable,
         "{'TableName':'abc','GlobalSecondaryIndexUpdates':[{'Update':{'IndexName':'abc',"
         "'ProvisionedThroughput':{}}}]}"},
        {DX_OP_UpdateTable, "{'TableName':'abc','GlobalSecondaryIndexUpdates':{}}"},
        {DX_OP_DescribeTable, "{'TableName':['a']}"},
        {DX_OP_DescribeTable, "{'TableName':{}}"},
        {DX_OP_ListTables, "{'ExclusiveStartTableName':5}"},
        {DX_OP_ListTables, "{'Limit':[1]}"},
        {DX_OP_DeleteTable, "{'TableName':null}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dx_reply *r = call(e, cases[i].op, cases[i].body);
        if (r->status != 400)
            fail_msg("%s %s -> %d %.*s", dx_op_name(cases[i].op), cases[i].body, r->status,
                     (int)r->len, r->body);
        dx_reply_free(r);
    }
    cJSON *l = ok(e, DX_OP_ListTables, "{}");
    assert_json(l, "{'TableNames':[]}");
    cJSON_Delete(l);
}

/* ---- status transitions with a delay ---- */

static int setup_delay(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ddax-tables-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    struct be_options o = {.data_dir = e->dir, .nosync = 1, .status_delay_ms = 150};
    if (be_open(&o, &e->be) != 0)
        return -1;
    e->api = be_api(e->be);
    *state = e;
    return 0;
}

static void assert_status(struct env *e, const char *table, const char *want)
{
    char body[128];
    snprintf(body, sizeof body, "{'TableName':'%s'}", table);
    cJSON *d = ok(e, DX_OP_DescribeTable, body);
    const cJSON *s = path(d, "Table.TableStatus");
    if (!cJSON_IsString(s) || strcmp(s->valuestring, want) != 0)
        fail_msg("%s: TableStatus %s, want %s", table, cJSON_IsString(s) ? s->valuestring : "?",
                 want);
    cJSON_Delete(d);
}

static void test_status_delay(void **state)
{
    struct env *e = *state;
    ok0(e, DX_OP_CreateTable,
        "{'TableName':'slow','KeySchema':[{'AttributeName':'p','KeyType':'HASH'}],"
        "'AttributeDefinitions':[{'AttributeName':'p','AttributeType':'S'}],"
        "'ProvisionedThroughput':{'ReadCapacityUnits':1,'WriteCapacityUnits':1}}");
    assert_status(e, "slow", "CREATING");
    fails(e, DX_OP_PutItem, "{'TableName':'slow','Item':{'p':{'S':'a'}}}",
          "ResourceNotFoundException", "Requested resource not found");
    fails(e, DX_OP_UpdateTable,
          "{'TableName':'slow','ProvisionedThroughput':{'ReadCapacityUnits':2,"
          "'WriteCapacityUnits':2}}",
          "ResourceInUseException",
          "Attempt to change a resource which is still in use: Table is being created: slow");
    usleep(200 * 1000);
    assert_status(e, "slow", "ACTIVE");
    ok0(e, DX_OP_PutItem, "{'TableName':'slow','Item':{'p':{'S':'a'}}}");

    ok0(e, DX_OP_UpdateTable,
        "{'TableName':'slow','ProvisionedThroughput':{'ReadCapacityUnits':2,"
        "'WriteCapacityUnits':2}}");
    assert_status(e, "slow", "UPDATING");
    fails(e, DX_OP_UpdateTable,
          "{'TableName':'slow','ProvisionedThroughput':{'ReadCapacityUnits':3,"
          "'WriteCapacityUnits':3}}",
          "ResourceInUseException",
          "Attempt to change a resource which is still in use: Table is being updated: slow");
    ok0(e, DX_OP_GetItem, "{'TableName':'slow','Key':{'p':{'S':'a'}}}");
    usleep(200 * 1000);
    assert_status(e, "slow", "ACTIVE");

    cJSON *d = ok(e, DX_OP_DeleteTable, "{'TableName':'slow'}");
    assert_string_equal(path(d, "TableDescription.TableStatus")->valuestring, "DELETING");
    cJSON_Delete(d);
    assert_status(e, "slow", "DELETING");
    fails(e, DX_OP_CreateTable,
          "{'TableName':'slow','KeySchema':[{'AttributeName':'p','KeyType':'HASH'}],"
          "'AttributeDefinitions':[{'AttributeName':'p','AttributeType':'S'}],"
          "'BillingMode':'PAY_PER_REQUEST'}",
          "ResourceInUseException", "Table already exists: slow");
    /* A restart within the delay keeps the deletion pending; after it the table is gone. */
    be_close(e->be);
    struct be_options o = {.data_dir = e->dir, .nosync = 1, .status_delay_ms = 150};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
    usleep(200 * 1000);
    fails(e, DX_OP_DescribeTable, "{'TableName':'slow'}", "ResourceNotFoundException",
          "Requested resource not found: Table: slow not found");
    cJSON *l = ok(e, DX_OP_ListTables, "{}");
    assert_int_equal(cJSON_GetArraySize(path(l, "TableNames")), 0);
    cJSON_Delete(l);
    ok0(e, DX_OP_CreateTable,
        "{'TableName':'slow','KeySchema':[{'AttributeName':'p','KeyType':'HASH'}],"
        "'AttributeDefinitions':[{'AttributeName':'p','AttributeType':'S'}],"
        "'BillingMode':'PAY_PER_REQUEST'}");
    usleep(200 * 1000);
    ok0(e, DX_OP_GetItem, "{'TableName':'slow','Key':{'p':{'S':'b'}}}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_describe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_provisioned_with_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_count_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_existing_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_throughput_and_billing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletion_protection_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_delay, setup_delay, teardown),
        cmocka_unit_test_setup_teardown(test_stream_and_class_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_requests_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gsi_update_and_delete, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
