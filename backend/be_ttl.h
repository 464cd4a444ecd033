/*
 * Time to live (backend-private): UpdateTimeToLive / DescribeTimeToLive, and the background
 * sweeper that deletes expired items through the normal write path.
 */
#ifndef BE_TTL_H
#define BE_TTL_H

#include <stdint.h>

struct backend;
struct be_ttl;

/* Starts the sweeper of be (reads be->opts.ttl_interval_ms). Stopped by be_ttl_stop, which
 * be_close calls before it stops the writer. */
int be_ttl_start(struct backend *be, struct be_ttl **out);
void be_ttl_stop(struct be_ttl *t);

/* Added by the TTL work: the most items one sweep slice (one read transaction, then at most
 * one writer job) looks at. */
#define BE_TTL_SLICE 256

/* Added by the TTL work: the sweeper's counters since start (tests, diagnostics). */
struct be_ttl_stats {
    uint64_t rounds;      /* sweeps over the tables, one per interval */
    uint64_t slices;      /* read transactions */
    uint64_t scanned;     /* items looked at */
    uint64_t max_slice;   /* most items one slice looked at (<= BE_TTL_SLICE) */
    uint64_t jobs;        /* writer jobs completed */
    uint64_t failed_jobs; /* of which failed (their items are retried on the next pass) */
    uint64_t max_job;     /* most keys one job was given (<= BE_TTL_SLICE) */
    uint64_t deleted;     /* items deleted */
};
/* A copy of t's counters. Any thread. */
void be_ttl_stats_get(struct be_ttl *t, struct be_ttl_stats *out);
/* Starts a round now instead of at the end of the interval. Any thread. */
void be_ttl_kick(struct be_ttl *t);

#endif
