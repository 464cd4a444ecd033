/*
 * JSON syntax check: an iterative scanner with a bit stack for nesting (object or array per
 * level), so hostile nesting ([[[[... 100k deep) costs no recursion and bounded memory.
 * Strings must be valid UTF-8 without raw control characters; numbers follow the RFC grammar
 * (no leading zeros, no '+', no bare '.').
 */
#include <stdint.h>
#include <string.h>
#include "px_jsonv.h"

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Whether all 8 bytes of x are plain printable ASCII: none is '"', '\\', a control byte or
 * >= 0x80. (Has-zero-byte tests: exact about whether such a byte exists.) */
static int plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t special = ((q - ones) & ~q) | ((b - ones) & ~b) | (x - ones * 0x20) | x;
    return (special & highs) == 0;
}

/* p is just past the opening quote; returns the position after the closing quote or NULL. */
static const char *string(const char *p, const char *e)
{
    while (p < e) {
        /* Most of a request body is plain ASCII inside strings: skip it a word at a time. */
        while (e - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (!plain8(x))
                break;
            p += 8;
        }
        if (p >= e)
            break;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (++p >= e)
                return NULL;
            switch (*p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p++;
                break;
            case 'u':
                if (e - p < 5 || !hex(p[1]) || !hex(p[2]) || !hex(p[3]) || !hex(p[4]))
                    return NULL;
                p += 5;
                break;
            default:
                return NULL;
            }
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        /* UTF-8: reject overlong forms, surrogates and code points past U+10FFFF. */
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF)
            n = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3, cp = c & 0x07;
        else
            return NULL;
        if ((size_t)(e - p) <= n)
            return NULL;
        for (size_t i = 1; i <= n; i++) {
            unsigned char cc = (unsigned char)p[i];
            if ((cc & 0xC0) != 0x80)
                return NULL;
            cp = cp << 6 | (cc & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return NULL;
        p += n + 1;
    }
    return NULL;
}

static const char *number(const char *p, const char *e)
{
    if (p < e && *p == '-')
        p++;
    if (p >= e)
        return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    } else {
        return NULL;
    }
    if (p < e && *p == '.') {
        const char *d = ++p;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return NULL;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        const char *d = p;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return NULL;
    }
    return p;
}

static const char *literal(const char *p, const char *e, const char *lit, size_t n)
{
    return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

int px_json_valid(const char *s, size_t len)
{
    uint8_t stack[PX_JSON_MAX_DEPTH / 8]; /* bit set: 1 = object, 0 = array */
    int depth = 0;
    const char *p = s, *e = s + len;

    p = ws(p, e);
value:
    if (p >= e)
        return 0;
    switch (*p) {
    case '{':
    case '[':
        if (depth >= PX_JSON_MAX_DEPTH)
            return 0;
        if (*p == '{')
            stack[depth / 8] |= (uint8_t)(1u << (depth % 8));
        else
            stack[depth / 8] &= (uint8_t) ~(1u << (depth % 8));
        depth++;
        p = ws(p + 1, e);
        if (p < e && *p == (stack[(depth - 1) / 8] & (1u << ((depth - 1) % 8)) ? '}' : ']')) {
            depth--;
            p++;
            goto after_value;
        }
        if (stack[(depth - 1) / 8] & (1u << ((depth - 1) % 8)))
            goto member;
        goto value;
    case '"':
        p = string(p + 1, e);
        break;
    case 't':
        p = literal(p, e, "true", 4);
        break;
    case 'f':
        p = literal(p, e, "false", 5);
        break;
    case 'n':
        p = literal(p, e, "null", 4);
        break;
    default:
        p = number(p, e);
        break;
    }
    if (!p)
        return 0;
after_value:
    p = ws(p, e);
    if (depth == 0)
        return p == e;
    if (p >= e)
        return 0;
    {
        int obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
        if (*p == ',') {
            p = ws(p + 1, e);
            if (obj)
                goto member;
            goto value;
        }
        if (*p == (obj ? '}' : ']')) {
            depth--;
            p++;
            goto after_value;
        }
        return 0;
    }
member:
    if (p >= e || *p != '"')
        return 0;
    p = string(p + 1, e);
    if (!p)
        return 0;
    p = ws(p, e);
    if (p >= e || *p != ':')
        return 0;
    p = ws(p + 1, e);
    goto value;
}
