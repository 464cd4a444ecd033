/*
 * The embedded DynamoDB engine (backend/): tables, items and expressions on LMDB.
 * Callable with no network at all; the HTTP front reaches it through struct dx_api.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "dx_api.h"

struct be_options {
    const char *data_dir; /* LMDB environment directory; created if missing */
    size_t map_size;      /* LMDB map size in bytes; 0 = default (64 GiB, sparse) */
    int nosync;           /* 1: do not fsync commits (tests, benchmarks); default durable */
    const char *region;   /* for ARNs; NULL = "us-east-1" */
    const char *account;  /* for ARNs; NULL = "000000000000" */
    /* Added: the item-collection size limit of tables with local secondary indexes, in bytes;
     * 0 = DynamoDB's 10 GiB. Smaller values are for tests. */
    uint64_t item_collection_limit;
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

#endif
