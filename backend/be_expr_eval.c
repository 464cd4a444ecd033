/*
 * The evaluator of condition trees (ConditionExpression, FilterExpression, the legacy
 * Expected / QueryFilter / ScanFilter translated into the same trees) against an item.
 *
 * DynamoDB's rules: a comparison between values of different types, or with a missing
 * attribute, is false rather than an error (so `<>` is true there); numbers compare
 * numerically, strings and binaries bytewise; size() counts bytes of S and B, elements of
 * sets and lists, members of maps, and has no value for other types.
 */
#include <stdio.h>
#include <string.h>
#include "be_expr_ast.h"
#include "dx_num.h"
#include "dx_status.h"

struct dx_av *be_expr_path_get(const struct dx_av *item, const struct be_expr_path *p)
{
    const struct dx_av *v = item;
    for (size_t i = 0; v && i < p->n; i++) {
        const struct be_expr_pel *e = &p->el[i];
        if (e->is_index) {
            if (v->type != DX_AV_L || e->index >= v->u.list.n)
                return NULL;
            v = v->u.list.v[e->index];
        } else {
            if (v->type != DX_AV_M || !e->name)
                return NULL;
            v = dx_av_map_get(v, e->name, e->len);
        }
    }
    return (struct dx_av *)v;
}

static int bytes_cmp(const struct dx_av *x, const struct dx_av *y)
{
    size_t n = x->u.bytes.len < y->u.bytes.len ? x->u.bytes.len : y->u.bytes.len;
    int c = n ? memcmp(x->u.bytes.p, y->u.bytes.p, n) : 0;
    if (c)
        return c;
    return x->u.bytes.len < y->u.bytes.len ? -1 : x->u.bytes.len > y->u.bytes.len;
}

int be_expr_av_cmp(const struct dx_av *x, const struct dx_av *y)
{
    if (x->type == DX_AV_N && y->type == DX_AV_N) {
        struct dx_num a, b;
        if (dx_num_parse(x->u.bytes.p, x->u.bytes.len, &a) == DX_NUM_OK &&
            dx_num_parse(y->u.bytes.p, y->u.bytes.len, &b) == DX_NUM_OK)
            return dx_num_cmp(&a, &b);
    }
    return bytes_cmp(x, y);
}

static int is_scalar_ordered(const struct dx_av *v)
{
    return v->type == DX_AV_N || v->type == DX_AV_S || v->type == DX_AV_B;
}

/* Room for the value of size(): a number node and its text. */
struct scratch {
    struct dx_av av;
    char text[32];
};

static const struct dx_av *operand(const struct be_expr_node *n, const struct dx_av *item,
                                   struct scratch *sc)
{
    switch (n->kind) {
    case BE_EXPR_PATH:
        return be_expr_path_get(item, &n->path);
    case BE_EXPR_VALUE:
        return n->value;
    case BE_EXPR_FUNC:
        if (n->op == BE_EXPR_FN_SIZE && n->nargs == 1) {
            struct scratch inner;
            const struct dx_av *v = operand(n->args[0], item, &inner);
            size_t sz;
            if (!v)
                return NULL;
            switch (v->type) {
            case DX_AV_S:
            case DX_AV_B:
                sz = v->u.bytes.len;
                break;
            case DX_AV_L:
            case DX_AV_SS:
            case DX_AV_NS:
            case DX_AV_BS:
                sz = v->u.list.n;
                break;
            case DX_AV_M:
                sz = v->u.map.n;
                break;
            default:
                return NULL;
            }
            int len = snprintf(sc->text, sizeof(sc->text), "%zu", sz);
            sc->av.type = DX_AV_N;
            sc->av.u.bytes.p = sc->text;
            sc->av.u.bytes.len = (size_t)len;
            return &sc->av;
        }
        return NULL;
    default:
        return NULL;
    }
}

static int contains(const struct dx_av *x, const struct dx_av *y)
{
    if (!x || !y)
        return 0;
    switch (x->type) {
    case DX_AV_S:
    case DX_AV_B:
        if (y->type != x->type)
            return 0;
        if (y->u.bytes.len == 0)
            return 1;
        return memmem(x->u.bytes.p, x->u.bytes.len, y->u.bytes.p, y->u.bytes.len) != NULL;
    case DX_AV_SS:
    case DX_AV_NS:
    case DX_AV_BS:
    case DX_AV_L:
        for (size_t i = 0; i < x->u.list.n; i++)
            if (dx_av_equal(x->u.list.v[i], y))
                return 1;
        return 0;
    default:
        return 0;
    }
}

static int eval(const struct be_expr_node *n, const struct dx_av *item)
{
    struct scratch s0, s1, s2;
    const struct dx_av *x, *y, *z;
    switch (n->kind) {
    case BE_EXPR_AND:
        return eval(n->args[0], item) && eval(n->args[1], item);
    case BE_EXPR_OR:
        return eval(n->args[0], item) || eval(n->args[1], item);
    case BE_EXPR_NOT:
        return !eval(n->args[0], item);
    case BE_EXPR_CMP:
        x = operand(n->args[0], item, &s0);
        y = operand(n->args[1], item, &s1);
        if (n->op == BE_EXPR_EQ)
            return x && y && dx_av_equal(x, y);
        if (n->op == BE_EXPR_NE)
            return !(x && y && dx_av_equal(x, y));
        if (!x || !y || x->type != y->type || !is_scalar_ordered(x))
            return 0;
        {
            int c = be_expr_av_cmp(x, y);
            switch (n->op) {
            case BE_EXPR_LT:
                return c < 0;
            case BE_EXPR_LE:
                return c <= 0;
            case BE_EXPR_GT:
                return c > 0;
            default:
                return c >= 0;
            }
        }
    case BE_EXPR_BETWEEN:
        x = operand(n->args[0], item, &s0);
        y = operand(n->args[1], item, &s1);
        z = operand(n->args[2], item, &s2);
        if (!x || !y || !z || x->type != y->type || x->type != z->type || !is_scalar_ordered(x))
            return 0;
        return be_expr_av_cmp(x, y) >= 0 && be_expr_av_cmp(x, z) <= 0;
    case BE_EXPR_IN:
        x = operand(n->args[0], item, &s0);
        if (!x)
            return 0;
        for (size_t i = 1; i < n->nargs; i++) {
            y = operand(n->args[i], item, &s1);
            if (y && dx_av_equal(x, y))
                return 1;
        }
        return 0;
    case BE_EXPR_FUNC:
        switch (n->op) {
        case BE_EXPR_FN_ATTRIBUTE_EXISTS:
            return operand(n->args[0], item, &s0) != NULL;
        case BE_EXPR_FN_ATTRIBUTE_NOT_EXISTS:
            return operand(n->args[0], item, &s0) == NULL;
        case BE_EXPR_FN_ATTRIBUTE_TYPE:
            x = operand(n->args[0], item, &s0);
            y = operand(n->args[1], item, &s1);
            if (!x || !y || y->type != DX_AV_S)
                return 0;
            return dx_av_type_from_name(y->u.bytes.p, y->u.bytes.len) == x->type;
        case BE_EXPR_FN_BEGINS_WITH:
            x = operand(n->args[0], item, &s0);
            y = operand(n->args[1], item, &s1);
            if (!x || !y || x->type != y->type || (x->type != DX_AV_S && x->type != DX_AV_B))
                return 0;
            return y->u.bytes.len <= x->u.bytes.len &&
                   (y->u.bytes.len == 0 || memcmp(x->u.bytes.p, y->u.bytes.p, y->u.bytes.len) == 0);
        case BE_EXPR_FN_CONTAINS:
            return contains(operand(n->args[0], item, &s0), operand(n->args[1], item, &s1));
        case BE_EXPR_FN_NOT_CONTAINS:
            return !contains(operand(n->args[0], item, &s0), operand(n->args[1], item, &s1));
        default:
            return 0;
        }
    default:
        return 0;
    }
}

int be_expr_eval_condition(const struct be_expr_node *n, const struct dx_av *item, int *ok,
                           struct dx_error *err)
{
    *ok = n ? eval(n, item) : 1;
    return DX_OK;
}

int be_exprs_check_condition(const struct be_exprs *x, const struct dx_av *item, int *ok,
                             struct dx_error *err)
{
    return be_expr_eval_condition(x ? x->condition : NULL, item, ok, err);
}

int be_exprs_check_filter(const struct be_exprs *x, const struct dx_av *item, int *ok,
                          struct dx_error *err)
{
    return be_expr_eval_condition(x ? x->filter : NULL, item, ok, err);
}
