/*
 * The single-item operations: GetItem, PutItem, UpdateItem, DeleteItem.
 *
 * Each handler validates the request on the caller's thread in DynamoDB's order (generic
 * member checks, attribute values, operation rules, the table, expressions, the key). GetItem
 * then reads in a read transaction and answers at once. The writes hand an item_op to the
 * writer thread, whose apply reads the current item inside the write transaction, evaluates
 * the condition there (so check-and-write is atomic: one writer serializes all writes),
 * computes the new item, writes it and builds the response. Apply looks the table up again so
 * that a DeleteTable (or DeleteTable + CreateTable) queued before it cannot leave an item
 * behind under a dead table id.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "be_batch.h"
#include "be_catalog.h"
#include "be_expr.h"
#include "be_item_ops.h"
#include "be_mutation.h"
#include "be_store.h"
#include "dx_json.h"
#include "dx_status.h"

enum ret_values { RV_NONE = 0, RV_ALL_OLD, RV_UPDATED_OLD, RV_ALL_NEW, RV_UPDATED_NEW };

/* What a write carries from validation to apply; lives in the request arena. */
struct item_op {
    struct be_table *t; /* reference taken in the handler, dropped after the commit */
    struct be_exprs *x;
    struct dx_av *key;  /* the request's Key (Update/Delete) */
    struct dx_av *item; /* PutItem's Item */
    const void *skey;   /* storage key */
    size_t skeylen;
    enum ret_values ret;
    int ret_on_fail;  /* ReturnValuesOnConditionCheckFailure=ALL_OLD */
    int cap_level;    /* ReturnConsumedCapacity: 0 NONE, 1 TOTAL, 2 INDEXES */
    int metrics;      /* ReturnItemCollectionMetrics=SIZE */
    int create_empty; /* UpdateItem without any update action: create the bare key item */
};

/* ---- request members, in DynamoDB's validation order ---- */

/* clang-format off */
#define P_CAPACITY {"ReturnConsumedCapacity", BE_IP_STR, 0, be__enum_return_capacity}
#define P_TABLE    {"TableName", BE_IP_STR, BE_IP_NOTNULL | BE_IP_TABLENAME, NULL}
#define P_KEY      {"Key", BE_IP_MAP, BE_IP_NOTNULL, NULL}
#define P_CONDOP   {"ConditionalOperator", BE_IP_STR, 0, be__enum_conditional_op}
#define P_EXPECTED {"Expected", BE_IP_MAP, 0, NULL}
#define P_RETVALS  {"ReturnValues", BE_IP_STR, 0, be__enum_return_values}
#define P_METRICS  {"ReturnItemCollectionMetrics", BE_IP_STR, 0, be__enum_return_metrics}
#define P_CONDEXPR {"ConditionExpression", BE_IP_STR, 0, NULL}
#define P_VALUES   {"ExpressionAttributeValues", BE_IP_MAP, 0, NULL}
#define P_NAMES    {"ExpressionAttributeNames", BE_IP_MAP, 0, NULL}
#define P_ONFAIL   {"ReturnValuesOnConditionCheckFailure", BE_IP_STR, 0, be__enum_return_on_failure}

static const struct be_iparam get_params[] = {
    P_CAPACITY,
    {"AttributesToGet", BE_IP_ARR, 0, NULL},
    P_TABLE,
    P_KEY,
    {"ConsistentRead", BE_IP_BOOL, 0, NULL},
    {"ProjectionExpression", BE_IP_STR, 0, NULL},
    P_NAMES,
};

static const struct be_iparam put_params[] = {
    P_CAPACITY, P_TABLE, {"Item", BE_IP_MAP, BE_IP_NOTNULL, NULL}, P_CONDOP, P_EXPECTED,
    P_RETVALS, P_METRICS, P_CONDEXPR, P_VALUES, P_NAMES, P_ONFAIL,
};

static const struct be_iparam update_params[] = {
    P_CAPACITY, P_TABLE, P_METRICS, P_RETVALS, P_KEY, P_CONDOP, P_EXPECTED,
    {"AttributeUpdates", BE_IP_MAP, 0, NULL}, P_CONDEXPR,
    {"UpdateExpression", BE_IP_STR, 0, NULL}, P_VALUES, P_NAMES, P_ONFAIL,
};

static const struct be_iparam delete_params[] = {
    P_CAPACITY, P_TABLE, P_RETVALS, P_METRICS, P_KEY, P_CONDOP, P_EXPECTED, P_CONDEXPR,
    P_VALUES, P_NAMES, P_ONFAIL,
};
/* clang-format on */

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static enum ret_values parse_ret_values(const char *s)
{
    static const struct {
        const char *name;
        enum ret_values v;
    } tab[] = {{"ALL_OLD", RV_ALL_OLD},
               {"UPDATED_OLD", RV_UPDATED_OLD},
               {"ALL_NEW", RV_ALL_NEW},
               {"UPDATED_NEW", RV_UPDATED_NEW}};
    if (s) {
        for (size_t i = 0; i < N_OF(tab); i++) {
            if (strcmp(s, tab[i].name) == 0)
                return tab[i].v;
        }
    }
    return RV_NONE;
}

/* The request's AttributeValue map member `name` (already type-checked as an object). */
static int av_map_param(struct be_req *r, const char *name, struct dx_av **out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->json, name);
    return dx_av_map_from_json(&r->arena, j, out, &r->err);
}

static int is_empty_map(const struct dx_av *m)
{
    return !m || m->u.map.n == 0;
}

/* Whether item holds nothing but the table's key attributes. */
static int key_only(const struct be_table *t, const struct dx_av *item)
{
    return item->u.map.n <= (t->range.name ? 2u : 1u);
}

static void op_unref(struct be_req *r, int status)
{
    struct item_op *op = r->state;
    if (op && op->t) {
        be_table_unref(op->t);
        op->t = NULL;
    }
}

static int current_item(struct be_req *r, struct item_op *op, MDB_txn *txn, struct dx_av **old)
{
    int rc = be_item_get(r->be->store, txn, op->skey, op->skeylen, &r->arena, old);
    if (rc == DX_ENOTFOUND) {
        *old = NULL;
        return DX_OK;
    }
    return rc;
}

static int condition_check(struct be_req *r, struct item_op *op, const struct dx_av *old)
{
    int ok = 1;
    int rc = be_exprs_check_condition(op->x, old, &ok, &r->err);
    if (rc != DX_OK)
        return rc;
    if (ok)
        return DX_OK;
    /* A failed condition still consumes write capacity: the existing item's 1 KB units, at
     * least one (DynamoDB reports none, but charges them). */
    struct be_wcap cap;
    be__wcap_compute(&r->arena, op->t, old, NULL, &cap);
    be_req_usage(r, op->t->name, NULL, 0, cap.table);
    rc = dx_error_set(&r->err, DX_E_CONDITIONAL_CHECK_FAILED, "The conditional request failed");
    if (op->ret_on_fail && old) {
        dx_buf_puts(&r->err.extra, ",\"Item\":");
        dx_av_map_write_json(&r->err.extra, old);
    }
    return rc;
}

/* The write's response: Attributes (when not NULL), ConsumedCapacity, ItemCollectionMetrics. */
static void write_response(struct be_req *r, struct item_op *op, const struct be_table *t,
                           const struct dx_av *attrs, const struct dx_av *old_item,
                           const struct dx_av *new_item, MDB_txn *txn)
{
    const struct dx_av *keyed = new_item ? new_item : old_item ? old_item : op->key;
    struct dx_buf *out = &r->out;
    int first = 1;
    dx_buf_reset(out);
    dx_buf_putc(out, '{');
    if (attrs) {
        dx_buf_puts(out, "\"Attributes\":");
        dx_av_map_write_json(out, attrs);
        first = 0;
    }
    /* The units are recorded whether or not the client asked for them (metrics, buckets). */
    struct be_wcap cap;
    be__wcap_compute(&r->arena, t, old_item, new_item, &cap);
    be__wcap_usage(r, t, &cap);
    if (op->cap_level) {
        if (!first)
            dx_buf_putc(out, ',');
        be__write_write_capacity(out, t->name, &cap, op->cap_level);
        first = 0;
    }
    if (op->metrics && t->n_lsi > 0) {
        if (!first)
            dx_buf_putc(out, ',');
        uint64_t size = 0;
        be_collection_size(r->be->store, txn, t, keyed, &size);
        be__write_collection_metrics_size(out, t, keyed, size);
    }
    dx_buf_putc(out, '}');
}

/* Validation shared by the three writes once the members are checked: options, the table,
 * the expressions. On DX_OK op->t holds a reference. */
static int write_prepare(struct be_req *r, struct item_op *op)
{
    op->ret = parse_ret_values(dx_json_str(r->json, "ReturnValues"));
    const char *onfail = dx_json_str(r->json, "ReturnValuesOnConditionCheckFailure");
    op->ret_on_fail = onfail && strcmp(onfail, "ALL_OLD") == 0;
    op->cap_level = be__item_capacity_level(dx_json_str(r->json, "ReturnConsumedCapacity"));
    const char *metrics = dx_json_str(r->json, "ReturnItemCollectionMetrics");
    op->metrics = metrics && strcmp(metrics, "SIZE") == 0;

    return be__table_and_exprs(r, &op->t, &op->x);
}

/* The end of a write's validation. With rc DX_OK the storage key built in kb goes with op to
 * the writer, whose apply finishes the request; otherwise the table reference is dropped and
 * rc (the error) returned. kb is released either way. */
static int submit(struct be_req *r, struct item_op *op, int rc, struct dx_buf *kb,
                  int (*apply)(struct be_req *, MDB_txn *))
{
    if (rc == DX_OK) {
        /* The key must outlive kb: into the request's arena. */
        op->skey = dx_arena_memdup(&r->arena, kb->p, kb->len);
        op->skeylen = kb->len;
    }
    dx_buf_deinit(kb);
    r->state = op;
    if (rc != DX_OK) {
        op_unref(r, rc);
        return rc;
    }
    r->apply = apply;
    r->after_commit = op_unref;
    rc = be_req_submit(r);
    if (rc != DX_PENDING)
        op_unref(r, rc); /* not queued: after_commit will not run */
    return rc;
}

/* ---- GetItem ---- */

int be_op_GetItem(struct be_req *r)
{
    struct be_table *t = NULL;
    struct be_exprs *x = NULL;
    struct dx_av *key = NULL, *item = NULL;
    struct dx_buf kb = DX_BUF_INIT;
    MDB_txn *txn = NULL;
    int present = 0, consistent = 0;

    int rc = be__item_validate(r, get_params, N_OF(get_params));
    if (rc != DX_OK)
        goto out;
    rc = av_map_param(r, "Key", &key);
    if (rc != DX_OK)
        goto out;
    rc = be_param_bool(r, "ConsistentRead", &present, &consistent);
    if (rc != DX_OK)
        goto out;
    int level = be__item_capacity_level(dx_json_str(r->json, "ReturnConsumedCapacity"));
    rc = be__table_and_exprs(r, &t, &x);
    if (rc != DX_OK)
        goto out;
    rc = be_key_from_key(t, key, &kb, &r->err);
    if (rc != DX_OK)
        goto out;

    rc = be_read_begin(r->be, &txn);
    if (rc != DX_OK)
        goto out;
    rc = be_item_get(r->be->store, txn, kb.p, kb.len, &r->arena, &item);
    if (rc == DX_ENOTFOUND) {
        item = NULL;
        rc = DX_OK;
    }
    if (rc != DX_OK)
        goto out;

    struct dx_buf *o = &r->out;
    dx_buf_reset(o);
    dx_buf_putc(o, '{');
    if (item) {
        dx_buf_puts(o, "\"Item\":");
        dx_av_map_write_json(o, be_exprs_project(x, &r->arena, item));
    }
    /* Capacity is charged on the whole item read, not on the projection. */
    double units = be__read_units(item, consistent);
    be_req_usage(r, t->name, NULL, units, 0);
    if (level) {
        if (item)
            dx_buf_putc(o, ',');
        be__write_read_capacity(o, t->name, units, level);
    }
    dx_buf_putc(o, '}');
out:
    if (txn)
        be_read_end(txn);
    if (t)
        be_table_unref(t);
    dx_buf_deinit(&kb);
    return rc;
}

/* ---- PutItem and DeleteItem ---- */

/* Writer thread: replaces the item with op->item, or deletes it when op->item is NULL (a
 * DeleteItem; deleting an absent item writes nothing). Both answer with the old image. */
static int replace_apply(struct be_req *r, MDB_txn *txn)
{
    struct item_op *op = r->state;
    struct be_table *t = NULL;
    struct dx_av *old = NULL;
    int rc = be__batch_table_recheck(r, txn, op->t, &t);
    if (rc != DX_OK)
        return rc;
    rc = current_item(r, op, txn, &old);
    if (rc == DX_OK)
        rc = condition_check(r, op, old);
    if (rc == DX_OK && (op->item || old))
        rc = be_mutation_apply_checked(r->be->store, txn, t, op->skey, op->skeylen, op->item,
                                       &r->err);
    if (rc == DX_OK)
        write_response(r, op, t, op->ret == RV_ALL_OLD ? old : NULL, old, op->item, txn);
    be_table_unref(t);
    return rc;
}

/* PutItem and DeleteItem answer only with the old image. */
static int check_return_old_only(struct be_req *r)
{
    const char *rv = dx_json_str(r->json, "ReturnValues");
    if (rv && strcmp(rv, "ALL_OLD") != 0 && strcmp(rv, "NONE") != 0)
        return dx_error_set(&r->err, DX_E_VALIDATION, "ReturnValues can only be ALL_OLD or NONE");
    return DX_OK;
}

int be_op_PutItem(struct be_req *r)
{
    struct item_op *op = dx_arena_calloc(&r->arena, sizeof *op);
    struct dx_buf kb = DX_BUF_INIT;

    int rc = be__item_validate(r, put_params, N_OF(put_params));
    if (rc == DX_OK)
        rc = av_map_param(r, "Item", &op->item);
    if (rc == DX_OK)
        rc = check_return_old_only(r);
    if (rc == DX_OK && dx_av_item_size(op->item) > BE_ITEM_MAX_SIZE)
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "Item size has exceeded the maximum allowed size");
    if (rc == DX_OK)
        rc = write_prepare(r, op);
    if (rc == DX_OK)
        rc = be_key_from_item(op->t, op->item, &kb, &r->err);
    if (rc == DX_OK)
        rc = be__check_index_keys(op->t, op->item, 0, &r->err);
    return submit(r, op, rc, &kb, replace_apply);
}

int be_op_DeleteItem(struct be_req *r)
{
    struct item_op *op = dx_arena_calloc(&r->arena, sizeof *op);
    struct dx_buf kb = DX_BUF_INIT;

    int rc = be__item_validate(r, delete_params, N_OF(delete_params));
    if (rc == DX_OK)
        rc = av_map_param(r, "Key", &op->key);
    if (rc == DX_OK)
        rc = check_return_old_only(r);
    if (rc == DX_OK)
        rc = write_prepare(r, op);
    if (rc == DX_OK)
        rc = be_key_from_key(op->t, op->key, &kb, &r->err);
    return submit(r, op, rc, &kb, replace_apply);
}

/* ---- UpdateItem ---- */

/* UPDATED_OLD / UPDATED_NEW: the touched parts of item; NULL (no Attributes) when empty. */
static struct dx_av *updated_part(struct be_req *r, struct item_op *op, const struct dx_av *item)
{
    if (!item || !be_exprs_has_update(op->x))
        return NULL;
    struct dx_av *part = be_exprs_updated_attrs(op->x, &r->arena, item);
    return is_empty_map(part) ? NULL : part;
}

static int update_apply(struct be_req *r, MDB_txn *txn)
{
    struct item_op *op = r->state;
    struct be_table *t = NULL;
    struct dx_av *old = NULL, *new_item = NULL, *attrs = NULL;
    int written = 0;
    int rc = be__batch_table_recheck(r, txn, op->t, &t);
    if (rc != DX_OK)
        return rc;
    rc = current_item(r, op, txn, &old);
    if (rc == DX_OK)
        rc = condition_check(r, op, old);
    if (rc != DX_OK)
        goto out;

    if (be_exprs_has_update(op->x)) {
        rc = be_exprs_apply_update(op->x, &r->arena, old, op->key, &new_item, &r->err);
        if (rc != DX_OK)
            goto out;
    } else {
        new_item = old ? old : dx_av_copy(&r->arena, op->key);
    }
    rc = be__check_index_keys(t, new_item, 1, &r->err);
    if (rc != DX_OK)
        goto out;
    if (dx_av_item_size(new_item) > BE_ITEM_MAX_SIZE) {
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "Item size to update has exceeded the maximum allowed size");
        goto out;
    }
    /* DynamoDB creates a missing item for any update that sets something, and for an update
     * without actions; an update that only removes attributes from a missing item creates
     * nothing. */
    written = old || op->create_empty || !key_only(t, new_item);
    if (written) {
        rc = be_mutation_apply_checked(r->be->store, txn, t, op->skey, op->skeylen, new_item,
                                       &r->err);
        if (rc != DX_OK)
            goto out;
    }

    switch (op->ret) {
    case RV_ALL_OLD:
        attrs = old;
        break;
    case RV_UPDATED_OLD:
        attrs = updated_part(r, op, old);
        break;
    case RV_ALL_NEW:
        attrs = written ? new_item : NULL;
        break;
    case RV_UPDATED_NEW:
        attrs = written ? updated_part(r, op, new_item) : NULL;
        break;
    default:
        break;
    }
    write_response(r, op, t, attrs, old, written ? new_item : NULL, txn);
out:
    be_table_unref(t);
    return rc;
}

/* Whether the request carries no update action at all (no UpdateExpression, and
 * AttributeUpdates absent or empty): DynamoDB then still creates the bare item. */
static int no_update_actions(const struct be_req *r)
{
    const cJSON *ue = cJSON_GetObjectItemCaseSensitive(r->json, "UpdateExpression");
    if (ue && !cJSON_IsNull(ue))
        return 0;
    const cJSON *au = cJSON_GetObjectItemCaseSensitive(r->json, "AttributeUpdates");
    return !au || cJSON_IsNull(au) || (cJSON_IsObject(au) && au->child == NULL);
}

int be_op_UpdateItem(struct be_req *r)
{
    struct item_op *op = dx_arena_calloc(&r->arena, sizeof *op);
    struct dx_buf kb = DX_BUF_INIT;

    int rc = be__item_validate(r, update_params, N_OF(update_params));
    if (rc == DX_OK)
        rc = av_map_param(r, "Key", &op->key);
    if (rc == DX_OK)
        rc = write_prepare(r, op);
    if (rc == DX_OK)
        rc = be_key_from_key(op->t, op->key, &kb, &r->err);
    op->create_empty = no_update_actions(r);
    return submit(r, op, rc, &kb, update_apply);
}
