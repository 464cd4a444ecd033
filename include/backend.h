/*
 * The embedded DynamoDB engine (backend/): tables, items and expressions on LMDB.
 * Callable with no network at all; the HTTP front reaches it through struct dx_api.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "dx_api.h"

/* Called after the engine changed items of `table` on its own (the TTL sweeper's deletions),
 * once the change committed, so that a cache in front can drop what it holds of the table. On
 * the writer thread; must not block. */
typedef void (*be_change_fn)(void *arg, const char *table);

struct be_options {
    const char *data_dir; /* LMDB environment directory; created if missing */
    size_t map_size;      /* LMDB map size in bytes; 0 = default (64 GiB, sparse) */
    int nosync;           /* 1: do not fsync commits (tests, benchmarks); default durable */
    const char *region;   /* for ARNs; NULL = "us-east-1" */
    const char *account;  /* for ARNs; NULL = "000000000000" */
    /* Added: the item-collection size limit of tables with local secondary indexes, in bytes;
     * 0 = DynamoDB's 10 GiB. Smaller values are for tests. */
    uint64_t item_collection_limit;
    /* Added for TTL: the sweeper's period in milliseconds; 0 = 1000. */
    unsigned ttl_interval_ms;
    /* Added for table status transitions: how long a table (or index) stays CREATING,
     * UPDATING or DELETING before it settles, in milliseconds; 0 = at once (the default). */
    unsigned status_delay_ms;
    /* Added for capacity: an optional ceiling on PAY_PER_REQUEST tables, in read / write
     * units per second per table; 0 = none (DynamoDB's on-demand default). */
    double ondemand_max_rcu, ondemand_max_wcu;
    /* USD per million read / write request units for the estimated on-demand cost metric;
     * 0 = us-east-1's on-demand prices (0.125 and 0.625). */
    double price_read_million, price_write_million;
    /* How long TransactWriteItems remembers a ClientRequestToken, in milliseconds; 0 =
     * DynamoDB's 10 minutes. Shorter values are for tests. */
    unsigned txn_token_ttl_ms;
    /* Added: told of the engine's own changes (be_change_fn); NULL: nobody is. */
    be_change_fn on_change;
    void *on_change_arg;
    /* Added for capacity: the burst capacity of PROVISIONED tables and GSIs, in seconds of
     * unused capacity a bucket keeps; 0 = DynamoDB's 300. And the fill of a new bucket (made
     * at a table's or GSI's first request, or when a table switches to PROVISIONED), in
     * seconds of its rate; 0 = 1 second. */
    double capacity_burst_seconds, capacity_initial_seconds;
};

struct backend;

/* Opens (creating if needed) the data directory and starts the writer thread.
 * *out is freed with be_close. Returns DX_OK or a status (logged with the reason). */
int be_open(const struct be_options *opts, struct backend **out);
/* Finishes the writes already queued, stops the writer and closes LMDB. */
void be_close(struct backend *be);
/* The engine as a DynamoDB API; valid until be_close. Reads complete before the call returns,
 * on the caller's thread; writes complete on the writer thread after their group commit. */
struct dx_api be_api(struct backend *be);

struct dx_buf;
/* Appends the engine's own metrics (per-table consumed capacity, throttling, estimated
 * on-demand cost) in Prometheus text format to out. Any thread. */
void be_metrics_write(struct backend *be, struct dx_buf *out);

#endif
