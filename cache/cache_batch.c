/*
 * BatchGetItem through the item cache: a set of GetItems.
 *
 * Keys found in the item cache are answered from it; the rest go to the inner implementation in
 * ONE BatchGetItem carrying only those keys. The reply merges both: Responses per table (every
 * requested table listed, as DynamoDB does) and the inner reply's UnprocessedKeys unchanged.
 * Returned items fill the item cache (matched to their keys by the key attributes they carry);
 * requested keys that came back neither as items nor as unprocessed keys are absent and become
 * negative entries. Unprocessed keys are never cached.
 *
 * Requests the cache cannot vouch for (duplicate keys, more than 100 keys, unknown members,
 * ReturnConsumedCapacity) pass through whole, so DynamoDB's validation still answers them.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "cache_key.h"
#include "cache_priv.h"
#include "dx_alloc.h"
#include "dx_status.h"

#define BATCH_MAX_KEYS 100

struct bkey {
    const cJSON *key; /* in the parsed request */
    char *ikey;       /* item-cache key (cached tables) */
    size_t iklen;
    size_t ck_off, ck_len;
    uint64_t hash;
    struct cache_meta meta;
    struct cache_entry *hit;
    int filled;
};

struct btable {
    const cJSON *req; /* the table's entry in RequestItems */
    const char *name; /* as in the request (the Responses member name) */
    const char *t;    /* canonical table name */
    size_t tl;
    int cached;
    size_t nkeys, nmiss;
    struct bkey *keys;
};

struct batch {
    struct cache *c;
    cJSON *req;
    size_t ntables;
    struct btable *tables;
    dx_api_done_cb done;
    void *arg;
    struct dx_call call; /* the inner call when only the misses are sent */
    char *body;
};

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->ntables; i++) {
        struct btable *bt = &b->tables[i];
        for (size_t k = 0; k < bt->nkeys; k++) {
            dx_free(bt->keys[k].ikey);
            if (bt->keys[k].hit)
                cache_entry_unref(bt->keys[k].hit);
        }
        dx_free(bt->keys);
    }
    dx_free(b->tables);
    cJSON_Delete(b->req);
    dx_free(b->body);
    dx_free(b);
}

static int keys_equal(const struct bkey *a, const struct bkey *x)
{
    return a->ck_len == x->ck_len &&
           memcmp(a->ikey + a->ck_off, x->ikey + x->ck_off, a->ck_len) == 0;
}

/* Parses and looks up everything. DX_OK, or DX_EINVAL: pass the request through. */
static int batch_prepare(struct batch *b)
{
    static const char *const top[] = {"RequestItems", "ReturnConsumedCapacity", NULL};
    static const char *const per[] = {"Keys",
                                      "ProjectionExpression",
                                      "ExpressionAttributeNames",
                                      "AttributesToGet",
                                      "ConsistentRead",
                                      NULL};
    struct cache *c = b->c;
    const cJSON *req = b->req;
    if (!cJSON_IsObject(req))
        return DX_EINVAL;
    for (const cJSON *m = req->child; m; m = m->next) {
        size_t i = 0;
        while (top[i] && strcmp(top[i], m->string))
            i++;
        if (!top[i])
            return DX_EINVAL;
    }
    const cJSON *rcc = cJSON_GetObjectItemCaseSensitive(req, "ReturnConsumedCapacity");
    if (rcc && !(cJSON_IsString(rcc) && strcmp(rcc->valuestring, "NONE") == 0))
        return DX_EINVAL;
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(req, "RequestItems");
    if (!cJSON_IsObject(ri) || !ri->child)
        return DX_EINVAL;
    size_t n = 0, total = 0;
    for (const cJSON *t = ri->child; t; t = t->next)
        n++;
    b->tables = dx_calloc(n, sizeof(*b->tables));
    for (const cJSON *tab = ri->child; tab; tab = tab->next) {
        struct btable *bt = &b->tables[b->ntables++];
        bt->req = tab;
        bt->name = tab->string;
        if (!cJSON_IsObject(tab) || !tab->string)
            return DX_EINVAL;
        for (const cJSON *m = tab->child; m; m = m->next) {
            size_t i = 0;
            while (per[i] && strcmp(per[i], m->string))
                i++;
            if (!per[i])
                return DX_EINVAL;
        }
        cJSON tn = {.type = cJSON_String, .valuestring = tab->string};
        if (cache_key_table_name(&tn, &bt->t, &bt->tl))
            return DX_EINVAL;
        const cJSON *cr = cJSON_GetObjectItemCaseSensitive(tab, "ConsistentRead");
        if (cr && !cJSON_IsBool(cr) && !cJSON_IsNull(cr))
            return DX_EINVAL;
        struct dx_buf proj = DX_BUF_INIT;
        bt->cached = !cJSON_IsTrue(cr) && cache__table_cached(c, bt->t, bt->tl) &&
                     cache_key_projection(&proj, tab) == DX_OK;
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(tab, "Keys");
        if (!cJSON_IsArray(keys) || !keys->child) {
            dx_buf_deinit(&proj);
            return DX_EINVAL;
        }
        size_t count = 0;
        for (const cJSON *k = keys->child; k; k = k->next)
            count++;
        total += count;
        if (total > BATCH_MAX_KEYS) {
            dx_buf_deinit(&proj);
            return DX_EINVAL;
        }
        /* nkeys only once keys exists: batch_free walks keys[0..nkeys) */
        bt->keys = dx_calloc(count, sizeof(*bt->keys));
        bt->nkeys = count;
        size_t i = 0;
        for (const cJSON *k = keys->child; k; k = k->next, i++) {
            struct bkey *bk = &bt->keys[i];
            struct dx_buf ik = DX_BUF_INIT;
            bk->key = k;
            /* the key is computed for every table: duplicates must reach DynamoDB's check */
            if (cache__item_key(&ik, bt->t, bt->tl, k, proj.p ? proj.p : "", proj.len, &bk->ck_off,
                                &bk->ck_len) != DX_OK) {
                dx_buf_deinit(&ik);
                dx_buf_deinit(&proj);
                return DX_EINVAL;
            }
            bk->ikey = dx_buf_steal(&ik, &bk->iklen);
            for (size_t j = 0; j < i; j++)
                if (keys_equal(&bt->keys[j], bk)) {
                    dx_buf_deinit(&proj);
                    return DX_EINVAL;
                }
        }
        dx_buf_deinit(&proj);
    }
    /* look up only once the whole request is known to be well formed */
    for (size_t ti = 0; ti < b->ntables; ti++) {
        struct btable *bt = &b->tables[ti];
        for (size_t i = 0; i < bt->nkeys; i++) {
            struct bkey *bk = &bt->keys[i];
            if (bt->cached) {
                bk->hash = cache_hash(bk->ikey, bk->iklen, 0);
                bk->hit = cache__lookup(c, bk->ikey, bk->iklen, bk->hash);
            }
            if (!bk->hit)
                bt->nmiss++;
        }
    }
    return DX_OK;
}

/* The request for the inner implementation: only the keys that missed. */
static char *miss_request(struct batch *b, size_t *len)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *ri = cJSON_AddObjectToObject(out, "RequestItems");
    for (size_t ti = 0; ti < b->ntables; ti++) {
        struct btable *bt = &b->tables[ti];
        if (!bt->nmiss)
            continue;
        cJSON *tab = cJSON_CreateObject();
        for (const cJSON *m = bt->req->child; m; m = m->next)
            if (strcmp(m->string, "Keys") != 0)
                cJSON_AddItemToObject(tab, m->string, cJSON_Duplicate(m, 1));
        cJSON *keys = cJSON_AddArrayToObject(tab, "Keys");
        for (size_t i = 0; i < bt->nkeys; i++)
            if (!bt->keys[i].hit)
                cJSON_AddItemToArray(keys, cJSON_Duplicate(bt->keys[i].key, 1));
        cJSON_AddItemToObject(ri, bt->name, tab);
    }
    char *s = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    *len = strlen(s);
    char *r = dx_strndup(s, *len);
    cJSON_free(s);
    return r;
}

/* The requested key whose canonical key equals that of item (reduced to the key's names). */
static struct bkey *match_key(struct btable *bt, const cJSON *item)
{
    const cJSON *k0 = bt->keys[0].key;
    const char *names[2];
    size_t n = 0;
    for (const cJSON *m = k0->child; m && n < 2; m = m->next)
        names[n++] = m->string;
    struct dx_buf ck = DX_BUF_INIT;
    struct bkey *found = NULL;
    if (cache_key_primary(&ck, item, names, n) == DX_OK) {
        for (size_t i = 0; i < bt->nkeys && !found; i++) {
            struct bkey *bk = &bt->keys[i];
            if (bk->ck_len == ck.len && memcmp(bk->ikey + bk->ck_off, ck.p, ck.len) == 0)
                found = bk;
        }
    }
    dx_buf_deinit(&ck);
    return found;
}

static void fill_table(struct batch *b, struct btable *bt, const cJSON *items, const cJSON *unp)
{
    struct cache *c = b->c;
    /* unprocessed keys: not answered, not cached */
    const cJSON *uk = cJSON_GetObjectItemCaseSensitive(unp, "Keys");
    for (const cJSON *k = uk ? uk->child : NULL; k; k = k->next) {
        struct bkey *bk = match_key(bt, k);
        if (bk)
            bk->filled = 1;
    }
    struct dx_buf body = DX_BUF_INIT;
    int all_matched = 1;
    for (const cJSON *it = items ? items->child : NULL; it; it = it->next) {
        struct bkey *bk = match_key(bt, it);
        if (!bk || bk->hit) {
            all_matched = 0; /* a projection without the key attributes: cannot tell */
            continue;
        }
        if (bk->filled)
            continue;
        bk->filled = 1;
        char *s = cJSON_PrintUnformatted(it);
        dx_buf_reset(&body);
        dx_buf_puts(&body, "{\"Item\":");
        dx_buf_puts(&body, s);
        dx_buf_putc(&body, '}');
        cJSON_free(s);
        cache__item_store(c, bk->ikey, bk->iklen, bk->hash, &bk->meta, body.p, body.len);
    }
    dx_buf_deinit(&body);
    if (!all_matched)
        return;
    for (size_t i = 0; i < bt->nkeys; i++) {
        struct bkey *bk = &bt->keys[i];
        if (!bk->hit && !bk->filled)
            cache__item_store(c, bk->ikey, bk->iklen, bk->hash, &bk->meta, "{}", 2);
    }
}

/* Builds the merged reply body from the inner reply (NULL when every key hit). */
static struct dx_reply *merge(struct batch *b, const cJSON *resp)
{
    const cJSON *responses = cJSON_GetObjectItemCaseSensitive(resp, "Responses");
    const cJSON *unp = cJSON_GetObjectItemCaseSensitive(resp, "UnprocessedKeys");
    struct dx_buf out = DX_BUF_INIT;
    dx_buf_puts(&out, "{\"Responses\":{");
    for (size_t ti = 0; ti < b->ntables; ti++) {
        struct btable *bt = &b->tables[ti];
        int first = 1;
        if (ti)
            dx_buf_putc(&out, ',');
        dx_buf_json_str(&out, bt->name, strlen(bt->name));
        dx_buf_puts(&out, ":[");
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(responses, bt->name);
        for (const cJSON *it = items ? items->child : NULL; it; it = it->next) {
            char *s = cJSON_PrintUnformatted(it);
            if (!first)
                dx_buf_putc(&out, ',');
            first = 0;
            dx_buf_puts(&out, s);
            cJSON_free(s);
        }
        for (size_t i = 0; i < bt->nkeys; i++) {
            struct bkey *bk = &bt->keys[i];
            size_t vl;
            if (!bk->hit || cache__item_negative(bk->hit))
                continue;
            const char *v = cache__item_value(bk->hit, &vl);
            if (!first)
                dx_buf_putc(&out, ',');
            first = 0;
            dx_buf_append(&out, v, vl);
        }
        dx_buf_putc(&out, ']');
    }
    dx_buf_puts(&out, "},\"UnprocessedKeys\":");
    if (cJSON_IsObject(unp)) {
        char *s = cJSON_PrintUnformatted(unp);
        dx_buf_puts(&out, s);
        cJSON_free(s);
    } else {
        dx_buf_puts(&out, "{}");
    }
    dx_buf_putc(&out, '}');
    size_t len;
    char *body = dx_buf_steal(&out, &len);
    return dx_reply_new(200, body, len);
}

static void batch_done(struct dx_reply *reply, void *arg)
{
    struct batch *b = arg;
    struct cache *c = b->c;
    if (!reply || reply->status != 200) {
        dx_api_done_cb done = b->done;
        void *darg = b->arg;
        batch_free(b);
        done(reply, darg);
        return;
    }
    cJSON *resp = cJSON_ParseWithLength(reply->body, reply->len);
    if (!cJSON_IsObject(resp)) {
        /* not a reply we understand: hand it over unchanged, cache nothing */
        cJSON_Delete(resp);
        dx_api_done_cb done = b->done;
        void *darg = b->arg;
        batch_free(b);
        done(reply, darg);
        return;
    }
    const cJSON *responses = cJSON_GetObjectItemCaseSensitive(resp, "Responses");
    const cJSON *unp = cJSON_GetObjectItemCaseSensitive(resp, "UnprocessedKeys");
    for (size_t ti = 0; ti < b->ntables; ti++) {
        struct btable *bt = &b->tables[ti];
        if (!bt->cached || !bt->nmiss)
            continue;
        fill_table(b, bt, cJSON_GetObjectItemCaseSensitive(responses, bt->name),
                   cJSON_GetObjectItemCaseSensitive(unp, bt->name));
        /* the keys were accepted: their names are the table's key schema */
        const char *names[2];
        size_t n = 0;
        for (const cJSON *m = bt->keys[0].key->child; m && n < 2; m = m->next)
            names[n++] = m->string;
        cache__schema_learn(c, bt->t, bt->tl, names, n);
    }
    struct dx_reply *out = reply;
    size_t nhit = 0;
    for (size_t ti = 0; ti < b->ntables; ti++)
        nhit += b->tables[ti].nkeys - b->tables[ti].nmiss;
    if (nhit) {
        out = merge(b, resp);
        dx_reply_free(reply);
    }
    cJSON_Delete(resp);
    dx_api_done_cb done = b->done;
    void *darg = b->arg;
    batch_free(b);
    done(out, darg);
}

void cache__batch_get(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                      void *arg)
{
    struct cache *c = w->c;
    struct batch *b = dx_calloc(1, sizeof(*b));
    b->c = c;
    b->done = done;
    b->arg = arg;
    b->req = cJSON_ParseWithLength(call->body, call->len);
    if (batch_prepare(b) != DX_OK) {
        batch_free(b);
        cache__forward(w, call, done, arg);
        return;
    }
    size_t nmiss = 0, nhit = 0;
    for (size_t ti = 0; ti < b->ntables; ti++)
        nmiss += b->tables[ti].nmiss;
    if (c->opts.bodies_signed && nmiss) {
        /* the request must reach the upstream as the client signed it: all of it goes, and
         * the hits are answered (and refreshed) from the upstream's reply */
        for (size_t ti = 0; ti < b->ntables; ti++) {
            struct btable *bt = &b->tables[ti];
            for (size_t i = 0; i < bt->nkeys; i++)
                if (bt->keys[i].hit) {
                    cache_entry_unref(bt->keys[i].hit);
                    bt->keys[i].hit = NULL;
                }
            bt->nmiss = bt->nkeys;
        }
    }
    nmiss = 0;
    for (size_t ti = 0; ti < b->ntables; ti++) {
        struct btable *bt = &b->tables[ti];
        nmiss += bt->nmiss;
        nhit += bt->nkeys - bt->nmiss;
        for (size_t i = 0; i < bt->nkeys; i++) {
            struct bkey *bk = &bt->keys[i];
            if (!bt->cached || bk->hit)
                continue;
            /* the generations before the fetch: a write meanwhile makes the fill stale */
            cache__item_deps(&bk->meta, bt->t, bt->tl, bk->ikey + bk->ck_off, bk->ck_len);
            cache__snapshot(c, &bk->meta);
        }
    }
    cache__count(&c->item_hits, nhit);
    cache__count(&c->item_misses, nmiss);
    for (size_t ti = 0; ti < b->ntables; ti++) {
        struct btable *bt = &b->tables[ti];
        for (size_t i = 0; i < bt->nkeys; i++)
            if (bt->keys[i].hit && cache__item_negative(bt->keys[i].hit))
                cache__count(&c->negative_hits, 1);
    }
    if (nmiss == 0) {
        struct dx_reply *r = merge(b, NULL);
        batch_free(b);
        done(r, arg);
        return;
    }
    if (nhit == 0) {
        /* nothing to leave out: the request goes as it came, the reply is only read */
        cache__forward(w, call, batch_done, b);
        return;
    }
    b->call.op = DX_OP_BatchGetItem;
    b->body = miss_request(b, &b->call.len);
    b->call.body = b->body;
    /* the client's headers (auth) go along to a remote upstream; call outlives the fetch */
    b->call.head = call->head;
    b->call.head_len = call->head_len;
    cache__forward(w, &b->call, batch_done, b);
}
