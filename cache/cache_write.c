/*
 * Write-through: writes and table changes go to the inner implementation first. When they
 * succeeded, or failed in a way that leaves their effect unknown (5xx, no reply), the
 * generations of every group they touched are bumped (cache_gen.h), which makes the affected
 * entries stale: the item entries of each written key (every projection), the Query pages of
 * its partition, and the Scans and index Queries of its table. A 4xx reply means DynamoDB
 * changed nothing and nothing is dropped, with two exceptions: a TransactWriteItems drops its
 * items whatever the answer, and a ConditionalCheckFailedException drops the item (not the
 * pages): the item did not change, but the client's condition says the cached copy may not be
 * what the client believed (a write that bypassed the cache), and a client retrying an
 * optimistic-locking loop must not read the same stale copy until the TTL.
 *
 * After a successful write the item cache holds the new image where it is known exactly: a
 * PutItem's Item (numbers in canonical form), a "no such item" entry after a DeleteItem, the
 * ALL_NEW attributes of an UpdateItem (asked of the inner implementation when the client asked
 * for NONE, and removed from the reply so the client gets exactly what it asked for), and the
 * same per request of a BatchWriteItem, except its UnprocessedItems. The image is stored with
 * generations snapshotted after the write's own bumps, so a read that started before the write
 * can never install an older image over it unnoticed (it carries older generations).
 * Two writes of one item in flight at once may be applied upstream in the order opposite to
 * their answers: a write installs its image only when no other write of the same item (nor a
 * table-wide write) overlapped it, and only drops the entry otherwise.
 *
 * The groups are computed from the request before it is forwarded. A Put carries a whole item,
 * not a key: once the cache knows the table's key names (from CreateTable, DescribeTable, or a
 * successful GetItem) the item's key is exact; before that, every item entry of the table goes,
 * and the partition of every scalar attribute that might be the partition key. PartiQL writes
 * drop their whole table (their WHERE clause may name any items), and a statement the cache
 * cannot read drops everything.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "cache_key.h"
#include "cache_priv.h"
#include "dx_alloc.h"
#include "dx_num.h"
#include "dx_status.h"

/* --- writes in flight --- */

struct cache_wnode {
    struct cache_wnode *next;
    uint64_t h;
    uint32_t count;    /* writes registered now */
    uint8_t contended; /* a second write registered while the node existed */
};

/*
 * Table-wide writes (a Put before the key names are known, PartiQL, table changes) and
 * cache-wide ones (an unreadable statement) are not registered by item: they count in
 * c->wide_started / c->wide_inflight, by table slot (the last slot: cache-wide). An image is
 * stored only when no wide write of its table was in flight as its write started, and none
 * started until its write ended. Two tables sharing a slot only cost a dropped image.
 */
static size_t wide_slot(const char *t, size_t tl)
{
    return cache__g_items(t, tl) % CACHE_WIDE_SLOTS;
}

static struct cache_wshard *wshard(struct cache *c, uint64_t h)
{
    return &c->wflight[(h >> 7) % CACHE_PSHARDS];
}

static void wf_enter(struct cache *c, uint64_t h)
{
    struct cache_wshard *s = wshard(c, h);
    pthread_mutex_lock(&s->mu);
    struct cache_wnode *n = s->head;
    while (n && n->h != h)
        n = n->next;
    if (n) {
        n->count++;
        n->contended = 1;
    } else {
        n = dx_calloc(1, sizeof(*n));
        n->h = h;
        n->count = 1;
        n->next = s->head;
        s->head = n;
    }
    pthread_mutex_unlock(&s->mu);
}

/* Unregisters one write of h; returns 1 when another write of h overlapped it. */
static int wf_leave(struct cache *c, uint64_t h)
{
    struct cache_wshard *s = wshard(c, h);
    int flags = 0;
    pthread_mutex_lock(&s->mu);
    for (struct cache_wnode **pp = &s->head; *pp; pp = &(*pp)->next) {
        struct cache_wnode *n = *pp;
        if (n->h != h)
            continue;
        flags = n->contended;
        if (--n->count == 0) {
            *pp = n->next;
            dx_free(n);
        }
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return flags;
}

/* --- what a write touches --- */

struct reg {
    uint64_t h;
    int contended; /* from wf_leave */
};

enum wimage_kind { IMG_PUT, IMG_NEGATIVE, IMG_UPDATE };

/* A new image to store once the write succeeded. */
struct wimage {
    enum wimage_kind kind;
    char *t; /* the table (owned) */
    size_t tl;
    char *key; /* item-cache key without projection (owned) */
    size_t klen, ck_off, ck_len;
    uint64_t hash;
    size_t reg_item; /* index into regs */
    size_t slot;     /* wide_slot of the table */
    int wide_free;   /* no wide write of the table (or cache-wide) in flight as the write began */
    uint64_t wide_s0, all_s0; /* wide_started of the slot and of the cache-wide slot then */
    char *body;               /* IMG_PUT: {"Item":...} (owned) */
    size_t blen;
    int skip; /* unprocessed, or the answer did not carry it */
    struct cache_meta meta;
};

struct write_ctx {
    struct cache *c;
    dx_api_done_cb done;
    void *arg;
    enum dx_op op;
    uint64_t *b; /* groups to bump */
    size_t nb, capb;
    struct reg *regs; /* items written */
    size_t nregs, capregs;
    size_t *wide; /* wide slots (CACHE_WIDE_SLOTS: cache-wide) */
    size_t nwide, capwide;
    struct wimage *img;
    size_t nimg, capimg;
    char *table; /* control-plane ops: the table whose entries all go */
    size_t tlen;
    char *keynames[2]; /* CreateTable: the key schema it creates */
    size_t nkeynames;
    int all;         /* a write whose target is unknown: everything goes */
    size_t nnoimg;   /* items written whose new image is not known */
    int want_images; /* PutItem, DeleteItem, BatchWriteItem, UpdateItem with ALL_NEW */
    int strip_attrs; /* UpdateItem upgraded to ALL_NEW: the client gets no Attributes */
    char *body;      /* the rewritten request, when upgraded */
    struct dx_call call;
};

static void bump_add(struct write_ctx *x, uint64_t h)
{
    if (x->nb == x->capb) {
        x->capb = x->capb ? x->capb * 2 : 16;
        x->b = dx_realloc(x->b, x->capb * sizeof(*x->b));
    }
    x->b[x->nb++] = h;
}

/* Registers item group h once per write; returns its index. */
static size_t reg_add(struct write_ctx *x, uint64_t h)
{
    for (size_t i = 0; i < x->nregs; i++)
        if (x->regs[i].h == h)
            return i;
    if (x->nregs == x->capregs) {
        x->capregs = x->capregs ? x->capregs * 2 : 8;
        x->regs = dx_realloc(x->regs, x->capregs * sizeof(*x->regs));
    }
    x->regs[x->nregs] = (struct reg){.h = h};
    return x->nregs++;
}

/* This write is table-wide for slot (CACHE_WIDE_SLOTS: cache-wide); once per slot. */
static void wide_add(struct write_ctx *x, size_t slot)
{
    for (size_t i = 0; i < x->nwide; i++)
        if (x->wide[i] == slot)
            return;
    if (x->nwide == x->capwide) {
        x->capwide = x->capwide ? x->capwide * 2 : 4;
        x->wide = dx_realloc(x->wide, x->capwide * sizeof(*x->wide));
    }
    x->wide[x->nwide++] = slot;
}

/* Rewrites every number of an attribute value (N, NS, inside M and L) in canonical form, as
 * DynamoDB stores and returns it. DX_EINVAL when something is not a valid attribute value. */
static int canonical_numbers(cJSON *av)
{
    if (!cJSON_IsObject(av) || !av->child || av->child->next || !av->child->string)
        return DX_EINVAL;
    cJSON *v = av->child;
    const char *type = v->string;
    char text[DX_NUM_STRMAX];
    struct dx_num num;
    if (strcmp(type, "N") == 0 || strcmp(type, "NS") == 0) {
        cJSON *list = cJSON_IsArray(v) ? v->child : v;
        if (strcmp(type, "NS") == 0 && !cJSON_IsArray(v))
            return DX_EINVAL;
        for (cJSON *n = list; n; n = cJSON_IsArray(v) ? n->next : NULL) {
            if (!cJSON_IsString(n) ||
                dx_num_parse(n->valuestring, strlen(n->valuestring), &num) != DX_NUM_OK)
                return DX_EINVAL;
            size_t tl = dx_num_format(&num, text);
            if (strlen(n->valuestring) != tl || memcmp(n->valuestring, text, tl) != 0) {
                text[tl] = '\0';
                if (!cJSON_SetValuestring(n, text))
                    return DX_EINVAL;
            }
        }
        return DX_OK;
    }
    if (strcmp(type, "M") == 0) {
        if (!cJSON_IsObject(v))
            return DX_EINVAL;
        for (cJSON *m = v->child; m; m = m->next)
            if (canonical_numbers(m) != DX_OK)
                return DX_EINVAL;
        return DX_OK;
    }
    if (strcmp(type, "L") == 0) {
        if (!cJSON_IsArray(v))
            return DX_EINVAL;
        for (cJSON *m = v->child; m; m = m->next)
            if (canonical_numbers(m) != DX_OK)
                return DX_EINVAL;
        return DX_OK;
    }
    return DX_OK;
}

/* {"Item":<item with canonical numbers>} for a Put's Item (modified in place), or NULL. */
static char *put_image(cJSON *item, size_t *len)
{
    for (cJSON *m = item->child; m; m = m->next)
        if (!m->string || canonical_numbers(m) != DX_OK)
            return NULL;
    char *s = cJSON_PrintUnformatted(item);
    if (!s)
        return NULL;
    struct dx_buf b = DX_BUF_INIT;
    dx_buf_puts(&b, "{\"Item\":");
    dx_buf_puts(&b, s);
    dx_buf_putc(&b, '}');
    cJSON_free(s);
    return dx_buf_steal(&b, len);
}

enum wkind {
    WK_KEY,    /* a key; no image (transaction items) */
    WK_ITEM,   /* a whole item; no image (transaction Puts) */
    WK_PUT,    /* a whole item, whose image is cached */
    WK_DELETE, /* a key, cached as absent */
    WK_UPDATE, /* a key, cached with the ALL_NEW attributes of the answer */
};

/* The groups of the item named by map (a key, or a whole item), and its image. */
static void written_item(struct write_ctx *x, const char *t, size_t tl, cJSON *map, enum wkind kind)
{
    struct cache *c = x->c;
    struct dx_buf ck = DX_BUF_INIT, cv = DX_BUF_INIT;
    struct cache_schema sc;
    const char *names[2];
    size_t nnames = 0;
    int is_item = kind == WK_ITEM || kind == WK_PUT;
    bump_add(x, cache__g_writes(t, tl));
    if (is_item && cache__schema_get(c, t, tl, &sc) == DX_OK) {
        nnames = sc.n;
        for (size_t i = 0; i < nnames; i++)
            names[i] = sc.name[i];
    }
    if (!cJSON_IsObject(map)) {
        bump_add(x, cache__g_table(t, tl));
        wide_add(x, wide_slot(t, tl));
        goto out;
    }
    if (!is_item || nnames) {
        if (cache_key_primary(&ck, map, names, nnames) != DX_OK) {
            /* unreadable key (the write will most likely fail): drop the whole table */
            bump_add(x, cache__g_table(t, tl));
            wide_add(x, wide_slot(t, tl));
            goto out;
        }
        uint64_t g = cache__g_item(t, tl, ck.p, ck.len);
        bump_add(x, g);
        size_t ri = reg_add(x, g);
        for (const cJSON *m = map->child; m; m = m->next) {
            int is_key = !is_item;
            for (size_t i = 0; i < nnames; i++)
                is_key |= strcmp(m->string, names[i]) == 0;
            if (!is_key)
                continue;
            dx_buf_reset(&cv);
            if (cache_key_scalar(&cv, m) == DX_OK)
                bump_add(x, cache__g_attr(t, tl, m->string, strlen(m->string), cv.p, cv.len));
        }
        if (kind == WK_KEY || kind == WK_ITEM || !cache__table_cached(c, t, tl))
            goto out;
        if (!x->want_images) {
            x->nnoimg++;
            goto out;
        }
        struct wimage im = {.kind = kind == WK_PUT      ? IMG_PUT
                                    : kind == WK_DELETE ? IMG_NEGATIVE
                                                        : IMG_UPDATE,
                            .reg_item = ri,
                            .slot = wide_slot(t, tl)};
        if (kind == WK_PUT && !(im.body = put_image(map, &im.blen))) {
            x->nnoimg++;
            goto out;
        }
        struct dx_buf key = DX_BUF_INIT;
        dx_buf_putc(&key, 'I');
        cache_key_lp(&key, t, tl);
        im.ck_off = key.len;
        im.ck_len = ck.len;
        dx_buf_append(&key, ck.p, ck.len);
        dx_buf_puts(&key, "|-"); /* no projection, as cache_key_projection writes it */
        im.key = dx_buf_steal(&key, &im.klen);
        im.hash = cache_hash(im.key, im.klen, 0);
        im.t = dx_strndup(t, tl);
        im.tl = tl;
        if (x->nimg == x->capimg) {
            x->capimg = x->capimg ? x->capimg * 2 : 4;
            x->img = dx_realloc(x->img, x->capimg * sizeof(*x->img));
        }
        x->img[x->nimg++] = im;
        goto out;
    }
    /* a Put into a table whose key names we have not learned: every item entry of the table,
     * and the partition of every attribute that could be the partition key */
    bump_add(x, cache__g_items(t, tl));
    wide_add(x, wide_slot(t, tl));
    if (kind == WK_PUT && cache__table_cached(c, t, tl))
        x->nnoimg++;
    for (const cJSON *m = map->child; m; m = m->next) {
        dx_buf_reset(&cv);
        if (m->string && cache_key_scalar(&cv, m) == DX_OK)
            bump_add(x, cache__g_attr(t, tl, m->string, strlen(m->string), cv.p, cv.len));
    }
out:
    dx_buf_deinit(&ck);
    dx_buf_deinit(&cv);
}

static int collect_one(struct write_ctx *x, cJSON *obj, const char *member, enum wkind kind)
{
    const char *t;
    size_t tl;
    if (cache_key_table_name(cJSON_GetObjectItemCaseSensitive(obj, "TableName"), &t, &tl))
        return DX_EINVAL;
    written_item(x, t, tl, cJSON_GetObjectItemCaseSensitive(obj, member), kind);
    return DX_OK;
}

/* 1 when an UpdateItem's answer will carry the new image (asking for it if the client did
 * not: then *upgrade is set). */
static int update_image(struct write_ctx *x, const cJSON *req, int *upgrade)
{
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(req, "ReturnValues");
    *upgrade = 0;
    if (rv && cJSON_IsString(rv) && strcmp(rv->valuestring, "ALL_NEW") == 0)
        return 1;
    if (rv && !(cJSON_IsString(rv) && strcmp(rv->valuestring, "NONE") == 0))
        return 0;
    if (x->c->opts.bodies_signed)
        return 0;
    *upgrade = 1;
    return 1;
}

/* The groups a write request touches. DX_EINVAL when it cannot be read. */
static int collect_writes(struct write_ctx *x, enum dx_op op, cJSON *req)
{
    switch (op) {
    case DX_OP_PutItem:
        x->want_images = 1;
        return collect_one(x, req, "Item", WK_PUT);
    case DX_OP_UpdateItem: {
        int upgrade;
        x->want_images = update_image(x, req, &upgrade);
        int rc = collect_one(x, req, "Key", WK_UPDATE);
        if (rc == DX_OK && upgrade && x->nimg) {
            cJSON_DeleteItemFromObjectCaseSensitive(req, "ReturnValues");
            cJSON_AddStringToObject(req, "ReturnValues", "ALL_NEW");
            char *s = cJSON_PrintUnformatted(req);
            x->body = dx_strdup(s);
            cJSON_free(s);
            x->strip_attrs = 1;
        }
        return rc;
    }
    case DX_OP_DeleteItem:
        x->want_images = 1;
        return collect_one(x, req, "Key", WK_DELETE);
    case DX_OP_BatchWriteItem: {
        cJSON *ri = cJSON_GetObjectItemCaseSensitive(req, "RequestItems");
        if (!cJSON_IsObject(ri))
            return DX_EINVAL;
        x->want_images = 1;
        for (cJSON *tab = ri->child; tab; tab = tab->next) {
            const char *t = tab->string;
            size_t tl = t ? strlen(t) : 0;
            cJSON tn = {.type = cJSON_String, .valuestring = (char *)t};
            if (!t || cache_key_table_name(&tn, &t, &tl) || !cJSON_IsArray(tab))
                return DX_EINVAL;
            for (cJSON *r = tab->child; r; r = r->next) {
                cJSON *put = cJSON_GetObjectItemCaseSensitive(r, "PutRequest");
                cJSON *del = cJSON_GetObjectItemCaseSensitive(r, "DeleteRequest");
                if (put) {
                    written_item(x, t, tl, cJSON_GetObjectItemCaseSensitive(put, "Item"), WK_PUT);
                } else if (del) {
                    written_item(x, t, tl, cJSON_GetObjectItemCaseSensitive(del, "Key"), WK_DELETE);
                } else {
                    bump_add(x, cache__g_table(t, tl));
                    wide_add(x, wide_slot(t, tl));
                }
            }
        }
        return DX_OK;
    }
    case DX_OP_TransactWriteItems: {
        cJSON *ti = cJSON_GetObjectItemCaseSensitive(req, "TransactItems");
        if (!cJSON_IsArray(ti))
            return DX_EINVAL;
        for (cJSON *it = ti->child; it; it = it->next) {
            cJSON *o;
            int rc = DX_OK;
            if ((o = cJSON_GetObjectItemCaseSensitive(it, "Put")))
                rc = collect_one(x, o, "Item", WK_ITEM);
            else if ((o = cJSON_GetObjectItemCaseSensitive(it, "Update")))
                rc = collect_one(x, o, "Key", WK_KEY);
            else if ((o = cJSON_GetObjectItemCaseSensitive(it, "Delete")))
                rc = collect_one(x, o, "Key", WK_KEY);
            else if ((o = cJSON_GetObjectItemCaseSensitive(it, "ConditionCheck")))
                /* changes nothing when the transaction succeeds, but its cancellation may
                 * say the cached item is not what the client believed: dropped too */
                rc = collect_one(x, o, "Key", WK_KEY);
            if (rc)
                return rc;
        }
        return DX_OK;
    }
    default:
        return DX_EINVAL;
    }
}

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
    bump_add(x, cache__g_table(t, (size_t)(e - t)));
    wide_add(x, wide_slot(t, (size_t)(e - t)));
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

/* --- after the answer --- */

static int is_type(const struct dx_reply *r, const char *type)
{
    size_t off, vl;
    if (cache_json_member(r->body, r->len, "__type", &off, &vl) != DX_OK || vl < 2)
        return 0;
    size_t tl = strlen(type);
    /* "...#Type" or "Type" */
    const char *v = r->body + off + 1;
    size_t n = vl - 2;
    return n >= tl && memcmp(v + n - tl, type, tl) == 0 && (n == tl || v[n - tl - 1] == '#');
}

/* The body without its top-level member name (found by cache_json_member at off/vlen). */
static struct dx_reply *strip_member(struct dx_reply *r, const char *name, size_t off, size_t vlen)
{
    size_t nl = strlen(name);
    const char *b = r->body;
    size_t ks = off; /* back over  "name" ws : ws */
    while (ks > 0 &&
           (b[ks - 1] == ' ' || b[ks - 1] == '\t' || b[ks - 1] == '\n' || b[ks - 1] == '\r'))
        ks--;
    if (ks == 0 || b[ks - 1] != ':')
        return r;
    ks--;
    while (ks > 0 &&
           (b[ks - 1] == ' ' || b[ks - 1] == '\t' || b[ks - 1] == '\n' || b[ks - 1] == '\r'))
        ks--;
    if (ks < nl + 2 || memcmp(b + ks - nl - 1, name, nl) != 0 || b[ks - 1] != '"' ||
        b[ks - nl - 2] != '"')
        return r;
    ks -= nl + 2;
    /* members before: (body after '{') .. ks, without a trailing comma;
     * members after: value end .. the closing '}', without a leading comma */
    size_t open = 0;
    while (open < r->len && b[open] != '{')
        open++;
    size_t close = r->len;
    while (close > 0 && b[close - 1] != '}')
        close--;
    if (open >= ks || close == 0)
        return r;
    close--;
    size_t ps = open + 1, pe = ks;
    while (pe > ps && (b[pe - 1] == ' ' || b[pe - 1] == '\n' || b[pe - 1] == '\t' ||
                       b[pe - 1] == '\r' || b[pe - 1] == ','))
        pe--;
    size_t ss = off + vlen, se = close;
    while (ss < se &&
           (b[ss] == ' ' || b[ss] == '\n' || b[ss] == '\t' || b[ss] == '\r' || b[ss] == ','))
        ss++;
    struct dx_buf out = DX_BUF_INIT;
    dx_buf_putc(&out, '{');
    dx_buf_append(&out, b + ps, pe - ps);
    if (pe > ps && se > ss)
        dx_buf_putc(&out, ',');
    dx_buf_append(&out, b + ss, se - ss);
    dx_buf_putc(&out, '}');
    size_t len;
    char *nb = dx_buf_steal(&out, &len);
    struct dx_reply *nr = dx_reply_new(r->status, nb, len);
    dx_reply_free(r);
    return nr;
}

/* Marks the images of a BatchWriteItem's UnprocessedItems (they did not happen). */
static void mark_unprocessed(struct write_ctx *x, const struct dx_reply *r)
{
    size_t off, vl;
    int rc = cache_json_member(r->body, r->len, "UnprocessedItems", &off, &vl);
    if (rc == DX_ENOTFOUND || (rc == DX_OK && vl == 2 && r->body[off + 1] == '}'))
        return;
    cJSON *resp = rc == DX_OK ? cJSON_ParseWithLength(r->body + off, vl) : NULL;
    int bad = !cJSON_IsObject(resp);
    for (cJSON *tab = bad ? NULL : resp->child; tab && !bad; tab = tab->next) {
        const char *t;
        size_t tl;
        cJSON tn = {.type = cJSON_String, .valuestring = tab->string};
        struct cache_schema sc;
        const char *names[2];
        size_t nnames = 0;
        if (!tab->string || cache_key_table_name(&tn, &t, &tl) || !cJSON_IsArray(tab)) {
            bad = 1;
            break;
        }
        if (cache__schema_get(x->c, t, tl, &sc) == DX_OK) {
            nnames = sc.n;
            for (size_t i = 0; i < nnames; i++)
                names[i] = sc.name[i];
        }
        for (const cJSON *req = tab->child; req && !bad; req = req->next) {
            const cJSON *put = cJSON_GetObjectItemCaseSensitive(req, "PutRequest");
            const cJSON *del = cJSON_GetObjectItemCaseSensitive(req, "DeleteRequest");
            const cJSON *map = put ? cJSON_GetObjectItemCaseSensitive(put, "Item")
                                   : cJSON_GetObjectItemCaseSensitive(del, "Key");
            struct dx_buf ck = DX_BUF_INIT;
            if (!map || (put && !nnames) ||
                cache_key_primary(&ck, map, put ? names : NULL, put ? nnames : 0) != DX_OK) {
                bad = 1;
            } else {
                for (size_t i = 0; i < x->nimg; i++) {
                    struct wimage *im = &x->img[i];
                    if (im->tl == tl && memcmp(im->t, t, tl) == 0 && im->ck_len == ck.len &&
                        memcmp(im->key + im->ck_off, ck.p, ck.len) == 0)
                        im->skip = 1;
                }
            }
            dx_buf_deinit(&ck);
        }
    }
    if (bad)
        for (size_t i = 0; i < x->nimg; i++)
            x->img[i].skip = 1;
    cJSON_Delete(resp);
}

/* Fills the image of an UpdateItem from the answer's ALL_NEW attributes; strips them from the
 * answer when the client did not ask for them. */
static struct dx_reply *update_answer(struct write_ctx *x, struct dx_reply *r)
{
    size_t off, vl;
    int found = cache_json_member(r->body, r->len, "Attributes", &off, &vl) == DX_OK;
    struct wimage *im = x->nimg ? &x->img[0] : NULL;
    if (im) {
        if (found && r->body[off] == '{') {
            struct dx_buf b = DX_BUF_INIT;
            dx_buf_puts(&b, "{\"Item\":");
            dx_buf_append(&b, r->body + off, vl);
            dx_buf_putc(&b, '}');
            im->body = dx_buf_steal(&b, &im->blen);
        } else {
            im->skip = 1;
        }
    }
    if (x->strip_attrs && found)
        r = strip_member(r, "Attributes", off, vl);
    return r;
}

static void images_store(struct write_ctx *x)
{
    struct cache *c = x->c;
    for (size_t i = 0; i < x->nimg; i++) {
        struct wimage *im = &x->img[i];
        int neg = im->kind == IMG_NEGATIVE;
        uint64_t ttl = neg ? c->opts.negative_ttl_ms : c->opts.item_ttl_ms;
        int overlapped = x->regs[im->reg_item].contended || !im->wide_free;
        if (im->skip || overlapped || (neg && ttl == 0) || (!neg && !im->body)) {
            cache__count(&c->write_dropped, 1);
            continue;
        }
        size_t off = 0, len = 0;
        if (!neg && (cache_json_member(im->body, im->blen, "Item", &off, &len) != DX_OK ||
                     im->body[off] != '{')) {
            cache__count(&c->write_dropped, 1);
            continue;
        }
        cache__item_put(c, im->key, im->klen, im->hash, &im->meta, neg, im->body + off, len);
        cache__count(neg ? &c->write_negative : &c->write_images, 1);
    }
}

static void write_ctx_free(struct write_ctx *x)
{
    for (size_t i = 0; i < x->nimg; i++) {
        dx_free(x->img[i].t);
        dx_free(x->img[i].key);
        dx_free(x->img[i].body);
    }
    dx_free(x->img);
    dx_free(x->regs);
    dx_free(x->wide);
    dx_free(x->b);
    dx_free(x->table);
    for (size_t i = 0; i < x->nkeynames; i++)
        dx_free(x->keynames[i]);
    dx_free(x->body);
    dx_free(x);
}

static void write_done(struct dx_reply *reply, void *arg)
{
    struct write_ctx *x = arg;
    struct cache *c = x->c;
    int ok = reply && reply->status >= 200 && reply->status < 300, dropped = 1;
    /* 4xx: DynamoDB changed nothing. 2xx: it did. 5xx or nothing: it may have. A transaction
     * drops its items whatever the answer: a cancellation (TransactionCanceledException,
     * an idempotency-token replay) is rare, and the answer is not worth a second guess. */
    if (!reply || reply->status < 400 || reply->status >= 500 ||
        x->op == DX_OP_TransactWriteItems) {
        for (size_t i = 0; i < x->nb; i++)
            cache_gens_bump(c->gens, x->b[i]);
        if (x->table)
            cache__schema_forget(c, x->table, x->tlen);
        if (x->all)
            cache_gens_bump_all(c->gens);
        if (x->nb || x->all)
            cache__count(&c->invalidations, 1);
        if (x->nnoimg)
            cache__count(&c->write_dropped, x->nnoimg);
    } else if (is_type(reply, "ConditionalCheckFailedException")) {
        /* the items' entries only, not their pages: see the top of the file */
        for (size_t i = 0; i < x->nregs; i++)
            cache_gens_bump(c->gens, x->regs[i].h);
        if (x->nregs)
            cache__count(&c->invalidations, 1);
    } else {
        dropped = 0; /* another 4xx: the entries stay as they were */
    }
    if (ok && x->op == DX_OP_CreateTable && x->table && x->nkeynames)
        cache__schema_learn(c, x->table, x->tlen, (const char *const *)x->keynames, x->nkeynames);
    if (ok && x->op == DX_OP_UpdateItem)
        reply = update_answer(x, reply);
    if (ok && x->op == DX_OP_BatchWriteItem)
        mark_unprocessed(x, reply);
    /* generations after this write's own bumps: an image older than this write carries
     * older ones */
    for (size_t i = 0; ok && i < x->nimg; i++) {
        struct wimage *im = &x->img[i];
        cache__item_deps(&im->meta, im->t, im->tl, im->key + im->ck_off, im->ck_len);
        cache__snapshot(c, &im->meta);
    }
    /* only then look at the other writes: a write starting later bumps after our snapshot */
    for (size_t i = 0; i < x->nimg; i++) {
        struct wimage *im = &x->img[i];
        if (atomic_load(&c->wide_started[im->slot]) != im->wide_s0 ||
            atomic_load(&c->wide_started[CACHE_WIDE_SLOTS]) != im->all_s0)
            im->wide_free = 0;
    }
    for (size_t i = 0; i < x->nregs; i++)
        x->regs[i].contended = wf_leave(c, x->regs[i].h);
    for (size_t i = 0; i < x->nwide; i++)
        atomic_fetch_sub(&c->wide_inflight[x->wide[i]], 1);
    if (ok)
        images_store(x);
    else if (x->nimg && dropped)
        cache__count(&c->write_dropped, x->nimg);
    dx_api_done_cb done = x->done;
    void *darg = x->arg;
    write_ctx_free(x);
    done(reply, darg);
}

/* CreateTable: the key names it creates (learned once it succeeded). */
static void create_table_keys(struct write_ctx *x, const cJSON *req)
{
    const cJSON *ks = cJSON_GetObjectItemCaseSensitive(req, "KeySchema");
    const char *names[2] = {NULL, NULL};
    size_t n = 0;
    for (const cJSON *k = cJSON_IsArray(ks) ? ks->child : NULL; k; k = k->next) {
        const cJSON *an = cJSON_GetObjectItemCaseSensitive(k, "AttributeName");
        const cJSON *kt = cJSON_GetObjectItemCaseSensitive(k, "KeyType");
        if (!cJSON_IsString(an) || !cJSON_IsString(kt) || n == 2)
            return;
        names[n++] = an->valuestring;
    }
    for (size_t i = 0; i < n; i++)
        x->keynames[i] = dx_strdup(names[i]);
    x->nkeynames = n;
}

void cache__write_through(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                          void *arg)
{
    struct write_ctx *x = dx_calloc(1, sizeof(*x));
    x->c = w->c;
    x->op = call->op;
    x->done = done;
    x->arg = arg;
    cJSON *req = cJSON_ParseWithLength(call->body, call->len);
    int rc = DX_EINVAL;
    if (cJSON_IsObject(req)) {
        if (dx_op_flags(call->op) & DX_OPF_ITEM_WRITE) {
            rc = collect_writes(x, call->op, req);
        } else if (dx_op_flags(call->op) & DX_OPF_PARTIQL) {
            collect_partiql(x, call->op, req);
            rc = x->nb || x->all ? DX_OK : DX_EINVAL; /* reads only: nothing to do after */
        } else {
            const cJSON *tn = cJSON_GetObjectItemCaseSensitive(req, "TableName");
            if (!tn)
                tn = cJSON_GetObjectItemCaseSensitive(req, "TargetTableName");
            const char *t;
            size_t tl;
            if (cache_key_table_name(tn, &t, &tl) == DX_OK) {
                bump_add(x, cache__g_table(t, tl));
                wide_add(x, wide_slot(t, tl));
                x->table = dx_strndup(t, tl);
                x->tlen = tl;
                if (call->op == DX_OP_CreateTable)
                    create_table_keys(x, req);
                rc = DX_OK;
            }
        }
    }
    cJSON_Delete(req);
    if (rc != DX_OK) {
        /* not readable (the inner implementation rejects it), or nothing to drop */
        write_ctx_free(x);
        cache__forward(w, call, done, arg);
        return;
    }
    struct cache *c = x->c;
    if (x->all)
        wide_add(x, CACHE_WIDE_SLOTS);
    for (size_t i = 0; i < x->nwide; i++) {
        atomic_fetch_add(&c->wide_started[x->wide[i]], 1);
        atomic_fetch_add(&c->wide_inflight[x->wide[i]], 1);
    }
    for (size_t i = 0; i < x->nimg; i++) {
        struct wimage *im = &x->img[i];
        im->wide_s0 = atomic_load(&c->wide_started[im->slot]);
        im->all_s0 = atomic_load(&c->wide_started[CACHE_WIDE_SLOTS]);
        im->wide_free = atomic_load(&c->wide_inflight[im->slot]) == 0 &&
                        atomic_load(&c->wide_inflight[CACHE_WIDE_SLOTS]) == 0;
    }
    for (size_t i = 0; i < x->nregs; i++)
        wf_enter(c, x->regs[i].h);
    if (x->body) {
        /* the UpdateItem upgraded to ALL_NEW; the client's head (auth) goes along */
        x->call = *call;
        x->call.body = x->body;
        x->call.len = strlen(x->body);
        cache__forward(w, &x->call, write_done, x);
        return;
    }
    cache__forward(w, call, write_done, x);
}

/* --- DescribeTable: learning key names --- */

struct describe_ctx {
    struct cache *c;
    dx_api_done_cb done;
    void *arg;
};

static void describe_done(struct dx_reply *reply, void *arg)
{
    struct describe_ctx *d = arg;
    size_t off, vl;
    if (reply && reply->status == 200 &&
        cache_json_member(reply->body, reply->len, "Table", &off, &vl) == DX_OK) {
        cJSON *tab = cJSON_ParseWithLength(reply->body + off, vl);
        const cJSON *tn = cJSON_GetObjectItemCaseSensitive(tab, "TableName");
        const cJSON *ks = cJSON_GetObjectItemCaseSensitive(tab, "KeySchema");
        const char *names[2];
        size_t n = 0;
        int good = cJSON_IsString(tn) && cJSON_IsArray(ks);
        for (const cJSON *k = good ? ks->child : NULL; k; k = k->next) {
            const cJSON *an = cJSON_GetObjectItemCaseSensitive(k, "AttributeName");
            if (!cJSON_IsString(an) || n == 2) {
                good = 0;
                break;
            }
            names[n++] = an->valuestring;
        }
        if (good && n)
            cache__schema_learn(d->c, tn->valuestring, strlen(tn->valuestring), names, n);
        cJSON_Delete(tab);
    }
    dx_api_done_cb done = d->done;
    void *darg = d->arg;
    dx_free(d);
    done(reply, darg);
}

void cache__describe_table(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                           void *arg)
{
    struct describe_ctx *d = dx_malloc(sizeof(*d));
    d->c = w->c;
    d->done = done;
    d->arg = arg;
    cache__forward(w, call, describe_done, d);
}
