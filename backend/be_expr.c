/*
 * Entry point of the expression library: reads the expression and legacy members a request
 * may carry, checks them in the order DynamoDB does (so the error reported is the one
 * DynamoDB reports), and parses them into one struct be_exprs.
 *
 * Order: member JSON types (SerializationException); expression and legacy parameters mixed;
 * names or values without expressions; legacy parameters; ExpressionAttributeNames, then
 * ExpressionAttributeValues; the expressions (update, condition, key condition, filter,
 * projection); unused names, then unused values; updates of key attributes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "be_expr_ast.h"
#include "be_catalog.h"
#include "dx_alloc.h"
#include "dx_buf.h"
#include "dx_json.h"
#include "dx_status.h"

/* Longest expression and placeholder DynamoDB accepts. */
#define EXPR_MAX        4096
#define PLACEHOLDER_MAX 255

enum member {
    M_UPDATE_EXPR,
    M_CONDITION_EXPR,
    M_KEYCOND_EXPR,
    M_FILTER_EXPR,
    M_PROJECTION_EXPR,
    M_NAMES,
    M_VALUES,
    M_ATTRIBUTES_TO_GET,
    M_ATTRIBUTE_UPDATES,
    M_EXPECTED,
    M_QUERY_FILTER,
    M_SCAN_FILTER,
    M_KEY_CONDITIONS,
    M_CONDITIONAL_OPERATOR,
    M_COUNT
};

static const struct {
    const char *name;
    enum dx_jtype type;
} members[M_COUNT] = {
    [M_UPDATE_EXPR] = {"UpdateExpression", DX_JT_STRING},
    [M_CONDITION_EXPR] = {"ConditionExpression", DX_JT_STRING},
    [M_KEYCOND_EXPR] = {"KeyConditionExpression", DX_JT_STRING},
    [M_FILTER_EXPR] = {"FilterExpression", DX_JT_STRING},
    [M_PROJECTION_EXPR] = {"ProjectionExpression", DX_JT_STRING},
    [M_NAMES] = {"ExpressionAttributeNames", DX_JT_MAP},
    [M_VALUES] = {"ExpressionAttributeValues", DX_JT_MAP},
    [M_ATTRIBUTES_TO_GET] = {"AttributesToGet", DX_JT_LIST},
    [M_ATTRIBUTE_UPDATES] = {"AttributeUpdates", DX_JT_MAP},
    [M_EXPECTED] = {"Expected", DX_JT_MAP},
    [M_QUERY_FILTER] = {"QueryFilter", DX_JT_MAP},
    [M_SCAN_FILTER] = {"ScanFilter", DX_JT_MAP},
    [M_KEY_CONDITIONS] = {"KeyConditions", DX_JT_MAP},
    [M_CONDITIONAL_OPERATOR] = {"ConditionalOperator", DX_JT_STRING},
};

/* Per operation: the expression members and the legacy members, in the order DynamoDB names
 * them in its "Can not use both ..." message. Lists end with M_COUNT. */
struct op_params {
    enum member expr[4];
    enum member legacy[5];
    int names, values;
};

static int op_params(enum dx_op op, struct op_params *p)
{
    static const struct op_params get = {
        {M_PROJECTION_EXPR, M_COUNT}, {M_ATTRIBUTES_TO_GET, M_COUNT}, 1, 0};
    static const struct op_params put = {
        {M_CONDITION_EXPR, M_COUNT}, {M_EXPECTED, M_CONDITIONAL_OPERATOR, M_COUNT}, 1, 1};
    static const struct op_params upd = {
        {M_UPDATE_EXPR, M_CONDITION_EXPR, M_COUNT},
        {M_ATTRIBUTE_UPDATES, M_EXPECTED, M_CONDITIONAL_OPERATOR, M_COUNT},
        1,
        1};
    static const struct op_params query = {
        {M_PROJECTION_EXPR, M_FILTER_EXPR, M_KEYCOND_EXPR, M_COUNT},
        {M_ATTRIBUTES_TO_GET, M_QUERY_FILTER, M_CONDITIONAL_OPERATOR, M_KEY_CONDITIONS, M_COUNT},
        1,
        1};
    static const struct op_params scan = {
        {M_PROJECTION_EXPR, M_FILTER_EXPR, M_COUNT},
        {M_ATTRIBUTES_TO_GET, M_SCAN_FILTER, M_CONDITIONAL_OPERATOR, M_COUNT},
        1,
        1};
    switch (op) {
    case DX_OP_GetItem:
    case DX_OP_BatchGetItem:
    case DX_OP_TransactGetItems:
        *p = get;
        return 1;
    case DX_OP_PutItem:
    case DX_OP_DeleteItem:
        *p = put;
        return 1;
    case DX_OP_UpdateItem:
        *p = upd;
        return 1;
    case DX_OP_Query:
        *p = query;
        return 1;
    case DX_OP_Scan:
        *p = scan;
        return 1;
    default:
        return 0;
    }
}

static int in_list(const enum member *l, enum member m)
{
    for (; *l != M_COUNT; l++)
        if (*l == m)
            return 1;
    return 0;
}

static int valid_key(const char *k, char lead)
{
    if (k[0] != lead || !k[1])
        return 0;
    for (const char *c = k + 1; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            return 0;
    return 1;
}

static int check_mixing(const cJSON *j[M_COUNT], const struct op_params *p, struct dx_error *err)
{
    struct dx_buf ex = DX_BUF_INIT, lg = DX_BUF_INIT;
    int nex = 0, nlg = 0, rc = DX_OK;
    for (const enum member *m = p->expr; *m != M_COUNT; m++)
        if (j[*m]) {
            dx_buf_printf(&ex, "%s%s", nex++ ? ", " : "", members[*m].name);
        }
    if (nex) {
        for (const enum member *m = p->legacy; *m != M_COUNT; m++) {
            /* KeyConditions goes with FilterExpression / ProjectionExpression while
             * KeyConditionExpression is absent. */
            if (*m == M_KEY_CONDITIONS && !j[M_KEYCOND_EXPR])
                continue;
            /* Only Query and Scan name ConditionalOperator among the legacy parameters. */
            if (*m == M_CONDITIONAL_OPERATOR && !in_list(p->expr, M_FILTER_EXPR))
                continue;
            if (j[*m])
                dx_buf_printf(&lg, "%s%s", nlg++ ? ", " : "", members[*m].name);
        }
        if (nlg)
            rc = dx_error_set(err, DX_E_VALIDATION,
                              "Can not use both expression and non-expression parameters in the "
                              "same request: Non-expression parameters: {%s} Expression "
                              "parameters: {%s}",
                              lg.p, ex.p);
    }
    if (rc == DX_OK && p->names && j[M_NAMES] && !nex)
        rc = dx_error_set(err, DX_E_VALIDATION,
                          "ExpressionAttributeNames can only be specified when using expressions");
    if (rc == DX_OK && p->values && j[M_VALUES]) {
        int any = 0;
        struct dx_buf l = DX_BUF_INIT;
        int cnt = 0;
        for (const enum member *m = p->expr; *m != M_COUNT; m++) {
            if (*m == M_PROJECTION_EXPR)
                continue;
            any |= j[*m] != NULL;
            cnt++;
        }
        if (!any && cnt) {
            int k = 0;
            for (const enum member *m = p->expr; *m != M_COUNT; m++) {
                if (*m == M_PROJECTION_EXPR)
                    continue;
                dx_buf_printf(&l, "%s%s", k++ ? " and " : "", members[*m].name);
            }
            rc = dx_error_set(err, DX_E_VALIDATION,
                              "ExpressionAttributeValues can only be specified when using "
                              "expressions: %s %s null",
                              l.p, cnt > 1 ? "are" : "is");
        }
        dx_buf_deinit(&l);
    }
    dx_buf_deinit(&ex);
    dx_buf_deinit(&lg);
    return rc;
}

/*
 * Where DynamoDB lists several placeholders (unused ones) or checks them one by one (values),
 * it goes in the iteration order of a Java HashSet built from all the keys: by bucket of the
 * spread String.hashCode, then in insertion order. order[] gets the indexes 0..n-1 so sorted.
 */
struct jslot {
    uint32_t slot;
    size_t idx;
};

static int jslot_cmp(const void *pa, const void *pb)
{
    const struct jslot *x = pa, *y = pb;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void java_set_order(const char **keys, size_t n, size_t total, size_t *order)
{
    size_t want = (size_t)((double)total / 0.75) + 1, cap = 1;
    if (want < 16)
        want = 16;
    while (cap < want)
        cap <<= 1;
    struct jslot *v = dx_malloc((n ? n : 1) * sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        uint32_t h = 0;
        for (const unsigned char *c = (const unsigned char *)keys[i]; *c; c++)
            h = 31 * h + *c;
        v[i].slot = (h ^ (h >> 16)) & (uint32_t)(cap - 1);
        v[i].idx = i;
    }
    qsort(v, n, sizeof(*v), jslot_cmp);
    for (size_t i = 0; i < n; i++)
        order[i] = v[i].idx;
    dx_free(v);
}

static int read_names(struct dx_arena *a, const cJSON *names, struct be_expr_subst *s,
                      struct dx_error *err)
{
    size_t n = (size_t)cJSON_GetArraySize(names), i = 0;
    const cJSON *c;
    int rc;
    if (n == 0)
        return dx_error_set(err, DX_E_VALIDATION, "ExpressionAttributeNames must not be empty");
    s->name_keys = dx_arena_alloc(a, n * sizeof(*s->name_keys));
    s->name_vals = dx_arena_alloc(a, n * sizeof(*s->name_vals));
    s->name_used = dx_arena_calloc(a, n);
    cJSON_ArrayForEach(c, names)
    {
        if ((rc = dx_json_check(c, DX_JT_STRING, err)) != DX_OK)
            return rc;
        if (strlen(c->string) > PLACEHOLDER_MAX)
            return dx_error_set(err, DX_E_VALIDATION,
                                "ExpressionAttributeNames contains invalid key: The expression "
                                "attribute map contains a key that is too long; size of key: %zu",
                                strlen(c->string));
        if (!valid_key(c->string, '#'))
            return dx_error_set(err, DX_E_VALIDATION,
                                "ExpressionAttributeNames contains invalid key: Syntax error; key: "
                                "\"%s\"",
                                c->string);
        if (!cJSON_IsString(c) || !c->valuestring[0])
            return dx_error_set(err, DX_E_VALIDATION,
                                "ExpressionAttributeNames contains invalid value: Empty attribute "
                                "name for key %s",
                                c->string);
        s->name_keys[i] = dx_arena_strndup(a, c->string, strlen(c->string));
        s->name_vals[i] = dx_arena_strndup(a, c->valuestring, strlen(c->valuestring));
        i++;
    }
    s->n_names = i;
    return DX_OK;
}

static int read_values(struct dx_arena *a, const cJSON *values, struct be_expr_subst *s,
                       struct dx_error *err)
{
    size_t n = (size_t)cJSON_GetArraySize(values), i = 0;
    const cJSON *c;
    if (n == 0)
        return dx_error_set(err, DX_E_VALIDATION, "ExpressionAttributeValues must not be empty");
    s->value_keys = dx_arena_alloc(a, n * sizeof(*s->value_keys));
    s->value_vals = dx_arena_calloc(a, n * sizeof(*s->value_vals));
    s->value_used = dx_arena_calloc(a, n);
    const cJSON **js = dx_arena_alloc(a, n * sizeof(*js));
    cJSON_ArrayForEach(c, values)
    {
        if (strlen(c->string) > PLACEHOLDER_MAX)
            return dx_error_set(err, DX_E_VALIDATION,
                                "ExpressionAttributeValues contains invalid key: The expression "
                                "attribute map contains a key that is too long;");
        if (!valid_key(c->string, ':'))
            return dx_error_set(err, DX_E_VALIDATION,
                                "ExpressionAttributeValues contains invalid key: Syntax error; "
                                "key: \"%s\"",
                                c->string);
        s->value_keys[i] = dx_arena_strndup(a, c->string, strlen(c->string));
        js[i++] = c;
    }
    s->n_values = i;
    size_t *order = dx_arena_alloc(a, i * sizeof(*order));
    java_set_order(s->value_keys, i, i, order);
    for (size_t k = 0; k < i; k++) {
        size_t at = order[k];
        int rc = dx_av_from_json(a, js[at], &s->value_vals[at], err);
        if (rc != DX_OK) {
            if (err->code != DX_E_VALIDATION)
                return rc;
            char *msg =
                dx_arena_strndup(a, err->msg ? err->msg : "", err->msg ? strlen(err->msg) : 0);
            return dx_error_set(err, DX_E_VALIDATION,
                                "ExpressionAttributeValues contains invalid value: %s for key %s",
                                msg, s->value_keys[at]);
        }
    }
    return DX_OK;
}

static int unused(struct dx_arena *a, const char **keys, const char *used, size_t n,
                  const char *what, struct dx_error *err)
{
    size_t cnt = 0;
    const char **left = dx_arena_alloc(a, (n ? n : 1) * sizeof(*left));
    for (size_t i = 0; i < n; i++)
        if (!used[i])
            left[cnt++] = keys[i];
    if (!cnt)
        return DX_OK;
    size_t *order = dx_arena_alloc(a, cnt * sizeof(*order));
    java_set_order(left, cnt, n, order);
    struct dx_buf b = DX_BUF_INIT;
    for (size_t i = 0; i < cnt; i++)
        dx_buf_printf(&b, "%s%s", i ? ", " : "", left[order[i]]);
    int rc = dx_error_set(err, DX_E_VALIDATION,
                          "Value provided in %s unused in expressions: keys: {%s}", what, b.p);
    dx_buf_deinit(&b);
    return rc;
}

/* Copies an expression string into the arena (the tree points into it) and applies the
 * size limit. */
static int expr_text(struct dx_arena *a, const cJSON *j, enum be_expr_kindname k, const char **src,
                     size_t *len, struct dx_error *err)
{
    size_t n = strlen(j->valuestring);
    if (n > EXPR_MAX)
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid %s: Expression size has exceeded the maximum allowed size; "
                            "expression size: %zu",
                            be_expr_kind_label(k), n);
    *src = dx_arena_strndup(a, j->valuestring, n);
    *len = n;
    return DX_OK;
}

static int parse_cond_member(struct dx_arena *a, const cJSON *j, enum be_expr_kindname k,
                             struct be_expr_subst *s, struct be_expr_node **out,
                             struct dx_error *err)
{
    const char *src = NULL; /* set by expr_text on success */
    size_t len = 0;
    int rc = expr_text(a, j, k, &src, &len, err);
    if (rc != DX_OK)
        return rc;
    if (len == 0)
        return dx_error_set(err, DX_E_VALIDATION, "Invalid %s: The expression can not be empty;",
                            be_expr_kind_label(k));
    return be_expr_parse_condition(a, k, src, len, s, out, err);
}

static int key_index(const struct be_exprs *x, const struct be_expr_pel *e)
{
    for (int k = 0; k < 2; k++)
        if (x->keys[k] && !e->is_index && e->name && e->len == strlen(x->keys[k]) &&
            memcmp(e->name, x->keys[k], e->len) == 0)
            return k;
    return -1;
}

static int scalar_keys_error(const char *key, struct dx_error *err)
{
    return dx_error_set(err, DX_E_VALIDATION,
                        "Key attributes must be scalars; list random access '[]' and map lookup "
                        "'.' are not allowed: Key: %s",
                        key);
}

/* No nested path may start at a key attribute (they hold scalars). */
static int check_key_paths(const struct be_exprs *x, const struct be_expr_node *n,
                           struct dx_error *err)
{
    int rc, k;
    if (!n)
        return DX_OK;
    if (n->kind == BE_EXPR_PATH && n->path.n > 1 && (k = key_index(x, &n->path.el[0])) >= 0)
        return scalar_keys_error(x->keys[k], err);
    for (size_t i = 0; i < n->nargs; i++)
        if ((rc = check_key_paths(x, n->args[i], err)) != DX_OK)
            return rc;
    return DX_OK;
}

/* A Query's filter may not use the key attributes of what it queries. */
static int check_filter_keys(const char *const keys[2], const struct be_expr_node *n,
                             const char *what, struct dx_error *err)
{
    int rc;
    if (n->kind == BE_EXPR_PATH) {
        const struct be_expr_pel *e = &n->path.el[0];
        for (int k = 0; k < 2; k++)
            if (keys[k] && e->name && e->len == strlen(keys[k]) &&
                memcmp(e->name, keys[k], e->len) == 0)
                return dx_error_set(err, DX_E_VALIDATION,
                                    "%s can only contain non-primary key attributes: Primary key "
                                    "attribute: %s",
                                    what, keys[k]);
    }
    for (size_t i = 0; i < n->nargs; i++)
        if ((rc = check_filter_keys(keys, n->args[i], what, err)) != DX_OK)
            return rc;
    return DX_OK;
}

/* Calls fn for every index key attribute, in DynamoDB's order: global indexes from the last,
 * their hash and range keys, then local indexes from the last, their range key. Stops at the
 * first non-zero answer. */
static int each_index_key(const struct be_table *t,
                          int (*fn)(const struct be_keydef *k, const struct be_index *ix,
                                    void *arg),
                          void *arg)
{
    int rc;
    if (!t)
        return 0;
    for (size_t i = t->n_gsi; i-- > 0;) {
        if (t->gsi[i].hash.name && (rc = fn(&t->gsi[i].hash, &t->gsi[i], arg)))
            return rc;
        if (t->gsi[i].range.name && (rc = fn(&t->gsi[i].range, &t->gsi[i], arg)))
            return rc;
    }
    for (size_t i = t->n_lsi; i-- > 0;)
        if (t->lsi[i].range.name && (rc = fn(&t->lsi[i].range, &t->lsi[i], arg)))
            return rc;
    return 0;
}

struct key_lookup {
    const char *name;
    size_t len;
    enum dx_av_type type;
};

static int find_index_key(const struct be_keydef *k, const struct be_index *ix, void *arg)
{
    struct key_lookup *l = arg;
    if (strlen(k->name) == l->len && memcmp(k->name, l->name, l->len) == 0) {
        l->type = k->type;
        return 1;
    }
    return 0;
}

enum dx_av_type be_expr_index_key_type(const struct be_exprs *x, const char *name, size_t len)
{
    struct key_lookup l = {name, len, 0};
    if (x && name)
        each_index_key(x->table, find_index_key, &l);
    return l.type;
}

/* The type an update action writes when it is known before it runs. */
static enum dx_av_type written_type(const struct be_expr_node *v)
{
    if (!v)
        return 0;
    switch (v->kind) {
    case BE_EXPR_VALUE:
        return v->value ? v->value->type : 0;
    case BE_EXPR_PLUS:
    case BE_EXPR_MINUS:
        return DX_AV_N;
    case BE_EXPR_FUNC:
        if (v->op == BE_EXPR_FN_LIST_APPEND)
            return DX_AV_L;
        if (v->op == BE_EXPR_FN_IF_NOT_EXISTS && v->nargs == 2)
            return written_type(v->args[1]);
        return 0;
    default:
        return 0;
    }
}

struct index_check {
    const struct be_exprs *x;
    struct dx_error *err;
};

static int index_type_check(const struct be_keydef *k, const struct be_index *ix, void *arg)
{
    struct index_check *ic = arg;
    const struct be_exprs *x = ic->x;
    size_t kl = strlen(k->name);
    for (size_t i = 0; i < x->n_updates; i++) {
        const struct be_expr_update *u = &x->updates[i];
        const struct be_expr_pel *e = &u->path.el[0];
        if (u->path.n != 1 || e->len != kl || memcmp(e->name, k->name, kl) != 0)
            continue;
        enum dx_av_type t = u->action == BE_EXPR_REMOVE ? 0 : written_type(u->value);
        if (t && t != k->type) {
            dx_error_set(ic->err, DX_E_VALIDATION,
                         "One or more parameter values were invalid: Type mismatch for Index Key "
                         "%s Expected: %s Actual: %s IndexName: %s",
                         k->name, dx_av_type_name(k->type), dx_av_type_name(t), ix->name);
            return 1;
        }
        break;
    }
    return 0;
}

static int nested_head(const struct be_exprs *x, const struct be_expr_node *n, const char *name)
{
    size_t kl = strlen(name);
    if (!n)
        return 0;
    if (n->kind == BE_EXPR_PATH)
        return n->path.n > 1 && n->path.el[0].len == kl &&
               memcmp(n->path.el[0].name, name, kl) == 0;
    for (size_t i = 0; i < n->nargs; i++)
        if (nested_head(x, n->args[i], name))
            return 1;
    return 0;
}

/* Whether the update uses a nested path (a.b, a[1]) starting at name, as target or operand. */
static int update_nests(const struct be_exprs *x, const char *name)
{
    size_t kl = strlen(name);
    for (size_t i = 0; i < x->n_updates; i++) {
        const struct be_expr_update *u = &x->updates[i];
        if (u->path.n > 1 && u->path.el[0].len == kl && memcmp(u->path.el[0].name, name, kl) == 0)
            return 1;
        if (u->value && nested_head(x, u->value, name))
            return 1;
    }
    return 0;
}

static int index_nested_check(const struct be_keydef *k, const struct be_index *ix, void *arg)
{
    struct index_check *ic = arg;
    if (!update_nests(ic->x, k->name))
        return 0;
    dx_error_set(ic->err, DX_E_VALIDATION,
                 "Key attributes must be scalars; list random access '[]' and map lookup '.' are "
                 "not allowed: IndexKey: %s",
                 k->name);
    return 1;
}

int be_expr_check_key_updates(const struct be_exprs *x, struct dx_error *err)
{
    struct index_check ic = {x, err};
    int k;
    for (k = 0; k < 2; k++) {
        if (!x->keys[k])
            continue;
        for (size_t i = 0; i < x->n_updates; i++)
            if (key_index(x, &x->updates[i].path.el[0]) == k)
                return dx_error_set(err, DX_E_VALIDATION,
                                    "One or more parameter values were invalid: Cannot update "
                                    "attribute %s. This attribute is part of the key",
                                    x->keys[k]);
    }
    if (each_index_key(x->table, index_type_check, &ic))
        return DX_EREQ;
    for (k = 0; k < 2; k++)
        if (x->keys[k] && update_nests(x, x->keys[k]))
            return scalar_keys_error(x->keys[k], err);
    if (each_index_key(x->table, index_nested_check, &ic))
        return DX_EREQ;
    return DX_OK;
}

static int parse_expressions(struct dx_arena *a, enum dx_op op, const cJSON *const *j,
                             struct be_expr_subst *s, struct be_exprs *x, struct dx_error *err)
{
    /* DynamoDB's order: UpdateItem update then condition; Query filter, projection, key
     * condition. */
    static const enum member upd[] = {M_UPDATE_EXPR, M_CONDITION_EXPR, M_COUNT};
    static const enum member query[] = {M_FILTER_EXPR, M_PROJECTION_EXPR, M_KEYCOND_EXPR, M_COUNT};
    static const enum member other[] = {M_CONDITION_EXPR, M_FILTER_EXPR, M_PROJECTION_EXPR,
                                        M_COUNT};
    const enum member *order = op == DX_OP_UpdateItem ? upd : op == DX_OP_Query ? query : other;
    int rc;
    for (; *order != M_COUNT; order++) {
        const cJSON *v = j[*order];
        const char *src = NULL;
        size_t len = 0;
        if (!v)
            continue;
        switch (*order) {
        case M_UPDATE_EXPR:
            if ((rc = expr_text(a, v, BE_EXPR_K_UPDATE, &src, &len, err)) != DX_OK ||
                (rc = be_expr_parse_update(a, src, len, s, &x->updates, &x->n_updates, err)) !=
                    DX_OK)
                return rc;
            x->has_update = 1;
            break;
        case M_CONDITION_EXPR:
            if ((rc = parse_cond_member(a, v, BE_EXPR_K_CONDITION, s, &x->condition, err)) != DX_OK)
                return rc;
            break;
        case M_FILTER_EXPR:
            if ((rc = parse_cond_member(a, v, BE_EXPR_K_FILTER, s, &x->filter, err)) != DX_OK)
                return rc;
            break;
        case M_KEYCOND_EXPR:
            if ((rc = parse_cond_member(a, v, BE_EXPR_K_KEYCONDITION, s, &x->keycond, err)) !=
                DX_OK)
                return rc;
            break;
        case M_PROJECTION_EXPR:
            if ((rc = expr_text(a, v, BE_EXPR_K_PROJECTION, &src, &len, err)) != DX_OK ||
                (rc = be_expr_parse_projection(a, src, len, s, &x->proj, &x->n_proj, err)) != DX_OK)
                return rc;
            x->has_proj = 1;
            break;
        default:
            break;
        }
    }
    return DX_OK;
}

int be_exprs_parse(struct dx_arena *a, enum dx_op op, const struct cJSON *req,
                   const struct be_table *t, struct be_exprs **out, struct dx_error *err)
{
    struct be_exprs *x = dx_arena_calloc(a, sizeof(*x));
    const cJSON *j[M_COUNT];
    struct op_params p;
    struct be_expr_subst s;
    int rc;

    *out = x;
    memset(&s, 0, sizeof(s));
    if (t) {
        x->keys[0] = t->hash.name;
        x->keys[1] = t->range.name;
        x->table = t;
    }
    if (!req || !op_params(op, &p))
        return DX_OK;

    for (int m = 0; m < M_COUNT; m++) {
        int wanted = in_list(p.expr, (enum member)m) || in_list(p.legacy, (enum member)m) ||
                     (m == M_NAMES && p.names) || (m == M_VALUES && p.values);
        const cJSON *v = wanted ? cJSON_GetObjectItemCaseSensitive(req, members[m].name) : NULL;
        if (v && cJSON_IsNull(v))
            v = NULL;
        if (v && (rc = dx_json_check(v, members[m].type, err)) != DX_OK)
            return rc;
        j[m] = v;
    }

    if ((rc = check_mixing(j, &p, err)) != DX_OK)
        return rc;

    /* Legacy parameters (a Query checks its QueryFilter first). */
    if (j[M_QUERY_FILTER] &&
        (rc = be_expr_legacy_filter(a, j[M_QUERY_FILTER], j[M_CONDITIONAL_OPERATOR], &x->filter,
                                    err)) != DX_OK)
        return rc;
    if (j[M_ATTRIBUTES_TO_GET]) {
        if ((rc = be_expr_legacy_attrs(a, j[M_ATTRIBUTES_TO_GET], &x->proj, &x->n_proj, err)) !=
            DX_OK)
            return rc;
        x->has_proj = 1;
    }
    if (j[M_ATTRIBUTE_UPDATES]) {
        if ((rc = be_expr_legacy_updates(a, j[M_ATTRIBUTE_UPDATES], &x->updates, &x->n_updates,
                                         err)) != DX_OK)
            return rc;
        x->has_update = 1;
    }
    if (j[M_EXPECTED] && (rc = be_expr_legacy_expected(a, j[M_EXPECTED], j[M_CONDITIONAL_OPERATOR],
                                                       &x->condition, err)) != DX_OK)
        return rc;
    if (j[M_SCAN_FILTER] &&
        (rc = be_expr_legacy_filter(a, j[M_SCAN_FILTER], j[M_CONDITIONAL_OPERATOR], &x->filter,
                                    err)) != DX_OK)
        return rc;
    if (op == DX_OP_Query && !j[M_KEY_CONDITIONS] && !j[M_KEYCOND_EXPR])
        return dx_error_set(err, DX_E_VALIDATION,
                            "Either the KeyConditions or KeyConditionExpression parameter must be "
                            "specified in the request.");

    /* Names and values, then the expressions, then what was left unused. */
    if (j[M_NAMES] && (rc = read_names(a, j[M_NAMES], &s, err)) != DX_OK)
        return rc;
    if (j[M_VALUES] && (rc = read_values(a, j[M_VALUES], &s, err)) != DX_OK)
        return rc;
    if ((rc = parse_expressions(a, op, j, &s, x, err)) != DX_OK)
        return rc;
    if ((rc = unused(a, s.name_keys, s.name_used, s.n_names, "ExpressionAttributeNames", err)) !=
        DX_OK)
        return rc;
    if ((rc = unused(a, s.value_keys, s.value_used, s.n_values, "ExpressionAttributeValues",
                     err)) != DX_OK)
        return rc;

    if (j[M_KEY_CONDITIONS] && !j[M_KEYCOND_EXPR]) {
        int cnt = cJSON_GetArraySize(j[M_KEY_CONDITIONS]);
        if ((rc = be_expr_legacy_filter(a, j[M_KEY_CONDITIONS], NULL, &x->keycond, err)) != DX_OK)
            return rc;
        x->keycond_legacy = 1;
        if (cnt != 1 && cnt != 2)
            return dx_error_set(err, DX_E_VALIDATION, "Conditions can be of length 1 or 2 only");
    }

    /* Key attributes hold scalars; an update's key checks come when it runs. */
    if (j[M_CONDITION_EXPR] && (rc = check_key_paths(x, x->condition, err)) != DX_OK)
        return rc;
    if (j[M_FILTER_EXPR] && (rc = check_key_paths(x, x->filter, err)) != DX_OK)
        return rc;
    if (j[M_PROJECTION_EXPR]) {
        for (size_t i = 0; i < x->n_proj; i++) {
            int k;
            if (x->proj[i].n > 1 && (k = key_index(x, &x->proj[i].el[0])) >= 0)
                return scalar_keys_error(x->keys[k], err);
        }
    }
    if (op == DX_OP_Query && x->filter) {
        const char *keys[2] = {x->keys[0], x->keys[1]};
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(req, "IndexName");
        if (t && cJSON_IsString(ix)) {
            for (size_t i = 0; i < t->n_gsi + t->n_lsi; i++) {
                const struct be_index *in = i < t->n_gsi ? &t->gsi[i] : &t->lsi[i - t->n_gsi];
                if (in->name && strcmp(in->name, ix->valuestring) == 0) {
                    keys[0] = in->hash.name;
                    keys[1] = in->range.name;
                }
            }
        }
        if ((rc = check_filter_keys(keys, x->filter,
                                    j[M_FILTER_EXPR] ? "Filter Expression" : "QueryFilter", err)) !=
            DX_OK)
            return rc;
    }
    return DX_OK;
}

int be_exprs_has_condition(const struct be_exprs *x)
{
    return x && x->condition != NULL;
}

int be_exprs_has_update(const struct be_exprs *x)
{
    return x && x->has_update;
}

int be_exprs_has_projection(const struct be_exprs *x)
{
    return x && x->has_proj;
}

int be_exprs_has_filter(const struct be_exprs *x)
{
    return x && x->filter != NULL;
}

int be_exprs_has_key_condition(const struct be_exprs *x)
{
    return x && x->keycond != NULL;
}

struct kc_part {
    const struct be_expr_node *node;
    const struct be_expr_path *path; /* NULL: no path operand */
    enum be_keycond_op op;
    const struct be_expr_node *vals[2];
    size_t nvals;
};

static int kc_error(struct dx_error *err, const char *msg)
{
    return dx_error_set(err, DX_E_VALIDATION, "%s", msg);
}

/* DynamoDB names the partition key it looked for. */
static int kc_missed(struct dx_error *err, const struct be_keydef *hash)
{
    if (!hash || !hash->name)
        return kc_error(err, "Query condition missed key schema element");
    return dx_error_set(err, DX_E_VALIDATION, "Query condition missed key schema element: %s",
                        hash->name);
}

/* Collects the ANDed conditions of a key condition. */
static int kc_collect(const struct be_expr_node *n, struct kc_part *parts, size_t *np,
                      struct dx_error *err)
{
    int rc;
    switch (n->kind) {
    case BE_EXPR_AND:
        if ((rc = kc_collect(n->args[0], parts, np, err)) != DX_OK)
            return rc;
        return kc_collect(n->args[1], parts, np, err);
    case BE_EXPR_OR:
        return kc_error(err, "Invalid operator used in KeyConditionExpression: OR");
    case BE_EXPR_NOT:
        return kc_error(err, "Invalid operator used in KeyConditionExpression: NOT");
    case BE_EXPR_IN:
        return kc_error(err, "Invalid operator used in KeyConditionExpression: IN");
    case BE_EXPR_CMP:
        if (n->op == BE_EXPR_NE)
            return kc_error(err, "Invalid operator used in KeyConditionExpression: <>");
        break;
    case BE_EXPR_FUNC:
        if (n->op != BE_EXPR_FN_BEGINS_WITH)
            return dx_error_set(err, DX_E_VALIDATION,
                                "Invalid operator used in KeyConditionExpression: %.*s",
                                (int)n->text_len, n->text);
        break;
    default:
        break;
    }
    if (*np >= 8)
        return kc_error(err, "KeyConditionExpressions must only contain one condition per key");
    struct kc_part *p = &parts[(*np)++];
    memset(p, 0, sizeof(*p));
    p->node = n;
    for (size_t i = 0; i < n->nargs; i++)
        if (n->args[i]->kind == BE_EXPR_FUNC)
            return kc_error(err, "KeyConditionExpressions cannot contain nested operations");
    if (n->kind == BE_EXPR_CMP) {
        static const enum be_keycond_op ops[] = {[BE_EXPR_EQ] = BE_KC_EQ,
                                                 [BE_EXPR_LT] = BE_KC_LT,
                                                 [BE_EXPR_LE] = BE_KC_LE,
                                                 [BE_EXPR_GT] = BE_KC_GT,
                                                 [BE_EXPR_GE] = BE_KC_GE};
        static const enum be_keycond_op flipped[] = {[BE_EXPR_EQ] = BE_KC_EQ,
                                                     [BE_EXPR_LT] = BE_KC_GT,
                                                     [BE_EXPR_LE] = BE_KC_GE,
                                                     [BE_EXPR_GT] = BE_KC_LT,
                                                     [BE_EXPR_GE] = BE_KC_LE};
        int left = n->args[0]->kind == BE_EXPR_PATH;
        p->path = left ? &n->args[0]->path
                       : (n->args[1]->kind == BE_EXPR_PATH ? &n->args[1]->path : NULL);
        p->op = left ? ops[n->op] : flipped[n->op];
        p->vals[0] = n->args[left ? 1 : 0];
        p->nvals = 1;
    } else if (n->kind == BE_EXPR_BETWEEN) {
        p->path = n->args[0]->kind == BE_EXPR_PATH ? &n->args[0]->path : NULL;
        p->op = BE_KC_BETWEEN;
        p->vals[0] = n->args[1];
        p->vals[1] = n->args[2];
        p->nvals = 2;
    } else {
        p->path = n->args[0]->kind == BE_EXPR_PATH ? &n->args[0]->path : NULL;
        p->op = BE_KC_BEGINS_WITH;
        p->vals[0] = n->args[1];
        p->nvals = 1;
    }
    return DX_OK;
}

static int kc_is(const struct be_expr_path *p, const char *name)
{
    return name && p && !p->el[0].is_index && p->el[0].name && p->el[0].len == strlen(name) &&
           memcmp(p->el[0].name, name, p->el[0].len) == 0;
}

/* KeyConditions, with the legacy messages: every condition is attr <op> values. */
static int kc_legacy(const struct be_exprs *x, const struct be_keydef *hash,
                     const struct be_keydef *range, struct be_keycond *out, struct dx_error *err)
{
    const struct be_expr_node *leaf[8];
    const struct be_expr_node *stack[16];
    size_t nl = 0, ns = 0;
    stack[ns++] = x->keycond;
    while (ns) {
        const struct be_expr_node *n = stack[--ns];
        if (n->kind == BE_EXPR_AND && ns + 2 <= 16) {
            stack[ns++] = n->args[1];
            stack[ns++] = n->args[0];
        } else if (nl < 8) {
            leaf[nl++] = n;
        }
    }
    const struct be_keydef *defs[2] = {hash, range && range->name ? range : NULL};
    for (int w = 0; w < 2; w++) {
        const struct be_keydef *def = defs[w];
        const struct be_expr_node *c = NULL;
        if (!def)
            continue;
        if (w == 0 && !defs[1] && nl > 1)
            return kc_error(err, "Query key condition not supported");
        for (size_t i = 0; i < nl; i++) {
            const struct be_expr_pel *e = &leaf[i]->args[0]->path.el[0];
            if (e->len == strlen(def->name) && memcmp(e->name, def->name, e->len) == 0)
                c = leaf[i];
        }
        if (!c) {
            if (w == 0 || nl > 1)
                return dx_error_set(err, DX_E_VALIDATION,
                                    "Query condition missed key schema element: %s", def->name);
            continue;
        }
        enum be_keycond_op op = BE_KC_NONE;
        if (c->kind == BE_EXPR_CMP) {
            static const enum be_keycond_op ops[] = {[BE_EXPR_EQ] = BE_KC_EQ,
                                                     [BE_EXPR_LT] = BE_KC_LT,
                                                     [BE_EXPR_LE] = BE_KC_LE,
                                                     [BE_EXPR_GT] = BE_KC_GT,
                                                     [BE_EXPR_GE] = BE_KC_GE};
            op = c->op == BE_EXPR_NE ? BE_KC_NONE : ops[c->op];
        } else if (c->kind == BE_EXPR_BETWEEN) {
            op = BE_KC_BETWEEN;
        } else if (c->kind == BE_EXPR_FUNC && c->op == BE_EXPR_FN_BEGINS_WITH) {
            op = BE_KC_BEGINS_WITH;
        }
        if (op == BE_KC_NONE)
            return kc_error(err, "Attempted conditional constraint is not an indexable operation");
        for (size_t i = 1; i < c->nargs; i++)
            if (c->args[i]->value->type != def->type)
                return kc_error(err, "One or more parameter values were invalid: Condition "
                                     "parameter type does not match schema type");
        if (w == 0 && op != BE_KC_EQ)
            return kc_error(err, "Query key condition not supported");
        if (w == 0) {
            out->hash = c->args[1]->value;
        } else {
            out->range_op = op;
            out->range[0] = c->args[1]->value;
            out->range[1] = c->nargs > 2 ? c->args[2]->value : NULL;
        }
    }
    return DX_OK;
}

int be_exprs_key_condition(const struct be_exprs *x, const struct be_keydef *hash,
                           const struct be_keydef *range, struct be_keycond *out,
                           struct dx_error *err)
{
    struct kc_part parts[8];
    size_t np = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    if (!x || !x->keycond)
        return kc_missed(err, hash);
    if (x->keycond_legacy)
        return kc_legacy(x, hash, range, out, err);
    if ((rc = kc_collect(x->keycond, parts, &np, err)) != DX_OK)
        return rc;
    const char *hname = hash ? hash->name : NULL, *rname = range ? range->name : NULL;
    const struct kc_part *pk = NULL, *sk = NULL;
    for (size_t i = 0; i < np; i++) {
        const struct be_expr_path *p = parts[i].path;
        if (!p)
            return kc_missed(err, hash);
        if (p->n > 1 && (kc_is(p, hname) || kc_is(p, rname)))
            return dx_error_set(err, DX_E_VALIDATION,
                                "Key attributes must be scalars; list random access '[]' and map "
                                "lookup '.' are not allowed: Key: %.*s",
                                (int)p->el[0].len, p->el[0].name);
        for (size_t k = 0; k < i; k++)
            if (parts[k].path->el[0].len == p->el[0].len && !p->el[0].is_index &&
                !parts[k].path->el[0].is_index &&
                memcmp(parts[k].path->el[0].name, p->el[0].name, p->el[0].len) == 0)
                return kc_error(err,
                                "KeyConditionExpressions must only contain one condition per key");
    }
    for (size_t i = 0; i < np; i++) {
        if (parts[i].path->n == 1 && kc_is(parts[i].path, hname))
            pk = &parts[i];
        else if (parts[i].path->n == 1 && kc_is(parts[i].path, rname))
            sk = &parts[i];
        else
            return kc_missed(err, hash);
    }
    if (!pk)
        return kc_missed(err, hash);
    if (pk->op != BE_KC_EQ)
        return kc_error(err, "Query key condition not supported");
    for (int w = 0; w < 2; w++) {
        const struct kc_part *c = w ? sk : pk;
        const struct be_keydef *def = w ? range : hash;
        if (!c)
            continue;
        for (size_t i = 0; i < c->nvals; i++) {
            const struct dx_av *v = c->vals[i]->kind == BE_EXPR_VALUE ? c->vals[i]->value : NULL;
            if (!v)
                return kc_missed(err, hash);
            if (v->type != def->type)
                return kc_error(err, "One or more parameter values were invalid: Condition "
                                     "parameter type does not match schema type");
            if (v->type == DX_AV_S && v->u.bytes.len == 0)
                return dx_error_set(err, DX_E_VALIDATION,
                                    "One or more parameter values are not valid. The "
                                    "AttributeValue for a key attribute cannot contain an empty "
                                    "string value. Key: %s",
                                    def->name);
        }
    }
    out->hash = pk->vals[0]->value;
    if (sk) {
        out->range_op = sk->op;
        out->range[0] = sk->vals[0]->value;
        out->range[1] = sk->nvals > 1 ? sk->vals[1]->value : NULL;
    }
    return DX_OK;
}

size_t be_exprs_projection_roots(const struct be_exprs *x, struct dx_arena *a, struct be_name **out)
{
    *out = NULL;
    if (!x || !x->has_proj || x->n_proj == 0)
        return 0;
    struct be_name *names = dx_arena_alloc(a, x->n_proj * sizeof(*names));
    size_t n = 0;
    for (size_t i = 0; i < x->n_proj; i++) {
        const struct be_expr_pel *el = &x->proj[i].el[0];
        size_t k = 0;
        while (k < n && !(names[k].len == el->len && memcmp(names[k].p, el->name, el->len) == 0))
            k++;
        if (k == n)
            names[n++] = (struct be_name){el->name, el->len};
    }
    *out = names;
    return n;
}
