/*
 * The compact binary encoding of attribute values stored in LMDB (not JSON).
 *
 * A record is
 *   version (1 byte, 1) | varint size | value
 * where size is the DynamoDB size of the value (dx_av_item_size for a map, dx_av_size
 * otherwise), kept in the header so that the store can account for an old item's size on
 * overwrite without decoding it. A value is a type tag (the dx_av_type number) followed by
 *   S, N, B      varint length, the bytes, a 0 byte
 *   BOOL         one byte, 0 or 1
 *   NULL         nothing
 *   M            varint count, then per member: varint name length, name, 0 byte, value
 *   L            varint count, then the values
 *   SS, NS, BS   varint count, then per element: varint length, the bytes, a 0 byte
 * Varints are LEB128 (7 bits a byte, low group first). N is the canonical number text.
 *
 * The 0 byte after every string lets decode hand out pointers into one arena copy of the
 * record that are also valid C strings, with no per-string allocation. Decode checks every
 * length against the bytes left, the tags, the terminators, the canonical order of map
 * members and set elements, and the nesting depth, so a damaged record is rejected and never
 * read out of bounds.
 */
#include <string.h>
#include "be_store.h"
#include "dx_status.h"

#define CODEC_VERSION 1
/* DynamoDB allows 32 levels of nesting; anything much deeper is damage, and the limit keeps
 * the recursion bounded. */
#define CODEC_MAX_DEPTH 64

static void put_varint(struct dx_buf *out, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        if (v)
            b |= 0x80;
        tmp[n++] = b;
    } while (v);
    dx_buf_append(out, tmp, n);
}

static void put_bytes(struct dx_buf *out, const void *p, size_t len)
{
    put_varint(out, len);
    if (len)
        dx_buf_append(out, p, len);
    dx_buf_putc(out, 0);
}

static void encode_value(const struct dx_av *v, struct dx_buf *out)
{
    dx_buf_putc(out, (char)v->type);
    switch (v->type) {
    case DX_AV_S:
    case DX_AV_N:
    case DX_AV_B:
        put_bytes(out, v->u.bytes.p, v->u.bytes.len);
        break;
    case DX_AV_BOOL:
        dx_buf_putc(out, v->u.boolean ? 1 : 0);
        break;
    case DX_AV_NULL:
        break;
    case DX_AV_M:
        put_varint(out, v->u.map.n);
        for (size_t i = 0; i < v->u.map.n; i++) {
            put_bytes(out, v->u.map.m[i].name, v->u.map.m[i].name_len);
            encode_value(v->u.map.m[i].value, out);
        }
        break;
    case DX_AV_L:
        put_varint(out, v->u.list.n);
        for (size_t i = 0; i < v->u.list.n; i++)
            encode_value(v->u.list.v[i], out);
        break;
    case DX_AV_SS:
    case DX_AV_NS:
    case DX_AV_BS:
        put_varint(out, v->u.list.n);
        for (size_t i = 0; i < v->u.list.n; i++)
            put_bytes(out, v->u.list.v[i]->u.bytes.p, v->u.list.v[i]->u.bytes.len);
        break;
    }
}

void be_codec_encode(const struct dx_av *item, struct dx_buf *out)
{
    size_t size = item->type == DX_AV_M ? dx_av_item_size(item) : dx_av_size(item);
    dx_buf_putc(out, CODEC_VERSION);
    put_varint(out, size);
    encode_value(item, out);
}

/* Decoding works on a cursor over the arena copy of the record. */
struct rd {
    const uint8_t *p, *end;
    struct dx_arena *a;
};

static int get_varint(struct rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return DX_EINVAL;
        uint8_t b = *r->p++;
        if (shift == 63 && (b & 0x7e))
            return DX_EINVAL; /* does not fit 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return DX_OK;
        }
    }
    return DX_EINVAL;
}

/* A length-prefixed, 0-terminated string; *p points into the record copy. */
static int get_bytes(struct rd *r, const char **p, size_t *len)
{
    uint64_t n;
    if (get_varint(r, &n) != DX_OK)
        return DX_EINVAL;
    if (n >= (uint64_t)(r->end - r->p))
        return DX_EINVAL; /* the bytes and the terminator must fit */
    if (r->p[n] != 0)
        return DX_EINVAL;
    *p = (const char *)r->p;
    *len = (size_t)n;
    r->p += n + 1;
    return DX_OK;
}

/* A count of elements each taking at least min_bytes, checked against the bytes left so that
 * a damaged count cannot make us allocate gigabytes. */
static int get_count(struct rd *r, size_t min_bytes, size_t *out)
{
    uint64_t n;
    if (get_varint(r, &n) != DX_OK)
        return DX_EINVAL;
    if (n > (uint64_t)(r->end - r->p) / min_bytes)
        return DX_EINVAL;
    *out = (size_t)n;
    return DX_OK;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int decode_value(struct rd *r, int depth, struct dx_av **out)
{
    if (depth > CODEC_MAX_DEPTH || r->p >= r->end)
        return DX_EINVAL;
    uint8_t tag = *r->p++;
    struct dx_av *v = dx_arena_alloc(r->a, sizeof(*v));
    memset(v, 0, sizeof(*v));
    v->type = (enum dx_av_type)tag;
    size_t n;
    switch (tag) {
    case DX_AV_S:
    case DX_AV_N:
    case DX_AV_B:
        if (get_bytes(r, &v->u.bytes.p, &v->u.bytes.len) != DX_OK)
            return DX_EINVAL;
        if (tag == DX_AV_N && v->u.bytes.len == 0)
            return DX_EINVAL;
        break;
    case DX_AV_BOOL:
        if (r->p >= r->end || *r->p > 1)
            return DX_EINVAL;
        v->u.boolean = *r->p++;
        break;
    case DX_AV_NULL:
        break;
    case DX_AV_M:
        /* a member is at least: name length, terminator, tag */
        if (get_count(r, 3, &n) != DX_OK)
            return DX_EINVAL;
        v->u.map.n = v->u.map.cap = n;
        v->u.map.m = n ? dx_arena_alloc(r->a, n * sizeof(*v->u.map.m)) : NULL;
        for (size_t i = 0; i < n; i++) {
            struct dx_av_member *m = &v->u.map.m[i];
            if (get_bytes(r, &m->name, &m->name_len) != DX_OK)
                return DX_EINVAL;
            /* members sorted and unique, as every tree is canonical */
            if (i && bytes_cmp(m[-1].name, m[-1].name_len, m->name, m->name_len) >= 0)
                return DX_EINVAL;
            if (decode_value(r, depth + 1, &m->value) != DX_OK)
                return DX_EINVAL;
        }
        break;
    case DX_AV_L:
        if (get_count(r, 1, &n) != DX_OK)
            return DX_EINVAL;
        v->u.list.n = v->u.list.cap = n;
        v->u.list.v = n ? dx_arena_alloc(r->a, n * sizeof(*v->u.list.v)) : NULL;
        for (size_t i = 0; i < n; i++)
            if (decode_value(r, depth + 1, &v->u.list.v[i]) != DX_OK)
                return DX_EINVAL;
        break;
    case DX_AV_SS:
    case DX_AV_NS:
    case DX_AV_BS: {
        enum dx_av_type et = tag == DX_AV_SS ? DX_AV_S : tag == DX_AV_NS ? DX_AV_N : DX_AV_B;
        if (get_count(r, 2, &n) != DX_OK || n == 0)
            return DX_EINVAL; /* DynamoDB has no empty sets */
        v->u.list.n = v->u.list.cap = n;
        v->u.list.v = dx_arena_alloc(r->a, n * sizeof(*v->u.list.v));
        struct dx_av *els = dx_arena_alloc(r->a, n * sizeof(*els));
        memset(els, 0, n * sizeof(*els));
        for (size_t i = 0; i < n; i++) {
            struct dx_av *e = &els[i];
            e->type = et;
            if (get_bytes(r, &e->u.bytes.p, &e->u.bytes.len) != DX_OK)
                return DX_EINVAL;
            if (et == DX_AV_N && e->u.bytes.len == 0)
                return DX_EINVAL;
            if (i && bytes_cmp(els[i - 1].u.bytes.p, els[i - 1].u.bytes.len, e->u.bytes.p,
                               e->u.bytes.len) >= 0)
                return DX_EINVAL;
            v->u.list.v[i] = e;
        }
        break;
    }
    default:
        return DX_EINVAL;
    }
    *out = v;
    return DX_OK;
}

int be_codec_decode(const void *p, size_t n, struct dx_arena *a, struct dx_av **item)
{
    struct rd r;
    uint64_t size;
    if (n < 3 || ((const uint8_t *)p)[0] != CODEC_VERSION)
        return DX_EINVAL;
    /* One copy of the record: every string of the tree points into it. */
    const uint8_t *copy = dx_arena_memdup(a, p, n);
    r.p = copy + 1;
    r.end = copy + n;
    r.a = a;
    if (get_varint(&r, &size) != DX_OK)
        return DX_EINVAL;
    struct dx_av *v;
    if (decode_value(&r, 0, &v) != DX_OK || r.p != r.end)
        return DX_EINVAL;
    *item = v;
    return DX_OK;
}

int be_codec_size(const void *p, size_t n, uint64_t *size)
{
    struct rd r;
    if (n < 3 || ((const uint8_t *)p)[0] != CODEC_VERSION)
        return DX_EINVAL;
    r.p = (const uint8_t *)p + 1;
    r.end = (const uint8_t *)p + n;
    r.a = NULL;
    return get_varint(&r, size);
}
