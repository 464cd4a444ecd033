/*
 * The single writer thread and its group commit.
 *
 * Submitters append jobs to a queue (mutex + condvar). The thread takes everything queued,
 * up to GROUP_MAX jobs, and runs the group in one write transaction: each job's apply runs in
 * a nested transaction that is committed into the parent on DX_OK and aborted otherwise, so a
 * failing job rolls back only its own changes. The parent commits once (one fsync for the
 * whole group); then each job's complete runs with its status, or with DX_ESTORE for every
 * job when the commit failed.
 *
 * When the map is full (a job, or the commit, hit MDB_MAP_FULL, noted by
 * be_store_mdb_status), nothing of the group is kept: the writer grows the map and runs the
 * group again from the start. apply must therefore have no effect outside its transaction
 * until complete is called.
 */
#include <pthread.h>
#include <string.h>
#include "be_store.h"
#include "be_writer.h"
#include "dx_alloc.h"
#include "dx_log.h"
#include "dx_status.h"

#define GROUP_MAX 256
/* Growing doubles the map; this bounds the retries of one group (64 GiB -> 64 TiB). */
#define GROW_MAX 10

int be__store_take_map_full(struct be_store *s);
int be__store_grow(struct be_store *s);
int be__store_grow_if_needed(struct be_store *s);

struct be_writer {
    struct be_store *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct be_wjob *head, *tail; /* queue, under lock */
    int stopping;                /* under lock */
};

/* One attempt at the group: statuses in st[]. Returns DX_OK when committed, DX_EFULL when the
 * map filled up (nothing kept), DX_ESTORE when the transaction failed otherwise. */
static int run_group(struct be_writer *w, struct be_wjob **jobs, size_t n, int *st)
{
    MDB_env *env = be_store_env(w->store);
    MDB_txn *parent, *child;
    int rc;

    be__store_take_map_full(w->store);
    rc = mdb_txn_begin(env, NULL, 0, &parent);
    if (rc != 0) {
        dx_error_log("writer: cannot begin a write transaction: %s", mdb_strerror(rc));
        return rc == MDB_MAP_FULL || rc == MDB_MAP_RESIZED ? DX_EFULL : DX_ESTORE;
    }
    for (size_t i = 0; i < n; i++) {
        rc = mdb_txn_begin(env, parent, 0, &child);
        if (rc != 0) {
            dx_error_log("writer: cannot begin a nested transaction: %s", mdb_strerror(rc));
            mdb_txn_abort(parent);
            return DX_ESTORE;
        }
        st[i] = jobs[i]->apply(jobs[i], child);
        if (st[i] == DX_OK) {
            rc = mdb_txn_commit(child); /* frees child even when it fails */
            if (rc != 0) {
                st[i] = be_store_mdb_status(w->store, rc, "nested commit");
            }
        } else {
            mdb_txn_abort(child);
        }
        if (be__store_take_map_full(w->store)) {
            mdb_txn_abort(parent);
            return DX_EFULL;
        }
    }
    rc = mdb_txn_commit(parent);
    if (rc == MDB_MAP_FULL)
        return DX_EFULL;
    if (rc != 0) {
        dx_error_log("writer: commit of %zu jobs failed: %s", n, mdb_strerror(rc));
        return DX_ESTORE;
    }
    return DX_OK;
}

static void process_group(struct be_writer *w, struct be_wjob **jobs, size_t n)
{
    int st[GROUP_MAX];
    int rc = DX_ESTORE;

    for (int attempt = 0; attempt <= GROW_MAX; attempt++) {
        rc = run_group(w, jobs, n, st);
        if (rc != DX_EFULL)
            break;
        if (attempt == GROW_MAX || be__store_grow(w->store) != DX_OK) {
            rc = DX_ESTORE;
            break;
        }
    }
    if (rc != DX_OK)
        for (size_t i = 0; i < n; i++)
            st[i] = DX_ESTORE;
    else
        be__store_grow_if_needed(w->store);
    for (size_t i = 0; i < n; i++)
        jobs[i]->complete(jobs[i], st[i]); /* may free the job */
}

static void *writer_main(void *arg)
{
    struct be_writer *w = arg;
    struct be_wjob *jobs[GROUP_MAX];

    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->head) { /* stopping and drained */
            pthread_mutex_unlock(&w->lock);
            break;
        }
        while (w->head && n < GROUP_MAX) {
            jobs[n++] = w->head;
            w->head = w->head->next;
        }
        if (!w->head)
            w->tail = NULL;
        pthread_mutex_unlock(&w->lock);
        for (size_t i = 0; i < n; i++)
            jobs[i]->next = NULL;
        process_group(w, jobs, n);
    }
    return NULL;
}

int be_writer_start(struct be_store *s, struct be_writer **out)
{
    struct be_writer *w = dx_calloc(1, sizeof(*w));
    w->store = s;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        dx_error_log("writer: cannot start the thread: %s", strerror(rc));
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        dx_free(w);
        return DX_ESYS;
    }
    *out = w;
    return DX_OK;
}

int be_writer_submit(struct be_writer *w, struct be_wjob *job)
{
    job->next = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        return DX_ECLOSED;
    }
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return DX_OK;
}

void be_writer_stop(struct be_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    dx_free(w);
}
