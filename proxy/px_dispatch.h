/*
 * The protocol checks DynamoDB applies to every request before any operation runs, applied
 * once, in DynamoDB's order (GET health check, CORS, method and Content-Type, JSON syntax,
 * X-Amz-Target, authentication shape, empty body), with DynamoDB's exact responses. A request
 * that passes becomes a dx_call for the DynamoDB API; every other one gets its answer here.
 * No sockets: px_dispatch_check is a function of the parsed request, testable on its own.
 */
#ifndef PX_DISPATCH_H
#define PX_DISPATCH_H

#include <stddef.h>
#include "dx_buf.h"
#include "dx_op.h"
#include "px_http.h"

struct px_dispatch_opts {
    const char *region; /* for the GET health answer; NULL = "us-east-1" */
    int no_auth;        /* 1: skip the authentication checks (requests need no Authorization) */
};

enum px_verdict_kind {
    PX_VERDICT_REPLY = 1, /* answer with status/body/headers below */
    PX_VERDICT_CALL = 2,  /* hand op and the body to the DynamoDB API */
};

struct px_verdict {
    enum px_verdict_kind kind;
    enum dx_op op;            /* CALL */
    const char *content_type; /* Content-Type of the answer (also for CALL); NULL: none */
    int cors;                 /* the request had an Origin header */
    int status;               /* REPLY */
    struct dx_buf body;       /* REPLY: the body (owned) */
    struct dx_buf extra;      /* REPLY: extra header lines, "\r\n"-terminated (owned) */
};

/* Decides what to do with a complete request (head parsed by px_http_parse_head, body
 * contiguous). out must be zero-initialised or cleared; release it with px_verdict_clear. */
void px_dispatch_check(const struct px_dispatch_opts *opts, const struct px_http_req *req,
                       const char *body, size_t len, struct px_verdict *out);
void px_verdict_clear(struct px_verdict *v);

#endif
