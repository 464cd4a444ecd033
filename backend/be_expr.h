/*
 * The expression language (backend-private): condition, filter, key-condition, update and
 * projection expressions, with ExpressionAttributeNames/Values, and the legacy parameters
 * (Expected + ConditionalOperator, AttributeUpdates, AttributesToGet, QueryFilter, ScanFilter,
 * KeyConditions) translated into the same trees. Parsed once per request into a struct
 * be_exprs; evaluated by one evaluator.
 *
 * Everything lives in the request arena given to be_exprs_parse.
 */
#ifndef BE_EXPR_H
#define BE_EXPR_H

#include "dx_arena.h"
#include "dx_av.h"
#include "dx_error.h"
#include "dx_op.h"

struct cJSON;
struct be_table;
struct be_exprs;

/*
 * Reads every expression and legacy parameter that `op` takes from the request object `req`
 * (ConditionExpression, UpdateExpression, ProjectionExpression, FilterExpression,
 * KeyConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues, Expected,
 * ConditionalOperator, AttributeUpdates, AttributesToGet, QueryFilter, ScanFilter,
 * KeyConditions), parses them, and applies DynamoDB's request-level rules with its exact
 * messages: syntax errors, reserved words, undefined and unused names/values, names/values
 * given without expressions, legacy and expression parameters mixed, overlapping or
 * conflicting update paths, updates of key attributes of table t, limits. On success *out is
 * never NULL (an empty set when the request has none of these).
 */
int be_exprs_parse(struct dx_arena *a, enum dx_op op, const struct cJSON *req,
                   const struct be_table *t, struct be_exprs **out, struct dx_error *err);

/* Whether the request had a condition (ConditionExpression or Expected), an update
 * (UpdateExpression or AttributeUpdates), a projection (ProjectionExpression or
 * AttributesToGet), a filter (FilterExpression, QueryFilter, ScanFilter). */
int be_exprs_has_condition(const struct be_exprs *x);
int be_exprs_has_update(const struct be_exprs *x);
int be_exprs_has_projection(const struct be_exprs *x);
int be_exprs_has_filter(const struct be_exprs *x);

/* Evaluates the condition (or the filter) against item (NULL: no such item). *ok gets 1 when
 * it holds. A condition without a condition is true. */
int be_exprs_check_condition(const struct be_exprs *x, const struct dx_av *item, int *ok,
                             struct dx_error *err);
int be_exprs_check_filter(const struct be_exprs *x, const struct dx_av *item, int *ok,
                          struct dx_error *err);

/*
 * Applies the update to item (NULL: the item does not exist yet; `key` then holds the key
 * attributes to start from). *out is a new tree in a (item itself is not changed). Runtime
 * errors are DynamoDB's: "The provided expression refers to an attribute that does not exist
 * in the item", operand type mismatches, number overflow, item over 400 KB is the caller's.
 */
int be_exprs_apply_update(const struct be_exprs *x, struct dx_arena *a, const struct dx_av *item,
                          const struct dx_av *key, struct dx_av **out, struct dx_error *err);
/* ReturnValues UPDATED_OLD / UPDATED_NEW: the parts of item the update touched (a new map in
 * a, possibly empty). */
struct dx_av *be_exprs_updated_attrs(const struct be_exprs *x, struct dx_arena *a,
                                     const struct dx_av *item);
/* One top-level attribute name (not NUL-terminated), borrowed from the request. */
struct be_name {
    const char *p;
    size_t len;
};
/* The top-level attribute names the projection asks for (ProjectionExpression or
 * AttributesToGet), in request order without repeats; *out is an array in a. Returns the
 * count, 0 without a projection. */
size_t be_exprs_projection_roots(const struct be_exprs *x, struct dx_arena *a,
                                 struct be_name **out);
/* The projection of item (a new map in a); item itself when there is no projection. */
struct dx_av *be_exprs_project(const struct be_exprs *x, struct dx_arena *a,
                               const struct dx_av *item);

/*
 * Query's key condition (KeyConditionExpression or KeyConditions) checked against the key
 * schema of the table or index queried (range->name NULL: no sort key), with DynamoDB's
 * messages ("Query condition missed key schema element", "Invalid operator used in
 * KeyConditionExpression: OR", ...). The values point into the request's trees.
 */
struct be_keydef;
enum be_keycond_op {
    BE_KC_NONE = 0, /* no condition on the sort key */
    BE_KC_EQ,
    BE_KC_LT,
    BE_KC_LE,
    BE_KC_GT,
    BE_KC_GE,
    BE_KC_BETWEEN,
    BE_KC_BEGINS_WITH,
};
struct be_keycond {
    const struct dx_av *hash;     /* the partition key value */
    enum be_keycond_op range_op;  /* the sort key condition, "sortkey <op> range[0]" */
    const struct dx_av *range[2]; /* BETWEEN: low and high */
};
int be_exprs_has_key_condition(const struct be_exprs *x);
int be_exprs_key_condition(const struct be_exprs *x, const struct be_keydef *hash,
                           const struct be_keydef *range, struct be_keycond *out,
                           struct dx_error *err);

#endif
