/* dx_json_check: wrong JSON types get DynamoDB's SerializationException texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "dx_json.h"
#include "dx_status.h"

static void test_checks(void **state)
{
    static const struct {
        const char *json;
        enum dx_jtype want;
        const char *msg; /* NULL: accepted */
    } cases[] = {
        {"\"x\"", DX_JT_STRING, NULL},
        {"null", DX_JT_STRING, NULL},
        {"5", DX_JT_STRING, "NUMBER_VALUE cannot be converted to String"},
        {"1.5", DX_JT_STRING, "NUMBER_VALUE cannot be converted to String"},
        {"true", DX_JT_STRING, "TRUE_VALUE cannot be converted to String"},
        {"false", DX_JT_STRING, "FALSE_VALUE cannot be converted to String"},
        {"{}", DX_JT_STRING, "Start of structure or map found where not expected"},
        {"[\"a\"]", DX_JT_STRING, "Unrecognized collection type class java.lang.String"},
        {"true", DX_JT_BOOL, NULL},
        {"1", DX_JT_BOOL, "NUMBER_VALUE cannot be converted to Boolean"},
        {"\"yes\"", DX_JT_BOOL, "STRING_VALUE cannot be converted to Boolean"},
        {"3", DX_JT_LONG, NULL},
        {"\"3\"", DX_JT_INT, "STRING_VALUE cannot be converted to Integer"},
        {"false", DX_JT_LONG, "FALSE_VALUE cannot be converted to Long"},
        {"[]", DX_JT_LIST, NULL},
        {"{}", DX_JT_LIST, "Start of structure or map found where not expected"},
        {"1", DX_JT_LIST, "Expected list or null"},
        {"{}", DX_JT_MAP, NULL},
        {"[]", DX_JT_MAP, "Start of list found where not expected"},
        {"\"a\"", DX_JT_MAP, "Expected map or null"},
        {"\"a\"", DX_JT_STRUCT, "Expected null"},
        {"5", DX_JT_BLOB, "NUMBER_VALUE cannot be converted to ByteBuffer"},
        {"[]", DX_JT_BLOB, "Unrecognized collection type class java.nio.ByteBuffer"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        assert_non_null(j);
        struct dx_error e = {0};
        int rc = dx_json_check(j, cases[i].want, &e);
        if (!cases[i].msg) {
            assert_int_equal(rc, DX_OK);
        } else {
            assert_int_equal(rc, DX_EREQ);
            assert_int_equal(e.code, DX_E_SERIALIZATION);
            assert_string_equal(e.msg, cases[i].msg);
        }
        dx_error_clear(&e);
        cJSON_Delete(j);
    }
    assert_int_equal(dx_json_check(NULL, DX_JT_STRING, NULL), DX_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_checks)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
