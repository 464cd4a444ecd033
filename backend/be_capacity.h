/*
 * Capacity (backend-private): what each request consumed, the token buckets that throttle
 * PROVISIONED tables and their global secondary indexes (with DynamoDB's burst capacity of up
 * to 300 s of unused units), the optional ceiling of PAY_PER_REQUEST tables, and the
 * per-table counters behind be_metrics_write (ConsumedReadCapacityUnits,
 * ConsumedWriteCapacityUnits, ThrottledRequests, an estimated on-demand cost).
 *
 * The engine calls be_capacity_admit before a data-plane request's handler runs, and
 * be_capacity_charge when the request finishes (with the units its handler recorded through
 * be_req_usage). Thread-safe: readers run on the worker threads, writes finish on the writer.
 */
#ifndef BE_CAPACITY_H
#define BE_CAPACITY_H

#include <stdint.h>

struct backend;
struct be_req;
struct be_table;
struct be_capacity;

/* Capacity state for be (reads be->opts). Freed by be_capacity_free (NULL is fine). */
int be_capacity_new(struct backend *be, struct be_capacity **out);
void be_capacity_free(struct be_capacity *c);

/* Before r's handler: DX_OK, or DX_EREQ with DynamoDB's ProvisionedThroughputExceededException
 * in r->err when a table (or index) the request would consume from has no capacity left
 * (ThrottlingException for an on-demand ceiling; TransactionCanceledException with a
 * ProvisionedThroughputExceeded reason for the throttled actions of a transaction). Batches
 * are rejected only when every table of them is out of capacity. */
int be_capacity_admit(struct be_req *r);

/* The single-table operations (GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan) are
 * admitted by their handler once the request is valid and its table t found, so that a bad
 * request gets its ValidationException first, as from DynamoDB: DX_OK or DX_EREQ as above. */
struct be_table;
int be_capacity_admit_table(struct be_req *r, const struct be_table *t);

/* When r finishes, whatever its status: charges the units r recorded (r->usage) to the
 * buckets and the counters. */
void be_capacity_charge(struct be_req *r);

/* Added for the batches: whether table t has no capacity left now for a read (write = 0) or
 * a write of request r (a BatchGetItem or BatchWriteItem that be_capacity_admit let through
 * because some other table of it had capacity). When it has none the throttle is counted and
 * the caller leaves the table's requests unprocessed, as DynamoDB does. */
int be_capacity_table_out(struct be_req *r, const struct be_table *t, int write);

/* Added: the token bucket behind each table's and GSI's read or write capacity, exposed for
 * the unit tests. level is what is left (negative: a debt, since DynamoDB charges a request
 * after it ran); at_ns when it was last brought up to date. */
struct be_bucket {
    double level;
    uint64_t at_ns;
};

/* Brings b up to now_ns at `rate` units per second, holding at most `cap` units (unused
 * capacity beyond cap is lost; a level already above cap, after a rate decrease, is cut). */
void be_bucket_refill(struct be_bucket *b, double rate, double cap, uint64_t now_ns);
/* Takes `units` from b, leaving at most `max_debt` units of debt. */
void be_bucket_take(struct be_bucket *b, double units, double max_debt);

/* Added for tests: the clock of the buckets (nanoseconds, monotonic); NULL restores the real
 * CLOCK_MONOTONIC. Set it before any request runs. */
void be_capacity_set_clock(struct be_capacity *c, uint64_t (*now)(void *arg), void *arg);

#endif
