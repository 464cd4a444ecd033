/*
 * BatchWriteItem: up to 25 puts and deletes over several tables, all or nothing at the
 * validation stage.
 *
 * Everything is validated on the caller's thread before anything is written, in DynamoDB's
 * order: JSON types (SerializationException), the generic constraint list (enums,
 * RequestItems, table names, 1..25 requests per table, PutRequest.Item / DeleteRequest.Key
 * not null), then the 25-request total, each request's attribute values and item size, then
 * per table its existence, each item's or key's schema, and duplicate keys. One writer job
 * then applies every put and delete in the write transaction, each unconditionally; it
 * re-checks every table first (a DeleteTable queued earlier fails the whole batch, writing
 * nothing). A table out of write capacity (be_capacity_table_out: the batch was let through
 * because another of its tables had capacity) is not written: its requests come back in
 * UnprocessedItems, as DynamoDB returns throttled ones; nothing else is ever left over.
 */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "be_batch.h"
#include "be_capacity.h"
#include "be_catalog.h"
#include "be_item_ops.h"
#include "be_mutation.h"
#include "be_store.h"
#include "dx_json.h"
#include "dx_status.h"

#define MAX_WRITES 25

struct write_req {
    int put;
    struct dx_av *av; /* the Item (put) or the Key (delete) */
    const void *skey;
    size_t skeylen;
    uint64_t csize; /* its item collection's size after the batch (LSI tables) */
};

struct write_table {
    const char *name; /* as the request names it */
    const cJSON *list;
    struct be_table *t;
    struct write_req *reqs;
    size_t n;
    struct be_wcap cap; /* summed over the table's writes (apply) */
    int throttled;      /* out of write capacity: left unprocessed */
};

struct write_op {
    struct write_table *wt;
    size_t nt;
    int cap_level;
    int metrics;
};

static int write_types(struct be_req *r)
{
    const char *s;
    int rc = be_param_str(r, "ReturnConsumedCapacity", 0, &s);
    if (rc == DX_OK)
        rc = be_param_str(r, "ReturnItemCollectionMetrics", 0, &s);
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(r->json, "RequestItems");
    if (rc == DX_OK)
        rc = dx_json_check(ri, DX_JT_MAP, &r->err);
    for (const cJSON *t = ri ? ri->child : NULL; t && rc == DX_OK; t = t->next) {
        rc = dx_json_check(t, DX_JT_LIST, &r->err);
        for (const cJSON *w = cJSON_IsArray(t) ? t->child : NULL; w && rc == DX_OK; w = w->next) {
            rc = dx_json_check(w, DX_JT_STRUCT, &r->err);
            if (rc != DX_OK || !cJSON_IsObject(w))
                break;
            const cJSON *del = cJSON_GetObjectItemCaseSensitive(w, "DeleteRequest");
            const cJSON *put = cJSON_GetObjectItemCaseSensitive(w, "PutRequest");
            rc = dx_json_check(del, DX_JT_STRUCT, &r->err);
            if (rc == DX_OK && cJSON_IsObject(del))
                rc =
                    dx_json_check(cJSON_GetObjectItemCaseSensitive(del, "Key"), DX_JT_MAP, &r->err);
            if (rc == DX_OK)
                rc = dx_json_check(put, DX_JT_STRUCT, &r->err);
            if (rc == DX_OK && cJSON_IsObject(put))
                rc = dx_json_check(cJSON_GetObjectItemCaseSensitive(put, "Item"), DX_JT_MAP,
                                   &r->err);
        }
    }
    return rc;
}

static int present(const cJSON *j)
{
    return j && !cJSON_IsNull(j);
}

static int write_constraints(struct be_req *r)
{
    struct be_batch_verrs v = {0, DX_BUF_INIT};
    be__batch_enum(r, &v, "ReturnConsumedCapacity", be__enum_return_capacity);
    be__batch_enum(r, &v, "ReturnItemCollectionMetrics", be__enum_return_metrics);
    const cJSON *ri = be__batch_request_items(r, &v);
    for (const cJSON *t = ri ? ri->child : NULL; t; t = t->next) {
        int n = cJSON_GetArraySize(t);
        if (!cJSON_IsArray(t) || n < 1 || n > MAX_WRITES) {
            be__batch_verr(&v, be__batch_jvalue(r, ri), "requestItems",
                           "Map value must satisfy constraint: [Member must have length less "
                           "than or equal to 25, Member must have length greater than or equal "
                           "to 1]");
            break;
        }
    }
    for (const cJSON *t = ri ? ri->child : NULL; t; t = t->next) {
        int i = 1;
        for (const cJSON *w = cJSON_IsArray(t) ? t->child : NULL; w; w = w->next, i++) {
            char path[384];
            const cJSON *del = cJSON_GetObjectItemCaseSensitive(w, "DeleteRequest");
            const cJSON *put = cJSON_GetObjectItemCaseSensitive(w, "PutRequest");
            if (present(del) && !present(cJSON_GetObjectItemCaseSensitive(del, "Key"))) {
                snprintf(path, sizeof path, "requestItems.%s.member.%d.member.deleteRequest.key",
                         t->string, i);
                be__batch_verr(&v, NULL, path, "Member must not be null");
            }
            if (present(put) && !present(cJSON_GetObjectItemCaseSensitive(put, "Item"))) {
                snprintf(path, sizeof path, "requestItems.%s.member.%d.member.putRequest.item",
                         t->string, i);
                be__batch_verr(&v, NULL, path, "Member must not be null");
            }
        }
    }
    return be__batch_verr_finish(&v, &r->err);
}

/* The total, then per request: one kind of request, its attribute values, the item size. */
static int write_custom(struct be_req *r, struct write_table *wt, size_t nt)
{
    size_t total = 0;
    for (size_t i = 0; i < nt; i++)
        total += wt[i].n;
    if (total > MAX_WRITES)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Too many items requested for the BatchWriteItem call");
    for (size_t i = 0; i < nt; i++) {
        struct write_table *w = &wt[i];
        size_t k = 0;
        for (const cJSON *j = w->list->child; j; j = j->next, k++) {
            const cJSON *del = cJSON_GetObjectItemCaseSensitive(j, "DeleteRequest");
            const cJSON *put = cJSON_GetObjectItemCaseSensitive(j, "PutRequest");
            /* DynamoDB words a request that is neither (or both) like a bad AttributeValue. */
            if (present(del) == present(put))
                return dx_error_set(&r->err, DX_E_VALIDATION,
                                    "Supplied AttributeValue has more than one datatypes set, "
                                    "must contain exactly one of the supported datatypes");
            struct write_req *q = &w->reqs[k];
            q->put = present(put);
            const cJSON *m = q->put ? cJSON_GetObjectItemCaseSensitive(put, "Item")
                                    : cJSON_GetObjectItemCaseSensitive(del, "Key");
            int rc = dx_av_map_from_json(&r->arena, m, &q->av, &r->err);
            if (rc != DX_OK)
                return rc;
            if (q->put && dx_av_item_size(q->av) > BE_ITEM_MAX_SIZE)
                return dx_error_set(&r->err, DX_E_VALIDATION,
                                    "Item size has exceeded the maximum allowed size");
        }
    }
    return DX_OK;
}

/* A put's item against the table's key schema. A batch reports a missing or mistyped key
 * attribute as a schema mismatch, unlike PutItem. */
static int put_key(struct be_req *r, const struct be_table *t, const struct dx_av *item,
                   struct dx_buf *kb)
{
    int rc = be_key_from_item(t, item, kb, &r->err);
    if (rc == DX_EREQ && r->err.msg &&
        (strstr(r->err.msg, "Missing the key") || strstr(r->err.msg, "Type mismatch for key")))
        return dx_error_set(&r->err, DX_E_VALIDATION, "%s", BE_BATCH_MISMATCH);
    if (rc == DX_OK)
        rc = be__check_index_keys(t, item, 0, &r->err);
    return rc;
}

/* Per table: its existence, then each request's key, then duplicates among them. */
static int write_keys(struct be_req *r, struct write_table *wt, size_t nt)
{
    struct dx_buf kb = DX_BUF_INIT;
    int rc = DX_OK;
    for (size_t i = 0; i < nt && rc == DX_OK; i++) {
        struct write_table *w = &wt[i];
        if (!w->t) {
            rc = dx_error_set(&r->err, DX_E_RESOURCE_NOT_FOUND, "Requested resource not found");
            break;
        }
        for (size_t k = 0; k < w->n && rc == DX_OK; k++) {
            struct write_req *q = &w->reqs[k];
            dx_buf_reset(&kb);
            rc = q->put ? put_key(r, w->t, q->av, &kb) : be_key_from_key(w->t, q->av, &kb, &r->err);
            if (rc != DX_OK)
                break;
            q->skey = dx_arena_memdup(&r->arena, kb.p, kb.len);
            q->skeylen = kb.len;
            for (size_t j = 0; j < k; j++) {
                if (w->reqs[j].skeylen == q->skeylen &&
                    memcmp(w->reqs[j].skey, q->skey, q->skeylen) == 0) {
                    rc = dx_error_set(&r->err, DX_E_VALIDATION,
                                      "Provided list of item keys contains duplicates");
                    break;
                }
            }
        }
    }
    dx_buf_deinit(&kb);
    return rc;
}

static void release(struct write_op *op)
{
    for (size_t i = 0; i < op->nt; i++) {
        if (op->wt[i].t)
            be_table_unref(op->wt[i].t);
        op->wt[i].t = NULL;
    }
}

static void write_unref(struct be_req *r, int status)
{
    (void)status;
    if (r->state)
        release(r->state);
}

static void write_response(struct be_req *r, struct write_op *op)
{
    struct dx_buf *o = &r->out;
    struct dx_buf frag = DX_BUF_INIT;
    dx_buf_reset(o);
    dx_buf_puts(o, "{\"UnprocessedItems\":{");
    int n_left = 0;
    for (size_t i = 0; i < op->nt; i++) {
        if (!op->wt[i].throttled)
            continue;
        char *list = cJSON_PrintUnformatted(op->wt[i].list);
        dx_buf_puts(o, n_left++ ? "," : "");
        dx_buf_json_str(o, op->wt[i].name, strlen(op->wt[i].name));
        dx_buf_putc(o, ':');
        dx_buf_puts(o, list);
        cJSON_free(list);
    }
    dx_buf_putc(o, '}');
    if (op->cap_level) {
        dx_buf_puts(o, ",\"ConsumedCapacity\":[");
        for (size_t i = 0; i < op->nt; i++) {
            dx_buf_reset(&frag);
            be__write_write_capacity(&frag, op->wt[i].name, &op->wt[i].cap, op->cap_level);
            dx_buf_puts(o, i ? "," : "");
            be__batch_put_member_value(o, &frag);
        }
        dx_buf_putc(o, ']');
    }
    int any = 0;
    for (size_t i = 0; i < op->nt && op->metrics; i++) {
        const struct write_table *w = &op->wt[i];
        if (w->t->n_lsi == 0 || w->throttled)
            continue;
        dx_buf_puts(o, any ? "," : ",\"ItemCollectionMetrics\":{");
        any = 1;
        dx_buf_json_str(o, w->name, strlen(w->name));
        dx_buf_puts(o, ":[");
        for (size_t k = 0; k < w->n; k++) {
            dx_buf_reset(&frag);
            be__write_collection_metrics_size(&frag, w->t, w->reqs[k].av, w->reqs[k].csize);
            dx_buf_puts(o, k ? "," : "");
            be__batch_put_member_value(o, &frag);
        }
        dx_buf_putc(o, ']');
    }
    if (any)
        dx_buf_putc(o, '}');
    dx_buf_putc(o, '}');
    dx_buf_deinit(&frag);
}

static int write_apply(struct be_req *r, MDB_txn *txn)
{
    struct write_op *op = r->state;
    /* Write with each table's current snapshot, not the one validated on the worker: an index
     * created since then is being backfilled and must see these writes. */
    struct be_table **cur = dx_arena_calloc(&r->arena, op->nt * sizeof(*cur));
    int rc = DX_OK;
    for (size_t i = 0; i < op->nt && rc == DX_OK; i++)
        rc = be__batch_table_recheck(r, txn, op->wt[i].t, &cur[i]);
    for (size_t i = 0; i < op->nt && rc == DX_OK; i++) {
        struct write_table *w = &op->wt[i];
        memset(&w->cap, 0, sizeof(w->cap));
        for (size_t k = 0; k < w->n && rc == DX_OK && !w->throttled; k++) {
            struct write_req *q = &w->reqs[k];
            struct dx_av *old = NULL;
            rc = be_item_get(r->be->store, txn, q->skey, q->skeylen, &r->arena, &old);
            if (rc == DX_ENOTFOUND) {
                old = NULL;
                rc = DX_OK;
            }
            if (rc == DX_OK && q->put)
                rc = be_mutation_apply_checked(r->be->store, txn, cur[i], q->skey, q->skeylen,
                                               q->av, &r->err);
            else if (rc == DX_OK && old)
                rc = be_mutation_apply(r->be->store, txn, cur[i], q->skey, q->skeylen, NULL);
            if (rc == DX_OK) {
                struct be_wcap c;
                be__wcap_compute(&r->arena, cur[i], old, q->put ? q->av : NULL, &c);
                be__wcap_add(&w->cap, &c, 1);
            }
        }
    }
    /* Sizes after the whole batch, as DynamoDB reports them. */
    for (size_t i = 0; i < op->nt && rc == DX_OK && op->metrics; i++)
        for (size_t k = 0;
             k < op->wt[i].n && rc == DX_OK && cur[i]->n_lsi > 0 && !op->wt[i].throttled; k++)
            rc = be_collection_size(r->be->store, txn, cur[i], op->wt[i].reqs[k].av,
                                    &op->wt[i].reqs[k].csize);
    for (size_t i = 0; i < op->nt; i++)
        if (cur[i])
            be_table_unref(cur[i]);
    if (rc != DX_OK)
        return rc;
    /* Recorded whether or not the client asked for them. */
    for (size_t i = 0; i < op->nt; i++)
        be__wcap_usage(r, op->wt[i].t, &op->wt[i].cap);
    write_response(r, op);
    return DX_OK;
}

int be_op_BatchWriteItem(struct be_req *r)
{
    int rc = write_types(r);
    if (rc == DX_OK)
        rc = write_constraints(r);
    if (rc != DX_OK)
        return rc;
    struct write_op *op = dx_arena_calloc(&r->arena, sizeof(*op));
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(r->json, "RequestItems");
    op->nt = (size_t)cJSON_GetArraySize(ri);
    op->wt = dx_arena_calloc(&r->arena, op->nt * sizeof(*op->wt) + 1);
    size_t i = 0;
    for (const cJSON *t = ri->child; t; t = t->next, i++) {
        struct write_table *w = &op->wt[i];
        w->name = t->string;
        w->list = t;
        w->n = (size_t)cJSON_GetArraySize(t);
        w->reqs = dx_arena_calloc(&r->arena, w->n * sizeof(*w->reqs) + 1);
        w->t = be__batch_table(r->be, t->string);
    }
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(r->json, "ReturnConsumedCapacity");
    op->cap_level = be__item_capacity_level(cJSON_IsString(cap) ? cap->valuestring : NULL);
    const cJSON *met = cJSON_GetObjectItemCaseSensitive(r->json, "ReturnItemCollectionMetrics");
    op->metrics = cJSON_IsString(met) && strcmp(met->valuestring, "SIZE") == 0;

    rc = write_custom(r, op->wt, op->nt);
    if (rc == DX_OK)
        rc = write_keys(r, op->wt, op->nt);
    if (rc != DX_OK) {
        release(op);
        return rc;
    }
    for (i = 0; i < op->nt; i++)
        op->wt[i].throttled = be_capacity_table_out(r, op->wt[i].t, 1);
    r->state = op;
    r->apply = write_apply;
    r->after_commit = write_unref;
    rc = be_req_submit(r);
    if (rc != DX_PENDING)
        release(op); /* not queued: after_commit will not run */
    return rc;
}
