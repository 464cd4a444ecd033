/*
 * TransactGetItems: up to 100 Get actions over several tables, read in one consistent
 * snapshot.
 *
 * Validation follows TransactWriteItems' order: JSON types, the member constraints (one
 * "N validation errors detected" message), then per action its key values, table and
 * expressions (ProjectionExpression with ExpressionAttributeNames), the tables, the keys, two
 * Gets of one item. A key that does not match the schema is, as DynamoDB reports it, a
 * ValidationError cancellation reason; an empty key value is an error of the request. All the
 * items are then read in one LMDB read transaction (MVCC: the state of one commit, so the
 * reads are serializable against every write) and answered in request order, {} for a missing
 * item. Each read costs twice a strongly consistent read.
 */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "be_batch.h"
#include "be_catalog.h"
#include "be_expr.h"
#include "be_item_ops.h"
#include "be_store.h"
#include "be_txn.h"
#include "dx_json.h"
#include "dx_status.h"

struct get_act {
    const cJSON *j;
    struct be_table *t;
    struct be_exprs *x;
    struct dx_av *key;
    const void *skey;
    size_t skeylen;
    const char *pre_err;
    struct dx_av *item;
};

struct get_tab {
    const struct be_table *t;
    double units;
};

static int get_types(struct be_req *r)
{
    const char *s;
    int rc = be_param_str(r, "ReturnConsumedCapacity", 0, &s);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, "TransactItems");
    if (rc == DX_OK)
        rc = dx_json_check(items, DX_JT_LIST, &r->err);
    for (const cJSON *a = cJSON_IsArray(items) ? items->child : NULL; a && rc == DX_OK;
         a = a->next) {
        rc = dx_json_check(a, DX_JT_STRUCT, &r->err);
        const cJSON *g = cJSON_IsObject(a) ? cJSON_GetObjectItemCaseSensitive(a, "Get") : NULL;
        if (rc == DX_OK)
            rc = dx_json_check(g, DX_JT_STRUCT, &r->err);
        if (rc != DX_OK || !cJSON_IsObject(g))
            continue;
        rc = dx_json_check(cJSON_GetObjectItemCaseSensitive(g, "TableName"), DX_JT_STRING, &r->err);
        if (rc == DX_OK)
            rc = dx_json_check(cJSON_GetObjectItemCaseSensitive(g, "Key"), DX_JT_MAP, &r->err);
        if (rc == DX_OK)
            rc = dx_json_check(cJSON_GetObjectItemCaseSensitive(g, "ProjectionExpression"),
                               DX_JT_STRING, &r->err);
        if (rc == DX_OK)
            rc = dx_json_check(cJSON_GetObjectItemCaseSensitive(g, "ExpressionAttributeNames"),
                               DX_JT_MAP, &r->err);
    }
    return rc;
}

static int get_constraints(struct be_req *r)
{
    struct be_batch_verrs v = {0, DX_BUF_INIT};
    be__batch_enum(r, &v, "ReturnConsumedCapacity", be__enum_return_capacity);
    const cJSON *items = be__txn_items_verr(r, &v);
    int i = 1;
    for (const cJSON *a = items ? items->child : NULL; a; a = a->next, i++) {
        char path[128];
        const cJSON *g = dx_json_get(a, "Get");
        if (!g) {
            snprintf(path, sizeof path, "transactItems.%d.member.get", i);
            be__batch_verr(&v, NULL, path, "Member must not be null");
            continue;
        }
        snprintf(path, sizeof path, "transactItems.%d.member.get.tableName", i);
        const char *name = dx_json_str(g, "TableName");
        if (!dx_json_get(g, "TableName"))
            be__batch_verr(&v, NULL, path, "Member must not be null");
        else if (name)
            be__batch_table_name_verr(&v, path, name);
        if (!dx_json_get(g, "Key")) {
            snprintf(path, sizeof path, "transactItems.%d.member.get.key", i);
            be__batch_verr(&v, NULL, path, "Member must not be null");
        }
    }
    return be__batch_verr_finish(&v, &r->err);
}

static void release(struct get_act *acts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (acts[i].t)
            be_table_unref(acts[i].t);
        acts[i].t = NULL;
    }
}

static int prepare(struct be_req *r, struct get_act *acts, size_t n)
{
    const cJSON *items = dx_json_get(r->json, "TransactItems");
    size_t i = 0;
    int rc = DX_OK;
    for (const cJSON *j = items->child; j && rc == DX_OK; j = j->next, i++) {
        struct get_act *a = &acts[i];
        a->j = dx_json_get(j, "Get");
        rc = dx_av_map_from_json(&r->arena, dx_json_get(a->j, "Key"), &a->key, &r->err);
        if (rc != DX_OK)
            break;
        a->t = be__batch_table(r->be, dx_json_str(a->j, "TableName"));
        rc = be_exprs_parse(&r->arena, DX_OP_GetItem, a->j, a->t, &a->x, &r->err);
    }
    if (rc != DX_OK)
        return rc;
    for (i = 0; i < n; i++) {
        if (!acts[i].t)
            return dx_error_set(&r->err, DX_E_RESOURCE_NOT_FOUND, "Requested resource not found");
    }
    struct dx_buf kb = DX_BUF_INIT;
    for (i = 0; i < n && rc == DX_OK; i++) {
        struct get_act *a = &acts[i];
        dx_buf_reset(&kb);
        rc = be_key_from_key(a->t, a->key, &kb, &r->err);
        if (rc == DX_EREQ && r->err.msg && !strstr(r->err.msg, "empty") &&
            !strstr(r->err.msg, "size")) {
            /* Found while the transaction runs in DynamoDB: a cancellation reason. */
            a->pre_err = dx_arena_strndup(&r->arena, r->err.msg, strlen(r->err.msg));
            dx_error_clear(&r->err);
            rc = DX_OK;
            continue;
        }
        if (rc == DX_OK) {
            a->skey = dx_arena_memdup(&r->arena, kb.p, kb.len);
            a->skeylen = kb.len;
        }
    }
    dx_buf_deinit(&kb);
    if (rc != DX_OK)
        return rc;
    for (i = 0; i < n; i++) {
        for (size_t k = 0; k < i && acts[i].skey; k++) {
            if (acts[k].skey && acts[k].skeylen == acts[i].skeylen &&
                memcmp(acts[k].skey, acts[i].skey, acts[i].skeylen) == 0)
                return dx_error_set(&r->err, DX_E_VALIDATION, BE_TXN_MULTIPLE_OPS);
        }
    }
    return DX_OK;
}

static int cancel_invalid(struct be_req *r, const struct get_act *acts, size_t n)
{
    struct dx_buf codes = DX_BUF_INIT, list = DX_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *code = acts[i].pre_err ? "ValidationError" : "None";
        dx_buf_puts(&codes, i ? ", " : "");
        dx_buf_puts(&codes, code);
        dx_buf_puts(&list, i ? ",{\"Code\":" : "{\"Code\":");
        dx_buf_json_str(&list, code, strlen(code));
        if (acts[i].pre_err) {
            dx_buf_puts(&list, ",\"Message\":");
            dx_buf_json_str(&list, acts[i].pre_err, strlen(acts[i].pre_err));
        }
        dx_buf_putc(&list, '}');
    }
    int rc = be__txn_cancel(&r->err, codes.p, &list);
    dx_buf_deinit(&codes);
    dx_buf_deinit(&list);
    return rc;
}

static void respond(struct be_req *r, const struct get_act *acts, size_t n, int level)
{
    struct get_tab *tabs = dx_arena_calloc(&r->arena, n * sizeof(*tabs) + 1);
    size_t ntabs = 0;
    for (size_t i = 0; i < n; i++) {
        size_t s = 0;
        while (s < ntabs && tabs[s].t->id != acts[i].t->id)
            s++;
        if (s == ntabs)
            tabs[ntabs++].t = acts[i].t;
        /* Transactional reads cost twice a strongly consistent read. */
        tabs[s].units += 2 * be__read_units(acts[i].item, 1);
    }
    struct dx_buf *o = &r->out;
    dx_buf_reset(o);
    dx_buf_puts(o, "{\"Responses\":[");
    for (size_t i = 0; i < n; i++) {
        dx_buf_puts(o, i ? "," : "");
        if (!acts[i].item) {
            dx_buf_puts(o, "{}");
            continue;
        }
        dx_buf_puts(o, "{\"Item\":");
        dx_av_map_write_json(o, be_exprs_project(acts[i].x, &r->arena, acts[i].item));
        dx_buf_putc(o, '}');
    }
    dx_buf_putc(o, ']');
    struct dx_buf frag = DX_BUF_INIT;
    if (level) {
        dx_buf_puts(o, ",\"ConsumedCapacity\":[");
        for (size_t s = 0; s < ntabs; s++) {
            dx_buf_reset(&frag);
            be__write_read_capacity(&frag, tabs[s].t->name, tabs[s].units, level);
            dx_buf_puts(o, s ? "," : "");
            be__batch_put_member_value(o, &frag);
        }
        dx_buf_putc(o, ']');
    }
    dx_buf_putc(o, '}');
    dx_buf_deinit(&frag);
    for (size_t s = 0; s < ntabs; s++)
        be_req_usage(r, tabs[s].t->name, NULL, tabs[s].units, 0);
}

int be_op_TransactGetItems(struct be_req *r)
{
    int rc = get_types(r);
    if (rc == DX_OK)
        rc = get_constraints(r);
    if (rc != DX_OK)
        return rc;
    size_t n = (size_t)cJSON_GetArraySize(dx_json_get(r->json, "TransactItems"));
    struct get_act *acts = dx_arena_calloc(&r->arena, n * sizeof(*acts) + 1);
    MDB_txn *txn = NULL;
    rc = prepare(r, acts, n);
    if (rc != DX_OK)
        goto out;
    int invalid = 0;
    for (size_t i = 0; i < n; i++)
        invalid |= acts[i].pre_err != NULL;
    if (invalid) {
        rc = cancel_invalid(r, acts, n);
        goto out;
    }
    rc = be_read_begin(r->be, &txn);
    if (rc != DX_OK)
        goto out;
    size_t total = 0;
    for (size_t i = 0; i < n && rc == DX_OK; i++) {
        rc =
            be_item_get(r->be->store, txn, acts[i].skey, acts[i].skeylen, &r->arena, &acts[i].item);
        if (rc == DX_ENOTFOUND) {
            acts[i].item = NULL;
            rc = DX_OK;
        }
        if (acts[i].item)
            total += dx_av_item_size(acts[i].item);
    }
    if (rc != DX_OK)
        goto out;
    if (total > BE_TXN_MAX_BYTES) {
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "Collection size of items exceeded, which can also be caused by the "
                          "aggregate size of the items in the transaction exceeding the 4MB "
                          "limit");
        goto out;
    }
    int level = be__item_capacity_level(dx_json_str(r->json, "ReturnConsumedCapacity"));
    respond(r, acts, n, level);
out:
    if (txn)
        be_read_end(txn);
    release(acts, n);
    return rc;
}
