/*
 * The single mutation path of the engine (see be_mutation.h): the item record, the table's
 * statistics (kept by the store) and the entries of the table's secondary indexes.
 *
 * An index entry lives in the items database under the index's own storage id:
 *   index id | hash32(index partition key) | index partition key | index sort key
 *   | table partition key | table sort key
 * with the encodings of be_store.h, so that an index partition is one contiguous range ordered
 * by index sort key, entries with equal index keys are told apart (and ordered) by the table
 * key, and Query/Scan walk an index exactly as they walk a table. The value is the projected
 * item. The store's per-id statistics then count the index's items and bytes too.
 */
#include <string.h>
#include "be_mutation.h"
#include "be_catalog.h"
#include "be_store.h"
#include "dx_arena.h"
#include "dx_buf.h"
#include "dx_status.h"

static int key_value(const struct dx_av *item, const struct be_keydef *kd, const struct dx_av **v)
{
    *v = dx_av_map_get(item, kd->name, strlen(kd->name));
    if (!*v || (*v)->type != kd->type)
        return DX_ENOTFOUND;
    return DX_OK;
}

int be_index_key(const struct be_table *t, const struct be_index *ix, const struct dx_av *item,
                 struct dx_buf *out)
{
    const struct be_keydef *kds[4] = {&ix->hash, ix->range.name ? &ix->range : NULL, &t->hash,
                                      t->range.name ? &t->range : NULL};
    const struct dx_av *vals[4];
    if (!item || item->type != DX_AV_M)
        return DX_ENOTFOUND;
    for (int i = 0; i < 4; i++) {
        vals[i] = NULL;
        if (kds[i] && key_value(item, kds[i], &vals[i]) != DX_OK)
            return DX_ENOTFOUND; /* sparse: no entry (or no such table key) */
    }
    size_t start = out->len;
    uint8_t idb[4] = {(uint8_t)(ix->id >> 24), (uint8_t)(ix->id >> 16), (uint8_t)(ix->id >> 8),
                      (uint8_t)ix->id};
    dx_buf_append(out, idb, 4);
    size_t hpos = out->len;
    dx_buf_append(out, idb, 4); /* the hash, filled in below */
    size_t kpos = out->len;
    if (be_key_encode_value(vals[0], out) != DX_OK)
        goto bad;
    uint32_t h = be_key_hash32(out->p + kpos, out->len - kpos);
    uint8_t *hp = (uint8_t *)out->p + hpos;
    hp[0] = (uint8_t)(h >> 24);
    hp[1] = (uint8_t)(h >> 16);
    hp[2] = (uint8_t)(h >> 8);
    hp[3] = (uint8_t)h;
    for (int i = 1; i < 4; i++)
        if (vals[i] && be_key_encode_value(vals[i], out) != DX_OK)
            goto bad;
    be_key_fit(out, start);
    return DX_OK;
bad:
    out->len = start;
    return DX_EINVAL;
}

void be_index_view(const struct be_table *t, const struct be_index *ix, struct be_table *view)
{
    *view = *t;
    view->id = ix->id;
    view->hash = ix->hash;
    view->range = ix->range;
}

static void copy_attr(struct dx_arena *a, struct dx_av *m, const struct dx_av *item,
                      const char *name)
{
    if (!name)
        return;
    size_t len = strlen(name);
    struct dx_av *v = dx_av_map_get(item, name, len);
    if (v)
        dx_av_map_set(a, m, name, len, v);
}

const struct dx_av *be_index_project(struct dx_arena *a, const struct be_table *t,
                                     const struct be_index *ix, const struct dx_av *item)
{
    if (ix->projection == BE_PROJ_ALL)
        return item;
    struct dx_av *m = dx_av_new_map(a);
    copy_attr(a, m, item, t->hash.name);
    copy_attr(a, m, item, t->range.name);
    copy_attr(a, m, item, ix->hash.name);
    copy_attr(a, m, item, ix->range.name);
    if (ix->projection == BE_PROJ_INCLUDE)
        for (size_t i = 0; i < ix->n_nonkey; i++)
            copy_attr(a, m, item, ix->nonkey[i]);
    return m;
}

/* Replaces the entry of old by the entry of item in one index (either may be NULL). */
static int index_apply(struct be_store *s, MDB_txn *txn, const struct be_table *t,
                       const struct be_index *ix, struct dx_arena *a, const struct dx_av *old,
                       const struct dx_av *item)
{
    struct be_table view;
    struct dx_buf ok = DX_BUF_INIT, nk = DX_BUF_INIT;
    int rc = DX_OK, have_old = 0, have_new = 0;
    if (!ix->id)
        return DX_OK;
    be_index_view(t, ix, &view);
    if (old)
        have_old = be_index_key(t, ix, old, &ok) == DX_OK;
    if (item)
        have_new = be_index_key(t, ix, item, &nk) == DX_OK;
    /* An entry whose key stays is overwritten in place (the store's stats see a replace). */
    if (have_old && !(have_new && ok.len == nk.len && memcmp(ok.p, nk.p, ok.len) == 0))
        rc = be_item_del(s, txn, &view, ok.p, ok.len);
    if (rc == DX_OK && have_new)
        rc = be_item_put(s, txn, &view, nk.p, nk.len, be_index_project(a, t, ix, item));
    dx_buf_deinit(&ok);
    dx_buf_deinit(&nk);
    return rc;
}

int be_mutation_apply(struct be_store *s, MDB_txn *txn, const struct be_table *t, const void *key,
                      size_t keylen, const struct dx_av *item)
{
    if (t->n_gsi + t->n_lsi == 0)
        return item ? be_item_put(s, txn, t, key, keylen, item)
                    : be_item_del(s, txn, t, key, keylen);

    struct dx_arena a;
    struct dx_av *old = NULL;
    dx_arena_init(&a);
    int rc = be_item_get(s, txn, key, keylen, &a, &old);
    if (rc == DX_ENOTFOUND) {
        old = NULL;
        rc = DX_OK;
    }
    if (rc == DX_OK)
        rc = item ? be_item_put(s, txn, t, key, keylen, item) : be_item_del(s, txn, t, key, keylen);
    for (size_t i = 0; rc == DX_OK && i < t->n_lsi; i++)
        rc = index_apply(s, txn, t, &t->lsi[i], &a, old, item);
    for (size_t i = 0; rc == DX_OK && i < t->n_gsi; i++)
        rc = index_apply(s, txn, t, &t->gsi[i], &a, old, item);
    dx_arena_deinit(&a);
    return rc;
}
