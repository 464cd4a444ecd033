/*
 * Private to the table module (be_catalog.c, be_table_validate.c, be_table_desc.c,
 * be_table_ops.c): the persisted encoding of a table definition, the TableDescription writer,
 * CreateTable's request parser and the constraint-error collector DynamoDB's request validator
 * speaks ("N validation errors detected: Value 'x' at 'path' failed to satisfy constraint: ...").
 */
#ifndef BE_TABLE_PRIV_H
#define BE_TABLE_PRIV_H

#include <stdint.h>
#include <lmdb.h>
#include "dx_buf.h"
#include "dx_error.h"
#include "dx_json.h"
#include "be_catalog.h"

struct cJSON;
struct be_store;

#define BE_MAX_LSI        5
#define BE_MAX_GSI        20
#define BE_MAX_TABLES     2500
#define BE_MAX_PROJECTED  100
#define BE_MAX_THROUGHPUT 1000000000000LL

/* ---- persisted encoding (be_catalog.c) ---- */

/* Appends the stored form of t (JSON text) to out. */
void be__table_encode(const struct be_table *t, struct dx_buf *out);
/* A new table (refs = 1) from p[0..n). DX_OK or DX_EINVAL (not a table definition). */
int be__table_decode(const void *p, size_t n, struct be_table **out);
/* The definition of `name` as stored in txn (the writer's latest view, ahead of the published
 * snapshots within a group). DX_OK (*out: a new table, refs = 1), DX_ENOTFOUND or DX_ESTORE. */
int be__catalog_load(struct be_catalog *c, MDB_txn *txn, const char *name, struct be_table **out);
/* Settles a transition that is due at `now` (see struct be_table's settle_at): CREATING and
 * UPDATING become ACTIVE, UPDATING indexes ACTIVE, DELETING indexes leave, and a DELETING table
 * is gone (returns 1; t is then unchanged). Returns 0 otherwise. t must not be published. */
int be__table_settle(struct be_table *t, double now);
/* Index status of a GSI whose backfill finished while its table's UpdateTable transition is
 * still pending: reported CREATING, queried as ACTIVE, settled to ACTIVE. */
#define BE_GSI_BACKFILLED "BACKFILLED"
/* Number of published tables. */
size_t be__catalog_count(struct be_catalog *c);
/* A random UUID v4 in canonical text form; buf holds 37 bytes. */
void be__uuid4(char buf[37]);

/* ---- TableDescription (be_table_desc.c) ---- */

struct be_desc_stats {
    uint64_t items, bytes;
    uint64_t lsi_items[BE_MAX_LSI], lsi_bytes[BE_MAX_LSI];
    uint64_t gsi_items[BE_MAX_GSI], gsi_bytes[BE_MAX_GSI];
};

/* GSIs reported CREATING (CreateTable's response). */
#define BE_DESC_GSI_CREATING 1u
/* DeletionProtectionEnabled left out (CreateTable's response when it was not requested). */
#define BE_DESC_NO_DP 2u

/* Appends the TableDescription object of t. status overrides t->status when not NULL;
 * st may be NULL (all counts 0). now: epoch seconds (for NumberOfDecreasesToday's day). */
void be__table_desc(struct dx_buf *out, const struct be_table *t, const char *status,
                    const struct be_desc_stats *st, unsigned flags, double now);
/* Fills st from the store (table and index item counts and sizes); missing stats read as 0. */
void be__table_stats_read(struct be_store *s, MDB_txn *txn, const struct be_table *t,
                          struct be_desc_stats *st);
/* Current time, epoch seconds with fraction. */
double be__now(void);
/* NumberOfDecreasesToday as of now: 0 when the last decrease was on an earlier UTC day. */
int be__decreases_today(const struct be_table *t, double now);

/* ---- request validation (be_table_validate.c) ---- */

/* The collector of generic constraint errors (at most 10, as DynamoDB reports). */
struct be_verrs {
    struct dx_buf b;
    int n;
};

/* Records "Value <value> at '<path>' failed to satisfy constraint: <msg>"; value NULL prints
 * null, otherwise it is quoted. */
void be__verr_add(struct be_verrs *v, const char *value, const char *path, const char *msg);
/* DX_OK when nothing was recorded; else DX_EREQ with the combined ValidationException.
 * Releases the collector either way. */
int be__verr_finish(struct be_verrs *v, struct dx_error *err);
/* Appends j rendered as DynamoDB renders values in those messages (strings bare, lists as
 * "[a, b]"). */
void be__jval_str(const struct cJSON *j, struct dx_buf *out);

/* j may be NULL or JSON null (absent): DX_OK. A value of another type: DX_EREQ with the
 * SerializationException DynamoDB sends (dx_json_check's, so that every operation words
 * type errors the same way). */
int be__jtype(const struct cJSON *j, enum dx_jtype want, struct dx_error *err);

/* Records the constraint errors of a table or index name (pattern, length 3..255). */
void be__verr_name(struct be_verrs *v, const char *s, const char *path);
/* The request model's constraints of a ProvisionedThroughput (both units not null, >= 1), a
 * KeySchema (not null, 1..2 elements, names, KeyType enum) and a Projection (not null, enum,
 * NonKeyAttributes), recorded under `path`. */
void be__verr_pt(struct be_verrs *v, const struct cJSON *pt, const char *path);
void be__verr_keyschema(struct be_verrs *v, const struct cJSON *ks, const char *path);
void be__verr_projection(struct be_verrs *v, const struct cJSON *pr, const char *path);
/* A stream label (the enabling time, ISO 8601 with milliseconds) into buf. */
void be__stream_label(double now, char *buf, size_t n);

/* ResourceNotFoundException for table `name`, as the control-plane operations word it.
 * Returns DX_EREQ. */
int be__table_not_found(struct dx_error *err, const char *name);
/* The table a DescribeTable-like request names in TableName (a name or a table ARN): DX_OK
 * with a reference in *t (the caller drops it), or DX_EREQ (a bad TableName, no such table). */
struct be_req;
int be__table_arg(struct be_req *r, struct be_table **t);

/* The TableName of DescribeTable / DeleteTable / UpdateTable (a name or a table ARN).
 * A member of the wrong type or a missing name: DX_EREQ at once (v is discarded). Otherwise
 * the name's constraint errors are recorded: into v when given (DX_OK; the caller adds its
 * own and calls be__verr_finish), else reported at once (DX_OK or DX_EREQ). */
int be__table_name_arg(const struct cJSON *req, struct be_verrs *extra, const char **name,
                       struct dx_error *err);

/* Parses and validates a CreateTable request into a new table (refs = 1, id 0, status
 * ACTIVE) with the ARN, TableId and creation time filled in. DX_OK or DX_EREQ. */
int be__table_from_create(const struct cJSON *req, const char *region, const char *account,
                          double now, struct be_table **out, struct dx_error *err);

/* ---- tags (be_tags.c) ---- */

/* Checks a Tags list (TagResource's or CreateTable's) as DynamoDB does: each key and value
 * (characters, lengths), the reserved aws: prefix, duplicates and the 50-tag limit. The JSON
 * types were checked before. DX_OK or DX_EREQ. */
int be__tags_check(const struct cJSON *tags, struct dx_error *err);

#endif
