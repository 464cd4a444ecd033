/*
 * The LMDB environment and the item primitives: open/close, the named databases, item
 * get/put/del with per-table statistics, DeleteTable's range delete, and read transactions.
 *
 * The environment is opened with MDB_NOTLS (a read transaction is not tied to the thread that
 * began it, and a worker can run many over time without one reader slot per thread) and
 * MDB_NOSYNC only when asked. The map is sparse: 64 GiB by default costs nothing until used;
 * when it does fill up, the writer grows it (be_writer.c), which LMDB allows only while no
 * transaction is open in the process: read transactions are therefore counted (`readers`),
 * and a resize waits for the count to reach zero while holding new readers off. The count is
 * not a pthread rwlock because with MDB_NOTLS a read transaction may end on another thread
 * than the one that began it.
 *
 * Per-table statistics live in the meta database under the key 's' | table id (4 bytes, BE)
 * as two little-endian uint64: the item count and the total DynamoDB size of the items. They
 * are updated in the same transaction as the item, so they are exact after a crash.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "backend.h"
#include "be_store.h"
#include "be_catalog.h"
#include "dx_alloc.h"
#include "dx_log.h"
#include "dx_status.h"

#define DEFAULT_MAP_SIZE ((size_t)64 << 30)
#define MAX_DBS          32   /* room for the databases later modules add (indexes, streams, ...) */
#define MAX_READERS      1024 /* concurrent read transactions across all workers */

static const char *const DBI_NAMES[BE_DBI__COUNT] = {"catalog", "items", "meta", "txn"};

struct be_store {
    MDB_env *env;
    MDB_dbi dbi[BE_DBI__COUNT];
    int readers;          /* atomic: open read transactions (be_store_read_begin) */
    int resizing;         /* atomic: a map resize waits or runs; readers hold off */
    pthread_mutex_t gate; /* with gate_cond: sleeping for the two above */
    pthread_cond_t gate_cond;
    int map_full;              /* set when a write hit MDB_MAP_FULL; the writer resets it */
    struct dx_buf wbuf;        /* encoding scratch of the (single) writer thread */
    uint64_t collection_limit; /* be_options.item_collection_limit, 0 = DynamoDB's 10 GiB */
};

/* Internal to the store: used by be_writer.c. */
int be__store_take_map_full(struct be_store *s);
int be__store_grow(struct be_store *s);
int be__store_grow_if_needed(struct be_store *s);

static int mkdir_p(const char *path)
{
    char *p = dx_strdup(path);
    int rc = 0;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            rc = -1;
        *c = '/';
        if (rc)
            break;
    }
    if (!rc && mkdir(p, 0755) != 0 && errno != EEXIST)
        rc = -1;
    dx_free(p);
    return rc;
}

int be_store_open(const struct be_options *opts, struct be_store **out)
{
    const char *dir = opts->data_dir && *opts->data_dir ? opts->data_dir : "./data";
    struct be_store *s = dx_calloc(1, sizeof(*s));
    MDB_txn *txn = NULL;
    int rc;
    s->collection_limit = opts->item_collection_limit ? opts->item_collection_limit : 10ull << 30;

    if (mkdir_p(dir) != 0) {
        dx_error_log("store: cannot create data directory %s: %s", dir, strerror(errno));
        dx_free(s);
        return DX_ESYS;
    }
    pthread_mutex_init(&s->gate, NULL);
    pthread_cond_init(&s->gate_cond, NULL);

    if ((rc = mdb_env_create(&s->env)) != 0)
        goto fail;
    if ((rc = mdb_env_set_maxdbs(s->env, MAX_DBS)) != 0)
        goto fail;
    if ((rc = mdb_env_set_maxreaders(s->env, MAX_READERS)) != 0)
        goto fail;
    if ((rc = mdb_env_set_mapsize(s->env, opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE)) != 0)
        goto fail;
    unsigned flags = MDB_NOTLS | (opts->nosync ? MDB_NOSYNC : 0);
    if ((rc = mdb_env_open(s->env, dir, flags, 0644)) != 0)
        goto fail;
    mdb_env_set_userctx(s->env, s);
    if (mdb_env_get_maxkeysize(s->env) < BE_KEY_MAX) {
        dx_error_log("store: LMDB max key size %d is below %d", mdb_env_get_maxkeysize(s->env),
                     BE_KEY_MAX);
        rc = MDB_INCOMPATIBLE;
        goto fail;
    }
    int dead = 0;
    mdb_reader_check(s->env, &dead); /* slots of crashed processes */

    if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
        goto fail;
    for (int i = 0; i < BE_DBI__COUNT; i++)
        if ((rc = mdb_dbi_open(txn, DBI_NAMES[i], MDB_CREATE, &s->dbi[i])) != 0)
            goto fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        goto fail;
    *out = s;
    return DX_OK;

fail:
    dx_error_log("store: cannot open LMDB environment in %s: %s", dir, mdb_strerror(rc));
    if (txn)
        mdb_txn_abort(txn);
    if (s->env)
        mdb_env_close(s->env);
    pthread_cond_destroy(&s->gate_cond);
    pthread_mutex_destroy(&s->gate);
    dx_free(s);
    return DX_ESTORE;
}

void be_store_close(struct be_store *s)
{
    if (!s)
        return;
    mdb_env_close(s->env);
    pthread_cond_destroy(&s->gate_cond);
    pthread_mutex_destroy(&s->gate);
    dx_buf_deinit(&s->wbuf);
    dx_free(s);
}

MDB_env *be_store_env(struct be_store *s)
{
    return s->env;
}

MDB_dbi be_store_dbi(struct be_store *s, enum be_dbi which)
{
    return s->dbi[which];
}

int be_store_mdb_status(struct be_store *s, int rc, const char *what)
{
    if (rc == 0)
        return DX_OK;
    if (rc == MDB_NOTFOUND)
        return DX_ENOTFOUND;
    if (rc == MDB_MAP_FULL) {
        /* not an error of the job: the writer grows the map and reruns the group */
        __atomic_store_n(&s->map_full, 1, __ATOMIC_RELAXED);
        dx_debug("store: %s: map full", what);
        return DX_ESTORE;
    }
    dx_error_log("store: %s: %s", what, mdb_strerror(rc));
    return DX_ESTORE;
}

int be__store_take_map_full(struct be_store *s)
{
    return __atomic_exchange_n(&s->map_full, 0, __ATOMIC_RELAXED);
}

/* Writer thread, with no transaction of its own open: doubles the map. New readers wait
 * while the resize waits for the open ones to end; if they do not end within RESIZE_WAIT
 * seconds (a reader that waits for a write while holding its transaction would wait forever)
 * the resize gives up and the group fails with DX_ESTORE. */
#define RESIZE_WAIT 10
int be__store_grow(struct be_store *s)
{
    MDB_envinfo info;
    struct timespec deadline;
    int rc = 0;
    mdb_env_info(s->env, &info);
    size_t size = info.me_mapsize * 2;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += RESIZE_WAIT;
    pthread_mutex_lock(&s->gate);
    __atomic_store_n(&s->resizing, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&s->readers, __ATOMIC_SEQ_CST) > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->gate_cond, &s->gate, &deadline);
    if (__atomic_load_n(&s->readers, __ATOMIC_SEQ_CST) > 0)
        rc = -1;
    else
        rc = mdb_env_set_mapsize(s->env, size);
    __atomic_store_n(&s->resizing, 0, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&s->gate_cond);
    pthread_mutex_unlock(&s->gate);
    if (rc != 0) {
        dx_error_log("store: cannot grow the map to %zu bytes: %s", size,
                     rc == -1 ? "read transactions stay open" : mdb_strerror(rc));
        return DX_ESTORE;
    }
    dx_info("store: map grown to %zu KiB", size >> 10);
    return DX_OK;
}

/* Writer thread, no transaction open: grows the map ahead of need, when more than 3/4 of it
 * is in use, so that writes that do not report MDB_MAP_FULL through be_store_mdb_status
 * rarely meet it. */
int be__store_grow_if_needed(struct be_store *s)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
        return DX_OK;
    size_t used = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
    if (used <= info.me_mapsize / 4 * 3)
        return DX_OK;
    return be__store_grow(s);
}

/* A reader is gone: wake a resize waiting for the last one. */
static void read_done(struct be_store *s)
{
    if (__atomic_sub_fetch(&s->readers, 1, __ATOMIC_SEQ_CST) == 0 &&
        __atomic_load_n(&s->resizing, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&s->gate);
        pthread_cond_broadcast(&s->gate_cond);
        pthread_mutex_unlock(&s->gate);
    }
}

int be_store_read_begin(struct be_store *s, MDB_txn **txn)
{
    /* Fast path: one atomic increment. The increment and the resizing check are both
     * sequentially consistent, as are the resizer's store and its check of the count, so
     * either we see the resize and back off or the resizer sees us and waits. */
    for (;;) {
        __atomic_add_fetch(&s->readers, 1, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&s->resizing, __ATOMIC_SEQ_CST))
            break;
        pthread_mutex_lock(&s->gate);
        __atomic_sub_fetch(&s->readers, 1, __ATOMIC_SEQ_CST);
        pthread_cond_broadcast(&s->gate_cond);
        while (__atomic_load_n(&s->resizing, __ATOMIC_SEQ_CST))
            pthread_cond_wait(&s->gate_cond, &s->gate);
        pthread_mutex_unlock(&s->gate);
    }
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    if (rc != 0) {
        read_done(s);
        dx_error_log("store: cannot begin a read transaction: %s", mdb_strerror(rc));
        return DX_ESTORE;
    }
    return DX_OK;
}

void be_store_read_end(MDB_txn *txn)
{
    if (!txn)
        return;
    struct be_store *s = mdb_env_get_userctx(mdb_txn_env(txn));
    mdb_txn_abort(txn);
    read_done(s);
}

int be_item_get(struct be_store *s, MDB_txn *txn, const void *key, size_t keylen,
                struct dx_arena *a, struct dx_av **item)
{
    MDB_val k = {keylen, (void *)key}, v;
    int rc = mdb_get(txn, s->dbi[BE_DBI_ITEMS], &k, &v);
    if (rc != 0)
        return be_store_mdb_status(s, rc, "item get");
    if (be_codec_decode(v.mv_data, v.mv_size, a, item) != DX_OK) {
        dx_error_log("store: damaged item record (%zu bytes)", v.mv_size);
        return DX_ESTORE;
    }
    return DX_OK;
}

/* Statistics records. */
struct stats {
    uint64_t count, bytes;
};

static void stats_key(uint32_t table_id, uint8_t k[5])
{
    k[0] = 's';
    k[1] = (uint8_t)(table_id >> 24);
    k[2] = (uint8_t)(table_id >> 16);
    k[3] = (uint8_t)(table_id >> 8);
    k[4] = (uint8_t)table_id;
}

static void le64_put(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int stats_read(struct be_store *s, MDB_txn *txn, uint32_t table_id, struct stats *st)
{
    uint8_t kb[5];
    stats_key(table_id, kb);
    MDB_val k = {sizeof(kb), kb}, v;
    int rc = mdb_get(txn, s->dbi[BE_DBI_META], &k, &v);
    st->count = st->bytes = 0;
    if (rc == MDB_NOTFOUND)
        return DX_OK;
    if (rc != 0)
        return be_store_mdb_status(s, rc, "stats get");
    if (v.mv_size != 16) {
        dx_error_log("store: damaged statistics of table %u", (unsigned)table_id);
        return DX_ESTORE;
    }
    st->count = le64_get(v.mv_data);
    st->bytes = le64_get((const uint8_t *)v.mv_data + 8);
    return DX_OK;
}

/* Adds the deltas to the table's statistics (never below zero). */
static int stats_add(struct be_store *s, MDB_txn *txn, uint32_t table_id, int64_t dcount,
                     int64_t dbytes)
{
    struct stats st;
    int rc = stats_read(s, txn, table_id, &st);
    if (rc != DX_OK)
        return rc;
    st.count = dcount < 0 && (uint64_t)-dcount > st.count ? 0 : st.count + (uint64_t)dcount;
    st.bytes = dbytes < 0 && (uint64_t)-dbytes > st.bytes ? 0 : st.bytes + (uint64_t)dbytes;
    uint8_t kb[5], vb[16];
    stats_key(table_id, kb);
    le64_put(vb, st.count);
    le64_put(vb + 8, st.bytes);
    MDB_val k = {sizeof(kb), kb}, v = {sizeof(vb), vb};
    return be_store_mdb_status(s, mdb_put(txn, s->dbi[BE_DBI_META], &k, &v, 0), "stats put");
}

/* The size recorded in the item stored at key: *found 0 when there is none. */
static int old_size(struct be_store *s, MDB_txn *txn, MDB_val *k, int *found, uint64_t *size)
{
    MDB_val v;
    int rc = mdb_get(txn, s->dbi[BE_DBI_ITEMS], k, &v);
    *found = 0;
    *size = 0;
    if (rc == MDB_NOTFOUND)
        return DX_OK;
    if (rc != 0)
        return be_store_mdb_status(s, rc, "item get");
    if (be_codec_size(v.mv_data, v.mv_size, size) != DX_OK) {
        dx_error_log("store: damaged item record (%zu bytes)", v.mv_size);
        return DX_ESTORE;
    }
    *found = 1;
    return DX_OK;
}

int be_item_put(struct be_store *s, MDB_txn *txn, const struct be_table *t, const void *key,
                size_t keylen, const struct dx_av *item)
{
    MDB_val k = {keylen, (void *)key};
    int found, rc;
    uint64_t osize, nsize;

    if ((rc = old_size(s, txn, &k, &found, &osize)) != DX_OK)
        return rc;
    dx_buf_reset(&s->wbuf);
    be_codec_encode(item, &s->wbuf);
    be_codec_size(s->wbuf.p, s->wbuf.len, &nsize);
    MDB_val v = {s->wbuf.len, s->wbuf.p};
    rc = be_store_mdb_status(s, mdb_put(txn, s->dbi[BE_DBI_ITEMS], &k, &v, 0), "item put");
    if (rc != DX_OK)
        return rc;
    return stats_add(s, txn, t->id, found ? 0 : 1, (int64_t)nsize - (int64_t)osize);
}

int be_item_del(struct be_store *s, MDB_txn *txn, const struct be_table *t, const void *key,
                size_t keylen)
{
    MDB_val k = {keylen, (void *)key};
    int found, rc;
    uint64_t osize;

    if ((rc = old_size(s, txn, &k, &found, &osize)) != DX_OK)
        return rc;
    if (!found)
        return DX_OK;
    rc = be_store_mdb_status(s, mdb_del(txn, s->dbi[BE_DBI_ITEMS], &k, NULL), "item del");
    if (rc != DX_OK)
        return rc;
    return stats_add(s, txn, t->id, -1, -(int64_t)osize);
}

int be_items_drop_table(struct be_store *s, MDB_txn *txn, uint32_t table_id)
{
    uint8_t prefix[4] = {(uint8_t)(table_id >> 24), (uint8_t)(table_id >> 16),
                         (uint8_t)(table_id >> 8), (uint8_t)table_id};
    MDB_cursor *c;
    MDB_val k = {sizeof(prefix), prefix}, v;
    int rc = mdb_cursor_open(txn, s->dbi[BE_DBI_ITEMS], &c);
    if (rc != 0)
        return be_store_mdb_status(s, rc, "cursor open");
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= 4 && memcmp(k.mv_data, prefix, 4) == 0) {
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            break;
        /* seek again rather than trust the cursor's position after a delete at the end of a
         * page or of the tree */
        k.mv_size = sizeof(prefix);
        k.mv_data = prefix;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(c);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return be_store_mdb_status(s, rc, "drop table");
    uint8_t kb[5];
    stats_key(table_id, kb);
    MDB_val sk = {sizeof(kb), kb};
    rc = mdb_del(txn, s->dbi[BE_DBI_META], &sk, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return be_store_mdb_status(s, rc, "stats del");
    return DX_OK;
}

int be_table_stats(struct be_store *s, MDB_txn *txn, uint32_t table_id, uint64_t *count,
                   uint64_t *bytes)
{
    struct stats st;
    int rc = stats_read(s, txn, table_id, &st);
    if (rc != DX_OK)
        return rc;
    *count = st.count;
    *bytes = st.bytes;
    return DX_OK;
}

uint64_t be_store_collection_limit(struct be_store *s)
{
    return s->collection_limit;
}
