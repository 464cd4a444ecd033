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
 *
 * Tables with local secondary indexes also keep the size of each item collection (the items of
 * one partition key value plus their LSI entries) in the meta database under
 *   'c' | table id | hash32(partition key) | partition key   (be_key_partition's prefix)
 * as one little-endian uint64, updated in the same transaction as the items. DynamoDB counts an
 * LSI entry as its projected attributes (keys included) + 100 bytes; a write that would take a
 * collection over the limit (10 GiB) fails with ItemCollectionSizeLimitExceededException.
 */
#include <string.h>
#include "be_mutation.h"
#include "be_catalog.h"
#include "be_store.h"
#include "dx_arena.h"
#include "dx_buf.h"
#include "dx_error.h"
#include "dx_status.h"

#define LSI_ENTRY_OVERHEAD 100

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

/* The meta key of item's collection in t; DX_ENOTFOUND when item lacks the partition key. */
static int collection_key(const struct be_table *t, const struct dx_av *item, struct dx_buf *out)
{
    const struct dx_av *hv;
    if (!item || key_value(item, &t->hash, &hv) != DX_OK)
        return DX_ENOTFOUND;
    dx_buf_putc(out, 'c');
    return be_key_partition(t->id, hv, out) == DX_OK ? DX_OK : DX_EINVAL;
}

/* What item adds to its collection: its size and the sizes of its LSI entries. */
static uint64_t collection_share(struct dx_arena *a, const struct be_table *t,
                                 const struct dx_av *item)
{
    if (!item)
        return 0;
    uint64_t n = dx_av_item_size(item);
    struct dx_buf kb = DX_BUF_INIT;
    for (size_t i = 0; i < t->n_lsi; i++) {
        kb.len = 0;
        if (be_index_key(t, &t->lsi[i], item, &kb) == DX_OK)
            n += dx_av_item_size(be_index_project(a, t, &t->lsi[i], item)) + LSI_ENTRY_OVERHEAD;
    }
    dx_buf_deinit(&kb);
    return n;
}

static int collection_read(struct be_store *s, MDB_txn *txn, const struct dx_buf *k,
                           uint64_t *bytes)
{
    MDB_val kv = {k->len, (void *)k->p}, v;
    *bytes = 0;
    int rc = mdb_get(txn, be_store_dbi(s, BE_DBI_META), &kv, &v);
    if (rc == MDB_NOTFOUND)
        return DX_OK;
    if (rc != 0)
        return be_store_mdb_status(s, rc, "collection get");
    if (v.mv_size != 8)
        return DX_ESTORE;
    const uint8_t *p = v.mv_data;
    for (int i = 7; i >= 0; i--)
        *bytes = (*bytes << 8) | p[i];
    return DX_OK;
}

static int collection_write(struct be_store *s, MDB_txn *txn, const struct dx_buf *k,
                            uint64_t bytes)
{
    MDB_val kv = {k->len, (void *)k->p};
    if (bytes == 0) {
        int rc = mdb_del(txn, be_store_dbi(s, BE_DBI_META), &kv, NULL);
        return rc == MDB_NOTFOUND ? DX_OK : be_store_mdb_status(s, rc, "collection del");
    }
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(bytes >> (8 * i));
    MDB_val v = {8, b};
    return be_store_mdb_status(s, mdb_put(txn, be_store_dbi(s, BE_DBI_META), &kv, &v, 0),
                               "collection put");
}

int be_collection_size(struct be_store *s, MDB_txn *txn, const struct be_table *t,
                       const struct dx_av *item, uint64_t *bytes)
{
    struct dx_buf k = DX_BUF_INIT;
    *bytes = 0;
    int rc = collection_key(t, item, &k);
    if (rc == DX_OK)
        rc = collection_read(s, txn, &k, bytes);
    else
        rc = DX_OK;
    dx_buf_deinit(&k);
    return rc;
}

/* Moves the collection of the written key from old's share to item's (both share the
 * partition key: the storage key is the same). Fails with the DynamoDB error when the write
 * grows the collection past the limit and err is given. */
static int collection_apply(struct be_store *s, MDB_txn *txn, const struct be_table *t,
                            struct dx_arena *a, const struct dx_av *old, const struct dx_av *item,
                            struct dx_error *err)
{
    struct dx_buf k = DX_BUF_INIT;
    uint64_t cur = 0, before = collection_share(a, t, old), after = collection_share(a, t, item);
    int rc = collection_key(t, item ? item : old, &k);
    if (rc != DX_OK) {
        dx_buf_deinit(&k);
        return DX_OK; /* no partition key: nothing is written either */
    }
    rc = collection_read(s, txn, &k, &cur);
    if (rc == DX_OK) {
        uint64_t next = cur >= before ? cur - before + after : after;
        if (err && after > before && next > be_store_collection_limit(s))
            rc = dx_error_set(err, DX_E_ITEM_COLLECTION_SIZE_LIMIT_EXCEEDED,
                              "The total size of an item collection has exceeded the maximum "
                              "limit of 10 gigabytes.");
        else if (next != cur)
            rc = collection_write(s, txn, &k, next);
    }
    dx_buf_deinit(&k);
    return rc;
}

int be_mutation_apply_checked(struct be_store *s, MDB_txn *txn, const struct be_table *t,
                              const void *key, size_t keylen, const struct dx_av *item,
                              struct dx_error *err)
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
    /* First, so that a write over the collection limit changes nothing. */
    if (rc == DX_OK && t->n_lsi > 0)
        rc = collection_apply(s, txn, t, &a, old, item, err);
    if (rc == DX_OK)
        rc = item ? be_item_put(s, txn, t, key, keylen, item) : be_item_del(s, txn, t, key, keylen);
    for (size_t i = 0; rc == DX_OK && i < t->n_lsi; i++)
        rc = index_apply(s, txn, t, &t->lsi[i], &a, old, item);
    for (size_t i = 0; rc == DX_OK && i < t->n_gsi; i++)
        rc = index_apply(s, txn, t, &t->gsi[i], &a, old, item);
    dx_arena_deinit(&a);
    return rc;
}

int be_mutation_apply(struct be_store *s, MDB_txn *txn, const struct be_table *t, const void *key,
                      size_t keylen, const struct dx_av *item)
{
    return be_mutation_apply_checked(s, txn, t, key, keylen, item, NULL);
}
