/*
 * DynamoDB numbers as exact decimals: parsing with DynamoDB's accept/reject rules and error
 * texts, the canonical text DynamoDB returns, comparison, exact addition and subtraction, the
 * item-size contribution, and an order-preserving byte encoding for sort keys.
 *
 * DynamoDB parses numbers as Java's BigDecimal does: an optional sign ('+' or '-'), digits with
 * an optional '.', at least one digit, and an optional exponent ('e' or 'E', optional sign,
 * digits). "+3", ".5", "5.", "0001.23", "1e+5" and "0e1000" are accepted; "NaN", "Infinity",
 * "0x10", " 1", "1e" and "" are not (scylladb test/alternator/test_number.py, run against
 * DynamoDB). The value is then held to 38 significant digits and a magnitude between 1E-130
 * and 9.99..E+125, checked in the order overflow, underflow, precision (dynalite checkNum).
 */
#include <stdint.h>
#include <string.h>
#include "dx_num.h"

/* Exponent (in our 0.ddd * 10^exp form) bounds: 9.99..E+125 is 0.999.. * 10^126, and 1E-130
 * is 0.1 * 10^-129. */
#define EXP_MAX 126
#define EXP_MIN (-129)

static void set_zero(struct dx_num *n)
{
    memset(n, 0, sizeof(*n));
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int dx_num_parse(const char *s, size_t len, struct dx_num *out)
{
    size_t i = 0;
    int sign = 1;
    set_zero(out);
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        if (s[i] == '-')
            sign = -1;
        i++;
    }
    /* Significand: digits after the first non-zero one are kept (up to 38); nsig counts up
     * to the last non-zero digit so that trailing zeros do not count as precision. */
    uint8_t digits[DX_NUM_MAX_DIGITS];
    size_t ndig = 0;      /* digits seen since the first non-zero digit */
    size_t nsig = 0;      /* ndig at the last non-zero digit */
    int64_t exp = 0;      /* decimal exponent of the 0.ddd form, before the 'e' part */
    int seen_digit = 0;   /* any digit in the significand */
    int seen_nonzero = 0; /* first non-zero digit seen */
    int in_fraction = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (in_fraction)
                return DX_NUM_E_SYNTAX;
            in_fraction = 1;
            continue;
        }
        if (!is_digit(c))
            break;
        seen_digit = 1;
        int d = c - '0';
        if (!seen_nonzero) {
            if (d == 0) {
                /* a leading zero: only a fractional one moves the exponent */
                if (in_fraction)
                    exp--;
                continue;
            }
            seen_nonzero = 1;
        }
        if (ndig < DX_NUM_MAX_DIGITS)
            digits[ndig] = (uint8_t)d;
        ndig++;
        if (d != 0)
            nsig = ndig;
        if (!in_fraction)
            exp++;
    }
    if (!seen_digit)
        return DX_NUM_E_SYNTAX;
    if (i < len) {
        if (s[i] != 'e' && s[i] != 'E')
            return DX_NUM_E_SYNTAX;
        i++;
        int esign = 1;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            if (s[i] == '-')
                esign = -1;
            i++;
        }
        if (i == len)
            return DX_NUM_E_SYNTAX;
        int64_t e = 0;
        for (; i < len; i++) {
            if (!is_digit(s[i]))
                return DX_NUM_E_SYNTAX;
            e = e * 10 + (s[i] - '0');
            /* BigDecimal keeps the exponent in a Java int: larger ones are not numbers */
            if (e > INT32_MAX)
                return DX_NUM_E_SYNTAX;
        }
        exp += esign * e;
    }
    if (!seen_nonzero)
        return DX_NUM_OK; /* zero, whatever its sign or exponent */
    if (exp > EXP_MAX)
        return DX_NUM_E_OVERFLOW;
    if (exp < EXP_MIN)
        return DX_NUM_E_UNDERFLOW;
    if (nsig > DX_NUM_MAX_DIGITS)
        return DX_NUM_E_PRECISION;
    out->sign = (int8_t)sign;
    out->ndigits = (uint8_t)nsig;
    out->exp = (int16_t)exp;
    memcpy(out->digits, digits, nsig);
    return DX_NUM_OK;
}

/*
 * DX_NUM_E_SYNTAX's text is the one DynamoDB sends for an empty number; for any other text it
 * appends ": " and the text as received ("The parameter cannot be converted to a numeric
 * value: b"), which the caller adds since only it has the text.
 */
const char *dx_num_strerror(int num_err)
{
    switch (num_err) {
    case DX_NUM_OK:
        return "success";
    case DX_NUM_E_SYNTAX:
        return "The parameter cannot be converted to a numeric value";
    case DX_NUM_E_PRECISION:
        return "Attempting to store more than 38 significant digits in a Number";
    case DX_NUM_E_OVERFLOW:
        return "Number overflow. Attempting to store a number with magnitude larger than "
               "supported range";
    case DX_NUM_E_UNDERFLOW:
        return "Number underflow. Attempting to store a number with magnitude smaller than "
               "supported range";
    default:
        return "The parameter cannot be converted to a numeric value";
    }
}

/* DynamoDB returns numbers in plain notation, never with an exponent (dynalite: toFixed). */
size_t dx_num_format(const struct dx_num *n, char *buf)
{
    char *p = buf;
    if (n->sign == 0 || n->ndigits == 0) {
        buf[0] = '0';
        buf[1] = '\0';
        return 1;
    }
    if (n->sign < 0)
        *p++ = '-';
    int exp = n->exp, nd = n->ndigits;
    if (exp <= 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -exp; i++)
            *p++ = '0';
        for (int i = 0; i < nd; i++)
            *p++ = (char)('0' + n->digits[i]);
    } else if (exp >= nd) {
        for (int i = 0; i < nd; i++)
            *p++ = (char)('0' + n->digits[i]);
        for (int i = nd; i < exp; i++)
            *p++ = '0';
    } else {
        for (int i = 0; i < exp; i++)
            *p++ = (char)('0' + n->digits[i]);
        *p++ = '.';
        for (int i = exp; i < nd; i++)
            *p++ = (char)('0' + n->digits[i]);
    }
    *p = '\0';
    return (size_t)(p - buf);
}

/* Compares magnitudes of two non-zero numbers. */
static int cmp_mag(const struct dx_num *a, const struct dx_num *b)
{
    if (a->exp != b->exp)
        return a->exp < b->exp ? -1 : 1;
    int n = a->ndigits < b->ndigits ? a->ndigits : b->ndigits;
    for (int i = 0; i < n; i++)
        if (a->digits[i] != b->digits[i])
            return a->digits[i] < b->digits[i] ? -1 : 1;
    if (a->ndigits != b->ndigits)
        return a->ndigits < b->ndigits ? -1 : 1;
    return 0;
}

int dx_num_cmp(const struct dx_num *a, const struct dx_num *b)
{
    int sa = a->ndigits ? a->sign : 0, sb = b->ndigits ? b->sign : 0;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    return sa * cmp_mag(a, b);
}

/*
 * Exact sum in a fixed window of decimal positions. A digit of a valid number has a power of
 * ten between -167 (the 38th digit of a number near 1E-130) and 125; a carry adds one more.
 */
#define POW_MIN  (-170)
#define POW_SPAN 300

static void spread(const struct dx_num *n, int8_t *acc, int mul)
{
    for (int i = 0; i < n->ndigits; i++)
        acc[n->exp - 1 - i - POW_MIN] += (int8_t)(mul * n->digits[i]);
}

int dx_num_add(const struct dx_num *a, const struct dx_num *b, struct dx_num *out)
{
    if (!b->ndigits) {
        *out = *a;
        return DX_NUM_OK;
    }
    if (!a->ndigits) {
        *out = *b;
        return DX_NUM_OK;
    }
    int8_t acc[POW_SPAN];
    memset(acc, 0, sizeof(acc));
    int sign;
    if (a->sign == b->sign) {
        sign = a->sign;
        spread(a, acc, 1);
        spread(b, acc, 1);
    } else {
        /* subtract the smaller magnitude from the larger; the result takes the larger's sign */
        int c = cmp_mag(a, b);
        if (c == 0) {
            set_zero(out);
            return DX_NUM_OK;
        }
        const struct dx_num *big = c > 0 ? a : b, *small = c > 0 ? b : a;
        sign = big->sign;
        spread(big, acc, 1);
        spread(small, acc, -1);
    }
    /* carries and borrows, lowest position first */
    for (int i = 0; i < POW_SPAN - 1; i++) {
        if (acc[i] >= 10) {
            acc[i] -= 10;
            acc[i + 1]++;
        } else if (acc[i] < 0) {
            acc[i] += 10;
            acc[i + 1]--;
        }
    }
    int hi = POW_SPAN - 1, lo = 0;
    while (hi >= 0 && acc[hi] == 0)
        hi--;
    if (hi < 0) {
        set_zero(out);
        return DX_NUM_OK;
    }
    while (acc[lo] == 0)
        lo++;
    int exp = hi + POW_MIN + 1, nd = hi - lo + 1;
    if (exp > EXP_MAX)
        return DX_NUM_E_OVERFLOW;
    if (exp < EXP_MIN)
        return DX_NUM_E_UNDERFLOW;
    /* DynamoDB does not round: a sum that needs more than 38 digits (1E+50 - 1) fails, and
     * with the overflow text, not the precision one (scylladb test/alternator/test_number.py,
     * test_update_expression_plus_imprecise, run against DynamoDB). */
    if (nd > DX_NUM_MAX_DIGITS)
        return DX_NUM_E_OVERFLOW;
    set_zero(out);
    out->sign = (int8_t)sign;
    out->exp = (int16_t)exp;
    out->ndigits = (uint8_t)nd;
    for (int i = 0; i < nd; i++)
        out->digits[i] = (uint8_t)acc[hi - i];
    return DX_NUM_OK;
}

int dx_num_sub(const struct dx_num *a, const struct dx_num *b, struct dx_num *out)
{
    struct dx_num nb = *b;
    nb.sign = (int8_t)-nb.sign;
    return dx_num_add(a, &nb, out);
}

/*
 * DynamoDB stores a number as an exponent byte and base-100 digit pairs aligned on the decimal
 * point, plus a terminator byte for negatives; zero is one byte. This is dynalite's valSize,
 * which matches the sizes DynamoDB reports (the developer guide only says "approximately 1
 * byte per two significant digits + 1 byte").
 */
size_t dx_num_size(const struct dx_num *n)
{
    if (!n->ndigits)
        return 1;
    int nd = n->ndigits;
    int e = n->exp - 1; /* scientific exponent: d.ddd * 10^e */
    size_t pairs = (size_t)(nd + 1) / 2 + ((nd % 2 == 0 && e % 2 == 0) ? 1 : 0);
    return 1 + pairs + (n->sign < 0 ? 1 : 0);
}

/*
 * Key encoding:
 *   zero:     0x02
 *   positive: 0x03, exp + 130 (1..256 fits as exp + 129 in 0..255), digit pairs, 0x00
 *   negative: 0x01, then the positive encoding of the magnitude with every byte inverted
 * A digit pair "d1d2" is the byte 1 + d1*10 + d2 (1..100; an odd last digit pairs with 0),
 * so the 0x00 terminator sorts below any further pair: a mantissa that is a prefix of
 * another is the smaller magnitude. Inverting the bytes of negatives reverses their order
 * and keeps the encoding prefix-free. At most 1 + 1 + 19 + 1 = 22 bytes.
 */
#define KEY_NEG  0x01
#define KEY_ZERO 0x02
#define KEY_POS  0x03

size_t dx_num_key_encode(const struct dx_num *n, uint8_t *out)
{
    if (!n->ndigits) {
        out[0] = KEY_ZERO;
        return 1;
    }
    size_t k = 0;
    out[k++] = n->sign < 0 ? KEY_NEG : KEY_POS;
    out[k++] = (uint8_t)(n->exp - EXP_MIN);
    for (int i = 0; i < n->ndigits; i += 2) {
        int d2 = i + 1 < n->ndigits ? n->digits[i + 1] : 0;
        out[k++] = (uint8_t)(1 + n->digits[i] * 10 + d2);
    }
    out[k++] = 0x00;
    if (n->sign < 0)
        for (size_t i = 1; i < k; i++)
            out[i] = (uint8_t)~out[i];
    return k;
}

size_t dx_num_key_decode(const uint8_t *p, size_t len, struct dx_num *out)
{
    set_zero(out);
    if (len < 1)
        return 0;
    if (p[0] == KEY_ZERO)
        return 1;
    if (p[0] != KEY_NEG && p[0] != KEY_POS)
        return 0;
    uint8_t inv = p[0] == KEY_NEG ? 0xff : 0x00;
    if (len < 3)
        return 0;
    int exp = (int)(uint8_t)(p[1] ^ inv) + EXP_MIN;
    if (exp > EXP_MAX)
        return 0;
    size_t k = 2;
    int npairs = 0;
    for (;;) {
        if (k >= len)
            return 0;
        uint8_t b = (uint8_t)(p[k++] ^ inv);
        if (b == 0)
            break;
        if (b > 100 || npairs == DX_NUM_MAX_DIGITS / 2)
            return 0;
        out->digits[2 * npairs] = (uint8_t)((b - 1) / 10);
        out->digits[2 * npairs + 1] = (uint8_t)((b - 1) % 10);
        npairs++;
    }
    int nd = 2 * npairs;
    while (nd > 0 && out->digits[nd - 1] == 0)
        nd--;
    if (nd == 0 || out->digits[0] == 0) {
        set_zero(out);
        return 0;
    }
    out->sign = p[0] == KEY_NEG ? -1 : 1;
    out->exp = (int16_t)exp;
    out->ndigits = (uint8_t)nd;
    return k;
}
