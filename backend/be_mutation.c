/*
 * The single mutation path of the engine (see be_mutation.h). Today a change is the item record
 * and the table's statistics (kept by the store); indexes and streams join here.
 */
#include "be_mutation.h"
#include "be_store.h"

int be_mutation_apply(struct be_store *s, MDB_txn *txn, const struct be_table *t, const void *key,
                      size_t keylen, const struct dx_av *item)
{
    if (item)
        return be_item_put(s, txn, t, key, keylen, item);
    return be_item_del(s, txn, t, key, keylen);
}
