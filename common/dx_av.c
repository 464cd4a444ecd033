/*
 * The attribute-value model: constructors, copies, canonical maps and sets, DynamoDB equality
 * and DynamoDB's item-size accounting. Trees live in a request arena (dx_av.h), so growing a
 * member or element array allocates a larger one from the arena and leaves the old one there.
 *
 * Sizes follow the developer guide ("DynamoDB item sizes and formats") and dynalite's valSize:
 * S is its UTF-8 bytes, B its raw bytes, N per dx_num_size, BOOL and NULL 1 byte, a set the sum
 * of its elements, L and M 3 bytes plus 1 byte per element plus the elements (and, for M, the
 * member names), and an item the sum of its attribute names and values.
 */
#include <string.h>
#include "dx_av.h"
#include "dx_num.h"

static const char *const type_names[] = {
    [DX_AV_S] = "S",       [DX_AV_N] = "N",   [DX_AV_B] = "B", [DX_AV_BOOL] = "BOOL",
    [DX_AV_NULL] = "NULL", [DX_AV_M] = "M",   [DX_AV_L] = "L", [DX_AV_SS] = "SS",
    [DX_AV_NS] = "NS",     [DX_AV_BS] = "BS",
};

const char *dx_av_type_name(enum dx_av_type t)
{
    if ((unsigned)t < sizeof(type_names) / sizeof(type_names[0]) && type_names[t])
        return type_names[t];
    return "?";
}

enum dx_av_type dx_av_type_from_name(const char *s, size_t len)
{
    for (unsigned t = DX_AV_S; t <= DX_AV_BS; t++)
        if (strlen(type_names[t]) == len && memcmp(type_names[t], s, len) == 0)
            return (enum dx_av_type)t;
    return 0;
}

static struct dx_av *node(struct dx_arena *a, enum dx_av_type t)
{
    struct dx_av *v = dx_arena_calloc(a, sizeof(*v));
    v->type = t;
    return v;
}

struct dx_av *dx_av_new_bytes(struct dx_arena *a, enum dx_av_type t, const void *p, size_t len)
{
    struct dx_av *v = node(a, t);
    /* NUL-terminated so that S and N text can go to C string functions */
    v->u.bytes.p = dx_arena_strndup(a, p, len);
    v->u.bytes.len = len;
    return v;
}

struct dx_av *dx_av_new_bool(struct dx_arena *a, int value)
{
    struct dx_av *v = node(a, DX_AV_BOOL);
    v->u.boolean = value != 0;
    return v;
}

struct dx_av *dx_av_new_null(struct dx_arena *a)
{
    struct dx_av *v = node(a, DX_AV_NULL);
    v->u.boolean = 1;
    return v;
}

struct dx_av *dx_av_new_map(struct dx_arena *a)
{
    return node(a, DX_AV_M);
}

struct dx_av *dx_av_new_list(struct dx_arena *a, enum dx_av_type t)
{
    return node(a, t);
}

static int is_list(enum dx_av_type t)
{
    return t == DX_AV_L || t == DX_AV_SS || t == DX_AV_NS || t == DX_AV_BS;
}

struct dx_av *dx_av_copy(struct dx_arena *a, const struct dx_av *v)
{
    struct dx_av *c;
    switch (v->type) {
    case DX_AV_S:
    case DX_AV_N:
    case DX_AV_B:
        return dx_av_new_bytes(a, v->type, v->u.bytes.p, v->u.bytes.len);
    case DX_AV_BOOL:
        return dx_av_new_bool(a, v->u.boolean);
    case DX_AV_NULL:
        return dx_av_new_null(a);
    case DX_AV_M:
        c = dx_av_new_map(a);
        if (v->u.map.n) {
            c->u.map.m = dx_arena_alloc(a, v->u.map.n * sizeof(*c->u.map.m));
            c->u.map.cap = c->u.map.n = v->u.map.n;
            for (size_t i = 0; i < v->u.map.n; i++) {
                const struct dx_av_member *src = &v->u.map.m[i];
                c->u.map.m[i].name = dx_arena_strndup(a, src->name, src->name_len);
                c->u.map.m[i].name_len = src->name_len;
                c->u.map.m[i].value = dx_av_copy(a, src->value);
            }
        }
        return c;
    default:
        c = dx_av_new_list(a, v->type);
        if (v->u.list.n) {
            c->u.list.v = dx_arena_alloc(a, v->u.list.n * sizeof(*c->u.list.v));
            c->u.list.cap = c->u.list.n = v->u.list.n;
            for (size_t i = 0; i < v->u.list.n; i++)
                c->u.list.v[i] = dx_av_copy(a, v->u.list.v[i]);
        }
        return c;
    }
}

/* Bytewise order of byte strings, a prefix first: the order of map names and set elements. */
static int bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Index of name in m, or -(insertion point) - 1. */
static long map_find(const struct dx_av *m, const char *name, size_t len)
{
    size_t lo = 0, hi = m->u.map.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct dx_av_member *e = &m->u.map.m[mid];
        int c = bytes_cmp(e->name, e->name_len, name, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

struct dx_av *dx_av_map_get(const struct dx_av *m, const char *name, size_t len)
{
    long i = map_find(m, name, len);
    return i >= 0 ? m->u.map.m[i].value : NULL;
}

void dx_av_map_set(struct dx_arena *a, struct dx_av *m, const char *name, size_t len,
                   struct dx_av *value)
{
    long i = map_find(m, name, len);
    if (i >= 0) {
        m->u.map.m[i].value = value;
        return;
    }
    size_t at = (size_t)(-i - 1);
    if (m->u.map.n == m->u.map.cap) {
        size_t cap = m->u.map.cap ? m->u.map.cap * 2 : 4;
        struct dx_av_member *nm = dx_arena_alloc(a, cap * sizeof(*nm));
        if (m->u.map.n)
            memcpy(nm, m->u.map.m, m->u.map.n * sizeof(*nm));
        m->u.map.m = nm;
        m->u.map.cap = cap;
    }
    memmove(&m->u.map.m[at + 1], &m->u.map.m[at], (m->u.map.n - at) * sizeof(*m->u.map.m));
    m->u.map.m[at].name = dx_arena_strndup(a, name, len);
    m->u.map.m[at].name_len = len;
    m->u.map.m[at].value = value;
    m->u.map.n++;
}

int dx_av_map_remove(struct dx_av *m, const char *name, size_t len)
{
    long i = map_find(m, name, len);
    if (i < 0)
        return 0;
    size_t at = (size_t)i;
    memmove(&m->u.map.m[at], &m->u.map.m[at + 1], (m->u.map.n - at - 1) * sizeof(*m->u.map.m));
    m->u.map.n--;
    return 1;
}

static void list_insert(struct dx_arena *a, struct dx_av *l, size_t at, struct dx_av *value)
{
    if (l->u.list.n == l->u.list.cap) {
        size_t cap = l->u.list.cap ? l->u.list.cap * 2 : 4;
        struct dx_av **nv = dx_arena_alloc(a, cap * sizeof(*nv));
        if (l->u.list.n)
            memcpy(nv, l->u.list.v, l->u.list.n * sizeof(*nv));
        l->u.list.v = nv;
        l->u.list.cap = cap;
    }
    memmove(&l->u.list.v[at + 1], &l->u.list.v[at], (l->u.list.n - at) * sizeof(*l->u.list.v));
    l->u.list.v[at] = value;
    l->u.list.n++;
}

void dx_av_list_append(struct dx_arena *a, struct dx_av *l, struct dx_av *value)
{
    if (l->type == DX_AV_L) {
        list_insert(a, l, l->u.list.n, value);
        return;
    }
    /* a set: binary search by element bytes; equal bytes mean an equal element because N
     * elements hold canonical text */
    size_t lo = 0, hi = l->u.list.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct dx_av *e = l->u.list.v[mid];
        int c = bytes_cmp(e->u.bytes.p, e->u.bytes.len, value->u.bytes.p, value->u.bytes.len);
        if (c == 0)
            return;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    list_insert(a, l, lo, value);
}

int dx_av_equal(const struct dx_av *a, const struct dx_av *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case DX_AV_S:
    case DX_AV_N:
    case DX_AV_B:
        return a->u.bytes.len == b->u.bytes.len &&
               (a->u.bytes.len == 0 || memcmp(a->u.bytes.p, b->u.bytes.p, a->u.bytes.len) == 0);
    case DX_AV_BOOL:
        return !a->u.boolean == !b->u.boolean;
    case DX_AV_NULL:
        return 1;
    case DX_AV_M:
        if (a->u.map.n != b->u.map.n)
            return 0;
        for (size_t i = 0; i < a->u.map.n; i++) {
            const struct dx_av_member *x = &a->u.map.m[i], *y = &b->u.map.m[i];
            if (bytes_cmp(x->name, x->name_len, y->name, y->name_len) != 0 ||
                !dx_av_equal(x->value, y->value))
                return 0;
        }
        return 1;
    default:
        /* L in order; sets are canonical, so equal sets have equal element sequences */
        if (a->u.list.n != b->u.list.n)
            return 0;
        for (size_t i = 0; i < a->u.list.n; i++)
            if (!dx_av_equal(a->u.list.v[i], b->u.list.v[i]))
                return 0;
        return 1;
    }
}

static size_t num_text_size(const char *p, size_t len)
{
    struct dx_num n;
    if (dx_num_parse(p, len, &n) != DX_NUM_OK)
        return len; /* not reached for trees built by this module */
    return dx_num_size(&n);
}

size_t dx_av_size(const struct dx_av *v)
{
    size_t size = 0;
    switch (v->type) {
    case DX_AV_S:
    case DX_AV_B:
        return v->u.bytes.len;
    case DX_AV_N:
        return num_text_size(v->u.bytes.p, v->u.bytes.len);
    case DX_AV_BOOL:
    case DX_AV_NULL:
        return 1;
    case DX_AV_M:
        size = 3;
        for (size_t i = 0; i < v->u.map.n; i++)
            size += 1 + v->u.map.m[i].name_len + dx_av_size(v->u.map.m[i].value);
        return size;
    case DX_AV_L:
        size = 3;
        for (size_t i = 0; i < v->u.list.n; i++)
            size += 1 + dx_av_size(v->u.list.v[i]);
        return size;
    default:
        if (is_list(v->type))
            for (size_t i = 0; i < v->u.list.n; i++)
                size += dx_av_size(v->u.list.v[i]);
        return size;
    }
}

size_t dx_av_item_size(const struct dx_av *item)
{
    size_t size = 0;
    for (size_t i = 0; i < item->u.map.n; i++)
        size += item->u.map.m[i].name_len + dx_av_size(item->u.map.m[i].value);
    return size;
}
