/*
 * TransactWriteItems: up to 100 Put, Update, Delete and ConditionCheck actions over several
 * tables, all or nothing.
 *
 * The handler validates on the caller's thread in DynamoDB's order: JSON types
 * (SerializationException); the member constraints, all failures in one "N validation errors
 * detected" message (token length, enums, the 1..100 actions, table names, required members);
 * then action by action its one kind, attribute values, a Put's item size and its expressions
 * (so a bad expression anywhere wins over a missing table); the 4 MB aggregate; the tables; the
 * keys; two actions on one item. What DynamoDB only finds while the transaction runs is kept
 * for then: a key of the wrong type, an index key of the wrong type, which it reports as a
 * ValidationError cancellation reason rather than as an error of the request.
 *
 * One writer job then does everything inside one write transaction: the token check, every
 * action's current item and condition, every update computed, and only when all passed every
 * write (through be_mutation_apply_checked, so indexes and collection sizes follow). Any failure
 * becomes TransactionCanceledException with one reason per action; returning it from apply
 * rolls back whatever the job wrote. Serializable against every other write by construction:
 * there is one writer.
 */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "be_batch.h"
#include "be_catalog.h"
#include "be_expr.h"
#include "be_item_ops.h"
#include "be_mutation.h"
#include "be_store.h"
#include "be_txn.h"
#include "dx_json.h"
#include "dx_status.h"

#define TOKEN_MAX_LEN 36

enum act_kind { ACT_CHECK = 0, ACT_PUT, ACT_DELETE, ACT_UPDATE, ACT__COUNT };

static const char *const kind_member[ACT__COUNT] = {"ConditionCheck", "Put", "Delete", "Update"};
static const char *const kind_path[ACT__COUNT] = {"conditionCheck", "put", "delete", "update"};
static const enum dx_op kind_op[ACT__COUNT] = {DX_OP_DeleteItem, DX_OP_PutItem, DX_OP_DeleteItem,
                                               DX_OP_UpdateItem};

struct txn_table {
    struct be_table *t; /* borrowed from the first action on it */
    struct be_wcap cap; /* the table's part doubled: transactional writes cost twice */
    double read;        /* a replay's read units */
};

struct txn_act {
    enum act_kind kind;
    const cJSON *j; /* the action's object ({"TableName": ..., "Key": ...}) */
    struct be_table *t;
    struct be_exprs *x;
    struct dx_av *key;  /* Key (Update, Delete, ConditionCheck) */
    struct dx_av *item; /* Put's Item */
    const void *skey;   /* NULL when the key is invalid (pre_err says why) */
    size_t skeylen;
    const char *pre_err; /* a ValidationError found before the transaction, reported in it */
    int ret_on_fail;
    size_t slot; /* its table in op->tabs */
    /* apply */
    struct be_table *cur;
    struct dx_av *old, *new_item;
    int write; /* apply writes new_item (NULL: delete) */
    uint64_t csize;
};

struct txn_op {
    struct txn_act *acts;
    size_t n;
    struct txn_table *tabs;
    size_t ntabs;
    const char *token;
    uint8_t digest[BE_TXN_DIGEST_LEN];
    int cap_level;
    int metrics;
    int replay;    /* apply: a completed token, nothing written */
    int evaluated; /* apply: every action was evaluated (op->tabs holds the units) */
};

/* ---- JSON types ---- */

static int action_types(const cJSON *m, struct dx_error *err)
{
    static const struct {
        const char *name;
        enum dx_jtype type;
    } tab[] = {
        {"TableName", DX_JT_STRING},
        {"Item", DX_JT_MAP},
        {"Key", DX_JT_MAP},
        {"ConditionExpression", DX_JT_STRING},
        {"UpdateExpression", DX_JT_STRING},
        {"ExpressionAttributeNames", DX_JT_MAP},
        {"ExpressionAttributeValues", DX_JT_MAP},
        {"ReturnValuesOnConditionCheckFailure", DX_JT_STRING},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        int rc = dx_json_check(cJSON_GetObjectItemCaseSensitive(m, tab[i].name), tab[i].type, err);
        if (rc != DX_OK)
            return rc;
    }
    return DX_OK;
}

static int write_types(struct be_req *r)
{
    const char *s;
    int rc = be_param_str(r, "ReturnConsumedCapacity", 0, &s);
    if (rc == DX_OK)
        rc = be_param_str(r, "ReturnItemCollectionMetrics", 0, &s);
    if (rc == DX_OK)
        rc = be_param_str(r, "ClientRequestToken", 0, &s);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, "TransactItems");
    if (rc == DX_OK)
        rc = dx_json_check(items, DX_JT_LIST, &r->err);
    for (const cJSON *a = cJSON_IsArray(items) ? items->child : NULL; a && rc == DX_OK;
         a = a->next) {
        rc = dx_json_check(a, DX_JT_STRUCT, &r->err);
        for (int k = 0; k < ACT__COUNT && rc == DX_OK && cJSON_IsObject(a); k++) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, kind_member[k]);
            rc = dx_json_check(m, DX_JT_STRUCT, &r->err);
            if (rc == DX_OK && cJSON_IsObject(m))
                rc = action_types(m, &r->err);
        }
    }
    return rc;
}

/* ---- member constraints ---- */

/* The constraints of one action's members (path "transactItems.<i>.member.<kind>"). */
static void action_constraints(struct be_batch_verrs *v, const cJSON *m, enum act_kind kind, int i)
{
    char path[160];
    const char *name = dx_json_str(m, "TableName");
    snprintf(path, sizeof path, "transactItems.%d.member.%s.tableName", i, kind_path[kind]);
    if (!dx_json_get(m, "TableName"))
        be__batch_verr(v, NULL, path, "Member must not be null");
    else if (name)
        be__batch_table_name_verr(v, path, name);
    const char *keym = kind == ACT_PUT ? "Item" : "Key";
    if (!dx_json_get(m, keym)) {
        snprintf(path, sizeof path, "transactItems.%d.member.%s.%s", i, kind_path[kind],
                 kind == ACT_PUT ? "item" : "key");
        be__batch_verr(v, NULL, path, "Member must not be null");
    }
    if (kind == ACT_UPDATE && !dx_json_get(m, "UpdateExpression")) {
        snprintf(path, sizeof path, "transactItems.%d.member.update.updateExpression", i);
        be__batch_verr(v, NULL, path, "Member must not be null");
    }
    if (kind == ACT_CHECK && !dx_json_get(m, "ConditionExpression")) {
        snprintf(path, sizeof path, "transactItems.%d.member.conditionCheck.conditionExpression",
                 i);
        be__batch_verr(v, NULL, path, "Member must not be null");
    }
    const char *onfail = dx_json_str(m, "ReturnValuesOnConditionCheckFailure");
    if (onfail && strcmp(onfail, "ALL_OLD") != 0 && strcmp(onfail, "NONE") != 0) {
        snprintf(path, sizeof path,
                 "transactItems.%d.member.%s.returnValuesOnConditionCheckFailure", i,
                 kind_path[kind]);
        be__batch_verr(v, onfail, path, "Member must satisfy enum value set: [ALL_OLD, NONE]");
    }
}

static int write_constraints(struct be_req *r)
{
    struct be_batch_verrs v = {0, DX_BUF_INIT};
    const char *token = dx_json_str(r->json, "ClientRequestToken");
    if (token && strlen(token) < 1)
        be__batch_verr(&v, token, "clientRequestToken",
                       "Member must have length greater than or equal to 1");
    if (token && strlen(token) > TOKEN_MAX_LEN)
        be__batch_verr(&v, token, "clientRequestToken",
                       "Member must have length less than or equal to 36");
    be__batch_enum(r, &v, "ReturnConsumedCapacity", be__enum_return_capacity);
    be__batch_enum(r, &v, "ReturnItemCollectionMetrics", be__enum_return_metrics);
    const cJSON *items = be__txn_items_verr(r, &v);
    int i = 1;
    for (const cJSON *a = items ? items->child : NULL; a; a = a->next, i++) {
        for (int k = 0; k < ACT__COUNT; k++) {
            const cJSON *m = dx_json_get(a, kind_member[k]);
            if (m)
                action_constraints(&v, m, (enum act_kind)k, i);
        }
    }
    return be__batch_verr_finish(&v, &r->err);
}

/* ---- the actions ---- */

/* Whether a key error is one DynamoDB finds before the transaction (empty values, sizes):
 * those are errors of the request; a wrong or missing key is found while it runs. */
static int request_level(const char *msg)
{
    return msg && (strstr(msg, "empty") || strstr(msg, "Size of hashkey") ||
                   strstr(msg, "Aggregated size of all range keys"));
}

/* Kind, attribute values, item size, table (looked up, not yet required), expressions. */
static int action_parse(struct be_req *r, struct txn_act *a, const cJSON *j, size_t *total)
{
    int kinds = 0;
    for (int k = 0; k < ACT__COUNT; k++) {
        const cJSON *m = dx_json_get(j, kind_member[k]);
        if (m) {
            kinds++;
            a->kind = (enum act_kind)k;
            a->j = m;
        }
    }
    if (kinds == 0)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Invalid Request: TransactWriteRequest should contain Delete or Put "
                            "or Update request");
    if (kinds > 1)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "TransactItems can only contain one of Check, Put, Update or Delete");
    int rc;
    if (a->kind == ACT_PUT) {
        rc = dx_av_map_from_json(&r->arena, dx_json_get(a->j, "Item"), &a->item, &r->err);
        if (rc != DX_OK)
            return rc;
        size_t size = dx_av_item_size(a->item);
        if (size > BE_ITEM_MAX_SIZE)
            return dx_error_set(&r->err, DX_E_VALIDATION,
                                "Item size has exceeded the maximum allowed size");
        *total += size;
    } else {
        rc = dx_av_map_from_json(&r->arena, dx_json_get(a->j, "Key"), &a->key, &r->err);
        if (rc != DX_OK)
            return rc;
        *total += dx_av_item_size(a->key);
    }
    const char *onfail = dx_json_str(a->j, "ReturnValuesOnConditionCheckFailure");
    a->ret_on_fail = onfail && strcmp(onfail, "ALL_OLD") == 0;
    a->t = be__batch_table(r->be, dx_json_str(a->j, "TableName"));
    return be_exprs_parse(&r->arena, kind_op[a->kind], a->j, a->t, &a->x, &r->err);
}

/* The storage key, and for a Put the index keys: request-level errors fail the request, the
 * rest become the action's ValidationError. */
static int action_key(struct be_req *r, struct txn_act *a, struct dx_buf *kb)
{
    dx_buf_reset(kb);
    int rc = a->kind == ACT_PUT ? be_key_from_item(a->t, a->item, kb, &r->err)
                                : be_key_from_key(a->t, a->key, kb, &r->err);
    if (rc == DX_OK && a->kind == ACT_PUT)
        rc = be__check_index_keys(a->t, a->item, 0, &r->err);
    if (rc == DX_EREQ && !request_level(r->err.msg) && r->err.code == DX_E_VALIDATION) {
        a->pre_err = dx_arena_strndup(&r->arena, r->err.msg, strlen(r->err.msg));
        dx_error_clear(&r->err);
        if (kb->len == 0)
            return DX_OK;
        rc = DX_OK; /* the key itself is fine (an index key is not): keep it for duplicates */
    }
    if (rc != DX_OK)
        return rc;
    a->skey = dx_arena_memdup(&r->arena, kb->p, kb->len);
    a->skeylen = kb->len;
    return DX_OK;
}

static void release(struct txn_op *op)
{
    for (size_t i = 0; i < op->n; i++) {
        if (op->acts[i].t)
            be_table_unref(op->acts[i].t);
        op->acts[i].t = NULL;
    }
}

/* ---- apply (writer thread) ---- */

static void reason_json(struct dx_buf *out, const char *code, const char *msg,
                        const struct dx_av *item)
{
    dx_buf_putc(out, '{');
    if (item) {
        dx_buf_puts(out, "\"Item\":");
        dx_av_map_write_json(out, item);
        dx_buf_putc(out, ',');
    }
    dx_buf_puts(out, "\"Code\":");
    dx_buf_json_str(out, code, strlen(code));
    if (msg) {
        dx_buf_puts(out, ",\"Message\":");
        dx_buf_json_str(out, msg, strlen(msg));
    }
    dx_buf_putc(out, '}');
}

struct reasons {
    const char **code;
    const char **msg;
    const struct dx_av **item;
    int failed;
};

static void fail(struct be_req *r, struct reasons *rs, size_t i, const char *code, const char *msg,
                 const struct dx_av *item)
{
    rs->code[i] = code;
    rs->msg[i] = msg ? dx_arena_strndup(&r->arena, msg, strlen(msg)) : NULL;
    rs->item[i] = item;
    rs->failed = 1;
}

static int cancel(struct be_req *r, struct txn_op *op, struct reasons *rs)
{
    struct dx_buf codes = DX_BUF_INIT, list = DX_BUF_INIT;
    for (size_t i = 0; i < op->n; i++) {
        const char *code = rs->code[i] ? rs->code[i] : "None";
        dx_buf_puts(&codes, i ? ", " : "");
        dx_buf_puts(&codes, code);
        dx_buf_puts(&list, i ? "," : "");
        reason_json(&list, code, rs->code[i] ? rs->msg[i] : NULL, rs->item[i]);
    }
    int rc = be__txn_cancel(&r->err, codes.p, &list);
    dx_buf_deinit(&codes);
    dx_buf_deinit(&list);
    return rc;
}

static int key_only(const struct be_table *t, const struct dx_av *item)
{
    return item->u.map.n <= (t->range.name ? 2u : 1u);
}

/* Phase 1: every action against the current items; nothing is written. */
static int evaluate(struct be_req *r, MDB_txn *txn, struct txn_op *op, struct reasons *rs)
{
    for (size_t i = 0; i < op->n; i++) {
        struct txn_act *a = &op->acts[i];
        a->old = a->new_item = NULL;
        a->write = 0;
        if (a->pre_err) {
            fail(r, rs, i, "ValidationError", a->pre_err, NULL);
            continue;
        }
        int rc = be_item_get(r->be->store, txn, a->skey, a->skeylen, &r->arena, &a->old);
        if (rc == DX_ENOTFOUND) {
            a->old = NULL;
            rc = DX_OK;
        }
        if (rc != DX_OK)
            return rc;
        int ok = 1;
        rc = be_exprs_check_condition(a->x, a->old, &ok, &r->err);
        if (rc == DX_EREQ) {
            fail(r, rs, i, "ValidationError", r->err.msg, NULL);
            continue;
        }
        if (rc != DX_OK)
            return rc;
        if (!ok) {
            fail(r, rs, i, "ConditionalCheckFailed", "The conditional request failed",
                 a->ret_on_fail ? a->old : NULL);
            continue;
        }
        switch (a->kind) {
        case ACT_PUT:
            a->new_item = a->item;
            a->write = 1;
            break;
        case ACT_DELETE:
            a->write = a->old != NULL;
            break;
        case ACT_CHECK:
            break;
        case ACT_UPDATE:
            rc = be_exprs_apply_update(a->x, &r->arena, a->old, a->key, &a->new_item, &r->err);
            if (rc == DX_OK)
                rc = be__check_index_keys(a->cur, a->new_item, 1, &r->err);
            if (rc == DX_OK && dx_av_item_size(a->new_item) > BE_ITEM_MAX_SIZE)
                rc = dx_error_set(&r->err, DX_E_VALIDATION,
                                  "Item size to update has exceeded the maximum allowed size");
            /* An update of a key attribute is wrong whatever the item holds: an error of
             * the request, as UpdateItem reports it. */
            if (rc == DX_EREQ && r->err.msg &&
                strstr(r->err.msg, "This attribute is part of the key"))
                return rc;
            if (rc == DX_EREQ) {
                fail(r, rs, i, "ValidationError", r->err.msg, NULL);
                continue;
            }
            if (rc != DX_OK)
                return rc;
            /* As UpdateItem: an update that only removes from a missing item creates nothing. */
            a->write = a->old || !key_only(a->cur, a->new_item);
            break;
        default:
            break;
        }
    }
    return DX_OK;
}

/* Write units of a ConditionCheck: the item read, charged as a write of its size. */
static double check_units(const struct dx_av *old)
{
    size_t size = old ? dx_av_item_size(old) : 0;
    double units = (double)((size + 1023) / 1024);
    return units < 1 ? 1 : units;
}

/* The units of every action (the table's part doubled: a capture against DynamoDB shows a
 * transactional put of an indexed item costing the table 2 and the GSI 1), summed per table: a
 * write by DynamoDB's rules for the old and new item (a Put or Update that writes nothing, or whose
 * action failed, as the larger of what is there and nothing); a ConditionCheck as a write of the
 * item it read. Computed for cancelled transactions too: DynamoDB charges them. */
static void capacity(struct be_req *r, struct txn_op *op)
{
    for (size_t i = 0; i < op->ntabs; i++)
        memset(&op->tabs[i].cap, 0, sizeof(op->tabs[i].cap));
    for (size_t i = 0; i < op->n; i++) {
        struct txn_act *a = &op->acts[i];
        struct be_wcap c;
        if (a->kind == ACT_CHECK) {
            memset(&c, 0, sizeof(c));
            c.table = c.total = check_units(a->old);
        } else {
            const struct dx_av *after = a->kind == ACT_DELETE ? NULL
                                        : a->write            ? a->new_item
                                                              : a->old;
            be__wcap_compute(&r->arena, a->cur, a->old, after, &c);
        }
        be__wcap_add(&op->tabs[a->slot].cap, &c, 2);
    }
}

/* Phase 2: every write. A write refused for the item collection size cancels the transaction
 * too. */
static int write_all(struct be_req *r, MDB_txn *txn, struct txn_op *op, struct reasons *rs)
{
    for (size_t i = 0; i < op->n; i++) {
        struct txn_act *a = &op->acts[i];
        if (!a->write)
            continue;
        int rc = be_mutation_apply_checked(r->be->store, txn, a->cur, a->skey, a->skeylen,
                                           a->new_item, &r->err);
        if (rc == DX_EREQ && r->err.code == DX_E_ITEM_COLLECTION_SIZE_LIMIT_EXCEEDED) {
            fail(r, rs, i, "ItemCollectionSizeLimitExceeded", r->err.msg, NULL);
            continue;
        }
        if (rc != DX_OK)
            return rc;
    }
    return DX_OK;
}

static void write_response(struct be_req *r, struct txn_op *op)
{
    struct dx_buf *o = &r->out;
    struct dx_buf frag = DX_BUF_INIT;
    int first = 1;
    dx_buf_reset(o);
    dx_buf_putc(o, '{');
    if (op->cap_level) {
        dx_buf_puts(o, "\"ConsumedCapacity\":[");
        for (size_t i = 0; i < op->ntabs; i++) {
            dx_buf_reset(&frag);
            if (op->replay)
                be__write_read_capacity(&frag, op->tabs[i].t->name, op->tabs[i].read,
                                        op->cap_level);
            else
                be__write_write_capacity(&frag, op->tabs[i].t->name, &op->tabs[i].cap,
                                         op->cap_level);
            dx_buf_puts(o, i ? "," : "");
            be__batch_put_member_value(o, &frag);
        }
        dx_buf_putc(o, ']');
        first = 0;
    }
    int any = 0;
    for (size_t ti = 0; ti < op->ntabs && op->metrics && !op->replay; ti++) {
        const struct be_table *t = op->tabs[ti].t;
        if (t->n_lsi == 0)
            continue;
        int k = 0;
        for (size_t i = 0; i < op->n; i++) {
            const struct txn_act *a = &op->acts[i];
            if (a->slot != ti || a->kind == ACT_CHECK)
                continue;
            if (k == 0) {
                dx_buf_puts(o, any ? ","
                                   : (first ? "\"ItemCollectionMetrics\":{"
                                            : ",\"ItemCollectionMetrics\":{"));
                any = 1;
                dx_buf_json_str(o, t->name, strlen(t->name));
                dx_buf_puts(o, ":[");
            }
            dx_buf_reset(&frag);
            be__write_collection_metrics_size(&frag, t, a->item ? a->item : a->key, a->csize);
            dx_buf_puts(o, k++ ? "," : "");
            be__batch_put_member_value(o, &frag);
        }
        if (k)
            dx_buf_putc(o, ']');
    }
    if (any)
        dx_buf_putc(o, '}');
    dx_buf_putc(o, '}');
    dx_buf_deinit(&frag);
}

/* A completed token: nothing is written; the answer reports the transactional reads of the
 * items the request names, as DynamoDB's does. */
static int replay(struct be_req *r, MDB_txn *txn, struct txn_op *op)
{
    for (size_t i = 0; i < op->n; i++) {
        struct txn_act *a = &op->acts[i];
        struct dx_av *item = NULL;
        if (a->skey) {
            int rc = be_item_get(r->be->store, txn, a->skey, a->skeylen, &r->arena, &item);
            if (rc != DX_OK && rc != DX_ENOTFOUND)
                return rc;
            if (rc == DX_ENOTFOUND)
                item = NULL;
        }
        op->tabs[a->slot].read += 2 * be__read_units(item, 1);
    }
    write_response(r, op);
    return DX_OK;
}

static void drop_current(struct txn_op *op)
{
    for (size_t i = 0; i < op->n; i++) {
        if (op->acts[i].cur)
            be_table_unref(op->acts[i].cur);
        op->acts[i].cur = NULL;
    }
}

static int write_apply(struct be_req *r, MDB_txn *txn)
{
    struct txn_op *op = r->state;
    int64_t now = be__txn_now_ms();
    int rc = DX_OK;
    /* The writer may run a job again (a grown map): start from scratch each time. */
    op->replay = 0;
    op->evaluated = 0;
    for (size_t i = 0; i < op->ntabs; i++)
        op->tabs[i].read = 0;
    struct reasons rs = {
        dx_arena_calloc(&r->arena, op->n * sizeof(char *)),
        dx_arena_calloc(&r->arena, op->n * sizeof(char *)),
        dx_arena_calloc(&r->arena, op->n * sizeof(struct dx_av *)),
        0,
    };

    if (op->token) {
        enum be_txn_token_state st;
        rc = be__txn_token_check(r->be->store, txn, op->token, op->digest, now, &st);
        if (rc != DX_OK)
            return rc;
        if (st == BE_TXN_TOKEN_MISMATCH)
            return dx_error_set(&r->err, DX_E_IDEMPOTENT_PARAMETER_MISMATCH,
                                "DynamoDB rejected the request because you retried a request "
                                "with a different payload but with an idempotent token that was "
                                "already used.");
        op->replay = st == BE_TXN_TOKEN_REPLAY;
    }
    for (size_t i = 0; i < op->n && rc == DX_OK; i++)
        rc = be__batch_table_recheck(r, txn, op->acts[i].t, &op->acts[i].cur);
    if (rc != DX_OK)
        goto out;
    if (op->replay) {
        rc = replay(r, txn, op);
        goto out;
    }
    rc = evaluate(r, txn, op, &rs);
    if (rc == DX_OK) {
        capacity(r, op);
        op->evaluated = 1;
    }
    if (rc == DX_OK && rs.failed)
        rc = cancel(r, op, &rs);
    if (rc == DX_OK)
        rc = write_all(r, txn, op, &rs);
    if (rc == DX_OK && rs.failed)
        rc = cancel(r, op, &rs);
    /* Collection sizes after the whole transaction, as DynamoDB reports them. */
    for (size_t i = 0; i < op->n && rc == DX_OK && op->metrics; i++) {
        struct txn_act *a = &op->acts[i];
        if (a->kind != ACT_CHECK && a->cur->n_lsi > 0)
            rc = be_collection_size(r->be->store, txn, a->cur, a->item ? a->item : a->key,
                                    &a->csize);
    }
    if (rc == DX_OK && op->token)
        rc = be__txn_token_record(r->be->store, txn, op->token, op->digest, now,
                                  be__txn_token_ttl_ms(r->be));
    else if (rc == DX_OK)
        rc = be__txn_token_prune(r->be->store, txn, now);
    if (rc == DX_OK)
        write_response(r, op);
out:
    drop_current(op);
    return rc;
}

/* After the commit (once, even when the group ran twice): the units for throttling and
 * metrics, then the table references. */
static void write_done(struct be_req *r, int status)
{
    struct txn_op *op = r->state;
    if (!op)
        return;
    int charged = status == DX_OK ||
                  (status == DX_EREQ && op->evaluated && r->err.code == DX_E_TRANSACTION_CANCELED);
    for (size_t i = 0; i < op->ntabs && charged; i++) {
        const struct txn_table *tab = &op->tabs[i];
        if (op->replay)
            be_req_usage(r, tab->t->name, NULL, tab->read, 0);
        else
            be__wcap_usage(r, tab->t, &tab->cap);
    }
    drop_current(op);
    release(op);
}

/* ---- the handler ---- */

static int prepare(struct be_req *r, struct txn_op *op)
{
    const cJSON *items = dx_json_get(r->json, "TransactItems");
    op->n = (size_t)cJSON_GetArraySize(items);
    op->acts = dx_arena_calloc(&r->arena, op->n * sizeof(*op->acts) + 1);
    op->tabs = dx_arena_calloc(&r->arena, op->n * sizeof(*op->tabs) + 1);
    size_t total = 0, i = 0;
    int rc = DX_OK;
    for (const cJSON *j = items->child; j && rc == DX_OK; j = j->next, i++)
        rc = action_parse(r, &op->acts[i], j, &total);
    if (rc != DX_OK)
        return rc;
    if (total > BE_TXN_MAX_BYTES)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Collection size of items exceeded, which can also be caused by the "
                            "aggregate size of the items in the transaction exceeding the 4MB "
                            "limit");
    for (i = 0; i < op->n; i++) {
        if (!op->acts[i].t)
            return dx_error_set(&r->err, DX_E_RESOURCE_NOT_FOUND, "Requested resource not found");
    }
    struct dx_buf kb = DX_BUF_INIT;
    for (i = 0; i < op->n && rc == DX_OK; i++)
        rc = action_key(r, &op->acts[i], &kb);
    dx_buf_deinit(&kb);
    if (rc != DX_OK)
        return rc;
    for (i = 0; i < op->n; i++) {
        struct txn_act *a = &op->acts[i];
        for (size_t k = 0; k < i && a->skey; k++) {
            const struct txn_act *b = &op->acts[k];
            if (b->skey && b->skeylen == a->skeylen && memcmp(b->skey, a->skey, a->skeylen) == 0)
                return dx_error_set(&r->err, DX_E_VALIDATION, BE_TXN_MULTIPLE_OPS);
        }
        size_t s = 0;
        while (s < op->ntabs && op->tabs[s].t->id != a->t->id)
            s++;
        if (s == op->ntabs)
            op->tabs[op->ntabs++].t = a->t;
        a->slot = s;
    }
    return DX_OK;
}

int be_op_TransactWriteItems(struct be_req *r)
{
    int rc = write_types(r);
    if (rc == DX_OK)
        rc = write_constraints(r);
    if (rc != DX_OK)
        return rc;
    struct txn_op *op = dx_arena_calloc(&r->arena, sizeof(*op));
    rc = prepare(r, op);
    if (rc != DX_OK) {
        release(op);
        return rc;
    }
    op->token = dx_json_str(r->json, "ClientRequestToken");
    if (op->token)
        be__txn_digest(r->json, op->digest);
    op->cap_level = be__item_capacity_level(dx_json_str(r->json, "ReturnConsumedCapacity"));
    const char *metrics = dx_json_str(r->json, "ReturnItemCollectionMetrics");
    op->metrics = metrics && strcmp(metrics, "SIZE") == 0;

    r->state = op;
    r->apply = write_apply;
    r->after_commit = write_done;
    rc = be_req_submit(r);
    if (rc != DX_PENDING)
        release(op); /* not queued: after_commit will not run */
    return rc;
}
