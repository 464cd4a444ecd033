/*
 * Shared pieces of BatchGetItem and BatchWriteItem (private to be_batch*.c): DynamoDB's
 * constraint-list messages for the nested RequestItems member, the table lookup, and the
 * helpers that turn the single-item response fragments into batch list entries.
 */
#ifndef BE_BATCH_H
#define BE_BATCH_H

#include <lmdb.h>
#include "be_engine.h"
#include "dx_buf.h"

struct be_table;
struct cJSON;

/* DynamoDB's generic constraint failures, joined into one "N validation errors detected"
 * message (at most 10 listed). */
struct be_batch_verrs {
    int n;
    struct dx_buf msg;
};

/* One failure: "Value '<value>' at '<path>' failed to satisfy constraint: <text>" (value NULL:
 * "Value null"). `path` is written as given (DynamoDB's lower-camel member path). */
void be__batch_verr(struct be_batch_verrs *v, const char *value, const char *path,
                    const char *text);
/* Records the constraint errors of a TableName member at path (a name: pattern, length
 * 3..255; a table ARN: length up to 1024). */
void be__batch_table_name_verr(struct be_batch_verrs *v, const char *path, const char *name);
/* The value of a JSON member as a constraint message shows it (compact JSON). Owned by the
 * request arena. */
const char *be__batch_jvalue(struct be_req *r, const struct cJSON *j);
/* ReturnConsumedCapacity-style enum check of member `name` of r->json. */
void be__batch_enum(struct be_req *r, struct be_batch_verrs *v, const char *name,
                    const char *const *enumv);
/* The RequestItems map checks shared by both batches: not null, not empty, table names
 * (the "Map keys must satisfy constraint" failure). Returns the map (NULL when absent). */
const struct cJSON *be__batch_request_items(struct be_req *r, struct be_batch_verrs *v);
/* DX_OK when no failure was recorded, else DX_EREQ with the ValidationException. Frees v. */
int be__batch_verr_finish(struct be_batch_verrs *v, struct dx_error *err);

/* A reference to table `name` as an item operation may use it (tables being created or
 * deleted are not found), or NULL. */
struct be_table *be__batch_table(struct backend *be, const char *name);
/* Writer thread, before every item write: whether t (validated earlier) is still the current
 * table of its name, with the same id and not being deleted; otherwise DX_EREQ with
 * ResourceNotFoundException, as if the table had never been there. *current gets a reference
 * to the table's current snapshot, which writes must use: an index published since validation
 * (a GSI being backfilled) must be maintained. Release it with be_table_unref. */
int be__batch_table_recheck(struct be_req *r, MDB_txn *txn, const struct be_table *t,
                            struct be_table **current);

/* Appends to out the value of the single member that `fragment` (as the be__write_* helpers
 * of be_item_ops.h write it: "\"Name\":{...}") holds, without the member name. */
void be__batch_put_member_value(struct dx_buf *out, const struct dx_buf *fragment);

#define BE_BATCH_MISMATCH "The provided key element does not match the schema"

#endif
