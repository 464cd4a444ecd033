/*
 * The one function that changes an item (backend-private).
 *
 * Every item write of every operation — PutItem, UpdateItem, DeleteItem, BatchWriteItem, and
 * later transactions and TTL deletions — ends here, on the writer thread inside the write
 * transaction. What must accompany each change (secondary index entries, stream records, the
 * point-in-time log) hangs on this one place, so no operation can forget it.
 */
#ifndef BE_MUTATION_H
#define BE_MUTATION_H

#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>
#include "dx_av.h"

struct be_store;
struct be_table;

/* Makes the item at storage key `key` of table t be `item`, or deletes it when item is NULL
 * (deleting an absent item is DX_OK). Writer thread. DX_OK or DX_ESTORE. */
int be_mutation_apply(struct be_store *s, MDB_txn *txn, const struct be_table *t, const void *key,
                      size_t keylen, const struct dx_av *item);

struct be_index;
struct dx_buf;
struct dx_arena;

/* Added for secondary indexes. The storage key of item's entry in index ix of table t
 * (index id | hash32 | index keys | table keys, fitted to BE_KEY_MAX), appended to out:
 * DX_OK, DX_ENOTFOUND when item lacks an index key attribute of the declared type (sparse
 * index: no entry), DX_EINVAL for a bad number. */
int be_index_key(const struct be_table *t, const struct be_index *ix, const struct dx_av *item,
                 struct dx_buf *out);
/* A shallow copy of t that reads as the index: its storage id and its key schema (names and
 * the rest borrowed from t). */
void be_index_view(const struct be_table *t, const struct be_index *ix, struct be_table *view);
/* The projection of item stored in the index (item itself for ALL; else a map in a). */
const struct dx_av *be_index_project(struct dx_arena *a, const struct be_table *t,
                                     const struct be_index *ix, const struct dx_av *item);

/* Added for item collections (tables with local secondary indexes). be_mutation_apply_checked
 * is be_mutation_apply that also enforces the item-collection size limit: a write that grows
 * its collection past it returns DX_EREQ with ItemCollectionSizeLimitExceededException in err
 * and writes nothing (be_mutation_apply, err NULL, keeps the sizes but never refuses).
 * be_collection_size: the current size in bytes of item's collection in t (0 when none).
 * The limit is the store's (be_store_collection_limit). */
struct dx_error;
int be_mutation_apply_checked(struct be_store *s, MDB_txn *txn, const struct be_table *t,
                              const void *key, size_t keylen, const struct dx_av *item,
                              struct dx_error *err);
int be_collection_size(struct be_store *s, MDB_txn *txn, const struct be_table *t,
                       const struct dx_av *item, uint64_t *bytes);

#endif
