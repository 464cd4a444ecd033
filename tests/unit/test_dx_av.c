/*
 * Tests for dx_av.c: type names, map operations keeping members sorted and unique, sets kept
 * canonical, deep copies, DynamoDB equality, and item sizes by DynamoDB's rules against
 * hand-computed values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "dx_av.h"
#include "dx_num.h"

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

static struct dx_av *S(const char *s)
{
    return dx_av_new_bytes(&arena, DX_AV_S, s, strlen(s));
}

static struct dx_av *N(const char *s)
{
    /* the model holds canonical text: canonicalise like the JSON codec does */
    struct dx_num n;
    char buf[DX_NUM_STRMAX];
    assert_int_equal(dx_num_parse(s, strlen(s), &n), DX_NUM_OK);
    size_t len = dx_num_format(&n, buf);
    return dx_av_new_bytes(&arena, DX_AV_N, buf, len);
}

static struct dx_av *B(const char *p, size_t len)
{
    return dx_av_new_bytes(&arena, DX_AV_B, p, len);
}

static struct dx_av *set_of(enum dx_av_type t, const char *const *elems, size_t n)
{
    struct dx_av *set = dx_av_new_list(&arena, t);
    for (size_t i = 0; i < n; i++) {
        struct dx_av *e = t == DX_AV_NS   ? N(elems[i])
                          : t == DX_AV_SS ? S(elems[i])
                                          : B(elems[i], strlen(elems[i]));
        dx_av_list_append(&arena, set, e);
    }
    return set;
}

static void put(struct dx_av *m, const char *name, struct dx_av *v)
{
    dx_av_map_set(&arena, m, name, strlen(name), v);
}

static void test_type_names(void **state)
{
    static const struct {
        enum dx_av_type t;
        const char *name;
    } cases[] = {
        {DX_AV_S, "S"},       {DX_AV_N, "N"},   {DX_AV_B, "B"}, {DX_AV_BOOL, "BOOL"},
        {DX_AV_NULL, "NULL"}, {DX_AV_M, "M"},   {DX_AV_L, "L"}, {DX_AV_SS, "SS"},
        {DX_AV_NS, "NS"},     {DX_AV_BS, "BS"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_string_equal(dx_av_type_name(cases[i].t), cases[i].name);
        assert_int_equal(dx_av_type_from_name(cases[i].name, strlen(cases[i].name)), cases[i].t);
    }
    static const char *const unknown[] = {"", "s", "n", "Bool", "null", "SSS", "X", "BOOLEAN"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        assert_int_equal(dx_av_type_from_name(unknown[i], strlen(unknown[i])), 0);
    /* only len bytes count */
    assert_int_equal(dx_av_type_from_name("SSx", 2), DX_AV_SS);
}

static void test_constructors(void **state)
{
    struct dx_av *s = S("héllo");
    assert_int_equal(s->type, DX_AV_S);
    assert_int_equal(s->u.bytes.len, 6);
    assert_memory_equal(s->u.bytes.p, "héllo", 6);
    struct dx_av *b = B("\0\1\2", 3);
    assert_int_equal(b->type, DX_AV_B);
    assert_int_equal(b->u.bytes.len, 3);
    assert_memory_equal(b->u.bytes.p, "\0\1\2", 3);
    struct dx_av *e = B("", 0);
    assert_int_equal(e->u.bytes.len, 0);
    assert_int_equal(dx_av_new_bool(&arena, 5)->u.boolean, 1);
    assert_int_equal(dx_av_new_bool(&arena, 0)->u.boolean, 0);
    assert_int_equal(dx_av_new_null(&arena)->type, DX_AV_NULL);
    struct dx_av *m = dx_av_new_map(&arena);
    assert_int_equal(m->type, DX_AV_M);
    assert_int_equal(m->u.map.n, 0);
    assert_int_equal(dx_av_new_list(&arena, DX_AV_NS)->type, DX_AV_NS);
}

static void test_map_sorted_unique(void **state)
{
    static const char *const names[] = {"b", "a", "c", "ab", "", "B", "aa", "\xc3\xa9", "a"};
    struct dx_av *m = dx_av_new_map(&arena);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        put(m, names[i], N(i == 8 ? "99" : "1"));
    /* "a" replaced, not added; order bytewise with a prefix first */
    static const char *const want[] = {"", "B", "a", "aa", "ab", "b", "c", "\xc3\xa9"};
    assert_int_equal(m->u.map.n, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(m->u.map.m[i].name_len, strlen(want[i]));
        assert_memory_equal(m->u.map.m[i].name, want[i], strlen(want[i]));
    }
    struct dx_av *a = dx_av_map_get(m, "a", 1);
    assert_non_null(a);
    assert_string_equal(a->u.bytes.p, "99");
    assert_non_null(dx_av_map_get(m, "", 0));
    assert_null(dx_av_map_get(m, "abc", 3));
    assert_null(dx_av_map_get(m, "A", 1));
    /* names are not NUL-terminated for get: only len bytes */
    assert_non_null(dx_av_map_get(m, "abX", 2));
    /* remove */
    assert_int_equal(dx_av_map_remove(m, "aa", 2), 1);
    assert_int_equal(dx_av_map_remove(m, "aa", 2), 0);
    assert_int_equal(dx_av_map_remove(m, "zz", 2), 0);
    assert_int_equal(m->u.map.n, 7);
    assert_null(dx_av_map_get(m, "aa", 2));
    assert_non_null(dx_av_map_get(m, "ab", 2));
    assert_int_equal(dx_av_map_remove(m, "", 0), 1);
    assert_int_equal(dx_av_map_remove(m, "\xc3\xa9", 2), 1);
    assert_int_equal(m->u.map.n, 5);
    assert_memory_equal(m->u.map.m[0].name, "B", 1);
    assert_memory_equal(m->u.map.m[4].name, "c", 1);
}

static void test_map_many(void **state)
{
    /* many members in a scrambled order: binary search and growth */
    struct dx_av *m = dx_av_new_map(&arena);
    char name[16];
    for (unsigned i = 0; i < 1000; i++) {
        unsigned k = (i * 7919) % 1000;
        snprintf(name, sizeof(name), "k%04u", k);
        put(m, name, N("1"));
    }
    assert_int_equal(m->u.map.n, 1000);
    for (unsigned k = 0; k < 1000; k++) {
        snprintf(name, sizeof(name), "k%04u", k);
        assert_non_null(dx_av_map_get(m, name, strlen(name)));
        assert_memory_equal(m->u.map.m[k].name, name, 5);
    }
    for (unsigned k = 0; k < 1000; k += 2) {
        snprintf(name, sizeof(name), "k%04u", k);
        assert_int_equal(dx_av_map_remove(m, name, strlen(name)), 1);
    }
    assert_int_equal(m->u.map.n, 500);
    for (unsigned k = 0; k < 1000; k++) {
        snprintf(name, sizeof(name), "k%04u", k);
        assert_int_equal(dx_av_map_get(m, name, strlen(name)) != NULL, k % 2);
    }
}

static void test_map_name_copied(void **state)
{
    struct dx_av *m = dx_av_new_map(&arena);
    char name[] = "abc";
    put(m, name, S("x"));
    name[0] = 'z';
    assert_non_null(dx_av_map_get(m, "abc", 3));
    assert_null(dx_av_map_get(m, "zbc", 3));
}

static void test_list_keeps_order(void **state)
{
    struct dx_av *l = dx_av_new_list(&arena, DX_AV_L);
    dx_av_list_append(&arena, l, S("b"));
    dx_av_list_append(&arena, l, S("a"));
    dx_av_list_append(&arena, l, S("b"));
    dx_av_list_append(&arena, l, N("1"));
    assert_int_equal(l->u.list.n, 4);
    assert_string_equal(l->u.list.v[0]->u.bytes.p, "b");
    assert_string_equal(l->u.list.v[1]->u.bytes.p, "a");
    assert_string_equal(l->u.list.v[2]->u.bytes.p, "b");
    assert_int_equal(l->u.list.v[3]->type, DX_AV_N);
}

static void test_sets_canonical(void **state)
{
    static const char *const ss[] = {"b", "a", "ab", "b", "", "A", "a"};
    struct dx_av *set = set_of(DX_AV_SS, ss, 7);
    static const char *const ss_want[] = {"", "A", "a", "ab", "b"};
    assert_int_equal(set->u.list.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(set->u.list.v[i]->u.bytes.p, ss_want[i]);

    /* NS: canonical text, so 1, 1.0 and 1e0 are one element */
    static const char *const ns[] = {"10", "1", "1.0", "-1", "1e0", "2", "0.5", "-0"};
    set = set_of(DX_AV_NS, ns, 8);
    static const char *const ns_want[] = {"-1", "0", "0.5", "1", "10", "2"};
    assert_int_equal(set->u.list.n, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(set->u.list.v[i]->u.bytes.p, ns_want[i]);

    /* BS: by bytes, embedded NULs included */
    struct dx_av *bs = dx_av_new_list(&arena, DX_AV_BS);
    dx_av_list_append(&arena, bs, B("\x01\x00", 2));
    dx_av_list_append(&arena, bs, B("\x01", 1));
    dx_av_list_append(&arena, bs, B("\xff", 1));
    dx_av_list_append(&arena, bs, B("\x01\x00", 2));
    dx_av_list_append(&arena, bs, B("\x00\x02", 2));
    assert_int_equal(bs->u.list.n, 4);
    assert_memory_equal(bs->u.list.v[0]->u.bytes.p, "\x00\x02", 2);
    assert_memory_equal(bs->u.list.v[1]->u.bytes.p, "\x01", 1);
    assert_int_equal(bs->u.list.v[1]->u.bytes.len, 1);
    assert_memory_equal(bs->u.list.v[2]->u.bytes.p, "\x01\x00", 2);
    assert_memory_equal(bs->u.list.v[3]->u.bytes.p, "\xff", 1);
}

static struct dx_av *sample(void)
{
    struct dx_av *m = dx_av_new_map(&arena), *inner = dx_av_new_map(&arena);
    struct dx_av *l = dx_av_new_list(&arena, DX_AV_L);
    static const char *const ss[] = {"x", "y"};
    static const char *const ns[] = {"3", "1.5"};
    put(inner, "deep", dx_av_new_bool(&arena, 1));
    dx_av_list_append(&arena, l, N("1"));
    dx_av_list_append(&arena, l, dx_av_new_null(&arena));
    dx_av_list_append(&arena, l, inner);
    put(m, "s", S("text"));
    put(m, "n", N("-12.5"));
    put(m, "b", B("\x00\x01", 2));
    put(m, "l", l);
    put(m, "ss", set_of(DX_AV_SS, ss, 2));
    put(m, "ns", set_of(DX_AV_NS, ns, 2));
    put(m, "bs", set_of(DX_AV_BS, ss, 2));
    put(m, "f", dx_av_new_bool(&arena, 0));
    return m;
}

static void test_copy_is_deep(void **state)
{
    struct dx_av *a = sample(), *c = dx_av_copy(&arena, a);
    assert_true(dx_av_equal(a, c));
    assert_int_equal(dx_av_size(a), dx_av_size(c));
    /* changing the copy leaves the original */
    put(dx_av_map_get(c, "l", 1)->u.list.v[2], "more", S("x"));
    assert_false(dx_av_equal(a, c));
    assert_null(dx_av_map_get(dx_av_map_get(a, "l", 1)->u.list.v[2], "more", 4));
    assert_true(dx_av_map_get(c, "s", 1)->u.bytes.p != dx_av_map_get(a, "s", 1)->u.bytes.p);
}

static void test_equal(void **state)
{
    /* maps: insertion order does not matter */
    struct dx_av *m1 = dx_av_new_map(&arena), *m2 = dx_av_new_map(&arena);
    put(m1, "a", S("1"));
    put(m1, "b", N("2"));
    put(m2, "b", N("2.0"));
    put(m2, "a", S("1"));
    assert_true(dx_av_equal(m1, m2));
    put(m2, "c", dx_av_new_null(&arena));
    assert_false(dx_av_equal(m1, m2));
    dx_av_map_remove(m2, "c", 1);
    put(m2, "a", S("2"));
    assert_false(dx_av_equal(m1, m2));

    struct dx_av *vals[][2] = {
        {S("a"), S("a")},
        {N("1"), N("1.00")},
        {N("100"), N("1e2")},
        {B("\0", 1), B("\0", 1)},
        {dx_av_new_bool(&arena, 1), dx_av_new_bool(&arena, 7)},
        {dx_av_new_null(&arena), dx_av_new_null(&arena)},
    };
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        assert_true(dx_av_equal(vals[i][0], vals[i][1]));
    struct dx_av *diff[][2] = {
        {S("a"), S("b")},
        {S("a"), S("ab")},
        {S("1"), N("1")},
        {N("1"), N("-1")},
        {B("a", 1), S("a")},
        {B("\0", 1), B("", 0)},
        {dx_av_new_bool(&arena, 1), dx_av_new_bool(&arena, 0)},
        {dx_av_new_map(&arena), dx_av_new_list(&arena, DX_AV_L)},
    };
    for (size_t i = 0; i < sizeof(diff) / sizeof(diff[0]); i++)
        assert_false(dx_av_equal(diff[i][0], diff[i][1]));

    /* lists: order matters; sets: it does not */
    struct dx_av *l1 = dx_av_new_list(&arena, DX_AV_L), *l2 = dx_av_new_list(&arena, DX_AV_L);
    dx_av_list_append(&arena, l1, S("a"));
    dx_av_list_append(&arena, l1, S("b"));
    dx_av_list_append(&arena, l2, S("b"));
    dx_av_list_append(&arena, l2, S("a"));
    assert_false(dx_av_equal(l1, l2));
    static const char *const x1[] = {"a", "b", "c"}, *const x2[] = {"c", "a", "b", "a"};
    assert_true(dx_av_equal(set_of(DX_AV_SS, x1, 3), set_of(DX_AV_SS, x2, 4)));
    assert_false(dx_av_equal(set_of(DX_AV_SS, x1, 3), set_of(DX_AV_SS, x1, 2)));
    assert_false(dx_av_equal(set_of(DX_AV_SS, x1, 3), set_of(DX_AV_BS, x1, 3)));
    static const char *const n1[] = {"1", "2.50"}, *const n2[] = {"2.5", "1.0"};
    assert_true(dx_av_equal(set_of(DX_AV_NS, n1, 2), set_of(DX_AV_NS, n2, 2)));
    assert_true(dx_av_equal(sample(), sample()));
}

static const struct {
    const char *what;
    size_t size;
} size_names[] = {
    {"S \"abc\"", 3},
    {"S \"\"", 0},
    {"S \"h\\u00e9\" (UTF-8)", 3},
    {"N 0", 1},
    {"N 123", 3},
    {"N -12.5", 4},
    {"B 3 bytes", 3},
    {"BOOL", 1},
    {"NULL", 1},
    {"SS [a, bc]", 3},
    {"NS [1, 12]", 4},
    {"BS [ab, c]", 3},
    {"L []", 3},
    {"L [S a, N 1]", 8},
    {"M {}", 3},
    {"M {ab: S x}", 7},
    {"M {a: L [M {}]}", 3 + 1 + 1 + (3 + 1 + 3)},
};

static struct dx_av *size_value(size_t i)
{
    struct dx_av *v, *w;
    static const char *const s2[] = {"a", "bc"}, *const n2[] = {"1", "12"},
                             *const b2[] = {"ab", "c"};
    switch (i) {
    case 0:
        return S("abc");
    case 1:
        return S("");
    case 2:
        return S("h\xc3\xa9");
    case 3:
        return N("0");
    case 4:
        return N("123");
    case 5:
        return N("-12.5");
    case 6:
        return B("\0\1\2", 3);
    case 7:
        return dx_av_new_bool(&arena, 0);
    case 8:
        return dx_av_new_null(&arena);
    case 9:
        return set_of(DX_AV_SS, s2, 2);
    case 10:
        return set_of(DX_AV_NS, n2, 2);
    case 11:
        return set_of(DX_AV_BS, b2, 2);
    case 12:
        return dx_av_new_list(&arena, DX_AV_L);
    case 13:
        v = dx_av_new_list(&arena, DX_AV_L);
        dx_av_list_append(&arena, v, S("a"));
        dx_av_list_append(&arena, v, N("1"));
        return v;
    case 14:
        return dx_av_new_map(&arena);
    case 15:
        v = dx_av_new_map(&arena);
        put(v, "ab", S("x"));
        return v;
    default:
        v = dx_av_new_map(&arena);
        w = dx_av_new_list(&arena, DX_AV_L);
        dx_av_list_append(&arena, w, dx_av_new_map(&arena));
        put(v, "a", w);
        return v;
    }
}

static void test_value_sizes(void **state)
{
    for (size_t i = 0; i < sizeof(size_names) / sizeof(size_names[0]); i++) {
        size_t got = dx_av_size(size_value(i));
        if (got != size_names[i].size)
            fail_msg("size of %s = %zu, want %zu", size_names[i].what, got, size_names[i].size);
    }
}

static void test_item_size(void **state)
{
    struct dx_av *item = dx_av_new_map(&arena);
    assert_int_equal(dx_av_item_size(item), 0);
    /* names count their UTF-8 bytes; values as above */
    put(item, "id", S("abc"));                                 /* 2 + 3 */
    put(item, "n", N("12"));                                   /* 1 + 2 */
    put(item, "\xc3\xa9t\xc3\xa9", dx_av_new_bool(&arena, 1)); /* 5 + 1 */
    assert_int_equal(dx_av_item_size(item), 5 + 3 + 6);
    /* a nested map counts 3 + 1 per member + member names + values */
    struct dx_av *m = dx_av_new_map(&arena);
    put(m, "x", N("-1"));  /* 1 + 1 + 3 */
    put(m, "yy", S("zz")); /* 1 + 2 + 2 */
    put(item, "m", m);     /* 1 + 3 + 5 + 5 */
    assert_int_equal(dx_av_item_size(item), 14 + 14);
    /* the sample, computed by hand:
     * s: 1+4  n: 1+4 (-12.5: 3 digits, e=1 -> 2 pairs + 1 + sign 1)  b: 1+2
     * l: 1 + 3 + (1+2) + (1+1) + (1+(3+1+4+1))  ss: 2+2  ns: 2+(2+3)  bs: 2+2  f: 1+1 */
    size_t want = 5 + 5 + 3 + (1 + 3 + 3 + 2 + 10) + 4 + 7 + 4 + 2;
    assert_int_equal(dx_av_item_size(sample()), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_type_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constructors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_sorted_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_name_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sets_canonical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_is_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_equal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_size, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
