/*
 * The TTL sweeper: a background thread that deletes expired items through the writer.
 *
 * Every ttl_interval_ms it makes one round over the tables whose TTL is ENABLED. A table is
 * walked in slices: one short read transaction looks at up to SLICE items from the table's
 * cursor on and collects the keys of those that have expired; then, with no read transaction
 * open, one writer job deletes them and the sweeper waits for it (so at most one job of at most
 * SLICE deletes is ever queued by the sweeper). The job re-reads every item inside the write
 * transaction and deletes it only if it is still expired — a write may have extended or
 * removed it since — and deletes it through be_mutation_apply, so index entries and item
 * collection sizes go with it. TTL deletions are not requests: they consume no capacity.
 *
 * A round spends at most a quarter of the interval (at least MIN_BUDGET_MS) walking; a table
 * cut short is resumed from its cursor, and the next round starts with that table, so large
 * tables are swept over several rounds and every table gets its turn. Cursors are kept in
 * memory only: after a restart the walk simply starts again from the beginning.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "be_catalog.h"
#include "be_engine.h"
#include "be_mutation.h"
#include "be_store.h"
#include "be_table_priv.h"
#include "be_ttl.h"
#include "be_ttl_priv.h"
#include "dx_alloc.h"
#include "dx_arena.h"
#include "dx_buf.h"
#include "dx_log.h"
#include "dx_status.h"

#define SLICE               BE_TTL_SLICE
#define DEFAULT_INTERVAL_MS 1000
#define MIN_BUDGET_MS       20

/* Where the walk of one table goes on. */
struct cursor {
    char *name;
    uint32_t id;
    struct dx_buf key; /* the walk goes on from this key (past it when `after`) */
    int after;
    int seen; /* still a table with TTL enabled in this round */
    struct cursor *next;
};

struct be_ttl {
    struct backend *be;
    unsigned interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;       /* CLOCK_MONOTONIC */
    int stopping;              /* under lock */
    int kicked;                /* under lock: a round was asked for before the interval is up */
    int pending;               /* under lock: jobs submitted and not completed */
    struct be_ttl_stats stats; /* under lock */
    struct cursor *cursors;    /* the sweeper thread's */
    char *resume;              /* the sweeper thread's: the table the last round stopped in */
};

/* One writer job: delete the keys that are still expired. */
struct ttl_job {
    struct be_wjob job; /* first: the job is the state */
    struct be_ttl *ttl;
    char *name;
    char *attr;
    uint32_t table_id;
    size_t n;
    struct dx_buf keys; /* n keys, each a uint16 length then the bytes */
    size_t deleted;     /* apply's result */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int stopping(struct be_ttl *t)
{
    pthread_mutex_lock(&t->lock);
    int s = t->stopping;
    pthread_mutex_unlock(&t->lock);
    return s;
}

/* ---- the writer job ---- */

static int job_apply(struct be_wjob *job, MDB_txn *txn)
{
    struct ttl_job *j = (struct ttl_job *)job;
    struct backend *be = j->ttl->be;
    struct be_table *t;
    j->deleted = 0; /* the group may be rerun (map growth) */
    int rc = be__catalog_load(be->catalog, txn, j->name, &t);
    if (rc == DX_ENOTFOUND)
        return DX_OK; /* the table went away */
    if (rc)
        return rc;
    struct be_ttl_spec s;
    be__ttl_spec(t, &s);
    if (t->id != j->table_id || !s.enabled || strcmp(s.attr, j->attr) != 0) {
        be_table_unref(t); /* recreated, or TTL disabled or changed meanwhile */
        return DX_OK;
    }
    struct be_ttl_clock clk;
    be__ttl_clock(be__now(), &clk);
    struct dx_arena a;
    dx_arena_init(&a);
    const uint8_t *p = (const uint8_t *)j->keys.p;
    for (size_t i = 0; i < j->n && rc == DX_OK; i++) {
        size_t klen = (size_t)p[0] << 8 | p[1];
        const uint8_t *key = p + 2;
        p += 2 + klen;
        struct dx_av *item;
        int grc = be_item_get(be->store, txn, key, klen, &a, &item);
        if (grc == DX_ENOTFOUND)
            continue;
        if (grc != DX_OK) {
            rc = grc;
            break;
        }
        if (!be__ttl_expired(item, s.attr, &clk))
            continue; /* extended (or changed type) since the sweeper saw it */
        rc = be_mutation_apply(be->store, txn, t, key, klen, NULL);
        if (rc == DX_OK)
            j->deleted++;
    }
    dx_arena_deinit(&a);
    be_table_unref(t);
    return rc;
}

static void job_free(struct ttl_job *j)
{
    dx_buf_deinit(&j->keys);
    dx_free(j->name);
    dx_free(j->attr);
    dx_free(j);
}

static void job_complete(struct be_wjob *job, int status)
{
    struct ttl_job *j = (struct ttl_job *)job;
    struct be_ttl *t = j->ttl;
    pthread_mutex_lock(&t->lock);
    t->pending--;
    t->stats.jobs++;
    if (status == DX_OK)
        t->stats.deleted += j->deleted;
    else
        t->stats.failed_jobs++;
    /* A cache in front never saw these deletions go through it. */
    if (status == DX_OK && j->deleted && t->be->opts.on_change)
        t->be->opts.on_change(t->be->opts.on_change_arg, j->name);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    job_free(j);
}

/* Queues j and waits for it (the writer runs until after be_ttl_stop returns). */
static void job_run(struct be_ttl *t, struct ttl_job *j)
{
    j->job.apply = job_apply;
    j->job.complete = job_complete;
    j->ttl = t;
    pthread_mutex_lock(&t->lock);
    t->pending++;
    if (t->stats.max_job < j->n)
        t->stats.max_job = j->n;
    pthread_mutex_unlock(&t->lock);
    if (be_writer_submit(t->be->writer, &j->job) != DX_OK) {
        pthread_mutex_lock(&t->lock);
        t->pending--;
        pthread_mutex_unlock(&t->lock);
        job_free(j);
        return;
    }
    pthread_mutex_lock(&t->lock);
    while (t->pending)
        pthread_cond_wait(&t->cond, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

/* ---- walking a table ---- */

static void cursor_reset(struct cursor *c, uint32_t id)
{
    uint8_t idb[4] = {(uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    c->id = id;
    dx_buf_reset(&c->key);
    dx_buf_append(&c->key, idb, 4);
    c->after = 0;
}

/* The cursor of table tb, created at its beginning, or restarted when the name now belongs to
 * another table (deleted and created again). */
static struct cursor *cursor_get(struct be_ttl *t, const struct be_table *tb)
{
    struct cursor *c;
    for (c = t->cursors; c; c = c->next)
        if (!strcmp(c->name, tb->name))
            break;
    if (!c) {
        c = dx_calloc(1, sizeof *c);
        c->name = dx_strdup(tb->name);
        dx_buf_init(&c->key);
        c->next = t->cursors;
        t->cursors = c;
        cursor_reset(c, tb->id);
    } else if (c->id != tb->id) {
        cursor_reset(c, tb->id);
    }
    c->seen = 1;
    return c;
}

static void cursors_prune(struct be_ttl *t, int all)
{
    struct cursor **pp = &t->cursors;
    while (*pp) {
        struct cursor *c = *pp;
        if (!all && c->seen) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        dx_buf_deinit(&c->key);
        dx_free(c->name);
        dx_free(c);
    }
}

/* One slice of table tb from its cursor c: one read transaction over at most SLICE items,
 * then one job for the expired ones. *end = 1 when the walk reached the end of the table. */
static int slice_run(struct be_ttl *t, const struct be_table *tb, const char *attr,
                     struct cursor *c, int *end)
{
    struct backend *be = t->be;
    struct ttl_job *j = NULL;
    size_t n = 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    *end = 0;
    int rc = be_store_read_begin(be->store, &txn);
    if (rc)
        return rc;
    int mrc = mdb_cursor_open(txn, be_store_dbi(be->store, BE_DBI_ITEMS), &cur);
    if (mrc != 0) {
        be_store_read_end(txn);
        return DX_ESTORE;
    }
    struct be_ttl_clock clk;
    be__ttl_clock(be__now(), &clk);
    uint8_t idb[4] = {(uint8_t)(tb->id >> 24), (uint8_t)(tb->id >> 16), (uint8_t)(tb->id >> 8),
                      (uint8_t)tb->id};
    MDB_val k = {c->key.len, c->key.p}, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (mrc == 0 && c->after && k.mv_size == c->key.len &&
        memcmp(k.mv_data, c->key.p, k.mv_size) == 0)
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    const void *last = NULL;
    size_t last_len = 0;
    while (mrc == 0 && n < SLICE && k.mv_size >= 4 && memcmp(k.mv_data, idb, 4) == 0) {
        n++;
        last = k.mv_data;
        last_len = k.mv_size;
        struct dx_arena a;
        struct dx_av *item;
        dx_arena_init(&a);
        if (be_codec_decode(v.mv_data, v.mv_size, &a, &item) == DX_OK &&
            be__ttl_expired(item, attr, &clk)) {
            if (!j) {
                j = dx_calloc(1, sizeof *j);
                dx_buf_init(&j->keys);
            }
            uint8_t len[2] = {(uint8_t)(k.mv_size >> 8), (uint8_t)k.mv_size};
            dx_buf_append(&j->keys, len, 2);
            dx_buf_append(&j->keys, k.mv_data, k.mv_size);
            j->n++;
        }
        dx_arena_deinit(&a);
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = DX_ESTORE;
    if (last) {
        /* Copied before the transaction ends: the key points into the map. */
        dx_buf_reset(&c->key);
        dx_buf_append(&c->key, last, last_len);
        c->after = 1;
    }
    mdb_cursor_close(cur);
    be_store_read_end(txn);
    *end = rc == DX_OK && n < SLICE;

    pthread_mutex_lock(&t->lock);
    t->stats.slices++;
    t->stats.scanned += n;
    if (t->stats.max_slice < n)
        t->stats.max_slice = n;
    pthread_mutex_unlock(&t->lock);

    if (j) {
        j->name = dx_strdup(tb->name);
        j->attr = dx_strdup(attr);
        j->table_id = tb->id;
        job_run(t, j); /* no read transaction open while waiting for the writer */
    }
    return rc;
}

/* One round over the tables with TTL enabled, within the time budget. */
static void round_run(struct be_ttl *t)
{
    struct backend *be = t->be;
    size_t n;
    struct be_table **ts = be_catalog_list(be->catalog, &n);
    unsigned budget = t->interval_ms / 4 > MIN_BUDGET_MS ? t->interval_ms / 4 : MIN_BUDGET_MS;
    uint64_t deadline = mono_ms() + budget;
    size_t start = 0;
    if (t->resume) {
        while (start < n && strcmp(ts[start]->name, t->resume) < 0)
            start++;
        if (start == n)
            start = 0;
        dx_free(t->resume);
        t->resume = NULL;
    }
    for (struct cursor *c = t->cursors; c; c = c->next)
        c->seen = 0;
    double now = be__now();
    int done = 0;
    for (size_t i = 0; i < n; i++) {
        const struct be_table *tb = ts[(start + i) % n];
        struct be_ttl_spec s;
        be__ttl_spec(tb, &s);
        if (strcmp(be__ttl_status(&s, now, be->opts.status_delay_ms), "ENABLED") != 0 ||
            be_table_in_transition(tb))
            continue; /* a table being created has no items yet; one being deleted soon none */
        struct cursor *c = cursor_get(t, tb);
        while (!done) {
            int end;
            if (stopping(t)) {
                done = 1;
                break;
            }
            if (slice_run(t, tb, s.attr, c, &end) != DX_OK)
                break; /* tried again next round */
            if (end) {
                cursor_reset(c, tb->id);
                break;
            }
            if (mono_ms() >= deadline) {
                /* Out of time: the next round starts with this table, from its cursor. */
                t->resume = dx_strdup(tb->name);
                done = 1;
            }
        }
    }
    cursors_prune(t, 0);
    be_catalog_list_free(ts, n);
    pthread_mutex_lock(&t->lock);
    t->stats.rounds++;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

static void *sweeper_main(void *arg)
{
    struct be_ttl *t = arg;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += t->interval_ms / 1000;
        until.tv_nsec += (long)(t->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!t->stopping && !t->kicked)
            if (pthread_cond_timedwait(&t->cond, &t->lock, &until) != 0)
                break; /* the interval is up */
        if (t->stopping)
            break;
        t->kicked = 0;
        pthread_mutex_unlock(&t->lock);
        round_run(t);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int be_ttl_start(struct backend *be, struct be_ttl **out)
{
    struct be_ttl *t = dx_calloc(1, sizeof *t);
    t->be = be;
    t->interval_ms = be->opts.ttl_interval_ms ? be->opts.ttl_interval_ms : DEFAULT_INTERVAL_MS;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&t->lock, NULL);
    int rc = pthread_create(&t->thread, NULL, sweeper_main, t);
    if (rc != 0) {
        dx_error_log("ttl: cannot start the sweeper thread: %s", strerror(rc));
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        dx_free(t);
        *out = NULL;
        return DX_ESYS;
    }
    *out = t;
    return DX_OK;
}

void be_ttl_stop(struct be_ttl *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    /* The thread waits for its job, if any, before it sees the flag: nothing is left pending. */
    pthread_join(t->thread, NULL);
    cursors_prune(t, 1);
    dx_free(t->resume);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    dx_free(t);
}

void be_ttl_kick(struct be_ttl *t)
{
    pthread_mutex_lock(&t->lock);
    t->kicked = 1;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

void be_ttl_stats_get(struct be_ttl *t, struct be_ttl_stats *out)
{
    pthread_mutex_lock(&t->lock);
    *out = t->stats;
    pthread_mutex_unlock(&t->lock);
}
