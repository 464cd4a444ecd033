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
#include <lmdb.h>
#include "dx_av.h"

struct be_store;
struct be_table;

/* Makes the item at storage key `key` of table t be `item`, or deletes it when item is NULL
 * (deleting an absent item is DX_OK). Writer thread. DX_OK or DX_ESTORE. */
int be_mutation_apply(struct be_store *s, MDB_txn *txn, const struct be_table *t, const void *key,
                      size_t keylen, const struct dx_av *item);

#endif
