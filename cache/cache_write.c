/*
 * Write-through invalidation: writes and table changes go to the inner implementation first;
 * when they succeeded, or failed in a way that leaves their effect unknown (5xx, no reply), the
 * generations of every group they touched are bumped (cache_gen.h), which makes the affected
 * entries stale: the item entries of each written key (every projection), the Query pages of
 * its partition, and the Scans and index Queries of its table. A 4xx reply means DynamoDB
 * changed nothing, and nothing is dropped.
 *
 * The groups are computed from the request before it is forwarded. A Put carries a whole item,
 * not a key: once a GetItem taught the cache the table's key names the item's key is exact;
 * before that, every item entry of the table goes, and the partition of every scalar attribute
 * that might be the partition key. PartiQL writes drop their whole table (their WHERE clause
 * may name any items), and a statement the cache cannot read drops everything.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "cache_key.h"
#include "cache_priv.h"
#include "dx_alloc.h"
#include "dx_status.h"

struct bumps {
    uint64_t *h;
    size_t n, cap;
};

static void bump_add(struct bumps *b, uint64_t h)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->h = dx_realloc(b->h, b->cap * sizeof(*b->h));
    }
    b->h[b->n++] = h;
}

/* The groups of the item with key map `key` (or, when item is set, the whole item). */
static void written_item(struct cache *c, struct bumps *b, const char *t, size_t tl,
                         const cJSON *map, int is_item)
{
    struct dx_buf ck = DX_BUF_INIT, cv = DX_BUF_INIT;
    struct cache_schema sc;
    const char *names[2];
    size_t nnames = 0;
    bump_add(b, cache__g_writes(t, tl));
    if (is_item && cache__schema_get(c, t, tl, &sc) == DX_OK) {
        nnames = sc.n;
        for (size_t i = 0; i < nnames; i++)
            names[i] = sc.name[i];
    }
    if (!cJSON_IsObject(map)) {
        bump_add(b, cache__g_table(t, tl));
        goto out;
    }
    if (!is_item || nnames) {
        if (cache_key_primary(&ck, map, names, nnames) != DX_OK) {
            /* unreadable key (the write will most likely fail): drop the whole table */
            bump_add(b, cache__g_table(t, tl));
            goto out;
        }
        bump_add(b, cache__g_item(t, tl, ck.p, ck.len));
        for (const cJSON *m = map->child; m; m = m->next) {
            int is_key = !is_item;
            for (size_t i = 0; i < nnames; i++)
                is_key |= strcmp(m->string, names[i]) == 0;
            if (!is_key)
                continue;
            dx_buf_reset(&cv);
            if (cache_key_scalar(&cv, m) == DX_OK)
                bump_add(b, cache__g_attr(t, tl, m->string, strlen(m->string), cv.p, cv.len));
        }
        goto out;
    }
    /* a Put into a table whose key names we have not learned: every item entry of the table,
     * and the partition of every attribute that could be the partition key */
    bump_add(b, cache__g_items(t, tl));
    for (const cJSON *m = map->child; m; m = m->next) {
        dx_buf_reset(&cv);
        if (m->string && cache_key_scalar(&cv, m) == DX_OK)
            bump_add(b, cache__g_attr(t, tl, m->string, strlen(m->string), cv.p, cv.len));
    }
out:
    dx_buf_deinit(&ck);
    dx_buf_deinit(&cv);
}

static int collect_one(struct cache *c, struct bumps *b, const cJSON *obj, const char *member,
                       int is_item)
{
    const char *t;
    size_t tl;
    if (cache_key_table_name(cJSON_GetObjectItemCaseSensitive(obj, "TableName"), &t, &tl))
        return DX_EINVAL;
    written_item(c, b, t, tl, cJSON_GetObjectItemCaseSensitive(obj, member), is_item);
    return DX_OK;
}

/* The groups a write request touches. DX_EINVAL when it cannot be read. */
static int collect_writes(struct cache *c, enum dx_op op, const cJSON *req, struct bumps *b)
{
    switch (op) {
    case DX_OP_PutItem:
        return collect_one(c, b, req, "Item", 1);
    case DX_OP_UpdateItem:
    case DX_OP_DeleteItem:
        return collect_one(c, b, req, "Key", 0);
    case DX_OP_BatchWriteItem: {
        const cJSON *ri = cJSON_GetObjectItemCaseSensitive(req, "RequestItems");
        if (!cJSON_IsObject(ri))
            return DX_EINVAL;
        for (const cJSON *tab = ri->child; tab; tab = tab->next) {
            const char *t = tab->string;
            size_t tl = t ? strlen(t) : 0;
            cJSON tn = {.type = cJSON_String, .valuestring = (char *)t};
            if (!t || cache_key_table_name(&tn, &t, &tl) || !cJSON_IsArray(tab))
                return DX_EINVAL;
            for (const cJSON *r = tab->child; r; r = r->next) {
                const cJSON *put = cJSON_GetObjectItemCaseSensitive(r, "PutRequest");
                const cJSON *del = cJSON_GetObjectItemCaseSensitive(r, "DeleteRequest");
                if (put)
                    written_item(c, b, t, tl, cJSON_GetObjectItemCaseSensitive(put, "Item"), 1);
                else if (del)
                    written_item(c, b, t, tl, cJSON_GetObjectItemCaseSensitive(del, "Key"), 0);
                else
                    bump_add(b, cache__g_table(t, tl));
            }
        }
        return DX_OK;
    }
    case DX_OP_TransactWriteItems: {
        const cJSON *ti = cJSON_GetObjectItemCaseSensitive(req, "TransactItems");
        if (!cJSON_IsArray(ti))
            return DX_EINVAL;
        for (const cJSON *it = ti->child; it; it = it->next) {
            const cJSON *x;
            int rc = DX_OK;
            if ((x = cJSON_GetObjectItemCaseSensitive(it, "Put")))
                rc = collect_one(c, b, x, "Item", 1);
            else if ((x = cJSON_GetObjectItemCaseSensitive(it, "Update")))
                rc = collect_one(c, b, x, "Key", 0);
            else if ((x = cJSON_GetObjectItemCaseSensitive(it, "Delete")))
                rc = collect_one(c, b, x, "Key", 0);
            if (rc)
                return rc;
        }
        return DX_OK;
    }
    default:
        return DX_EINVAL;
    }
}

struct write_ctx {
    struct cache *c;
    dx_api_done_cb done;
    void *arg;
    struct bumps b;
    char *table; /* control-plane ops: the table whose entries all go */
    size_t tlen;
    int all; /* a write whose target is unknown: everything goes */
};

/* --- PartiQL --- */

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

/* Reads a keyword at s into w (upper-cased); returns the position after it. */
static const char *word(const char *s, char *w, size_t wcap)
{
    size_t n = 0;
    s = skip_blank(s);
    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
        if (n + 1 < wcap)
            w[n++] = (char)(*s >= 'a' ? *s - 32 : *s);
        s++;
    }
    w[n] = '\0';
    return s;
}

/*
 * The groups a PartiQL statement touches: nothing for a read (SELECT, EXISTS), the whole table
 * for INSERT INTO t / UPDATE t / DELETE FROM t (statements name items by arbitrary conditions,
 * so nothing finer is safe), and everything (x->all) when the statement cannot be read.
 */
static void partiql_statement(struct write_ctx *x, const cJSON *st)
{
    char w[16];
    if (!cJSON_IsString(st)) {
        x->all = 1;
        return;
    }
    const char *s = word(st->valuestring, w, sizeof(w));
    if (strcmp(w, "SELECT") == 0 || strcmp(w, "EXISTS") == 0)
        return;
    if (strcmp(w, "INSERT") == 0 || strcmp(w, "DELETE") == 0) {
        char kw[16];
        s = word(s, kw, sizeof(kw));
        if (strcmp(kw, w[0] == 'I' ? "INTO" : "FROM") != 0) {
            x->all = 1;
            return;
        }
    } else if (strcmp(w, "UPDATE") != 0) {
        x->all = 1;
        return;
    }
    s = skip_blank(s);
    const char *t = s, *e;
    if (*s == '"') {
        t = s + 1;
        e = strchr(t, '"');
    } else {
        e = s;
        while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') ||
               *e == '_' || *e == '-' || *e == '.')
            e++;
    }
    if (!e || e == t) {
        x->all = 1;
        return;
    }
    bump_add(&x->b, cache__g_table(t, (size_t)(e - t)));
}

static void collect_partiql(struct write_ctx *x, enum dx_op op, const cJSON *req)
{
    if (op == DX_OP_ExecuteStatement) {
        partiql_statement(x, cJSON_GetObjectItemCaseSensitive(req, "Statement"));
        return;
    }
    const char *list = op == DX_OP_BatchExecuteStatement ? "Statements" : "TransactStatements";
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(req, list);
    if (!cJSON_IsArray(l)) {
        x->all = 1;
        return;
    }
    for (const cJSON *it = l->child; it; it = it->next)
        partiql_statement(x, cJSON_GetObjectItemCaseSensitive(it, "Statement"));
}

static void write_done(struct dx_reply *reply, void *arg)
{
    struct write_ctx *x = arg;
    struct cache *c = x->c;
    /* 4xx: DynamoDB changed nothing. 2xx: it did. 5xx or nothing: it may have. */
    if (!reply || reply->status < 400 || reply->status >= 500) {
        for (size_t i = 0; i < x->b.n; i++)
            cache_gens_bump(c->gens, x->b.h[i]);
        if (x->table)
            cache__schema_forget(c, x->table, x->tlen);
        if (x->all)
            atomic_fetch_add_explicit(&c->epoch, 1, memory_order_acq_rel);
        if (x->b.n || x->all)
            cache__count(&c->invalidations, 1);
    }
    dx_api_done_cb done = x->done;
    void *darg = x->arg;
    dx_free(x->b.h);
    dx_free(x->table);
    dx_free(x);
    done(reply, darg);
}

void cache__write_through(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                          void *arg)
{
    struct write_ctx *x = dx_calloc(1, sizeof(*x));
    x->c = w->c;
    x->done = done;
    x->arg = arg;
    cJSON *req = cJSON_ParseWithLength(call->body, call->len);
    int rc = DX_EINVAL;
    if (cJSON_IsObject(req)) {
        if (dx_op_flags(call->op) & DX_OPF_ITEM_WRITE) {
            rc = collect_writes(w->c, call->op, req, &x->b);
        } else if (dx_op_flags(call->op) & DX_OPF_PARTIQL) {
            collect_partiql(x, call->op, req);
            rc = x->b.n || x->all ? DX_OK : DX_EINVAL; /* reads only: nothing to do after */
        } else {
            const cJSON *tn = cJSON_GetObjectItemCaseSensitive(req, "TableName");
            if (!tn)
                tn = cJSON_GetObjectItemCaseSensitive(req, "TargetTableName");
            const char *t;
            size_t tl;
            if (cache_key_table_name(tn, &t, &tl) == DX_OK) {
                bump_add(&x->b, cache__g_table(t, tl));
                x->table = dx_strndup(t, tl);
                x->tlen = tl;
                rc = DX_OK;
            }
        }
    }
    cJSON_Delete(req);
    if (rc != DX_OK) {
        /* not readable (the inner implementation rejects it), or nothing to drop */
        dx_free(x->b.h);
        dx_free(x->table);
        dx_free(x);
        cache__forward(w, call, done, arg);
        return;
    }
    cache__forward(w, call, write_done, x);
}
