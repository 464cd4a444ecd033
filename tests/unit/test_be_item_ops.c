/*
 * Engine-level tests of GetItem, PutItem, UpdateItem and DeleteItem: a real backend in a
 * temporary directory, driven through its dx_api with JSON bodies exactly as a client sends
 * them, checking responses and DynamoDB's error types and texts.
 *
 * Writes complete on the engine's writer thread, so every call waits for its done callback on
 * a condition variable. Request bodies are written with single quotes for readability; the
 * harness turns them into double quotes before sending.
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
    struct env *e = env_new("items", 64u << 20);
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

#define GET DX_OP_GetItem
#define PUT DX_OP_PutItem
#define UPD DX_OP_UpdateItem
#define DEL DX_OP_DeleteItem
#define VE  "ValidationException"
#define RNF "ResourceNotFoundException"
#define CCF "ConditionalCheckFailedException"

/* Put, get, overwrite, delete: the basic life of an item, in both key shapes. */
static void test_put_get_delete(void **state)
{
    static const struct step steps[] = {
        {.op = GET, "{'TableName':'hash_t','Key':{'id':{'S':'a'}}}", NULL, "{}"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'a'},'n':{'N':'1.50'},'l':{'L':[{'BOOL':true}]}}"
         "}",
         NULL,
         "{}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'a'}}}",
         NULL,
         "{'Item':{'id':{'S':'a'},'n':{'N':'1.5'},'l':{'L':[{'BOOL':true}]}}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'a'}},'ConsistentRead':true}",
         NULL,
         "{'Item':{'id':{'S':'a'},'n':{'N':'1.5'},'l':{'L':[{'BOOL':true}]}}}"},
        /* a put replaces the whole item */
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'a'},'x':{'SS':['b','a']}}}",
         NULL,
         "{}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'a'}}}",
         NULL,
         "{'Item':{'id':{'S':'a'},'x':{'SS':['a','b']}}}"},
        {.op = DEL, "{'TableName':'hash_t','Key':{'id':{'S':'a'}}}", NULL, "{}"},
        {.op = GET, "{'TableName':'hash_t','Key':{'id':{'S':'a'}}}", NULL, "{}"},
        /* deleting an absent item succeeds */
        {.op = DEL, "{'TableName':'hash_t','Key':{'id':{'S':'a'}}}", NULL, "{}"},
        /* composite keys: same partition, different sort keys are different items */
        {.op = PUT,
         "{'TableName':'range_t','Item':{'p':{'S':'x'},'s':{'N':'1'},'v':{'S':'one'}}}",
         NULL,
         "{}"},
        {.op = PUT,
         "{'TableName':'range_t','Item':{'p':{'S':'x'},'s':{'N':'2'},'v':{'S':'two'}}}",
         NULL,
         "{}"},
        {.op = GET,
         "{'TableName':'range_t','Key':{'p':{'S':'x'},'s':{'N':'1.0'}}}",
         NULL,
         "{'Item':{'p':{'S':'x'},'s':{'N':'1'},'v':{'S':'one'}}}"},
        {.op = GET,
         "{'TableName':'range_t','Key':{'s':{'N':'2'},'p':{'S':'x'}}}",
         NULL,
         "{'Item':{'p':{'S':'x'},'s':{'N':'2'},'v':{'S':'two'}}}"},
        {.op = DEL, "{'TableName':'range_t','Key':{'p':{'S':'x'},'s':{'N':'1'}}}", NULL, "{}"},
        {.op = GET, "{'TableName':'range_t','Key':{'p':{'S':'x'},'s':{'N':'1'}}}", NULL, "{}"},
        {.op = GET,
         "{'TableName':'range_t','Key':{'p':{'S':'x'},'s':{'N':'2'}}}",
         NULL,
         "{'Item':{'p':{'S':'x'},'s':{'N':'2'},'v':{'S':'two'}}}"},
    };
    RUN(*state, steps);
}

/* Generic validation: member types, not-null, table names, enums, in DynamoDB's words. */
static void test_request_validation(void **state)
{
    static const struct step steps[] = {
        {.op = GET,
         "{'Key':{'id':{'S':'a'}}}",
         VE,
         "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
         "Member must not be null"},
        {.op = GET,
         "{'TableName':'hash_t'}",
         VE,
         "1 validation error detected: Value null at 'key' failed to satisfy constraint: Member "
         "must not be null"},
        {.op = PUT,
         "{'TableName':'hash_t'}",
         VE,
         "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member "
         "must not be null"},
        {.op = UPD,
         "{'TableName':'hash_t'}",
         VE,
         "1 validation error detected: Value null at 'key' failed to satisfy constraint: Member "
         "must not be null"},
        {.op = DEL,
         "{}",
         VE,
         "2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: "
         "Member must not be null; Value null at 'key' failed to satisfy constraint: Member must "
         "not be null"},
        {.op = GET,
         "{'TableName':'a;','Key':{'id':{'S':'a'}},'ReturnConsumedCapacity':'ALL'}",
         VE,
         "3 validation errors detected: Value 'ALL' at 'returnConsumedCapacity' failed to "
         "satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; Value "
         "'a;' at 'tableName' failed to satisfy constraint: Member must satisfy regular "
         "expression pattern: [a-zA-Z0-9_.-]+; Value 'a;' at 'tableName' failed to satisfy "
         "constraint: Member must have length greater than or equal to 3"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'a'}},'ReturnValues':'all_old'}",
         VE,
         "1 validation error detected: Value 'all_old' at 'returnValues' failed to satisfy "
         "constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, "
         "UPDATED_NEW]"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'a'}},'ReturnItemCollectionMetrics':'ALL'}",
         VE,
         "1 validation error detected: Value 'ALL' at 'returnItemCollectionMetrics' failed to "
         "satisfy constraint: Member must satisfy enum value set: [SIZE, NONE]"},
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'a'}},'ReturnValuesOnConditionCheckFailure':'ALL_"
         "NEW'}",
         VE,
         "1 validation error detected: Value 'ALL_NEW' at 'returnValuesOnConditionCheckFailure' "
         "failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'a'}},'ReturnValues':'ALL_NEW'}",
         VE,
         "ReturnValues can only be ALL_OLD or NONE"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'a'}},'ReturnValues':'UPDATED_OLD'}",
         VE,
         "ReturnValues can only be ALL_OLD or NONE"},
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'a'}},'ReturnValues':'UPDATED_NEW'}",
         VE,
         "ReturnValues can only be ALL_OLD or NONE"},
        {.op = GET,
         "{'TableName':'nope_t','Key':{'id':{'S':'a'}}}",
         RNF,
         "Requested resource not found"},
        {.op = PUT,
         "{'TableName':'nope_t','Item':{'id':{'S':'a'}}}",
         RNF,
         "Requested resource not found"},
        {.op = UPD,
         "{'TableName':'nope_t','Key':{'id':{'S':'a'}}}",
         RNF,
         "Requested resource not found"},
        {.op = DEL,
         "{'TableName':'nope_t','Key':{'id':{'S':'a'}}}",
         RNF,
         "Requested resource not found"},
    };
    RUN(*state, steps);
}

/* Keys and items checked against the table's key schema. */
static void test_key_validation(void **state)
{
    static const struct step steps[] = {
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'N':'1'}}}",
         VE,
         "The provided key element does not match the schema"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'a'},'x':{'S':'b'}}}",
         VE,
         "The provided key element does not match the schema"},
        {.op = GET,
         "{'TableName':'range_t','Key':{'p':{'S':'a'}}}",
         VE,
         "The provided key element does not match the schema"},
        {.op = DEL,
         "{'TableName':'hash_t','Key':{}}",
         VE,
         "The provided key element does not match the schema"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'x':{'S':'a'}}}",
         VE,
         "One or more parameter values were invalid: Missing the key id in the item"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'N':'1'}}}",
         VE,
         "One or more parameter values were invalid: Type mismatch for key id expected: S "
         "actual: N"},
        {.op = GET, "{'TableName':'hash_t','Key':{'id':{'S':'a'}}}", NULL, "{}"},
    };
    RUN(*state, steps);
}

/* Conditions are evaluated against the current item inside the write. */
static void test_conditions(void **state)
{
    static const struct step steps[] = {
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'c'},'v':{'N':'1'}},'ConditionExpression':"
         "'attribute_not_exists(id)'}",
         NULL,
         "{}"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'c'},'v':{'N':'2'}},'ConditionExpression':"
         "'attribute_not_exists(id)'}",
         CCF,
         "The conditional request failed"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'c'},'v':{'N':'2'}},'ConditionExpression':"
         "'attribute_not_exists(id)','ReturnValuesOnConditionCheckFailure':'ALL_OLD'}",
         CCF,
         "The conditional request failed",
         "{'id':{'S':'c'},'v':{'N':'1'}}"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'c'},'v':{'N':'2'}},'ConditionExpression':"
         "'v = :one','ExpressionAttributeValues':{':one':{'N':'1'}}}",
         NULL,
         "{}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'c'}}}",
         NULL,
         "{'Item':{'id':{'S':'c'},'v':{'N':'2'}}}"},
        /* a failed condition on an absent item carries no Item */
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'zz'}},'ConditionExpression':'attribute_exists(id)"
         "',"
         "'ReturnValuesOnConditionCheckFailure':'ALL_OLD'}",
         CCF,
         "The conditional request failed"},
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'c'}},'ConditionExpression':'v > :x',"
         "'ExpressionAttributeValues':{':x':{'N':'5'}}}",
         CCF,
         "The conditional request failed"},
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'c'}},'UpdateExpression':'SET v = :x',"
         "'ConditionExpression':'v = :x','ExpressionAttributeValues':{':x':{'N':'5'}},"
         "'ReturnValuesOnConditionCheckFailure':'ALL_OLD'}",
         CCF,
         "The conditional request failed",
         "{'id':{'S':'c'},'v':{'N':'2'}}"},
        /* legacy Expected */
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'c'}},'Expected':{'v':{'Value':{'N':'3'}}}}",
         CCF,
         "The conditional request failed"},
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'c'}},'Expected':{'v':{'Value':{'N':'2'}}},"
         "'ReturnValues':'ALL_OLD'}",
         NULL,
         "{'Attributes':{'id':{'S':'c'},'v':{'N':'2'}}}"},
        {.op = GET, "{'TableName':'hash_t','Key':{'id':{'S':'c'}}}", NULL, "{}"},
    };
    RUN(*state, steps);
}

/* ReturnValues of PutItem and DeleteItem. */
static void test_put_delete_return_values(void **state)
{
    static const struct step steps[] = {
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'r'},'a':{'S':'hi'}},'ReturnValues':'ALL_OLD'}",
         NULL,
         "{}"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'r'},'a':{'S':'hello'}},'ReturnValues':'ALL_OLD'"
         "}",
         NULL,
         "{'Attributes':{'id':{'S':'r'},'a':{'S':'hi'}}}"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'r'},'b':{'S':'x'}},'ReturnValues':'NONE'}",
         NULL,
         "{}"},
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'r'}},'ReturnValues':'ALL_OLD'}",
         NULL,
         "{'Attributes':{'id':{'S':'r'},'b':{'S':'x'}}}"},
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'r'}},'ReturnValues':'ALL_OLD'}",
         NULL,
         "{}"},
    };
    RUN(*state, steps);
}

/* UpdateItem: upsert, arithmetic, REMOVE, and the five ReturnValues. */
static void test_update(void **state)
{
    static const struct step steps[] = {
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'u'}},'UpdateExpression':'SET a = :v, b = :w',"
         "'ExpressionAttributeValues':{':v':{'S':'hi'},':w':{'S':'dog'}},'ReturnValues':'ALL_NEW'}",
         NULL,
         "{'Attributes':{'id':{'S':'u'},'a':{'S':'hi'},'b':{'S':'dog'}}}"},
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'u'}},'UpdateExpression':'SET b = :v, c = :w',"
         "'ExpressionAttributeValues':{':v':{'S':'cat'},':w':{'S':'new'}},'ReturnValues':'UPDATED_"
         "OLD'}",
         NULL,
         "{'Attributes':{'b':{'S':'dog'}}}"},
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'u'}},'UpdateExpression':'SET d = :v',"
         "'ExpressionAttributeValues':{':v':{'S':'x'}},'ReturnValues':'UPDATED_OLD'}",
         NULL,
         "{}"},
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'u'}},'UpdateExpression':'SET n = :one',"
         "'ExpressionAttributeValues':{':one':{'N':'1'}},'ReturnValues':'UPDATED_NEW'}",
         NULL,
         "{'Attributes':{'n':{'N':'1'}}}"},
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'u'}},'UpdateExpression':'SET n = n + :one',"
         "'ExpressionAttributeValues':{':one':{'N':'1'}},'ReturnValues':'UPDATED_NEW'}",
         NULL,
         "{'Attributes':{'n':{'N':'2'}}}"},
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'u'}},'UpdateExpression':'REMOVE d',"
         "'ReturnValues':'UPDATED_NEW'}",
         NULL,
         "{}"},
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'u'}},'UpdateExpression':'ADD n :one',"
         "'ExpressionAttributeValues':{':one':{'N':'-5'}},'ReturnValues':'ALL_OLD'}",
         NULL,
         "{'Attributes':{'id':{'S':'u'},'a':{'S':'hi'},'b':{'S':'cat'},'c':{'S':'new'},'n':{'N':'2'"
         "}}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'u'}},'ProjectionExpression':'n, a'}",
         NULL,
         "{'Item':{'a':{'S':'hi'},'n':{'N':'-3'}}}"},
        /* an update that only removes from an absent item creates nothing */
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'gone'}},'UpdateExpression':'REMOVE a',"
         "'ReturnValues':'ALL_NEW'}",
         NULL,
         "{}"},
        {.op = GET, "{'TableName':'hash_t','Key':{'id':{'S':'gone'}}}", NULL, "{}"},
        /* an update without actions creates the bare item */
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'bare'}},'ReturnValues':'ALL_NEW'}",
         NULL,
         "{'Attributes':{'id':{'S':'bare'}}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'bare'}}}",
         NULL,
         "{'Item':{'id':{'S':'bare'}}}"},
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'u'}},'UpdateExpression':'SET id = :v',"
         "'ExpressionAttributeValues':{':v':{'S':'x'}}}",
         VE,
         "One or more parameter values were invalid: Cannot update attribute id. This attribute "
         "is part of the key"},
        /* legacy AttributeUpdates */
        {.op = UPD,
         "{'TableName':'range_t','Key':{'p':{'S':'a'},'s':{'N':'7'}},'AttributeUpdates':"
         "{'x':{'Action':'PUT','Value':{'N':'3'}}},'ReturnValues':'ALL_NEW'}",
         NULL,
         "{'Attributes':{'p':{'S':'a'},'s':{'N':'7'},'x':{'N':'3'}}}"},
    };
    RUN(*state, steps);
}

/* ConsumedCapacity: 4 KB read units (half when eventually consistent), 1 KB write units of
 * the larger of the old and new item. */
static void test_capacity(void **state)
{
    struct env *e = *state;
    /* an item of ~2.5 KB: 3 write units, 1 read unit */
    char big[2600];
    memset(big, 'x', 2500);
    big[2500] = 0;
    char body[3000];
    snprintf(body, sizeof body,
             "{'TableName':'hash_t','Item':{'id':{'S':'big'},'v':{'S':'%s'}},"
             "'ReturnConsumedCapacity':'TOTAL'}",
             big);
    struct step big_put = {
        .op = PUT, body, NULL, "{'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':3}}"};
    run_steps(e, &big_put, 1);

    /* Read units at the 4 KB boundary: 'id'+'k4' (4) + 'b'+4078 + 'c' 12.3456 (5) + 'd' 2 bytes
     * (3) + 'e' three 1-2 byte binaries (5) = 4096 bytes is one unit; one byte more is two. */
    static const char *const edge[] = {
        "{'TableName':'hash_t','Item':{'id':{'S':'k4'},'b':{'S':'%s'},'c':{'N':'12.3456'},"
        "'d':{'B':'AQI='},'e':{'BS':['AQI=','Ag==','AQ==']}}}",
        "{'TableName':'hash_t','Item':{'id':{'S':'k5'},'b':{'S':'%sbb'},'c':{'N':'12.3456'},"
        "'d':{'B':'AQI='},'e':{'BS':['AQI=','Ag==']}}}",
    };
    char fill[4079], text[4400];
    memset(fill, 'b', 4078);
    fill[4078] = 0;
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text, edge[i], fill);
        struct step put = {.op = PUT, text, NULL, "{}"};
        run_steps(e, &put, 1);
    }
    static const struct step edge_reads[] = {
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'k4'}},'ReturnConsumedCapacity':'TOTAL',"
         "'ProjectionExpression':'id'}",
         NULL,
         "{'Item':{'id':{'S':'k4'}},'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':0.5}"
         "}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'k4'}},'ReturnConsumedCapacity':'TOTAL',"
         "'ProjectionExpression':'id','ConsistentRead':true}",
         NULL,
         "{'Item':{'id':{'S':'k4'}},'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':1}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'k5'}},'ReturnConsumedCapacity':'TOTAL',"
         "'ProjectionExpression':'id'}",
         NULL,
         "{'Item':{'id':{'S':'k5'}},'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':1}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'k5'}},'ReturnConsumedCapacity':'TOTAL',"
         "'ProjectionExpression':'id','ConsistentRead':true}",
         NULL,
         "{'Item':{'id':{'S':'k5'}},'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':2}}"},
    };
    RUN(e, edge_reads);

    static const struct step steps[] = {
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'none'}},'ReturnConsumedCapacity':'TOTAL'}",
         NULL,
         "{'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':0.5}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'big'}},'ReturnConsumedCapacity':'TOTAL',"
         "'ConsistentRead':true,'ProjectionExpression':'id'}",
         NULL,
         "{'Item':{'id':{'S':'big'}},'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':1}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'big'}},'ReturnConsumedCapacity':'INDEXES',"
         "'ProjectionExpression':'id'}",
         NULL,
         "{'Item':{'id':{'S':'big'}},'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':0.5,"
         "'Table':{'CapacityUnits':0.5}}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'none'}},'ReturnConsumedCapacity':'NONE'}",
         NULL,
         "{}"},
        /* overwriting the big item with a small one still costs the big one's size */
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'big'}},'ReturnConsumedCapacity':'INDEXES'}",
         NULL,
         "{'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':3,'Table':{'CapacityUnits':3}}"
         "}"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'big'}},'ReturnConsumedCapacity':'TOTAL'}",
         NULL,
         "{'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':1}}"},
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'none'}},'ReturnConsumedCapacity':'TOTAL'}",
         NULL,
         "{'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':1}}"},
        {.op = UPD,
         "{'TableName':'hash_t','Key':{'id':{'S':'big'}},'UpdateExpression':'SET a = :a',"
         "'ExpressionAttributeValues':{':a':{'S':'x'}},'ReturnConsumedCapacity':'TOTAL',"
         "'ReturnValues':'UPDATED_NEW'}",
         NULL,
         "{'Attributes':{'a':{'S':'x'}},'ConsumedCapacity':{'TableName':'hash_t','CapacityUnits':1}"
         "}"},
    };
    RUN(e, steps);
}

/* The 400 KB item limit, on PutItem (request) and UpdateItem (result). */
static void test_item_size_limit(void **state)
{
    struct env *e = *state;
    size_t n = 409600;
    char *v = malloc(n + 1);
    memset(v, 'y', n);
    v[n] = 0;
    char *body = malloc(n + 512);
    /* id(2) + "id"(2)... the attribute name 'v' plus 409600 bytes is over the limit */
    snprintf(body, n + 512, "{'TableName':'hash_t','Item':{'id':{'S':'s'},'v':{'S':'%s'}}}", v);
    struct step over = {.op = PUT, body, VE, "Item size has exceeded the maximum allowed size"};
    run_steps(e, &over, 1);

    /* exactly at the limit: 'id' + 's' + 'v' + value = 409600 */
    v[n - 4] = 0;
    snprintf(body, n + 512, "{'TableName':'hash_t','Item':{'id':{'S':'s'},'v':{'S':'%s'}}}", v);
    struct step at = {.op = PUT, body, NULL, "{}"};
    run_steps(e, &at, 1);

    struct step grow = {.op = UPD,
                        "{'TableName':'hash_t','Key':{'id':{'S':'s'}},'UpdateExpression':'SET w = "
                        ":w','ExpressionAttributeValues':{':w':{'S':'zz'}}}",
                        VE,
                        "Item size to update has exceeded the maximum allowed size"};
    run_steps(e, &grow, 1);
    free(v);
    free(body);
}

/* Writes queued from several threads at once all land (the writer serializes them). */
struct par_arg {
    struct env *e;
    int id;
};

static void *par_thread(void *p)
{
    struct par_arg *a = p;
    for (int i = 0; i < 50; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{'TableName':'hash_t','Key':{'id':{'S':'ctr'}},'UpdateExpression':'ADD n :one',"
                 "'ExpressionAttributeValues':{':one':{'N':'1'}}}");
        struct dx_reply *r = call(a->e, DX_OP_UpdateItem, body);
        if (r->status != 200)
            fprintf(stderr, "thread %d: %.*s\n", a->id, (int)r->len, r->body);
        dx_reply_free(r);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    struct env *e = *state;
    pthread_t th[4];
    struct par_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct par_arg){e, i};
        pthread_create(&th[i], NULL, par_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    static const struct step steps[] = {
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'ctr'}},'ConsistentRead':true}",
         NULL,
         "{'Item':{'id':{'S':'ctr'},'n':{'N':'200'}}}"},
    };
    RUN(e, steps);
}

/* A table deleted after items were written: item operations fail as for a missing table. */
static void test_deleted_table(void **state)
{
    struct env *e = *state;
    static const struct step before[] = {
        {.op = PUT, "{'TableName':'range_t','Item':{'p':{'S':'d'},'s':{'N':'1'}}}", NULL, "{}"},
    };
    RUN(e, before);
    struct dx_reply *r = call(e, DX_OP_DeleteTable, "{'TableName':'range_t'}");
    assert_int_equal(r->status, 200);
    dx_reply_free(r);
    static const struct step after[] = {
        {.op = GET,
         "{'TableName':'range_t','Key':{'p':{'S':'d'},'s':{'N':'1'}}}",
         RNF,
         "Requested resource not found"},
        {.op = PUT,
         "{'TableName':'range_t','Item':{'p':{'S':'d'},'s':{'N':'1'}}}",
         RNF,
         "Requested resource not found"},
        {.op = DEL,
         "{'TableName':'range_t','Key':{'p':{'S':'d'},'s':{'N':'1'}}}",
         RNF,
         "Requested resource not found"},
    };
    RUN(e, after);
}

/* Which error wins when a request has several problems: JSON types first, then the member
 * constraints, then the operation's rules, expressions before the table lookup. */
static void test_error_order(void **state)
{
    static const struct step steps[] = {
        {.op = GET,
         "{'TableName':true,'Key':{'id':{'S':'a'}}}",
         "SerializationException",
         "TRUE_VALUE cannot be converted to String"},
        {.op = PUT,
         "{'TableName':'x','Item':'str'}",
         "SerializationException",
         "Expected map or null"},
        {.op = DEL,
         "{'TableName':'hash_t','Key':{'id':{'S':'a'}},'ReturnValues':true}",
         "SerializationException",
         "TRUE_VALUE cannot be converted to String"},
        /* a type error wins over a missing member */
        {.op = UPD,
         "{'Key':{'id':{'S':'a'}},'UpdateExpression':false}",
         "SerializationException",
         "FALSE_VALUE cannot be converted to String"},
        /* constraint errors win over ReturnValues rules */
        {.op = PUT,
         "{'TableName':'x','Item':{'id':{'S':'a'}},'ReturnValues':'ALL_NEW'}",
         VE,
         "1 validation error detected: Value 'x' at 'tableName' failed to satisfy constraint: "
         "Member must have length greater than or equal to 3"},
        /* expression errors win over a missing table */
        {.op = UPD,
         "{'TableName':'nope_t','Key':{'id':{'S':'a'}},'UpdateExpression':'SET'}",
         VE,
         "Invalid UpdateExpression: *"},
        {.op = GET,
         "{'TableName':'nope_t','Key':{'id':{'S':'a'}},'ExpressionAttributeNames':{'#a':'a'}}",
         VE,
         "ExpressionAttributeNames can only be specified when using expressions"},
        /* a valid request on a missing table */
        {.op = UPD,
         "{'TableName':'nope_t','Key':{'id':{'S':'a'}},'ReturnValues':'ALL_NEW'}",
         RNF,
         "Requested resource not found"},
        /* attribute values are validated before the key schema */
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'a','N':'1'}}}",
         VE,
         "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
         "the supported datatypes"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':''}}}",
         VE,
         "One or more parameter values are not valid. The AttributeValue for a key attribute "
         "cannot contain an empty string value. Key: id"},
        /* the table may be named by its ARN */
        {.op = PUT,
         "{'TableName':'arn:aws:dynamodb:us-east-1:000000000000:table/hash_t','Item':{'id':{'S':"
         "'arn'}}}",
         NULL,
         "{}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'arn'}}}",
         NULL,
         "{'Item':{'id':{'S':'arn'}}}"},
    };
    RUN(*state, steps);
}

/* Projections: only the named paths come back, an item without them comes back empty, and
 * the legacy AttributesToGet does the same. */
static void test_projection(void **state)
{
    static const struct step steps[] = {
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'p'},'a':{'M':{'b':{'L':[{'N':'2'},{'N':'4'}]},"
         "'c':{'N':'5'}}},'b':{'S':'hello'}}}",
         NULL,
         "{}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'p'}},'ProjectionExpression':'a.b[1], b'}",
         NULL,
         "{'Item':{'a':{'M':{'b':{'L':[{'N':'4'}]}}},'b':{'S':'hello'}}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'p'}},'ProjectionExpression':'#x',"
         "'ExpressionAttributeNames':{'#x':'nothing'}}",
         NULL,
         "{'Item':{}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'p'}},'AttributesToGet':['id','b']}",
         NULL,
         "{'Item':{'id':{'S':'p'},'b':{'S':'hello'}}}"},
        {.op = GET,
         "{'TableName':'hash_t','Key':{'id':{'S':'none'}},'ProjectionExpression':'a'}",
         NULL,
         "{}"},
    };
    RUN(*state, steps);
}

/* ReturnItemCollectionMetrics=SIZE reports the item collection of tables with a local
 * secondary index, and nothing for other tables. */
static void test_collection_metrics(void **state)
{
    struct env *e = *state;
    call_ok(e, DX_OP_CreateTable,
            "{'TableName':'lsi_t','AttributeDefinitions':[{'AttributeName':'p','AttributeType':"
            "'S'},{'AttributeName':'s','AttributeType':'S'},{'AttributeName':'l',"
            "'AttributeType':'N'}],'KeySchema':[{'AttributeName':'p','KeyType':'HASH'},"
            "{'AttributeName':'s','KeyType':'RANGE'}],'LocalSecondaryIndexes':[{'IndexName':"
            "'by_l','KeySchema':[{'AttributeName':'p','KeyType':'HASH'},{'AttributeName':'l',"
            "'KeyType':'RANGE'}],'Projection':{'ProjectionType':'ALL'}}],"
            "'BillingMode':'PAY_PER_REQUEST'}");
    static const struct step steps[] = {
        {.op = PUT,
         "{'TableName':'lsi_t','Item':{'p':{'S':'a'},'s':{'S':'1'},'l':{'N':'3'}},"
         "'ReturnItemCollectionMetrics':'SIZE'}",
         NULL,
         "{'ItemCollectionMetrics':{'ItemCollectionKey':{'p':{'S':'a'}},"
         "'SizeEstimateRangeGB':[0,1]}}"},
        {.op = DEL,
         "{'TableName':'lsi_t','Key':{'p':{'S':'a'},'s':{'S':'1'}},'ReturnValues':'ALL_OLD',"
         "'ReturnItemCollectionMetrics':'SIZE'}",
         NULL,
         "{'Attributes':{'p':{'S':'a'},'s':{'S':'1'},'l':{'N':'3'}},'ItemCollectionMetrics':{"
         "'ItemCollectionKey':{'p':{'S':'a'}},'SizeEstimateRangeGB':[0,1]}}"},
        {.op = PUT,
         "{'TableName':'lsi_t','Item':{'p':{'S':'a'},'s':{'S':'1'}},'ReturnItemCollectionMetrics':"
         "'NONE'}",
         NULL,
         "{}"},
        {.op = PUT,
         "{'TableName':'hash_t','Item':{'id':{'S':'a'}},'ReturnItemCollectionMetrics':'SIZE'}",
         NULL,
         "{}"},
    };
    RUN(e, steps);
}

/* Attributes that key a secondary index must match the index key's type and not be empty;
 * items without them are fine (sparse indexes). */
static void test_index_keys(void **state)
{
    struct env *e = *state;
    call_ok(e, DX_OP_CreateTable,
            "{'TableName':'gsi_t','AttributeDefinitions':[{'AttributeName':'id','AttributeType':"
            "'S'},{'AttributeName':'g','AttributeType':'S'},{'AttributeName':'n',"
            "'AttributeType':'N'}],'KeySchema':[{'AttributeName':'id','KeyType':'HASH'}],"
            "'GlobalSecondaryIndexes':[{'IndexName':'zz_by_g','KeySchema':[{'AttributeName':'g',"
            "'KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}},{'IndexName':'by_g_n',"
            "'KeySchema':[{'AttributeName':'g','KeyType':'HASH'},{'AttributeName':'n','KeyType':"
            "'RANGE'}],'Projection':{'ProjectionType':'KEYS_ONLY'}}],"
            "'BillingMode':'PAY_PER_REQUEST'}");
    static const struct step steps[] = {
        {.op = PUT, "{'TableName':'gsi_t','Item':{'id':{'S':'a'}}}", NULL, "{}"},
        {.op = PUT,
         "{'TableName':'gsi_t','Item':{'id':{'S':'a'},'g':{'S':'x'},'n':{'N':'1'}}}",
         NULL,
         "{}"},
        {.op = PUT,
         "{'TableName':'gsi_t','Item':{'id':{'S':'a'},'g':{'N':'1'}}}",
         VE,
         "One or more parameter values were invalid: Type mismatch for Index Key g Expected: S "
         "Actual: N IndexName: by_g_n"},
        {.op = PUT,
         "{'TableName':'gsi_t','Item':{'id':{'S':'a'},'n':{'M':{}}}}",
         VE,
         "One or more parameter values were invalid: Type mismatch for Index Key n Expected: N "
         "Actual: M IndexName: by_g_n"},
        {.op = PUT,
         "{'TableName':'gsi_t','Item':{'id':{'S':'a'},'g':{'S':''}}}",
         VE,
         "One or more parameter values are not valid. A value specified for a secondary index "
         "key is not supported. The AttributeValue for a key attribute cannot contain an empty "
         "string value. IndexName: by_g_n, IndexKey: g"},
        {.op = UPD,
         "{'TableName':'gsi_t','Key':{'id':{'S':'a'}},'UpdateExpression':'SET g = :e',"
         "'ExpressionAttributeValues':{':e':{'S':''}}}",
         VE,
         "The update expression attempted to update a secondary index key to a value that is "
         "not supported. The AttributeValue for a key attribute cannot contain an empty string "
         "value. IndexName: by_g_n, IndexKey: g"},
        {.op = UPD,
         "{'TableName':'gsi_t','Key':{'id':{'S':'a'}},'UpdateExpression':'SET n = g'}",
         VE,
         /* UpdateItem words it differently from PutItem's "Type mismatch for Index Key". */
         "The update expression attempted to update the secondary index key to unsupported type"},
        /* index writes are charged per changed index entry (INDEXES shows the parts) */
        {.op = PUT,
         "{'TableName':'gsi_t','Item':{'id':{'S':'c'},'g':{'S':'x'},'n':{'N':'1'}},"
         "'ReturnConsumedCapacity':'INDEXES'}",
         NULL,
         "{'ConsumedCapacity':{'TableName':'gsi_t','CapacityUnits':3,'Table':{'CapacityUnits':1},"
         "'GlobalSecondaryIndexes':{'zz_by_g':{'CapacityUnits':1},'by_g_n':{'CapacityUnits':1}}}}"},
        {.op = PUT,
         "{'TableName':'gsi_t','Item':{'id':{'S':'c'},'g':{'S':'x'},'n':{'N':'1'},'o':{'S':'y'}},"
         "'ReturnConsumedCapacity':'INDEXES'}",
         NULL,
         "{'ConsumedCapacity':{'TableName':'gsi_t','CapacityUnits':2,'Table':{'CapacityUnits':1},"
         "'GlobalSecondaryIndexes':{'zz_by_g':{'CapacityUnits':1}}}}"},
        {.op = UPD,
         "{'TableName':'gsi_t','Key':{'id':{'S':'c'}},'UpdateExpression':'SET g = :y',"
         "'ExpressionAttributeValues':{':y':{'S':'y'}},'ReturnConsumedCapacity':'TOTAL'}",
         NULL,
         "{'ConsumedCapacity':{'TableName':'gsi_t','CapacityUnits':5}}"},
        {.op = DEL,
         "{'TableName':'gsi_t','Key':{'id':{'S':'c'}},'ReturnConsumedCapacity':'TOTAL'}",
         NULL,
         "{'ConsumedCapacity':{'TableName':'gsi_t','CapacityUnits':3}}"},
        {.op = PUT,
         "{'TableName':'gsi_t','Item':{'id':{'S':'c'}},'ReturnConsumedCapacity':'INDEXES'}",
         NULL,
         "{'ConsumedCapacity':{'TableName':'gsi_t','CapacityUnits':1,'Table':{'CapacityUnits':1}}"
         "}"},
        /* the failed writes changed nothing */
        {.op = GET,
         "{'TableName':'gsi_t','Key':{'id':{'S':'a'}}}",
         NULL,
         "{'Item':{'id':{'S':'a'},'g':{'S':'x'},'n':{'N':'1'}}}"},
    };
    RUN(e, steps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_request_validation, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_key_validation, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_conditions, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_put_delete_return_values, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_capacity, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_item_size_limit, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_updates, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_deleted_table, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_error_order, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_projection, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_collection_metrics, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_index_keys, setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
