/*
 * Engine-level tests of secondary indexes: a real backend in a temporary directory, driven
 * through its dx_api with JSON bodies (the harness of test_be_query.c). They check that every
 * write keeps the indexes current — each projection type, sparse indexes, non-unique index
 * keys, items moving between index partitions, deletes — that Query and Scan read an index
 * with its key schema and page through LastEvaluatedKey (index keys + table keys) reaching
 * every entry once, DynamoDB's errors for index reads, and, for random writes, that each
 * index's contents equal a recomputation from the table. Bodies use single quotes.
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

#define KS_G                                                                                       \
    "'KeySchema':[{'AttributeName':'g','KeyType':'HASH'},{'AttributeName':'gs','KeyType':'RANGE'}" \
    "]"
#define KS_L                                                                                       \
    "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},{'AttributeName':'l','KeyType':'RANGE'}" \
    "]"

static int setup(void **state)
{
    struct env *e = env_new("index", 64u << 20);
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'itx','AttributeDefinitions':["
                    "{'AttributeName':'pk','AttributeType':'S'},"
                    "{'AttributeName':'sk','AttributeType':'N'},"
                    "{'AttributeName':'g','AttributeType':'S'},"
                    "{'AttributeName':'gs','AttributeType':'N'},"
                    "{'AttributeName':'l','AttributeType':'S'}],"
                    "'KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},"
                    "{'AttributeName':'sk','KeyType':'RANGE'}],"
                    "'GlobalSecondaryIndexes':["
                    "{'IndexName':'g_all'," KS_G ",'Projection':{'ProjectionType':'ALL'}},"
                    "{'IndexName':'g_keys'," KS_G ",'Projection':{'ProjectionType':'KEYS_ONLY'}},"
                    "{'IndexName':'g_inc'," KS_G ",'Projection':{'ProjectionType':'INCLUDE',"
                    "'NonKeyAttributes':['x']}},"
                    "{'IndexName':'g_hash','KeySchema':[{'AttributeName':'g','KeyType':'HASH'}],"
                    "'Projection':{'ProjectionType':'ALL'}}],"
                    "'LocalSecondaryIndexes':["
                    "{'IndexName':'l_all'," KS_L ",'Projection':{'ProjectionType':'ALL'}},"
                    "{'IndexName':'l_keys'," KS_L ",'Projection':{'ProjectionType':'KEYS_ONLY'}}],"
                    "'BillingMode':'PAY_PER_REQUEST'}"));
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

/* Every item of a Scan (of the table or of an index when index != NULL), read page by page
 * with Limit `limit`, appended to items (a cJSON array). Returns the number of pages. */
static int scan_all(struct env *e, const char *index, int limit, cJSON *items)
{
    char *esk = NULL;
    int pages = 0;
    for (;;) {
        char body[2048];
        snprintf(body, sizeof body, "{\"TableName\":\"itx\"%s%s%s,\"Limit\":%d%s%s}",
                 index ? ",\"IndexName\":\"" : "", index ? index : "", index ? "\"" : "", limit,
                 esk ? ",\"ExclusiveStartKey\":" : "", esk ? esk : "");
        free(esk);
        esk = NULL;
        struct dx_reply *r = call_raw(e, DX_OP_Scan, body);
        if (r->status != 200)
            fail_msg("Scan %s -> %d %.*s", body, r->status, (int)r->len, r->body);
        cJSON *j = cJSON_ParseWithLength(r->body, r->len);
        dx_reply_free(r);
        pages++;
        cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "Items"))
            cJSON_AddItemToArray(items, cJSON_Duplicate(it, 1));
        const cJSON *lek = cJSON_GetObjectItemCaseSensitive(j, "LastEvaluatedKey");
        if (lek)
            esk = cJSON_PrintUnformatted(lek);
        cJSON_Delete(j);
        if (!esk)
            return pages;
    }
}

/* ---- projections ---- */

static void test_projections(void **state)
{
    struct env *e = *state;
    put(e, "{'TableName':'itx','Item':{'pk':{'S':'p1'},'sk':{'N':'1'},'g':{'S':'G'},"
           "'gs':{'N':'5'},'x':{'S':'xv'},'y':{'S':'yv'},'l':{'S':'L'}}}");
    static const struct {
        const char *index, *want;
    } cases[] = {
        {"g_all", "g={\"S\":\"G\"};gs={\"N\":\"5\"};l={\"S\":\"L\"};pk={\"S\":\"p1\"};"
                  "sk={\"N\":\"1\"};x={\"S\":\"xv\"};y={\"S\":\"yv\"};"},
        {"g_keys", "g={\"S\":\"G\"};gs={\"N\":\"5\"};pk={\"S\":\"p1\"};sk={\"N\":\"1\"};"},
        {"g_inc", "g={\"S\":\"G\"};gs={\"N\":\"5\"};pk={\"S\":\"p1\"};sk={\"N\":\"1\"};"
                  "x={\"S\":\"xv\"};"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *r = ok(e, DX_OP_Query,
                      "{'TableName':'itx','IndexName':'%s','KeyConditionExpression':'g = :g',"
                      "'ExpressionAttributeValues':{':g':{'S':'G'}}}",
                      cases[i].index);
        assert_int_equal(count_of(r, "Count"), 1);
        char *got =
            canon(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "Items"), 0), NULL, 0);
        assert_string_equal(got, cases[i].want);
        free(got);
        cJSON_Delete(r);
    }
    /* An LSI of keys only: its keys; with ALL_ATTRIBUTES the table's item. */
    cJSON *r = ok(e, DX_OP_Query,
                  "{'TableName':'itx','IndexName':'l_keys','KeyConditionExpression':'pk = :p',"
                  "'ExpressionAttributeValues':{':p':{'S':'p1'}}}");
    char *got = canon(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "Items"), 0), NULL, 0);
    assert_string_equal(got, "l={\"S\":\"L\"};pk={\"S\":\"p1\"};sk={\"N\":\"1\"};");
    free(got);
    cJSON_Delete(r);
    r = ok(e, DX_OP_Query,
           "{'TableName':'itx','IndexName':'l_keys','KeyConditionExpression':'pk = :p',"
           "'Select':'ALL_ATTRIBUTES','ConsistentRead':true,"
           "'ExpressionAttributeValues':{':p':{'S':'p1'}}}");
    got = canon(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "Items"), 0), NULL, 0);
    assert_non_null(strstr(got, "y={\"S\":\"yv\"}"));
    free(got);
    cJSON_Delete(r);
    /* A delete removes every entry. */
    cJSON_Delete(
        ok(e, DX_OP_DeleteItem, "{'TableName':'itx','Key':{'pk':{'S':'p1'},'sk':{'N':'1'}}}"));
    static const char *all[] = {"g_all", "g_keys", "g_inc", "g_hash", "l_all", "l_keys"};
    for (size_t i = 0; i < 6; i++) {
        cJSON *items = cJSON_CreateArray();
        scan_all(e, all[i], 100, items);
        assert_int_equal(cJSON_GetArraySize(items), 0);
        cJSON_Delete(items);
    }
}

/* ---- sparse indexes and moves ---- */

static int gcount(struct env *e, const char *index, const char *g)
{
    cJSON *r = ok(e, DX_OP_Query,
                  "{'TableName':'itx','IndexName':'%s','KeyConditionExpression':'g = :g',"
                  "'ExpressionAttributeValues':{':g':{'S':'%s'}}}",
                  index, g);
    int n = count_of(r, "Count");
    cJSON_Delete(r);
    return n;
}

static void test_sparse_and_moves(void **state)
{
    struct env *e = *state;
    put(e, "{'TableName':'itx','Item':{'pk':{'S':'s'},'sk':{'N':'1'},'y':{'S':'v'}}}");
    cJSON *items = cJSON_CreateArray();
    scan_all(e, "g_hash", 10, items);
    assert_int_equal(cJSON_GetArraySize(items), 0);
    cJSON_Delete(items);
    cJSON_Delete(
        ok(e, DX_OP_UpdateItem,
           "{'TableName':'itx','Key':{'pk':{'S':'s'},'sk':{'N':'1'}},"
           "'UpdateExpression':'SET g = :g','ExpressionAttributeValues':{':g':{'S':'A'}}}"));
    assert_int_equal(gcount(e, "g_hash", "A"), 1);
    assert_int_equal(gcount(e, "g_all", "A"), 0); /* lacks gs: no entry */
    cJSON_Delete(ok(e, DX_OP_UpdateItem,
                    "{'TableName':'itx','Key':{'pk':{'S':'s'},'sk':{'N':'1'}},"
                    "'UpdateExpression':'SET g = :g, gs = :n',"
                    "'ExpressionAttributeValues':{':g':{'S':'B'},':n':{'N':'1'}}}"));
    assert_int_equal(gcount(e, "g_hash", "A"), 0);
    assert_int_equal(gcount(e, "g_hash", "B"), 1);
    assert_int_equal(gcount(e, "g_all", "B"), 1);
    cJSON_Delete(ok(e, DX_OP_UpdateItem,
                    "{'TableName':'itx','Key':{'pk':{'S':'s'},'sk':{'N':'1'}},"
                    "'UpdateExpression':'REMOVE gs'}"));
    assert_int_equal(gcount(e, "g_all", "B"), 0);
    assert_int_equal(gcount(e, "g_hash", "B"), 1);
    /* Index stats follow the entries. */
    cJSON *d = ok(e, DX_OP_DescribeTable, "{'TableName':'itx'}");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "Table"),
                                                      "GlobalSecondaryIndexes");
    const cJSON *x;
    cJSON_ArrayForEach(x, g)
    {
        const char *n = cJSON_GetObjectItemCaseSensitive(x, "IndexName")->valuestring;
        int want = strcmp(n, "g_hash") == 0;
        assert_int_equal(count_of(x, "ItemCount"), want);
        assert_true(want ? count_of(x, "IndexSizeBytes") > 0 : count_of(x, "IndexSizeBytes") == 0);
    }
    cJSON_Delete(d);
}

/* ---- non-unique keys, paging ---- */

static void test_non_unique_paging(void **state)
{
    struct env *e = *state;
    for (int i = 0; i < 9; i++)
        put(e,
            "{'TableName':'itx','Item':{'pk':{'S':'n%d'},'sk':{'N':'%d'},'g':{'S':'NU'},"
            "'gs':{'N':'%d'}}}",
            8 - i, i, i % 3);
    char got[256] = "";
    /* By gs, then inside one gs by the table key. */
    const char *want = "n2,n5,n8,n1,n4,n7,n0,n3,n6";
    char esk[512] = "";
    int pages = 0;
    for (;;) {
        cJSON *r = ok(e, DX_OP_Query,
                      "{'TableName':'itx','IndexName':'g_keys','KeyConditionExpression':'g = :g',"
                      "'Limit':2,'ExpressionAttributeValues':{':g':{'S':'NU'}}%s%s}",
                      esk[0] ? ",'ExclusiveStartKey':" : "", esk);
        pages++;
        char part[256];
        values(r, "pk", "S", part, sizeof part);
        if (part[0]) {
            size_t gl = strlen(got);
            int n = snprintf(got + gl, sizeof got - gl, "%s%s", gl ? "," : "", part);
            assert_true(n >= 0 && (size_t)n < sizeof got - gl); /* the buffer holds every key */
        }
        const cJSON *lek = cJSON_GetObjectItemCaseSensitive(r, "LastEvaluatedKey");
        esk[0] = 0;
        if (lek) {
            assert_int_equal(cJSON_GetArraySize(lek), 4); /* g, gs, pk, sk */
            char *t = cJSON_PrintUnformatted(lek);
            snprintf(esk, sizeof esk, "%s", t);
            for (char *p = esk; *p; p++)
                if (*p == '"')
                    *p = '\'';
            free(t);
        }
        cJSON_Delete(r);
        if (!esk[0])
            break;
    }
    assert_string_equal(got, want);
    assert_int_equal(pages, 5);
    char back[256];
    query_values(e,
                 "{'TableName':'itx','IndexName':'g_keys','KeyConditionExpression':'g = :g',"
                 "'ScanIndexForward':false,'ExpressionAttributeValues':{':g':{'S':'NU'}}}",
                 "pk", "S", back, sizeof back);
    assert_string_equal(back, "n6,n3,n0,n7,n4,n1,n8,n5,n2");
    query_values(e,
                 "{'TableName':'itx','IndexName':'g_inc','KeyConditionExpression':"
                 "'g = :g AND gs >= :n','ExpressionAttributeValues':{':g':{'S':'NU'},"
                 "':n':{'N':'2'}}}",
                 "pk", "S", back, sizeof back);
    assert_string_equal(back, "n0,n3,n6");
}

/* ---- errors ---- */

static void test_errors(void **state)
{
    struct env *e = *state;
    fails(e, DX_OP_Query,
          "{'TableName':'itx','IndexName':'g_all','ConsistentRead':true,"
          "'KeyConditionExpression':'g = :g','ExpressionAttributeValues':{':g':{'S':'G'}}}",
          "ValidationException", "Consistent reads are not supported on global secondary indexes");
    fails(e, DX_OP_Scan, "{'TableName':'itx','IndexName':'g_all','ConsistentRead':true}",
          "ValidationException", "Consistent reads are not supported on global secondary indexes");
    fails(e, DX_OP_Query,
          "{'TableName':'itx','IndexName':'g_keys','Select':'ALL_ATTRIBUTES',"
          "'KeyConditionExpression':'g = :g','ExpressionAttributeValues':{':g':{'S':'G'}}}",
          "ValidationException",
          "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported "
          "for global secondary index g_keys because its projection type is not ALL");
    fails(e, DX_OP_Query,
          "{'TableName':'itx','IndexName':'g_inc','ProjectionExpression':'pk, x, y.a, z, y.b',"
          "'KeyConditionExpression':'g = :g','ExpressionAttributeValues':{':g':{'S':'G'}}}",
          "ValidationException",
          "One or more parameter values were invalid: Global secondary index g_inc does not "
          "project [y, z]");
    fails(e, DX_OP_Scan, "{'TableName':'itx','IndexName':'g_keys','AttributesToGet':['gs','x']}",
          "ValidationException",
          "One or more parameter values were invalid: Global secondary index g_keys does not "
          "project [x]");
    fails(e, DX_OP_Scan, "{'TableName':'itx','IndexName':'nope'}", "ValidationException",
          "The table does not have the specified index: nope");
    fails(e, DX_OP_Query,
          "{'TableName':'itx','IndexName':'g_all','KeyConditionExpression':'pk = :g',"
          "'ExpressionAttributeValues':{':g':{'S':'G'}}}",
          "ValidationException", "Query condition missed key schema element: g");
    fails(e, DX_OP_Scan,
          "{'TableName':'itx','IndexName':'g_all','ExclusiveStartKey':{'pk':{'S':'a'},"
          "'sk':{'N':'1'}}}",
          "ValidationException",
          "The provided starting key is invalid: The provided key element does not match the "
          "schema");
}

/* ---- parallel Scan ---- */

static void test_parallel_scan(void **state)
{
    struct env *e = *state;
    for (int i = 0; i < 40; i++)
        put(e,
            "{'TableName':'itx','Item':{'pk':{'S':'ps%d'},'sk':{'N':'0'},'g':{'S':'P%d'},"
            "'gs':{'N':'1'}}}",
            i, i);
    int seen[40] = {0};
    for (int seg = 0; seg < 4; seg++) {
        cJSON *r =
            ok(e, DX_OP_Scan,
               "{'TableName':'itx','IndexName':'g_all','Segment':%d,'TotalSegments':4}", seg);
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, "Items"))
        {
            int n = atoi(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, "pk"), "S")
                    ->valuestring +
                2);
            seen[n]++;
        }
        cJSON_Delete(r);
    }
    for (int i = 0; i < 40; i++)
        assert_int_equal(seen[i], 1);
}

/* ---- index contents = recomputation from the table ---- */

static void check_index(struct env *e, const char *index, const char *const *need, size_t n_need,
                        const char *const *proj, size_t n_proj)
{
    cJSON *table = cJSON_CreateArray(), *ix = cJSON_CreateArray();
    scan_all(e, NULL, 1000, table);
    scan_all(e, index, 7, ix);
    char *want[512], *got[512];
    size_t nw = 0, ng = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, table)
    {
        int in = 1;
        for (size_t i = 0; i < n_need; i++)
            in &= cJSON_GetObjectItemCaseSensitive(it, need[i]) != NULL;
        if (in && nw < 512)
            want[nw++] = canon(it, proj, n_proj);
    }
    cJSON_ArrayForEach(it, ix)
    {
        if (ng < 512)
            got[ng++] = canon(it, NULL, 0);
    }
    assert_int_equal(ng, nw);
    assert_true(nw > 5);
    qsort(want, nw, sizeof *want, str_cmp);
    qsort(got, ng, sizeof *got, str_cmp);
    for (size_t i = 0; i < nw; i++) {
        assert_string_equal(got[i], want[i]);
        free(got[i]);
        free(want[i]);
    }
    cJSON_Delete(table);
    cJSON_Delete(ix);
}

static void test_random_consistency(void **state)
{
    struct env *e = *state;
    unsigned seed = 12345;
    for (int step = 0; step < 600; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        int pk = (int)(r % 20), sk = (int)((r >> 5) % 3), op = (int)((r >> 7) % 10);
        int g = (int)((r >> 11) % 4), gs = (int)((r >> 13) % 5), has = (int)((r >> 16) % 8);
        if (op < 2) {
            cJSON_Delete(ok(e, DX_OP_DeleteItem,
                            "{'TableName':'itx','Key':{'pk':{'S':'r%d'},'sk':{'N':'%d'}}}", pk,
                            sk));
        } else if (op < 5) {
            cJSON_Delete(ok(e, DX_OP_UpdateItem,
                            "{'TableName':'itx','Key':{'pk':{'S':'r%d'},'sk':{'N':'%d'}},"
                            "'UpdateExpression':'%s','ExpressionAttributeValues':{':g':{'S':"
                            "'G%d'},':x':{'S':'x%d'}}}",
                            pk, sk, has & 1 ? "SET g = :g, x = :x" : "SET x = :x, y = :g REMOVE gs",
                            g, step));
        } else {
            char extra[128] = "";
            if (has & 1)
                snprintf(extra + strlen(extra), 40, ",'g':{'S':'G%d'}", g);
            if (has & 2)
                snprintf(extra + strlen(extra), 40, ",'gs':{'N':'%d'}", gs);
            if (has & 4)
                snprintf(extra + strlen(extra), 40, ",'l':{'S':'L%d'}", g);
            put(e, "{'TableName':'itx','Item':{'pk':{'S':'r%d'},'sk':{'N':'%d'}%s,'y':{'S':'y'}}}",
                pk, sk, extra);
        }
    }
    static const char *const g2[] = {"g", "gs"}, *const g1[] = {"g"}, *const l1[] = {"l"};
    static const char *const keys_g[] = {"pk", "sk", "g", "gs"};
    static const char *const inc_g[] = {"pk", "sk", "g", "gs", "x"};
    static const char *const keys_l[] = {"pk", "sk", "l"};
    check_index(e, "g_all", g2, 2, NULL, 0);
    check_index(e, "g_keys", g2, 2, keys_g, 4);
    check_index(e, "g_inc", g2, 2, inc_g, 5);
    check_index(e, "g_hash", g1, 1, NULL, 0);
    check_index(e, "l_all", l1, 1, NULL, 0);
    check_index(e, "l_keys", l1, 1, keys_l, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_projections, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_sparse_and_moves, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_non_unique_paging, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_parallel_scan, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_random_consistency, setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
