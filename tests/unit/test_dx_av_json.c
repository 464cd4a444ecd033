/*
 * Tests for dx_av_json.c: DynamoDB JSON to canonical trees and back for every type, and every
 * input DynamoDB rejects with its exact __type and message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "dx_av.h"
#include "dx_json.h"
#include "dx_status.h"

static struct dx_arena arena;

static int setup(void **state)
{
    dx_arena_init(&arena);
    return 0;
}

static int teardown(void **state)
{
    dx_arena_deinit(&arena);
    return 0;
}

/* Parses text as one AttributeValue (map = 0) or a name -> AttributeValue map (map = 1). */
static int decode(const char *text, int map, struct dx_av **out, struct dx_error *err)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("test JSON does not parse: %s", text);
    int rc = map ? dx_av_map_from_json(&arena, j, out, err) : dx_av_from_json(&arena, j, out, err);
    cJSON_Delete(j);
    return rc;
}

/* ---- round trips ---- */

static const struct {
    const char *in, *out; /* out NULL: same as in */
} round_trips[] = {
    {"{\"S\":\"hello\"}", NULL},
    {"{\"S\":\"\"}", NULL},
    {"{\"S\":\"quote \\\" backslash \\\\ newline \\n tab \\t\"}", NULL},
    {"{\"S\":\"h\\u00e9 \\u20ac \\ud83d\\ude00\"}",
     "{\"S\":\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}"},
    {"{\"S\":\"\\u0001\"}", NULL},
    {"{\"N\":\"1\"}", NULL},
    {"{\"N\":\"1.50\"}", "{\"N\":\"1.5\"}"},
    {"{\"N\":\"-0\"}", "{\"N\":\"0\"}"},
    {"{\"N\":\"1E+2\"}", "{\"N\":\"100\"}"},
    {"{\"N\":\"+3\"}", "{\"N\":\"3\"}"},
    {"{\"N\":\"1e-3\"}", "{\"N\":\"0.001\"}"},
    {"{\"N\":\".5\"}", "{\"N\":\"0.5\"}"},
    {"{\"B\":\"AAEC\"}", NULL},
    {"{\"B\":\"Yg==\"}", NULL},
    {"{\"B\":\"YWI=\"}", NULL},
    {"{\"B\":\"\"}", NULL},
    {"{\"B\":\"+/+/\"}", NULL},
    {"{\"BOOL\":true}", NULL},
    {"{\"BOOL\":false}", NULL},
    {"{\"NULL\":true}", NULL},
    {"{\"SS\":[\"b\",\"a\",\"\"]}", "{\"SS\":[\"\",\"a\",\"b\"]}"},
    {"{\"NS\":[\"10\",\"2\",\"-1.0\"]}", "{\"NS\":[\"-1\",\"10\",\"2\"]}"},
    {"{\"BS\":[\"Yg==\",\"YQ==\",\"\"]}", "{\"BS\":[\"\",\"YQ==\",\"Yg==\"]}"},
    {"{\"L\":[]}", NULL},
    {"{\"L\":[{\"S\":\"b\"},{\"S\":\"a\"},{\"N\":\"1.0\"},{\"NULL\":true}]}",
     "{\"L\":[{\"S\":\"b\"},{\"S\":\"a\"},{\"N\":\"1\"},{\"NULL\":true}]}"},
    {"{\"M\":{}}", NULL},
    {"{\"M\":{\"b\":{\"S\":\"x\"},\"a\":{\"BOOL\":false},\"\":{\"N\":\"2\"}}}",
     "{\"M\":{\"\":{\"N\":\"2\"},\"a\":{\"BOOL\":false},\"b\":{\"S\":\"x\"}}}"},
    {"{\"M\":{\"l\":{\"L\":[{\"M\":{\"s\":{\"SS\":[\"z\",\"y\"]}}}]},\"k\\\"\":{\"B\":\"AA==\"}}}",
     "{\"M\":{\"k\\\"\":{\"B\":\"AA==\"},\"l\":{\"L\":[{\"M\":{\"s\":{\"SS\":[\"y\",\"z\"]}}}]}}}"},
    /* members that name no type, and null members, are ignored */
    {"{\"S\":\"a\",\"X\":5,\"N\":null}", "{\"S\":\"a\"}"},
};

static void test_round_trips(void **state)
{
    for (size_t i = 0; i < sizeof(round_trips) / sizeof(round_trips[0]); i++) {
        struct dx_av *v = NULL;
        struct dx_error err = {0};
        if (decode(round_trips[i].in, 0, &v, &err) != DX_OK)
            fail_msg("%s rejected: %s", round_trips[i].in, err.msg ? err.msg : "");
        struct dx_buf out = DX_BUF_INIT;
        dx_av_write_json(&out, v);
        const char *want = round_trips[i].out ? round_trips[i].out : round_trips[i].in;
        if (strcmp(out.p, want) != 0)
            fail_msg("%s -> %s, want %s", round_trips[i].in, out.p, want);
        /* and the output reads back to an equal tree */
        struct dx_av *again = NULL;
        assert_int_equal(decode(out.p, 0, &again, &err), DX_OK);
        assert_true(dx_av_equal(v, again));
        dx_buf_deinit(&out);
        dx_error_clear(&err);
    }
}

static void test_decoded_values(void **state)
{
    struct dx_av *v;
    struct dx_error err = {0};
    assert_int_equal(decode("{\"B\":\"AAEC\"}", 0, &v, &err), DX_OK);
    assert_int_equal(v->type, DX_AV_B);
    assert_int_equal(v->u.bytes.len, 3);
    assert_memory_equal(v->u.bytes.p, "\0\1\2", 3);
    assert_int_equal(decode("{\"N\":\"007.10\"}", 0, &v, &err), DX_OK);
    assert_int_equal(v->type, DX_AV_N);
    assert_string_equal(v->u.bytes.p, "7.1");
    assert_int_equal(v->u.bytes.len, 3);
    assert_int_equal(decode("{\"M\":{\"b\":{\"N\":\"1\"},\"a\":{\"S\":\"x\"}}}", 0, &v, &err),
                     DX_OK);
    assert_int_equal(v->u.map.n, 2);
    assert_string_equal(dx_av_map_get(v, "a", 1)->u.bytes.p, "x");
    /* a repeated map key keeps the last value */
    assert_int_equal(decode("{\"M\":{\"a\":{\"N\":\"1\"},\"a\":{\"N\":\"2\"}}}", 0, &v, &err),
                     DX_OK);
    assert_int_equal(v->u.map.n, 1);
    assert_string_equal(dx_av_map_get(v, "a", 1)->u.bytes.p, "2");
    dx_error_clear(&err);
}

static void test_map_round_trip(void **state)
{
    struct dx_av *m;
    struct dx_error err = {0};
    const char *in = "{\"z\":{\"N\":\"5\"},\"id\":{\"S\":\"a\"},\"bin\":{\"B\":\"AQ==\"}}";
    assert_int_equal(decode(in, 1, &m, &err), DX_OK);
    assert_int_equal(m->type, DX_AV_M);
    struct dx_buf out = DX_BUF_INIT;
    dx_av_map_write_json(&out, m);
    assert_string_equal(out.p,
                        "{\"bin\":{\"B\":\"AQ==\"},\"id\":{\"S\":\"a\"},\"z\":{\"N\":\"5\"}}");
    dx_buf_reset(&out);
    assert_int_equal(decode("{}", 1, &m, &err), DX_OK);
    dx_av_map_write_json(&out, m);
    assert_string_equal(out.p, "{}");
    dx_buf_deinit(&out);
    dx_error_clear(&err);
}

/* ---- errors ---- */

#define V   DX_E_VALIDATION
#define SER DX_E_SERIALIZATION
#define INV "One or more parameter values were invalid: "
#define EMPTY                                                                                      \
    "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
#define NOTNUM "The parameter cannot be converted to a numeric value"
#define NEST                                                                                       \
    "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels "    \
    "beyond supported limit"

static const struct {
    const char *in;
    enum dx_errcode code;
    const char *msg;
} errors[] = {
    {"{}", V, EMPTY},
    {"{\"a\":\"\"}", V, EMPTY},
    {"{\"s\":\"x\"}", V, EMPTY},
    {"{\"S\":null}", V, EMPTY},
    {"{\"L\":[{}]}", V, EMPTY},
    {"{\"L\":[null]}", V, EMPTY},
    {"{\"M\":{\"a\":{}}}", V, EMPTY},
    {"{\"S\":\"a\",\"N\":\"1\"}", V,
     "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
     "supported datatypes"},
    {"{\"NULL\":true,\"BOOL\":true}", V,
     "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
     "supported datatypes"},
    /* a member's own error comes before "more than one" */
    {"{\"S\":\"a\",\"N\":\"x\"}", V, NOTNUM ": x"},
    {"{\"NULL\":false}", V, INV "Null attribute value types must have the value of true"},
    {"{\"SS\":[]}", V, INV "An string set  may not be empty"},
    {"{\"NS\":[]}", V, INV "An number set  may not be empty"},
    {"{\"BS\":[]}", V, INV "Binary sets should not be empty"},
    {"{\"SS\":[\"a\",null]}", V, INV "An string set may not have a empty string as a member"},
    {"{\"BS\":[\"Yg==\",null]}", V, INV "Binary sets may not contain null or empty values"},
    {"{\"SS\":[\"a\",\"a\"]}", V, INV "Input collection [a, a] contains duplicates."},
    {"{\"SS\":[\"b\",\"a\",\"b\"]}", V, INV "Input collection [b, a, b] contains duplicates."},
    {"{\"SS\":[\"\",\"\"]}", V, INV "Input collection [, ] contains duplicates."},
    {"{\"NS\":[\"1\",\"1\"]}", V, "Input collection contains duplicates"},
    {"{\"NS\":[\"1\",\"1.0\"]}", V, "Input collection contains duplicates"},
    {"{\"NS\":[\"-0\",\"0\"]}", V, "Input collection contains duplicates"},
    {"{\"BS\":[\"Yg==\",\"Yg==\"]}", V,
     INV "Input collection [Yg==, Yg==]of type BS contains duplicates."},
    {"{\"N\":\"\"}", V, NOTNUM},
    {"{\"N\":\"b\"}", V, NOTNUM ": b"},
    {"{\"N\":\" 1\"}", V, NOTNUM ":  1"},
    {"{\"N\":\"NaN\"}", V, NOTNUM ": NaN"},
    {"{\"N\":\"Infinity\"}", V, NOTNUM ": Infinity"},
    {"{\"N\":\"0x10\"}", V, NOTNUM ": 0x10"},
    {"{\"NS\":[\"1\",\"b\",\"a\"]}", V, NOTNUM ": b"},
    {"{\"NS\":[\"1\",\"\"]}", V, NOTNUM},
    {"{\"NS\":[\"1\",null]}", V, NOTNUM},
    {"{\"N\":\"123456789012345678901234567890123456789\"}", V,
     "Attempting to store more than 38 significant digits in a Number"},
    {"{\"N\":\"-1.23456789012345678901234567890123456789\"}", V,
     "Attempting to store more than 38 significant digits in a Number"},
    {"{\"N\":\"1e126\"}", V,
     "Number overflow. Attempting to store a number with magnitude larger than supported range"},
    {"{\"N\":\"-1e126\"}", V,
     "Number overflow. Attempting to store a number with magnitude larger than supported range"},
    {"{\"N\":\"1e-131\"}", V,
     "Number underflow. Attempting to store a number with magnitude smaller than supported "
     "range"},
    {"{\"M\":{\"a\":{\"L\":[{\"N\":\"1e-131\"}]}}}", V,
     "Number underflow. Attempting to store a number with magnitude smaller than supported "
     "range"},
    /* the first invalid value in document order */
    {"{\"L\":[{\"N\":\"x\"},{\"NULL\":false}]}", V, NOTNUM ": x"},
    {"{\"M\":{\"b\":{\"NULL\":false},\"a\":{\"N\":\"x\"}}}", V,
     INV "Null attribute value types must have the value of true"},
    /* base64 (SerializationException) */
    {"{\"B\":\"abc\"}", SER,
     "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 "
     "bytes but found: 3"},
    {"{\"B\":\"ab$=\"}", SER,
     "'ab$=' can not be converted to a Blob: Invalid Base64 character: '$'"},
    {"{\"B\":\"a=bc\"}", SER,
     "'a=bc' can not be converted to a Blob: Invalid Base64 character: '='"},
    {"{\"B\":\"ab c\"}", SER,
     "'ab c' can not be converted to a Blob: Invalid Base64 character: ' '"},
    {"{\"B\":\"ab\\u00e9\"}", SER,
     "'ab\xc3\xa9' can not be converted to a Blob: Base64 encoded length is expected a multiple "
     "of 4 bytes but found: 3"},
    {"{\"B\":\"ab\\u00e9=\"}", SER,
     "'ab\xc3\xa9=' can not be converted to a Blob: Invalid Base64 character: '\xc3\xa9'"},
    {"{\"B\":\"a\\ud83d\\ude00b\"}", SER,
     "'a\xf0\x9f\x98\x80"
     "b' can not be converted to a Blob: Invalid Base64 character: '\xf0\x9f\x98\x80'"},
    {"{\"B\":\"YR==\"}", SER,
     "'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
    {"{\"B\":\"YWJ=\"}", SER,
     "'YWJ=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
    {"{\"B\":\"a===\"}", SER,
     "'a===' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
    {"{\"B\":\"====\"}", SER,
     "'====' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
    {"{\"BS\":[\"Yg==\",\"Yg\"]}", SER,
     "'Yg' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 "
     "bytes but found: 2"},
    /* JSON shapes of containers */
    {"[]", SER, "Start of list found where not expected"},
    {"\"x\"", SER, "Expected null"},
    {"5", SER, "Expected null"},
    {"{\"SS\":\"a\"}", SER, "Expected list or null"},
    {"{\"NS\":1}", SER, "Expected list or null"},
    {"{\"L\":{}}", SER, "Start of structure or map found where not expected"},
    {"{\"L\":true}", SER, "Expected list or null"},
    {"{\"M\":\"x\"}", SER, "Expected map or null"},
    {"{\"M\":[]}", SER, "Start of list found where not expected"},
    {"{\"L\":[[]]}", SER, "Start of list found where not expected"},
    {"{\"L\":[\"a\"]}", SER, "Expected null"},
    {"{\"M\":{\"a\":\"b\"}}", SER, "Expected null"},
    {"{\"S\":[]}", SER, "Unrecognized collection type class java.lang.String"},
    {"{\"S\":{}}", SER, "Start of structure or map found where not expected"},
    {"{\"SS\":[[]]}", SER, "Unrecognized collection type class java.lang.String"},
    {"{\"BS\":[{}]}", SER, "Start of structure or map found where not expected"},
    /* a type error anywhere wins over an invalid value before it */
    {"{\"L\":[{\"N\":\"x\"},{\"M\":[]}]}", SER, "Start of list found where not expected"},
    {"{\"NULL\":false,\"S\":{}}", SER, "Start of structure or map found where not expected"},
};

static void test_errors(void **state)
{
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        struct dx_av *v = NULL;
        struct dx_error err = {0};
        int rc = decode(errors[i].in, 0, &v, &err);
        if (rc != DX_EREQ)
            fail_msg("%s accepted", errors[i].in);
        if (err.code != errors[i].code || !err.msg || strcmp(err.msg, errors[i].msg) != 0)
            fail_msg("%s: %s \"%s\", want %s \"%s\"", errors[i].in, dx_error_name(err.code),
                     err.msg ? err.msg : "(null)", dx_error_name(errors[i].code), errors[i].msg);
        assert_string_equal(dx_error_type(err.code),
                            errors[i].code == V
                                ? "com.amazon.coral.validate#ValidationException"
                                : "com.amazon.coral.service#SerializationException");
        dx_error_clear(&err);
    }
}

/* Scalars of the wrong JSON type report exactly as every other request member does (dx_json). */
static const struct {
    const char *in;
    const char *member;
    enum dx_jtype want;
} scalar_type_errors[] = {
    {"{\"S\":5}", "S", DX_JT_STRING},         {"{\"S\":5.5}", "S", DX_JT_STRING},
    {"{\"S\":true}", "S", DX_JT_STRING},      {"{\"N\":123}", "N", DX_JT_STRING},
    {"{\"N\":false}", "N", DX_JT_STRING},     {"{\"B\":1}", "B", DX_JT_BLOB},
    {"{\"B\":true}", "B", DX_JT_BLOB},        {"{\"BOOL\":\"true\"}", "BOOL", DX_JT_BOOL},
    {"{\"BOOL\":1}", "BOOL", DX_JT_BOOL},     {"{\"BOOL\":[]}", "BOOL", DX_JT_BOOL},
    {"{\"NULL\":\"x\"}", "NULL", DX_JT_BOOL}, {"{\"NULL\":{}}", "NULL", DX_JT_BOOL},
};

static void test_scalar_type_errors(void **state)
{
    for (size_t i = 0; i < sizeof(scalar_type_errors) / sizeof(scalar_type_errors[0]); i++) {
        struct dx_av *v = NULL;
        struct dx_error err = {0}, want = {0};
        cJSON *j = cJSON_Parse(scalar_type_errors[i].in);
        assert_int_equal(
            dx_json_check(cJSON_GetObjectItemCaseSensitive(j, scalar_type_errors[i].member),
                          scalar_type_errors[i].want, &want),
            DX_EREQ);
        assert_int_equal(dx_av_from_json(&arena, j, &v, &err), DX_EREQ);
        assert_int_equal(err.code, DX_E_SERIALIZATION);
        assert_string_equal(err.msg, want.msg);
        cJSON_Delete(j);
        dx_error_clear(&err);
        dx_error_clear(&want);
    }
    /* also inside sets and lists */
    struct dx_av *v;
    struct dx_error err = {0};
    assert_int_equal(decode("{\"SS\":[\"a\",5]}", 0, &v, &err), DX_EREQ);
    assert_int_equal(err.code, DX_E_SERIALIZATION);
    assert_int_equal(decode("{\"L\":[{\"S\":\"a\"},{\"N\":5}]}", 0, &v, &err), DX_EREQ);
    assert_int_equal(err.code, DX_E_SERIALIZATION);
    dx_error_clear(&err);
}

static char *nested(int wraps, const char *wrapper_open, const char *wrapper_close,
                    const char *inner)
{
    size_t len = strlen(inner) + (size_t)wraps * (strlen(wrapper_open) + strlen(wrapper_close));
    char *s = dx_arena_alloc(&arena, len + 1), *p = s;
    for (int i = 0; i < wraps; i++)
        p = stpcpy(p, wrapper_open);
    p = stpcpy(p, inner);
    for (int i = 0; i < wraps; i++)
        p = stpcpy(p, wrapper_close);
    return s;
}

static void test_nesting_limit(void **state)
{
    struct dx_av *v;
    struct dx_error err = {0};
    /* 31 maps or lists around a scalar are accepted, 32 are not */
    const char *inner = "{\"S\":\"x\"}";
    assert_int_equal(decode(nested(31, "{\"M\":{\"a\":", "}}", inner), 0, &v, &err), DX_OK);
    assert_int_equal(decode(nested(31, "{\"L\":[", "]}", inner), 0, &v, &err), DX_OK);
    assert_int_equal(decode(nested(32, "{\"M\":{\"a\":", "}}", inner), 0, &v, &err), DX_EREQ);
    assert_int_equal(err.code, DX_E_VALIDATION);
    assert_string_equal(err.msg, NEST);
    assert_int_equal(decode(nested(32, "{\"L\":[", "]}", inner), 0, &v, &err), DX_EREQ);
    assert_string_equal(err.msg, NEST);
    /* the same through an item */
    char *item = nested(1, "{\"attr\":", "}", nested(31, "{\"M\":{\"a\":", "}}", inner));
    assert_int_equal(decode(item, 1, &v, &err), DX_OK);
    item = nested(1, "{\"attr\":", "}", nested(32, "{\"M\":{\"a\":", "}}", inner));
    assert_int_equal(decode(item, 1, &v, &err), DX_EREQ);
    assert_string_equal(err.msg, NEST);
    /* an empty container at level 32 is still 32 levels */
    assert_int_equal(decode(nested(31, "{\"L\":[", "]}", "{\"L\":[]}"), 0, &v, &err), DX_OK);
    dx_error_clear(&err);
}

static void test_map_errors(void **state)
{
    static const struct {
        const char *in;
        enum dx_errcode code;
        const char *msg;
    } cases[] = {
        {"[]", SER, "Start of list found where not expected"},
        {"\"x\"", SER, "Expected map or null"},
        {"{\"a\":{\"S\":\"x\"},\"b\":{}}", V, EMPTY},
        {"{\"a\":{\"S\":\"x\"},\"b\":null}", V, EMPTY},
        {"{\"a\":{\"N\":\"x\"},\"b\":{\"S\":1}}", SER, NULL},
        {"{\"a\":[]}", SER, "Start of list found where not expected"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dx_av *v;
        struct dx_error err = {0};
        assert_int_equal(decode(cases[i].in, 1, &v, &err), DX_EREQ);
        assert_int_equal(err.code, cases[i].code);
        if (cases[i].msg)
            assert_string_equal(err.msg, cases[i].msg);
        dx_error_clear(&err);
    }
}

static void test_large_item(void **state)
{
    /* 50000 attributes in descending order and a 20000-element set: built sorted, quickly */
    struct dx_buf in = DX_BUF_INIT;
    dx_buf_putc(&in, '{');
    for (int i = 49999; i >= 0; i--)
        dx_buf_printf(&in, "\"a%05d\":{\"N\":\"%d\"},", i, i);
    dx_buf_puts(&in, "\"set\":{\"NS\":[");
    for (int i = 19999; i >= 0; i--)
        dx_buf_printf(&in, "\"%d\"%s", i, i ? "," : "");
    dx_buf_puts(&in, "]}}");
    struct dx_av *m;
    struct dx_error err = {0};
    assert_int_equal(decode(in.p, 1, &m, &err), DX_OK);
    assert_int_equal(m->u.map.n, 50001);
    for (size_t i = 1; i < m->u.map.n; i++)
        assert_true(strcmp(m->u.map.m[i - 1].name, m->u.map.m[i].name) < 0);
    assert_non_null(dx_av_map_get(m, "a12345", 6));
    struct dx_av *set = dx_av_map_get(m, "set", 3);
    assert_int_equal(set->u.list.n, 20000);
    for (size_t i = 1; i < set->u.list.n; i++)
        assert_true(strcmp(set->u.list.v[i - 1]->u.bytes.p, set->u.list.v[i]->u.bytes.p) < 0);
    /* a repeated attribute name keeps the last value */
    assert_int_equal(
        decode("{\"a\":{\"S\":\"1\"},\"b\":{\"S\":\"x\"},\"a\":{\"S\":\"2\"}}", 1, &m, &err),
        DX_OK);
    assert_int_equal(m->u.map.n, 2);
    assert_string_equal(dx_av_map_get(m, "a", 1)->u.bytes.p, "2");
    dx_buf_deinit(&in);
    dx_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decoded_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scalar_type_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nesting_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_item, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
