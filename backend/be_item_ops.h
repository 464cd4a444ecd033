/*
 * Shared pieces of the single-item operations (GetItem, PutItem, UpdateItem, DeleteItem),
 * private to be_item_ops*.c: DynamoDB's generic request validation (parameter types, then the
 * "N validation errors detected" constraint list) and the response fragments every item
 * operation writes (ConsumedCapacity, ItemCollectionMetrics).
 */
#ifndef BE_ITEM_OPS_H
#define BE_ITEM_OPS_H

#include <stddef.h>
#include <stdint.h>
#include "be_engine.h"
#include "dx_av.h"
#include "dx_buf.h"

struct be_table;

/* The largest item DynamoDB stores (400 KB, attribute names included). */
#define BE_ITEM_MAX_SIZE 409600

/* The kind of a request member, for the SerializationException checks. */
enum be_iparam_kind {
    BE_IP_STR = 1,
    BE_IP_MAP, /* JSON object with arbitrary keys (Key, Item, Expected, ...) */
    BE_IP_ARR,
    BE_IP_BOOL,
};

/* Constraint flags of a request member. */
#define BE_IP_NOTNULL   1u /* "Member must not be null" */
#define BE_IP_TABLENAME 2u /* table name pattern and length (or a table ARN) */

/* One request member the operation takes, in DynamoDB's validation order. */
struct be_iparam {
    const char *name;
    enum be_iparam_kind kind;
    unsigned flags;
    const char *const *enumv; /* NULL-terminated allowed values, or NULL */
};

/*
 * Validates r->json against the member list (n entries) as DynamoDB's front end does: first
 * the JSON type of every member (SerializationException, first failure), then the
 * constraints (not null, table name, enums), all failures joined into one
 * ValidationException "N validation error(s) detected: ..." (at most 10). DX_OK or DX_EREQ
 * with r->err set.
 */
int be__item_validate(struct be_req *r, const struct be_iparam *params, size_t n);

/* Enumerations of the item operations' parameters (NULL-terminated, DynamoDB's order). */
extern const char *const be__enum_return_capacity[];
extern const char *const be__enum_return_values[];
extern const char *const be__enum_return_metrics[];
extern const char *const be__enum_conditional_op[];
extern const char *const be__enum_return_on_failure[];

/*
 * The table named in the request's TableName (a reference in *t, NULL when there is none) and
 * the request's parsed expressions. DynamoDB validates expressions before it looks the table
 * up, so for a missing table an invalid expression is still reported as such; otherwise
 * ResourceNotFoundException. Tables being created or deleted are not found (be__batch_table).
 */
struct be_exprs;
int be__table_and_exprs(struct be_req *r, struct be_table **t, struct be_exprs **x);

/* ReturnConsumedCapacity as a level: 0 NONE (or absent), 1 TOTAL, 2 INDEXES. */
int be__item_capacity_level(const char *s);

/*
 * Checks the attributes of item that key a secondary index of t: each present one must be of
 * the index key's declared type and, for S and B, not empty (absent ones just leave the item
 * out of the index). The first violation, taking indexes in name order, becomes DynamoDB's
 * ValidationException; `update` selects UpdateItem's wording for empty values. DX_OK or
 * DX_EREQ.
 */
int be__check_index_keys(const struct be_table *t, const struct dx_av *item, int update,
                         struct dx_error *err);

/* Read capacity by DynamoDB's rules: 4 KB units, halved when eventually consistent; an
 * absent item counts as the smallest read. */
double be__read_units(const struct dx_av *item, int consistent);

/* Write capacity of one item write: the table's units and each secondary index's. */
#define BE_WCAP_MAX 32
struct be_wcap {
    double table, total;
    size_t n;
    struct {
        const char *name; /* borrowed from the table */
        int global;
        double units;
    } idx[BE_WCAP_MAX];
};

/*
 * Write capacity by DynamoDB's rules for a write that turns old_item into new_item (either
 * NULL: none). The table is charged 1 KB units of the larger item (at least 1). Each index
 * whose entry changes is charged the projected entry's units: a new entry one put, a removed
 * entry one delete, a changed key a delete plus a put, and nothing when the projected entry
 * is unchanged. Projections are built in a.
 */
void be__wcap_compute(struct dx_arena *a, const struct be_table *t, const struct dx_av *old_item,
                      const struct dx_av *new_item, struct be_wcap *c);

/* Added: records c (one write's units on t) with be_req_usage: the table's units and its
 * local secondary indexes' on the table (they consume its capacity), each global secondary
 * index's on the index. */
void be__wcap_usage(struct be_req *r, const struct be_table *t, const struct be_wcap *c);
/* Adds c to sum (several writes to one table), index by index; the table's part is
 * multiplied by table_factor (2 in a transaction: only the table's part is doubled). */
void be__wcap_add(struct be_wcap *sum, const struct be_wcap *c, double table_factor);

/* Appends `"ConsumedCapacity":{...}` (no leading comma) for table `name`: level 1 (TOTAL) the
 * sum, level 2 (INDEXES) also the table's and each index's part. */
void be__write_read_capacity(struct dx_buf *out, const char *name, double units, int level);
void be__write_write_capacity(struct dx_buf *out, const char *name, const struct be_wcap *c,
                              int level);

/* Appends `"ItemCollectionMetrics":{...}` for the item collection of item in table t (tables
 * with local secondary indexes), using item's partition key. */
void be__write_collection_metrics(struct dx_buf *out, const struct be_table *t,
                                  const struct dx_av *item);
/* Added: the same with the collection's real size in bytes (SizeEstimateRangeGB from it). */
void be__write_collection_metrics_size(struct dx_buf *out, const struct be_table *t,
                                       const struct dx_av *item, uint64_t bytes);

#endif
