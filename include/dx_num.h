/*
 * DynamoDB numbers: exact decimals with up to 38 significant digits and a magnitude from
 * 1E-130 to 9.9999999999999999999999999999999999999E+125 (or zero). Never a C double.
 *
 * A struct dx_num is a value type: sign, decimal exponent, and the significant digits without
 * leading or trailing zeros. The value is 0.d1d2...dn * 10^exp (so "1" has exp 1, "0.05" has
 * exp -1); zero has ndigits == 0 and sign 0.
 */
#ifndef DX_NUM_H
#define DX_NUM_H

#include <stddef.h>
#include <stdint.h>

#define DX_NUM_MAX_DIGITS 38
/* Longest canonical text dx_num_format writes, NUL included. */
#define DX_NUM_STRMAX 200
/* Longest order-preserving key encoding dx_num_key_encode writes. */
#define DX_NUM_KEYMAX 24

struct dx_num {
    int8_t sign;                       /* -1, 0 (zero) or +1 */
    uint8_t ndigits;                   /* 0..38 significant digits in digits[] */
    int16_t exp;                       /* value = 0.digits * 10^exp */
    uint8_t digits[DX_NUM_MAX_DIGITS]; /* 0..9 each, first and last non-zero */
};

/* Outcomes of parse and arithmetic besides DX_OK. */
enum dx_num_err {
    DX_NUM_OK = 0,
    DX_NUM_E_SYNTAX = 1,    /* not a number DynamoDB accepts */
    DX_NUM_E_PRECISION = 2, /* more than 38 significant digits */
    DX_NUM_E_OVERFLOW = 3,  /* magnitude above 9.99..E+125 */
    DX_NUM_E_UNDERFLOW = 4, /* non-zero magnitude below 1E-130 */
};

/*
 * Parses DynamoDB number text (optional sign, digits, optional fraction, optional exponent;
 * surrounding spaces are not accepted) into out. Returns a dx_num_err.
 */
int dx_num_parse(const char *s, size_t len, struct dx_num *out);
/* DynamoDB's ValidationException message for a dx_num_err from parse or arithmetic. */
const char *dx_num_strerror(int num_err);
/* Writes the canonical text ("1.50" -> "1.5", "-0" -> "0", "1E+2" -> "100") into buf
 * (DX_NUM_STRMAX bytes); returns its length. */
size_t dx_num_format(const struct dx_num *n, char *buf);
/* <0, 0, >0 as a < b numerically. */
int dx_num_cmp(const struct dx_num *a, const struct dx_num *b);
/* Exact sum / difference; a dx_num_err when the result cannot be stored. */
int dx_num_add(const struct dx_num *a, const struct dx_num *b, struct dx_num *out);
int dx_num_sub(const struct dx_num *a, const struct dx_num *b, struct dx_num *out);
/* Bytes the number counts for in DynamoDB's item size (value only, name not included). */
size_t dx_num_size(const struct dx_num *n);
/*
 * Order-preserving, self-delimiting encoding: memcmp order of encodings equals numeric order,
 * and the decoder knows where the encoding ends. Writes at most DX_NUM_KEYMAX bytes to out and
 * returns the length.
 */
size_t dx_num_key_encode(const struct dx_num *n, uint8_t *out);
/* Decodes an encoding at p (at most len bytes); returns the bytes consumed, 0 if malformed. */
size_t dx_num_key_decode(const uint8_t *p, size_t len, struct dx_num *out);

#endif
