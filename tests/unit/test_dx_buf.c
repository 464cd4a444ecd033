/* dx_buf: growth, JSON string escaping and base64 as responses need them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dx_buf.h"
#include "dx_status.h"

static void test_append_keeps_nul(void **state)
{
    struct dx_buf b = DX_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        dx_buf_putc(&b, 'x');
    assert_int_equal(b.len, 1000);
    assert_int_equal(strlen(b.p), 1000);
    dx_buf_printf(&b, "%0300d", 7); /* longer than the printf fast path */
    assert_int_equal(b.len, 1300);
    assert_int_equal(b.p[1299], '7');
    dx_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    dx_buf_deinit(&b);
}

static void test_json_escape(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"", 0, "\"\""},
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\""},
        {"\x01\x1f", 2, "\"\\u0001\\u001f\""},
        {"nul\0x", 5, "\"nul\\u0000x\""},
        {"h\xc3\xa9llo", 6, "\"h\xc3\xa9llo\""}, /* UTF-8 passes through */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dx_buf b = DX_BUF_INIT;
        dx_buf_json_str(&b, cases[i].in, cases[i].n);
        assert_string_equal(b.p, cases[i].out);
        dx_buf_deinit(&b);
    }
}

static void test_base64_round_trip(void **state)
{
    static const struct {
        const char *raw;
        const char *b64;
    } cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"\xff\xfe\x00", "//4A"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t rawlen = strlen(cases[i].raw) + (i == 7 ? 1 : 0);
        struct dx_buf b = DX_BUF_INIT;
        dx_buf_base64(&b, cases[i].raw, rawlen);
        assert_string_equal(b.p ? b.p : "", cases[i].b64);
        uint8_t out[16];
        size_t outlen = 99;
        assert_int_equal(dx_base64_decode(cases[i].b64, strlen(cases[i].b64), out, &outlen), DX_OK);
        assert_int_equal(outlen, rawlen);
        assert_memory_equal(out, cases[i].raw, rawlen);
        dx_buf_deinit(&b);
    }
}

static void test_base64_rejects(void **state)
{
    static const char *bad[] = {"Zg=", "Z", "Zg=a", "Z===", "Zm9v!A==", "=Zm9", "Zm 9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t out[16];
        size_t outlen;
        assert_int_equal(dx_base64_decode(bad[i], strlen(bad[i]), out, &outlen), DX_EINVAL);
    }
}

static void test_steal(void **state)
{
    struct dx_buf b = DX_BUF_INIT;
    size_t len = 99;
    char *p = dx_buf_steal(&b, &len);
    assert_int_equal(len, 0);
    assert_string_equal(p, "");
    free(p);
    dx_buf_puts(&b, "abc");
    p = dx_buf_steal(&b, &len);
    assert_int_equal(len, 3);
    assert_string_equal(p, "abc");
    assert_null(b.p);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_keeps_nul),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_base64_rejects),
        cmocka_unit_test(test_steal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
