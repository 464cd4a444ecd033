/*
 * Engine-level tests of TransactWriteItems and TransactGetItems: a real backend in a temporary
 * directory driven through its dx_api (be_test_env.h). Each test is a table of steps: a call
 * and either the whole response (compared structurally) or DynamoDB's error type, exact
 * message and, for a cancellation, the exact CancellationReasons. They cover validation order
 * and texts, every cancellation reason, all-or-nothing (items and index entries), the
 * ClientRequestToken records, consumed capacity, and the reads.
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
#include <cjson/cJSON.h>
#include "backend.h"
#include "dx_api.h"
#include "dx_op.h"

#include "be_test_env.h"
#include "be_engine.h"
#include "be_store.h"

/* The step tables leave out `reasons` where no cancellation is expected. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define TW  DX_OP_TransactWriteItems
#define TG  DX_OP_TransactGetItems
#define GET DX_OP_GetItem
#define PUT DX_OP_PutItem
#define QRY DX_OP_Query
#define VE  "ValidationException"
#define RNF "ResourceNotFoundException"
#define TCE "TransactionCanceledException"
#define IPM "IdempotentParameterMismatchException"
#define CANCELLED(codes)                                                                           \
    "Transaction cancelled, please refer cancellation reasons for specific reasons [" codes "]"

static int setup(void **state)
{
    struct env *e = env_new("txn", 256u << 20);
    call_ok(e, DX_OP_CreateTable,
            "{'TableName':'acct','AttributeDefinitions':[{'AttributeName':'id',"
            "'AttributeType':'S'}],'KeySchema':[{'AttributeName':'id','KeyType':'HASH'}],"
            "'BillingMode':'PAY_PER_REQUEST'}");
    call_ok(e, DX_OP_CreateTable,
            "{'TableName':'log','AttributeDefinitions':[{'AttributeName':'p',"
            "'AttributeType':'S'},{'AttributeName':'s','AttributeType':'N'},"
            "{'AttributeName':'g','AttributeType':'S'},{'AttributeName':'l','AttributeType':'N'}],"
            "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'},{'AttributeName':'s',"
            "'KeyType':'RANGE'}],"
            "'GlobalSecondaryIndexes':[{'IndexName':'by_g','KeySchema':[{'AttributeName':'g',"
            "'KeyType':'HASH'}],'Projection':{'ProjectionType':'KEYS_ONLY'}}],"
            "'LocalSecondaryIndexes':[{'IndexName':'by_l','KeySchema':[{'AttributeName':'p',"
            "'KeyType':'HASH'},{'AttributeName':'l','KeyType':'RANGE'}],"
            "'Projection':{'ProjectionType':'ALL'}}],"
            "'BillingMode':'PAY_PER_REQUEST'}");
    put(e, "{'TableName':'acct','Item':{'id':{'S':'a'},'bal':{'N':'100'}}}");
    put(e, "{'TableName':'acct','Item':{'id':{'S':'b'},'bal':{'N':'5'}}}");
    *state = e;
    return 0;
}

/* Request-level errors, in DynamoDB's order, and nothing written by any of them. */
static void test_validation(void **state)
{
    struct env *e = *state;
    static const struct step steps[] = {
        {TW, "{}", VE,
         "1 validation error detected: Value null at 'transactItems' failed to satisfy "
         "constraint: Member must not be null"},
        {TW, "{'TransactItems':[]}", VE,
         "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy "
         "constraint: Member must have length greater than or equal to 1"},
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'acct','Item':{'id':{'S':'x'}}}}],"
         "'ClientRequestToken':'0123456789012345678901234567890123456'}",
         VE,
         "1 validation error detected: Value '0123456789012345678901234567890123456' at "
         "'clientRequestToken' failed to satisfy constraint: Member must have length less "
         "than or equal to 36"},
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'acct','Item':{'id':{'S':'x'}}}}],"
         "'ReturnConsumedCapacity':'BOGUS','ReturnItemCollectionMetrics':'BOGUS2'}",
         VE,
         "2 validation errors detected: Value 'BOGUS' at 'returnConsumedCapacity' failed to "
         "satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; "
         "Value 'BOGUS2' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member "
         "must satisfy enum value set: [SIZE, NONE]"},
        {TW, "{'TransactItems':[{'Put':{'Item':{'id':{'S':'x'}}}}]}", VE,
         "1 validation error detected: Value null at 'transactItems.1.member.put.tableName' "
         "failed to satisfy constraint: Member must not be null"},
        {TW, "{'TransactItems':[{'Update':{'TableName':'acct','Key':{'id':{'S':'x'}}}}]}", VE,
         "1 validation error detected: Value null at "
         "'transactItems.1.member.update.updateExpression' failed to satisfy constraint: "
         "Member must not be null"},
        {TW,
         "{'TransactItems':[{'ConditionCheck':{'TableName':'acct','Key':{'id':{'S':'x'}},"
         "'ReturnValuesOnConditionCheckFailure':'ALL_NEW'}}]}",
         VE,
         "2 validation errors detected: Value null at "
         "'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy "
         "constraint: Member must not be null; Value 'ALL_NEW' at "
         "'transactItems.1.member.conditionCheck.returnValuesOnConditionCheckFailure' failed "
         "to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"},
        {TW, "{'TransactItems':'x'}", "SerializationException", "Expected list or null"},
        {TW, "{'TransactItems':[{'Put':{'TableName':'acct','Item':[]}}]}", "SerializationException",
         "Start of list found where not expected"},
        {TW, "{'TransactItems':[{'Put':{'TableName':'ab','Item':{'id':{'S':'x'}}}}]}", VE,
         "1 validation error detected: Value 'ab' at 'transactItems.1.member.put.tableName' "
         "failed to satisfy constraint: Member must have length greater than or equal to 3"},
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'acct','Item':{'id':{'S':'x'}}}}],"
         "'ClientRequestToken':''}",
         VE,
         "1 validation error detected: Value '' at 'clientRequestToken' failed to satisfy "
         "constraint: Member must have length greater than or equal to 1"},
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'acct','Item':{'id':{'S':'x'}},"
         "'ExpressionAttributeNames':{'#a':'b'}}}]}",
         VE, "ExpressionAttributeNames can only be specified when using expressions"},
        {TW, "{'TransactItems':[{}]}", VE,
         "Invalid Request: TransactWriteRequest should contain Delete or Put or Update request"},
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'acct','Item':{'id':{'S':'x'}}},"
         "'Delete':{'TableName':'acct','Key':{'id':{'S':'y'}}}}]}",
         VE, "TransactItems can only contain one of Check, Put, Update or Delete"},
        {TW, "{'TransactItems':[{'Put':{'TableName':'nope','Item':{'id':{'S':'x'}}}}]}", RNF,
         "Requested resource not found"},
        /* A bad expression anywhere comes before a missing table anywhere. */
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'nope','Item':{'id':{'S':'x'}}}},"
         "{'ConditionCheck':{'TableName':'acct','Key':{'id':{'S':'a'}},"
         "'ConditionExpression':'attribute_not_exists('}}]}",
         VE, "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"(\""},
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'nope','Item':{'id':{'S':'x'}}}},"
         "{'ConditionCheck':{'TableName':'acct','Key':{'id':{'S':'a'}},"
         "'ConditionExpression':'attribute_exists(id)','ExpressionAttributeValues':{':v':{'S':"
         "'x'}}}}]}",
         VE, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"},
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'acct','Item':{'id':{'S':'a'}}}},"
         "{'Delete':{'TableName':'acct','Key':{'id':{'S':'a'}}}}]}",
         VE, "Transaction request cannot include multiple operations on one item"},
        /* The same item named by the table's ARN is still the same item. */
        {TW,
         "{'TransactItems':[{'ConditionCheck':{'TableName':'acct','Key':{'id':{'S':'a'}},"
         "'ConditionExpression':'attribute_exists(id)'}},"
         "{'Update':{'TableName':'arn:aws:dynamodb:us-east-1:000000000000:table/acct',"
         "'Key':{'id':{'S':'a'}},'UpdateExpression':'SET x = :x',"
         "'ExpressionAttributeValues':{':x':{'N':'1'}}}}]}",
         VE, "Transaction request cannot include multiple operations on one item"},
        {TW, "{'TransactItems':[{'Delete':{'TableName':'acct','Key':{'id':{'S':''}}}}]}", VE,
         "One or more parameter values are not valid. The AttributeValue for a key attribute "
         "cannot contain an empty string value. Key: id"},
        {TW,
         "{'TransactItems':[{'Update':{'TableName':'acct','Key':{'id':{'S':'a'}},"
         "'UpdateExpression':'SET id = :v','ExpressionAttributeValues':{':v':{'S':'z'}}}}]}",
         VE,
         "One or more parameter values were invalid: Cannot update attribute id. This "
         "attribute is part of the key"},
        /* Nothing above wrote anything. */
        {GET, "{'TableName':'acct','Key':{'id':{'S':'x'}}}", NULL, "{}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'a'}}}", NULL,
         "{'Item':{'id':{'S':'a'},'bal':{'N':'100'}}}"},
    };
    RUN(e, steps);
}

/* Size and count limits, built programmatically. */
static void test_limits(void **state)
{
    struct env *e = *state;
    /* 101 actions. */
    size_t cap = 101 * 80 + 64;
    char *b = malloc(cap);
    size_t n = (size_t)snprintf(b, cap, "{\"TransactItems\":[");
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(
            b + n, cap - n,
            "%s{\"Put\":{\"TableName\":\"acct\",\"Item\":{\"id\":{\"S\":\"k%d\"}}}}", i ? "," : "",
            i);
    snprintf(b + n, cap - n, "]}");
    struct dx_reply *r = call_raw(e, TW, b);
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(r->body, "Member must have length less than or equal to 100"));
    assert_non_null(strstr(r->body, "at 'transactItems' failed to satisfy constraint"));
    dx_reply_free(r);
    free(b);

    /* One Put over 400 KB: a plain ValidationException before the transaction. */
    size_t big = 409600;
    char *s = malloc(big + 1);
    memset(s, 'x', big);
    s[big] = 0;
    b = malloc(big + 256);
    snprintf(b, big + 256,
             "{\"TransactItems\":[{\"Put\":{\"TableName\":\"acct\",\"Item\":{\"id\":{\"S\":"
             "\"big\"},\"v\":{\"S\":\"%s\"}}}}]}",
             s);
    r = call_raw(e, TW, b);
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(r->body, "Item size has exceeded the maximum allowed size"));
    dx_reply_free(r);

    /* An Update that grows an item over 400 KB: a ValidationError cancellation reason. */
    s[big - 100] = 0;
    snprintf(b, big + 256,
             "{\"TransactItems\":[{\"Update\":{\"TableName\":\"acct\",\"Key\":{\"id\":{\"S\":"
             "\"a\"}},\"UpdateExpression\":\"SET v = :v, w = :v\",\"ExpressionAttributeValues\":"
             "{\":v\":{\"S\":\"%s\"}}}}]}",
             s);
    r = call_raw(e, TW, b);
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(r->body, "TransactionCanceledException"));
    assert_non_null(strstr(r->body,
                           "{\"Code\":\"ValidationError\",\"Message\":\"Item size to update has "
                           "exceeded the maximum allowed size\"}"));
    dx_reply_free(r);
    free(b);
    free(s);
}

/* One reason per action in order, and nothing of a cancelled transaction is written. */
static void test_cancellation_reasons(void **state)
{
    struct env *e = *state;
    static const struct step steps[] = {
        {TW,
         "{'TransactItems':["
         "{'Put':{'TableName':'acct','Item':{'id':{'S':'new'}},"
         "'ConditionExpression':'attribute_not_exists(id)'}},"
         "{'Put':{'TableName':'acct','Item':{'id':{'S':'a'}},"
         "'ConditionExpression':'attribute_not_exists(id)',"
         "'ReturnValuesOnConditionCheckFailure':'ALL_OLD'}},"
         "{'Update':{'TableName':'acct','Key':{'id':{'S':'b'}},"
         "'UpdateExpression':'SET bal = nothere + :one',"
         "'ExpressionAttributeValues':{':one':{'N':'1'}}}},"
         "{'ConditionCheck':{'TableName':'acct','Key':{'id':{'S':'c'}},"
         "'ConditionExpression':'attribute_not_exists(id)'}},"
         "{'Delete':{'TableName':'acct','Key':{'id':{'N':'1'}}}},"
         "{'Put':{'TableName':'acct','Item':{'id':{'N':'2'}}}},"
         "{'Delete':{'TableName':'acct','Key':{'id':{'S':'b2'}},"
         "'ConditionExpression':'attribute_exists(id)',"
         "'ReturnValuesOnConditionCheckFailure':'ALL_OLD'}}]}",
         TCE,
         CANCELLED("None, ConditionalCheckFailed, ValidationError, None, ValidationError, "
                   "ValidationError, ConditionalCheckFailed"),
         "[{'Code':'None'},"
         "{'Item':{'id':{'S':'a'},'bal':{'N':'100'}},'Code':'ConditionalCheckFailed',"
         "'Message':'The conditional request failed'},"
         "{'Code':'ValidationError','Message':'The provided expression refers to an attribute "
         "that does not exist in the item'},"
         "{'Code':'None'},"
         "{'Code':'ValidationError','Message':'The provided key element does not match the "
         "schema'},"
         "{'Code':'ValidationError','Message':'One or more parameter values were invalid: "
         "Type mismatch for key id expected: S actual: N'},"
         "{'Code':'ConditionalCheckFailed','Message':'The conditional request failed'}]"},
        /* The passing Put was rolled back with the rest. */
        {GET, "{'TableName':'acct','Key':{'id':{'S':'new'}}}", NULL, "{}"},
        /* An index key of the wrong type on a Put is found while the transaction runs. */
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'log','Item':{'p':{'S':'x'},'s':{'N':'1'},"
         "'g':{'N':'7'}}}}]}",
         TCE, CANCELLED("ValidationError"),
         "[{'Code':'ValidationError','Message':'One or more parameter values were invalid: "
         "Type mismatch for Index Key g Expected: S Actual: N IndexName: by_g'}]"},
        /* An empty index key value is an error of the request. */
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'log','Item':{'p':{'S':'x'},'s':{'N':'1'},"
         "'g':{'S':''}}}}]}",
         VE,
         "One or more parameter values are not valid. A value specified for a secondary index "
         "key is not supported. The AttributeValue for a key attribute cannot contain an empty "
         "string value. IndexName: by_g, IndexKey: g"},
        /* ConditionCheck failing on an absent item: no Item even with ALL_OLD. */
        {TW,
         "{'TransactItems':[{'ConditionCheck':{'TableName':'acct','Key':{'id':{'S':'zz'}},"
         "'ConditionExpression':'attribute_exists(id)',"
         "'ReturnValuesOnConditionCheckFailure':'ALL_OLD'}},"
         "{'Update':{'TableName':'acct','Key':{'id':{'S':'a'}},'UpdateExpression':'SET t = :t',"
         "'ExpressionAttributeValues':{':t':{'S':'x'}}}}]}",
         TCE, CANCELLED("ConditionalCheckFailed, None"),
         "[{'Code':'ConditionalCheckFailed','Message':'The conditional request failed'},"
         "{'Code':'None'}]"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'a'}}}", NULL,
         "{'Item':{'id':{'S':'a'},'bal':{'N':'100'}}}"},
    };
    RUN(e, steps);
}

/* A transfer between two items guarded by a condition, a check, a delete and a put across two
 * tables, all applied together. */
static void test_commit(void **state)
{
    struct env *e = *state;
    static const struct step steps[] = {
        {TW,
         "{'TransactItems':["
         "{'Update':{'TableName':'acct','Key':{'id':{'S':'a'}},"
         "'UpdateExpression':'SET bal = bal - :amt','ConditionExpression':'bal >= :amt',"
         "'ExpressionAttributeValues':{':amt':{'N':'30'}}}},"
         "{'Update':{'TableName':'acct','Key':{'id':{'S':'b'}},"
         "'UpdateExpression':'SET bal = bal + :amt',"
         "'ExpressionAttributeValues':{':amt':{'N':'30'}}}},"
         "{'Put':{'TableName':'log','Item':{'p':{'S':'t1'},'s':{'N':'1'},'g':{'S':'G'},"
         "'l':{'N':'5'}}}},"
         "{'ConditionCheck':{'TableName':'acct','Key':{'id':{'S':'c'}},"
         "'ConditionExpression':'attribute_not_exists(id)'}}]}",
         NULL, "{}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'a'}}}", NULL,
         "{'Item':{'id':{'S':'a'},'bal':{'N':'70'}}}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'b'}}}", NULL,
         "{'Item':{'id':{'S':'b'},'bal':{'N':'35'}}}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'c'}}}", NULL, "{}"},
        /* The condition now fails for 80 > 70: nothing moves. */
        {TW,
         "{'TransactItems':["
         "{'Update':{'TableName':'acct','Key':{'id':{'S':'a'}},"
         "'UpdateExpression':'SET bal = bal - :amt','ConditionExpression':'bal >= :amt',"
         "'ExpressionAttributeValues':{':amt':{'N':'80'}}}},"
         "{'Update':{'TableName':'acct','Key':{'id':{'S':'b'}},"
         "'UpdateExpression':'SET bal = bal + :amt',"
         "'ExpressionAttributeValues':{':amt':{'N':'80'}}}}]}",
         TCE, CANCELLED("ConditionalCheckFailed, None"), NULL},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'b'}}}", NULL,
         "{'Item':{'id':{'S':'b'},'bal':{'N':'35'}}}"},
        /* Delete and Put in one transaction. */
        {TW,
         "{'TransactItems':[{'Delete':{'TableName':'acct','Key':{'id':{'S':'b'}},"
         "'ConditionExpression':'bal = :v','ExpressionAttributeValues':{':v':{'N':'35'}}}},"
         "{'Put':{'TableName':'acct','Item':{'id':{'S':'d'},'bal':{'N':'35'}}}}]}",
         NULL, "{}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'b'}}}", NULL, "{}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'d'}}}", NULL,
         "{'Item':{'id':{'S':'d'},'bal':{'N':'35'}}}"},
    };
    RUN(e, steps);
}

/* Index entries follow transactional writes and vanish with a cancelled transaction. */
static void test_indexes(void **state)
{
    struct env *e = *state;
    static const struct step steps[] = {
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'log','Item':{'p':{'S':'i'},'s':{'N':'1'},"
         "'g':{'S':'G1'},'l':{'N':'9'}}}},"
         "{'ConditionCheck':{'TableName':'acct','Key':{'id':{'S':'a'}},"
         "'ConditionExpression':'attribute_not_exists(id)'}}]}",
         TCE, CANCELLED("None, ConditionalCheckFailed"), NULL},
        {QRY,
         "{'TableName':'log','IndexName':'by_g','KeyConditionExpression':'g = :g',"
         "'ExpressionAttributeValues':{':g':{'S':'G1'}}}",
         NULL, "{'Items':[],'Count':0,'ScannedCount':0}"},
        {QRY,
         "{'TableName':'log','IndexName':'by_l','KeyConditionExpression':'p = :p',"
         "'ExpressionAttributeValues':{':p':{'S':'i'}}}",
         NULL, "{'Items':[],'Count':0,'ScannedCount':0}"},
        {TW,
         "{'TransactItems':[{'Put':{'TableName':'log','Item':{'p':{'S':'i'},'s':{'N':'1'},"
         "'g':{'S':'G1'},'l':{'N':'9'}}}}]}",
         NULL, "{}"},
        {QRY,
         "{'TableName':'log','IndexName':'by_g','KeyConditionExpression':'g = :g',"
         "'ExpressionAttributeValues':{':g':{'S':'G1'}}}",
         NULL,
         "{'Items':[{'p':{'S':'i'},'s':{'N':'1'},'g':{'S':'G1'}}],'Count':1,"
         "'ScannedCount':1}"},
        /* An update moves the GSI entry. */
        {TW,
         "{'TransactItems':[{'Update':{'TableName':'log','Key':{'p':{'S':'i'},'s':{'N':'1'}},"
         "'UpdateExpression':'SET g = :g','ExpressionAttributeValues':{':g':{'S':'G2'}}}}]}",
         NULL, "{}"},
        {QRY,
         "{'TableName':'log','IndexName':'by_g','KeyConditionExpression':'g = :g',"
         "'ExpressionAttributeValues':{':g':{'S':'G1'}}}",
         NULL, "{'Items':[],'Count':0,'ScannedCount':0}"},
        {QRY,
         "{'TableName':'log','IndexName':'by_g','KeyConditionExpression':'g = :g',"
         "'ExpressionAttributeValues':{':g':{'S':'G2'}}}",
         NULL,
         "{'Items':[{'p':{'S':'i'},'s':{'N':'1'},'g':{'S':'G2'}}],'Count':1,"
         "'ScannedCount':1}"},
        /* An update that makes the index key the wrong type cancels. */
        {TW,
         "{'TransactItems':[{'Update':{'TableName':'log','Key':{'p':{'S':'i'},'s':{'N':'1'}},"
         "'UpdateExpression':'SET g = :g','ExpressionAttributeValues':{':g':{'N':'3'}}}}]}",
         TCE, CANCELLED("ValidationError"),
         "[{'Code':'ValidationError','Message':'One or more parameter values were invalid: "
         "Type mismatch for Index Key g Expected: S Actual: N IndexName: by_g'}]"},
        {TW,
         "{'TransactItems':[{'Delete':{'TableName':'log','Key':{'p':{'S':'i'},'s':{'N':'1'}}}}"
         "]}",
         NULL, "{}"},
        {QRY,
         "{'TableName':'log','IndexName':'by_l','KeyConditionExpression':'p = :p',"
         "'ExpressionAttributeValues':{':p':{'S':'i'}}}",
         NULL, "{'Items':[],'Count':0,'ScannedCount':0}"},
    };
    RUN(e, steps);
}

/* A token makes a retry answer the same and change nothing; other parameters are refused. */
static void test_idempotency(void **state)
{
    struct env *e = *state;
#define INC(tok, n)                                                                                \
    "{'ClientRequestToken':'" tok "','TransactItems':[{'Update':{'TableName':'acct',"              \
    "'Key':{'id':{'S':'ctr'}},'UpdateExpression':'ADD n :one',"                                    \
    "'ExpressionAttributeValues':{':one':{'N':'" n "'}}}}]}"
    static const struct step steps[] = {
        {TW, INC("tok-1", "1"), NULL, "{}"},
        {TW, INC("tok-1", "1"), NULL, "{}"},
        {TW, INC("tok-1", "1"), NULL, "{}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'ctr'}}}", NULL,
         "{'Item':{'id':{'S':'ctr'},'n':{'N':'1'}}}"},
        {TW, INC("tok-1", "2"), IPM,
         "DynamoDB rejected the request because you retried a request with a different payload "
         "but with an idempotent token that was already used."},
        /* Member order does not make a request different. */
        {TW,
         "{'TransactItems':[{'Update':{'ExpressionAttributeValues':{':one':{'N':'1'}},"
         "'UpdateExpression':'ADD n :one','Key':{'id':{'S':'ctr'}},'TableName':'acct'}}],"
         "'ClientRequestToken':'tok-1'}",
         NULL, "{}"},
        /* A replay reports reads: 2 units per item read. */
        {TW,
         "{'ClientRequestToken':'tok-1','ReturnConsumedCapacity':'TOTAL','TransactItems':[{"
         "'Update':{'TableName':'acct','Key':{'id':{'S':'ctr'}},'UpdateExpression':'ADD n :one',"
         "'ExpressionAttributeValues':{':one':{'N':'1'}}}}]}",
         NULL, "{'ConsumedCapacity':[{'TableName':'acct','CapacityUnits':2.0}]}"},
        {TW, INC("tok-2", "1"), NULL, "{}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'ctr'}}}", NULL,
         "{'Item':{'id':{'S':'ctr'},'n':{'N':'2'}}}"},
        /* A cancelled transaction leaves no record: the retry runs. */
        {TW,
         "{'ClientRequestToken':'tok-3','TransactItems':[{'Put':{'TableName':'acct',"
         "'Item':{'id':{'S':'once'}},'ConditionExpression':'attribute_exists(id)'}}]}",
         TCE, CANCELLED("ConditionalCheckFailed"), NULL},
        {TW,
         "{'ClientRequestToken':'tok-3','TransactItems':[{'Put':{'TableName':'acct',"
         "'Item':{'id':{'S':'once'}},'ConditionExpression':'attribute_not_exists(id)'}}]}",
         NULL, "{}"},
    };
    RUN(e, steps);

    /* After the window the token is new again. */
    e->be->opts.txn_token_ttl_ms = 200;
    static const struct step short_lived[] = {
        {TW, INC("tok-4", "1"), NULL, "{}"},
        {TW, INC("tok-4", "1"), NULL, "{}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'ctr'}}}", NULL,
         "{'Item':{'id':{'S':'ctr'},'n':{'N':'3'}}}"},
    };
    RUN(e, short_lived);
    usleep(300 * 1000);
    static const struct step later[] = {
        {TW, INC("tok-4", "5"), NULL, "{}"},
        {GET, "{'TableName':'acct','Key':{'id':{'S':'ctr'}}}", NULL,
         "{'Item':{'id':{'S':'ctr'},'n':{'N':'8'}}}"},
    };
    RUN(e, later);
    e->be->opts.txn_token_ttl_ms = 0;
#undef INC
}

/* Transactional writes cost 2 units per KB, reads 2 per 4 KB; one entry per table. */
/* Records of the txn database (tokens and their expiry index). */
static size_t token_records(struct env *e)
{
    MDB_txn *txn = NULL;
    MDB_stat st;
    assert_int_equal(be_read_begin(e->be, &txn), 0);
    assert_int_equal(mdb_stat(txn, be_store_dbi(e->be->store, BE_DBI_TXN), &st), 0);
    be_read_end(txn);
    return st.ms_entries;
}

/* Expired records are pruned by later transactions, at most 16 per transaction. */
static void test_token_pruning(void **state)
{
    struct env *e = *state;
    char body[256];
    e->be->opts.txn_token_ttl_ms = 50;
    for (int i = 0; i < 20; i++) {
        snprintf(body, sizeof body,
                 "{'ClientRequestToken':'p-%d','TransactItems':[{'Put':{'TableName':'acct',"
                 "'Item':{'id':{'S':'p%d'}}}}]}",
                 i, i);
        cJSON_Delete(ok(e, TW, "%s", body));
    }
    assert_int_equal(token_records(e), 40); /* a record and an index entry per token */
    usleep(100 * 1000);
    e->be->opts.txn_token_ttl_ms = 0;
    cJSON_Delete(ok(e, TW,
                    "{'ClientRequestToken':'p-new','TransactItems':[{'Put':{'TableName':'acct',"
                    "'Item':{'id':{'S':'pn'}}}}]}"));
    assert_int_equal(token_records(e), (20 - 16 + 1) * 2);
    cJSON_Delete(ok(e, TW,
                    "{'ClientRequestToken':'p-new2','TransactItems':[{'Put':{'TableName':'acct',"
                    "'Item':{'id':{'S':'pn2'}}}}]}"));
    assert_int_equal(token_records(e), 2 * 2);
    /* A transaction without a token leaves no record, but prunes expired ones. */
    cJSON_Delete(
        ok(e, TW, "{'TransactItems':[{'Put':{'TableName':'acct','Item':{'id':{'S':'q'}}}}]}"));
    assert_int_equal(token_records(e), 2 * 2);
    e->be->opts.txn_token_ttl_ms = 50;
    cJSON_Delete(ok(e, TW,
                    "{'ClientRequestToken':'p-short','TransactItems':[{'Put':{'TableName':'acct',"
                    "'Item':{'id':{'S':'ps'}}}}]}"));
    e->be->opts.txn_token_ttl_ms = 0;
    assert_int_equal(token_records(e), 3 * 2);
    usleep(100 * 1000);
    cJSON_Delete(
        ok(e, TW, "{'TransactItems':[{'Put':{'TableName':'acct','Item':{'id':{'S':'r'}}}}]}"));
    assert_int_equal(token_records(e), 2 * 2);
}

static void test_capacity(void **state)
{
    struct env *e = *state;
    /* 'a' holds ~1.5 KB after this. */
    char big[1600];
    memset(big, 'y', 1500);
    big[1500] = 0;
    char body[2048];
    snprintf(body, sizeof body, "{'TableName':'acct','Item':{'id':{'S':'big'},'v':{'S':'%s'}}}",
             big);
    put(e, "%s", body);
    static const struct step steps[] = {
        /* acct: put 1 KB (2) + check of 1.5 KB item (4); log: put with GSI and LSI entries
         * (table 2, by_g 1, by_l 1: index entries are not doubled). */
        {TW,
         "{'ReturnConsumedCapacity':'INDEXES','TransactItems':["
         "{'Put':{'TableName':'acct','Item':{'id':{'S':'cap1'}}}},"
         "{'ConditionCheck':{'TableName':'acct','Key':{'id':{'S':'big'}},"
         "'ConditionExpression':'attribute_exists(id)'}},"
         "{'Put':{'TableName':'log','Item':{'p':{'S':'c'},'s':{'N':'1'},'g':{'S':'G'},"
         "'l':{'N':'1'}}}}]}",
         NULL,
         "{'ConsumedCapacity':[{'TableName':'acct','CapacityUnits':6.0,"
         "'Table':{'CapacityUnits':6.0}},"
         "{'TableName':'log','CapacityUnits':4.0,'Table':{'CapacityUnits':2.0},"
         "'LocalSecondaryIndexes':{'by_l':{'CapacityUnits':1.0}},"
         "'GlobalSecondaryIndexes':{'by_g':{'CapacityUnits':1.0}}}]}"},
        {TW,
         "{'ReturnConsumedCapacity':'TOTAL','TransactItems':["
         "{'Delete':{'TableName':'acct','Key':{'id':{'S':'big'}}}}]}",
         NULL, "{'ConsumedCapacity':[{'TableName':'acct','CapacityUnits':4.0}]}"},
        {TG,
         "{'ReturnConsumedCapacity':'TOTAL','TransactItems':["
         "{'Get':{'TableName':'acct','Key':{'id':{'S':'a'}}}},"
         "{'Get':{'TableName':'acct','Key':{'id':{'S':'none'}}}},"
         "{'Get':{'TableName':'log','Key':{'p':{'S':'c'},'s':{'N':'1'}}}}]}",
         NULL,
         "{'Responses':[{'Item':{'id':{'S':'a'},'bal':{'N':'100'}}},{},"
         "{'Item':{'p':{'S':'c'},'s':{'N':'1'},'g':{'S':'G'},'l':{'N':'1'}}}],"
         "'ConsumedCapacity':[{'TableName':'acct','CapacityUnits':4.0},"
         "{'TableName':'log','CapacityUnits':2.0}]}"},
        /* ItemCollectionMetrics for the table with an LSI. */
        {TW,
         "{'ReturnItemCollectionMetrics':'SIZE','TransactItems':["
         "{'Put':{'TableName':'acct','Item':{'id':{'S':'m1'}}}},"
         "{'Update':{'TableName':'log','Key':{'p':{'S':'c'},'s':{'N':'1'}},"
         "'UpdateExpression':'SET z = :z','ExpressionAttributeValues':{':z':{'S':'z'}}}}]}",
         NULL,
         "{'ItemCollectionMetrics':{'log':[{'ItemCollectionKey':{'p':{'S':'c'}},"
         "'SizeEstimateRangeGB':[0.0,1.0]}]}}"},
    };
    RUN(e, steps);
}

static void test_get(void **state)
{
    struct env *e = *state;
    static const struct step steps[] = {
        {TG,
         "{'TransactItems':[{'Get':{'TableName':'acct','Key':{'id':{'S':'b'}},"
         "'ProjectionExpression':'#b','ExpressionAttributeNames':{'#b':'bal'}}},"
         "{'Get':{'TableName':'acct','Key':{'id':{'S':'missing'}}}},"
         "{'Get':{'TableName':'arn:aws:dynamodb:us-east-1:000000000000:table/acct',"
         "'Key':{'id':{'S':'a'}}}}]}",
         NULL,
         "{'Responses':[{'Item':{'bal':{'N':'5'}}},{},"
         "{'Item':{'id':{'S':'a'},'bal':{'N':'100'}}}]}"},
        {TG, "{'TransactItems':[]}", VE,
         "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy "
         "constraint: Member must have length greater than or equal to 1"},
        {TG, "{'TransactItems':[{'Get':{'TableName':'nope','Key':{'id':{'S':'a'}}}}]}", RNF,
         "Requested resource not found"},
        {TG,
         "{'TransactItems':[{'Get':{'TableName':'acct','Key':{'id':{'S':'a'}}}},"
         "{'Get':{'TableName':'acct','Key':{'id':{'S':'a'}}}}]}",
         VE, "Transaction request cannot include multiple operations on one item"},
        {TG,
         "{'TransactItems':[{'Get':{'TableName':'acct','Key':{'id':{'S':'a'}}}},"
         "{'Get':{'TableName':'acct','Key':{}}}]}",
         TCE, CANCELLED("None, ValidationError"),
         "[{'Code':'None'},{'Code':'ValidationError','Message':'The provided key element does "
         "not match the schema'}]"},
        {TG,
         "{'TransactItems':[{'Get':{'TableName':'acct','Key':{'id':{'S':'a'}},"
         "'ProjectionExpression':'!!!'}}]}",
         VE, "Invalid ProjectionExpression: Syntax error; token: \"!\", near: \"!!\""},
        {TG,
         "{'TransactItems':[{'Get':{'TableName':'acct','Key':{'id':{'S':'a'}}}}],"
         "'ReturnConsumedCapacity':'BOGUS'}",
         VE,
         "1 validation error detected: Value 'BOGUS' at 'returnConsumedCapacity' failed to "
         "satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"},
        {TG, "{'TransactItems':[{}]}", VE,
         "1 validation error detected: Value null at 'transactItems.1.member.get' failed to "
         "satisfy constraint: Member must not be null"},
    };
    RUN(e, steps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_validation, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_cancellation_reasons, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_commit, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_indexes, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_idempotency, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_token_pruning, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_capacity, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_get, setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
