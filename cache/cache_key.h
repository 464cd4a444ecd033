/*
 * Canonical cache keys and the request facts the cache needs, computed from a parsed request.
 *
 * Two requests that DynamoDB answers identically should map to one key; two that it may answer
 * differently must not. Item keys are table + canonical primary key + canonical projection:
 * attribute order in the Key map, JSON whitespace and number spelling ("1.0" == "1") do not
 * matter, and #name placeholders in a ProjectionExpression are replaced by the names they
 * stand for. Query/Scan keys are the whole request, normalized (members sorted recursively,
 * no whitespace, ReturnConsumedCapacity dropped).
 *
 * Functions returning DX_EINVAL mean "not something the cache should answer" (malformed, or a
 * request DynamoDB may reject): the caller passes the request through untouched, and the inner
 * implementation produces DynamoDB's error.
 */
#ifndef CACHE_KEY_H
#define CACHE_KEY_H

#include <stddef.h>
#include <stdint.h>
#include "dx_buf.h"

struct cJSON;

/* 64-bit hash of n bytes. */
uint64_t cache_hash(const void *p, size_t n, uint64_t seed);

/* Appends "<n>:" and the n bytes at s: a length-prefixed key part. */
void cache_key_lp(struct dx_buf *out, const char *s, size_t n);

/* The table named by the TableName member (or the name inside a table ARN): *name points into
 * the cJSON tree. DX_OK or DX_EINVAL. */
int cache_key_table_name(const struct cJSON *tn, const char **name, size_t *len);

/* Appends the canonical form of a scalar (S, N, B) attribute value. DX_OK or DX_EINVAL. */
int cache_key_scalar(struct dx_buf *out, const struct cJSON *av);

/*
 * Appends the canonical primary key of a Key map (all members, sorted by name; at most 2).
 * With names (nnames > 0), only those members of the map are used (a Put's Item reduced to its
 * key); each must be present. DX_OK or DX_EINVAL.
 */
int cache_key_primary(struct dx_buf *out, const struct cJSON *map, const char *const *names,
                      size_t nnames);

/*
 * Appends the canonical projection of a GetItem request or a BatchGetItem table entry (members
 * ProjectionExpression, ExpressionAttributeNames, AttributesToGet of obj). DX_EINVAL when
 * DynamoDB might reject them (an unused or undefined name, both forms, wrong types).
 */
int cache_key_projection(struct dx_buf *out, const struct cJSON *obj);

/* Appends v as normalized JSON: object members sorted by name at every level, no whitespace;
 * a top-level member named drop (may be NULL) is left out. */
void cache_key_normalize(struct dx_buf *out, const struct cJSON *v, const char *drop);

/*
 * The equality conditions of a Query's key condition (KeyConditionExpression with its names
 * and values, or the EQ entries of KeyConditions): cb(name, nlen, value, arg) for each. The
 * partition key's equality is always among them. Returns the number found, or DX_EINVAL when
 * the condition cannot be read.
 */
typedef void (*cache_key_eq_cb)(const char *name, size_t nlen, const struct cJSON *value,
                                void *arg);
int cache_key_equalities(const struct cJSON *req, cache_key_eq_cb cb, void *arg);

/* Finds the top-level member name of the JSON object text json[0..len): its value starts at
 * json + *off and is *vlen bytes. DX_OK, DX_ENOTFOUND, or DX_EINVAL (not an object). */
int cache_json_member(const char *json, size_t len, const char *name, size_t *off, size_t *vlen);

#endif
