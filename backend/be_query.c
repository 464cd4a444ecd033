/*
 * Query and Scan on tables and their secondary indexes.
 *
 * Both validate on the caller's thread in DynamoDB's order (generic member checks, integer
 * ranges, Segment/TotalSegments, Select combinations, the table and the expressions, the
 * index, the key condition, ExclusiveStartKey), then read in one read transaction with an
 * LMDB cursor over the items database.
 *
 * Query reads only the partition's key range: it seeks to the partition prefix + the encoded
 * sort-key bound (MDB_SET_RANGE) and walks forward, or backward for ScanIndexForward=false,
 * until the sort key passes the other bound. Scan walks the table's keys in storage order
 * (table id | hash32 | partition key | sort key); a parallel Scan segment s of T is the
 * contiguous hash32 range [s*2^32/T, (s+1)*2^32/T), so every item is in exactly one segment.
 *
 * Keys too long for LMDB are stored as a prefix + digest (be_key_fit): among items sharing
 * such a prefix the storage order is the digest's, not the sort key's. The walk therefore
 * checks each item's decoded key attributes rather than trusting key bytes, and only ends
 * early on a key short enough to be stored whole; paging resumes at the storage key of
 * ExclusiveStartKey, so every item is still returned exactly once. Caveat: inside such a
 * digest group (sort keys longer than ~450 bytes encoded, or partition keys longer than
 * ~470) the order of the items returned is not sort-key order.
 *
 * An index is read through a view of the table (be_index_view): the index's storage id and key
 * schema, so the same walks serve it; its entries (be_mutation.c) hold the projected items and
 * are keyed by index keys then table keys, which is why an index's ExclusiveStartKey and
 * LastEvaluatedKey carry both. An LSI asked for attributes it does not project reads the
 * table's item for each entry, as DynamoDB does; a GSI cannot (DynamoDB's errors).
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "be_catalog.h"
#include "be_expr.h"
#include "be_item_ops.h"
#include "be_mutation.h"
#include "be_query.h"
#include "be_store.h"
#include "dx_json.h"
#include "dx_status.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define KEY_CUT (BE_KEY_MAX - 32)

static const char *const enum_select[] = {"SPECIFIC_ATTRIBUTES", "COUNT", "ALL_ATTRIBUTES",
                                          "ALL_PROJECTED_ATTRIBUTES", NULL};

/* clang-format off */
static const struct be_iparam query_params[] = {
    {"ExclusiveStartKey", BE_IP_MAP, 0, NULL},
    {"KeyConditions", BE_IP_MAP, 0, NULL},
    {"QueryFilter", BE_IP_MAP, 0, NULL},
    {"ReturnConsumedCapacity", BE_IP_STR, 0, be__enum_return_capacity},
    {"AttributesToGet", BE_IP_ARR, 0, NULL},
    {"TableName", BE_IP_STR, BE_IP_NOTNULL | BE_IP_TABLENAME, NULL},
    {"Select", BE_IP_STR, 0, enum_select},
    {"ConsistentRead", BE_IP_BOOL, 0, NULL},
    {"IndexName", BE_IP_STR, BE_IP_TABLENAME, NULL},
    {"ScanIndexForward", BE_IP_BOOL, 0, NULL},
    {"ConditionalOperator", BE_IP_STR, 0, be__enum_conditional_op},
    {"ProjectionExpression", BE_IP_STR, 0, NULL},
    {"FilterExpression", BE_IP_STR, 0, NULL},
    {"KeyConditionExpression", BE_IP_STR, 0, NULL},
    {"ExpressionAttributeNames", BE_IP_MAP, 0, NULL},
    {"ExpressionAttributeValues", BE_IP_MAP, 0, NULL},
};

static const struct be_iparam scan_params[] = {
    {"ReturnConsumedCapacity", BE_IP_STR, 0, be__enum_return_capacity},
    {"AttributesToGet", BE_IP_ARR, 0, NULL},
    {"Select", BE_IP_STR, 0, enum_select},
    {"TableName", BE_IP_STR, BE_IP_NOTNULL | BE_IP_TABLENAME, NULL},
    {"ExclusiveStartKey", BE_IP_MAP, 0, NULL},
    {"ScanFilter", BE_IP_MAP, 0, NULL},
    {"ConsistentRead", BE_IP_BOOL, 0, NULL},
    {"IndexName", BE_IP_STR, BE_IP_TABLENAME, NULL},
    {"ConditionalOperator", BE_IP_STR, 0, be__enum_conditional_op},
    {"ProjectionExpression", BE_IP_STR, 0, NULL},
    {"FilterExpression", BE_IP_STR, 0, NULL},
    {"ExpressionAttributeNames", BE_IP_MAP, 0, NULL},
    {"ExpressionAttributeValues", BE_IP_MAP, 0, NULL},
};
/* clang-format on */

/* ---- the page ---- */

int be__page_visit(struct be_page *pg, const void *data, size_t len, const struct dx_av *item,
                   int *stop)
{
    uint64_t size = 0;
    *stop = 0;
    if (be_codec_size(data, len, &size) != DX_OK)
        size = item ? dx_av_item_size(item) : 0;
    pg->scanned++;
    pg->bytes += size;
    pg->last = item;
    int ok = 1;
    int rc = be_exprs_check_filter(pg->x, item, &ok, &pg->r->err);
    if (rc != DX_OK)
        return rc;
    if (ok) {
        pg->count++;
        if (!pg->count_only) {
            if (pg->items.len)
                dx_buf_putc(&pg->items, ',');
            dx_av_map_write_json(&pg->items, be_exprs_project(pg->x, &pg->r->arena, item));
        }
    }
    if ((pg->limit > 0 && (long long)pg->scanned >= pg->limit) ||
        pg->bytes >= BE_QUERY_PAGE_BYTES) {
        pg->more = 1;
        *stop = 1;
    }
    return DX_OK;
}

void be__page_finish(struct be_page *pg)
{
    struct dx_buf *o = &pg->r->out;
    dx_buf_reset(o);
    dx_buf_putc(o, '{');
    if (!pg->count_only) {
        dx_buf_puts(o, "\"Items\":[");
        if (pg->items.len)
            dx_buf_append(o, pg->items.p, pg->items.len);
        dx_buf_puts(o, "],");
    }
    dx_buf_printf(o, "\"Count\":%zu,\"ScannedCount\":%zu", pg->count, pg->scanned);
    if (pg->more && pg->last) {
        dx_buf_puts(o, ",\"LastEvaluatedKey\":");
        struct dx_av *lek = be_key_attrs(&pg->r->arena, pg->t, pg->last);
        if (pg->base) {
            const struct be_keydef *kds[2] = {&pg->base->hash, &pg->base->range};
            for (int i = 0; i < 2; i++) {
                if (!kds[i]->name)
                    continue;
                size_t len = strlen(kds[i]->name);
                struct dx_av *v = dx_av_map_get(pg->last, kds[i]->name, len);
                if (v)
                    dx_av_map_set(&pg->r->arena, lek, kds[i]->name, len, v);
            }
        }
        dx_av_map_write_json(o, lek);
    }
    /* 4 KB units over all the data read (before the filter), rounded up once per page; an
     * LSI read that fetched table items adds each fetched item's own 4 KB units on the table.
     * Recorded whether or not the client asked for them. */
    double units = (double)((pg->bytes + 4095) / 4096);
    if (units < 1)
        units = 1;
    double fetched = (double)pg->fetch_units;
    if (!pg->consistent) {
        units /= 2;
        fetched /= 2;
    }
    const char *tname = pg->base ? pg->base->name : pg->t->name;
    if (pg->ix && pg->ix->global) {
        be_req_usage(pg->r, tname, pg->ix->name, units, 0);
    } else {
        be_req_usage(pg->r, tname, NULL, units + fetched, 0);
    }
    if (pg->level) {
        dx_buf_putc(o, ',');
        if (pg->ix) {
            /* An index read charges the index (INDEXES shows the table's part: 0, or what an
             * LSI read fetched from it). */
            struct be_wcap c;
            memset(&c, 0, sizeof c);
            c.table = fetched;
            c.total = units + fetched;
            c.n = 1;
            c.idx[0].name = pg->ix->name;
            c.idx[0].global = pg->ix->global;
            c.idx[0].units = units;
            be__write_write_capacity(o, tname, &c, pg->level);
        } else {
            be__write_read_capacity(o, tname, units, pg->level);
        }
    }
    dx_buf_putc(o, '}');
}

/* ---- shared request checks ---- */

static int has_member(const struct be_req *r, const char *name)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->json, name);
    return j && !cJSON_IsNull(j);
}

struct int_check {
    const char *member; /* as DynamoDB prints it */
    long long v;
    int present;
    long long min, max;
};

/* Range constraints of integer members, joined like the generic constraint messages. */
static int check_ints(struct be_req *r, struct int_check *c, size_t n)
{
    struct dx_buf msg = DX_BUF_INIT;
    int cnt = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].present)
            continue;
        int low = c[i].v<c[i].min, high = c[i].v> c[i].max;
        if (!low && !high)
            continue;
        if (cnt++)
            dx_buf_puts(&msg, "; ");
        dx_buf_printf(&msg,
                      "Value '%lld' at '%s' failed to satisfy constraint: Member must have value "
                      "%s than or equal to %lld",
                      c[i].v, c[i].member, low ? "greater" : "less", low ? c[i].min : c[i].max);
    }
    if (!cnt) {
        dx_buf_deinit(&msg);
        return DX_OK;
    }
    int rc = dx_error_set(&r->err, DX_E_VALIDATION, "%d validation error%s detected: %s", cnt,
                          cnt > 1 ? "s" : "", msg.p);
    dx_buf_deinit(&msg);
    return rc;
}

/*
 * Select with the projection members, by DynamoDB's rules, order and texts (Query puts these
 * inside the "1 validation error detected:" envelope, Scan does not). *count_only gets 1 for
 * COUNT.
 */
static int check_select(struct be_req *r, int query, int *count_only)
{
    const char *sel = dx_json_str(r->json, "Select");
    int pe = has_member(r, "ProjectionExpression"), atg = has_member(r, "AttributesToGet");
    const char *env = query ? "1 validation error detected: " : "";
    *count_only = sel && strcmp(sel, "COUNT") == 0;
    if (sel && strcmp(sel, "SPECIFIC_ATTRIBUTES") != 0 && (pe || atg)) {
        const char *what = strcmp(sel, "COUNT") == 0 ? "only the Count" : sel;
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "%sCannot specify the %s when choosing to get %s", env,
                            pe ? "ProjectionExpression" : "AttributesToGet", what);
    }
    if (sel && strcmp(sel, "SPECIFIC_ATTRIBUTES") == 0 && !pe && !atg)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "%sMust specify the AttributesToGet or ProjectionExpression when "
                            "choosing to get SPECIFIC_ATTRIBUTES",
                            env);
    if (sel && strcmp(sel, "ALL_PROJECTED_ATTRIBUTES") == 0 && !has_member(r, "IndexName"))
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "%sALL_PROJECTED_ATTRIBUTES can be used only when Querying using an "
                            "IndexName",
                            env);
    return DX_OK;
}

static int name_is(const struct be_name *n, const char *s)
{
    return s && strlen(s) == n->len && memcmp(s, n->p, n->len) == 0;
}

/* Whether index ix (of table t) stores attribute n. */
static int index_projects(const struct be_table *t, const struct be_index *ix,
                          const struct be_name *n)
{
    if (ix->projection == BE_PROJ_ALL || name_is(n, t->hash.name) || name_is(n, t->range.name) ||
        name_is(n, ix->hash.name) || name_is(n, ix->range.name))
        return 1;
    for (size_t i = 0; ix->projection == BE_PROJ_INCLUDE && i < ix->n_nonkey; i++)
        if (name_is(n, ix->nonkey[i]))
            return 1;
    return 0;
}

/* A GSI cannot fetch from the table: asking it for an attribute it does not store is
 * DynamoDB's "Global secondary index X does not project [a, b]". */
static int gsi_projection_check(struct be_req *r, const struct be_table *t,
                                const struct be_index *ix, const struct be_exprs *x)
{
    struct be_name *names;
    size_t n = be_exprs_projection_roots(x, &r->arena, &names);
    struct dx_buf missing = DX_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (index_projects(t, ix, &names[i]))
            continue;
        if (missing.len)
            dx_buf_puts(&missing, ", ");
        dx_buf_append(&missing, names[i].p, names[i].len);
    }
    int rc = DX_OK;
    if (missing.len)
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "One or more parameter values were invalid: Global secondary index %s "
                          "does not project [%s]",
                          ix->name, missing.p);
    dx_buf_deinit(&missing);
    return rc;
}

/* The index named by IndexName (*ix, NULL without one), with DynamoDB's checks of reading it:
 * an unknown index, a consistent read of a GSI, Select ALL_ATTRIBUTES on a GSI that does not
 * project everything, attributes asked of a GSI that does not store them. */
static int find_index(struct be_req *r, const struct be_table *t, const struct be_exprs *x,
                      int consistent, const struct be_index **ix)
{
    const char *name = dx_json_str(r->json, "IndexName");
    *ix = NULL;
    if (!name)
        return DX_OK;
    for (size_t i = 0; i < t->n_gsi + t->n_lsi; i++) {
        const struct be_index *in = i < t->n_gsi ? &t->gsi[i] : &t->lsi[i - t->n_gsi];
        if (in->name && strcmp(in->name, name) == 0)
            *ix = in;
    }
    if (!*ix)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "The table does not have the specified index: %s", name);
    if ((*ix)->global && (*ix)->status && strcmp((*ix)->status, "CREATING") == 0)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Cannot read from backfilling global secondary index: %s", name);
    if ((*ix)->global && consistent)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Consistent reads are not supported on global secondary indexes");
    const char *sel = dx_json_str(r->json, "Select");
    if ((*ix)->global && (*ix)->projection != BE_PROJ_ALL && sel &&
        strcmp(sel, "ALL_ATTRIBUTES") == 0)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES "
                            "is not supported for global secondary index %s because its "
                            "projection type is not ALL",
                            name);
    if ((*ix)->global && (*ix)->projection != BE_PROJ_ALL)
        return gsi_projection_check(r, t, *ix, x);
    return DX_OK;
}

/* Sets the page up to read index ix through view (or the table itself when ix is NULL). */
static void page_index(struct be_page *pg, struct be_req *r, const struct be_table *t,
                       const struct be_index *ix, struct be_table *view)
{
    pg->t = t;
    if (!ix)
        return;
    be_index_view(t, ix, view);
    pg->t = view;
    pg->base = t;
    pg->ix = ix;
    const char *sel = dx_json_str(r->json, "Select");
    /* An LSI reads what it does not project from the table (DynamoDB fetches it too). */
    pg->fetch_base = !ix->global && ix->projection != BE_PROJ_ALL &&
                     ((sel && strcmp(sel, "ALL_ATTRIBUTES") == 0) ||
                      has_member(r, "ProjectionExpression") || has_member(r, "AttributesToGet"));
}

/* Visits one entry read, first replacing an LSI entry by the table's item when needed. */
static int visit(struct be_page *pg, MDB_txn *txn, const MDB_val *v, struct dx_av *item, int *stop)
{
    const void *data = v->mv_data;
    size_t len = v->mv_size;
    if (pg->fetch_base) {
        struct dx_buf kb = DX_BUF_INIT;
        struct dx_av *full = NULL;
        struct dx_error e;
        memset(&e, 0, sizeof e);
        if (be_key_from_item(pg->base, item, &kb, &e) == DX_OK &&
            be_item_get(pg->r->be->store, txn, kb.p, kb.len, &pg->r->arena, &full) == DX_OK) {
            /* The page counts the index entry read (data, len); the fetch costs the table
             * item's own 4 KB units. */
            item = full;
            size_t size = dx_av_item_size(full);
            pg->fetch_units += size ? (size + 4095) / 4096 : 1;
        }
        dx_error_clear(&e);
        dx_buf_deinit(&kb);
    }
    return be__page_visit(pg, data, len, item, stop);
}

/* ExclusiveStartKey as a tree (*esk) and its storage key (appended to kb), or *esk NULL. As
 * DynamoDB does, only the table's key attributes of the start key are looked at. */
static int start_key(struct be_req *r, const struct be_table *t, const struct be_table *base,
                     const struct be_index *ix, struct dx_av **esk, struct dx_buf *kb)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->json, "ExclusiveStartKey");
    struct dx_av *m = NULL;
    *esk = NULL;
    if (!j || cJSON_IsNull(j))
        return DX_OK;
    int rc = dx_av_map_from_json(&r->arena, j, &m, &r->err);
    if (rc == DX_OK && base) {
        /* An index's start key: the index keys and the table keys. */
        struct dx_av *tk = be_key_attrs(&r->arena, base, m);
        struct dx_buf tb = DX_BUF_INIT;
        rc = be_key_from_key(base, tk, &tb, &r->err);
        dx_buf_deinit(&tb);
        if (rc == DX_OK) {
            *esk = be_key_attrs(&r->arena, t, m);
            if (be_key_from_key(t, *esk, &tb, &r->err) == DX_OK) {
                dx_buf_deinit(&tb);
                for (size_t i = 0; i < tk->u.map.n; i++) {
                    const struct dx_av_member *e = &tk->u.map.m[i];
                    dx_av_map_set(&r->arena, *esk, e->name, e->name_len, e->value);
                }
                rc = be_index_key(base, ix, *esk, kb) == DX_OK
                         ? DX_OK
                         : dx_error_set(&r->err, DX_E_VALIDATION,
                                        "The provided key element does not match the schema");
            } else {
                dx_buf_deinit(&tb);
                rc = DX_EREQ;
            }
        }
    } else if (rc == DX_OK) {
        *esk = be_key_attrs(&r->arena, t, m);
        rc = be_key_from_key(t, *esk, kb, &r->err);
    }
    if (rc == DX_EREQ && r->err.code == DX_E_VALIDATION && r->err.msg) {
        char *msg = dx_arena_strndup(&r->arena, r->err.msg, strlen(r->err.msg));
        return dx_error_set(&r->err, DX_E_VALIDATION, "The provided starting key is invalid: %s",
                            msg);
    }
    return rc;
}

/* ---- Query ---- */

/* Order of two S/N/B values of one type by their key encodings. */
static int key_cmp(const struct dx_av *a, const struct dx_av *b)
{
    struct dx_buf x = DX_BUF_INIT, y = DX_BUF_INIT;
    be_key_encode_value(a, &x);
    be_key_encode_value(b, &y);
    size_t n = x.len < y.len ? x.len : y.len;
    int c = memcmp(x.p, y.p, n);
    if (c == 0)
        c = x.len < y.len ? -1 : x.len > y.len;
    dx_buf_deinit(&x);
    dx_buf_deinit(&y);
    return c < 0 ? -1 : c > 0;
}

/* Where sort value v lies against the condition: -1 below it, 0 inside, 1 above it. */
static int sk_pos(const struct be_keycond *kc, const struct dx_av *v)
{
    const struct dx_av *a = kc->range[0];
    int c;
    switch (kc->range_op) {
    case BE_KC_NONE:
        return 0;
    case BE_KC_EQ:
        return key_cmp(v, a);
    case BE_KC_LT:
        return key_cmp(v, a) < 0 ? 0 : 1;
    case BE_KC_LE:
        return key_cmp(v, a) <= 0 ? 0 : 1;
    case BE_KC_GT:
        return key_cmp(v, a) > 0 ? 0 : -1;
    case BE_KC_GE:
        return key_cmp(v, a) >= 0 ? 0 : -1;
    case BE_KC_BETWEEN:
        if (key_cmp(v, a) < 0)
            return -1;
        return key_cmp(v, kc->range[1]) > 0 ? 1 : 0;
    case BE_KC_BEGINS_WITH: {
        size_t n = v->u.bytes.len < a->u.bytes.len ? v->u.bytes.len : a->u.bytes.len;
        c = memcmp(v->u.bytes.p, a->u.bytes.p, n);
        if (c == 0 && v->u.bytes.len >= a->u.bytes.len)
            return 0;
        return (c < 0 || (c == 0 && v->u.bytes.len < a->u.bytes.len)) ? -1 : 1;
    }
    }
    return 0;
}

/* Appends the encoding of a key bound: the whole value, or for begins_with the escaped bytes
 * without the terminator (so that every value with that prefix sorts after it). */
static void append_bound(struct dx_buf *b, const struct dx_av *v, int prefix)
{
    size_t at = b->len;
    be_key_encode_value(v, b);
    if (prefix && b->len >= at + 2)
        b->len -= 2;
}

/* The smallest byte string greater than every string starting with b (0: none exists). */
static int successor(struct dx_buf *b)
{
    while (b->len && ((unsigned char *)b->p)[b->len - 1] == 0xFF)
        b->len--;
    if (!b->len)
        return 0;
    ((unsigned char *)b->p)[b->len - 1]++;
    return 1;
}

static int mdb_rc(int rc)
{
    return rc == 0 ? DX_OK : rc == MDB_NOTFOUND ? DX_ENOTFOUND : DX_ESTORE;
}

static int keys_equal(const MDB_val *k, const struct dx_buf *b)
{
    return k->mv_size == b->len && memcmp(k->mv_data, b->p, b->len) == 0;
}

static int buf_cmp(const struct dx_buf *a, const struct dx_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, n);
    if (c == 0)
        c = a->len < b->len ? -1 : a->len > b->len;
    return c;
}

/* Positions the cursor on the first key to visit: forward at the first key >= from (after
 * it when `after`), backward at the last key < from (from NULL: the last key). */
static int position(MDB_cursor *cur, MDB_val *k, MDB_val *v, const struct dx_buf *from, int forward,
                    int after)
{
    int rc;
    if (!forward && !from)
        return mdb_cursor_get(cur, k, v, MDB_LAST);
    k->mv_data = from->p;
    k->mv_size = from->len;
    rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (forward) {
        if (rc == 0 && after && keys_equal(k, from))
            rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
        return rc;
    }
    if (rc == MDB_NOTFOUND)
        return mdb_cursor_get(cur, k, v, MDB_LAST);
    if (rc != 0)
        return rc;
    return mdb_cursor_get(cur, k, v, MDB_PREV);
}

static int query_walk(struct be_page *pg, MDB_txn *txn, const struct be_keycond *kc,
                      const struct dx_buf *esk_key, int forward)
{
    struct be_req *r = pg->r;
    const struct be_table *t = pg->t;
    struct dx_buf part = DX_BUF_INIT, from = DX_BUF_INIT;
    MDB_cursor *cur = NULL;
    int rc = be_key_partition(t->id, kc->hash, &part);
    if (rc != DX_OK)
        goto out;

    /* The seek bound: the lower bound forward, just past the upper bound backward. */
    const struct dx_av *bound = NULL;
    int prefix = kc->range_op == BE_KC_BEGINS_WITH;
    switch (kc->range_op) {
    case BE_KC_EQ:
    case BE_KC_BEGINS_WITH:
        bound = kc->range[0];
        break;
    case BE_KC_GT:
    case BE_KC_GE:
        bound = forward ? kc->range[0] : NULL;
        break;
    case BE_KC_LT:
    case BE_KC_LE:
        bound = forward ? NULL : kc->range[0];
        break;
    case BE_KC_BETWEEN:
        bound = kc->range[forward ? 0 : 1];
        break;
    default:
        break;
    }
    dx_buf_append(&from, part.p, part.len);
    if (bound && part.len < KEY_CUT)
        append_bound(&from, bound, prefix);
    if (from.len > KEY_CUT)
        from.len = KEY_CUT; /* a digested key keeps this prefix: seek no further */
    int have_from = forward ? 1 : successor(&from);
    int after = 0;
    if (esk_key && esk_key->len) {
        /* Resume after the start key when it lies inside the range. */
        int c = buf_cmp(esk_key, &from);
        if ((forward && c >= 0) || (!forward && (!have_from || c < 0))) {
            dx_buf_reset(&from);
            dx_buf_append(&from, esk_key->p, esk_key->len);
            have_from = 1;
            after = 1;
        }
    }

    int mrc = mdb_cursor_open(txn, be_store_dbi(r->be->store, BE_DBI_ITEMS), &cur);
    if (mrc != 0) {
        rc = DX_ESTORE;
        goto out;
    }
    MDB_val k, v;
    mrc = position(cur, &k, &v, have_from ? &from : NULL, forward, after);
    const char *hname = t->hash.name, *rname = t->range.name;
    while (mrc == 0) {
        if (k.mv_size < part.len || memcmp(k.mv_data, part.p, part.len) != 0)
            break;
        struct dx_av *item = NULL;
        rc = be_codec_decode(v.mv_data, v.mv_size, &r->arena, &item);
        if (rc != DX_OK)
            goto out;
        const struct dx_av *hv = dx_av_map_get(item, hname, strlen(hname));
        const struct dx_av *sv = rname ? dx_av_map_get(item, rname, strlen(rname)) : NULL;
        /* A cut partition prefix can be shared with another partition. */
        int pos = (hv && dx_av_equal(hv, kc->hash)) ? 0 : 2;
        if (pos == 0 && kc->range_op != BE_KC_NONE)
            pos = sv ? sk_pos(kc, sv) : 2;
        if (pos == 0) {
            int stop;
            rc = visit(pg, txn, &v, item, &stop);
            if (rc != DX_OK || stop)
                goto out;
        } else if (pos == (forward ? 1 : -1) && k.mv_size < KEY_CUT) {
            break; /* past the range; no digested key further on can be inside it */
        }
        mrc = mdb_cursor_get(cur, &k, &v, forward ? MDB_NEXT : MDB_PREV);
    }
    rc = (mrc == 0 || mrc == MDB_NOTFOUND) ? DX_OK : mdb_rc(mrc);
out:
    if (cur)
        mdb_cursor_close(cur);
    dx_buf_deinit(&part);
    dx_buf_deinit(&from);
    return rc;
}

static void av_text(struct dx_buf *b, const struct dx_av *v)
{
    dx_buf_printf(b, "{%s:", dx_av_type_name(v->type));
    if (v->type == DX_AV_B)
        dx_buf_base64(b, v->u.bytes.p, v->u.bytes.len);
    else
        dx_buf_append(b, v->u.bytes.p, v->u.bytes.len);
    dx_buf_putc(b, '}');
}

/* The key condition of the request, with BETWEEN's bound order and the start key's place. */
static int query_keycond(struct be_req *r, const struct be_table *t, const struct be_exprs *x,
                         const struct dx_av *esk, struct be_keycond *kc)
{
    int rc = be_exprs_key_condition(x, &t->hash, &t->range, kc, &r->err);
    if (rc != DX_OK)
        return rc;
    if (kc->range_op == BE_KC_BETWEEN && key_cmp(kc->range[0], kc->range[1]) > 0) {
        struct dx_buf lo = DX_BUF_INIT, hi = DX_BUF_INIT;
        av_text(&lo, kc->range[0]);
        av_text(&hi, kc->range[1]);
        dx_buf_putc(&lo, 0);
        dx_buf_putc(&hi, 0);
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "Invalid KeyConditionExpression: The BETWEEN operator requires upper "
                          "bound to be greater than or equal to lower bound; lower bound operand: "
                          "AttributeValue: %s, upper bound operand: AttributeValue: %s",
                          lo.p, hi.p);
        dx_buf_deinit(&lo);
        dx_buf_deinit(&hi);
        return rc;
    }
    if (esk) {
        /* DynamoDB's checks of where a Query may resume, in its order. */
        const struct dx_av *hv = dx_av_map_get(esk, t->hash.name, strlen(t->hash.name));
        int same = hv && dx_av_equal(hv, kc->hash);
        if (!t->range.name || kc->range_op == BE_KC_NONE) {
            if (!same)
                return dx_error_set(&r->err, DX_E_VALIDATION,
                                    "The provided starting key is outside query boundaries based "
                                    "on provided conditions");
        } else {
            const struct dx_av *sv = dx_av_map_get(esk, t->range.name, strlen(t->range.name));
            if (!sv || sk_pos(kc, sv) != 0)
                return dx_error_set(&r->err, DX_E_VALIDATION,
                                    "The provided starting key does not match the range key "
                                    "predicate");
            if (!same)
                return dx_error_set(&r->err, DX_E_VALIDATION,
                                    "The query can return at most one row and cannot be "
                                    "restarted");
        }
    }
    return DX_OK;
}

/* What Query and Scan share from validation to the walk: the table and its expressions, the
 * index read (view: the table as the index reads), ExclusiveStartKey, the page, the read
 * transaction. On the handler's stack; read_op_end releases it. */
struct read_op {
    struct be_page pg;
    struct be_table *t;
    struct be_exprs *x;
    const struct be_index *ix;
    struct be_table view;
    struct dx_av *esk;
    struct dx_buf eskb;
    MDB_txn *txn;
};

static void read_op_init(struct read_op *o)
{
    memset(o, 0, sizeof *o);
    dx_buf_init(&o->pg.items);
    dx_buf_init(&o->eskb);
}

/* Once the members are checked: the table, the expressions, the index and the start key. */
static int read_op_target(struct be_req *r, struct read_op *o)
{
    int rc = be__table_and_exprs(r, &o->t, &o->x);
    if (rc == DX_OK)
        rc = find_index(r, o->t, o->x, o->pg.consistent, &o->ix);
    if (rc != DX_OK)
        return rc;
    page_index(&o->pg, r, o->t, o->ix, &o->view);
    return start_key(r, o->pg.t, o->pg.base, o->ix, &o->esk, &o->eskb);
}

/* The page's settings, then the read transaction the walk reads in. */
static int read_op_begin(struct be_req *r, struct read_op *o, long long limit)
{
    o->pg.r = r;
    o->pg.x = o->x;
    o->pg.limit = limit;
    o->pg.level = be__item_capacity_level(dx_json_str(r->json, "ReturnConsumedCapacity"));
    return be_read_begin(r->be, &o->txn);
}

static void read_op_end(struct read_op *o)
{
    if (o->txn)
        be_read_end(o->txn);
    if (o->t)
        be_table_unref(o->t);
    dx_buf_deinit(&o->eskb);
    dx_buf_deinit(&o->pg.items);
}

int be_op_Query(struct be_req *r)
{
    struct read_op o;
    read_op_init(&o);
    int present, b, forward = 1;

    int rc = be__item_validate(r, query_params, N_OF(query_params));
    if (rc != DX_OK)
        goto out;
    struct int_check ic[1] = {{"limit", 0, 0, 1, 0x7fffffff}};
    if ((rc = be_param_int(r, "Limit", &ic[0].present, &ic[0].v)) != DX_OK)
        goto out;
    if ((rc = check_ints(r, ic, 1)) != DX_OK)
        goto out;
    if ((rc = check_select(r, 1, &o.pg.count_only)) != DX_OK)
        goto out;
    if ((rc = be_param_bool(r, "ConsistentRead", &present, &b)) != DX_OK)
        goto out;
    o.pg.consistent = present && b;
    if ((rc = be_param_bool(r, "ScanIndexForward", &present, &b)) != DX_OK)
        goto out;
    if (present && !b)
        forward = 0;
    if ((rc = read_op_target(r, &o)) != DX_OK)
        goto out;
    struct be_keycond kc;
    if ((rc = query_keycond(r, o.pg.t, o.x, o.esk, &kc)) != DX_OK)
        goto out;

    if ((rc = read_op_begin(r, &o, ic[0].present ? ic[0].v : 0)) != DX_OK)
        goto out;
    rc = query_walk(&o.pg, o.txn, &kc, o.esk ? &o.eskb : NULL, forward);
    if (rc == DX_OK)
        be__page_finish(&o.pg);
out:
    read_op_end(&o);
    return rc;
}

/* ---- Scan ---- */

static int scan_walk(struct be_page *pg, MDB_txn *txn, uint64_t lo, uint64_t hi,
                     const struct dx_buf *esk_key)
{
    struct be_req *r = pg->r;
    uint32_t tid = pg->t->id;
    /* [start, end) as the 8-byte prefix table id | hash32, read as one big-endian number. */
    uint64_t start = ((uint64_t)tid << 32) + lo, end = ((uint64_t)tid << 32) + hi;
    unsigned char sb[8];
    for (int i = 0; i < 8; i++)
        sb[i] = (unsigned char)(start >> (56 - 8 * i));
    struct dx_buf from = DX_BUF_INIT;
    dx_buf_append(&from, sb, 8);
    int after = 0;
    if (esk_key && esk_key->len && buf_cmp(esk_key, &from) >= 0) {
        dx_buf_reset(&from);
        dx_buf_append(&from, esk_key->p, esk_key->len);
        after = 1;
    }
    MDB_cursor *cur = NULL;
    int rc = DX_OK;
    int mrc = mdb_cursor_open(txn, be_store_dbi(r->be->store, BE_DBI_ITEMS), &cur);
    if (mrc != 0) {
        rc = DX_ESTORE;
        goto out;
    }
    MDB_val k, v;
    mrc = position(cur, &k, &v, &from, 1, after);
    while (mrc == 0) {
        if (k.mv_size < 8)
            break;
        const unsigned char *p = k.mv_data;
        uint64_t pre = 0;
        for (int i = 0; i < 8; i++)
            pre = (pre << 8) | p[i];
        if (pre >= end)
            break;
        struct dx_av *item = NULL;
        rc = be_codec_decode(v.mv_data, v.mv_size, &r->arena, &item);
        if (rc != DX_OK)
            goto out;
        int stop;
        rc = visit(pg, txn, &v, item, &stop);
        if (rc != DX_OK || stop)
            goto out;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    rc = (mrc == 0 || mrc == MDB_NOTFOUND) ? DX_OK : mdb_rc(mrc);
out:
    if (cur)
        mdb_cursor_close(cur);
    dx_buf_deinit(&from);
    return rc;
}

int be_op_Scan(struct be_req *r)
{
    struct read_op o;
    read_op_init(&o);
    int present, b;

    int rc = be__item_validate(r, scan_params, N_OF(scan_params));
    if (rc != DX_OK)
        goto out;
    struct int_check ic[3] = {{"limit", 0, 0, 1, 0x7fffffff},
                              {"totalSegments", 0, 0, 1, 1000000},
                              {"segment", 0, 0, 0, 999999}};
    if ((rc = be_param_int(r, "Limit", &ic[0].present, &ic[0].v)) != DX_OK ||
        (rc = be_param_int(r, "TotalSegments", &ic[1].present, &ic[1].v)) != DX_OK ||
        (rc = be_param_int(r, "Segment", &ic[2].present, &ic[2].v)) != DX_OK)
        goto out;
    if ((rc = check_ints(r, ic, 3)) != DX_OK)
        goto out;
    if (ic[2].present && !ic[1].present) {
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "The TotalSegments parameter is required but was not present in the "
                          "request when Segment parameter is present");
        goto out;
    }
    if (ic[1].present && !ic[2].present) {
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "The Segment parameter is required but was not present in the request "
                          "when parameter TotalSegments is present");
        goto out;
    }
    if (ic[1].present && ic[2].v >= ic[1].v) {
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "The Segment parameter is zero-based and must be less than parameter "
                          "TotalSegments: Segment: %lld is not less than TotalSegments: %lld",
                          ic[2].v, ic[1].v);
        goto out;
    }
    if ((rc = check_select(r, 0, &o.pg.count_only)) != DX_OK)
        goto out;
    if ((rc = be_param_bool(r, "ConsistentRead", &present, &b)) != DX_OK)
        goto out;
    o.pg.consistent = present && b;
    if ((rc = read_op_target(r, &o)) != DX_OK)
        goto out;

    /* Segment s of T: hash32 in [s*2^32/T, (s+1)*2^32/T). */
    uint64_t total = ic[1].present ? (uint64_t)ic[1].v : 1,
             seg = ic[1].present ? (uint64_t)ic[2].v : 0;
    uint64_t lo = (seg << 32) / total, hi = ((seg + 1) << 32) / total;
    if (o.esk && o.eskb.len >= 8) {
        const unsigned char *h = (const unsigned char *)o.eskb.p + 4;
        uint64_t hv =
            ((uint64_t)h[0] << 24) | ((uint64_t)h[1] << 16) | ((uint64_t)h[2] << 8) | h[3];
        if (hv < lo || hv >= hi) {
            rc = dx_error_set(&r->err, DX_E_VALIDATION,
                              "The provided Exclusive start key does not map to the provided "
                              "Segment and TotalSegments values.");
            goto out;
        }
    }

    if ((rc = read_op_begin(r, &o, ic[0].present ? ic[0].v : 0)) != DX_OK)
        goto out;
    rc = scan_walk(&o.pg, o.txn, lo, hi, o.esk ? &o.eskb : NULL);
    if (rc == DX_OK)
        be__page_finish(&o.pg);
out:
    read_op_end(&o);
    return rc;
}
