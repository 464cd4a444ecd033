/*
 * BatchGetItem, and the pieces both batch operations share (be_batch.h).
 *
 * Validation follows DynamoDB's order: JSON types of every member (SerializationException),
 * the generic constraint list (enums, RequestItems not empty, table names, Keys 1..100 per
 * table, AttributesToGet 1..255), then per table the expressions and the keys' attribute
 * values, duplicate keys and the 100-key total, then the tables (ResourceNotFoundException)
 * and each key against its table's schema. All reads then run in one read transaction. Items
 * that would take the response past 16 MB are not read: their keys come back in
 * UnprocessedKeys with the table's other request members, as DynamoDB does; so do all the
 * keys of a PROVISIONED table out of read capacity (be_capacity_table_out) when the batch
 * was let through because another of its tables had capacity.
 */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "be_batch.h"
#include "be_capacity.h"
#include "be_catalog.h"
#include "be_expr.h"
#include "be_item_ops.h"
#include "be_store.h"
#include "dx_json.h"
#include "dx_status.h"

#define MAX_ERRORS   10
#define MAX_GET_KEYS 100
#define RESPONSE_MAX (16u * 1024 * 1024)
#define N_OF(a)      (sizeof(a) / sizeof((a)[0]))

/* ---- shared (be_batch.h) ---- */

void be__batch_verr(struct be_batch_verrs *v, const char *value, const char *path, const char *text)
{
    if (v->n >= MAX_ERRORS)
        return;
    if (v->n)
        dx_buf_puts(&v->msg, "; ");
    v->n++;
    if (value)
        dx_buf_printf(&v->msg, "Value '%s' at '%s' failed to satisfy constraint: %s", value, path,
                      text);
    else
        dx_buf_printf(&v->msg, "Value null at '%s' failed to satisfy constraint: %s", path, text);
}

const char *be__batch_jvalue(struct be_req *r, const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (!s)
        return "";
    const char *copy = dx_arena_strndup(&r->arena, s, strlen(s));
    cJSON_free(s);
    return copy;
}

void be__batch_enum(struct be_req *r, struct be_batch_verrs *v, const char *name,
                    const char *const *enumv)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->json, name);
    if (!cJSON_IsString(j))
        return;
    for (const char *const *e = enumv; *e; e++) {
        if (strcmp(*e, j->valuestring) == 0)
            return;
    }
    struct dx_buf text = DX_BUF_INIT;
    dx_buf_puts(&text, "Member must satisfy enum value set: [");
    for (const char *const *e = enumv; *e; e++)
        dx_buf_printf(&text, "%s%s", e == enumv ? "" : ", ", *e);
    dx_buf_putc(&text, ']');
    char path[64];
    snprintf(path, sizeof path, "%c%s", name[0] - 'A' + 'a', name + 1);
    be__batch_verr(v, j->valuestring, path, text.p);
    dx_buf_deinit(&text);
}

/* A character of the table name pattern [a-zA-Z0-9_.-]. */
static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static int table_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (strncmp(name, "arn:", 4) == 0)
        return len <= 1024; /* a table ARN, resolved by the catalog */
    if (len < 3 || len > 255)
        return 0;
    for (const char *p = name; *p; p++)
        if (!name_char(*p))
            return 0;
    return 1;
}

void be__batch_table_name_verr(struct be_batch_verrs *v, const char *path, const char *name)
{
    size_t len = strlen(name);
    if (strncmp(name, "arn:", 4) == 0) {
        if (len > 1024)
            be__batch_verr(v, name, path, "Member must have length less than or equal to 1024");
        return;
    }
    int ok = len > 0;
    for (const char *p = name; *p && ok; p++)
        ok = name_char(*p);
    if (!ok)
        be__batch_verr(v, name, path,
                       "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    if (len < 3)
        be__batch_verr(v, name, path, "Member must have length greater than or equal to 3");
    if (len > 255)
        be__batch_verr(v, name, path, "Member must have length less than or equal to 255");
}

const cJSON *be__batch_request_items(struct be_req *r, struct be_batch_verrs *v)
{
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(r->json, "RequestItems");
    if (!ri || cJSON_IsNull(ri)) {
        be__batch_verr(v, NULL, "requestItems", "Member must not be null");
        return NULL;
    }
    if (!ri->child) {
        be__batch_verr(v, "{}", "requestItems",
                       "Member must have length greater than or equal to 1");
        return ri;
    }
    for (const cJSON *t = ri->child; t; t = t->next) {
        if (!table_name_ok(t->string)) {
            /* DynamoDB lists every constraint of the keys, whichever failed. */
            be__batch_verr(v, be__batch_jvalue(r, ri), "requestItems",
                           "Map keys must satisfy constraint: [Member must have length less "
                           "than or equal to 255, Member must have length greater than or "
                           "equal to 3, Member must satisfy regular expression pattern: "
                           "[a-zA-Z0-9_.-]+]");
            break;
        }
    }
    return ri;
}

int be__batch_verr_finish(struct be_batch_verrs *v, struct dx_error *err)
{
    int rc = DX_OK;
    if (v->n)
        rc = dx_error_set(err, DX_E_VALIDATION, "%d validation error%s detected: %s", v->n,
                          v->n > 1 ? "s" : "", v->msg.p);
    dx_buf_deinit(&v->msg);
    return rc;
}

struct be_table *be__batch_table(struct backend *be, const char *name)
{
    struct be_table *t = be_catalog_get(be->catalog, name);
    if (t && be_table_in_transition(t)) {
        be_table_unref(t);
        t = NULL;
    }
    return t;
}

int be__batch_table_recheck(struct be_req *r, MDB_txn *txn, const struct be_table *t,
                            struct be_table **current)
{
    struct be_table *cur = be_catalog_get(r->be->catalog, t->name);
    /* The published snapshot lags the writer within a group: a DeleteTable applied earlier in
     * this group has already removed the definition (stored under the table's name) from the
     * catalog database, so look there too. */
    MDB_val k = {strlen(t->name), t->name}, val;
    int stored = mdb_get(txn, be_store_dbi(r->be->store, BE_DBI_CATALOG), &k, &val) == 0;
    int ok = cur && stored && cur->id == t->id && !be_status_is(cur->status, "DELETING");
    if (!ok) {
        if (cur)
            be_table_unref(cur);
        *current = NULL;
        return dx_error_set(&r->err, DX_E_RESOURCE_NOT_FOUND, "Requested resource not found");
    }
    *current = cur;
    return DX_OK;
}

void be__batch_put_member_value(struct dx_buf *out, const struct dx_buf *fragment)
{
    const char *colon = memchr(fragment->p, ':', fragment->len);
    size_t skip = colon ? (size_t)(colon - fragment->p) + 1 : 0;
    dx_buf_append(out, fragment->p + skip, fragment->len - skip);
}

/* ---- BatchGetItem ---- */

struct get_key {
    const cJSON *json; /* the request's key, for UnprocessedKeys */
    struct dx_av *key;
    const void *skey;
    size_t skeylen;
};

struct get_table {
    const cJSON *req; /* the table's KeysAndAttributes */
    const char *name; /* as the request names it */
    struct be_table *t;
    struct be_exprs *x;
    int consistent;
    struct get_key *keys;
    size_t n;
    double units;
};

static int get_types(struct be_req *r)
{
    const char *s;
    int rc = be_param_str(r, "ReturnConsumedCapacity", 0, &s);
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(r->json, "RequestItems");
    if (rc == DX_OK)
        rc = dx_json_check(ri, DX_JT_MAP, &r->err);
    for (const cJSON *t = ri ? ri->child : NULL; t && rc == DX_OK; t = t->next) {
        rc = dx_json_check(t, DX_JT_STRUCT, &r->err);
        if (rc != DX_OK || !cJSON_IsObject(t))
            continue;
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(t, "Keys");
        const cJSON *atg = cJSON_GetObjectItemCaseSensitive(t, "AttributesToGet");
        const cJSON *names = cJSON_GetObjectItemCaseSensitive(t, "ExpressionAttributeNames");
        rc = dx_json_check(keys, DX_JT_LIST, &r->err);
        for (const cJSON *k = cJSON_IsArray(keys) ? keys->child : NULL; k && rc == DX_OK;
             k = k->next)
            rc = dx_json_check(k, DX_JT_MAP, &r->err);
        if (rc == DX_OK)
            rc = dx_json_check(atg, DX_JT_LIST, &r->err);
        for (const cJSON *a = cJSON_IsArray(atg) ? atg->child : NULL; a && rc == DX_OK; a = a->next)
            rc = dx_json_check(a, DX_JT_STRING, &r->err);
        if (rc == DX_OK)
            rc = dx_json_check(cJSON_GetObjectItemCaseSensitive(t, "ConsistentRead"), DX_JT_BOOL,
                               &r->err);
        if (rc == DX_OK)
            rc = dx_json_check(cJSON_GetObjectItemCaseSensitive(t, "ProjectionExpression"),
                               DX_JT_STRING, &r->err);
        if (rc == DX_OK)
            rc = dx_json_check(names, DX_JT_MAP, &r->err);
        for (const cJSON *n = cJSON_IsObject(names) ? names->child : NULL; n && rc == DX_OK;
             n = n->next)
            rc = dx_json_check(n, DX_JT_STRING, &r->err);
    }
    return rc;
}

static int get_constraints(struct be_req *r)
{
    struct be_batch_verrs v = {0, DX_BUF_INIT};
    be__batch_enum(r, &v, "ReturnConsumedCapacity", be__enum_return_capacity);
    const cJSON *ri = be__batch_request_items(r, &v);
    for (const cJSON *t = ri ? ri->child : NULL; t; t = t->next) {
        char path[320];
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(t, "Keys");
        if (!keys || cJSON_IsNull(keys)) {
            snprintf(path, sizeof path, "requestItems.%s.member.keys", t->string);
            be__batch_verr(&v, NULL, path, "Member must not be null");
        } else {
            int n = cJSON_GetArraySize(keys);
            snprintf(path, sizeof path, "requestItems.%s.member.keys", t->string);
            if (n < 1)
                be__batch_verr(&v, "[]", path,
                               "Member must have length greater than or equal to 1");
            else if (n > MAX_GET_KEYS)
                be__batch_verr(&v, be__batch_jvalue(r, keys), path,
                               "Member must have length less than or equal to 100");
        }
        const cJSON *atg = cJSON_GetObjectItemCaseSensitive(t, "AttributesToGet");
        if (cJSON_IsArray(atg)) {
            int n = cJSON_GetArraySize(atg);
            snprintf(path, sizeof path, "requestItems.%s.member.attributesToGet", t->string);
            if (n < 1)
                be__batch_verr(&v, "[]", path,
                               "Member must have length greater than or equal to 1");
            else if (n > 255)
                be__batch_verr(&v, be__batch_jvalue(r, atg), path,
                               "Member must have length less than or equal to 255");
        }
    }
    return be__batch_verr_finish(&v, &r->err);
}

static void get_release(struct get_table *gt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (gt[i].t)
            be_table_unref(gt[i].t);
        gt[i].t = NULL;
    }
}

/* Per table, in request order: expressions, key attribute values, duplicates, the total. */
static int get_custom(struct be_req *r, struct get_table *gt, size_t nt)
{
    size_t total = 0;
    for (size_t i = 0; i < nt; i++) {
        struct get_table *g = &gt[i];
        int rc = be_exprs_parse(&r->arena, DX_OP_BatchGetItem, g->req, g->t, &g->x, &r->err);
        if (rc != DX_OK)
            return rc;
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(g->req, "Keys");
        g->n = (size_t)cJSON_GetArraySize(keys);
        g->keys = dx_arena_calloc(&r->arena, g->n * sizeof(*g->keys) + 1);
        size_t k = 0;
        for (const cJSON *kj = keys->child; kj; kj = kj->next, k++) {
            struct get_key *gk = &g->keys[k];
            gk->json = kj;
            rc = dx_av_map_from_json(&r->arena, kj, &gk->key, &r->err);
            if (rc != DX_OK)
                return rc;
            for (size_t j = 0; j < k; j++) {
                if (dx_av_equal(g->keys[j].key, gk->key))
                    return dx_error_set(&r->err, DX_E_VALIDATION,
                                        "Provided list of item keys contains duplicates");
            }
            if (++total > MAX_GET_KEYS)
                return dx_error_set(&r->err, DX_E_VALIDATION,
                                    "Too many items requested for the BatchGetItem call");
        }
    }
    return DX_OK;
}

/* The tables (all must exist), then every key against its table's schema. */
static int get_keys(struct be_req *r, struct get_table *gt, size_t nt)
{
    for (size_t i = 0; i < nt; i++) {
        if (!gt[i].t)
            return dx_error_set(&r->err, DX_E_RESOURCE_NOT_FOUND, "Requested resource not found");
    }
    struct dx_buf kb = DX_BUF_INIT;
    int rc = DX_OK;
    for (size_t i = 0; i < nt && rc == DX_OK; i++) {
        for (size_t k = 0; k < gt[i].n && rc == DX_OK; k++) {
            dx_buf_reset(&kb);
            rc = be_key_from_key(gt[i].t, gt[i].keys[k].key, &kb, &r->err);
            if (rc == DX_OK) {
                gt[i].keys[k].skey = dx_arena_memdup(&r->arena, kb.p, kb.len);
                gt[i].keys[k].skeylen = kb.len;
            }
        }
    }
    dx_buf_deinit(&kb);
    return rc;
}

/* UnprocessedKeys entry of table g for keys [from, n): the table's request with those keys. */
static void put_unprocessed(struct dx_buf *out, const struct get_table *g, size_t from)
{
    cJSON *copy = cJSON_Duplicate(g->req, 1);
    cJSON *keys = cJSON_CreateArray();
    for (size_t k = from; k < g->n; k++)
        cJSON_AddItemToArray(keys, cJSON_Duplicate(g->keys[k].json, 1));
    cJSON_ReplaceItemInObjectCaseSensitive(copy, "Keys", keys);
    char *s = cJSON_PrintUnformatted(copy);
    dx_buf_json_str(out, g->name, strlen(g->name));
    dx_buf_putc(out, ':');
    dx_buf_puts(out, s);
    cJSON_free(s);
    cJSON_Delete(copy);
}

static int get_read(struct be_req *r, struct get_table *gt, size_t nt, int level)
{
    MDB_txn *txn = NULL;
    int rc = be_read_begin(r->be, &txn);
    if (rc != DX_OK)
        return rc;
    struct dx_buf *o = &r->out;
    struct dx_buf one = DX_BUF_INIT;
    size_t *done = dx_arena_calloc(&r->arena, nt * sizeof(*done) + 1);
    int full = 0;
    dx_buf_reset(o);
    dx_buf_puts(o, "{\"Responses\":{");
    for (size_t i = 0; i < nt && rc == DX_OK; i++) {
        struct get_table *g = &gt[i];
        dx_buf_puts(o, i ? "," : "");
        dx_buf_json_str(o, g->name, strlen(g->name));
        dx_buf_puts(o, ":[");
        int first = 1;
        /* A table out of capacity (while another of the batch has some) is not read: all its
         * keys come back unprocessed. */
        int out = !full && be_capacity_table_out(r, g->t, 0);
        for (size_t k = 0; k < g->n && !full && !out; k++) {
            struct dx_av *item = NULL;
            rc = be_item_get(r->be->store, txn, g->keys[k].skey, g->keys[k].skeylen, &r->arena,
                             &item);
            if (rc == DX_ENOTFOUND) {
                item = NULL;
                rc = DX_OK;
            }
            if (rc != DX_OK)
                break;
            if (item) {
                dx_buf_reset(&one);
                dx_av_map_write_json(&one, be_exprs_project(g->x, &r->arena, item));
                if (o->len + one.len + 1 > RESPONSE_MAX) {
                    full = 1; /* this key and every later one are left unprocessed */
                    break;
                }
                dx_buf_puts(o, first ? "" : ",");
                dx_buf_append(o, one.p, one.len);
                first = 0;
            }
            /* Capacity is charged on the whole item read, not on the projection. */
            g->units += be__read_units(item, g->consistent);
            done[i] = k + 1;
        }
        dx_buf_putc(o, ']');
    }
    be_read_end(txn);
    dx_buf_deinit(&one);
    if (rc != DX_OK)
        return rc;
    dx_buf_puts(o, "},\"UnprocessedKeys\":{");
    int first = 1;
    for (size_t i = 0; i < nt; i++) {
        if (done[i] == gt[i].n)
            continue;
        dx_buf_puts(o, first ? "" : ",");
        put_unprocessed(o, &gt[i], done[i]);
        first = 0;
    }
    dx_buf_putc(o, '}');
    for (size_t i = 0; i < nt; i++)
        be_req_usage(r, gt[i].t->name, NULL, gt[i].units, 0);
    if (level) {
        struct dx_buf frag = DX_BUF_INIT;
        dx_buf_puts(o, ",\"ConsumedCapacity\":[");
        for (size_t i = 0; i < nt; i++) {
            dx_buf_reset(&frag);
            be__write_read_capacity(&frag, gt[i].name, gt[i].units, level);
            dx_buf_puts(o, i ? "," : "");
            be__batch_put_member_value(o, &frag);
        }
        dx_buf_putc(o, ']');
        dx_buf_deinit(&frag);
    }
    dx_buf_putc(o, '}');
    return DX_OK;
}

int be_op_BatchGetItem(struct be_req *r)
{
    int rc = get_types(r);
    if (rc == DX_OK)
        rc = get_constraints(r);
    if (rc != DX_OK)
        return rc;
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(r->json, "RequestItems");
    size_t nt = (size_t)cJSON_GetArraySize(ri);
    struct get_table *gt = dx_arena_calloc(&r->arena, nt * sizeof(*gt) + 1);
    size_t i = 0;
    for (const cJSON *t = ri->child; t; t = t->next, i++) {
        gt[i].req = t;
        gt[i].name = t->string;
        gt[i].t = be__batch_table(r->be, t->string);
        gt[i].consistent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "ConsistentRead"));
    }
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(r->json, "ReturnConsumedCapacity");
    int level = be__item_capacity_level(cJSON_IsString(cap) ? cap->valuestring : NULL);

    rc = get_custom(r, gt, nt);
    if (rc == DX_OK)
        rc = get_keys(r, gt, nt);
    if (rc == DX_OK)
        rc = get_read(r, gt, nt, level);
    get_release(gt, nt);
    return rc;
}
