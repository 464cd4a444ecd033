/*
 * Update application: an UpdateExpression (or legacy AttributeUpdates) with its names and
 * values applied to an item gives DynamoDB's new item, or DynamoDB's runtime error.
 * JSON uses ' for ".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "expr_test_util.h"
#include <cjson/cJSON.h>
#include "be_catalog.h"
#include "be_expr.h"
#include "dx_buf.h"
#include "dx_status.h"

struct ucase {
    const char *req;  /* request members */
    const char *item; /* "" : no item yet (key {id: k} used) */
    const char *want; /* new item, or NULL when err is expected */
    const char *err;
};

#define KEYONLY "{'id':{'S':'k'}}"

static const struct ucase cases[] = {
    /* SET */
    {"'UpdateExpression':'SET a = :v','ExpressionAttributeValues':{':v':{'S':'x'}}", "",
     "{'id':{'S':'k'},'a':{'S':'x'}}", NULL},
    {"'UpdateExpression':'SET a = :v, b = a','ExpressionAttributeValues':{':v':{'S':'x'}}",
     "{'id':{'S':'k'},'a':{'S':'old'}}", "{'id':{'S':'k'},'a':{'S':'x'},'b':{'S':'old'}}", NULL},
    {"'UpdateExpression':'SET n = n + :v','ExpressionAttributeValues':{':v':{'N':'1.5'}}",
     "{'id':{'S':'k'},'n':{'N':'1'}}", "{'id':{'S':'k'},'n':{'N':'2.5'}}", NULL},
    {"'UpdateExpression':'SET n = :v - n','ExpressionAttributeValues':{':v':{'N':'1'}}",
     "{'id':{'S':'k'},'n':{'N':'3'}}", "{'id':{'S':'k'},'n':{'N':'-2'}}", NULL},
    {"'UpdateExpression':'SET n = n + :v','ExpressionAttributeValues':{':v':{'N':'1'}}", "", NULL,
     "The provided expression refers to an attribute that does not exist in the item"},
    {"'UpdateExpression':'SET n = if_not_exists(n, :z) + "
     ":v','ExpressionAttributeValues':{':v':{'N':'1'},':z':{'N':'0'}}",
     "", "{'id':{'S':'k'},'n':{'N':'1'}}", NULL},
    {"'UpdateExpression':'SET n = if_not_exists(n, "
     ":z)','ExpressionAttributeValues':{':z':{'N':'0'}}",
     "{'id':{'S':'k'},'n':{'N':'7'}}", "{'id':{'S':'k'},'n':{'N':'7'}}", NULL},
    {"'UpdateExpression':'SET n = s + :v','ExpressionAttributeValues':{':v':{'N':'1'}}",
     "{'id':{'S':'k'},'s':{'S':'x'}}", NULL,
     "An operand in the update expression has an incorrect data type"},
    {"'UpdateExpression':'SET n = n + :v','ExpressionAttributeValues':{':v':{'N':'9E125'}}",
     "{'id':{'S':'k'},'n':{'N':'9E125'}}", NULL,
     "Number overflow. Attempting to store a number with magnitude larger than supported range"},
    {"'UpdateExpression':'SET l = list_append(l, "
     ":v)','ExpressionAttributeValues':{':v':{'L':[{'N':'3'}]}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'1'},{'N':'2'}]}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'1'},{'N':'2'},{'N':'3'}]}}", NULL},
    {"'UpdateExpression':'SET l = list_append(:v, "
     "l)','ExpressionAttributeValues':{':v':{'L':[{'N':'0'}]}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'1'}]}}", "{'id':{'S':'k'},'l':{'L':[{'N':'0'},{'N':'1'}]}}",
     NULL},
    {"'UpdateExpression':'SET l = list_append(s, :v)','ExpressionAttributeValues':{':v':{'L':[]}}",
     "{'id':{'S':'k'},'s':{'S':'x'}}", NULL,
     "An operand in the update expression has an incorrect data type"},
    {"'UpdateExpression':'SET m.a.b = :v','ExpressionAttributeValues':{':v':{'N':'1'}}",
     "{'id':{'S':'k'},'m':{'M':{'a':{'M':{}}}}}",
     "{'id':{'S':'k'},'m':{'M':{'a':{'M':{'b':{'N':'1'}}}}}}", NULL},
    {"'UpdateExpression':'SET m.x.b = :v','ExpressionAttributeValues':{':v':{'N':'1'}}",
     "{'id':{'S':'k'},'m':{'M':{}}}", NULL,
     "The document path provided in the update expression is invalid for update"},
    {"'UpdateExpression':'SET s.b = :v','ExpressionAttributeValues':{':v':{'N':'1'}}",
     "{'id':{'S':'k'},'s':{'S':'x'}}", NULL,
     "The document path provided in the update expression is invalid for update"},
    {"'UpdateExpression':'SET l[0] = :v','ExpressionAttributeValues':{':v':{'N':'9'}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'1'},{'N':'2'}]}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'9'},{'N':'2'}]}}", NULL},
    {"'UpdateExpression':'SET l[9] = :a, l[5] = "
     ":b','ExpressionAttributeValues':{':a':{'N':'9'},':b':{'N':'5'}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'1'}]}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'1'},{'N':'5'},{'N':'9'}]}}", NULL},
    {"'UpdateExpression':'SET #a = "
     ":v','ExpressionAttributeNames':{'#a':'a.b'},'ExpressionAttributeValues':{':v':{'N':'1'}}",
     "", "{'id':{'S':'k'},'a.b':{'N':'1'}}", NULL},
    /* REMOVE */
    {"'UpdateExpression':'REMOVE a, nope'", "{'id':{'S':'k'},'a':{'S':'x'},'b':{'S':'y'}}",
     "{'id':{'S':'k'},'b':{'S':'y'}}", NULL},
    {"'UpdateExpression':'REMOVE l[0], l[2]'",
     "{'id':{'S':'k'},'l':{'L':[{'N':'0'},{'N':'1'},{'N':'2'},{'N':'3'}]}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'1'},{'N':'3'}]}}", NULL},
    {"'UpdateExpression':'REMOVE l[7]'", "{'id':{'S':'k'},'l':{'L':[{'N':'0'}]}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'0'}]}}", NULL},
    {"'UpdateExpression':'REMOVE m.a, m.b'",
     "{'id':{'S':'k'},'m':{'M':{'a':{'N':'1'},'c':{'N':'3'}}}}",
     "{'id':{'S':'k'},'m':{'M':{'c':{'N':'3'}}}}", NULL},
    {"'UpdateExpression':'SET l[1] = :v REMOVE l[0]','ExpressionAttributeValues':{':v':{'S':'x'}}",
     "{'id':{'S':'k'},'l':{'L':[{'N':'0'},{'N':'1'},{'N':'2'}]}}",
     "{'id':{'S':'k'},'l':{'L':[{'S':'x'},{'N':'2'}]}}", NULL},
    /* ADD */
    {"'UpdateExpression':'ADD n :v','ExpressionAttributeValues':{':v':{'N':'5'}}", "",
     "{'id':{'S':'k'},'n':{'N':'5'}}", NULL},
    {"'UpdateExpression':'ADD n :v','ExpressionAttributeValues':{':v':{'N':'-5'}}",
     "{'id':{'S':'k'},'n':{'N':'5'}}", "{'id':{'S':'k'},'n':{'N':'0'}}", NULL},
    {"'UpdateExpression':'ADD s :v','ExpressionAttributeValues':{':v':{'SS':['b','c']}}",
     "{'id':{'S':'k'},'s':{'SS':['a','b']}}", "{'id':{'S':'k'},'s':{'SS':['a','b','c']}}", NULL},
    {"'UpdateExpression':'ADD s :v','ExpressionAttributeValues':{':v':{'NS':['1']}}",
     "{'id':{'S':'k'},'s':{'SS':['a']}}", NULL,
     "An operand in the update expression has an incorrect data type"},
    {"'UpdateExpression':'ADD s :v','ExpressionAttributeValues':{':v':{'N':'1'}}",
     "{'id':{'S':'k'},'s':{'S':'a'}}", NULL,
     "An operand in the update expression has an incorrect data type"},
    /* DELETE */
    {"'UpdateExpression':'DELETE s :v','ExpressionAttributeValues':{':v':{'SS':['a','z']}}",
     "{'id':{'S':'k'},'s':{'SS':['a','b']}}", "{'id':{'S':'k'},'s':{'SS':['b']}}", NULL},
    {"'UpdateExpression':'DELETE s :v','ExpressionAttributeValues':{':v':{'SS':['a','b']}}",
     "{'id':{'S':'k'},'s':{'SS':['a','b']}}", "{'id':{'S':'k'}}", NULL},
    {"'UpdateExpression':'DELETE s :v','ExpressionAttributeValues':{':v':{'NS':['1']}}", "",
     "{'id':{'S':'k'}}", NULL},
    {"'UpdateExpression':'DELETE s :v','ExpressionAttributeValues':{':v':{'NS':['1']}}",
     "{'id':{'S':'k'},'s':{'SS':['a']}}", NULL,
     "An operand in the update expression has an incorrect data type"},
    /* key attributes: checked when the update runs */
    {"'UpdateExpression':'SET id = :v','ExpressionAttributeValues':{':v':{'S':'x'}}", "", NULL,
     "One or more parameter values were invalid: Cannot update attribute id. This attribute is "
     "part of the key"},
    {"'UpdateExpression':'REMOVE id'", "", NULL,
     "One or more parameter values were invalid: Cannot update attribute id. This attribute is "
     "part of the key"},
    {"'AttributeUpdates':{'id':{'Action':'PUT','Value':{'S':'x'}}}", "", NULL,
     "One or more parameter values were invalid: Cannot update attribute id. This attribute is "
     "part of the key"},
    {"'UpdateExpression':'SET a = id.x'", "", NULL,
     "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
     "Key: id"},
    /* which runtime error DynamoDB reports first */
    {"'UpdateExpression':'SET a = nope, b = s + :v','ExpressionAttributeValues':{':v':{'N':'1'}}",
     "{'id':{'S':'k'},'s':{'S':'x'}}", NULL,
     "An operand in the update expression has an incorrect data type"},
    {"'UpdateExpression':'SET a = nope REMOVE x.y'", "{'id':{'S':'k'}}", NULL,
     "The document path provided in the update expression is invalid for update"},
    {"'UpdateExpression':'SET a = nope, s.x = :v','ExpressionAttributeValues':{':v':{'N':'1'}}",
     "{'id':{'S':'k'},'s':{'S':'x'}}", NULL,
     "The document path provided in the update expression is invalid for update"},
    {"'UpdateExpression':'REMOVE x.y SET a = nope'", "{'id':{'S':'k'}}", NULL,
     "The provided expression refers to an attribute that does not exist in the item"},
    /* legacy AttributeUpdates */
    {"'AttributeUpdates':{'a':{'Value':{'S':'x'}},'b':{'Action':'DELETE'},'n':{'Action':'ADD','"
     "Value':{'N':'2'}}}",
     "{'id':{'S':'k'},'b':{'S':'y'},'n':{'N':'1'}}", "{'id':{'S':'k'},'a':{'S':'x'},'n':{'N':'3'}}",
     NULL},
    {"'AttributeUpdates':{'l':{'Action':'ADD','Value':{'L':[{'S':'b'}]}}}",
     "{'id':{'S':'k'},'l':{'L':[{'S':'a'}]}}", "{'id':{'S':'k'},'l':{'L':[{'S':'a'},{'S':'b'}]}}",
     NULL},
    {"'AttributeUpdates':{'n':{'Action':'ADD','Value':{'N':'2'}}}",
     "{'id':{'S':'k'},'n':{'S':'y'}}", NULL, "Type mismatch for attribute to update"},
};

static void test_cases(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ucase *c = &cases[i];
        char buf[2048];
        snprintf(buf, sizeof(buf), "{%s}", c->req);
        char *rj = jsonify(buf);
        cJSON *req = cJSON_Parse(rj);
        struct dx_arena a;
        struct dx_error err = {0};
        struct be_exprs *x = NULL;
        struct dx_av *out = NULL;
        dx_arena_init(&a);
        assert_non_null(req);
        struct dx_av *item = c->item[0] ? av(&a, c->item) : NULL;
        struct dx_av *key = av(&a, KEYONLY);
        struct be_table t;
        memset(&t, 0, sizeof(t));
        t.hash.name = "id";
        t.hash.type = DX_AV_S;
        int rc = be_exprs_parse(&a, DX_OP_UpdateItem, req, &t, &x, &err);
        if (rc != DX_OK) {
            fprintf(stderr, "case %zu: parse failed: %s\n", i, err.msg);
            failures++;
        } else {
            rc = be_exprs_apply_update(x, &a, item, key, &out, &err);
            if (c->want) {
                struct dx_av *want = av(&a, c->want);
                if (rc != DX_OK || !dx_av_equal(out, want)) {
                    struct dx_buf b = DX_BUF_INIT;
                    if (rc == DX_OK)
                        dx_av_map_write_json(&b, out);
                    fprintf(stderr, "case %zu %s:\n  want %s\n  got  %s\n", i, c->req, c->want,
                            rc == DX_OK ? b.p : err.msg);
                    dx_buf_deinit(&b);
                    failures++;
                }
            } else if (rc != DX_EREQ || !err.msg || strcmp(err.msg, c->err) != 0) {
                fprintf(stderr, "case %zu %s:\n  want error %s\n  got %s\n", i, c->req, c->err,
                        rc == DX_OK ? "(success)" : err.msg);
                failures++;
            }
        }
        dx_error_clear(&err);
        dx_arena_deinit(&a);
        cJSON_Delete(req);
        free(rj);
    }
    fprintf(stderr, "%zu cases, %d failed\n", sizeof(cases) / sizeof(cases[0]), failures);
    assert_int_equal(failures, 0);
}

/* The item given to apply_update is not changed, and UPDATED_OLD / UPDATED_NEW pick the
 * touched paths with their nesting. */
static void test_original_kept_and_updated_attrs(void **state)
{
    struct dx_arena a;
    struct dx_error err = {0};
    struct be_exprs *x = NULL;
    struct dx_av *out = NULL;
    dx_arena_init(&a);
    char *rj = jsonify("{'UpdateExpression':'SET m.b = :v, c = :v REMOVE l[0]',"
                       "'ExpressionAttributeValues':{':v':{'N':'2'}}}");
    cJSON *req = cJSON_Parse(rj);
    struct dx_av *item = av(&a, "{'id':{'S':'k'},'m':{'M':{'a':{'N':'0'},'b':{'N':'1'}}},"
                                "'l':{'L':[{'S':'x'},{'S':'y'}]},'z':{'N':'9'}}");
    struct dx_av *copy = dx_av_copy(&a, item);
    assert_int_equal(be_exprs_parse(&a, DX_OP_UpdateItem, req, NULL, &x, &err), DX_OK);
    assert_int_equal(be_exprs_apply_update(x, &a, item, NULL, &out, &err), DX_OK);
    assert_true(dx_av_equal(item, copy));
    assert_true(dx_av_equal(out, av(&a, "{'id':{'S':'k'},'m':{'M':{'a':{'N':'0'},'b':{'N':'2'}}},"
                                        "'l':{'L':[{'S':'y'}]},'z':{'N':'9'},'c':{'N':'2'}}")));
    assert_true(dx_av_equal(be_exprs_updated_attrs(x, &a, item),
                            av(&a, "{'m':{'M':{'b':{'N':'1'}}},'l':{'L':[{'S':'x'}]}}")));
    assert_true(
        dx_av_equal(be_exprs_updated_attrs(x, &a, out),
                    av(&a, "{'m':{'M':{'b':{'N':'2'}}},'c':{'N':'2'},'l':{'L':[{'S':'y'}]}}")));
    cJSON_Delete(req);
    free(rj);
    dx_arena_deinit(&a);
}

/* Key and index rules on a table with hash key a, range key b and a global index index4 on
 * (c, d), all strings: dynalite's cases, checked against DynamoDB. */
struct icase {
    const char *req;
    const char *item; /* "" : no item */
    const char *err;
};

static const struct icase icases[] = {
    {"'UpdateExpression':'set a = a.b + a[1]'", "",
     "One or more parameter values were invalid: Cannot update attribute a. This attribute is part "
     "of the key"},
    {"'UpdateExpression':'set d[1] = :a add b.b :a','ExpressionAttributeValues':{':a':{'N':'1'}}",
     "",
     "One or more parameter values were invalid: Cannot update attribute b. This attribute is part "
     "of the key"},
    {"'AttributeUpdates':{'d':{'Value':{'N':'1'}},'c':{'Value':{'N':'1'}}}", "",
     "One or more parameter values were invalid: Type mismatch for Index Key c Expected: S Actual: "
     "N IndexName: index4"},
    {"'UpdateExpression':'set d.a = a add c :a','ExpressionAttributeValues':{':a':{'N':'1'}}", "",
     "One or more parameter values were invalid: Type mismatch for Index Key c Expected: S Actual: "
     "N IndexName: index4"},
    {"'UpdateExpression':'set e = c[1], c = a + :a','ExpressionAttributeValues':{':a':{'N':'1'}}",
     "",
     "One or more parameter values were invalid: Type mismatch for Index Key c Expected: S Actual: "
     "N IndexName: index4"},
    {"'UpdateExpression':'add d.b :a','ExpressionAttributeValues':{':a':{'N':'1'}}", "",
     "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
     "IndexKey: d"},
    {"'UpdateExpression':'set e = list_append(a, b), f = d[1]'", "",
     "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
     "IndexKey: d"},
    {"'UpdateExpression':'set c = e'", "{'a':{'S':'k'},'b':{'S':'r'},'e':{'N':'1'}}",
     "The update expression attempted to update the secondary index key to unsupported type"},
    {"'UpdateExpression':'set c = e'", "{'a':{'S':'k'},'b':{'S':'r'},'e':{'S':'ok'}}", NULL},
};

static void test_key_and_index_rules(void **state)
{
    struct be_index gsi;
    struct be_table t;
    int failures = 0;
    memset(&gsi, 0, sizeof(gsi));
    gsi.name = "index4";
    gsi.global = 1;
    gsi.hash.name = "c";
    gsi.hash.type = DX_AV_S;
    gsi.range.name = "d";
    gsi.range.type = DX_AV_S;
    memset(&t, 0, sizeof(t));
    t.hash.name = "a";
    t.hash.type = DX_AV_S;
    t.range.name = "b";
    t.range.type = DX_AV_S;
    t.gsi = &gsi;
    t.n_gsi = 1;
    for (size_t i = 0; i < sizeof(icases) / sizeof(icases[0]); i++) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "{%s}", icases[i].req);
        char *rj = jsonify(buf);
        cJSON *req = cJSON_Parse(rj);
        struct dx_arena a;
        struct dx_error err = {0};
        struct be_exprs *x = NULL;
        struct dx_av *out = NULL;
        dx_arena_init(&a);
        struct dx_av *item = icases[i].item[0] ? av(&a, icases[i].item) : NULL;
        int rc = be_exprs_parse(&a, DX_OP_UpdateItem, req, &t, &x, &err);
        if (rc == DX_OK)
            rc = be_exprs_apply_update(x, &a, item, av(&a, "{'a':{'S':'k'},'b':{'S':'r'}}"), &out,
                                       &err);
        if (icases[i].err ? (rc != DX_EREQ || strcmp(err.msg, icases[i].err) != 0) : rc != DX_OK) {
            fprintf(stderr, "index case %zu %s:\n  want %s\n  got  %s\n", i, icases[i].req,
                    icases[i].err ? icases[i].err : "(success)",
                    rc == DX_OK ? "(success)" : err.msg);
            failures++;
        }
        dx_error_clear(&err);
        dx_arena_deinit(&a);
        cJSON_Delete(req);
        free(rj);
    }
    assert_int_equal(failures, 0);
}

/* Random well-formed updates on a nested item: each is applied or refused with a message, the
 * original item never changes, and the result stays a map. Seed: DDAX_TEST_SEED or the clock. */
static void rnd_path(char *out, size_t cap)
{
    static const char *const heads[] = {"m", "l", "n", "s", "ss", "x", "#n"};
    static const char *const tails[] = {".a", ".b", "[0]", "[1]", "[5]", ".a[0]", "", ""};
    snprintf(out, cap, "%s%s", heads[rand() % 7], tails[rand() % 8]);
}

static void rnd_operand(char *out, size_t cap)
{
    static const char *const vals[] = {":n", ":s", ":l", ":ss"};
    char p[32];
    switch (rand() % 4) {
    case 0:
        snprintf(out, cap, "%s", vals[rand() % 4]);
        break;
    case 1:
        rnd_path(p, sizeof(p));
        snprintf(out, cap, "if_not_exists(%s, %s)", p, vals[rand() % 4]);
        break;
    case 2:
        rnd_path(p, sizeof(p));
        snprintf(out, cap, "list_append(%s, :l)", p);
        break;
    default:
        rnd_path(out, cap);
        break;
    }
}

static void test_random_updates(void **state)
{
    const char *env = getenv("DDAX_TEST_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    fprintf(stderr, "test_random_updates: DDAX_TEST_SEED=%u\n", seed);
    srand(seed);
    for (int iter = 0; iter < 5000; iter++) {
        char expr[1024] = "", part[256], p[32], o1[64], o2[64];
        static const char *const kw[] = {"SET", "REMOVE", "ADD", "DELETE"};
        int first = rand() % 4, nclauses = 1 + rand() % 3;
        for (int c = 0; c < nclauses; c++) {
            int k = (first + c) % 4, nact = 1 + rand() % 3;
            strcat(expr, kw[k]);
            strcat(expr, " ");
            for (int i = 0; i < nact; i++) {
                rnd_path(p, sizeof(p));
                rnd_operand(o1, sizeof(o1));
                rnd_operand(o2, sizeof(o2));
                if (k == 0 && rand() % 3 == 0)
                    snprintf(part, sizeof(part), "%s = %s %s %s", p, o1, rand() % 2 ? "+" : "-",
                             o2);
                else if (k == 0)
                    snprintf(part, sizeof(part), "%s = %s", p, o1);
                else if (k == 1)
                    snprintf(part, sizeof(part), "%s", p);
                else
                    snprintf(part, sizeof(part), "%s %s", p, rand() % 2 ? ":n" : ":ss");
                strcat(expr, part);
                strcat(expr, i + 1 < nact ? ", " : " ");
            }
        }
        cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "UpdateExpression", expr);
        cJSON *names = cJSON_AddObjectToObject(req, "ExpressionAttributeNames");
        cJSON_AddStringToObject(names, "#n", "x");
        cJSON *vals = cJSON_AddObjectToObject(req, "ExpressionAttributeValues");
        cJSON_AddItemToObject(vals, ":n", cJSON_Parse("{\"N\":\"1\"}"));
        cJSON_AddItemToObject(vals, ":s", cJSON_Parse("{\"S\":\"v\"}"));
        cJSON_AddItemToObject(vals, ":l", cJSON_Parse("{\"L\":[{\"N\":\"7\"}]}"));
        cJSON_AddItemToObject(vals, ":ss", cJSON_Parse("{\"SS\":[\"q\"]}"));
        struct dx_arena a;
        struct dx_error err = {0};
        struct be_exprs *x = NULL;
        struct dx_av *out = NULL;
        dx_arena_init(&a);
        struct dx_av *item =
            av(&a, "{'id':{'S':'k'},'m':{'M':{'a':{'L':[{'N':'1'}]},'b':{'N':'2'}}},"
                   "'l':{'L':[{'N':'0'},{'N':'1'},{'SS':['a']}]},'n':{'N':'3'},"
                   "'s':{'S':'t'},'ss':{'SS':['q','r']}}");
        struct dx_av *copy = dx_av_copy(&a, item);
        int rc = be_exprs_parse(&a, DX_OP_UpdateItem, req, NULL, &x, &err);
        if (rc == DX_OK) {
            rc =
                be_exprs_apply_update(x, &a, rand() % 4 ? item : NULL, av(&a, KEYONLY), &out, &err);
            if (rc == DX_OK) {
                assert_int_equal(out->type, DX_AV_M);
                be_exprs_updated_attrs(x, &a, out);
            }
        }
        if (rc != DX_OK) {
            assert_int_equal(rc, DX_EREQ);
            assert_non_null(err.msg);
        }
        assert_true(dx_av_equal(item, copy));
        dx_error_clear(&err);
        dx_arena_deinit(&a);
        cJSON_Delete(req);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_original_kept_and_updated_attrs),
        cmocka_unit_test(test_key_and_index_rules),
        cmocka_unit_test(test_random_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
