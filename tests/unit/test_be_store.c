/*
 * Tests of the LMDB store and the writer thread (backend/be_store.c, be_writer.c): items put,
 * read and deleted through writer jobs; group commit (jobs queued together share one
 * transaction); exact per-table statistics; DeleteTable's range delete; durability across a
 * reopen; many submitting threads, each job completed exactly once; a failing job rolled back
 * alone; stop draining the queue; and the map growing when it fills up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <ftw.h>
#include <cmocka.h>
#include "backend.h"
#include "be_store.h"
#include "be_writer.h"
#include "be_catalog.h"
#include "dx_status.h"

struct env {
    char dir[64];
    char data[128];
    struct be_store *s;
    struct be_writer *w;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void env_open(struct env *e, size_t map_size)
{
    struct be_options o = {0};
    o.data_dir = e->data;
    o.map_size = map_size;
    o.nosync = 1;
    assert_int_equal(be_store_open(&o, &e->s), DX_OK);
    assert_int_equal(be_writer_start(e->s, &e->w), DX_OK);
}

static void env_close(struct env *e)
{
    be_writer_stop(e->w);
    be_store_close(e->s);
    e->w = NULL;
    e->s = NULL;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    strcpy(e->dir, "/tmp/ddax-store-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    /* a data dir two levels below: open must create it */
    snprintf(e->data, sizeof(e->data), "%s/a/b", e->dir);
    env_open(e, 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    if (e->s)
        env_close(e);
    nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(e);
    return 0;
}

static struct be_table table_with_id(uint32_t id)
{
    struct be_table t;
    memset(&t, 0, sizeof(t));
    t.id = id;
    t.name = "t";
    t.hash.name = "id";
    t.hash.type = DX_AV_S;
    return t;
}

/* A job that runs a test function in the writer and lets the test wait for it. */
struct tjob {
    struct be_wjob job;
    struct env *e;
    const struct be_table *t;
    char id[32];
    int value;                  /* size of the "v" attribute; 0 = delete */
    int fail;                   /* write, then return DX_EREQ */
    pthread_mutex_t *gate_lock; /* optional: apply blocks until *gate */
    pthread_cond_t *gate_cond;
    int *gate;
    size_t txnid;
    int status;
    int completed; /* atomic */
};

static struct dx_av *make_item(struct dx_arena *a, const char *id, int vsize)
{
    struct dx_av *m = dx_av_new_map(a);
    dx_av_map_set(a, m, "id", 2, dx_av_new_bytes(a, DX_AV_S, id, strlen(id)));
    char *v = dx_arena_alloc(a, (size_t)vsize + 1);
    memset(v, 'v', (size_t)vsize);
    dx_av_map_set(a, m, "v", 1, dx_av_new_bytes(a, DX_AV_S, v, (size_t)vsize));
    return m;
}

static void item_key(const struct be_table *t, const char *id, struct dx_buf *kb)
{
    struct dx_arena a;
    struct dx_error err = {0};
    dx_arena_init(&a);
    assert_int_equal(be_key_from_item(t, make_item(&a, id, 0), kb, &err), DX_OK);
    dx_arena_deinit(&a);
}

static int tjob_apply(struct be_wjob *job, MDB_txn *txn)
{
    struct tjob *j = (struct tjob *)job;
    if (j->gate) {
        pthread_mutex_lock(j->gate_lock);
        while (!*j->gate)
            pthread_cond_wait(j->gate_cond, j->gate_lock);
        pthread_mutex_unlock(j->gate_lock);
    }
    j->txnid = mdb_txn_id(txn);
    struct dx_arena a;
    struct dx_buf kb = DX_BUF_INIT;
    int rc;
    dx_arena_init(&a);
    struct dx_av *item = make_item(&a, j->id, j->value);
    struct dx_error err = {0};
    be_key_from_item(j->t, item, &kb, &err);
    if (j->value)
        rc = be_item_put(j->e->s, txn, j->t, kb.p, kb.len, item);
    else
        rc = be_item_del(j->e->s, txn, j->t, kb.p, kb.len);
    dx_buf_deinit(&kb);
    dx_arena_deinit(&a);
    if (rc == DX_OK && j->fail)
        rc = DX_EREQ;
    return rc;
}

static void tjob_complete(struct be_wjob *job, int status)
{
    struct tjob *j = (struct tjob *)job;
    j->status = status;
    __atomic_add_fetch(&j->completed, 1, __ATOMIC_SEQ_CST);
}

static void tjob_init(struct tjob *j, struct env *e, const struct be_table *t, const char *id,
                      int value)
{
    memset(j, 0, sizeof(*j));
    j->job.apply = tjob_apply;
    j->job.complete = tjob_complete;
    j->e = e;
    j->t = t;
    snprintf(j->id, sizeof(j->id), "%s", id);
    j->value = value;
}

static void wait_done(struct tjob *j)
{
    while (!__atomic_load_n(&j->completed, __ATOMIC_SEQ_CST))
        usleep(100);
}

/* Runs one put (value > 0) or delete (value 0) and returns its status. */
static int run(struct env *e, const struct be_table *t, const char *id, int value)
{
    struct tjob j;
    tjob_init(&j, e, t, id, value);
    assert_int_equal(be_writer_submit(e->w, &j.job), DX_OK);
    wait_done(&j);
    assert_int_equal(j.completed, 1);
    return j.status;
}

/* The item at id, or NULL; the "v" size in *vsize. Uses a read transaction. */
static int get(struct env *e, const struct be_table *t, const char *id, size_t *vsize)
{
    MDB_txn *txn;
    struct dx_arena a;
    struct dx_av *item = NULL;
    struct dx_buf kb = DX_BUF_INIT;
    dx_arena_init(&a);
    item_key(t, id, &kb);
    assert_int_equal(be_store_read_begin(e->s, &txn), DX_OK);
    int rc = be_item_get(e->s, txn, kb.p, kb.len, &a, &item);
    be_store_read_end(txn);
    if (rc == DX_OK) {
        struct dx_av *idv = dx_av_map_get(item, "id", 2);
        assert_non_null(idv);
        assert_int_equal(idv->u.bytes.len, strlen(id));
        assert_memory_equal(idv->u.bytes.p, id, strlen(id));
        if (vsize)
            *vsize = dx_av_map_get(item, "v", 1)->u.bytes.len;
    }
    dx_buf_deinit(&kb);
    dx_arena_deinit(&a);
    return rc;
}

static void stats(struct env *e, uint32_t id, uint64_t *count, uint64_t *bytes)
{
    MDB_txn *txn;
    assert_int_equal(be_store_read_begin(e->s, &txn), DX_OK);
    assert_int_equal(be_table_stats(e->s, txn, id, count, bytes), DX_OK);
    be_store_read_end(txn);
}

/* DynamoDB size of make_item(id, v): "id" + id + "v" + v */
static uint64_t isize(const char *id, int v)
{
    return 2 + strlen(id) + 1 + (uint64_t)v;
}

static void test_put_get_del_stats(void **state)
{
    struct env *e = *state;
    struct be_table t = table_with_id(7);
    uint64_t count, bytes;
    size_t vs;

    assert_int_equal(get(e, &t, "a", NULL), DX_ENOTFOUND);
    stats(e, 7, &count, &bytes);
    assert_int_equal(count, 0);
    assert_int_equal(bytes, 0);

    assert_int_equal(run(e, &t, "a", 10), DX_OK);
    assert_int_equal(run(e, &t, "b", 20), DX_OK);
    assert_int_equal(run(e, &t, "c", 30), DX_OK);
    assert_int_equal(get(e, &t, "b", &vs), DX_OK);
    assert_int_equal(vs, 20);
    stats(e, 7, &count, &bytes);
    assert_int_equal(count, 3);
    assert_int_equal(bytes, isize("a", 10) + isize("b", 20) + isize("c", 30));

    /* overwrite: count unchanged, size follows the new item */
    assert_int_equal(run(e, &t, "b", 500), DX_OK);
    assert_int_equal(get(e, &t, "b", &vs), DX_OK);
    assert_int_equal(vs, 500);
    stats(e, 7, &count, &bytes);
    assert_int_equal(count, 3);
    assert_int_equal(bytes, isize("a", 10) + isize("b", 500) + isize("c", 30));

    /* delete, and delete of an absent key (DX_OK, no change) */
    assert_int_equal(run(e, &t, "a", 0), DX_OK);
    assert_int_equal(run(e, &t, "zzz", 0), DX_OK);
    assert_int_equal(get(e, &t, "a", NULL), DX_ENOTFOUND);
    stats(e, 7, &count, &bytes);
    assert_int_equal(count, 2);
    assert_int_equal(bytes, isize("b", 500) + isize("c", 30));

    /* another table's stats are separate */
    stats(e, 8, &count, &bytes);
    assert_int_equal(count, 0);
}

/* A job whose apply is DeleteTable's range delete. */
struct dropjob {
    struct be_wjob job;
    struct be_store *s;
    uint32_t id;
    int status, done;
};

static int drop_apply(struct be_wjob *job, MDB_txn *txn)
{
    struct dropjob *d = (struct dropjob *)job;
    return be_items_drop_table(d->s, txn, d->id);
}

static void drop_complete(struct be_wjob *job, int status)
{
    struct dropjob *d = (struct dropjob *)job;
    d->status = status;
    __atomic_store_n(&d->done, 1, __ATOMIC_SEQ_CST);
}

static void test_drop_table(void **state)
{
    struct env *e = *state;
    /* ids whose big-endian bytes are prefixes / neighbours of each other */
    uint32_t ids[] = {1, 2, 0x100, 0x01000000, 0xffffffff};
    struct be_table ts[5];
    uint64_t count, bytes;
    for (int i = 0; i < 5; i++) {
        ts[i] = table_with_id(ids[i]);
        for (int k = 0; k < 50; k++) {
            char id[16];
            snprintf(id, sizeof(id), "k%d", k);
            assert_int_equal(run(e, &ts[i], id, 5), DX_OK);
        }
    }
    for (int drop = 0; drop < 5; drop += 2) {
        struct dropjob dj;
        memset(&dj, 0, sizeof(dj));
        dj.s = e->s;
        dj.id = ids[drop];
        dj.job.apply = drop_apply;
        dj.job.complete = drop_complete;
        assert_int_equal(be_writer_submit(e->w, &dj.job), DX_OK);
        while (!__atomic_load_n(&dj.done, __ATOMIC_SEQ_CST))
            usleep(100);
        assert_int_equal(dj.status, DX_OK);
    }
    for (int i = 0; i < 5; i++) {
        int dropped = i % 2 == 0;
        stats(e, ids[i], &count, &bytes);
        assert_int_equal(count, dropped ? 0 : 50);
        for (int k = 0; k < 50; k++) {
            char id[16];
            snprintf(id, sizeof(id), "k%d", k);
            assert_int_equal(get(e, &ts[i], id, NULL), dropped ? DX_ENOTFOUND : DX_OK);
        }
    }
}

static void test_reopen(void **state)
{
    struct env *e = *state;
    struct be_table t = table_with_id(3);
    uint64_t count, bytes;
    for (int k = 0; k < 100; k++) {
        char id[16];
        snprintf(id, sizeof(id), "item%d", k);
        assert_int_equal(run(e, &t, id, k + 1), DX_OK);
    }
    env_close(e);
    env_open(e, 0);
    size_t vs;
    for (int k = 0; k < 100; k++) {
        char id[16];
        snprintf(id, sizeof(id), "item%d", k);
        assert_int_equal(get(e, &t, id, &vs), DX_OK);
        assert_int_equal(vs, (size_t)k + 1);
    }
    stats(e, 3, &count, &bytes);
    assert_int_equal(count, 100);
    /* and a durable (fsync) environment opens on the same data */
    env_close(e);
    struct be_options o = {0};
    o.data_dir = e->data;
    assert_int_equal(be_store_open(&o, &e->s), DX_OK);
    assert_int_equal(be_writer_start(e->s, &e->w), DX_OK);
    assert_int_equal(run(e, &t, "durable", 1), DX_OK);
    assert_int_equal(get(e, &t, "durable", NULL), DX_OK);
    assert_int_equal(get(e, &t, "item99", NULL), DX_OK);
}

/* Jobs queued while the writer is busy go together: one transaction, one commit. A job that
 * fails rolls back its own changes only. */
static void test_group_and_rollback(void **state)
{
    struct env *e = *state;
    struct be_table t = table_with_id(9);
    pthread_mutex_t gl = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t gc = PTHREAD_COND_INITIALIZER;
    int gate = 0;
    enum { NJ = 100 };
    struct tjob first, *jobs = calloc(NJ, sizeof(*jobs));
    uint64_t count, bytes;

    tjob_init(&first, e, &t, "first", 1);
    first.gate = &gate;
    first.gate_lock = &gl;
    first.gate_cond = &gc;
    assert_int_equal(be_writer_submit(e->w, &first.job), DX_OK);
    usleep(20000); /* the writer is now blocked inside first's apply */
    for (int i = 0; i < NJ; i++) {
        char id[16];
        snprintf(id, sizeof(id), "g%d", i);
        tjob_init(&jobs[i], e, &t, id, 3);
        jobs[i].fail = (i % 10 == 5); /* writes, then fails */
        assert_int_equal(be_writer_submit(e->w, &jobs[i].job), DX_OK);
    }
    pthread_mutex_lock(&gl);
    gate = 1;
    pthread_cond_broadcast(&gc);
    pthread_mutex_unlock(&gl);
    wait_done(&first);
    for (int i = 0; i < NJ; i++)
        wait_done(&jobs[i]);
    assert_int_equal(first.status, DX_OK);
    for (int i = 0; i < NJ; i++) {
        assert_int_equal(jobs[i].completed, 1);
        assert_int_equal(jobs[i].status, jobs[i].fail ? DX_EREQ : DX_OK);
        assert_int_equal(jobs[i].txnid, jobs[0].txnid); /* one group */
        assert_int_equal(get(e, &t, jobs[i].id, NULL), jobs[i].fail ? DX_ENOTFOUND : DX_OK);
    }
    assert_int_not_equal(first.txnid, jobs[0].txnid);
    stats(e, 9, &count, &bytes);
    assert_int_equal(count, 1 + NJ - NJ / 10);
    free(jobs);
}

struct submitter {
    struct env *e;
    const struct be_table *t;
    int thread;
    int n;
    struct tjob *jobs;
};

static void *submit_many(void *arg)
{
    struct submitter *sb = arg;
    for (int i = 0; i < sb->n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "t%d-%d", sb->thread, i);
        tjob_init(&sb->jobs[i], sb->e, sb->t, id, 1 + i % 7);
        if (be_writer_submit(sb->e->w, &sb->jobs[i].job) != DX_OK)
            abort();
    }
    return NULL;
}

static void test_concurrent_submitters(void **state)
{
    struct env *e = *state;
    struct be_table t = table_with_id(11);
    enum { NT = 8, PER = 500 };
    pthread_t th[NT];
    struct submitter sb[NT];
    uint64_t count, bytes, want_bytes = 0;
    for (int i = 0; i < NT; i++) {
        sb[i] = (struct submitter){e, &t, i, PER, calloc(PER, sizeof(struct tjob))};
        pthread_create(&th[i], NULL, submit_many, &sb[i]);
    }
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    size_t groups = 0, last = 0;
    for (int i = 0; i < NT; i++)
        for (int k = 0; k < PER; k++) {
            wait_done(&sb[i].jobs[k]);
            want_bytes += isize(sb[i].jobs[k].id, 1 + k % 7);
        }
    /* a little later: nothing completes twice */
    usleep(20000);
    for (int i = 0; i < NT; i++)
        for (int k = 0; k < PER; k++) {
            assert_int_equal(sb[i].jobs[k].completed, 1);
            assert_int_equal(sb[i].jobs[k].status, DX_OK);
            if (sb[i].jobs[k].txnid != last)
                groups++;
            last = sb[i].jobs[k].txnid;
        }
    stats(e, 11, &count, &bytes);
    assert_int_equal(count, NT * PER);
    assert_int_equal(bytes, want_bytes);
    printf("# %d jobs from %d threads committed in about %zu groups\n", NT * PER, NT, groups);
    for (int i = 0; i < NT; i++)
        free(sb[i].jobs);
}

/* stop runs everything queued, then later submits are refused and never run. */
static void test_stop_drains(void **state)
{
    struct env *e = *state;
    struct be_table t = table_with_id(12);
    enum { NJ = 300 };
    struct tjob *jobs = calloc(NJ, sizeof(*jobs));
    for (int i = 0; i < NJ; i++) {
        char id[16];
        snprintf(id, sizeof(id), "d%d", i);
        tjob_init(&jobs[i], e, &t, id, 2);
        assert_int_equal(be_writer_submit(e->w, &jobs[i].job), DX_OK);
    }
    be_writer_stop(e->w);
    for (int i = 0; i < NJ; i++) {
        assert_int_equal(jobs[i].completed, 1);
        assert_int_equal(jobs[i].status, DX_OK);
    }
    assert_int_equal(be_writer_start(e->s, &e->w), DX_OK);
    uint64_t count, bytes;
    stats(e, 12, &count, &bytes);
    assert_int_equal(count, NJ);
    free(jobs);
}

/* Readers on other threads see committed data and never block the writer. */
struct reader {
    struct env *e;
    const struct be_table *t;
    const char *id;
    int stop, seen;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
        if (get(r->e, r->t, r->id, NULL) == DX_OK)
            __atomic_add_fetch(&r->seen, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* A map far too small for the data: the writer grows it, while readers keep reading, and no
 * job fails. */
static void test_map_grows(void **state)
{
    struct env *e = *state;
    env_close(e);
    nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    mkdir(e->dir, 0700);
    env_open(e, 256 * 1024);
    struct be_table t = table_with_id(13);
    enum { NJ = 400 };
    struct tjob *jobs = calloc(NJ, sizeof(*jobs));
    struct reader r = {e, &t, "m0", 0, 0};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, read_loop, &r);
    for (int i = 0; i < NJ; i++) {
        char id[16];
        snprintf(id, sizeof(id), "m%d", i);
        tjob_init(&jobs[i], e, &t, id, 20000); /* 8 MB in all */
        assert_int_equal(be_writer_submit(e->w, &jobs[i].job), DX_OK);
    }
    for (int i = 0; i < NJ; i++) {
        wait_done(&jobs[i]);
        assert_int_equal(jobs[i].status, DX_OK);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    MDB_envinfo info;
    mdb_env_info(be_store_env(e->s), &info);
    assert_true(info.me_mapsize >= 8 * 1024 * 1024);
    uint64_t count, bytes;
    stats(e, 13, &count, &bytes);
    assert_int_equal(count, NJ);
    size_t vs;
    assert_int_equal(get(e, &t, "m399", &vs), DX_OK);
    assert_int_equal(vs, 20000);
    free(jobs);
}

static void test_readers_during_writes(void **state)
{
    struct env *e = *state;
    struct be_table t = table_with_id(14);
    struct reader r = {e, &t, "r0", 0, 0};
    pthread_t th[2];
    assert_int_equal(run(e, &t, "r0", 1), DX_OK);
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, read_loop, &r);
    for (int k = 0; k < 200; k++) {
        char id[16];
        snprintf(id, sizeof(id), "r%d", k + 1);
        assert_int_equal(run(e, &t, id, 100), DX_OK);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_true(r.seen > 0);
}

/* A job that, running during stop's drain, submits another job: refused with DX_ECLOSED and
 * never run. */
struct resubmit {
    struct be_wjob job;
    struct be_writer *w;
    struct tjob inner;
    int submit_rc, done;
};

static int resubmit_apply(struct be_wjob *job, MDB_txn *txn)
{
    struct resubmit *r = (struct resubmit *)job;
    r->submit_rc = be_writer_submit(r->w, &r->inner.job);
    return DX_OK;
}

static void resubmit_complete(struct be_wjob *job, int status)
{
    ((struct resubmit *)job)->done = 1;
}

struct gate {
    pthread_mutex_t *lock;
    pthread_cond_t *cond;
    int *open;
};

static void *open_gate_later(void *arg)
{
    struct gate *g = arg;
    usleep(20000);
    pthread_mutex_lock(g->lock);
    *g->open = 1;
    pthread_cond_broadcast(g->cond);
    pthread_mutex_unlock(g->lock);
    return NULL;
}

static void test_submit_after_stop(void **state)
{
    struct env *e = *state;
    struct be_table t = table_with_id(15);
    struct resubmit r;
    memset(&r, 0, sizeof(r));
    r.job.apply = resubmit_apply;
    r.job.complete = resubmit_complete;
    r.w = e->w;
    tjob_init(&r.inner, e, &t, "never", 1);
    /* block the writer so that stop is under way when r runs */
    pthread_mutex_t gl = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t gc = PTHREAD_COND_INITIALIZER;
    int gate = 0;
    struct tjob first;
    tjob_init(&first, e, &t, "first", 1);
    first.gate = &gate;
    first.gate_lock = &gl;
    first.gate_cond = &gc;
    assert_int_equal(be_writer_submit(e->w, &first.job), DX_OK);
    assert_int_equal(be_writer_submit(e->w, &r.job), DX_OK);
    pthread_t th;
    pthread_create(&th, NULL, open_gate_later, &(struct gate){&gl, &gc, &gate});
    be_writer_stop(e->w); /* drains first and r */
    pthread_join(th, NULL);
    e->w = NULL;
    assert_int_equal(first.completed, 1);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.submit_rc, DX_ECLOSED);
    assert_int_equal(r.inner.completed, 0);
    assert_int_equal(be_writer_start(e->s, &e->w), DX_OK);
    assert_int_equal(get(e, &t, "first", NULL), DX_OK);
    assert_int_equal(get(e, &t, "never", NULL), DX_ENOTFOUND);
}

/* Opening where no environment can be: a status, no crash, nothing leaked. */
static void test_open_errors(void **state)
{
    struct env *e = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/file", e->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    struct be_options o = {0};
    struct be_store *s = NULL;
    o.data_dir = path; /* a regular file */
    assert_int_not_equal(be_store_open(&o, &s), DX_OK);
    snprintf(path, sizeof(path), "%s/file/below", e->dir); /* below a regular file */
    assert_int_not_equal(be_store_open(&o, &s), DX_OK);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_del_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_submitters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_during_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_after_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
