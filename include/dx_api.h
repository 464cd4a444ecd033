/*
 * The one "DynamoDB API" interface.
 *
 * "Execute DynamoDB operation X with this JSON request body, call me back with the response."
 * The embedded engine (backend/) and the remote upstream client (proxy/) implement it; the
 * cache layer (cache/) wraps one implementation in another; the HTTP front (proxy/) only
 * knows this interface. That is what makes `serve`, `proxy` and `backend` one program.
 */
#ifndef DX_API_H
#define DX_API_H

#include <stddef.h>
#include "dx_op.h"
#include "dx_error.h"

/* A response: HTTP status and JSON body (a result, or a DynamoDB error body). */
struct dx_reply {
    int status;
    char *body; /* owned by the reply (malloc) */
    size_t len;
};

/* Takes ownership of body (malloc'd). The reply is freed with dx_reply_free. */
struct dx_reply *dx_reply_new(int status, char *body, size_t len);
/* An error reply for err (status and body from the error table). */
struct dx_reply *dx_reply_error(const struct dx_error *err);
/* Shorthand: an error reply from a code and a printf message. */
struct dx_reply *dx_reply_errorf(enum dx_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void dx_reply_free(struct dx_reply *r);

/* One call. Everything here is borrowed by the implementation until it calls done. */
struct dx_call {
    enum dx_op op;
    const char *body; /* the request's JSON text */
    size_t len;
    /* Optional (NULL/0 when absent): the client's raw request head, request line through the
     * blank line. The upstream client of `ddax proxy` forwards the client's headers from it
     * (Authorization, X-Amz-Date, X-Amz-Security-Token, Host, ...) so the upstream verifies the
     * client's own signature. Calls that the cache builds itself carry none. */
    const char *head;
    size_t head_len;
};

/*
 * Completion. Ownership of reply passes to the callback. An implementation may call done
 * before its call function returns (a cache hit, a validation error, a read in the engine) or
 * later from ANOTHER thread (a write committed by the engine's writer thread): the caller must
 * accept both, and hop back to its own thread when it needs to.
 */
typedef void (*dx_api_done_cb)(struct dx_reply *reply, void *arg);

struct dx_api_vtbl {
    void (*call)(void *self, const struct dx_call *call, dx_api_done_cb done, void *arg);
};

struct dx_api {
    const struct dx_api_vtbl *vt;
    void *self;
};

static inline void dx_api_call(const struct dx_api *api, const struct dx_call *call,
                               dx_api_done_cb done, void *arg)
{
    api->vt->call(api->self, call, done, arg);
}

#endif
