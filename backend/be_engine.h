/*
 * The engine's request lifecycle and handler contract (backend-private).
 *
 * be_api's call parses the JSON body once and hands a struct be_req to the operation's
 * handler (be_handlers.def). A handler validates on the caller's thread and either finishes
 * at once (reads, and every rejected request) or submits r->job to the single writer thread,
 * which applies it inside a write transaction and completes the request after the commit.
 */
#ifndef BE_ENGINE_H
#define BE_ENGINE_H

#include <lmdb.h>
#include "dx_arena.h"
#include "dx_buf.h"
#include "dx_error.h"
#include "dx_api.h"
#include "be_writer.h"
#include "backend.h"

struct cJSON;
struct be_store;
struct be_catalog;
struct be_capacity;
struct be_ttl;

struct backend {
    struct be_store *store;
    struct be_writer *writer;
    struct be_catalog *catalog;
    struct be_capacity *cap; /* token buckets and consumed-capacity counters (be_capacity.h) */
    struct be_ttl *ttl;      /* the TTL sweeper (be_ttl.h) */
    char *region;
    char *account;
    struct be_options opts; /* a copy of be_open's; its string members are not kept */
};

/* Capacity a request consumed on one table or index, for throttling and metrics. */
struct be_usage {
    const char *table;  /* in the request's arena */
    const char *index;  /* NULL: the table itself */
    double read, write; /* capacity units */
    struct be_usage *next;
};

/* One request inside the engine. Owns everything hanging off it; freed by be_req_finish. */
struct be_req {
    struct backend *be;
    enum dx_op op;
    struct cJSON *json;    /* the parsed request body, always a JSON object */
    struct dx_arena arena; /* trees and scratch of this request */
    struct dx_error err;   /* the DynamoDB error when the handler rejects the request */
    struct dx_buf out;     /* the response body (a JSON object) on success */
    void *state;           /* handler state between validation and apply (in the arena) */
    /* For writes: set apply (and optionally after_commit), then return be_req_submit(r). */
    int (*apply)(struct be_req *r, MDB_txn *txn);
    void (*after_commit)(struct be_req *r, int status);
    struct be_wjob job; /* the engine's link to the writer */
    dx_api_done_cb done;
    void *done_arg;
    struct be_usage *usage; /* recorded by be_req_usage; charged when the request finishes */
};

/* Records that r consumed read/write units on table (index NULL) or on one of its indexes.
 * Handlers call it with the units they report in ConsumedCapacity (computed whether or not
 * the client asked for them), on whatever thread they run; the request's charge is made
 * once, when it finishes (be_capacity_charge). Strings are copied into r's arena. */
void be_req_usage(struct be_req *r, const char *table, const char *index, double read_units,
                  double write_units);

/*
 * Handler contract. Return
 *   DX_OK      r->out holds the response body;
 *   DX_EREQ    r->err holds the DynamoDB error;
 *   DX_PENDING the handler called be_req_submit: the writer finishes the request.
 * Any other status becomes an InternalServerError (and is logged).
 */
typedef int (*be_handler_fn)(struct be_req *r);

#define BE_HANDLER(name) int be_op_##name(struct be_req *r);
#include "be_handlers.def"
#undef BE_HANDLER

/*
 * Queues r for the writer. r->apply runs on the writer thread in a write transaction; its
 * status decides as for a handler (DX_OK: r->out is the response, DX_EREQ: r->err; the changes
 * of an apply that did not return DX_OK are rolled back alone). r->after_commit may be NULL;
 * when set it runs on the writer thread after the group committed (status = apply's) or failed
 * (DX_ESTORE), before the client is answered, e.g. to publish a catalog change.
 * Returns DX_PENDING (to be returned by the handler).
 */
int be_req_submit(struct be_req *r);

/* Read transaction for a handler on the caller's thread: begin, then end (always). */
int be_read_begin(struct backend *be, MDB_txn **txn);
void be_read_end(MDB_txn *txn);

/* Request parameter helpers. Each returns DX_OK (with *out NULL when the member is absent and
 * not required) or DX_EREQ with DynamoDB's error: a SerializationException for a JSON value of
 * the wrong type, a ValidationException for a missing required member. */
int be_param_str(struct be_req *r, const char *name, int required, const char **out);
int be_param_obj(struct be_req *r, const char *name, int required, const struct cJSON **out);
int be_param_arr(struct be_req *r, const char *name, int required, const struct cJSON **out);
int be_param_bool(struct be_req *r, const char *name, int *present, int *out);
int be_param_int(struct be_req *r, const char *name, int *present, long long *out);

#endif
