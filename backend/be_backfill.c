/*
 * Index backfill (see be_backfill.h): a chain of writer jobs, each of which reads up to
 * BATCH items of the table from its cursor key on and (re)writes their entries in the new
 * index, then stores the key to continue from. Writing an item's entry as the item is now is
 * idempotent, so restarting from the beginning (after a restart of the server, or a failed
 * group) is always correct.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "be_backfill.h"
#include "be_catalog.h"
#include "be_engine.h"
#include "be_mutation.h"
#include "be_store.h"
#include "be_table_priv.h"
#include "dx_alloc.h"
#include "dx_arena.h"
#include "dx_buf.h"
#include "dx_log.h"
#include "dx_status.h"

#define BATCH       500
#define MAX_RETRIES 5

struct backfill {
    struct be_wjob job; /* first: the job is the state */
    struct backend *be;
    char *name;
    uint32_t table_id, index_id;
    struct dx_buf cursor; /* the walk goes on from this key (past it when `after`) */
    int after;
    struct dx_buf next;      /* apply's result: the last key this job visited */
    struct be_table *active; /* apply's result: the definition to publish (walk finished) */
    int stop;                /* apply's result: nothing more to do */
    int retries;
};

static void backfill_free(struct backfill *b)
{
    if (b->active)
        be_table_unref(b->active);
    dx_buf_deinit(&b->cursor);
    dx_buf_deinit(&b->next);
    dx_free(b->name);
    dx_free(b);
}

static struct be_index *find_index(struct be_table *t, uint32_t id)
{
    for (size_t i = 0; i < t->n_gsi; i++)
        if (t->gsi[i].id == id)
            return &t->gsi[i];
    return NULL;
}

/* The items of one job, copied out of the cursor before the index is written. */
struct row {
    const void *key, *val;
    size_t klen, vlen;
};

static int backfill_apply(struct be_wjob *job, MDB_txn *txn)
{
    struct backfill *b = (struct backfill *)job;
    struct backend *be = b->be;
    struct be_table *t;
    /* The group may be rerun (map growth): everything below starts from b->cursor again. */
    if (b->active) {
        be_table_unref(b->active);
        b->active = NULL;
    }
    b->stop = 0;
    dx_buf_reset(&b->next);
    int rc = be__catalog_load(be->catalog, txn, b->name, &t);
    if (rc == DX_ENOTFOUND) {
        b->stop = 1;
        return DX_OK;
    }
    if (rc)
        return rc;
    struct be_index *ix = find_index(t, b->index_id);
    if (t->id != b->table_id || !ix || !ix->status || strcmp(ix->status, "CREATING") != 0) {
        be_table_unref(t); /* the table or the index went away, or it is done already */
        b->stop = 1;
        return DX_OK;
    }

    struct dx_arena a;
    dx_arena_init(&a);
    struct row *rows = dx_arena_alloc(&a, BATCH * sizeof *rows);
    size_t n = 0;
    MDB_cursor *cur;
    uint8_t idb[4] = {(uint8_t)(t->id >> 24), (uint8_t)(t->id >> 16), (uint8_t)(t->id >> 8),
                      (uint8_t)t->id};
    rc = be_store_mdb_status(be->store,
                             mdb_cursor_open(txn, be_store_dbi(be->store, BE_DBI_ITEMS), &cur),
                             "backfill cursor");
    if (rc == DX_OK) {
        MDB_val k = {b->cursor.len, b->cursor.p}, v;
        int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        /* Not key + 0x00: a key of the maximum length could not be extended. */
        if (mrc == 0 && b->after && k.mv_size == b->cursor.len &&
            memcmp(k.mv_data, b->cursor.p, k.mv_size) == 0)
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        while (mrc == 0 && n < BATCH && k.mv_size >= 4 && memcmp(k.mv_data, idb, 4) == 0) {
            /* Copied: the index writes below may move the pages under the cursor. */
            rows[n].key = dx_arena_memdup(&a, k.mv_data, k.mv_size);
            rows[n].klen = k.mv_size;
            rows[n].val = dx_arena_memdup(&a, v.mv_data, v.mv_size);
            rows[n].vlen = v.mv_size;
            n++;
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
        if (mrc != 0 && mrc != MDB_NOTFOUND)
            rc = be_store_mdb_status(be->store, mrc, "backfill cursor");
    }

    struct be_table view;
    be_index_view(t, ix, &view);
    struct dx_buf ik = DX_BUF_INIT;
    for (size_t i = 0; rc == DX_OK && i < n; i++) {
        struct dx_av *item;
        if (be_codec_decode(rows[i].val, rows[i].vlen, &a, &item) != DX_OK)
            continue; /* not an item: nothing to index */
        dx_buf_reset(&ik);
        if (be_index_key(t, ix, item, &ik) != DX_OK)
            continue; /* sparse: the item lacks an index key */
        rc = be_item_put(be->store, txn, &view, ik.p, ik.len, be_index_project(&a, t, ix, item));
    }
    dx_buf_deinit(&ik);

    if (rc == DX_OK && n < BATCH) {
        /* The walk reached the end of the table: the index is complete. While the table's
         * UpdateTable transition is still pending (a status delay) the index is reported
         * CREATING until it settles. */
        dx_free(ix->status);
        ix->status = dx_strdup(t->settle_at > 0 ? BE_GSI_BACKFILLED : "ACTIVE");
        rc = be_catalog_store(be->catalog, txn, t);
        if (rc == DX_OK) {
            b->active = t;
            t = NULL;
        }
    } else if (rc == DX_OK) {
        dx_buf_append(&b->next, rows[n - 1].key, rows[n - 1].klen);
    }
    dx_arena_deinit(&a);
    if (t)
        be_table_unref(t);
    return rc;
}

static void backfill_complete(struct be_wjob *job, int status)
{
    struct backfill *b = (struct backfill *)job;
    if (status == DX_OK) {
        if (b->active) {
            be_catalog_publish(b->be->catalog, b->active);
            backfill_free(b);
            return;
        }
        if (b->stop) {
            backfill_free(b);
            return;
        }
        struct dx_buf tmp = b->cursor;
        b->cursor = b->next;
        b->next = tmp;
        b->after = 1;
        b->retries = 0;
    } else if (++b->retries > MAX_RETRIES) {
        dx_error_log("backfill of an index of table %s failed: %s; retried on the next start",
                     b->name, dx_strstatus(status));
        backfill_free(b);
        return;
    }
    if (b->active) {
        be_table_unref(b->active);
        b->active = NULL;
    }
    /* After stop (be_close) the job is refused: the index stays CREATING until next open. */
    if (be_writer_submit(b->be->writer, &b->job) != DX_OK)
        backfill_free(b);
}

void be_backfill_start(struct backend *be, const char *name, uint32_t table_id, uint32_t index_id)
{
    struct backfill *b = dx_calloc(1, sizeof *b);
    b->job.apply = backfill_apply;
    b->job.complete = backfill_complete;
    b->be = be;
    b->name = dx_strdup(name);
    b->table_id = table_id;
    b->index_id = index_id;
    dx_buf_init(&b->cursor);
    dx_buf_init(&b->next);
    uint8_t idb[4] = {(uint8_t)(table_id >> 24), (uint8_t)(table_id >> 16),
                      (uint8_t)(table_id >> 8), (uint8_t)table_id};
    dx_buf_append(&b->cursor, idb, 4);
    if (be_writer_submit(be->writer, &b->job) != DX_OK)
        backfill_free(b);
}

void be_backfill_resume(struct backend *be)
{
    size_t n;
    struct be_table **ts = be_catalog_list(be->catalog, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ts[i]->n_gsi; j++)
            if (ts[i]->gsi[j].status && !strcmp(ts[i]->gsi[j].status, "CREATING"))
                be_backfill_start(be, ts[i]->name, ts[i]->id, ts[i]->gsi[j].id);
    be_catalog_list_free(ts, n);
}
