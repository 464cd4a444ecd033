/*
 * The tokenizer and the reserved-word table: token kinds and boundaries for each input, and
 * DynamoDB's reserved words recognised in any case (and nothing else).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "be_expr_ast.h"

struct lcase {
    const char *src;
    const char *want; /* one letter per token, EOF included */
};

/* I ident, # name, : value, 0 number, ( ) [ ] , . = !(<>) < l(<=) > g(>=) + - ? other, $ EOF */
static const struct lcase cases[] = {
    {"", "$"},
    {"   \t\n", "$"},
    {"a", "I$"},
    {"a_b1 = :v1", "I=:$"},
    {"#n.x[12]", "#.I[0]$"},
    {"a<>b<=c>=d<e>f", "I!IlIgI<I>I$"},
    {"SET a = a + :x - :y", "II=I+:-:$"},
    {"f(a, b)", "I(I,I)$"},
    {"first-name", "I-I$"},
    {"# :", "??$"},
    {"a@b", "I?I$"},
    {"\xc3\xa9t\xc3\xa9", "?I?$"},
    {"1abc", "0I$"},
    {"01", "00$"},
    {"a = \"x y\" + 'z'", "I=?+?$"},
    {"\"open", "?I$"},
    {"_x", "?I$"},
    {"a_1_", "I$"},
    {"#_ :_1", "#:$"},
};

static char letter(enum be_expr_tok_kind k)
{
    switch (k) {
    case BE_EXPR_TK_EOF:
        return '$';
    case BE_EXPR_TK_IDENT:
        return 'I';
    case BE_EXPR_TK_NAME:
        return '#';
    case BE_EXPR_TK_VALUE:
        return ':';
    case BE_EXPR_TK_NUMBER:
        return '0';
    case BE_EXPR_TK_LPAREN:
        return '(';
    case BE_EXPR_TK_RPAREN:
        return ')';
    case BE_EXPR_TK_LBRACK:
        return '[';
    case BE_EXPR_TK_RBRACK:
        return ']';
    case BE_EXPR_TK_COMMA:
        return ',';
    case BE_EXPR_TK_DOT:
        return '.';
    case BE_EXPR_TK_EQ:
        return '=';
    case BE_EXPR_TK_NE:
        return '!';
    case BE_EXPR_TK_LT:
        return '<';
    case BE_EXPR_TK_LE:
        return 'l';
    case BE_EXPR_TK_GT:
        return '>';
    case BE_EXPR_TK_GE:
        return 'g';
    case BE_EXPR_TK_PLUS:
        return '+';
    case BE_EXPR_TK_MINUS:
        return '-';
    case BE_EXPR_TK_OTHER:
        return '?';
    }
    return '*';
}

static void test_tokens(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dx_arena a;
        size_t n;
        char got[64];
        dx_arena_init(&a);
        struct be_expr_tok *t = be_expr_lex(&a, cases[i].src, strlen(cases[i].src), &n);
        for (size_t k = 0; k < n && k < sizeof(got) - 1; k++)
            got[k] = letter(t[k].kind);
        got[n] = '\0';
        if (strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "lex \"%s\": want %s got %s\n", cases[i].src, cases[i].want, got);
        assert_string_equal(got, cases[i].want);
        dx_arena_deinit(&a);
    }
}

static void test_token_text(void **state)
{
    struct dx_arena a;
    size_t n;
    const char *src = "  #ab.c1[34] <> :val";
    dx_arena_init(&a);
    struct be_expr_tok *t = be_expr_lex(&a, src, strlen(src), &n);
    assert_int_equal(n, 9);
    assert_int_equal(t[0].pos, 2);
    assert_int_equal(t[0].len, 3);
    assert_int_equal(t[4].pos, 9);
    assert_int_equal(t[4].len, 2);
    assert_int_equal(t[6].len, 2);
    assert_int_equal(t[7].len, 4);
    assert_int_equal(t[8].pos, strlen(src));
    assert_true(be_expr_tok_is(src, &t[2], "C1"));
    assert_false(be_expr_tok_is(src, &t[2], "C"));
    dx_arena_deinit(&a);
}

static void test_reserved(void **state)
{
    static const char *const yes[] = {"ABORT",     "zone", "Name",   "status", "DATA",
                                      "timestamp", "ttl",  "user",   "value",  "Year",
                                      "COUNT",     "size", "convert"};
    static const char *const no[] = {"",      "a",        "abortx",           "ZONES", "id",
                                     "price", "username", "attribute_exists", "ABOR"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(be_expr_reserved(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(be_expr_reserved(no[i], strlen(no[i])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_token_text),
        cmocka_unit_test(test_reserved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
