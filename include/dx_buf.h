/*
 * A growable byte buffer: response bodies, encoded keys and items, JSON output.
 * Allocation failure aborts (dx_alloc.h). The bytes are always followed by a NUL that is not
 * counted in len, so a buffer holding text can be used as a C string.
 */
#ifndef DX_BUF_H
#define DX_BUF_H

#include <stddef.h>
#include <stdint.h>

struct dx_buf {
    char *p;    /* NULL until the first append */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
};

#define DX_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void dx_buf_init(struct dx_buf *b);
void dx_buf_deinit(struct dx_buf *b); /* frees the memory; the buffer is empty again */
void dx_buf_reset(struct dx_buf *b);  /* len = 0, keeps the memory */
void dx_buf_reserve(struct dx_buf *b, size_t extra);
void dx_buf_append(struct dx_buf *b, const void *data, size_t n);
void dx_buf_puts(struct dx_buf *b, const char *s);
void dx_buf_putc(struct dx_buf *b, char c);
void dx_buf_printf(struct dx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) as a quoted JSON string, escaping as RFC 8259 requires. */
void dx_buf_json_str(struct dx_buf *b, const char *s, size_t n);
/* Appends bytes as standard base64 (with padding). */
void dx_buf_base64(struct dx_buf *b, const void *data, size_t n);
/* Returns the bytes (malloc, NUL-terminated; the caller frees) and leaves b empty. */
char *dx_buf_steal(struct dx_buf *b, size_t *len);

/* Decodes standard base64 (padding required as DynamoDB requires it). Returns DX_OK or
 * DX_EINVAL. out must hold (n / 4) * 3 bytes; *outlen gets the decoded length. */
int dx_base64_decode(const char *s, size_t n, uint8_t *out, size_t *outlen);

#endif
