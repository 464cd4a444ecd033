/*
 * Item storage keys: validation of a request's Key or an item's key attributes with
 * DynamoDB's exact error texts, and the order-preserving key layout of be_store.h:
 *
 *   table id (4, BE) | hash32(encoded partition key) (4, BE) | partition key | sort key
 *
 * S and B encode as their bytes with 0x00 escaped as 0x00 0xFF and a 0x00 0x01 terminator,
 * so a string sorts before every longer string it is a prefix of, and memcmp order equals
 * bytewise order; N uses dx_num_key_encode (numeric order, self-delimiting). The partition
 * key is therefore self-delimiting and one partition is one contiguous range ordered by sort
 * key. hash32 spreads partitions over the key space so that Scan segments split evenly.
 *
 * LMDB keys are at most BE_KEY_MAX (511) bytes, DynamoDB keys up to 2048 + 1024 bytes: a longer
 * key keeps its first BE_KEY_MAX-32 bytes and ends with the SHA-256 of the whole key
 * (be_key_fit). The trade-off: among keys sharing that long prefix, order is by digest.
 */
#include <string.h>
#include <openssl/sha.h>
#include "be_store.h"
#include "be_catalog.h"
#include "dx_num.h"
#include "dx_status.h"

#define MAX_HASH_KEY  2048
#define MAX_RANGE_KEY 1024

uint32_t be_key_hash32(const void *p, size_t n)
{
    /* FNV-1a 32 ... */
    const uint8_t *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    /* ... then murmur3's finaliser, so that the top bits (which Scan segments split on) mix
     * every input bit. */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static void put_be32(struct dx_buf *out, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    dx_buf_append(out, b, 4);
}

int be_key_encode_value(const struct dx_av *v, struct dx_buf *out)
{
    switch (v->type) {
    case DX_AV_S:
    case DX_AV_B: {
        const uint8_t *p = (const uint8_t *)v->u.bytes.p;
        size_t n = v->u.bytes.len, run = 0;
        dx_buf_reserve(out, n + 2);
        for (size_t i = 0; i < n; i++) {
            if (p[i] == 0) {
                /* copy the run before the NUL, then the escape */
                if (i > run)
                    dx_buf_append(out, p + run, i - run);
                dx_buf_append(out, "\x00\xff", 2);
                run = i + 1;
            }
        }
        if (n > run)
            dx_buf_append(out, p + run, n - run);
        dx_buf_append(out, "\x00\x01", 2);
        return DX_OK;
    }
    case DX_AV_N: {
        struct dx_num num;
        uint8_t enc[DX_NUM_KEYMAX];
        if (dx_num_parse(v->u.bytes.p, v->u.bytes.len, &num) != DX_NUM_OK)
            return DX_EINVAL;
        size_t n = dx_num_key_encode(&num, enc);
        dx_buf_append(out, enc, n);
        return DX_OK;
    }
    default:
        return DX_EINVAL;
    }
}

void be_key_fit(struct dx_buf *out, size_t start)
{
    size_t len = out->len - start;
    if (len <= BE_KEY_MAX)
        return;
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)out->p + start, len, md);
    out->len = start + BE_KEY_MAX - SHA256_DIGEST_LENGTH;
    dx_buf_append(out, md, sizeof(md));
}

/* Appends table id | hash32 | encoded partition key; no cut. */
static int partition_prefix(uint32_t table_id, const struct dx_av *hv, struct dx_buf *out)
{
    put_be32(out, table_id);
    size_t hpos = out->len;
    put_be32(out, 0); /* the hash, filled in once the encoding is known */
    size_t kpos = out->len;
    if (be_key_encode_value(hv, out) != DX_OK)
        return DX_EINVAL;
    uint32_t h = be_key_hash32(out->p + kpos, out->len - kpos);
    uint8_t *hp = (uint8_t *)out->p + hpos;
    hp[0] = (uint8_t)(h >> 24);
    hp[1] = (uint8_t)(h >> 16);
    hp[2] = (uint8_t)(h >> 8);
    hp[3] = (uint8_t)h;
    return DX_OK;
}

int be_key_partition(uint32_t table_id, const struct dx_av *hash_value, struct dx_buf *out)
{
    size_t start = out->len;
    int rc = partition_prefix(table_id, hash_value, out);
    if (rc != DX_OK) {
        out->len = start;
        return rc;
    }
    if (out->len - start > BE_KEY_MAX - SHA256_DIGEST_LENGTH)
        out->len = start + BE_KEY_MAX - SHA256_DIGEST_LENGTH;
    return DX_OK;
}

/* Checks a key value of the declared type: not empty, within the size limit. */
static int check_value(const struct be_keydef *kd, const struct dx_av *v, int is_hash,
                       struct dx_error *err)
{
    if (v->type == DX_AV_N)
        return DX_OK; /* numbers are at most 21 bytes: always within the limits */
    if (v->u.bytes.len == 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "One or more parameter values are not valid. The AttributeValue for "
                            "a key attribute cannot contain an empty %s value. Key: %s",
                            v->type == DX_AV_S ? "string" : "binary", kd->name);
    if (is_hash && v->u.bytes.len > MAX_HASH_KEY)
        return dx_error_set(err, DX_E_VALIDATION,
                            "One or more parameter values were invalid: Size of hashkey has "
                            "exceeded the maximum size limit of2048 bytes");
    if (!is_hash && v->u.bytes.len > MAX_RANGE_KEY)
        return dx_error_set(err, DX_E_VALIDATION,
                            "One or more parameter values were invalid: Aggregated size of all "
                            "range keys has exceeded the size limit of 1024 bytes");
    return DX_OK;
}

/* Builds the storage key from the validated key values. */
static int build(const struct be_table *t, const struct dx_av *hv, const struct dx_av *rv,
                 struct dx_buf *out)
{
    size_t start = out->len;
    if (partition_prefix(t->id, hv, out) != DX_OK ||
        (rv && be_key_encode_value(rv, out) != DX_OK)) {
        out->len = start;
        return DX_EINVAL; /* a number that is not canonical: a bug upstream */
    }
    be_key_fit(out, start);
    return DX_OK;
}

static const char *const SCHEMA_MISMATCH = "The provided key element does not match the schema";

int be_key_from_key(const struct be_table *t, const struct dx_av *key, struct dx_buf *out,
                    struct dx_error *err)
{
    const struct be_keydef *kds[2] = {&t->hash, t->range.name ? &t->range : NULL};
    const struct dx_av *vals[2] = {NULL, NULL};
    size_t nkeys = kds[1] ? 2 : 1;

    if (!key || key->type != DX_AV_M || key->u.map.n != nkeys)
        return dx_error_set(err, DX_E_VALIDATION, "%s", SCHEMA_MISMATCH);
    for (size_t i = 0; i < nkeys; i++) {
        const struct be_keydef *kd = kds[i];
        const struct dx_av *v = dx_av_map_get(key, kd->name, strlen(kd->name));
        if (!v || v->type != kd->type)
            return dx_error_set(err, DX_E_VALIDATION, "%s", SCHEMA_MISMATCH);
        int rc = check_value(kd, v, i == 0, err);
        if (rc != DX_OK)
            return rc;
        vals[i] = v;
    }
    return build(t, vals[0], vals[1], out);
}

int be_key_from_item(const struct be_table *t, const struct dx_av *item, struct dx_buf *out,
                     struct dx_error *err)
{
    const struct be_keydef *kds[2] = {&t->hash, t->range.name ? &t->range : NULL};
    const struct dx_av *vals[2] = {NULL, NULL};

    for (size_t i = 0; i < 2 && kds[i]; i++) {
        const struct be_keydef *kd = kds[i];
        const struct dx_av *v =
            item && item->type == DX_AV_M ? dx_av_map_get(item, kd->name, strlen(kd->name)) : NULL;
        if (!v)
            return dx_error_set(err, DX_E_VALIDATION,
                                "One or more parameter values were invalid: Missing the key %s in "
                                "the item",
                                kd->name);
        if (v->type != kd->type)
            return dx_error_set(err, DX_E_VALIDATION,
                                "One or more parameter values were invalid: Type mismatch for key "
                                "%s expected: %s actual: %s",
                                kd->name, dx_av_type_name(kd->type), dx_av_type_name(v->type));
        int rc = check_value(kd, v, i == 0, err);
        if (rc != DX_OK)
            return rc;
        vals[i] = v;
    }
    return build(t, vals[0], vals[1], out);
}

struct dx_av *be_key_attrs(struct dx_arena *a, const struct be_table *t, const struct dx_av *item)
{
    struct dx_av *m = dx_av_new_map(a);
    const struct be_keydef *kds[2] = {&t->hash, t->range.name ? &t->range : NULL};
    for (size_t i = 0; i < 2 && kds[i]; i++) {
        size_t len = strlen(kds[i]->name);
        struct dx_av *v = dx_av_map_get(item, kds[i]->name, len);
        if (v)
            dx_av_map_set(a, m, kds[i]->name, len, v);
    }
    return m;
}
