/*
 * DynamoDB errors as data: the error table (dx_errors.def) and the one function that turns a
 * struct dx_error into the JSON body clients parse ({"__type": ..., "message": ...}).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dx_alloc.h"
#include "dx_error.h"
#include "dx_status.h"

struct errdef {
    const char *type;
    int status;
    int retryable;
    const char *msgkey;
};

static const struct errdef errors[DX_E__COUNT] = {
    [DX_E_NONE] = {"com.amazonaws.dynamodb.v20120810#InternalServerError", 500, 1, "message"},
#define DX_ERROR(id, type, status, retry, msgkey) [DX_E_##id] = {type, status, retry, msgkey},
#include "dx_errors.def"
#undef DX_ERROR
};

static const struct errdef *def(enum dx_errcode code)
{
    if ((unsigned)code >= DX_E__COUNT)
        code = DX_E_NONE;
    return &errors[code];
}

int dx_error_vset(struct dx_error *err, enum dx_errcode code, const char *fmt, va_list ap)
{
    dx_free(err->msg);
    err->msg = NULL;
    dx_buf_reset(&err->extra);
    err->code = code;
    if (fmt) {
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
            abort(); /* out of memory, as dx_malloc would */
        err->msg = msg;
    }
    return DX_EREQ;
}

int dx_error_set(struct dx_error *err, enum dx_errcode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dx_error_vset(err, code, fmt, ap);
    va_end(ap);
    return rc;
}

void dx_error_clear(struct dx_error *err)
{
    dx_free(err->msg);
    err->msg = NULL;
    dx_buf_deinit(&err->extra);
    err->code = DX_E_NONE;
}

const char *dx_error_type(enum dx_errcode code)
{
    return def(code)->type;
}

const char *dx_error_name(enum dx_errcode code)
{
    const char *t = def(code)->type;
    const char *hash = strchr(t, '#');
    return hash ? hash + 1 : t;
}

int dx_error_http_status(enum dx_errcode code)
{
    return def(code)->status;
}

int dx_error_retryable(enum dx_errcode code)
{
    return def(code)->retryable;
}

void dx_error_write_json(const struct dx_error *err, struct dx_buf *out)
{
    const struct errdef *d = def(err->code);
    dx_buf_puts(out, "{\"__type\":");
    dx_buf_json_str(out, d->type, strlen(d->type));
    if (err->msg) {
        dx_buf_printf(out, ",\"%s\":", d->msgkey);
        dx_buf_json_str(out, err->msg, strlen(err->msg));
    }
    if (err->extra.len)
        dx_buf_append(out, err->extra.p, err->extra.len);
    dx_buf_putc(out, '}');
}
