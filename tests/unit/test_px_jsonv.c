/*
 * px_jsonv: the JSON syntax check that decides SerializationException at the front. Valid
 * documents must pass (a false alarm rejects a good request); invalid ones must fail; hostile
 * nesting must neither crash nor recurse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "px_jsonv.h"

static const char *const valid[] = {
    "{}",
    "[]",
    " {} ",
    "\t\r\n{}\n",
    "0",
    "-0",
    "1.5e10",
    "-1.25E-3",
    "1e+2",
    "\"\"",
    "true",
    "false",
    "null",
    "{\"a\":1}",
    "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}",
    "{\"TableName\":\"t\",\"Key\":{\"k\":{\"S\":\"v\"}}}",
    "[[[[[]]]]]",
    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD834\\uDD1E\"",
    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
    "{\"a\" : 1 , \"b\" : [ 1 , 2 ] }",
    "123456789012345678901234567890123456789",
    /* Strings are skipped 8 bytes at a time: escapes, quotes and UTF-8 at every offset. */
    "\"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\"",
    "\"abcdefg\\\"hijklmnop\\u00e9qrstuvw\"",
    "\"abcdefghijklmno\xc3\xa9pqrstuvwxyz~~~~~~~\x7f\"",
    "{\"abcdefgh\":\"ijklmnop\",\"qrstuvwx\":\"\"}",
};

static const char *const invalid[] = {
    "",
    " ",
    "{",
    "}",
    "[",
    "]",
    "{]",
    "[}",
    "{,}",
    "}{",
    "{}{}",
    "{} x",
    "[1,]",
    "[,1]",
    "{\"a\":1,}",
    "{\"a\"}",
    "{\"a\":}",
    "{a:1}",
    "{'a':1}",
    "01",
    "1.",
    ".5",
    "+1",
    "-",
    "1e",
    "1e+",
    "0x10",
    "NaN",
    "Infinity",
    "tru",
    "nul",
    "True",
    "\"abc",
    "\"\\x\"",
    "\"\\u12\"",
    "\"a\tb\"",
    "\"a\nb\"",
    "[1 2]",
    "{\"a\":1 \"b\":2}",
    "// c\n{}",
    "/* c */{}",
    "\"\xc0\xaf\"",         /* overlong */
    "\"\xed\xa0\x80\"",     /* surrogate in UTF-8 */
    "\"\xf4\x90\x80\x80\"", /* past U+10FFFF */
    "\"\xff\"",
    "\"\xc3\"",
    "hi",
    "\"abcdefghijklmnopq\tr\"",                     /* control byte in a later word */
    "\"abcdefghijklmnopqrstuvwxyz\x01\"",           /* in the tail */
    "\"abcdefghijklmnop\xc0\xafqrstuvwxyz012345\"", /* overlong in a later word */
    "\"abcdefghijklmnopqrstuvwxyz0123456789",       /* unterminated after whole words */
    "\"abcdefghijklmnop\\qrstuvwxyz\"",             /* bad escape in a later word */
};

static void test_valid(void **state)
{
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        if (!px_json_valid(valid[i], strlen(valid[i])))
            fail_msg("rejected valid JSON: %s", valid[i]);
}

static void test_invalid(void **state)
{
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        if (px_json_valid(invalid[i], strlen(invalid[i])))
            fail_msg("accepted invalid JSON: %s", invalid[i]);
}

static void test_nul_and_prefixes(void **state)
{
    /* A NUL inside a string or after the document is not JSON. */
    assert_false(px_json_valid("\"a\0b\"", 5));
    assert_false(px_json_valid("{}\0", 3));
    /* Every strict prefix of a valid object is invalid. */
    const char *doc = "{\"TableName\":\"t\",\"Item\":{\"n\":{\"N\":\"-1.5e3\"},\"l\":[true,null]}}";
    size_t n = strlen(doc);
    for (size_t k = 0; k < n; k++) {
        char *b = malloc(k + 1);
        memcpy(b, doc, k);
        assert_false(px_json_valid(b, k));
        free(b);
    }
    assert_true(px_json_valid(doc, n));
}

static void test_deep_nesting(void **state)
{
    size_t n = 200000;
    char *b = malloc(5 * 100000 > 2 * n ? 5 * 100000 : 2 * n);
    memset(b, '[', n);
    assert_false(px_json_valid(b, n)); /* unclosed, and deeper than the limit */
    memset(b + n, ']', n);
    assert_false(px_json_valid(b, 2 * n)); /* closed, but deeper than the limit */
    size_t d = PX_JSON_MAX_DEPTH;
    memset(b, '[', d);
    memset(b + d, ']', d);
    assert_true(px_json_valid(b, 2 * d)); /* exactly at the limit */
    for (size_t i = 0; i < 100000; i++)
        memcpy(b + 5 * i, "{\"\":", 4), b[5 * i + 4] = ' ';
    assert_false(px_json_valid(b, 500000));
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_nul_and_prefixes),
        cmocka_unit_test(test_deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
