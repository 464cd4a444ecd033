/*
 * Growable byte buffer and the two encodings every response needs: JSON string escaping and
 * base64. Buffers grow geometrically and keep a NUL after the data so text can be handed to
 * C string functions without a copy.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "dx_alloc.h"
#include "dx_buf.h"
#include "dx_status.h"

void dx_buf_init(struct dx_buf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void dx_buf_deinit(struct dx_buf *b)
{
    dx_free(b->p);
    dx_buf_init(b);
}

void dx_buf_reset(struct dx_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void dx_buf_reserve(struct dx_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1; /* + NUL */
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->p = dx_realloc(b->p, cap);
    b->cap = cap;
}

void dx_buf_append(struct dx_buf *b, const void *data, size_t n)
{
    dx_buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void dx_buf_puts(struct dx_buf *b, const char *s)
{
    dx_buf_append(b, s, strlen(s));
}

void dx_buf_putc(struct dx_buf *b, char c)
{
    dx_buf_reserve(b, 1);
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void dx_buf_printf(struct dx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        dx_buf_append(b, small, (size_t)n);
        return;
    }
    dx_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void dx_buf_json_str(struct dx_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    dx_buf_reserve(b, n + 2);
    dx_buf_putc(b, '"');
    size_t run = 0; /* start of the current run of bytes that need no escape */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        dx_buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            dx_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            dx_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            dx_buf_append(b, "\\n", 2);
            break;
        case '\r':
            dx_buf_append(b, "\\r", 2);
            break;
        case '\t':
            dx_buf_append(b, "\\t", 2);
            break;
        case '\b':
            dx_buf_append(b, "\\b", 2);
            break;
        case '\f':
            dx_buf_append(b, "\\f", 2);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            dx_buf_append(b, u, 6);
        }
        }
    }
    dx_buf_append(b, s + run, n - run);
    dx_buf_putc(b, '"');
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void dx_buf_base64(struct dx_buf *b, const void *data, size_t n)
{
    const unsigned char *p = data;
    dx_buf_reserve(b, (n + 2) / 3 * 4);
    char *o = b->p + b->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int dx_base64_decode(const char *s, size_t n, uint8_t *out, size_t *outlen)
{
    if (n % 4 != 0)
        return DX_EINVAL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad) /* data after padding */
                return DX_EINVAL;
            v[k] = b64val(c);
            if (v[k] < 0)
                return DX_EINVAL;
        }
        unsigned x = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | v[3];
        out[o++] = (uint8_t)(x >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(x >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)x;
    }
    *outlen = o;
    return DX_OK;
}

char *dx_buf_steal(struct dx_buf *b, size_t *len)
{
    if (!b->p) {
        dx_buf_reserve(b, 0);
        b->p[0] = '\0';
    }
    char *p = b->p;
    if (len)
        *len = b->len;
    dx_buf_init(b);
    return p;
}
