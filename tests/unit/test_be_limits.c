/*
 * Engine-level tests of DescribeLimits and DescribeEndpoints (be_limits.c): the exact
 * response bodies clients parse, with the configured region in the endpoint's address.
 */
#include "be_test_env.h"

static void test_describe_limits(void **state)
{
    struct env *e = env_new("limits", 0);
    *state = e;
    struct dx_reply *r = call_raw(e, DX_OP_DescribeLimits, "{}");
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body,
                        "{\"AccountMaxReadCapacityUnits\":80000,\"AccountMaxWriteCapacityUnits\":"
                        "80000,\"TableMaxReadCapacityUnits\":40000,\"TableMaxWriteCapacityUnits\":"
                        "40000}");
    dx_reply_free(r);
}

static void test_describe_endpoints_default_region(void **state)
{
    struct env *e = env_new("endpoints", 0);
    *state = e;
    struct dx_reply *r = call_raw(e, DX_OP_DescribeEndpoints, "{}");
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body,
                        "{\"Endpoints\":[{\"Address\":\"dynamodb.us-east-1.amazonaws.com\","
                        "\"CachePeriodInMinutes\":1440}]}");
    dx_reply_free(r);
}

static void test_describe_endpoints_configured_region(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ddax-endpoints-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    struct be_options o = {.data_dir = e->dir, .nosync = 1, .region = "eu-central-1"};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
    *state = e;
    struct dx_reply *r = call_raw(e, DX_OP_DescribeEndpoints, "{}");
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body,
                        "{\"Endpoints\":[{\"Address\":\"dynamodb.eu-central-1.amazonaws.com\","
                        "\"CachePeriodInMinutes\":1440}]}");
    dx_reply_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_describe_limits, env_teardown),
        cmocka_unit_test_teardown(test_describe_endpoints_default_region, env_teardown),
        cmocka_unit_test_teardown(test_describe_endpoints_configured_region, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
