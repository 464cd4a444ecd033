/*
 * DynamoDB errors as data.
 *
 * A request that DynamoDB would reject carries a struct dx_error from the place that found the
 * problem to the one function that writes the error response. The error table (dx_errors.def)
 * gives each error its __type, HTTP status and message member name.
 */
#ifndef DX_ERROR_H
#define DX_ERROR_H

#include <stdarg.h>
#include "dx_buf.h"

enum dx_errcode {
    DX_E_NONE = 0,
#define DX_ERROR(id, type, status, retry, msgkey) DX_E_##id,
#include "dx_errors.def"
#undef DX_ERROR
    DX_E__COUNT
};

/*
 * One request error. `msg` is owned (malloc) and may be NULL for errors DynamoDB sends without
 * a message. `extra` holds further JSON members to append to the error body, already encoded
 * and starting with a comma (`,"Item":{...}`), or is empty. Zero-initialise, then dx_error_set;
 * dx_error_clear releases the memory.
 */
struct dx_error {
    enum dx_errcode code;
    char *msg;
    struct dx_buf extra;
};

/* Records an error (replacing any earlier one) and returns DX_EREQ, so that deep code can
 * `return dx_error_set(err, DX_E_VALIDATION, "...")`. fmt may be NULL: no message. */
int dx_error_set(struct dx_error *err, enum dx_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int dx_error_vset(struct dx_error *err, enum dx_errcode code, const char *fmt, va_list ap);
void dx_error_clear(struct dx_error *err);

const char *
dx_error_type(enum dx_errcode code); /* "com.amazon.coral.validate#ValidationException" */
const char *dx_error_name(enum dx_errcode code); /* "ValidationException" (after the '#') */
int dx_error_http_status(enum dx_errcode code);
int dx_error_retryable(enum dx_errcode code);

/* Appends the complete JSON error body for err to out. */
void dx_error_write_json(const struct dx_error *err, struct dx_buf *out);

#endif
