/*
 * The legacy (pre-expression) parameters, validated with DynamoDB's messages and translated
 * into the trees the expressions use, so one evaluator serves both:
 *   Expected + ConditionalOperator        -> condition tree
 *   QueryFilter / ScanFilter / KeyConditions (+ ConditionalOperator) -> condition tree
 *   AttributeUpdates                      -> update actions (PUT = SET, DELETE, ADD)
 *   AttributesToGet                       -> projection paths
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "be_expr_ast.h"
#include "dx_buf.h"
#include "dx_json.h"
#include "dx_status.h"

#define INVALID "One or more parameter values were invalid: "

enum legacy_op {
    L_EQ = 1,
    L_NE,
    L_LE,
    L_LT,
    L_GE,
    L_GT,
    L_NOT_NULL,
    L_NULL,
    L_CONTAINS,
    L_NOT_CONTAINS,
    L_BEGINS_WITH,
    L_IN,
    L_BETWEEN,
};

static const struct {
    const char *name;
    enum legacy_op op;
    int nvals;         /* -1: one or more */
    const char *types; /* value types allowed, space separated */
} legacy_ops[] = {
    {"EQ", L_EQ, 1, "S N B SS NS BS"},
    {"NE", L_NE, 1, "S N B SS NS BS"},
    {"LE", L_LE, 1, "S N B"},
    {"LT", L_LT, 1, "S N B"},
    {"GE", L_GE, 1, "S N B"},
    {"GT", L_GT, 1, "S N B"},
    {"NOT_NULL", L_NOT_NULL, 0, ""},
    {"NULL", L_NULL, 0, ""},
    {"CONTAINS", L_CONTAINS, 1, "S N B"},
    {"NOT_CONTAINS", L_NOT_CONTAINS, 1, "S N B"},
    {"BEGINS_WITH", L_BEGINS_WITH, 1, "S B"},
    {"IN", L_IN, -1, "S N B"},
    {"BETWEEN", L_BETWEEN, 2, "S N B"},
};

#define OP_ENUM                                                                                    \
    "[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"

static char lower_first(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int type_allowed(const char *types, enum dx_av_type t)
{
    const char *name = dx_av_type_name(t);
    size_t n = strlen(name);
    for (const char *p = types; *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && memcmp(p, name, n) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static struct be_expr_node *mk(struct dx_arena *a, enum be_expr_kind k, size_t nargs)
{
    struct be_expr_node *n = dx_arena_calloc(a, sizeof(*n));
    n->kind = k;
    n->nargs = nargs;
    n->args = nargs ? dx_arena_calloc(a, nargs * sizeof(*n->args)) : NULL;
    return n;
}

static struct be_expr_path one_name(struct dx_arena *a, const char *name)
{
    struct be_expr_path p;
    p.el = dx_arena_calloc(a, sizeof(*p.el));
    p.n = 1;
    p.el[0].name = dx_arena_strndup(a, name, strlen(name));
    p.el[0].len = strlen(name);
    p.el[0].raw = p.el[0].name;
    p.el[0].raw_len = p.el[0].len;
    return p;
}

static struct be_expr_node *path_node(struct dx_arena *a, const char *name)
{
    struct be_expr_node *n = mk(a, BE_EXPR_PATH, 0);
    n->path = one_name(a, name);
    return n;
}

static struct be_expr_node *value_node(struct dx_arena *a, const struct dx_av *v)
{
    struct be_expr_node *n = mk(a, BE_EXPR_VALUE, 0);
    n->value = v;
    return n;
}

static struct be_expr_node *fn_node(struct dx_arena *a, enum be_expr_fn fn, const char *text,
                                    size_t nargs)
{
    struct be_expr_node *n = mk(a, BE_EXPR_FUNC, nargs);
    n->op = fn;
    n->text = text;
    n->text_len = strlen(text);
    return n;
}

/* The tree for `attr <op> vals`. */
static struct be_expr_node *condition(struct dx_arena *a, const char *attr, enum legacy_op op,
                                      struct dx_av **vals, size_t nvals)
{
    struct be_expr_node *n;
    static const int cmp[] = {[L_EQ] = BE_EXPR_EQ, [L_NE] = BE_EXPR_NE, [L_LE] = BE_EXPR_LE,
                              [L_LT] = BE_EXPR_LT, [L_GE] = BE_EXPR_GE, [L_GT] = BE_EXPR_GT};
    switch (op) {
    case L_EQ:
    case L_NE:
    case L_LE:
    case L_LT:
    case L_GE:
    case L_GT:
        n = mk(a, BE_EXPR_CMP, 2);
        n->op = cmp[op];
        n->args[0] = path_node(a, attr);
        n->args[1] = value_node(a, vals[0]);
        return n;
    case L_NOT_NULL:
    case L_NULL:
        n = fn_node(a, op == L_NULL ? BE_EXPR_FN_ATTRIBUTE_NOT_EXISTS : BE_EXPR_FN_ATTRIBUTE_EXISTS,
                    op == L_NULL ? "attribute_not_exists" : "attribute_exists", 1);
        n->args[0] = path_node(a, attr);
        return n;
    case L_CONTAINS:
    case L_NOT_CONTAINS:
    case L_BEGINS_WITH:
        n = fn_node(a,
                    op == L_CONTAINS       ? BE_EXPR_FN_CONTAINS
                    : op == L_NOT_CONTAINS ? BE_EXPR_FN_NOT_CONTAINS
                                           : BE_EXPR_FN_BEGINS_WITH,
                    op == L_BEGINS_WITH ? "begins_with" : "contains", 2);
        n->args[0] = path_node(a, attr);
        n->args[1] = value_node(a, vals[0]);
        return n;
    case L_IN:
        n = mk(a, BE_EXPR_IN, nvals + 1);
        n->args[0] = path_node(a, attr);
        for (size_t i = 0; i < nvals; i++)
            n->args[i + 1] = value_node(a, vals[i]);
        return n;
    case L_BETWEEN:
        n = mk(a, BE_EXPR_BETWEEN, 3);
        n->args[0] = path_node(a, attr);
        n->args[1] = value_node(a, vals[0]);
        n->args[2] = value_node(a, vals[1]);
        return n;
    }
    return NULL;
}

static struct be_expr_node *combine(struct dx_arena *a, struct be_expr_node *acc,
                                    struct be_expr_node *c, int use_or)
{
    if (!acc)
        return c;
    struct be_expr_node *n = mk(a, use_or ? BE_EXPR_OR : BE_EXPR_AND, 2);
    n->args[0] = acc;
    n->args[1] = c;
    return n;
}

static int conditional_operator(const cJSON *condop, int *use_or, struct dx_error *err)
{
    *use_or = 0;
    if (!condop)
        return DX_OK;
    if (strcmp(condop->valuestring, "OR") == 0)
        *use_or = 1;
    else if (strcmp(condop->valuestring, "AND") != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "1 validation error detected: Value '%s' at 'conditionalOperator' "
                            "failed to satisfy constraint: Member must satisfy enum value set: "
                            "[OR, AND]",
                            condop->valuestring);
    return DX_OK;
}

static int find_op(const char *name)
{
    for (size_t i = 0; i < sizeof(legacy_ops) / sizeof(legacy_ops[0]); i++)
        if (strcmp(legacy_ops[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Reads an AttributeValueList (or the one Value) into vals. */
static int read_values(struct dx_arena *a, const cJSON *avl, const cJSON *value,
                       struct dx_av ***vals, size_t *n, struct dx_error *err)
{
    int rc;
    *n = 0;
    if (avl) {
        size_t cnt = (size_t)cJSON_GetArraySize(avl), i = 0;
        const cJSON *c;
        *vals = dx_arena_alloc(a, (cnt ? cnt : 1) * sizeof(**vals));
        cJSON_ArrayForEach(c, avl)
        {
            if ((rc = dx_av_from_json(a, c, &(*vals)[i], err)) != DX_OK)
                return rc;
            i++;
        }
        *n = i;
    } else if (value) {
        *vals = dx_arena_alloc(a, sizeof(**vals));
        if ((rc = dx_av_from_json(a, value, &(*vals)[0], err)) != DX_OK)
            return rc;
        *n = 1;
    }
    return DX_OK;
}

/* Checks shared by Expected and the filters once the operator and values are known. */
static int check_values(int opi, struct dx_av **vals, size_t n, struct dx_error *err)
{
    const char *opname = legacy_ops[opi].name;
    int want = legacy_ops[opi].nvals;
    if ((want >= 0 && (size_t)want != n) || (want < 0 && n == 0))
        return dx_error_set(err, DX_E_VALIDATION,
                            INVALID "Invalid number of argument(s) for the %s ComparisonOperator",
                            opname);
    for (size_t i = 1; i < n; i++)
        if (vals[i]->type != vals[0]->type)
            return dx_error_set(err, DX_E_VALIDATION,
                                INVALID "AttributeValues inside AttributeValueList must be of same "
                                        "type");
    for (size_t i = 0; i < n; i++)
        if (!type_allowed(legacy_ops[opi].types, vals[i]->type))
            return dx_error_set(err, DX_E_VALIDATION,
                                INVALID "ComparisonOperator %s is not valid for %s AttributeValue "
                                        "type",
                                opname, dx_av_type_name(vals[i]->type));
    if (legacy_ops[opi].op == L_BETWEEN && be_expr_av_cmp(vals[0], vals[1]) > 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "The BETWEEN condition was provided a range where the lower bound is "
                            "greater than the upper bound");
    return DX_OK;
}

static int struct_members(const cJSON *c, const char *param, const cJSON **avl, const cJSON **value,
                          const cJSON **cop, const cJSON **exists, struct dx_error *err)
{
    int rc;
    if ((rc = dx_json_check(c, DX_JT_STRUCT, err)) != DX_OK)
        return rc;
    *avl = cJSON_GetObjectItemCaseSensitive(c, "AttributeValueList");
    *value = cJSON_GetObjectItemCaseSensitive(c, "Value");
    *cop = cJSON_GetObjectItemCaseSensitive(c, "ComparisonOperator");
    *exists = cJSON_GetObjectItemCaseSensitive(c, "Exists");
    if (*avl && cJSON_IsNull(*avl))
        *avl = NULL;
    if (*value && cJSON_IsNull(*value))
        *value = NULL;
    if (*cop && cJSON_IsNull(*cop))
        *cop = NULL;
    if (*exists && cJSON_IsNull(*exists))
        *exists = NULL;
    if ((rc = dx_json_check(*avl, DX_JT_LIST, err)) != DX_OK ||
        (rc = dx_json_check(*value, DX_JT_STRUCT, err)) != DX_OK ||
        (rc = dx_json_check(*cop, DX_JT_STRING, err)) != DX_OK ||
        (rc = dx_json_check(*exists, DX_JT_BOOL, err)) != DX_OK)
        return rc;
    if (*cop && find_op((*cop)->valuestring) < 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "1 validation error detected: Value '%s' at "
                            "'%c%s.%s.member.comparisonOperator' failed to satisfy constraint: "
                            "Member must satisfy enum value set: " OP_ENUM,
                            (*cop)->valuestring, lower_first(param[0]), param + 1, c->string);
    return DX_OK;
}

int be_expr_legacy_expected(struct dx_arena *a, const cJSON *expected, const cJSON *condop,
                            struct be_expr_node **out, struct dx_error *err)
{
    struct be_expr_node *acc = NULL;
    const cJSON *c;
    int use_or, rc;
    if ((rc = conditional_operator(condop, &use_or, err)) != DX_OK)
        return rc;
    cJSON_ArrayForEach(c, expected)
    {
        const cJSON *avl, *value, *cop, *exists;
        const char *key = c->string;
        struct dx_av **vals = NULL;
        size_t n = 0;
        if ((rc = struct_members(c, "Expected", &avl, &value, &cop, &exists, err)) != DX_OK)
            return rc;
        if (avl && value)
            return dx_error_set(err, DX_E_VALIDATION,
                                INVALID "Value and AttributeValueList cannot be used together for "
                                        "Attribute: %s",
                                key);
        if (cop) {
            int opi = find_op(cop->valuestring);
            if (exists)
                return dx_error_set(err, DX_E_VALIDATION,
                                    INVALID "Exists and ComparisonOperator cannot be used together "
                                            "for Attribute: %s",
                                    key);
            if (legacy_ops[opi].nvals != 0 && !avl && !value)
                return dx_error_set(err, DX_E_VALIDATION,
                                    INVALID "Value or AttributeValueList must be used with "
                                            "ComparisonOperator: %s for Attribute: %s",
                                    cop->valuestring, key);
            if ((rc = read_values(a, avl, value, &vals, &n, err)) != DX_OK)
                return rc;
            if ((rc = check_values(opi, vals, n, err)) != DX_OK)
                return rc;
            acc = combine(a, acc, condition(a, key, legacy_ops[opi].op, vals, n), use_or);
            continue;
        }
        if (avl)
            return dx_error_set(err, DX_E_VALIDATION,
                                INVALID "AttributeValueList can only be used with a "
                                        "ComparisonOperator for Attribute: %s",
                                key);
        int ex =
            !exists || cJSON_IsTrue(exists) ||
            (cJSON_IsNumber(exists) && (exists->valuedouble >= 1 || exists->valuedouble <= -1));
        if (ex && !value)
            return dx_error_set(err, DX_E_VALIDATION,
                                INVALID
                                "Value must be provided when Exists is %s for Attribute: %s",
                                exists ? "true" : "null", key);
        if (!ex && value)
            return dx_error_set(err, DX_E_VALIDATION,
                                INVALID "Value cannot be used when Exists is false for Attribute: "
                                        "%s",
                                key);
        if (value) {
            if ((rc = read_values(a, NULL, value, &vals, &n, err)) != DX_OK)
                return rc;
            acc = combine(a, acc, condition(a, key, L_EQ, vals, 1), use_or);
        } else {
            acc = combine(a, acc, condition(a, key, L_NULL, NULL, 0), use_or);
        }
    }
    *out = acc;
    return DX_OK;
}

int be_expr_legacy_filter(struct dx_arena *a, const cJSON *filter, const cJSON *condop,
                          struct be_expr_node **out, struct dx_error *err)
{
    struct be_expr_node *acc = NULL;
    const char *param = filter->string ? filter->string : "ScanFilter";
    const cJSON *c;
    int use_or, rc;
    if ((rc = conditional_operator(condop, &use_or, err)) != DX_OK)
        return rc;
    cJSON_ArrayForEach(c, filter)
    {
        const cJSON *avl, *value, *cop, *exists;
        struct dx_av **vals = NULL;
        size_t n = 0;
        if ((rc = struct_members(c, param, &avl, &value, &cop, &exists, err)) != DX_OK)
            return rc;
        if (!cop)
            return dx_error_set(err, DX_E_VALIDATION,
                                "1 validation error detected: Value null at "
                                "'%c%s.%s.member.comparisonOperator' failed to satisfy "
                                "constraint: Member must not be null",
                                lower_first(param[0]), param + 1, c->string);
        int opi = find_op(cop->valuestring);
        if ((rc = read_values(a, avl, NULL, &vals, &n, err)) != DX_OK)
            return rc;
        if ((rc = check_values(opi, vals, n, err)) != DX_OK)
            return rc;
        acc = combine(a, acc, condition(a, c->string, legacy_ops[opi].op, vals, n), use_or);
    }
    *out = acc;
    return DX_OK;
}

int be_expr_legacy_updates(struct dx_arena *a, const cJSON *updates, struct be_expr_update **out,
                           size_t *nout, struct dx_error *err)
{
    size_t cnt = (size_t)cJSON_GetArraySize(updates), n = 0;
    struct be_expr_update *u = dx_arena_calloc(a, (cnt ? cnt : 1) * sizeof(*u));
    const cJSON *c;
    int rc;
    cJSON_ArrayForEach(c, updates)
    {
        if ((rc = dx_json_check(c, DX_JT_STRUCT, err)) != DX_OK)
            return rc;
        const cJSON *action = cJSON_GetObjectItemCaseSensitive(c, "Action");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(c, "Value");
        if (action && cJSON_IsNull(action))
            action = NULL;
        if (value && cJSON_IsNull(value))
            value = NULL;
        if ((rc = dx_json_check(action, DX_JT_STRING, err)) != DX_OK ||
            (rc = dx_json_check(value, DX_JT_STRUCT, err)) != DX_OK)
            return rc;
        const char *act = action ? action->valuestring : "PUT";
        if (strcmp(act, "PUT") != 0 && strcmp(act, "ADD") != 0 && strcmp(act, "DELETE") != 0)
            return dx_error_set(err, DX_E_VALIDATION,
                                "1 validation error detected: Value '%s' at "
                                "'attributeUpdates.%s.member.action' failed to satisfy constraint: "
                                "Member must satisfy enum value set: [ADD, PUT, DELETE]",
                                act, c->string);
        struct dx_av *v = NULL;
        if (value && (rc = dx_av_from_json(a, value, &v, err)) != DX_OK)
            return rc;
        if (!v && strcmp(act, "DELETE") != 0)
            return dx_error_set(err, DX_E_VALIDATION,
                                INVALID "Only DELETE action is allowed when no attribute value is "
                                        "specified");
        if (v && strcmp(act, "DELETE") == 0 && v->type != DX_AV_SS && v->type != DX_AV_NS &&
            v->type != DX_AV_BS)
            return dx_error_set(err, DX_E_VALIDATION,
                                INVALID "DELETE action with value is not supported for the type %s",
                                dx_av_type_name(v->type));
        if (v && strcmp(act, "ADD") == 0 && v->type != DX_AV_L && v->type != DX_AV_SS &&
            v->type != DX_AV_NS && v->type != DX_AV_BS && v->type != DX_AV_N)
            return dx_error_set(err, DX_E_VALIDATION,
                                INVALID "ADD action is not supported for the type %s",
                                dx_av_type_name(v->type));
        u[n].legacy = 1;
        u[n].path = one_name(a, c->string);
        if (strcmp(act, "PUT") == 0)
            u[n].action = BE_EXPR_SET;
        else if (strcmp(act, "ADD") == 0)
            u[n].action = BE_EXPR_ADD;
        else
            u[n].action = v ? BE_EXPR_DELETE : BE_EXPR_REMOVE;
        if (v)
            u[n].value = value_node(a, v);
        n++;
    }
    *out = u;
    *nout = n;
    return DX_OK;
}

int be_expr_legacy_attrs(struct dx_arena *a, const cJSON *attrs, struct be_expr_path **out,
                         size_t *nout, struct dx_error *err)
{
    size_t cnt = (size_t)cJSON_GetArraySize(attrs), n = 0;
    const cJSON *c;
    int rc;
    if (cnt == 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "1 validation error detected: Value '[]' at 'attributesToGet' failed "
                            "to satisfy constraint: Member must have length greater than or equal "
                            "to 1");
    struct be_expr_path *p = dx_arena_alloc(a, cnt * sizeof(*p));
    cJSON_ArrayForEach(c, attrs)
    {
        if ((rc = dx_json_check(c, DX_JT_STRING, err)) != DX_OK)
            return rc;
        if (!cJSON_IsString(c))
            continue;
        for (size_t i = 0; i < n; i++)
            if (strcmp(p[i].el[0].name, c->valuestring) == 0)
                return dx_error_set(err, DX_E_VALIDATION,
                                    INVALID "Duplicate value in attribute name: %s",
                                    c->valuestring);
        p[n++] = one_name(a, c->valuestring);
    }
    *out = p;
    *nout = n;
    return DX_OK;
}
