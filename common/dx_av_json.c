/*
 * The JSON codec of attribute values: DynamoDB JSON ({"S": "x"}, {"M": {...}}) to canonical
 * trees, validated with DynamoDB's errors, and trees back to compact JSON.
 *
 * Input is checked in two passes, because DynamoDB deserialises the whole request before it
 * validates any of it: a wrong JSON type anywhere (SerializationException) wins over an
 * invalid value anywhere (ValidationException). Pass one checks JSON types and base64; pass
 * two builds the tree and validates values in document order, stopping at the first error.
 *
 * The ValidationException texts are the bare ones DynamoDB sends for an Item or a Key
 * (dynalite validations/index.js validateAttributeValue, and its tests). Callers add context
 * where DynamoDB does: for ExpressionAttributeValues DynamoDB sends
 * "ExpressionAttributeValues contains invalid value: <text> for key <:name>"; Item, Key,
 * Expected values, AttributeValueList and the batch operations send the text bare.
 * Since May 2020 empty S and B values (also inside sets, lists and maps) are valid; only key
 * attributes must be non-empty, which the item layer checks against the key schema.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dx_alloc.h"
#include "dx_av.h"
#include "dx_json.h"
#include "dx_num.h"
#include "dx_status.h"

/* DynamoDB's nesting limit: an attribute value may sit at most 32 levels deep (31 maps or
 * lists around a scalar), counting the attribute's own value as level 1. */
#define MAX_DEPTH 32

#define INVALID "One or more parameter values were invalid: "

/* ---- pass one: JSON types and base64 (SerializationException) ---- */

/*
 * Base64 as DynamoDB checks a Blob (dynalite checkType 'Blob'): a length that is a multiple of
 * 4, only the base64 alphabet with '=' only as trailing padding, and the canonical encoding
 * (unused bits zero). The texts, including the misspelt "dectected", are DynamoDB's.
 */
static int check_base64(const char *s, struct dx_error *err)
{
    size_t n = strlen(s);
    if (dx_utf16_len(s) % 4)
        return dx_error_set(err, DX_E_SERIALIZATION,
                            "'%s' can not be converted to a Blob: Base64 encoded length is "
                            "expected a multiple of 4 bytes but found: %zu",
                            s, dx_utf16_len(s));
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/' || (c == '=' && (i + 1 == n || s[i + 1] == '='));
        if (ok)
            continue;
        /* the whole character, however many UTF-8 bytes it takes */
        size_t clen = 1;
        while (i + clen < n && ((unsigned char)s[i + clen] & 0xc0) == 0x80)
            clen++;
        if ((unsigned char)c < 0x80)
            clen = 1;
        return dx_error_set(err, DX_E_SERIALIZATION,
                            "'%s' can not be converted to a Blob: Invalid Base64 character: "
                            "'%.*s'",
                            s, (int)clen, s + i);
    }
    int bad = 0;
    if (n) {
        size_t pad = 0;
        while (pad < n && s[n - 1 - pad] == '=')
            pad++;
        if (pad > 2) {
            bad = 1;
        } else {
            uint8_t *raw = dx_malloc(n / 4 * 3);
            size_t rawlen;
            if (dx_base64_decode(s, n, raw, &rawlen) != DX_OK) {
                bad = 1;
            } else {
                struct dx_buf re = DX_BUF_INIT;
                dx_buf_base64(&re, raw, rawlen);
                bad = re.len != n || memcmp(re.p, s, n) != 0;
                dx_buf_deinit(&re);
            }
            dx_free(raw);
        }
    }
    if (bad)
        return dx_error_set(err, DX_E_SERIALIZATION,
                            "'%s' can not be converted to a Blob: Invalid last non-pad Base64 "
                            "character dectected",
                            s);
    return DX_OK;
}

static int check_types(const cJSON *v, struct dx_error *err);

static int check_list(const cJSON *l, enum dx_jtype elem, struct dx_error *err)
{
    int rc = dx_json_check(l, DX_JT_LIST, err);
    if (rc != DX_OK || cJSON_IsNull(l))
        return rc;
    const cJSON *e;
    cJSON_ArrayForEach(e, l)
    {
        if (elem == DX_JT_STRUCT)
            rc = check_types(e, err);
        else
            rc = dx_json_check(e, elem, err);
        if (rc == DX_OK && elem == DX_JT_BLOB && cJSON_IsString(e))
            rc = check_base64(e->valuestring, err);
        if (rc != DX_OK)
            return rc;
    }
    return DX_OK;
}

static int check_map(const cJSON *m, struct dx_error *err)
{
    int rc = dx_json_check(m, DX_JT_MAP, err);
    if (rc != DX_OK || cJSON_IsNull(m))
        return rc;
    const cJSON *e;
    cJSON_ArrayForEach(e, m)
    {
        if ((rc = check_types(e, err)) != DX_OK)
            return rc;
    }
    return DX_OK;
}

/* One AttributeValue object; members that name no type are ignored, as DynamoDB does. */
static int check_types(const cJSON *v, struct dx_error *err)
{
    int rc = dx_json_check(v, DX_JT_STRUCT, err);
    if (rc != DX_OK || !v || cJSON_IsNull(v))
        return rc;
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        enum dx_av_type t = m->string ? dx_av_type_from_name(m->string, strlen(m->string)) : 0;
        switch (t) {
        case DX_AV_S:
        case DX_AV_N:
            rc = dx_json_check(m, DX_JT_STRING, err);
            break;
        case DX_AV_B:
            rc = dx_json_check(m, DX_JT_BLOB, err);
            if (rc == DX_OK && cJSON_IsString(m))
                rc = check_base64(m->valuestring, err);
            break;
        case DX_AV_BOOL:
        case DX_AV_NULL:
            rc = dx_json_check(m, DX_JT_BOOL, err);
            break;
        case DX_AV_SS:
        case DX_AV_NS:
            rc = check_list(m, DX_JT_STRING, err);
            break;
        case DX_AV_BS:
            rc = check_list(m, DX_JT_BLOB, err);
            break;
        case DX_AV_L:
            rc = check_list(m, DX_JT_STRUCT, err);
            break;
        case DX_AV_M:
            rc = check_map(m, err);
            break;
        default:
            break;
        }
        if (rc != DX_OK)
            return rc;
    }
    return DX_OK;
}

/* ---- pass two: build and validate (ValidationException) ---- */

static int verr(struct dx_error *err, const char *msg)
{
    return dx_error_set(err, DX_E_VALIDATION, "%s", msg);
}

/* A JSON Boolean member as the deserialiser reads it (dx_json_check let a double through). */
static int json_truth(const cJSON *j)
{
    if (cJSON_IsNumber(j))
        return j->valuedouble != 0;
    return cJSON_IsTrue(j);
}

static int num_error(struct dx_error *err, const char *text, int nerr)
{
    if (nerr == DX_NUM_E_SYNTAX && text && *text)
        return dx_error_set(err, DX_E_VALIDATION, "%s: %s", dx_num_strerror(nerr), text);
    return verr(err, dx_num_strerror(nerr));
}

/* Parses number text into a canonical N node. */
static int build_number(struct dx_arena *a, const char *text, struct dx_av **out,
                        struct dx_error *err)
{
    struct dx_num n;
    if (!text || !*text)
        return num_error(err, NULL, DX_NUM_E_SYNTAX);
    int nerr = dx_num_parse(text, strlen(text), &n);
    if (nerr != DX_NUM_OK)
        return num_error(err, text, nerr);
    char buf[DX_NUM_STRMAX];
    size_t len = dx_num_format(&n, buf);
    *out = dx_av_new_bytes(a, DX_AV_N, buf, len);
    return DX_OK;
}

static struct dx_av *build_blob(struct dx_arena *a, const char *s)
{
    size_t n = strlen(s), len = 0;
    uint8_t *raw = dx_arena_alloc(a, n / 4 * 3 + 1);
    if (dx_base64_decode(s, n, raw, &len) != DX_OK)
        len = 0; /* not reached: pass one checked it */
    raw[len] = 0;
    struct dx_av *v = dx_arena_calloc(a, sizeof(*v));
    v->type = DX_AV_B;
    v->u.bytes.p = (const char *)raw;
    v->u.bytes.len = len;
    return v;
}

/* "[a, b, a]" from the elements as received, for the duplicate messages. */
static void list_text(struct dx_buf *b, const cJSON *l)
{
    const cJSON *e;
    int first = 1;
    dx_buf_putc(b, '[');
    cJSON_ArrayForEach(e, l)
    {
        if (!first)
            dx_buf_puts(b, ", ");
        first = 0;
        dx_buf_puts(b, cJSON_IsString(e) ? e->valuestring : "null");
    }
    dx_buf_putc(b, ']');
}

static int dup_error(struct dx_error *err, const cJSON *l, enum dx_av_type t)
{
    if (t == DX_AV_NS)
        return verr(err, "Input collection contains duplicates");
    struct dx_buf b = DX_BUF_INIT;
    list_text(&b, l);
    int rc = dx_error_set(err, DX_E_VALIDATION,
                          t == DX_AV_SS ? INVALID "Input collection %s contains duplicates."
                                        : INVALID "Input collection %sof type BS contains "
                                                  "duplicates.",
                          b.p);
    dx_buf_deinit(&b);
    return rc;
}

/*
 * Trees are built from whole arrays sorted once: inserting members or elements one by one into
 * sorted arrays would cost O(n^2) moves for an item with tens of thousands of attributes.
 */
static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int elem_cmp(const void *x, const void *y)
{
    const struct dx_av *a = *(struct dx_av *const *)x, *b = *(struct dx_av *const *)y;
    return bytes_cmp(a->u.bytes.p, a->u.bytes.len, b->u.bytes.p, b->u.bytes.len);
}

/* Stable merge sort of members by name, so that of repeated names the last stays last. */
static void sort_members(struct dx_av_member *m, size_t n)
{
    if (n < 2)
        return;
    struct dx_av_member *tmp = dx_malloc(n * sizeof(*tmp)), *src = m, *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (bytes_cmp(src[j].name, src[j].name_len, src[i].name, src[i].name_len) < 0)
                    dst[k++] = src[j++];
                else
                    dst[k++] = src[i++];
            }
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        struct dx_av_member *t = src;
        src = dst;
        dst = t;
    }
    if (src != m)
        memcpy(m, src, n * sizeof(*m));
    dx_free(tmp);
}

/* Members of a JSON object, each an AttributeValue one level deeper, as a canonical map (a
 * repeated name keeps its last value, as a JSON object read into a map does). */
static int build(struct dx_arena *a, const cJSON *j, int depth, struct dx_av **out,
                 struct dx_error *err);

static int build_map(struct dx_arena *a, const cJSON *j, int depth, struct dx_av **out,
                     struct dx_error *err)
{
    struct dx_av *map = dx_av_new_map(a);
    size_t n = j && cJSON_IsObject(j) ? (size_t)cJSON_GetArraySize(j) : 0, k = 0;
    const cJSON *e;
    int rc;
    if (!n) {
        *out = map;
        return DX_OK;
    }
    map->u.map.m = dx_arena_alloc(a, n * sizeof(*map->u.map.m));
    map->u.map.cap = n;
    cJSON_ArrayForEach(e, j)
    {
        struct dx_av *ev = NULL;
        if ((rc = build(a, e, depth, &ev, err)) != DX_OK)
            return rc;
        size_t len = strlen(e->string);
        map->u.map.m[k].name = dx_arena_strndup(a, e->string, len);
        map->u.map.m[k].name_len = len;
        map->u.map.m[k].value = ev;
        k++;
    }
    sort_members(map->u.map.m, k);
    size_t w = 0;
    for (size_t i = 0; i < k; i++) {
        if (i + 1 < k && bytes_cmp(map->u.map.m[i].name, map->u.map.m[i].name_len,
                                   map->u.map.m[i + 1].name, map->u.map.m[i + 1].name_len) == 0)
            continue; /* a later value for the same name follows */
        map->u.map.m[w++] = map->u.map.m[i];
    }
    map->u.map.n = w;
    *out = map;
    return DX_OK;
}

static int build_set(struct dx_arena *a, const cJSON *l, enum dx_av_type t, struct dx_av **out,
                     struct dx_error *err)
{
    if (cJSON_GetArraySize(l) == 0) {
        if (t == DX_AV_SS)
            return verr(err, INVALID "An string set  may not be empty");
        if (t == DX_AV_NS)
            return verr(err, INVALID "An number set  may not be empty");
        return verr(err, INVALID "Binary sets should not be empty");
    }
    struct dx_av *set = dx_av_new_list(a, t);
    size_t n = (size_t)cJSON_GetArraySize(l), k = 0;
    struct dx_av **v = dx_arena_alloc(a, n * sizeof(*v));
    const cJSON *e;
    cJSON_ArrayForEach(e, l)
    {
        struct dx_av *ev = NULL;
        if (t == DX_AV_NS) {
            int rc = build_number(a, cJSON_IsString(e) ? e->valuestring : NULL, &ev, err);
            if (rc != DX_OK)
                return rc;
        } else if (!cJSON_IsString(e)) {
            /* a JSON null element */
            return verr(err, t == DX_AV_SS
                                 ? INVALID "An string set may not have a empty string as a member"
                                 : INVALID "Binary sets may not contain null or empty values");
        } else if (t == DX_AV_SS) {
            ev = dx_av_new_bytes(a, DX_AV_S, e->valuestring, strlen(e->valuestring));
        } else {
            ev = build_blob(a, e->valuestring);
        }
        v[k++] = ev;
    }
    /* N elements are canonical text: equal bytes are equal numbers */
    qsort(v, k, sizeof(*v), elem_cmp);
    for (size_t i = 1; i < k; i++)
        if (elem_cmp(&v[i - 1], &v[i]) == 0)
            return dup_error(err, l, t);
    set->u.list.v = v;
    set->u.list.n = set->u.list.cap = k;
    *out = set;
    return DX_OK;
}

static int build_member(struct dx_arena *a, const cJSON *m, enum dx_av_type t, int depth,
                        struct dx_av **out, struct dx_error *err)
{
    int rc;
    const cJSON *e;
    switch (t) {
    case DX_AV_S:
        *out = dx_av_new_bytes(a, DX_AV_S, m->valuestring, strlen(m->valuestring));
        return DX_OK;
    case DX_AV_N:
        return build_number(a, m->valuestring, out, err);
    case DX_AV_B:
        *out = build_blob(a, m->valuestring);
        return DX_OK;
    case DX_AV_BOOL:
        *out = dx_av_new_bool(a, json_truth(m));
        return DX_OK;
    case DX_AV_NULL:
        if (!json_truth(m))
            return verr(err, INVALID "Null attribute value types must have the value of true");
        *out = dx_av_new_null(a);
        return DX_OK;
    case DX_AV_SS:
    case DX_AV_NS:
    case DX_AV_BS:
        return build_set(a, m, t, out, err);
    case DX_AV_L: {
        struct dx_av *l = dx_av_new_list(a, DX_AV_L);
        size_t n = (size_t)cJSON_GetArraySize(m);
        if (n) {
            l->u.list.v = dx_arena_alloc(a, n * sizeof(*l->u.list.v));
            l->u.list.cap = n;
        }
        cJSON_ArrayForEach(e, m)
        {
            if ((rc = build(a, e, depth + 1, &l->u.list.v[l->u.list.n], err)) != DX_OK)
                return rc;
            l->u.list.n++;
        }
        *out = l;
        return DX_OK;
    }
    case DX_AV_M:
        return build_map(a, m, depth + 1, out, err);
    default:
        return verr(err, "Supplied AttributeValue is empty, must contain exactly one of the "
                         "supported datatypes");
    }
}

/*
 * One AttributeValue at the given depth. Members are validated in document order and the
 * first error wins; "more than one datatypes" comes after them (dynalite's order). Members
 * that are JSON null count as absent.
 */
static int build(struct dx_arena *a, const cJSON *j, int depth, struct dx_av **out,
                 struct dx_error *err)
{
    if (depth > MAX_DEPTH)
        return verr(err, "Nesting Levels have exceeded supported limits: Attributes in the "
                         "item have nested levels beyond supported limit");
    int ntypes = 0, rc;
    struct dx_av *first = NULL;
    const cJSON *m;
    if (j && cJSON_IsObject(j)) {
        cJSON_ArrayForEach(m, j)
        {
            enum dx_av_type t = m->string ? dx_av_type_from_name(m->string, strlen(m->string)) : 0;
            if (!t || cJSON_IsNull(m))
                continue;
            struct dx_av *v;
            if ((rc = build_member(a, m, t, depth, &v, err)) != DX_OK)
                return rc;
            if (!ntypes++)
                first = v;
        }
    }
    if (ntypes == 0)
        return verr(err, "Supplied AttributeValue is empty, must contain exactly one of the "
                         "supported datatypes");
    if (ntypes > 1)
        return verr(err, "Supplied AttributeValue has more than one datatypes set, must "
                         "contain exactly one of the supported datatypes");
    *out = first;
    return DX_OK;
}

int dx_av_from_json(struct dx_arena *a, const struct cJSON *j, struct dx_av **out,
                    struct dx_error *err)
{
    int rc = check_types(j, err);
    if (rc != DX_OK)
        return rc;
    return build(a, j, 1, out, err);
}

int dx_av_map_from_json(struct dx_arena *a, const struct cJSON *j, struct dx_av **out,
                        struct dx_error *err)
{
    int rc = check_map(j, err);
    if (rc != DX_OK)
        return rc;
    return build_map(a, j, 1, out, err);
}

/* ---- tree -> JSON ---- */

static void write_value(struct dx_buf *out, const struct dx_av *v);

static void write_members(struct dx_buf *out, const struct dx_av *m)
{
    dx_buf_putc(out, '{');
    for (size_t i = 0; i < m->u.map.n; i++) {
        if (i)
            dx_buf_putc(out, ',');
        dx_buf_json_str(out, m->u.map.m[i].name, m->u.map.m[i].name_len);
        dx_buf_putc(out, ':');
        dx_av_write_json(out, m->u.map.m[i].value);
    }
    dx_buf_putc(out, '}');
}

/* The JSON of the value inside the type member: "x", ["a","b"], {...}, true. */
static void write_value(struct dx_buf *out, const struct dx_av *v)
{
    switch (v->type) {
    case DX_AV_S:
    case DX_AV_N:
        dx_buf_json_str(out, v->u.bytes.p, v->u.bytes.len);
        break;
    case DX_AV_B:
        dx_buf_putc(out, '"');
        dx_buf_base64(out, v->u.bytes.p, v->u.bytes.len);
        dx_buf_putc(out, '"');
        break;
    case DX_AV_BOOL:
        dx_buf_puts(out, v->u.boolean ? "true" : "false");
        break;
    case DX_AV_NULL:
        dx_buf_puts(out, "true");
        break;
    case DX_AV_M:
        write_members(out, v);
        break;
    case DX_AV_L:
        dx_buf_putc(out, '[');
        for (size_t i = 0; i < v->u.list.n; i++) {
            if (i)
                dx_buf_putc(out, ',');
            dx_av_write_json(out, v->u.list.v[i]);
        }
        dx_buf_putc(out, ']');
        break;
    default: /* sets: their elements' values */
        dx_buf_putc(out, '[');
        for (size_t i = 0; i < v->u.list.n; i++) {
            if (i)
                dx_buf_putc(out, ',');
            write_value(out, v->u.list.v[i]);
        }
        dx_buf_putc(out, ']');
        break;
    }
}

void dx_av_write_json(struct dx_buf *out, const struct dx_av *v)
{
    dx_buf_puts(out, "{\"");
    dx_buf_puts(out, dx_av_type_name(v->type));
    dx_buf_puts(out, "\":");
    write_value(out, v);
    dx_buf_putc(out, '}');
}

void dx_av_map_write_json(struct dx_buf *out, const struct dx_av *m)
{
    write_members(out, m);
}
