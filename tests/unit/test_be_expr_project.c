/*
 * Projection: ProjectionExpression / AttributesToGet applied to an item keeps the nested
 * structure, skips what is missing, and compacts picked list elements in index order.
 * JSON uses ' for ".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "expr_test_util.h"
#include <cjson/cJSON.h>
#include "be_expr.h"
#include "dx_buf.h"
#include "dx_status.h"

static const char *ITEM =
    "{'id':{'S':'k'},'a':{'N':'1'},'m':{'M':{'x':{'S':'X'},'y':{'M':{'z':{'N':'3'}}}}},"
    "'l':{'L':[{'S':'l0'},{'M':{'p':{'N':'1'},'q':{'N':'2'}}},{'S':'l2'},{'S':'l3'}]}}";

struct jcase {
    const char *req;
    const char *want;
};

static const struct jcase cases[] = {
    {"'ProjectionExpression':'a'", "{'a':{'N':'1'}}"},
    {"'ProjectionExpression':'a, id, nope'", "{'a':{'N':'1'},'id':{'S':'k'}}"},
    {"'ProjectionExpression':'m.y.z'", "{'m':{'M':{'y':{'M':{'z':{'N':'3'}}}}}}"},
    {"'ProjectionExpression':'m.x, m.y.z, m.w'",
     "{'m':{'M':{'x':{'S':'X'},'y':{'M':{'z':{'N':'3'}}}}}}"},
    {"'ProjectionExpression':'l[3], l[0]'", "{'l':{'L':[{'S':'l0'},{'S':'l3'}]}}"},
    {"'ProjectionExpression':'l[2]'", "{'l':{'L':[{'S':'l2'}]}}"},
    {"'ProjectionExpression':'l[1].q, l[1].p'",
     "{'l':{'L':[{'M':{'p':{'N':'1'},'q':{'N':'2'}}}]}}"},
    {"'ProjectionExpression':'l[9], a.b, m[0]'", "{}"},
    {"'ProjectionExpression':'#m.#x','ExpressionAttributeNames':{'#m':'m','#x':'x'}",
     "{'m':{'M':{'x':{'S':'X'}}}}"},
    {"'AttributesToGet':['a','m','nope']",
     "{'a':{'N':'1'},'m':{'M':{'x':{'S':'X'},'y':{'M':{'z':{'N':'3'}}}}}}"},
};

static void test_cases(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "{%s}", cases[i].req);
        char *rj = jsonify(buf);
        cJSON *req = cJSON_Parse(rj);
        struct dx_arena a;
        struct dx_error err = {0};
        struct be_exprs *x = NULL;
        dx_arena_init(&a);
        assert_int_equal(be_exprs_parse(&a, DX_OP_GetItem, req, NULL, &x, &err), DX_OK);
        assert_true(be_exprs_has_projection(x));
        struct dx_av *got = be_exprs_project(x, &a, av(&a, ITEM));
        if (!dx_av_equal(got, av(&a, cases[i].want))) {
            struct dx_buf b = DX_BUF_INIT;
            dx_av_map_write_json(&b, got);
            fprintf(stderr, "case %zu %s:\n  want %s\n  got  %s\n", i, cases[i].req, cases[i].want,
                    b.p);
            dx_buf_deinit(&b);
            failures++;
        }
        dx_error_clear(&err);
        dx_arena_deinit(&a);
        cJSON_Delete(req);
        free(rj);
    }
    assert_int_equal(failures, 0);
}

static void test_no_projection_returns_item(void **state)
{
    struct dx_arena a;
    struct dx_error err = {0};
    struct be_exprs *x = NULL;
    cJSON *req = cJSON_Parse("{}");
    dx_arena_init(&a);
    assert_int_equal(be_exprs_parse(&a, DX_OP_GetItem, req, NULL, &x, &err), DX_OK);
    assert_false(be_exprs_has_projection(x));
    struct dx_av *item = av(&a, ITEM);
    assert_ptr_equal(be_exprs_project(x, &a, item), item);
    dx_arena_deinit(&a);
    cJSON_Delete(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_no_projection_returns_item),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
