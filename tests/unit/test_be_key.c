/*
 * Tests of item storage keys (backend/be_key.c): memcmp order of encoded keys is DynamoDB's
 * order (numbers numerically, strings and binaries bytewise), partitions are contiguous and
 * self-delimiting, long keys fit LMDB, the partition hash is stable, and every validation error
 * carries DynamoDB's exact text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "be_store.h"
#include "be_catalog.h"
#include "dx_status.h"

static struct dx_arena A;

static int setup(void **state)
{
    dx_arena_init(&A);
    return 0;
}

static int teardown(void **state)
{
    dx_arena_deinit(&A);
    return 0;
}

/* LMDB's default key comparison: bytes, then the shorter first. */
static int keycmp(const struct dx_buf *a, const struct dx_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->p, b->p, n) : 0;
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int starts_with(const struct dx_buf *k, const struct dx_buf *prefix)
{
    return k->len >= prefix->len && !memcmp(k->p, prefix->p, prefix->len);
}

static struct dx_av *V(enum dx_av_type t, const void *p, size_t n)
{
    return dx_av_new_bytes(&A, t, p, n);
}
static struct dx_av *S(const char *s)
{
    return V(DX_AV_S, s, strlen(s));
}
static struct dx_av *N(const char *s)
{
    return V(DX_AV_N, s, strlen(s));
}

static struct be_table table(const char *hash, enum dx_av_type ht, const char *range,
                             enum dx_av_type rt)
{
    struct be_table t;
    memset(&t, 0, sizeof(t));
    t.id = 0x01020304;
    t.name = "t";
    t.hash.name = (char *)hash;
    t.hash.type = ht;
    t.range.name = (char *)range;
    t.range.type = rt;
    return t;
}

struct val {
    const char *p;
    size_t n;
};
#define LIT(s)                                                                                     \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

/* Values in strictly ascending DynamoDB order: each encoding must sort before the next, both
 * as a bare value encoding and as the sort key of full storage keys in one partition. */
static void check_order(enum dx_av_type t, const struct val *vals, size_t n)
{
    struct be_table tb = table("pk", DX_AV_S, "sk", t);
    struct dx_buf prev = DX_BUF_INIT, cur = DX_BUF_INIT, kprev = DX_BUF_INIT, kcur = DX_BUF_INIT,
                  part = DX_BUF_INIT;
    struct dx_error err = {0};
    assert_int_equal(be_key_partition(tb.id, S("p"), &part), DX_OK);
    for (size_t i = 0; i < n; i++) {
        struct dx_av *v = V(t, vals[i].p, vals[i].n);
        dx_buf_reset(&cur);
        assert_int_equal(be_key_encode_value(v, &cur), DX_OK);
        struct dx_av *key = dx_av_new_map(&A);
        dx_av_map_set(&A, key, "pk", 2, S("p"));
        dx_av_map_set(&A, key, "sk", 2, v);
        dx_buf_reset(&kcur);
        assert_int_equal(be_key_from_key(&tb, key, &kcur, &err), DX_OK);
        assert_true(starts_with(&kcur, &part));
        if (i > 0) {
            if (keycmp(&prev, &cur) >= 0)
                fail_msg("value %zu does not sort after value %zu (type %d)", i, i - 1, t);
            if (keycmp(&kprev, &kcur) >= 0)
                fail_msg("key %zu does not sort after key %zu (type %d)", i, i - 1, t);
        }
        struct dx_buf tmp = prev;
        prev = cur;
        cur = tmp;
        tmp = kprev;
        kprev = kcur;
        kcur = tmp;
    }
    dx_buf_deinit(&prev);
    dx_buf_deinit(&cur);
    dx_buf_deinit(&kprev);
    dx_buf_deinit(&kcur);
    dx_buf_deinit(&part);
    dx_error_clear(&err);
}

static void test_order_s(void **state)
{
    /* bytewise UTF-8, so U+1F600 (F0 ...) sorts after U+FFFD (EF ...), unlike UTF-16 */
    static const struct val vals[] = {
        LIT("\x01"),
        LIT("A"),
        LIT("Z"),
        LIT("a"),
        LIT("a\0"),
        LIT("a\0\0"),
        LIT("a\0\x01"),
        LIT("a\0b"),
        LIT("a\x01"),
        LIT("aa"),
        LIT("ab"),
        LIT("abc"),
        LIT("b"),
        LIT("\x7f"),
        LIT("\xc3\xa9"),
        LIT("\xef\xbf\xbd"),
        LIT("\xf0\x9f\x98\x80"),
    };
    check_order(DX_AV_S, vals, sizeof(vals) / sizeof(vals[0]));
}

static void test_order_b(void **state)
{
    static const struct val vals[] = {
        LIT("\x00"), LIT("\x00\x00"), LIT("\x00\x00\x00"), LIT("\x00\x01"), LIT("\x00\xff"),
        LIT("\x01"), LIT("\x01\x00"), LIT("\x7f"),         LIT("\x80"),     LIT("\xfe\xff"),
        LIT("\xff"), LIT("\xff\x00"), LIT("\xff\xff"),
    };
    check_order(DX_AV_B, vals, sizeof(vals) / sizeof(vals[0]));
}

static void test_order_n(void **state)
{
    static const struct val vals[] = {
        LIT("-9.9999999999999999999999999999999999999E+125"),
        LIT("-1E+125"),
        LIT("-1E+38"),
        LIT("-100"),
        LIT("-99.5"),
        LIT("-10.5"),
        LIT("-10.01"),
        LIT("-10"),
        LIT("-9.99"),
        LIT("-2"),
        LIT("-1.5"),
        LIT("-1"),
        LIT("-0.5"),
        LIT("-0.0500001"),
        LIT("-0.05"),
        LIT("-1E-129"),
        LIT("-1E-130"),
        LIT("0"),
        LIT("1E-130"),
        LIT("1.1E-130"),
        LIT("1E-129"),
        LIT("0.001"),
        LIT("0.05"),
        LIT("0.5"),
        LIT("1"),
        LIT("1.000000000000000000000000000000000001"),
        LIT("1.5"),
        LIT("2"),
        LIT("9.99"),
        LIT("10"),
        LIT("10.01"),
        LIT("99"),
        LIT("100"),
        LIT("12345678901234567890123456789012345678"),
        LIT("1E+38"),
        LIT("1E+125"),
        LIT("9.9999999999999999999999999999999999999E+125"),
    };
    check_order(DX_AV_N, vals, sizeof(vals) / sizeof(vals[0]));
}

/* Hash keys: the partition key is self-delimiting, so a partition's prefix never matches a key
 * of another partition, even when one key value is a prefix of the other. */
static void test_partition_self_delimiting(void **state)
{
    static const struct val pks[] = {LIT("a"), LIT("ab"), LIT("a\0"), LIT("a\0b"), LIT("a\x01")};
    static const struct val sks[] = {LIT("\x01"), LIT("b"), LIT("\0"), LIT("\xff\xff")};
    const size_t np = sizeof(pks) / sizeof(pks[0]), ns = sizeof(sks) / sizeof(sks[0]);
    for (int t = DX_AV_S; t <= DX_AV_B; t += 2) {
        struct be_table tb = table("pk", (enum dx_av_type)t, "sk", (enum dx_av_type)t);
        for (size_t i = 0; i < np; i++) {
            struct dx_buf part = DX_BUF_INIT;
            assert_int_equal(be_key_partition(tb.id, V(t, pks[i].p, pks[i].n), &part), DX_OK);
            for (size_t j = 0; j < np; j++)
                for (size_t k = 0; k < ns; k++) {
                    struct dx_av *key = dx_av_new_map(&A);
                    dx_av_map_set(&A, key, "pk", 2, V(t, pks[j].p, pks[j].n));
                    dx_av_map_set(&A, key, "sk", 2, V(t, sks[k].p, sks[k].n));
                    struct dx_buf kb = DX_BUF_INIT;
                    struct dx_error err = {0};
                    assert_int_equal(be_key_from_key(&tb, key, &kb, &err), DX_OK);
                    assert_int_equal(starts_with(&kb, &part), i == j);
                    dx_buf_deinit(&kb);
                }
            dx_buf_deinit(&part);
        }
    }
}

/* The layout: table id BE | hash32(encoded partition key) BE | encoded pk | encoded sk. */
static void test_layout_and_hash(void **state)
{
    struct be_table tb = table("id", DX_AV_S, NULL, 0);
    struct dx_av *item = dx_av_new_map(&A);
    dx_av_map_set(&A, item, "id", 2, V(DX_AV_S, "a\0b", 3));
    dx_av_map_set(&A, item, "other", 5, N("1"));
    struct dx_buf kb = DX_BUF_INIT;
    struct dx_error err = {0};
    assert_int_equal(be_key_from_item(&tb, item, &kb, &err), DX_OK);
    static const uint8_t enc[] = {'a', 0, 0xff, 'b', 0, 1};
    assert_int_equal(kb.len, 8 + sizeof(enc));
    assert_memory_equal(kb.p, "\x01\x02\x03\x04", 4);
    assert_memory_equal(kb.p + 8, enc, sizeof(enc));
    uint32_t h = be_key_hash32(enc, sizeof(enc));
    const uint8_t *hp = (const uint8_t *)kb.p + 4;
    assert_int_equal(((uint32_t)hp[0] << 24) | (hp[1] << 16) | (hp[2] << 8) | hp[3], h);
    dx_buf_deinit(&kb);

    /* The hash is on disk: these values must never change. */
    assert_int_equal(be_key_hash32("", 0), 0xab3e7c0bu);
    assert_int_equal(be_key_hash32("a\0\x01", 3), 0xcf89db0eu);
    assert_int_equal(be_key_hash32("hello world", 11), 0xb90456ecu);
    /* and it spreads: the top bit (a 2-segment Scan) splits 10000 keys roughly in half */
    int top = 0;
    for (int i = 0; i < 10000; i++) {
        char s[16];
        int n = snprintf(s, sizeof(s), "user%d", i);
        top += be_key_hash32(s, (size_t)n) >> 31;
    }
    assert_true(top > 4700 && top < 5300);
}

static void test_long_keys(void **state)
{
    struct be_table tb = table("pk", DX_AV_S, "sk", DX_AV_S);
    static char pk1[2048], pk2[2048], sk[1024];
    memset(pk1, 'x', sizeof(pk1));
    memset(pk2, 'x', sizeof(pk2));
    pk2[2000] = 'y'; /* differs only far beyond what LMDB keeps */
    memset(sk, 's', sizeof(sk));
    struct dx_buf k[4], part = DX_BUF_INIT;
    struct dx_error err = {0};
    const char *pks[4] = {pk1, pk1, pk2, pk2};
    size_t sklen[4] = {1, 1024, 1, 1024};
    for (int i = 0; i < 4; i++) {
        struct dx_av *key = dx_av_new_map(&A);
        dx_av_map_set(&A, key, "pk", 2, V(DX_AV_S, pks[i], 2048));
        dx_av_map_set(&A, key, "sk", 2, V(DX_AV_S, sk, sklen[i]));
        dx_buf_init(&k[i]);
        assert_int_equal(be_key_from_key(&tb, key, &k[i], &err), DX_OK);
        assert_int_equal(k[i].len, BE_KEY_MAX);
    }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            assert_int_not_equal(keycmp(&k[i], &k[j]), 0);
    /* the partition prefix of a long key is cut to what every key of it keeps */
    assert_int_equal(be_key_partition(tb.id, V(DX_AV_S, pk1, 2048), &part), DX_OK);
    assert_int_equal(part.len, BE_KEY_MAX - 32);
    assert_true(starts_with(&k[0], &part) && starts_with(&k[1], &part));
    /* same input, same key */
    struct dx_av *key = dx_av_new_map(&A);
    dx_av_map_set(&A, key, "pk", 2, V(DX_AV_S, pk1, 2048));
    dx_av_map_set(&A, key, "sk", 2, V(DX_AV_S, sk, 1));
    struct dx_buf again = DX_BUF_INIT;
    assert_int_equal(be_key_from_key(&tb, key, &again, &err), DX_OK);
    assert_int_equal(keycmp(&again, &k[0]), 0);
    /* a key of exactly BE_KEY_MAX bytes is kept as it is */
    struct be_table th = table("pk", DX_AV_S, NULL, 0);
    size_t n = BE_KEY_MAX - 8 - 2;
    struct dx_av *k2 = dx_av_new_map(&A);
    dx_av_map_set(&A, k2, "pk", 2, V(DX_AV_S, pk1, n));
    struct dx_buf exact = DX_BUF_INIT;
    assert_int_equal(be_key_from_key(&th, k2, &exact, &err), DX_OK);
    assert_int_equal(exact.len, BE_KEY_MAX);
    assert_memory_equal(exact.p + 8, pk1, n);
    assert_memory_equal(exact.p + 8 + n, "\x00\x01", 2);
    /* appending to a buffer that already holds bytes only fits the new key */
    struct dx_buf two = DX_BUF_INIT;
    dx_buf_append(&two, "prefix", 6);
    assert_int_equal(be_key_from_key(&tb, key, &two, &err), DX_OK);
    assert_int_equal(two.len, 6 + BE_KEY_MAX);
    assert_memory_equal(two.p + 6, k[0].p, BE_KEY_MAX);
    for (int i = 0; i < 4; i++)
        dx_buf_deinit(&k[i]);
    dx_buf_deinit(&part);
    dx_buf_deinit(&again);
    dx_buf_deinit(&exact);
    dx_buf_deinit(&two);
}

/* Validation: one row per case, with DynamoDB's text (NULL = accepted). */
struct vcase {
    const char *what;
    int from_item;
    int range;         /* table has sort key sk (N for 1, B for 2) */
    const char *attrs; /* "name:T:value;..." T in S N B L; value "#2049" = that many 'x' */
    const char *msg;
};

static struct dx_av *parse_attrs(const char *spec)
{
    struct dx_av *m = dx_av_new_map(&A);
    char *copy = strdup(spec), *save = NULL;
    for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        char *name = tok, *type = strchr(tok, ':');
        *type++ = 0;
        char *val = strchr(type, ':');
        *val++ = 0;
        struct dx_av *v;
        if (!strcmp(type, "L")) {
            v = dx_av_new_list(&A, DX_AV_L);
        } else {
            enum dx_av_type t = !strcmp(type, "S")   ? DX_AV_S
                                : !strcmp(type, "N") ? DX_AV_N
                                                     : DX_AV_B;
            if (val[0] == '#') {
                size_t n = (size_t)atoi(val + 1);
                char *buf = malloc(n);
                memset(buf, 'x', n);
                v = V(t, buf, n);
                free(buf);
            } else {
                v = V(t, val, strlen(val));
            }
        }
        dx_av_map_set(&A, m, name, strlen(name), v);
    }
    free(copy);
    return m;
}

#define SCHEMA "The provided key element does not match the schema"
#define EMPTY_S(k)                                                                                 \
    "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "   \
    "contain an empty string value. Key: " k
#define EMPTY_B(k)                                                                                 \
    "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "   \
    "contain an empty binary value. Key: " k
#define HASH_SIZE                                                                                  \
    "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "    \
    "limit of2048 bytes"
#define RANGE_SIZE                                                                                 \
    "One or more parameter values were invalid: Aggregated size of all range keys has exceeded "   \
    "the size limit of 1024 bytes"
#define MISSING(k) "One or more parameter values were invalid: Missing the key " k " in the item"
#define MISMATCH(k, e, a)                                                                          \
    "One or more parameter values were invalid: Type mismatch for key " k " expected: " e          \
    " actual: " a

static const struct vcase VCASES[] = {
    /* Key (GetItem, DeleteItem, UpdateItem, BatchGet, ...) */
    {"key ok", 0, 0, "id:S:a", NULL},
    {"key ok with range", 0, 1, "id:S:a;sk:N:-1.5", NULL},
    {"key empty", 0, 0, "", SCHEMA},
    {"key missing hash", 0, 0, "other:S:a", SCHEMA},
    {"key extra attribute", 0, 0, "id:S:a;x:S:b", SCHEMA},
    {"key wrong type", 0, 0, "id:N:1", SCHEMA},
    {"key list type", 0, 0, "id:L:", SCHEMA},
    {"key missing range", 0, 1, "id:S:a", SCHEMA},
    {"key range wrong type", 0, 1, "id:S:a;sk:S:1", SCHEMA},
    {"key range replaced by other", 0, 1, "id:S:a;x:N:1", SCHEMA},
    {"key three attributes", 0, 1, "id:S:a;sk:N:1;x:N:1", SCHEMA},
    {"key empty hash string", 0, 0, "id:S:", EMPTY_S("id")},
    {"key empty range binary", 0, 2, "id:S:a;sk:B:", EMPTY_B("sk")},
    {"key hash at limit", 0, 0, "id:S:#2048", NULL},
    {"key hash over limit", 0, 0, "id:S:#2049", HASH_SIZE},
    {"key range at limit", 0, 2, "id:S:a;sk:B:#1024", NULL},
    {"key range over limit", 0, 2, "id:S:a;sk:B:#1025", RANGE_SIZE},
    {"key hash checked before range", 0, 2, "id:S:;sk:B:", EMPTY_S("id")},
    /* Item (PutItem, BatchWrite Put, TransactWrite Put) */
    {"item ok", 1, 0, "id:S:a;x:N:1;y:L:", NULL},
    {"item ok with range", 1, 1, "id:S:a;sk:N:0;x:S:", NULL},
    {"item missing hash", 1, 0, "x:S:a", MISSING("id")},
    {"item missing range", 1, 1, "id:S:a;x:S:a", MISSING("sk")},
    {"item hash type", 1, 0, "id:N:1", MISMATCH("id", "S", "N")},
    {"item hash list", 1, 0, "id:L:", MISMATCH("id", "S", "L")},
    {"item range type", 1, 1, "id:S:a;sk:S:1", MISMATCH("sk", "N", "S")},
    {"item range binary vs string", 1, 2, "id:S:a;sk:S:x", MISMATCH("sk", "B", "S")},
    {"item empty hash", 1, 0, "id:S:", EMPTY_S("id")},
    {"item empty range", 1, 2, "id:S:a;sk:B:", EMPTY_B("sk")},
    {"item hash over limit", 1, 0, "id:S:#2049", HASH_SIZE},
    {"item range over limit", 1, 2, "id:S:a;sk:B:#1025", RANGE_SIZE},
    {"item missing hash before range", 1, 1, "sk:S:1", MISSING("id")},
};

static void test_validation(void **state)
{
    for (size_t i = 0; i < sizeof(VCASES) / sizeof(VCASES[0]); i++) {
        const struct vcase *c = &VCASES[i];
        enum dx_av_type rt = c->range == 1 ? DX_AV_N : DX_AV_B;
        struct be_table tb = table("id", DX_AV_S, c->range ? "sk" : NULL, c->range ? rt : 0);
        struct dx_av *m = parse_attrs(c->attrs);
        struct dx_buf kb = DX_BUF_INIT;
        struct dx_error err = {0};
        dx_buf_append(&kb, "keep", 4);
        int rc =
            c->from_item ? be_key_from_item(&tb, m, &kb, &err) : be_key_from_key(&tb, m, &kb, &err);
        if (!c->msg) {
            if (rc != DX_OK)
                fail_msg("%s: rejected: %s", c->what, err.msg ? err.msg : "(no message)");
            assert_true(kb.len > 4 + 8);
        } else {
            if (rc != DX_EREQ)
                fail_msg("%s: status %d, expected DX_EREQ", c->what, rc);
            assert_int_equal(err.code, DX_E_VALIDATION);
            assert_non_null(err.msg);
            if (strcmp(err.msg, c->msg))
                fail_msg("%s:\n  got      %s\n  expected %s", c->what, err.msg, c->msg);
            assert_int_equal(kb.len, 4); /* nothing appended */
        }
        dx_buf_deinit(&kb);
        dx_error_clear(&err);
    }
}

/* An item's key attributes, and nothing else. */
static void test_key_attrs(void **state)
{
    struct be_table tb = table("id", DX_AV_S, "sk", DX_AV_N);
    struct dx_av *item = parse_attrs("a:S:1;id:S:x;sk:N:5;z:B:q");
    struct dx_av *k = be_key_attrs(&A, &tb, item);
    assert_int_equal(k->type, DX_AV_M);
    assert_int_equal(k->u.map.n, 2);
    assert_ptr_equal(dx_av_map_get(k, "id", 2), dx_av_map_get(item, "id", 2));
    assert_ptr_equal(dx_av_map_get(k, "sk", 2), dx_av_map_get(item, "sk", 2));
    /* the key map makes the same storage key as the item */
    struct dx_buf a = DX_BUF_INIT, b = DX_BUF_INIT;
    struct dx_error err = {0};
    assert_int_equal(be_key_from_item(&tb, item, &a, &err), DX_OK);
    assert_int_equal(be_key_from_key(&tb, k, &b, &err), DX_OK);
    assert_int_equal(keycmp(&a, &b), 0);
    dx_buf_deinit(&a);
    dx_buf_deinit(&b);
    struct be_table th = table("id", DX_AV_S, NULL, 0);
    assert_int_equal(be_key_attrs(&A, &th, item)->u.map.n, 1);
}

/* Only S, N, B have key encodings. */
static void test_encode_value_types(void **state)
{
    struct dx_buf b = DX_BUF_INIT;
    assert_int_equal(be_key_encode_value(dx_av_new_bool(&A, 1), &b), DX_EINVAL);
    assert_int_equal(be_key_encode_value(dx_av_new_map(&A), &b), DX_EINVAL);
    assert_int_equal(be_key_encode_value(N("1"), &b), DX_OK);
    /* numbers equal in value encode equally */
    struct dx_buf c = DX_BUF_INIT;
    assert_int_equal(be_key_encode_value(N("1.0"), &c), DX_OK);
    assert_int_equal(keycmp(&b, &c), 0);
    dx_buf_deinit(&b);
    dx_buf_deinit(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_s, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_b, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partition_self_delimiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout_and_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_value_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
