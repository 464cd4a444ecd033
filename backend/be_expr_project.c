/*
 * Projection (ProjectionExpression, AttributesToGet) and the attributes an update touched
 * (ReturnValues UPDATED_OLD / UPDATED_NEW), which DynamoDB builds the same way.
 *
 * The result keeps the nested structure of the item: "a.b, c[3]" gives {a: {b}, c: [c[3]]}.
 * List elements picked from one list keep their order and are compacted, as DynamoDB does.
 * While building, a list is held as a map keyed by the zero-padded index (so members sort by
 * index); those maps are turned into lists at the end.
 */
#include <stdio.h>
#include <string.h>
#include "be_expr_ast.h"

struct pending {
    struct dx_av **v;
    size_t n, cap;
};

static void remember(struct dx_arena *a, struct pending *pl, struct dx_av *m)
{
    if (pl->n == pl->cap) {
        size_t nc = pl->cap ? pl->cap * 2 : 8;
        struct dx_av **nv = dx_arena_alloc(a, nc * sizeof(*nv));
        if (pl->n)
            memcpy(nv, pl->v, pl->n * sizeof(*nv));
        pl->v = nv;
        pl->cap = nc;
    }
    pl->v[pl->n++] = m;
}

static size_t key_of(const struct be_expr_pel *e, char *buf, const char **k)
{
    if (e->is_index) {
        *k = buf;
        return (size_t)snprintf(buf, 16, "%010u", e->index);
    }
    *k = e->name;
    return e->len;
}

struct dx_av *be_expr_project_paths(struct dx_arena *a, const struct be_expr_path *paths, size_t n,
                                    const struct dx_av *item)
{
    struct dx_av *out = dx_av_new_map(a);
    struct pending pl = {0};
    if (!item)
        return out;
    for (size_t i = 0; i < n; i++) {
        const struct be_expr_path *p = &paths[i];
        struct dx_av *v = be_expr_path_get(item, p);
        struct dx_av *cur = out;
        if (!v || p->n == 0 || p->el[0].is_index)
            continue;
        for (size_t j = 0; j < p->n; j++) {
            char buf[16];
            const char *k;
            size_t klen = key_of(&p->el[j], buf, &k);
            if (j == p->n - 1) {
                dx_av_map_set(a, cur, k, klen, v);
                break;
            }
            struct dx_av *next = dx_av_map_get(cur, k, klen);
            if (!next) {
                next = dx_av_new_map(a);
                if (p->el[j + 1].is_index)
                    remember(a, &pl, next);
                dx_av_map_set(a, cur, k, klen, next);
            }
            cur = next;
        }
    }
    for (size_t i = 0; i < pl.n; i++) {
        struct dx_av *m = pl.v[i];
        size_t cnt = m->u.map.n;
        struct dx_av **vals = dx_arena_alloc(a, (cnt ? cnt : 1) * sizeof(*vals));
        for (size_t j = 0; j < cnt; j++)
            vals[j] = m->u.map.m[j].value;
        m->type = DX_AV_L;
        m->u.list.v = vals;
        m->u.list.n = cnt;
        m->u.list.cap = cnt;
    }
    return out;
}

struct dx_av *be_exprs_project(const struct be_exprs *x, struct dx_arena *a,
                               const struct dx_av *item)
{
    if (!x || !x->has_proj)
        return (struct dx_av *)item;
    return be_expr_project_paths(a, x->proj, x->n_proj, item);
}

struct dx_av *be_exprs_updated_attrs(const struct be_exprs *x, struct dx_arena *a,
                                     const struct dx_av *item)
{
    if (!x || !x->n_updates || !item)
        return dx_av_new_map(a);
    struct be_expr_path *paths = dx_arena_alloc(a, x->n_updates * sizeof(*paths));
    for (size_t i = 0; i < x->n_updates; i++)
        paths[i] = x->updates[i].path;
    return be_expr_project_paths(a, paths, x->n_updates, item);
}
