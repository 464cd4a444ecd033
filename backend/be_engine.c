/*
 * The engine: opening and closing it, and the life of one request.
 *
 * be_api's call parses the body once, finds the operation's handler (be_handlers.def) and runs
 * it on the caller's thread. Reads and rejected requests finish there; a write is queued for
 * the writer thread, which applies it, commits it with its group, and finishes the request.
 * Finishing builds the reply, hands it to the caller's callback and frees the request, so a
 * request owns everything hanging off it and one function releases it.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "backend.h"
#include "be_backfill.h"
#include "be_capacity.h"
#include "be_catalog.h"
#include "be_engine.h"
#include "be_store.h"
#include "be_ttl.h"
#include "dx_alloc.h"
#include "dx_json.h"
#include "dx_log.h"
#include "dx_status.h"

static const be_handler_fn handlers[DX_OP__COUNT] = {
#define BE_HANDLER(name) [DX_OP_##name] = be_op_##name,
#include "be_handlers.def"
#undef BE_HANDLER
};

static void req_free(struct be_req *r)
{
    cJSON_Delete(r->json);
    dx_arena_deinit(&r->arena);
    dx_error_clear(&r->err);
    dx_buf_deinit(&r->out);
    dx_free(r);
}

/* Turns a handler's (or apply's) status into the reply, answers, and frees r. */
static void req_finish(struct be_req *r, int status)
{
    struct dx_reply *reply;
    be_capacity_charge(r);
    if (status == DX_OK) {
        if (r->out.len == 0)
            dx_buf_puts(&r->out, "{}");
        size_t len;
        char *body = dx_buf_steal(&r->out, &len);
        reply = dx_reply_new(200, body, len);
    } else if (status == DX_EREQ && r->err.code != DX_E_NONE) {
        reply = dx_reply_error(&r->err);
    } else {
        dx_error_log("%s failed: %s", dx_op_name(r->op), dx_strstatus(status));
        dx_error_set(&r->err, DX_E_INTERNAL_SERVER_ERROR, "Internal server error");
        reply = dx_reply_error(&r->err);
    }
    dx_api_done_cb done = r->done;
    void *arg = r->done_arg;
    req_free(r);
    done(reply, arg);
}

static int job_apply(struct be_wjob *job, MDB_txn *txn)
{
    struct be_req *r = (struct be_req *)((char *)job - offsetof(struct be_req, job));
    return r->apply(r, txn);
}

static void job_complete(struct be_wjob *job, int status)
{
    struct be_req *r = (struct be_req *)((char *)job - offsetof(struct be_req, job));
    if (r->after_commit)
        r->after_commit(r, status);
    req_finish(r, status);
}

int be_req_submit(struct be_req *r)
{
    r->job.apply = job_apply;
    r->job.complete = job_complete;
    r->job.next = NULL;
    if (be_writer_submit(r->be->writer, &r->job) != DX_OK)
        return dx_error_set(&r->err, DX_E_SERVICE_UNAVAILABLE, "The server is shutting down");
    return DX_PENDING;
}

static void engine_call(void *self, const struct dx_call *call, dx_api_done_cb done, void *arg)
{
    struct backend *be = self;
    struct be_req *r = dx_calloc(1, sizeof(*r));
    r->be = be;
    r->op = call->op;
    r->done = done;
    r->done_arg = arg;
    dx_arena_init(&r->arena);

    r->json = cJSON_ParseWithLength(call->body, call->len);
    if (!r->json || !cJSON_IsObject(r->json)) {
        /* DynamoDB answers an unparsable body with a bare SerializationException. */
        dx_error_set(&r->err, DX_E_SERIALIZATION, NULL);
        req_finish(r, DX_EREQ);
        return;
    }
    be_handler_fn h = (unsigned)call->op < DX_OP__COUNT ? handlers[call->op] : NULL;
    if (!h) {
        dx_error_set(&r->err, DX_E_UNKNOWN_OPERATION, "ddax does not implement %s yet",
                     dx_op_name(call->op));
        req_finish(r, DX_EREQ);
        return;
    }
    int status = be_capacity_admit(r);
    if (status == DX_OK)
        status = h(r);
    if (status != DX_PENDING)
        req_finish(r, status);
}

static const struct dx_api_vtbl engine_vtbl = {.call = engine_call};

struct dx_api be_api(struct backend *be)
{
    struct dx_api api = {&engine_vtbl, be};
    return api;
}

int be_open(const struct be_options *opts, struct backend **out)
{
    struct backend *be = dx_calloc(1, sizeof(*be));
    be->region = dx_strdup(opts->region ? opts->region : "us-east-1");
    be->account = dx_strdup(opts->account ? opts->account : "000000000000");
    be->opts = *opts;
    be->opts.data_dir = be->opts.region = be->opts.account = NULL;
    int rc = be_store_open(opts, &be->store);
    if (rc != DX_OK) {
        dx_error_log("cannot open the data directory %s: %s", opts->data_dir, dx_strstatus(rc));
        goto fail;
    }
    rc = be_catalog_open(be->store, &be->catalog);
    if (rc != DX_OK) {
        dx_error_log("cannot load the table catalog: %s", dx_strstatus(rc));
        goto fail;
    }
    rc = be_writer_start(be->store, &be->writer);
    if (rc != DX_OK) {
        dx_error_log("cannot start the writer thread: %s", dx_strstatus(rc));
        goto fail;
    }
    rc = be_capacity_new(be, &be->cap);
    if (rc != DX_OK) {
        dx_error_log("cannot set up capacity accounting: %s", dx_strstatus(rc));
        goto fail;
    }
    be_backfill_resume(be); /* indexes whose backfill a shutdown interrupted */
    rc = be_ttl_start(be, &be->ttl);
    if (rc != DX_OK) {
        dx_error_log("cannot start the TTL sweeper: %s", dx_strstatus(rc));
        goto fail;
    }
    *out = be;
    return DX_OK;
fail:
    be_close(be);
    return rc;
}

void be_close(struct backend *be)
{
    if (!be)
        return;
    if (be->ttl)
        be_ttl_stop(be->ttl); /* before the writer: the sweeper submits writer jobs */
    if (be->writer)
        be_writer_stop(be->writer); /* finishes queued writes first */
    if (be->catalog)
        be_catalog_free(be->catalog);
    if (be->store)
        be_store_close(be->store);
    be_capacity_free(be->cap);
    dx_free(be->region);
    dx_free(be->account);
    dx_free(be);
}

void be_req_usage(struct be_req *r, const char *table, const char *index, double read_units,
                  double write_units)
{
    struct be_usage *u = dx_arena_calloc(&r->arena, sizeof(*u));
    u->table = dx_arena_memdup(&r->arena, table, strlen(table) + 1);
    u->index = index ? dx_arena_memdup(&r->arena, index, strlen(index) + 1) : NULL;
    u->read = read_units;
    u->write = write_units;
    u->next = r->usage;
    r->usage = u;
}

int be_read_begin(struct backend *be, MDB_txn **txn)
{
    /* Through the store, which counts readers so the writer can grow the map safely. */
    return be_store_read_begin(be->store, txn);
}

void be_read_end(MDB_txn *txn)
{
    if (txn)
        be_store_read_end(txn);
}

/* "TableName" -> "tableName": DynamoDB names members this way in validation messages. */
static void lower_first(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s", name);
    if (dst[0] >= 'A' && dst[0] <= 'Z')
        dst[0] = (char)(dst[0] + 32);
}

static int param(struct be_req *r, const char *name, int required, enum dx_jtype t,
                 const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, name);
    if (v && cJSON_IsNull(v))
        v = NULL;
    int rc = dx_json_check(v, t, &r->err);
    if (rc != DX_OK)
        return rc;
    if (!v && required) {
        char member[128];
        lower_first(member, sizeof(member), name);
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "1 validation error detected: Value null at '%s' failed to satisfy "
                            "constraint: Member must not be null",
                            member);
    }
    *out = v;
    return DX_OK;
}

int be_param_str(struct be_req *r, const char *name, int required, const char **out)
{
    const cJSON *v = NULL;
    int rc = param(r, name, required, DX_JT_STRING, &v);
    if (rc == DX_OK)
        *out = v ? v->valuestring : NULL;
    return rc;
}

int be_param_obj(struct be_req *r, const char *name, int required, const cJSON **out)
{
    return param(r, name, required, DX_JT_STRUCT, out);
}

int be_param_arr(struct be_req *r, const char *name, int required, const cJSON **out)
{
    return param(r, name, required, DX_JT_LIST, out);
}

int be_param_bool(struct be_req *r, const char *name, int *present, int *out)
{
    const cJSON *v = NULL;
    int rc = param(r, name, 0, DX_JT_BOOL, &v);
    if (rc != DX_OK)
        return rc;
    *present = v != NULL;
    *out = v ? (cJSON_IsBool(v) ? cJSON_IsTrue(v) : v->valuedouble != 0) : 0;
    return DX_OK;
}

int be_param_int(struct be_req *r, const char *name, int *present, long long *out)
{
    const cJSON *v = NULL;
    int rc = param(r, name, 0, DX_JT_INT, &v);
    if (rc != DX_OK)
        return rc;
    *present = v != NULL;
    *out = v ? (long long)v->valuedouble : 0;
    return DX_OK;
}
