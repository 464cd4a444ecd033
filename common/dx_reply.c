/* Replies of the DynamoDB API interface (dx_api.h): a status and an owned JSON body. */
#include <stdarg.h>
#include "dx_alloc.h"
#include "dx_api.h"

struct dx_reply *dx_reply_new(int status, char *body, size_t len)
{
    struct dx_reply *r = dx_malloc(sizeof(*r));
    r->status = status;
    r->body = body;
    r->len = len;
    return r;
}

struct dx_reply *dx_reply_error(const struct dx_error *err)
{
    struct dx_buf b = DX_BUF_INIT;
    dx_error_write_json(err, &b);
    size_t len;
    char *body = dx_buf_steal(&b, &len);
    return dx_reply_new(dx_error_http_status(err->code), body, len);
}

struct dx_reply *dx_reply_errorf(enum dx_errcode code, const char *fmt, ...)
{
    struct dx_error err = {0};
    va_list ap;
    va_start(ap, fmt);
    dx_error_vset(&err, code, fmt, ap);
    va_end(ap);
    struct dx_reply *r = dx_reply_error(&err);
    dx_error_clear(&err);
    return r;
}

void dx_reply_free(struct dx_reply *r)
{
    if (!r)
        return;
    dx_free(r->body);
    dx_free(r);
}
