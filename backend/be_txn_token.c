/*
 * ClientRequestToken records of TransactWriteItems, in the store's txn database.
 *
 * Two kinds of records, told apart by their first byte:
 *   't' token                      -> expiry (8 bytes, big-endian ms) | request digest (32)
 *   'e' expiry (8, big-endian) token -> empty, an index by expiry for pruning
 * A record is written in the same LMDB transaction as the transaction's items, so a token is
 * remembered exactly when its writes are committed. Each recording prunes a few expired
 * records from the front of the expiry index, so the database stays small without a sweeper.
 * Also here: the request digest and the TransactionCanceledException body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include "be_batch.h"
#include "be_engine.h"
#include "be_store.h"
#include "be_txn.h"
#include "dx_json.h"
#include "dx_status.h"

#define PRUNE_MAX 16
#define TOKEN_MAX 64 /* tokens are at most 36 characters (validated) */

int64_t be__txn_token_ttl_ms(const struct backend *be)
{
    return be->opts.txn_token_ttl_ms ? (int64_t)be->opts.txn_token_ttl_ms : 10 * 60 * 1000;
}

int64_t be__txn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---- the digest ---- */

static int member_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/* Sorts every object's members by name, recursively, so that two encodings of the same
 * request that differ only in member order (SDKs serialise maps in any order) agree. */
static void canonicalize(cJSON *j)
{
    if (!j)
        return;
    for (cJSON *c = j->child; c; c = c->next)
        canonicalize(c);
    if (!cJSON_IsObject(j) || !j->child)
        return;
    size_t n = 0;
    for (cJSON *c = j->child; c; c = c->next)
        n++;
    cJSON **v = malloc(n * sizeof(*v));
    if (!v)
        abort();
    n = 0;
    for (cJSON *c = j->child; c; c = c->next)
        v[n++] = c;
    qsort(v, n, sizeof(*v), member_cmp);
    for (size_t i = 0; i < n; i++) {
        v[i]->prev = i ? v[i - 1] : v[n - 1]; /* cJSON: the head's prev is the tail */
        v[i]->next = i + 1 < n ? v[i + 1] : NULL;
    }
    j->child = v[0];
    free(v);
}

void be__txn_digest(const struct cJSON *req, uint8_t out[BE_TXN_DIGEST_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        abort();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    static const char *const members[] = {"TransactItems", "ReturnItemCollectionMetrics"};
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, members[i]);
        cJSON *copy = m ? cJSON_Duplicate(m, 1) : NULL;
        canonicalize(copy);
        char *text = copy ? cJSON_PrintUnformatted(copy) : NULL;
        const char *t = text ? text : "null";
        EVP_DigestUpdate(ctx, t, strlen(t));
        EVP_DigestUpdate(ctx, "\n", 1);
        if (text)
            cJSON_free(text);
        cJSON_Delete(copy);
    }
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
}

/* ---- records ---- */

static size_t token_key(uint8_t *buf, const char *token)
{
    size_t n = strlen(token);
    if (n > TOKEN_MAX)
        n = TOKEN_MAX;
    buf[0] = 't';
    memcpy(buf + 1, token, n);
    return n + 1;
}

static size_t expiry_key(uint8_t *buf, uint64_t expiry, const char *token, size_t len)
{
    if (len > TOKEN_MAX)
        len = TOKEN_MAX;
    buf[0] = 'e';
    put_be64(buf + 1, expiry);
    memcpy(buf + 9, token, len);
    return 9 + len;
}

int be__txn_token_check(struct be_store *s, MDB_txn *txn, const char *token,
                        const uint8_t digest[BE_TXN_DIGEST_LEN], int64_t now_ms,
                        enum be_txn_token_state *state)
{
    uint8_t kb[1 + TOKEN_MAX];
    MDB_val k = {token_key(kb, token), kb}, v;
    *state = BE_TXN_TOKEN_NEW;
    int rc = mdb_get(txn, be_store_dbi(s, BE_DBI_TXN), &k, &v);
    if (rc == MDB_NOTFOUND)
        return DX_OK;
    rc = be_store_mdb_status(s, rc, "txn token get");
    if (rc != DX_OK)
        return rc;
    if (v.mv_size != 8 + BE_TXN_DIGEST_LEN)
        return DX_OK; /* not ours: treat as unknown, it will be replaced */
    const uint8_t *p = v.mv_data;
    if ((int64_t)get_be64(p) <= now_ms)
        return DX_OK; /* expired: the token is new again */
    *state =
        memcmp(p + 8, digest, BE_TXN_DIGEST_LEN) == 0 ? BE_TXN_TOKEN_REPLAY : BE_TXN_TOKEN_MISMATCH;
    return DX_OK;
}

/* Deletes up to PRUNE_MAX expired records, oldest first. */
int be__txn_token_prune(struct be_store *s, MDB_txn *txn, int64_t now_ms)
{
    MDB_dbi dbi = be_store_dbi(s, BE_DBI_TXN);
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return be_store_mdb_status(s, rc, "txn token cursor");
    uint8_t first = 'e';
    MDB_val k = {1, &first}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (int n = 0; rc == 0 && n < PRUNE_MAX; n++) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size < 9 || p[0] != 'e' || (int64_t)get_be64(p + 1) > now_ms)
            break;
        /* The token's own record goes too, unless it was renewed since (a later expiry). */
        char token[TOKEN_MAX + 1];
        size_t len = k.mv_size - 9;
        memcpy(token, p + 9, len);
        token[len] = 0;
        uint8_t tk[1 + TOKEN_MAX];
        MDB_val tkey = {token_key(tk, token), tk}, tval;
        if (mdb_get(txn, dbi, &tkey, &tval) == 0 && tval.mv_size >= 8 &&
            (int64_t)get_be64(tval.mv_data) <= now_ms) {
            rc = mdb_del(txn, dbi, &tkey, NULL);
            if (rc != 0)
                break;
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND || rc == 0 || rc == EINVAL)
        return DX_OK;
    return be_store_mdb_status(s, rc, "txn token prune");
}

int be__txn_token_record(struct be_store *s, MDB_txn *txn, const char *token,
                         const uint8_t digest[BE_TXN_DIGEST_LEN], int64_t now_ms, int64_t ttl_ms)
{
    MDB_dbi dbi = be_store_dbi(s, BE_DBI_TXN);
    int rc = be__txn_token_prune(s, txn, now_ms);
    if (rc != DX_OK)
        return rc;
    uint64_t expiry = (uint64_t)(now_ms + ttl_ms);
    uint8_t kb[1 + TOKEN_MAX], val[8 + BE_TXN_DIGEST_LEN];
    put_be64(val, expiry);
    memcpy(val + 8, digest, BE_TXN_DIGEST_LEN);
    MDB_val k = {token_key(kb, token), kb}, v = {sizeof(val), val};
    rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc != 0)
        return be_store_mdb_status(s, rc, "txn token put");
    uint8_t eb[9 + TOKEN_MAX];
    MDB_val ek = {expiry_key(eb, expiry, token, strlen(token)), eb}, ev = {0, ""};
    rc = mdb_put(txn, dbi, &ek, &ev, 0);
    return rc == 0 ? DX_OK : be_store_mdb_status(s, rc, "txn token index put");
}

int be__txn_cancel(struct dx_error *err, const char *codes, const struct dx_buf *reasons)
{
    int rc = dx_error_set(err, DX_E_TRANSACTION_CANCELED, "%s [%s]", BE_TXN_CANCELLED, codes);
    dx_buf_puts(&err->extra, ",\"CancellationReasons\":[");
    if (reasons->len)
        dx_buf_append(&err->extra, reasons->p, reasons->len);
    dx_buf_putc(&err->extra, ']');
    return rc;
}

const cJSON *be__txn_items_verr(struct be_req *r, struct be_batch_verrs *v)
{
    const cJSON *items = dx_json_get(r->json, "TransactItems");
    if (!items) {
        be__batch_verr(v, NULL, "transactItems", "Member must not be null");
        return NULL;
    }
    int n = cJSON_GetArraySize(items);
    if (n < 1)
        be__batch_verr(v, "[]", "transactItems",
                       "Member must have length greater than or equal to 1");
    else if (n > BE_TXN_MAX_ACTIONS)
        be__batch_verr(v, be__batch_jvalue(r, items), "transactItems",
                       "Member must have length less than or equal to 100");
    return n <= BE_TXN_MAX_ACTIONS ? items : NULL;
}
