/*
 * Applies an update (UpdateExpression or the legacy AttributeUpdates) to a copy of an item.
 *
 * DynamoDB's semantics: every operand is read from the item as it was before the update, and
 * every path refers to that item too. So SET values are computed first; removals of list
 * elements are applied last, highest index first, so that "REMOVE a[0], a[2]" removes the two
 * original elements; SET of a list index past the end appends, in index order.
 */
#include <stdlib.h>
#include <string.h>
#include "be_expr_ast.h"
#include "dx_num.h"
#include "dx_status.h"

#define MSG_MISSING     "The provided expression refers to an attribute that does not exist in the item"
#define MSG_TYPE        "An operand in the update expression has an incorrect data type"
#define MSG_PATH        "The document path provided in the update expression is invalid for update"
#define MSG_LEGACY_TYPE "Type mismatch for attribute to update"

/* What went wrong working out a SET value: DynamoDB reports wrong types at once, missing
 * attributes and numbers out of range only after other checks. */
enum vfail { VF_NONE = 0, VF_TYPE, VF_MISSING, VF_NUMBER };

static enum vfail num_op(struct dx_arena *a, const struct dx_av *x, const struct dx_av *y,
                         int minus, const struct dx_av **out, struct dx_error *err)
{
    struct dx_num p, q, r;
    char buf[DX_NUM_STRMAX];
    int rc = dx_num_parse(x->u.bytes.p, x->u.bytes.len, &p);
    if (rc == DX_NUM_OK)
        rc = dx_num_parse(y->u.bytes.p, y->u.bytes.len, &q);
    if (rc == DX_NUM_OK)
        rc = minus ? dx_num_sub(&p, &q, &r) : dx_num_add(&p, &q, &r);
    if (rc != DX_NUM_OK) {
        dx_error_set(err, DX_E_VALIDATION, "%s", dx_num_strerror(rc));
        return VF_NUMBER;
    }
    size_t len = dx_num_format(&r, buf);
    *out = dx_av_new_bytes(a, DX_AV_N, buf, len);
    return VF_NONE;
}

static enum vfail type_fail(struct dx_error *err)
{
    dx_error_set(err, DX_E_VALIDATION, MSG_TYPE);
    return VF_TYPE;
}

/* The value of a SET operand, read from the item as it was. */
static enum vfail value_of(struct dx_arena *a, const struct be_expr_node *n,
                           const struct dx_av *item, const struct dx_av **out, struct dx_error *err)
{
    const struct dx_av *x, *y;
    enum vfail f;
    switch (n->kind) {
    case BE_EXPR_VALUE:
        *out = n->value;
        return VF_NONE;
    case BE_EXPR_PATH:
        *out = be_expr_path_get(item, &n->path);
        if (*out)
            return VF_NONE;
        dx_error_set(err, DX_E_VALIDATION, MSG_MISSING);
        return VF_MISSING;
    case BE_EXPR_PLUS:
    case BE_EXPR_MINUS:
        if ((f = value_of(a, n->args[0], item, &x, err)) != VF_NONE)
            return f;
        if (x->type != DX_AV_N)
            return type_fail(err);
        if ((f = value_of(a, n->args[1], item, &y, err)) != VF_NONE)
            return f;
        if (y->type != DX_AV_N)
            return type_fail(err);
        return num_op(a, x, y, n->kind == BE_EXPR_MINUS, out, err);
    case BE_EXPR_FUNC:
        if (n->op == BE_EXPR_FN_IF_NOT_EXISTS) {
            x = be_expr_path_get(item, &n->args[0]->path);
            if (x) {
                *out = x;
                return VF_NONE;
            }
            return value_of(a, n->args[1], item, out, err);
        }
        if (n->op == BE_EXPR_FN_LIST_APPEND) {
            if ((f = value_of(a, n->args[0], item, &x, err)) != VF_NONE)
                return f;
            if (x->type != DX_AV_L)
                return type_fail(err);
            if ((f = value_of(a, n->args[1], item, &y, err)) != VF_NONE)
                return f;
            if (y->type != DX_AV_L)
                return type_fail(err);
            struct dx_av *l = dx_av_new_list(a, DX_AV_L);
            for (size_t i = 0; i < x->u.list.n; i++)
                dx_av_list_append(a, l, x->u.list.v[i]);
            for (size_t i = 0; i < y->u.list.n; i++)
                dx_av_list_append(a, l, y->u.list.v[i]);
            *out = l;
            return VF_NONE;
        }
        return type_fail(err);
    default:
        return type_fail(err);
    }
}

/* A list change to make after every other action: removal (val NULL) or append. */
struct deferred {
    struct dx_av *list;
    uint32_t index;
    struct dx_av *val;
};

struct defer_set {
    struct deferred *d;
    size_t n, cap;
};

static void defer(struct dx_arena *a, struct defer_set *s, struct dx_av *list, uint32_t index,
                  struct dx_av *val)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        struct deferred *nd = dx_arena_alloc(a, nc * sizeof(*nd));
        if (s->n)
            memcpy(nd, s->d, s->n * sizeof(*nd));
        s->d = nd;
        s->cap = nc;
    }
    s->d[s->n].list = list;
    s->d[s->n].index = index;
    s->d[s->n].val = val;
    s->n++;
}

static int cmp_removal(const void *pa, const void *pb)
{
    const struct deferred *x = pa, *y = pb;
    if (x->list != y->list)
        return x->list < y->list ? -1 : 1;
    return x->index > y->index ? -1 : x->index < y->index; /* highest index first */
}

static int cmp_append(const void *pa, const void *pb)
{
    const struct deferred *x = pa, *y = pb;
    if (x->list != y->list)
        return x->list < y->list ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The union (add) or difference (!add) of two sets of the same type, as a new set. */
static struct dx_av *set_op(struct dx_arena *a, const struct dx_av *x, const struct dx_av *y,
                            int add)
{
    struct dx_av *r = dx_av_new_list(a, x->type);
    for (size_t i = 0; i < x->u.list.n; i++) {
        int drop = 0;
        if (!add)
            for (size_t j = 0; j < y->u.list.n && !drop; j++)
                drop = dx_av_equal(x->u.list.v[i], y->u.list.v[j]);
        if (!drop)
            dx_av_list_append(a, r, dx_av_copy(a, x->u.list.v[i]));
    }
    if (add)
        for (size_t j = 0; j < y->u.list.n; j++)
            dx_av_list_append(a, r, dx_av_copy(a, y->u.list.v[j]));
    return r;
}

static int is_set(enum dx_av_type t)
{
    return t == DX_AV_SS || t == DX_AV_NS || t == DX_AV_BS;
}

static void put(struct dx_arena *a, struct dx_av *parent, const struct be_expr_pel *last,
                struct dx_av *v, struct defer_set *appends)
{
    if (!last->is_index)
        dx_av_map_set(a, parent, last->name, last->len, v);
    else if (last->index < parent->u.list.n)
        parent->u.list.v[last->index] = v;
    else
        defer(a, appends, parent, last->index, v);
}

static void drop(struct dx_av *parent, const struct be_expr_pel *last, struct dx_arena *a,
                 struct defer_set *removals)
{
    if (!last->is_index)
        dx_av_map_remove(parent, last->name, last->len);
    else if (last->index < parent->u.list.n)
        defer(a, removals, parent, last->index, NULL);
}

/* Whether the place a path writes to can exist in item: everything before its last step is
 * there, a map before a name or a list before an index. */
static int writable(const struct dx_av *item, const struct be_expr_path *p, int *parent_there)
{
    struct be_expr_path prefix = {p->el, p->n - 1};
    const struct dx_av *parent = prefix.n ? be_expr_path_get(item, &prefix) : item;
    const struct be_expr_pel *last = &p->el[p->n - 1];
    *parent_there = parent != NULL;
    return parent && parent->type == (last->is_index ? DX_AV_L : DX_AV_M);
}

int be_exprs_apply_update(const struct be_exprs *x, struct dx_arena *a, const struct dx_av *item,
                          const struct dx_av *key, struct dx_av **out, struct dx_error *err)
{
    const struct dx_av *orig = item ? item : key;
    struct dx_av *empty = dx_av_new_map(a);
    size_t n = x ? x->n_updates : 0;
    const struct dx_av **vals = dx_arena_calloc(a, (n ? n : 1) * sizeof(*vals));
    enum vfail *fails = dx_arena_calloc(a, (n ? n : 1) * sizeof(*fails));
    char **fail_msg = dx_arena_calloc(a, (n ? n : 1) * sizeof(*fail_msg));
    struct defer_set removals = {0}, appends = {0};
    int rc, there, last_clause = 0;

    if (!orig)
        orig = empty;
    if (x && (rc = be_expr_check_key_updates(x, err)) != DX_OK)
        return rc;

    /* DynamoDB's order of runtime errors: a path through a value of the wrong kind; wrong
     * types; clause by clause from the last, paths that cannot exist then attributes a SET
     * reads that are missing; numbers out of range. */
    for (size_t i = 0; i < n; i++) {
        const struct be_expr_update *u = &x->updates[i];
        if (u->clause > last_clause)
            last_clause = u->clause;
        if (u->path.n > 1 && !writable(orig, &u->path, &there) && there)
            return dx_error_set(err, DX_E_VALIDATION, MSG_PATH);
    }
    for (size_t i = 0; i < n; i++) {
        const struct be_expr_update *u = &x->updates[i];
        if (u->action == BE_EXPR_SET) {
            enum vfail f = value_of(a, u->value, orig, &vals[i], err);
            if (f == VF_TYPE)
                return DX_EREQ;
            if (f != VF_NONE) {
                fails[i] = f;
                fail_msg[i] = dx_arena_strndup(a, err->msg, strlen(err->msg));
                vals[i] = NULL;
            }
        } else if (u->action == BE_EXPR_ADD || u->action == BE_EXPR_DELETE) {
            const struct dx_av *v = u->value->value;
            const struct dx_av *cur =
                writable(orig, &u->path, &there) ? be_expr_path_get(orig, &u->path) : NULL;
            vals[i] = v;
            if (!cur)
                continue;
            int ok = u->action == BE_EXPR_ADD
                         ? (v->type == DX_AV_N && cur->type == DX_AV_N) ||
                               (cur->type == v->type &&
                                (is_set(v->type) || (u->legacy && v->type == DX_AV_L)))
                         : cur->type == v->type;
            if (!ok)
                return dx_error_set(err, DX_E_VALIDATION, "%s",
                                    u->legacy ? MSG_LEGACY_TYPE : MSG_TYPE);
            if (u->action == BE_EXPR_ADD && v->type == DX_AV_N) {
                const struct dx_av *sum;
                if (num_op(a, cur, v, 0, &sum, err) != VF_NONE)
                    return DX_EREQ;
            }
        }
    }
    for (int c = last_clause; c >= 0; c--) {
        for (size_t i = 0; i < n; i++)
            if (x->updates[i].clause == c && !writable(orig, &x->updates[i].path, &there))
                return dx_error_set(err, DX_E_VALIDATION, MSG_PATH);
        for (size_t i = 0; i < n; i++)
            if (x->updates[i].clause == c && fails[i] == VF_MISSING)
                return dx_error_set(err, DX_E_VALIDATION, "%s", fail_msg[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (fails[i] == VF_NUMBER)
            return dx_error_set(err, DX_E_VALIDATION, "%s", fail_msg[i]);
    /* A SET of an index key attribute must write the key's type. */
    for (size_t i = 0; i < n; i++) {
        const struct be_expr_update *u = &x->updates[i];
        enum dx_av_type kt;
        if (u->action == BE_EXPR_SET && !u->legacy && u->path.n == 1 &&
            (kt = be_expr_index_key_type(x, u->path.el[0].name, u->path.el[0].len)) &&
            vals[i]->type != kt)
            return dx_error_set(err, DX_E_VALIDATION,
                                "The update expression attempted to update the secondary index "
                                "key to unsupported type");
    }

    /* Every check passed: write into a copy. Paths do not overlap, so each action finds its
     * parent in the copy as it was in the item. */
    struct dx_av *nw = dx_av_copy(a, orig);
    for (size_t i = 0; i < n; i++) {
        const struct be_expr_update *u = &x->updates[i];
        struct be_expr_path parent_path = {u->path.el, u->path.n - 1};
        const struct be_expr_pel *last = &u->path.el[u->path.n - 1];
        struct dx_av *parent = parent_path.n ? be_expr_path_get(nw, &parent_path) : nw;
        struct dx_av *cur = be_expr_path_get(nw, &u->path);
        const struct dx_av *v = vals[i];

        switch (u->action) {
        case BE_EXPR_SET:
            put(a, parent, last, dx_av_copy(a, v), &appends);
            break;
        case BE_EXPR_REMOVE:
            drop(parent, last, a, &removals);
            break;
        case BE_EXPR_ADD:
            if (!cur) {
                put(a, parent, last, dx_av_copy(a, v), &appends);
            } else if (v->type == DX_AV_N) {
                const struct dx_av *sum;
                num_op(a, cur, v, 0, &sum, err);
                put(a, parent, last, (struct dx_av *)sum, &appends);
            } else if (v->type == DX_AV_L) {
                struct dx_av *r = dx_av_copy(a, cur);
                for (size_t k = 0; k < v->u.list.n; k++)
                    dx_av_list_append(a, r, dx_av_copy(a, v->u.list.v[k]));
                put(a, parent, last, r, &appends);
            } else {
                put(a, parent, last, set_op(a, cur, v, 1), &appends);
            }
            break;
        case BE_EXPR_DELETE:
            if (cur) {
                struct dx_av *r = set_op(a, cur, v, 0);
                if (r->u.list.n == 0)
                    drop(parent, last, a, &removals);
                else
                    put(a, parent, last, r, &appends);
            }
            break;
        }
    }

    if (removals.n) {
        qsort(removals.d, removals.n, sizeof(*removals.d), cmp_removal);
        for (size_t i = 0; i < removals.n; i++) {
            struct deferred *d = &removals.d[i];
            if (i && d->list == removals.d[i - 1].list && d->index == removals.d[i - 1].index)
                continue;
            struct dx_av *l = d->list;
            memmove(&l->u.list.v[d->index], &l->u.list.v[d->index + 1],
                    (l->u.list.n - d->index - 1) * sizeof(*l->u.list.v));
            l->u.list.n--;
        }
    }
    if (appends.n) {
        qsort(appends.d, appends.n, sizeof(*appends.d), cmp_append);
        for (size_t i = 0; i < appends.n; i++)
            dx_av_list_append(a, appends.d[i].list, appends.d[i].val);
    }
    *out = nw;
    return DX_OK;
}
