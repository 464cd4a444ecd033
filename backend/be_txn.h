/*
 * Transactions (backend-private): pieces shared by TransactWriteItems (be_txn_write.c),
 * TransactGetItems (be_txn_get.c) and the ClientRequestToken records (be_txn_token.c).
 *
 * A TransactWriteItems with a ClientRequestToken leaves a record in the store's txn database
 * (BE_DBI_TXN), written in the same LMDB transaction as the items: the token, a digest of the
 * request's parameters and the time the record expires (10 minutes after completion). A
 * cancelled transaction rolls its record back with everything else, so only completed
 * transactions are remembered. Expired records are pruned a few at a time by later
 * transactions.
 */
#ifndef BE_TXN_H
#define BE_TXN_H

#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>
#include "be_engine.h"

struct be_store;
struct cJSON;

/* The most actions one transaction takes, and its aggregate size. */
#define BE_TXN_MAX_ACTIONS 100
#define BE_TXN_MAX_BYTES   (4u * 1024 * 1024)

/* DynamoDB's texts shared by both operations. */
#define BE_TXN_MULTIPLE_OPS "Transaction request cannot include multiple operations on one item"
#define BE_TXN_CANCELLED                                                                           \
    "Transaction cancelled, please refer cancellation reasons for specific reasons"

/* How long a completed token is remembered, in milliseconds: 10 minutes, or
 * be->opts.txn_token_ttl_ms when set (tests). */
struct backend;
int64_t be__txn_token_ttl_ms(const struct backend *be);
/* Wall-clock milliseconds (records survive restarts). */
int64_t be__txn_now_ms(void);

#define BE_TXN_DIGEST_LEN 32
/* The digest that identifies a request's parameters for idempotency: SHA-256 of the
 * canonical form (object members sorted by name, compact) of TransactItems and
 * ReturnItemCollectionMetrics. ReturnConsumedCapacity is left out: it changes what the
 * answer reports, not what the transaction does. */
void be__txn_digest(const struct cJSON *req, uint8_t out[BE_TXN_DIGEST_LEN]);

enum be_txn_token_state {
    BE_TXN_TOKEN_NEW = 0, /* unknown (or expired): run the transaction */
    BE_TXN_TOKEN_REPLAY,  /* completed with the same parameters: change nothing */
    BE_TXN_TOKEN_MISMATCH /* completed with other parameters */
};

/* Writer thread. What the token's record says about a request with digest `digest` at time
 * now_ms. DX_OK or DX_ESTORE. */
int be__txn_token_check(struct be_store *s, MDB_txn *txn, const char *token,
                        const uint8_t digest[BE_TXN_DIGEST_LEN], int64_t now_ms,
                        enum be_txn_token_state *state);
/* Writer thread. Records the token as completed at now_ms, kept for ttl_ms (replacing an expired
 * record), and prunes up to a few expired records. DX_OK or DX_ESTORE. */
int be__txn_token_record(struct be_store *s, MDB_txn *txn, const char *token,
                         const uint8_t digest[BE_TXN_DIGEST_LEN], int64_t now_ms, int64_t ttl_ms);

/* Writer thread. Deletes a few (up to 16) records expired at now_ms, oldest first; every
 * committed transaction calls it, with a token or not. DX_OK or DX_ESTORE. */
int be__txn_token_prune(struct be_store *s, MDB_txn *txn, int64_t now_ms);

/* "Transaction cancelled, ... [codes]" with CancellationReasons, set on err. reasons is the
 * already-encoded list of n reason objects ("{...},{...}") and codes the codes joined with
 * ", ". Returns DX_EREQ. */
int be__txn_cancel(struct dx_error *err, const char *codes, const struct dx_buf *reasons);

/* TransactItems' own constraints (not null, 1..100 actions), recorded into v. Returns the
 * list when its elements are to be checked further (present and within the limit), else
 * NULL. */
struct be_req;
struct be_batch_verrs;
const struct cJSON *be__txn_items_verr(struct be_req *r, struct be_batch_verrs *v);

#endif
