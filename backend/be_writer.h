/*
 * The single writer thread (backend-private).
 *
 * Every mutation of the store goes through here. The writer takes the jobs queued so far,
 * runs each one's apply in its own nested transaction inside one write transaction, commits
 * the group with a single fsync (group commit), then runs each job's done. One writer makes
 * conditional writes and transactions serializable by construction.
 */
#ifndef BE_WRITER_H
#define BE_WRITER_H

#include <lmdb.h>

struct be_store;
struct be_writer;

struct be_wjob {
    /* Writer thread, inside a nested write transaction: DX_OK keeps this job's changes in the
     * group; any other status rolls back this job's changes only. */
    int (*apply)(struct be_wjob *job, MDB_txn *txn);
    /* Writer thread, after the group: status is apply's status when the group committed, or
     * DX_ESTORE when the commit failed (nothing of the group is stored). Must not block. */
    void (*complete)(struct be_wjob *job, int status);
    struct be_wjob *next; /* queue link, the writer's */
};

/* Starts the writer on s (borrowed; must outlive the writer). */
int be_writer_start(struct be_store *s, struct be_writer **out);
/* Queues a job; it runs and completes later on the writer thread. Thread-safe. Returns DX_OK,
 * or DX_ECLOSED after stop (the job is then not run). */
int be_writer_submit(struct be_writer *w, struct be_wjob *job);
/* Runs every job queued so far, then stops the thread and frees w. */
void be_writer_stop(struct be_writer *w);

#endif
