/*
 * Tests for dx_num.c: which texts DynamoDB accepts as numbers and how it writes them back,
 * numeric comparison, exact addition and subtraction with DynamoDB's range errors, item-size
 * accounting, and the sort-key encoding (memcmp order must be numeric order). Randomized parts
 * take their seed from DDAX_TEST_SEED and print it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "dx_num.h"

static unsigned long long seed;

static unsigned rnd(void)
{
    /* xorshift64*: the same sequence for the same seed on every platform */
    seed ^= seed >> 12;
    seed ^= seed << 25;
    seed ^= seed >> 27;
    return (unsigned)((seed * 2685821657736338717ULL) >> 33);
}

static struct dx_num num(const char *s)
{
    struct dx_num n;
    int rc = dx_num_parse(s, strlen(s), &n);
    if (rc != DX_NUM_OK)
        fail_msg("parse \"%s\" failed: %d", s, rc);
    return n;
}

static const char *fmt(const struct dx_num *n, char *buf)
{
    dx_num_format(n, buf);
    return buf;
}

static char *repeat(char *dst, const char *prefix, char c, int count, const char *suffix)
{
    strcpy(dst, prefix);
    size_t k = strlen(dst);
    for (int i = 0; i < count; i++)
        dst[k++] = c;
    dst[k] = '\0';
    strcat(dst, suffix);
    return dst;
}

/* ---- parse and format ---- */

static const struct {
    const char *in, *out;
} accept_cases[] = {
    {"1", "1"},
    {"-1.5", "-1.5"},
    {".5", "0.5"},
    {"5.", "5"},
    {"+3", "3"},
    {"1e10", "10000000000"},
    {"1E+10", "10000000000"},
    {"1e+5", "100000"},
    {"1E+2", "100"},
    {"1e-3", "0.001"},
    {"-0", "0"},
    {"+0", "0"},
    {"0", "0"},
    {"0.000", "0"},
    {"-0.0e-5", "0"},
    {"0e1000", "0"},
    {"0e-99999", "0"},
    {"00012", "12"},
    {"0001.23", "1.23"},
    {"1.50", "1.5"},
    {"100", "100"},
    {"100.00", "100"},
    {"-7.1234", "-7.1234"},
    {"-17e5", "-1700000"},
    {"-17.4E37", "-174000000000000000000000000000000000000"},
    {".123", "0.123"},
    {"123.456e-2", "1.23456"},
    {"0.00012300", "0.000123"},
    {"12.5e-1", "1.25"},
    {"1.25e1", "12.5"},
    {"-0.5", "-0.5"},
    {"3.1415926535897932384626433832795028841", "3.1415926535897932384626433832795028841"},
    {"314159265358979323846.26433832795028841", "314159265358979323846.26433832795028841"},
    {"31415926535897932384626433832795028841e30",
     "31415926535897932384626433832795028841000000000000000000000000000000"},
    /* trailing zeros are not significant digits */
    {"1000000000000000000000000000000000000000000000000000000000000",
     "1000000000000000000000000000000000000000000000000000000000000"},
};

static void test_parse_accept(void **state)
{
    char buf[DX_NUM_STRMAX];
    for (size_t i = 0; i < sizeof(accept_cases) / sizeof(accept_cases[0]); i++) {
        struct dx_num n;
        const char *in = accept_cases[i].in;
        int rc = dx_num_parse(in, strlen(in), &n);
        if (rc != DX_NUM_OK)
            fail_msg("\"%s\" rejected (%d)", in, rc);
        dx_num_format(&n, buf);
        if (strcmp(buf, accept_cases[i].out) != 0)
            fail_msg("\"%s\" -> \"%s\", want \"%s\"", in, buf, accept_cases[i].out);
    }
}

static void test_parse_not_nul_terminated(void **state)
{
    /* only len bytes are read */
    struct dx_num n;
    assert_int_equal(dx_num_parse("12345", 2, &n), DX_NUM_OK);
    char buf[DX_NUM_STRMAX];
    assert_string_equal(fmt(&n, buf), "12");
    assert_int_equal(dx_num_parse("1x", 1, &n), DX_NUM_OK);
}

static void test_parse_extremes(void **state)
{
    char in[400], want[400], buf[DX_NUM_STRMAX];
    struct dx_num n;
    /* 1E+125 comes back as 1 and 125 zeros */
    assert_int_equal(dx_num_parse("1E+125", 6, &n), DX_NUM_OK);
    assert_string_equal(fmt(&n, buf), repeat(want, "1", '0', 125, ""));
    assert_int_equal(dx_num_parse("-1e125", 6, &n), DX_NUM_OK);
    assert_string_equal(fmt(&n, buf), repeat(want, "-1", '0', 125, ""));
    /* 1E-130 as 0. 129 zeros 1 */
    assert_int_equal(dx_num_parse("1e-130", 6, &n), DX_NUM_OK);
    assert_string_equal(fmt(&n, buf), repeat(want, "0.", '0', 129, "1"));
    /* the largest magnitude */
    const char *max = "9.9999999999999999999999999999999999999E+125";
    assert_int_equal(dx_num_parse(max, strlen(max), &n), DX_NUM_OK);
    assert_int_equal(n.ndigits, 38);
    assert_int_equal(n.exp, 126);
    assert_string_equal(fmt(&n, buf),
                        repeat(want, "99999999999999999999999999999999999999", '0', 88, ""));
    /* the longest text: negative, 38 digits, smallest exponent */
    repeat(in, "-0.", '0', 130, "12345678901234567890123456789012345678");
    assert_int_equal(dx_num_parse(in, strlen(in), &n), DX_NUM_E_UNDERFLOW);
    repeat(in, "-0.", '0', 129, "12345678901234567890123456789012345678");
    assert_int_equal(dx_num_parse(in, strlen(in), &n), DX_NUM_OK);
    size_t len = dx_num_format(&n, buf);
    assert_int_equal(len, 170);
    assert_true(len < DX_NUM_STRMAX);
    assert_string_equal(buf, in);
    /* many leading zeros and trailing zeros are fine */
    repeat(in, "", '0', 300, "1.5");
    strcat(in, "000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(dx_num_parse(in, strlen(in), &n), DX_NUM_OK);
    assert_string_equal(fmt(&n, buf), "1.5");
}

static const struct {
    const char *in;
    int err;
} reject_cases[] = {
    {"", DX_NUM_E_SYNTAX},
    {"+", DX_NUM_E_SYNTAX},
    {"-", DX_NUM_E_SYNTAX},
    {".", DX_NUM_E_SYNTAX},
    {"-.", DX_NUM_E_SYNTAX},
    {"e5", DX_NUM_E_SYNTAX},
    {".e5", DX_NUM_E_SYNTAX},
    {"1e", DX_NUM_E_SYNTAX},
    {"1e+", DX_NUM_E_SYNTAX},
    {"1e-", DX_NUM_E_SYNTAX},
    {"1ee5", DX_NUM_E_SYNTAX},
    {"1e5.5", DX_NUM_E_SYNTAX},
    {"1e5e5", DX_NUM_E_SYNTAX},
    {"++1", DX_NUM_E_SYNTAX},
    {"--1", DX_NUM_E_SYNTAX},
    {"+-1", DX_NUM_E_SYNTAX},
    {" 1", DX_NUM_E_SYNTAX},
    {"1 ", DX_NUM_E_SYNTAX},
    {"\t1", DX_NUM_E_SYNTAX},
    {"1.2.3", DX_NUM_E_SYNTAX},
    {"1..2", DX_NUM_E_SYNTAX},
    {"NaN", DX_NUM_E_SYNTAX},
    {"-NaN", DX_NUM_E_SYNTAX},
    {"Infinity", DX_NUM_E_SYNTAX},
    {"-Infinity", DX_NUM_E_SYNTAX},
    {"inf", DX_NUM_E_SYNTAX},
    {"0x10", DX_NUM_E_SYNTAX},
    {"1,000", DX_NUM_E_SYNTAX},
    {"1_000", DX_NUM_E_SYNTAX},
    {"dog", DX_NUM_E_SYNTAX},
    {"-dog", DX_NUM_E_SYNTAX},
    {"1d", DX_NUM_E_SYNTAX},
    {"1f", DX_NUM_E_SYNTAX},
    {"\xef\xbc\x91", DX_NUM_E_SYNTAX},  /* fullwidth digit one */
    {"0e99999999999", DX_NUM_E_SYNTAX}, /* exponent beyond a Java int */
    {"1e126", DX_NUM_E_OVERFLOW},
    {"-1e126", DX_NUM_E_OVERFLOW},
    {"10e125", DX_NUM_E_OVERFLOW},
    {"11e125", DX_NUM_E_OVERFLOW},
    {"1e2147483647", DX_NUM_E_OVERFLOW},
    {"99999999999999999999999999999999999999e89", DX_NUM_E_OVERFLOW},
    /* overflow is checked before precision */
    {"1234567890123456789012345678901234567890e100", DX_NUM_E_OVERFLOW},
    {"1e-131", DX_NUM_E_UNDERFLOW},
    {"-1e-131", DX_NUM_E_UNDERFLOW},
    {"0.9e-130", DX_NUM_E_UNDERFLOW},
    {"1e-2147483647", DX_NUM_E_UNDERFLOW},
    {"123456789012345678901234567890123456789", DX_NUM_E_PRECISION},
    {"-1.23456789012345678901234567890123456789", DX_NUM_E_PRECISION},
    {"3.14159265358979323846264338327950288419", DX_NUM_E_PRECISION},
    {"314159265358979323846.264338327950288419", DX_NUM_E_PRECISION},
    {"314159265358979323846264338327950288419e30", DX_NUM_E_PRECISION},
    {"1.00000000000000000000000000000000000000000001", DX_NUM_E_PRECISION},
};

static void test_parse_reject(void **state)
{
    for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
        struct dx_num n;
        const char *in = reject_cases[i].in;
        int rc = dx_num_parse(in, strlen(in), &n);
        if (rc != reject_cases[i].err)
            fail_msg("\"%s\": got %d, want %d", in, rc, reject_cases[i].err);
    }
}

static void test_strerror(void **state)
{
    assert_string_equal(dx_num_strerror(DX_NUM_E_SYNTAX),
                        "The parameter cannot be converted to a numeric value");
    assert_string_equal(dx_num_strerror(DX_NUM_E_PRECISION),
                        "Attempting to store more than 38 significant digits in a Number");
    assert_string_equal(dx_num_strerror(DX_NUM_E_OVERFLOW),
                        "Number overflow. Attempting to store a number with magnitude larger "
                        "than supported range");
    assert_string_equal(dx_num_strerror(DX_NUM_E_UNDERFLOW),
                        "Number underflow. Attempting to store a number with magnitude smaller "
                        "than supported range");
}

/* ---- order: cmp and the key encoding ---- */

/* Strictly increasing. */
static const char *const sorted[] = {
    "-9.9999999999999999999999999999999999999e125",
    "-1e125",
    "-99999999999999999999999999999999999999",
    "-1e20",
    "-1000",
    "-999.99",
    "-999.9",
    "-999",
    "-101",
    "-100.5",
    "-100",
    "-99",
    "-12.5",
    "-12.345",
    "-12.34",
    "-12.3",
    "-12",
    "-2",
    "-1.0000000000000000000000000000000000001",
    "-1",
    "-0.99999999999999999999999999999999999999",
    "-0.5",
    "-0.12",
    "-0.1",
    "-0.01",
    "-0.001",
    "-1e-100",
    "-1.5e-130",
    "-1e-130",
    "0",
    "1e-130",
    "1.0000000000000000000000000000000000001e-130",
    "2e-130",
    "1e-129",
    "1e-100",
    "0.00099",
    "0.001",
    "0.0010000000000000000000000000000000000001",
    "0.01",
    "0.1",
    "0.10000000000000000000000000000000000001",
    "0.11",
    "0.12",
    "0.2",
    "0.99",
    "0.999",
    "1",
    "1.0000000000000000000000000000000000001",
    "1.01",
    "1.1",
    "1.9",
    "2",
    "9",
    "9.5",
    "10",
    "10.000000000000000000000000000000000001",
    "11",
    "12",
    "12.1",
    "99",
    "100",
    "101",
    "110",
    "1000",
    "1e20",
    "12345678901234567890123456789012345678",
    "99999999999999999999999999999999999999",
    "1e38",
    "1e125",
    "1.1e125",
    "9.9999999999999999999999999999999999999e125",
};
#define NSORTED (sizeof(sorted) / sizeof(sorted[0]))

static int sgn(int x)
{
    return (x > 0) - (x < 0);
}

static int key_cmp(const struct dx_num *a, const struct dx_num *b)
{
    uint8_t ka[DX_NUM_KEYMAX + 8], kb[DX_NUM_KEYMAX + 8];
    size_t la = dx_num_key_encode(a, ka), lb = dx_num_key_encode(b, kb);
    assert_true(la <= DX_NUM_KEYMAX);
    assert_true(lb <= DX_NUM_KEYMAX);
    size_t n = la < lb ? la : lb;
    int c = memcmp(ka, kb, n);
    if (c)
        return sgn(c);
    /* the encoding is prefix-free: equal prefixes mean equal encodings */
    assert_int_equal(la, lb);
    return 0;
}

static void test_cmp_and_key_order_table(void **state)
{
    for (size_t i = 0; i < NSORTED; i++) {
        struct dx_num a = num(sorted[i]);
        for (size_t j = 0; j < NSORTED; j++) {
            struct dx_num b = num(sorted[j]);
            int want = (i > j) - (i < j);
            if (sgn(dx_num_cmp(&a, &b)) != want)
                fail_msg("cmp(%s, %s) != %d", sorted[i], sorted[j], want);
            if (key_cmp(&a, &b) != want)
                fail_msg("key order (%s, %s) != %d", sorted[i], sorted[j], want);
        }
    }
}

static void test_cmp_equal_forms(void **state)
{
    static const char *const same[][2] = {
        {"1", "1.0"}, {"-0", "0"}, {"100", "1e2"}, {"0.5", ".5"}, {"12.50", "1.25e1"},
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        struct dx_num a = num(same[i][0]), b = num(same[i][1]);
        assert_int_equal(dx_num_cmp(&a, &b), 0);
        assert_int_equal(key_cmp(&a, &b), 0);
    }
}

static struct dx_num random_num(void)
{
    struct dx_num n;
    memset(&n, 0, sizeof(n));
    if (rnd() % 16 == 0)
        return n; /* zero */
    /* a small alphabet and narrow exponents make near-equal pairs common */
    int narrow = rnd() % 2;
    n.sign = rnd() % 2 ? 1 : -1;
    n.ndigits = (uint8_t)(1 + rnd() % DX_NUM_MAX_DIGITS);
    n.exp = narrow ? (int16_t)(rnd() % 5) - 2 : (int16_t)(-129 + (int)(rnd() % 256));
    for (int i = 0; i < n.ndigits; i++)
        n.digits[i] = (uint8_t)(narrow ? rnd() % 3 : rnd() % 10);
    n.digits[0] = (uint8_t)(1 + rnd() % 9);
    n.digits[n.ndigits - 1] = (uint8_t)(1 + rnd() % 9);
    return n;
}

/* A reference comparison through the canonical text, as exact decimals in a wide window. */
static int ref_cmp(const struct dx_num *a, const struct dx_num *b)
{
    char ta[DX_NUM_STRMAX], tb[DX_NUM_STRMAX];
    dx_num_format(a, ta);
    dx_num_format(b, tb);
    /* place digits of |x| on positions 10^200 .. 10^-200 */
    static char da[401], db[401];
    const char *src[2] = {ta, tb};
    char *dst[2] = {da, db};
    int sign[2];
    for (int k = 0; k < 2; k++) {
        memset(dst[k], '0', 400);
        dst[k][400] = 0;
        const char *s = src[k];
        sign[k] = 1;
        if (*s == '-') {
            sign[k] = -1;
            s++;
        }
        const char *dot = strchr(s, '.');
        size_t intlen = dot ? (size_t)(dot - s) : strlen(s);
        for (size_t i = 0; i < intlen; i++)
            dst[k][200 - intlen + i] = s[i];
        if (dot)
            for (size_t i = 1; dot[i]; i++)
                dst[k][200 + i - 1] = dot[i];
        if (strspn(dst[k], "0") == 400)
            sign[k] = 0;
    }
    if (sign[0] != sign[1])
        return sign[0] < sign[1] ? -1 : 1;
    return sign[0] * sgn(strcmp(da, db));
}

static void test_key_order_random(void **state)
{
    printf("DDAX_TEST_SEED=%llu\n", seed);
    for (int iter = 0; iter < 200000; iter++) {
        struct dx_num a = random_num(), b = random_num();
        if (iter % 3 == 0) {
            /* b a close variant of a */
            b = a;
            if (b.ndigits > 1 && rnd() % 2)
                b.ndigits = (uint8_t)(1 + rnd() % b.ndigits);
            while (b.ndigits > 1 && b.digits[b.ndigits - 1] == 0)
                b.ndigits--;
            if (rnd() % 3 == 0)
                b.sign = (int8_t)-b.sign;
        }
        int want = ref_cmp(&a, &b);
        if (sgn(dx_num_cmp(&a, &b)) != want || key_cmp(&a, &b) != want) {
            char ta[DX_NUM_STRMAX], tb[DX_NUM_STRMAX];
            fail_msg("order of %s and %s (seed %llu)", fmt(&a, ta), fmt(&b, tb), seed);
        }
    }
}

static void test_key_decode_round_trip(void **state)
{
    for (int iter = 0; iter < 50000; iter++) {
        struct dx_num a = iter < (int)NSORTED ? num(sorted[iter]) : random_num(), b;
        uint8_t k[DX_NUM_KEYMAX + 4];
        size_t len = dx_num_key_encode(&a, k);
        /* trailing bytes of a following key part are not consumed */
        k[len] = 0x55;
        k[len + 1] = 0x00;
        assert_int_equal(dx_num_key_decode(k, len + 2, &b), len);
        assert_int_equal(dx_num_cmp(&a, &b), 0);
        char ta[DX_NUM_STRMAX], tb[DX_NUM_STRMAX];
        assert_string_equal(fmt(&a, ta), fmt(&b, tb));
        /* truncated input is malformed, never read past len */
        if (len > 1)
            assert_int_equal(dx_num_key_decode(k, len - 1, &b), 0);
    }
}

static void test_key_decode_malformed(void **state)
{
    struct dx_num n;
    static const struct {
        uint8_t b[4];
        size_t len;
    } bad[] = {
        {{0x00}, 1},                   /* unknown class */
        {{0x04}, 1},                   /* unknown class */
        {{0x03, 0x80}, 2},             /* no terminator */
        {{0x03, 0x80, 0x00}, 3},       /* no digits */
        {{0x03, 0x80, 0x65, 0x00}, 4}, /* pair byte 101 */
        {{0x03, 0x80, 0x01, 0x00}, 4}, /* leading zero digits */
    };
    assert_int_equal(dx_num_key_decode(NULL, 0, &n), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dx_num_key_decode(bad[i].b, bad[i].len, &n), 0);
}

static void test_key_lengths(void **state)
{
    uint8_t k[DX_NUM_KEYMAX];
    struct dx_num z = num("0"), big = num("-1.2345678901234567890123456789012345678e-100");
    assert_int_equal(dx_num_key_encode(&z, k), 1);
    assert_int_equal(dx_num_key_encode(&big, k), 22);
}

/* ---- arithmetic ---- */

static const struct {
    const char *a, *b;
    const char *sum; /* NULL: sum_err */
    int sum_err;
    const char *diff; /* NULL: diff_err */
    int diff_err;
} arith_cases[] = {
    {"1", "1", "2", 0, "0", 0},
    {"9", "1", "10", 0, "8", 0},
    {"0.1", "0.9", "1", 0, "-0.8", 0},
    {"-1", "1", "0", 0, "-2", 0},
    {"1", "-2", "-1", 0, "3", 0},
    {"0", "-5", "-5", 0, "5", 0},
    {"-5", "0", "-5", 0, "-5", 0},
    {"0", "0", "0", 0, "0", 0},
    {"1.5", "-1.5", "0", 0, "3", 0},
    {"1", "10000000000000000000000", "10000000000000000000001", 0, "-9999999999999999999999", 0},
    {"10000000000000000000000", "1", "10000000000000000000001", 0, "9999999999999999999999", 0},
    {"99999999999999999999999999999999999999", "1", "100000000000000000000000000000000000000", 0,
     "99999999999999999999999999999999999998", 0},
    {"-0.001", "0.0001", "-0.0009", 0, "-0.0011", 0},
    {"999.999", "0.001", "1000", 0, "999.998", 0},
    {"1000", "0.001", "1000.001", 0, "999.999", 0},
    {"-1000", "-0.001", "-1000.001", 0, "-999.999", 0},
    {"123.456", "-123.457", "-0.001", 0, "246.913", 0},
    {"1e-130", "1e-130",
     "0.0000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000002",
     0, "0", 0},
    {"1.1e-129", "1e-129", "2.1e-129", 0, "1e-130", 0},
    {"9e125", "9e125", NULL, DX_NUM_E_OVERFLOW, "0", 0},
    {"9e125", "-9e125", "0", 0, NULL, DX_NUM_E_OVERFLOW},
    {"-9e125", "-9e125", NULL, DX_NUM_E_OVERFLOW, "0", 0},
    {"9.9999999999999999999999999999999999999e125", "1e88", NULL, DX_NUM_E_OVERFLOW,
     "9.9999999999999999999999999999999999998e125", 0},
    /* more than 38 digits: DynamoDB fails with the overflow text rather than rounding */
    {"1e50", "1", NULL, DX_NUM_E_OVERFLOW, NULL, DX_NUM_E_OVERFLOW},
    {"12345678901234567890123456789012345678", "0.1", NULL, DX_NUM_E_OVERFLOW, NULL,
     DX_NUM_E_OVERFLOW},
    {"1e125", "1e-130", NULL, DX_NUM_E_OVERFLOW, NULL, DX_NUM_E_OVERFLOW},
    /* exactly 38 digits after a carry is fine */
    {"9999999999999999999999999999999999999.9", "0.1", "10000000000000000000000000000000000000", 0,
     "9999999999999999999999999999999999999.8", 0},
    /* a difference below 1E-130 */
    {"1.0000000000000000000000000000000000001e-130", "1e-130",
     "2.0000000000000000000000000000000000001e-130", 0, NULL, DX_NUM_E_UNDERFLOW},
};

static void test_add_sub(void **state)
{
    char buf[DX_NUM_STRMAX];
    for (size_t i = 0; i < sizeof(arith_cases) / sizeof(arith_cases[0]); i++) {
        struct dx_num a = num(arith_cases[i].a), b = num(arith_cases[i].b), r;
        int rc = dx_num_add(&a, &b, &r);
        if (arith_cases[i].sum) {
            struct dx_num want = num(arith_cases[i].sum);
            if (rc != DX_NUM_OK || dx_num_cmp(&r, &want) != 0)
                fail_msg("%s + %s = %s (rc %d), want %s", arith_cases[i].a, arith_cases[i].b,
                         rc ? "-" : fmt(&r, buf), rc, arith_cases[i].sum);
        } else if (rc != arith_cases[i].sum_err) {
            fail_msg("%s + %s: rc %d, want %d", arith_cases[i].a, arith_cases[i].b, rc,
                     arith_cases[i].sum_err);
        }
        if (!arith_cases[i].diff && !arith_cases[i].diff_err)
            continue;
        rc = dx_num_sub(&a, &b, &r);
        if (arith_cases[i].diff) {
            struct dx_num want = num(arith_cases[i].diff);
            if (rc != DX_NUM_OK || dx_num_cmp(&r, &want) != 0)
                fail_msg("%s - %s = %s (rc %d), want %s", arith_cases[i].a, arith_cases[i].b,
                         rc ? "-" : fmt(&r, buf), rc, arith_cases[i].diff);
        } else if (rc != arith_cases[i].diff_err) {
            fail_msg("%s - %s: rc %d, want %d", arith_cases[i].a, arith_cases[i].b, rc,
                     arith_cases[i].diff_err);
        }
    }
}

static void test_add_small_difference(void **state)
{
    /* 1.1e-129 - 1e-129 = 1e-130, the smallest magnitude */
    struct dx_num a = num("1.1e-129"), b = num("1e-129"), r;
    char buf[DX_NUM_STRMAX], want[400];
    assert_int_equal(dx_num_sub(&a, &b, &r), DX_NUM_OK);
    assert_string_equal(fmt(&r, buf), repeat(want, "0.", '0', 129, "1"));
    /* the result is canonical: no trailing zeros, -0 is 0 */
    a = num("2.50");
    b = num("-2.5");
    assert_int_equal(dx_num_add(&a, &b, &r), DX_NUM_OK);
    assert_int_equal(r.sign, 0);
    assert_int_equal(r.ndigits, 0);
    assert_string_equal(fmt(&r, buf), "0");
}

static void test_add_random_identities(void **state)
{
    for (int iter = 0; iter < 100000; iter++) {
        struct dx_num a = random_num(), b = random_num(), s, d, z;
        if (dx_num_add(&a, &b, &s) != DX_NUM_OK)
            continue;
        /* (a + b) - b == a, and the sum moved a in the direction of b's sign */
        if (dx_num_sub(&s, &b, &d) != DX_NUM_OK || dx_num_cmp(&d, &a) != 0) {
            char ta[DX_NUM_STRMAX], tb[DX_NUM_STRMAX];
            fail_msg("(%s + %s) - b != a (seed %llu)", fmt(&a, ta), fmt(&b, tb), seed);
        }
        assert_int_equal(sgn(dx_num_cmp(&s, &a)), b.ndigits ? b.sign : 0);
        assert_int_equal(dx_num_sub(&a, &a, &z), DX_NUM_OK);
        assert_int_equal(z.ndigits, 0);
    }
}

/* ---- size ---- */

static const struct {
    const char *n;
    size_t size;
} size_cases[] = {
    {"0", 1},
    {"1", 2},
    {"9", 2},
    {"10", 2},
    {"12", 2},
    {"100", 2},
    {"123", 3},
    {"1234", 3},
    {"12345", 4},
    {"1.2", 3},
    {"12.3", 3},
    {"1.23", 3},
    {"0.1", 2},
    {"0.12", 2},
    {"0.012", 3},
    {"-1", 3},
    {"-12", 3},
    {"-1.2", 4},
    {"1e125", 2},
    {"1e-130", 2},
    {"12345678901234567890123456789012345678", 20},
    {"1.2345678901234567890123456789012345678", 21},
    {"-1.2345678901234567890123456789012345678", 22},
};

static void test_size(void **state)
{
    for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
        struct dx_num n = num(size_cases[i].n);
        if (dx_num_size(&n) != size_cases[i].size)
            fail_msg("size(%s) = %zu, want %zu", size_cases[i].n, dx_num_size(&n),
                     size_cases[i].size);
    }
}

static int floordiv2(int x)
{
    return x >= 0 ? x / 2 : -((-x + 1) / 2);
}

static void test_size_is_base100_pairs(void **state)
{
    /* 1 exponent byte + one byte per base-100 digit aligned on the decimal point + 1 for sign */
    for (int iter = 0; iter < 20000; iter++) {
        struct dx_num n = random_num();
        if (!n.ndigits)
            continue;
        int e = n.exp - 1;
        int pairs = floordiv2(e) - floordiv2(e - n.ndigits + 1) + 1;
        assert_int_equal(dx_num_size(&n), 1 + pairs + (n.sign < 0));
    }
}

int main(void)
{
    const char *env = getenv("DDAX_TEST_SEED");
    seed = env ? strtoull(env, NULL, 10) : (unsigned long long)time(NULL);
    if (!seed)
        seed = 1;
    printf("test_dx_num: DDAX_TEST_SEED=%llu\n", seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accept),
        cmocka_unit_test(test_parse_not_nul_terminated),
        cmocka_unit_test(test_parse_extremes),
        cmocka_unit_test(test_parse_reject),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_cmp_and_key_order_table),
        cmocka_unit_test(test_cmp_equal_forms),
        cmocka_unit_test(test_key_order_random),
        cmocka_unit_test(test_key_decode_round_trip),
        cmocka_unit_test(test_key_decode_malformed),
        cmocka_unit_test(test_key_lengths),
        cmocka_unit_test(test_add_sub),
        cmocka_unit_test(test_add_small_difference),
        cmocka_unit_test(test_add_random_identities),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_size_is_base100_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
