/*
 * The catalog (backend-private): table definitions, persisted in the store's catalog database
 * and published to readers as immutable, reference-counted snapshots.
 *
 * Readers (any thread) take a reference with be_catalog_get and drop it with be_table_unref;
 * a snapshot never changes after publication. Changes are made by the writer thread: it
 * stores the new definition in its transaction (be_catalog_store / be_catalog_remove) and,
 * once the group has committed, publishes it (be_catalog_publish / be_catalog_unpublish).
 */
#ifndef BE_CATALOG_H
#define BE_CATALOG_H

#include <stdint.h>
#include <lmdb.h>
#include "dx_av.h"

struct be_store;
struct be_catalog;

enum be_billing { BE_BILLING_PROVISIONED = 0, BE_BILLING_PAY_PER_REQUEST };
enum be_projection { BE_PROJ_ALL = 0, BE_PROJ_KEYS_ONLY, BE_PROJ_INCLUDE };

struct be_keydef {
    char *name;           /* NULL when absent (no sort key) */
    enum dx_av_type type; /* DX_AV_S, DX_AV_N or DX_AV_B */
};

struct be_index {
    char *name;
    int global; /* 1 GSI, 0 LSI */
    struct be_keydef hash, range;
    enum be_projection projection;
    char **nonkey; /* INCLUDE: NonKeyAttributes */
    size_t n_nonkey;
    int64_t rcu, wcu; /* GSI provisioned throughput (0 for on-demand) */
    char *status;     /* "ACTIVE", "CREATING", ... */
    uint32_t id;      /* storage prefix of the index's entries */
};

struct be_table {
    int refs;    /* atomic; the catalog's own reference included */
    uint32_t id; /* storage prefix; never reused */
    char *name;
    char *arn;                    /* arn:aws:dynamodb:<region>:<account>:table/<name> */
    char *table_id;               /* UUID, stable for the table's life */
    double created;               /* epoch seconds with fraction */
    char *status;                 /* "ACTIVE", ... */
    struct be_keydef hash, range; /* range.name NULL without a sort key */
    struct be_keydef *attrdefs;   /* AttributeDefinitions as given */
    size_t n_attrdefs;
    enum be_billing billing;
    int64_t rcu, wcu;
    double last_increase, last_decrease; /* epoch seconds, 0 = never */
    int decreases_today;
    struct be_index *lsi;
    size_t n_lsi;
    struct be_index *gsi;
    size_t n_gsi;
    int deletion_protection;
    char *table_class; /* "STANDARD" or "STANDARD_INFREQUENT_ACCESS" */
    /* Added for status transitions: when (epoch seconds) a CREATING / UPDATING / DELETING
     * status settles (ACTIVE, or gone for DELETING); 0 = nothing pending. Settling is lazy:
     * the catalog applies it whenever it hands out a definition past this time. */
    double settle_at;
    struct cJSON
        *extra; /* further settings later issues add (stream, SSE, tags, ...); may be NULL */
};

/* Loads every table from s. Freed by be_catalog_free. */
int be_catalog_open(struct be_store *s, struct be_catalog **out);
void be_catalog_free(struct be_catalog *c);

/* A reference to the current snapshot of table `name`, or NULL when there is none. `name` may
 * also be a table ARN. Thread-safe. */
struct be_table *be_catalog_get(struct be_catalog *c, const char *name);
void be_table_ref(struct be_table *t);
void be_table_unref(struct be_table *t);
/* References to every table, sorted by name; *n gets the count. The array is malloc'd (free
 * it with be_catalog_list_free, which also drops the references). */
struct be_table **be_catalog_list(struct be_catalog *c, size_t *n);
void be_catalog_list_free(struct be_table **ts, size_t n);

/* Writer thread. A new table id (persisted in txn). */
int be_catalog_next_id(struct be_catalog *c, MDB_txn *txn, uint32_t *id);
/* Writer thread: persist / delete a definition inside txn. */
int be_catalog_store(struct be_catalog *c, MDB_txn *txn, const struct be_table *t);
int be_catalog_remove(struct be_catalog *c, MDB_txn *txn, const char *name);
/* Writer thread, after commit: make t the current snapshot (takes a reference), or drop it. */
void be_catalog_publish(struct be_catalog *c, struct be_table *t);
void be_catalog_unpublish(struct be_catalog *c, const char *name);

/* Whether a table's or an index's status is `what` (a NULL status matches nothing). */
int be_status_is(const char *status, const char *what);
/* Whether t is being created or deleted: item operations, tags and the TTL sweeper do not see
 * such a table, as in DynamoDB. */
int be_table_in_transition(const struct be_table *t);

/* A new, empty table struct (refs = 1), and a deep copy (for UpdateTable). */
struct be_table *be_table_new(void);
struct be_table *be_table_clone(const struct be_table *t);

#endif
