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

struct backend;
struct be_req;
struct be_capacity;

/* Capacity state for be (reads be->opts). Freed by be_capacity_free (NULL is fine). */
int be_capacity_new(struct backend *be, struct be_capacity **out);
void be_capacity_free(struct be_capacity *c);

/* Before r's handler: DX_OK, or DX_EREQ with DynamoDB's ProvisionedThroughputExceededException
 * in r->err when a table (or index) the request would consume from has no capacity left. */
int be_capacity_admit(struct be_req *r);

/* When r finishes, whatever its status: charges the units r recorded (r->usage) to the
 * buckets and the counters. */
void be_capacity_charge(struct be_req *r);

#endif
