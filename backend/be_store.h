/*
 * Storage on LMDB (backend-private): the environment, its databases, the key layout, and the
 * item read/write primitives every operation uses.
 *
 * Databases (named DBIs in one environment):
 *   catalog  table name -> table definition (be_catalog.c's encoding)
 *   items    item key   -> encoded item (be_codec.h)
 *   meta     small records: next table id, per-table item count and size
 * Item key layout, so that one partition is one contiguous key range ordered by sort key, and
 * a Scan visits partitions in the order of a hash of the partition key (parallel Scan splits
 * that hash space):
 *   table id (4 bytes, big-endian) | hash32(partition key bytes) (4 bytes, big-endian)
 *   | partition key (order-preserving, self-delimiting) | sort key (same encoding, if any)
 * S and B encode as the bytes with 0x00 escaped as 0x00 0xFF, ended by 0x00 0x01; N encodes
 * with dx_num_key_encode. So memcmp order is DynamoDB's order within a partition.
 */
#ifndef BE_STORE_H
#define BE_STORE_H

#include <stdint.h>
#include <lmdb.h>
#include "dx_arena.h"
#include "dx_av.h"
#include "dx_buf.h"
#include "dx_error.h"

struct be_options;
struct be_table;

/* BE_DBI_TXN: TransactWriteItems' ClientRequestToken records (idempotency, 10 minutes). */
enum be_dbi { BE_DBI_CATALOG = 0, BE_DBI_ITEMS, BE_DBI_META, BE_DBI_TXN, BE_DBI__COUNT };

struct be_store;

/* Opens the environment in opts->data_dir (created if missing). Freed by be_store_close. */
int be_store_open(const struct be_options *opts, struct be_store **out);
void be_store_close(struct be_store *s);
MDB_env *be_store_env(struct be_store *s);
MDB_dbi be_store_dbi(struct be_store *s, enum be_dbi which);
/* The item-collection size limit of this store's tables with LSIs, from
 * be_options.item_collection_limit (DynamoDB's 10 GiB when that is 0). */
uint64_t be_store_collection_limit(struct be_store *s);

/* Largest key LMDB takes (mdb_env_get_maxkeysize; 511 by default). Keys longer than this are
 * stored under a prefix + digest form by be_key_*; callers need not care. */

/*
 * The storage key of an item. Both validate as DynamoDB does and return DX_EREQ with its
 * ValidationException text:
 *  - from_key: `key` is a request's Key: exactly the table's key attributes, of the declared
 *    types ("The provided key element does not match the schema"), non-empty S/B, sizes
 *    within 2048 (partition) / 1024 (sort) bytes;
 *  - from_item: `item` is a whole item that must contain the key attributes
 *    ("One or more parameter values were invalid: Missing the key id in the item", type
 *    mismatch texts, empty key values).
 * The key is appended to out.
 */
int be_key_from_key(const struct be_table *t, const struct dx_av *key, struct dx_buf *out,
                    struct dx_error *err);
int be_key_from_item(const struct be_table *t, const struct dx_av *item, struct dx_buf *out,
                     struct dx_error *err);
/* A map holding only the table's key attributes of item (borrowed values). */
struct dx_av *be_key_attrs(struct dx_arena *a, const struct be_table *t, const struct dx_av *item);

/* Reads the item at key into a tree in a. DX_OK, DX_ENOTFOUND, or DX_ESTORE. */
int be_item_get(struct be_store *s, MDB_txn *txn, const void *key, size_t keylen,
                struct dx_arena *a, struct dx_av **item);
/* Writes / deletes the item at key (writer thread), keeping the table's item count and size
 * current. del of an absent key is DX_OK. DX_OK or DX_ESTORE. Operations do not call these:
 * they go through be_mutation_apply (be_mutation.h), where everything a write entails hangs. */
int be_item_put(struct be_store *s, MDB_txn *txn, const struct be_table *t, const void *key,
                size_t keylen, const struct dx_av *item);
int be_item_del(struct be_store *s, MDB_txn *txn, const struct be_table *t, const void *key,
                size_t keylen);
/* Deletes every item of the table id (writer thread; DeleteTable). */
int be_items_drop_table(struct be_store *s, MDB_txn *txn, uint32_t table_id);
/* The table's item count and total item size (bytes by DynamoDB's rules). */
int be_table_stats(struct be_store *s, MDB_txn *txn, uint32_t table_id, uint64_t *count,
                   uint64_t *bytes);

/* The compact binary item encoding (not JSON). decode builds the tree in a. */
void be_codec_encode(const struct dx_av *item, struct dx_buf *out);
int be_codec_decode(const void *p, size_t n, struct dx_arena *a, struct dx_av **item);
/* Added by the store: the DynamoDB size (dx_av_item_size) recorded in an encoded item's
 * header, read without decoding. DX_OK or DX_EINVAL. */
int be_codec_size(const void *p, size_t n, uint64_t *size);

/*
 * Added by the store: read transactions. Readers use these rather than a bare
 * mdb_txn_begin(MDB_RDONLY): they are counted, so that the writer can grow the LMDB map (which
 * needs no transaction open in the process) without pulling the map from under a reader.
 * end aborts the transaction (any thread; MDB_NOTLS). A thread should not open a second one
 * nor wait for a write job while holding one: a map resize would wait for it (up to 10 s).
 */
int be_store_read_begin(struct be_store *s, MDB_txn **txn);
void be_store_read_end(MDB_txn *txn);
/* Added by the store: turns an LMDB return code from a call made inside a writer job into a
 * status (DX_OK, DX_ENOTFOUND for MDB_NOTFOUND, else DX_ESTORE, logged with `what`). Code that
 * calls mdb_put & co itself should pass errors through this: it notes MDB_MAP_FULL so that the
 * writer grows the map and reruns the group instead of failing the job. */
int be_store_mdb_status(struct be_store *s, int rc, const char *what);

/*
 * Added by the store: pieces of the key layout, for Query/Scan ranges.
 * be_key_hash32: the partition hash (FNV-1a 32 then the murmur3 finaliser) of the encoded
 * partition key bytes; stable forever, it is on disk.
 * be_key_encode_value: appends the order-preserving encoding of one S, N or B value
 * (DX_OK, DX_EINVAL for another type or a bad number).
 * be_key_partition: appends table id | hash32 | encoded partition key, the prefix shared by
 * every storage key of that partition; cut to BE_KEY_MAX-32 bytes when longer (then keys of
 * other partitions with the same hash32 and the same first bytes can share it: compare the
 * items' key attributes). DX_OK or DX_EINVAL.
 * be_key_fit: if the key that starts at out[start] is longer than BE_KEY_MAX, replaces it by
 * its first BE_KEY_MAX-32 bytes + the SHA-256 of the whole key. Such keys (a partition key
 * longer than ~470 bytes encoded, or a long sort key) keep their place up to that prefix, but
 * among keys sharing the prefix the order is by digest, not by sort key: a Query over such
 * a partition must match the items' key attributes and sort them itself.
 */
#define BE_KEY_MAX 511
uint32_t be_key_hash32(const void *p, size_t n);
int be_key_encode_value(const struct dx_av *v, struct dx_buf *out);
int be_key_partition(uint32_t table_id, const struct dx_av *hash_value, struct dx_buf *out);
void be_key_fit(struct dx_buf *out, size_t start);

#endif
